"""Fixtures: a small synthetic plate and a workspace with an image step (disk) and a labels step (zarr)."""

from __future__ import annotations

from pathlib import Path

import pytest

from openhcs_gui import Backend, FunctionStep, GlobalPipelineConfig, Pipeline
from openhcs_gui.plates import make_synthetic_plate


@pytest.fixture(scope="session")
def small_plate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2 wells × 2 sites × 2 channels of 128² uint16, 0.65 µm pixels (ImageXpress layout)."""
    root = tmp_path_factory.mktemp("napari_plugin") / "plate"
    return make_synthetic_plate(root, wells=["A01", "B02"], sites=2, channels=2, z=1, shape=(128, 128), seed=3)


@pytest.fixture(scope="session")
def small_workspace(small_plate: Path) -> Path:
    """blur (forced to disk) then segment_nuclei (zarr, a labels output) run on ``small_plate``."""
    pipeline = Pipeline([
        FunctionStep(func=("gaussian_blur", {"sigma": 1.0}), name="blur", force_disk_output=True),
        FunctionStep(func=("segment_nuclei", {"diameter_px": 10.0}), name="nuclei", backend=Backend.ZARR),
    ])
    result = pipeline.run(small_plate, GlobalPipelineConfig(num_workers=2))
    assert result.status.value == "completed", result.summary()
    return result.workspace
