"""Synthetic plates: deterministic, realistic enough to segment, with a dose gradient."""

from __future__ import annotations

import csv
import time
from pathlib import Path

import numpy as np
import pytest
import tifffile

from openhcs_gui.errors import PlateError
from openhcs_gui.plates import make_demo_plate, make_synthetic_plate, open_plate, read_ground_truth


def _images(plate: Path) -> dict[str, np.ndarray]:
    return {p.relative_to(plate).as_posix(): tifffile.imread(p) for p in sorted(plate.rglob("*.tif*"))}


def test_same_seed_same_pixels_other_seed_differs(tmp_path: Path) -> None:
    kw = dict(wells=["A01", "B02"], sites=2, channels=2, shape=(64, 64))
    a = make_synthetic_plate(tmp_path / "a", seed=3, **kw)
    b = make_synthetic_plate(tmp_path / "b", seed=3, **kw)
    c = make_synthetic_plate(tmp_path / "c", seed=4, **kw)
    ia, ib, ic = _images(a), _images(b), _images(c)
    assert ia.keys() == ib.keys() == ic.keys() and len(ia) == 8
    assert all(np.array_equal(ia[k], ib[k]) for k in ia)
    assert not all(np.array_equal(ia[k], ic[k]) for k in ia)
    assert (a / "ground_truth.csv").read_text() == (b / "ground_truth.csv").read_text()


def test_ground_truth_has_every_field_and_a_gradient(tmp_path: Path) -> None:
    plate = make_synthetic_plate(tmp_path / "p", wells=12, sites=3, channels=1, shape=(128, 128))
    with open(plate / "ground_truth.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["well", "site", "count"] and len(rows) == 36
    truth = read_ground_truth(plate)
    per_well = [np.mean([truth[(w, s)] for s in (1, 2, 3)]) for w in open_plate(plate).wells]
    assert per_well[-1] > 2 * per_well[0]
    assert all(count > 0 for count in truth.values())


def test_images_look_like_a_screen(tmp_path: Path) -> None:
    plate = make_synthetic_plate(tmp_path / "p", wells=["A01"], sites=1, channels=2, shape=(256, 256))
    raw = tifffile.imread(plate / "TimePoint_1" / "A01_s1_w1.tif")
    assert raw.dtype == np.uint16
    nuclei = raw.astype(float)
    cyto = tifffile.imread(plate / "TimePoint_1" / "A01_s1_w2.tif").astype(float)
    assert nuclei.min() > 0 and nuclei.max() < 4096
    # bright sparse nuclei on a dim background; cytoplasm covers more area, dimmer
    assert np.percentile(nuclei, 99.5) > 4 * np.median(nuclei)
    assert (cyto > np.median(cyto) * 1.5).mean() > (nuclei > np.median(nuclei) * 1.5).mean()
    # shot noise: neighbouring background pixels differ
    assert np.std(np.diff(nuclei[:8, :8], axis=1)) > 1


def test_z_stack_is_sharpest_in_the_middle(tmp_path: Path) -> None:
    plate = make_synthetic_plate(tmp_path / "p", wells=["A01"], sites=1, channels=1, z=3, shape=(96, 96))
    peaks = [tifffile.imread(plate / "TimePoint_1" / f"ZStep_{z}" / "A01_s1_w1.tif").max() for z in (1, 2, 3)]
    assert peaks[1] > peaks[0] and peaks[1] > peaks[2]


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_other_dtypes(tmp_path: Path, dtype: type) -> None:
    plate = make_synthetic_plate(tmp_path / "p", wells=1, sites=1, channels=1, shape=(32, 32), dtype=dtype)
    index = open_plate(plate)
    assert index.dtype == np.dtype(dtype)


def test_refuses_bad_arguments_and_nonempty_folder(tmp_path: Path) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("x")
    with pytest.raises(PlateError, match="not empty"):
        make_synthetic_plate(tmp_path / "full", wells=1, shape=(32, 32))
    with pytest.raises(PlateError, match="layout"):
        make_synthetic_plate(tmp_path / "x", layout="cellomics")  # type: ignore[arg-type]
    with pytest.raises(PlateError, match="dtype"):
        make_synthetic_plate(tmp_path / "y", dtype=np.int64)
    with pytest.raises(PlateError, match="unique"):
        make_synthetic_plate(tmp_path / "z", wells=["A01", "A01"])


def test_demo_plate(tmp_path: Path) -> None:
    start = time.perf_counter()
    plate = make_demo_plate(tmp_path / "demo")
    seconds = time.perf_counter() - start
    index = open_plate(plate)
    assert index.summary() == "imagexpress · 8 wells × 4 sites × 2 channels × 1 z · 512×512 uint16"
    assert index.wells == ["A01", "A02", "A03", "A04", "B01", "B02", "B03", "B04"]
    assert seconds < 15  # about 1-2 s on one free core; generous for shared CI runners
    assert make_demo_plate(plate) == plate  # an existing demo plate is reused
    assert make_demo_plate(tmp_path) == tmp_path / "demo_plate"
    assert make_demo_plate(tmp_path) == tmp_path / "demo_plate"  # reused, not rewritten
