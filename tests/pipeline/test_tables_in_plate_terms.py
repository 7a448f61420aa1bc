"""Tables written by a run speak the plate's language: µm beside pixels, channel names.

The synthetic plate records 0.65 µm pixels and channels DAPI / FITC in its
vendor files (.HTD + MetaSeries descriptions), so a function that reports
``area_px2`` and ``mean_intensity_ch2`` must reach the CSV as µm² and as
``..._FITC``, in the per-well and the consolidated table alike.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from openhcs_gui.constants import RunStatus
from openhcs_gui.functions import register_function
from openhcs_gui.pipeline import FunctionStep, Pipeline
from openhcs_gui.plates.synthetic import PIXEL_SIZE_UM


@register_function("test_fixed_measurement", category="test", overwrite=True)
def fixed_measurement(stack: np.ndarray) -> tuple[np.ndarray, dict[str, list[dict[str, float]]]]:
    """One row with a pixel area and an intensity of channel 2."""
    return stack, {"cells": [{"area_px2": 100.0, "mean_intensity_ch2": 7.0}]}


def test_run_tables_gain_micrometres_and_channel_names(plate: Path, cfg) -> None:
    result = Pipeline([FunctionStep(func=fixed_measurement, name="measure")]).run(plate, cfg)
    assert result.status is RunStatus.COMPLETED
    folder = result.workspace / "step1_measure"
    for table in (folder / "A01_cells.csv", folder / "cells.csv"):
        df = pd.read_csv(table)
        assert df["area_um2"].iloc[0] == pytest.approx(100.0 * PIXEL_SIZE_UM**2)
        assert list(df["area_px2"]) == [100.0] * len(df)
        assert "mean_intensity_FITC" in df.columns and "mean_intensity_ch2" not in df.columns
