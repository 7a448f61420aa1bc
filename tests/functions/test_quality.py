"""Quality control per image: blur lowers focus, saturated pixels are counted, background is a low percentile."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import ndimage as ndi
from test_segmentation import touching_field

from openhcs_gui.errors import PipelineError
from openhcs_gui.functions import get_function, measure_quality
from openhcs_gui.pipeline import FunctionStep


def test_blurred_fields_score_lower_on_both_focus_measures() -> None:
    sharp, _, _ = touching_field(0, 12.0)
    blurred = ndi.gaussian_filter(sharp, 3).astype(np.uint16)
    out, tables = measure_quality(np.stack([sharp, blurred, sharp * 2]))
    rows = tables["quality"]
    assert [r["index"] for r in rows] == [0, 1, 2]
    assert rows[1]["focus_score"] < 0.1 * rows[0]["focus_score"]
    assert rows[1]["power_log_log_slope"] < rows[0]["power_log_log_slope"] - 1
    # exposure does not change the focus score (it is normalized by the mean)
    assert rows[2]["focus_score"] == pytest.approx(rows[0]["focus_score"], rel=1e-6)
    np.testing.assert_array_equal(out[0], sharp)


def test_saturation_fraction_and_background_level() -> None:
    image = np.full((100, 100), 200, np.uint16)
    image[:10] = 65535
    image[10:15] = 4095
    image[50:] += np.arange(50, dtype=np.uint16)[:, None]
    rows = measure_quality(image[np.newaxis])[1]["quality"]
    assert rows[0]["saturation_fraction"] == pytest.approx(0.10)
    assert rows[0]["background"] == np.percentile(image, 5)
    twelve_bit = measure_quality(image[np.newaxis], saturation_value=4095, background_percentile=50)[1]["quality"]
    assert twelve_bit[0]["saturation_fraction"] == pytest.approx(0.15)
    assert twelve_bit[0]["background"] == np.percentile(image, 50)
    as_float = measure_quality(np.where(image == 65535, 1.0, 0.5)[np.newaxis].astype(np.float32))[1]["quality"]
    assert as_float[0]["saturation_fraction"] == pytest.approx(0.10)


def test_blank_images_have_no_focus_score() -> None:
    rows = measure_quality(np.stack([np.zeros((32, 32), np.uint16), np.full((32, 32), 9, np.uint16)]))[1]["quality"]
    assert math.isnan(rows[0]["focus_score"]) and math.isnan(rows[1]["power_log_log_slope"])
    assert rows[1]["focus_score"] == 0.0 and rows[1]["background"] == 9.0


@pytest.mark.parametrize(("param", "low", "high"), [("saturation_value", -1.0, 1.1e9),
                                                    ("background_percentile", -0.1, 50.1)])
def test_every_quality_bound_is_enforced(param: str, low: float, high: float) -> None:
    assert param in get_function("measure_quality").bounds()
    for bad in (low, high):
        with pytest.raises(ValueError, match=rf"measure_quality: parameter {param}="):
            measure_quality(np.zeros((1, 8, 8), np.uint16), **{param: bad})
        with pytest.raises(PipelineError, match=rf"parameter '{param}'"):
            FunctionStep(measure_quality, name="qc", **{param: bad})
