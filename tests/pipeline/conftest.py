"""Fixtures for the pipeline engine: a small synthetic plate (4 wells x 2 sites x 2 channels x 128²)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from pipeline_helpers import CHANNELS, SHAPE, SITES, WELLS

from openhcs_gui.config import GlobalPipelineConfig
from openhcs_gui.plates import make_synthetic_plate, read_ground_truth


@pytest.fixture(scope="session")
def plate_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """4 wells x 2 sites x 2 channels x 128² uint16, ImageXpress layout (made once)."""
    root = tmp_path_factory.mktemp("template") / "plate"
    return make_synthetic_plate(root, wells=WELLS, sites=SITES, channels=CHANNELS, shape=SHAPE, seed=3)


@pytest.fixture
def plate(plate_template: Path, tmp_path: Path) -> Path:
    """A private copy of the template plate (tests may corrupt it or write next to it)."""
    target = tmp_path / "plate"
    shutil.copytree(plate_template, target)
    return target


@pytest.fixture
def ground_truth(plate_template: Path) -> dict[tuple[str, int], int]:
    """``{(well, site): nucleus count}`` of the test plate."""
    return read_ground_truth(plate_template)


@pytest.fixture
def cfg(tmp_path: Path) -> GlobalPipelineConfig:
    """Two workers, output under ``tmp_path/out``."""
    config = GlobalPipelineConfig(num_workers=2)
    config.materialization_defaults.output_path = tmp_path / "out"
    return config


