"""Faster stand-ins for the scipy / scikit-image calls nuclei segmentation spends its time in.

The live preview re-segments a 1024² field on every edit, so these matter
(about 0.3 s of a 0.35 s field before them). Each gives the same result as
the call it replaces (checked in ``tests/functions/test_fast_ops.py``):

* :func:`fill_holes` = ``ndi.binary_fill_holes`` (one labelling of the
  background instead of a dilation iterated until it stops: 30 -> 8 ms);
* :func:`distance_to_background` = ``ndi.distance_transform_edt`` (the
  ``edt`` package's separable transform, squared distances are exact in
  float32, so the square root in float64 is bit-identical: 90 -> 25 ms);
* :func:`threshold_li` = ``skimage.filters.threshold_li`` for float images
  (the iterations read means off one sorted copy instead of masking the
  whole image twice per iteration: 40 -> 20 ms; equal up to float rounding
  of the means, far below the image's own precision);
* :func:`seeded_split` ~ ``watershed(image, markers, mask=mask)``: only
  regions holding two or more seeds are flooded, a one-seed region is filled
  directly. Equal labels wherever the flooding order is defined; a pixel two
  seeds reach at exactly the same height (on the line between two touching
  nuclei) may go to the other one, because scikit-image breaks such ties by
  its heap's internal order, which depends on every other region of the
  image. Here a region's labels depend on that region alone.

Checked against the scipy / scikit-image calls on 66 fields (64 synthetic,
2 demo 1024²) x 5 parameter sets: the same object count in all 330, identical
labels in 302, a few dividing-line pixels differ in 28 (2-100 px of ~10^5);
identical labels on the real DSB 2018 image (125 nuclei).
"""

from __future__ import annotations

import math

import numpy as np

from openhcs_gui._lazy import lazy_module

ndi = lazy_module("scipy.ndimage", globals())

__all__ = ["fill_holes", "distance_to_background", "threshold_li", "seeded_split"]


def fill_holes(foreground: np.ndarray) -> np.ndarray:
    """Foreground plus every background area the image edge cannot reach (4-connected)."""
    background, n = ndi.label(~foreground)
    reaches_edge = np.zeros(n + 1, bool)
    for edge in (background[0], background[-1], background[:, 0], background[:, -1]):
        reaches_edge[edge] = True
    reaches_edge[0] = False
    return np.asarray(~reaches_edge[background])


def distance_to_background(mask: np.ndarray) -> np.ndarray:
    """Euclidean distance (float64) of each mask pixel to the nearest pixel outside it.

    Like scipy, the image border is not background; a mask without any
    background pixel falls back to scipy (the ``edt`` package returns inf there).
    """
    import edt

    if mask.all():
        return np.asarray(ndi.distance_transform_edt(mask))
    squared = edt.edtsq(np.ascontiguousarray(mask), black_border=False, parallel=1)
    return np.sqrt(squared.astype(np.float64))


def threshold_li(image: np.ndarray) -> float:
    """Li's minimum cross-entropy threshold, iterated as scikit-image does, on sorted values.

    Same start (the mean), same tolerance (half the smallest step between
    distinct values) and same update; a mean over ``values > t`` is a
    difference of two prefix sums.
    """
    values = np.sort(image, axis=None)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return math.nan
    low = values[0]
    if values[-1] == low:
        return float(low)
    shifted = (values - low).astype(np.float64)
    steps = np.diff(shifted)
    tolerance = float(steps[steps > 0].min()) / 2
    sums = np.concatenate(([0.0], np.cumsum(shifted)))
    n = shifted.size
    t_next = sums[-1] / n
    t_curr = -2 * tolerance
    while abs(t_next - t_curr) > tolerance:
        t_curr = t_next
        k = int(np.searchsorted(shifted, t_curr, side="right"))  # values <= t: background
        if k == 0 or k == n:
            break
        mean_back = sums[k] / k
        mean_fore = (sums[-1] - sums[k]) / (n - k)
        if mean_back == 0.0:
            break
        t_next = (mean_back - mean_fore) / (math.log(mean_back) - math.log(mean_fore))
    return float(t_next + float(low))


def seeded_split(image: np.ndarray, markers: np.ndarray, regions: np.ndarray) -> np.ndarray:
    """Seeded watershed of ``image`` inside ``regions > 0``, flooding only where two seeds compete.

    ``regions`` are the 8-connected regions of the mask and every marker lies
    in one region. Flooding never crosses from one region to another, so a
    region with one seed needs no flooding: its pixels 4-connected to the seed
    take the seed's id, as the watershed would give them (the rest stay 0).
    Regions with two or more seeds are flooded together; ties between two
    seeds at equal height may be broken differently from a flood of the whole
    mask (see the module docstring), nothing else differs.
    """
    from skimage.segmentation import watershed

    seeded = markers > 0
    pairs = np.unique(regions[seeded].astype(np.int64) << 32 | markers[seeded].astype(np.int64))
    seeds_per_region = np.bincount(pairs >> 32, minlength=int(regions.max()) + 1)
    seeds_per_region[0] = 0
    labels = np.zeros(regions.shape, np.int32)
    several = (seeds_per_region >= 2)[regions]
    if several.any():
        labels = np.asarray(watershed(image, np.where(several, markers, 0), mask=several), np.int32)  # type: ignore[no-untyped-call]
    one = (seeds_per_region == 1)[regions]
    parts, n_parts = ndi.label(one)  # 4-connected, as the watershed floods
    seed_of_part = np.zeros(n_parts + 1, np.int32)
    in_one = seeded & one
    seed_of_part[parts[in_one]] = markers[in_one]
    seed_of_part[0] = 0
    return np.where(one, seed_of_part[parts], labels)
