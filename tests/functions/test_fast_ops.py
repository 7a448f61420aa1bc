"""The faster segmentation building blocks give what the scipy / scikit-image calls they replace give."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi
from skimage import filters
from skimage.measure import label
from skimage.segmentation import watershed

from openhcs_gui.functions._fast_ops import (
    distance_to_background,
    fill_holes,
    seeded_split,
    threshold_li,
)


def _blobs(seed: int, shape: tuple[int, int] = (160, 200), level: float = 0.55) -> np.ndarray:
    """A mask of touching, holed, edge-cut blobs (the shapes a nuclear threshold gives)."""
    rng = np.random.default_rng(seed)
    return ndi.gaussian_filter(rng.random(shape), 3) > np.quantile(ndi.gaussian_filter(rng.random(shape), 3), level)


MASKS = [_blobs(s) for s in range(12)] + [
    np.zeros((40, 50), bool),
    np.ones((40, 50), bool),
    np.pad(np.ones((30, 30), bool), 5),  # a square with a background frame
    np.pad(np.pad(np.zeros((10, 10), bool), 5, constant_values=True), 3),  # a ring: its hole is filled
    np.eye(64, dtype=bool) | np.eye(64, dtype=bool)[::-1],  # diagonal-only connections
]


@pytest.mark.parametrize("mask", MASKS)
def test_fill_holes_is_scipys(mask: np.ndarray) -> None:
    assert np.array_equal(fill_holes(mask), ndi.binary_fill_holes(mask))


@pytest.mark.parametrize("mask", MASKS + [MASKS[0].T, np.asfortranarray(MASKS[1])])
def test_distance_is_scipys_to_the_last_bit(mask: np.ndarray) -> None:
    ours = distance_to_background(mask)
    assert ours.dtype == np.float64
    assert np.array_equal(ours, ndi.distance_transform_edt(mask))


@pytest.mark.parametrize("seed", range(8))
def test_li_threshold_matches_scikit_image(seed: int) -> None:
    rng = np.random.default_rng(seed)
    background = rng.normal(300, 20, (256, 256))
    nuclei = ndi.gaussian_filter((rng.random((256, 256)) > 0.995).astype(float), 4) * 4e5
    image = ndi.gaussian_filter(background + nuclei, 1).astype(np.float32)
    theirs = float(filters.threshold_li(image))
    assert threshold_li(image) == pytest.approx(theirs, rel=1e-6)
    # and the pixels above it are the same ones
    assert np.array_equal(image > threshold_li(image), image > theirs)


def test_li_threshold_of_degenerate_images() -> None:
    assert threshold_li(np.full((8, 8), 7.0, np.float32)) == 7.0
    assert np.isnan(threshold_li(np.full((4, 4), np.nan, np.float32)))
    image = np.linspace(1, 100, 64, dtype=np.float32).reshape(8, 8)
    with_nan = image.copy()
    with_nan[0, 0] = np.nan
    assert threshold_li(with_nan) == pytest.approx(float(filters.threshold_li(with_nan)), rel=1e-6)


def _seeds(mask: np.ndarray, distance: np.ndarray) -> np.ndarray:
    peaks = ndi.maximum_filter(distance, size=7) == distance
    return label(mask & peaks & (distance > 1))  # several seeds in the wide blobs, none in the thin ones


@pytest.mark.parametrize("seed", range(10))
def test_seeded_split_is_the_watershed_when_no_two_pixels_tie(seed: int) -> None:
    mask = _blobs(seed, level=0.45)
    rng = np.random.default_rng(seed)
    # distinct heights everywhere: the flooding order is fully defined, so the labels must be equal
    distance = ndi.distance_transform_edt(mask) + rng.random(mask.shape) * 1e-3
    markers = _seeds(mask, distance)
    regions = label(mask)
    assert np.bincount(np.unique(regions[markers > 0])).size > 1
    split = seeded_split(-distance, markers, regions)
    assert np.array_equal(split, watershed(-distance, markers, mask=mask))


@pytest.mark.parametrize("seed", range(6))
def test_seeded_split_with_ties_keeps_every_pixel_in_a_seed_of_its_own_region(seed: int) -> None:
    """Equal heights on a dividing line are a tie either answer may take; all else is the watershed's."""
    mask = _blobs(seed, level=0.45)
    distance = ndi.distance_transform_edt(mask)  # many ties: integer squared distances
    markers = _seeds(mask, distance)
    regions = label(mask)
    ours = seeded_split(-distance, markers, regions)
    theirs = watershed(-distance, markers, mask=mask)
    assert np.array_equal(np.unique(ours), np.unique(theirs))
    assert np.array_equal(ours > 0, theirs > 0)
    differ = ours != theirs
    assert differ.sum() <= 0.002 * mask.sum()
    for region_of_label in (regions[ours == k] for k in np.unique(ours[ours > 0])):
        assert len(np.unique(region_of_label)) == 1  # a label never spans two regions
    # a differing pixel sits where two seeds' floods meet at the same height
    for y, x in zip(*np.nonzero(differ), strict=True):
        around = theirs[max(y - 1, 0):y + 2, max(x - 1, 0):x + 2]
        assert ours[y, x] in around


def test_seeded_split_of_a_region_without_seed_leaves_it_empty() -> None:
    mask = np.zeros((20, 40), bool)
    mask[2:10, 2:10] = mask[2:10, 20:30] = True
    markers = np.zeros(mask.shape, np.int32)
    markers[5, 5] = 1
    regions = label(mask)
    split = seeded_split(-ndi.distance_transform_edt(mask), markers, regions)
    assert np.array_equal(split, watershed(-ndi.distance_transform_edt(mask), markers, mask=mask))
    assert (split[2:10, 20:30] == 0).all() and (split[2:10, 2:10] == 1).all()
