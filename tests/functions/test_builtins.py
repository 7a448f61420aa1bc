"""Built-in functions on synthetic data with known truth."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

from openhcs_gui.functions import (
    count_objects,
    gaussian_blur,
    max_projection,
    mean_projection,
    normalize_percentile,
    stitch_sites,
    subtract_background,
    threshold_and_measure,
)
from openhcs_gui.plates import PlateIndex, read_ground_truth


def _stack(plate: PlateIndex, **sel: int | str) -> np.ndarray:
    """Read-only stack of the selected images, in key order (what the engine hands over)."""
    arr = np.stack([tifffile.imread(plate.images[k]) for k in plate.keys(**sel)])  # type: ignore[arg-type]
    arr.flags.writeable = False
    return arr


def test_counts_match_ground_truth_for_every_field(small_plate: PlateIndex) -> None:
    truth = read_ground_truth(small_plate.path)
    worst = 0.0
    for well in small_plate.wells:
        stack = max_projection(_stack(small_plate, well=well, site=1, channel=1))
        per_site = np.concatenate(
            [max_projection(_stack(small_plate, well=well, site=s, channel=1)) for s in small_plate.sites]
        )
        labels, tables = count_objects(per_site)
        rows = tables["objects"]
        assert [r["index"] for r in rows] == list(range(len(small_plate.sites)))
        assert labels.shape == per_site.shape and labels.dtype == np.int32
        for site, row in zip(small_plate.sites, rows, strict=True):
            expected = truth[(well, site)]
            assert row["object_count"] == labels[site - 1].max()
            worst = max(worst, abs(row["object_count"] - expected) / expected)
        assert stack.shape == (1, 192, 192)
    assert worst <= 0.10


def test_measure_table_values(small_plate: PlateIndex) -> None:
    stack = _stack(small_plate, well="B03", channel=1, z=2)
    labels, tables = count_objects(stack, smooth_sigma=1.0, min_size=20)
    row = tables["objects"][0]
    assert set(row) == {"index", "object_count", "mean_area", "mean_intensity", "threshold"}
    assert 20 <= row["mean_area"] <= 200  # nuclei of sigma 3 px
    assert row["mean_intensity"] > row["threshold"] > np.median(stack[0])
    mask, tables2 = threshold_and_measure(stack)
    assert mask.dtype == np.uint8 and set(np.unique(mask)) <= {0, 255}
    assert np.array_equal(mask > 0, labels > 0)
    assert tables2 == tables


def test_constant_image_has_no_objects() -> None:
    labels, tables = count_objects(np.full((2, 16, 16), 7, np.uint16))
    assert labels.max() == 0
    assert [r["object_count"] for r in tables["objects"]] == [0, 0]


def test_projections_are_exact(small_plate: PlateIndex) -> None:
    stack = _stack(small_plate, well="A02", site=2, channel=2)
    assert stack.shape[0] == 3
    mx, mean = max_projection(stack), mean_projection(stack)
    assert mx.shape == mean.shape == (1, 192, 192)
    assert mx.dtype == mean.dtype == np.uint16
    assert np.array_equal(mx[0], stack.max(axis=0))
    assert np.array_equal(mean[0], np.rint(stack.mean(axis=0)).astype(np.uint16))
    floats = stack.astype(np.float32)
    assert np.array_equal(mean_projection(floats)[0], floats.mean(axis=0, dtype=np.float64).astype(np.float32))


def test_blur_preserves_mean_and_smooths(small_plate: PlateIndex) -> None:
    stack = _stack(small_plate, well="A03", channel=1, z=2)
    out = gaussian_blur(stack, sigma=2.0)
    assert out.shape == stack.shape and out.dtype == stack.dtype
    for before, after in zip(stack, out, strict=True):
        assert after.mean() == pytest.approx(before.mean(), rel=0.01)
        assert np.abs(np.diff(after.astype(float), axis=1)).mean() < np.abs(np.diff(before.astype(float), axis=1)).mean()
    assert np.array_equal(gaussian_blur(stack, sigma=0), stack)
    with pytest.raises(ValueError, match="sigma must be between 0 and 200"):
        gaussian_blur(stack, sigma=-1)


def _background_spread(image: np.ndarray, block: int = 48) -> float:
    """Range of the per-block 10th percentiles: how uneven the background is."""
    h, w = image.shape
    lows = [np.percentile(image[y : y + block, x : x + block], 10)
            for y in range(0, h, block) for x in range(0, w, block)]
    return float(np.ptp(lows))


@pytest.mark.parametrize("method", ["tophat", "rolling_ball"])
def test_background_subtraction_flattens_illumination(small_plate: PlateIndex, method: str) -> None:
    stack = _stack(small_plate, well="A01", site=1, channel=1, z=2)
    out = subtract_background(stack, method=method, object_diameter_px=7.5)  # radius 15 px
    assert out.dtype == stack.dtype and out.shape == stack.shape
    before, after = _background_spread(stack[0].astype(float)), _background_spread(out[0].astype(float))
    assert before > 20 and after < before / 4
    # nuclei survive: their peaks stay well above the flattened background
    assert np.percentile(out[0], 99.9) > 5 * np.percentile(out[0], 50) + 50


def test_subtract_background_rejects_bad_arguments() -> None:
    stack = np.zeros((1, 8, 8), np.uint16)
    with pytest.raises(ValueError, match="method must be"):
        subtract_background(stack, method="median")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="parameter object_diameter_px=0"):
        subtract_background(stack, object_diameter_px=0)


def test_normalize_percentile_rescales_in_dtype(small_plate: PlateIndex) -> None:
    stack = _stack(small_plate, well="B02", site=1, z=2)
    out = normalize_percentile(stack, low=1, high=99)
    assert out.dtype == np.uint16 and out.min() == 0 and out.max() == 65535
    assert (out == 65535).mean() == pytest.approx(0.01, abs=0.005)
    per = normalize_percentile(stack, low=1, high=99, per_image=True)
    assert all(img.max() == 65535 for img in per)
    floats = normalize_percentile(stack.astype(np.float32))
    assert floats.dtype == np.float32 and floats.min() == 0.0 and floats.max() == 1.0
    assert np.array_equal(normalize_percentile(np.full((1, 4, 4), 9, np.uint8)), np.zeros((1, 4, 4), np.uint8))
    with pytest.raises(ValueError, match="low < high"):
        normalize_percentile(stack, low=50, high=10)


def test_stitch_shapes_and_placement() -> None:
    tiles = np.stack([np.full((4, 6), i + 1, np.uint16) for i in range(4)])
    out = stitch_sites(tiles)
    assert out.shape == (1, 8, 12)
    assert out[0, 0, 0] == 1 and out[0, 0, 6] == 2 and out[0, 4, 0] == 3 and out[0, 7, 11] == 4
    three = stitch_sites(tiles[:3], gap=2)
    assert three.shape == (1, 10, 14) and three[0, 6:, 8:].max() == 0 and three[0, 4:6].max() == 0
    row = stitch_sites(tiles, columns=4)
    assert row.shape == (1, 4, 24)
    snake = stitch_sites(tiles, columns=2, snake=True)
    assert snake[0, 4, 0] == 4 and snake[0, 4, 6] == 3


def test_stitch_real_sites(small_plate: PlateIndex) -> None:
    stack = _stack(small_plate, well="A01", channel=1, z=1)
    out = stitch_sites(stack)
    assert out.shape == (1, 2 * 192, 2 * 192) and out.dtype == np.uint16
    assert np.array_equal(out[0, 192:, :192], stack[2])


@pytest.mark.parametrize(
    "func",
    [gaussian_blur, subtract_background, normalize_percentile, max_projection, mean_projection,
     count_objects, threshold_and_measure, stitch_sites],
)
def test_inputs_are_never_modified(func) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(0)
    stack = rng.integers(100, 4000, size=(3, 24, 24), dtype=np.uint16)
    stack.flags.writeable = False
    copy = stack.copy()
    result = func(stack)
    out = result[0] if isinstance(result, tuple) else result
    assert out.ndim == 3 and not np.shares_memory(out, stack)
    assert np.array_equal(stack, copy)


def test_two_d_input_is_promoted_and_bad_shapes_refused() -> None:
    assert gaussian_blur(np.zeros((8, 8), np.uint8)).shape == (1, 8, 8)
    with pytest.raises(ValueError, match=r"max_projection expects a stack of shape \(n, y, x\)"):
        max_projection(np.zeros((2, 2, 8, 8)))
