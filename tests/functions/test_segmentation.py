"""Nuclei and cell segmentation: touching nuclei split, counts near the truth, cells match their nuclei."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import ndimage as ndi
from skimage.draw import ellipse
from skimage.filters import threshold_otsu
from skimage.measure import label

from openhcs_gui.constants import Component
from openhcs_gui.errors import PipelineError
from openhcs_gui.functions import get_function, segment_cells, segment_nuclei
from openhcs_gui.functions.segmentation import nuclei_labels
from openhcs_gui.pipeline import FunctionStep


def touching_field(
    seed: int, diameter: float, overlap: float = 0.8, groups: tuple[int, ...] = (1,) * 10 + (2,) * 6 + (3,) * 3
) -> tuple[np.ndarray, np.ndarray, int]:
    """A nuclei image with singles, pairs and chains of three that touch.

    Nuclei are filled ellipses (radii within 10 % of ``diameter / 2``); in a
    cluster, neighbouring centres are ``overlap * diameter`` apart. Returns the
    uint16 image (blurred, offset, Poisson noise), the true labels and the count.
    """
    rng = np.random.default_rng(seed)
    shape = (int(26 * diameter),) * 2
    truth = np.zeros(shape, np.int32)
    signal = np.zeros(shape, np.float32)
    placed: list[tuple[float, float, float]] = []
    count = 0
    for size in groups:
        extent = diameter / 2 + overlap * diameter * (size - 1) + 2
        for _ in range(5000):
            cy, cx = rng.uniform(extent + 2, shape[0] - extent - 2, 2)
            if all(math.hypot(cy - y, cx - x) > extent + e + 4 for y, x, e in placed):
                break
        placed.append((cy, cx, extent))
        angle = rng.uniform(0, np.pi)
        y, x = cy, cx
        for j in range(size):
            if j:
                a = angle + (0 if j == 1 else rng.uniform(-np.pi / 3, np.pi / 3))
                y, x = y + overlap * diameter * np.sin(a), x + overlap * diameter * np.cos(a)
            radii = diameter / 2 * rng.uniform(0.9, 1.1, 2)
            rr, cc = ellipse(y, x, *radii, shape=shape, rotation=rng.uniform(0, np.pi))
            count += 1
            free = truth[rr, cc] == 0
            truth[rr[free], cc[free]] = count
            signal[rr, cc] = np.maximum(signal[rr, cc], rng.uniform(0.6, 1.0))
    image = rng.poisson(ndi.gaussian_filter(signal, 1.0) * 3000 + 200).astype(np.uint16)
    return image, truth, count


@pytest.mark.parametrize("diameter", [12.0, 16.0, 24.0])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_touching_nuclei_are_counted_within_5_percent(diameter: float, seed: int) -> None:
    image, _, count = touching_field(seed, diameter)
    labels, tables = segment_nuclei(image[np.newaxis], diameter_px=diameter)
    found = int(labels.max())
    assert abs(found - count) <= 0.05 * count, (found, count)
    assert tables["objects"][0]["object_count"] == found == len(tables["nuclei"])
    # a plain threshold + label (what count_objects does) merges the clusters
    smooth = ndi.gaussian_filter(image.astype(np.float32), 1.0)
    assert label(smooth > threshold_otsu(smooth)).max() < 0.8 * count


def test_split_objects_follow_the_true_nuclei() -> None:
    image, truth, count = touching_field(3, 16.0)
    labels, _ = nuclei_labels(image, typical_diameter=16.0)
    # each found nucleus lies mostly on one true nucleus, and no two found ones share it
    best = [np.bincount(truth[labels == k], minlength=count + 1)[1:].argmax() + 1
            for k in range(1, labels.max() + 1)]
    assert len(set(best)) >= 0.95 * count


def test_without_splitting_clusters_stay_merged() -> None:
    image, _, count = touching_field(0, 16.0)
    merged, _ = nuclei_labels(image, typical_diameter=16.0, split_touching=False)
    split, _ = nuclei_labels(image, typical_diameter=16.0)
    assert merged.max() == 10 + 6 + 3 and split.max() > merged.max()


def test_size_filter_follows_the_typical_diameter() -> None:
    image = np.full((80, 80), 100, np.uint16)
    for (y, x), r in zip([(20, 20), (20, 60), (60, 40)], [8, 8, 2], strict=True):
        rr, cc = ellipse(y, x, r, r, shape=image.shape)
        image[rr, cc] = 2000
    labels, _ = nuclei_labels(image, typical_diameter=16)
    assert labels.max() == 2  # the 4 px speck is below a disc of half the diameter
    labels, _ = nuclei_labels(image, typical_diameter=4)
    assert labels.max() == 3


def test_border_objects_are_removed_only_when_asked() -> None:
    image = np.full((64, 64), 100, np.uint16)
    for y, x in [(32, 32), (32, 2), (61, 40)]:
        rr, cc = ellipse(y, x, 6, 6, shape=image.shape)
        image[rr, cc] = 3000
    assert nuclei_labels(image, typical_diameter=12)[0].max() == 3
    kept, _ = nuclei_labels(image, typical_diameter=12, exclude_border=True)
    assert kept.max() == 1 and kept[32, 32] == 1


def test_empty_and_constant_images_give_no_objects_and_nan_means() -> None:
    stack = np.stack([np.zeros((40, 40), np.uint16), np.full((40, 40), 7, np.uint16)])
    labels, tables = segment_nuclei(stack)
    assert labels.dtype == np.int32 and not labels.any()
    assert tables["nuclei"] == []
    for row in tables["objects"]:
        assert row["object_count"] == 0
        assert all(math.isnan(row[c]) for c in ("mean_area_px2", "mean_intensity", "threshold"))


def two_channel_field() -> tuple[np.ndarray, int]:
    """Nuclei (channel 1) inside larger cell bodies (channel 2), some cells touching."""
    image, _, count = touching_field(4, 12.0, overlap=1.3)
    body = ndi.gaussian_filter(ndi.grey_dilation(image, size=11).astype(np.float32), 2.0)
    return np.stack([image, (body * 0.8).astype(np.uint16)]), count


def test_cells_grow_from_their_nuclei_and_share_their_ids() -> None:
    field, count = two_channel_field()
    labels, tables = segment_cells(field)
    nuclei, cells = labels[0], labels[1]
    assert labels.shape == field.shape and labels.dtype == np.int32
    assert abs(int(nuclei.max()) - count) <= 0.05 * count and cells.max() == nuclei.max()
    # every nucleus lies inside the cell with its id, and each cell is larger
    inside = nuclei > 0
    assert np.array_equal(cells[inside], nuclei[inside])
    n_area = np.bincount(nuclei.ravel())[1:]
    c_area = np.bincount(cells.ravel())[1:]
    assert (c_area > n_area).all()
    assert [r["parent_id"] for r in tables["cells"]] == [r["object_id"] for r in tables["cells"]]
    assert {"mean_intensity_ch1", "mean_intensity_ch2"} <= set(tables["nuclei"][0])
    summary = tables["objects"][0]
    assert summary["object_count"] == summary["cell_count"] == nuclei.max()


def test_cells_exclude_border_drops_the_cell_and_its_nucleus() -> None:
    field = np.full((2, 64, 64), 100, np.uint16)
    for y, x in [(32, 20), (32, 54)]:
        rr, cc = ellipse(y, x, 5, 5, shape=(64, 64))
        field[0, rr, cc] = 3000
        rr, cc = ellipse(y, x, 11, 11, shape=(64, 64))
        field[1, rr, cc] = 1500
    labels, _ = segment_cells(field, diameter_px=10)
    assert labels[0].max() == 2
    labels, tables = segment_cells(field, diameter_px=10, exclude_border=True)
    assert labels[0].max() == labels[1].max() == 1 and labels[0][32, 20] == 1
    assert len(tables["nuclei"]) == len(tables["cells"]) == 1


def test_segment_cells_names_a_missing_channel() -> None:
    with pytest.raises(ValueError, match=r"segment_cells: nuclei_channel=1 and cell_channel=2 .* 1-channel field"):
        segment_cells(np.zeros((1, 16, 16), np.uint16))


def test_nuclei_in_a_field_are_measured_in_every_channel() -> None:
    field, _ = two_channel_field()
    labels, tables = segment_nuclei(field, diameter_px=12, channel=1)
    assert labels.shape == (1, *field.shape[1:])
    row = tables["nuclei"][0]
    assert "index" not in row and {"mean_intensity_ch1", "max_intensity_ch2"} <= set(row)
    with pytest.raises(ValueError, match="channel 3 asked but the stack holds 2"):
        segment_nuclei(field, channel=3)


def test_segmentation_functions_are_registered_as_label_outputs() -> None:
    for name in ("segment_nuclei", "segment_cells"):
        entry = get_function(name)
        assert entry.category == "segmentation" and entry.func.outputs == "labels"
        assert entry.doc and entry.bounds()["diameter_px"] == (3, 500)
        assert entry.bounds()["diameter_um"] == (0.5, 1000) and entry.context == ("pixel_size_um", "measure_objects")
    assert get_function("segment_cells").default_variable_components == (Component.CHANNEL,)


BOUNDED = [
    (segment_nuclei, "diameter_px", 2.9, 500.1),
    (segment_nuclei, "diameter_um", 0.49, 1000.1),
    (segment_nuclei, "threshold_correction", 0.19, 5.01),
    (segment_nuclei, "smoothing", -0.1, 50.1),
    (segment_nuclei, "channel", -1, 65),
    (segment_cells, "nuclei_channel", 0, 65),
    (segment_cells, "cell_channel", 0, 65),
    (segment_cells, "diameter_px", 2.9, 500.1),
    (segment_cells, "diameter_um", 0.49, 1000.1),
    (segment_cells, "cell_threshold_correction", 0.19, 5.01),
    (segment_cells, "smoothing", -0.1, 50.1),
]


@pytest.mark.parametrize(("func", "param", "low", "high"), BOUNDED)
def test_every_bound_is_enforced_in_a_call_and_a_step(func, param: str, low: float, high: float) -> None:
    entry = get_function(func.__name__)
    assert set(entry.bounds()) == {p for f, p, *_ in BOUNDED if f is func}
    stack = np.zeros((2, 16, 16), np.uint16)
    for bad in (low, high):
        with pytest.raises(ValueError, match=rf"{func.__name__}: parameter {param}="):
            func(stack, **{param: bad})
        with pytest.raises(PipelineError, match=rf"parameter '{param}'"):
            FunctionStep(func, name="seg", **{param: bad})


@pytest.mark.parametrize("func", [segment_nuclei, segment_cells])
def test_unknown_threshold_method_and_nan_are_refused(func) -> None:
    stack = np.zeros((2, 16, 16), np.uint16)
    with pytest.raises(ValueError, match=r"parameter threshold_method='median'"):
        func(stack, threshold_method="median")
    with pytest.raises(ValueError, match=r"parameter diameter_px=nan must be a finite number"):
        func(stack, diameter_px=math.nan)


def test_threshold_correction_works_on_a_camera_offset() -> None:
    image, _, count = touching_field(5, 16.0)
    offset = (image.astype(np.uint32) + 33000).astype(np.uint16)  # a camera with a 33000-count bias
    for correction in (0.8, 1.0, 1.2):
        found = segment_nuclei(offset[np.newaxis], diameter_px=16.0, threshold_correction=correction)[0].max()
        assert abs(int(found) - count) <= 0.05 * count, (correction, found)
    # the correction scales the threshold's height above the floor, not the raw value
    floor = float(ndi.gaussian_filter(offset.astype(np.float32), 1.0).min())
    height = {c: segment_nuclei(offset[np.newaxis], threshold_correction=c)[1]["objects"][0]["threshold"] - floor
              for c in (1.0, 0.5, 4.0)}
    assert height[0.5] == pytest.approx(0.5 * height[1.0]) and height[4.0] == pytest.approx(4 * height[1.0])
    assert height[0.5] > 0


def test_synthetic_plate_with_touching_pairs_is_counted_within_5_percent_per_field(tmp_path) -> None:
    import tifffile

    from openhcs_gui.functions import count_objects
    from openhcs_gui.plates import make_synthetic_plate, open_plate, read_ground_truth

    wells = ["A01", "A03", "B02"]
    plain = make_synthetic_plate(tmp_path / "plain", wells=wells, sites=2, channels=1, shape=(192, 192), seed=7)
    paired = make_synthetic_plate(tmp_path / "paired", wells=wells, sites=2, channels=1, shape=(192, 192),
                                  seed=7, touching_pairs=3)
    base, truth = read_ground_truth(plain), read_ground_truth(paired)
    room = (192 // 27) ** 2  # grid cells of a 192² field; a pair takes an empty one
    assert truth == {k: n + 2 * min(3, room - n) for k, n in base.items()}  # a pair counts as two nuclei
    assert sum(truth.values()) - sum(base.values()) >= 30
    merged = 0
    for key, path in open_plate(paired).images.items():
        image = tifffile.imread(path)[np.newaxis]
        expected = truth[(key.well, key.site)]
        found = int(segment_nuclei(image)[0].max())
        assert abs(found - expected) <= 0.05 * expected, (key, found, expected)
        merged += expected - int(count_objects(image)[0].max())
    assert merged >= 10  # a plain threshold + label merges most of the pairs


def test_touching_pairs_zero_leaves_the_plate_unchanged(tmp_path) -> None:
    from openhcs_gui.plates import make_synthetic_plate

    a = make_synthetic_plate(tmp_path / "a", wells=["A01"], sites=1, channels=2, shape=(64, 64), seed=2)
    b = make_synthetic_plate(tmp_path / "b", wells=["A01"], sites=1, channels=2, shape=(64, 64), seed=2,
                             touching_pairs=0)
    for name in ("A01_s1_w1.tif", "A01_s1_w2.tif"):
        assert (a / "TimePoint_1" / name).read_bytes() == (b / "TimePoint_1" / name).read_bytes()
    assert (a / "ground_truth.csv").read_text() == (b / "ground_truth.csv").read_text()



def _labels_seeded_per_region(image: np.ndarray, diameter: float) -> np.ndarray:
    """Reference: nuclei_labels as it was, searching peaks in each region on its own (``labels=``)."""
    from skimage.feature import peak_local_max
    from skimage.filters import threshold_li
    from skimage.segmentation import watershed

    smooth = ndi.gaussian_filter(image.astype(np.float32), 1.0)
    mask = ndi.binary_fill_holes(smooth > threshold_li(smooth))
    distance = ndi.gaussian_filter(ndi.distance_transform_edt(mask), diameter / 32)
    regions = label(mask)
    peaks = peak_local_max(distance, min_distance=max(1, int(diameter * 0.22)), labels=regions,
                           exclude_border=False)
    plateaus = label(mask & (distance >= ndi.maximum_filter(distance, size=3)))
    seeded = np.zeros(int(plateaus.max()) + 1, bool)
    seeded[plateaus[tuple(peaks.T)]] = True
    seeded[0] = False
    markers = (np.cumsum(seeded) * seeded)[plateaus]
    labels = watershed(-distance, markers, mask=mask)
    lonely = regions * (labels == 0)
    labels = np.where(lonely > 0, label(lonely > 0) + int(markers.max()), labels)
    keep = np.bincount(labels.ravel()) >= math.pi * (diameter / 4) ** 2
    keep[0] = False
    return (np.cumsum(keep) * keep)[labels]


@pytest.mark.parametrize("diameter", [12.0, 24.0])
@pytest.mark.parametrize("seed", [0, 3])
def test_one_peak_search_seeds_the_same_nuclei_as_a_search_per_region(diameter: float, seed: int) -> None:
    """The field-wide peak search (1.7x faster on 1024²) gives exactly the labels of the per-region one."""
    image, _, _ = touching_field(seed, diameter, overlap=0.7)
    labels, _ = nuclei_labels(image, diameter)
    assert labels.max() > 20
    assert np.array_equal(labels, _labels_seeded_per_region(image, diameter))

def test_without_measurements_the_labels_and_counts_are_the_same() -> None:
    """The live preview passes measure_objects=False: same objects, no per-object table."""
    image, _, _ = touching_field(1, 16.0)
    measured, tables = segment_nuclei(image[np.newaxis], diameter_px=16.0)
    quick, counts = segment_nuclei(image[np.newaxis], diameter_px=16.0, measure_objects=False)
    assert np.array_equal(measured, quick)
    assert "nuclei" not in counts and counts["objects"][0]["object_count"] == tables["objects"][0]["object_count"]
    assert counts["objects"][0]["threshold"] == tables["objects"][0]["threshold"]

    field, _ = two_channel_field()
    measured, tables = segment_cells(field)
    quick, counts = segment_cells(field, measure_objects=False)
    assert np.array_equal(measured, quick) and set(counts) == {"objects"}
    row = counts["objects"][0]
    assert row["object_count"] == tables["objects"][0]["object_count"] and row["cell_count"] == int(quick[1].max())
