"""A corrupt first image costs its well, not the plate (issue 11 item 8), end to end."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from openhcs_gui.config import GlobalPipelineConfig
from openhcs_gui.constants import RunStatus
from openhcs_gui.pipeline import FunctionStep, Pipeline
from openhcs_gui.plates import make_synthetic_plate


def _plus_one(stack: np.ndarray) -> np.ndarray:
    return stack + 1


def test_corrupt_first_image_fails_only_its_well(tmp_path: Path) -> None:
    plate = make_synthetic_plate(tmp_path / "plate", wells=["A01", "A02", "B01", "B02"], sites=2,
                                 channels=2, shape=(32, 32))
    (plate / "TimePoint_1" / "A01_s1_w1.tif").write_bytes(b"II*\x00 not a tiff" * 8)
    cfg = GlobalPipelineConfig(num_workers=2)
    cfg.materialization_defaults.output_path = tmp_path / "out"
    result = Pipeline([FunctionStep(_plus_one, name="plus", force_disk_output=True)]).run(plate, cfg)
    assert result.status is RunStatus.FAILED
    [error] = result.errors
    assert error.well == "A01" and "A01_s1_w1.tif" in error.message
    assert {k.well for k in result.step("plus").keys} == {"A02", "B01", "B02"}
