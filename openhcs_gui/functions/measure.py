"""Segment bright objects (nuclei) and measure them per image.

Otsu's threshold on a mildly smoothed copy of each image, connected-component
labelling, removal of objects smaller than ``min_size``. Each function returns
an image stack plus a table ``{"objects": rows}`` with one row per input image,
in stack order, carrying an ``"index"`` column; the engine adds the well /
site / channel columns that identify the image.
"""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from pydantic import Field

from openhcs_gui._lazy import lazy_module
from openhcs_gui.functions._stack import as_stack
from openhcs_gui.functions.registry import register_function

ndi = lazy_module("scipy.ndimage", globals())  # imported on first use: listing the functions stays quick

__all__ = ["count_objects", "threshold_and_measure", "segment_image"]

Rows = list[dict[str, Any]]
#: Smoothing before thresholding, in pixels (beyond this objects merge into one blob).
SmoothSigma = Annotated[float, Field(ge=0, le=50)]
#: Smallest object kept, in pixels.
MinSize = Annotated[int, Field(ge=0, le=1_000_000)]


def segment_image(image: np.ndarray, smooth_sigma: float, min_size: int) -> tuple[np.ndarray, float]:
    """Label the objects of one 2-D image; returns ``(labels int32, threshold)``.

    A constant image has no threshold and gives no objects (threshold NaN).
    """
    from skimage.filters import threshold_otsu
    from skimage.measure import label

    smooth = image.astype(np.float32)
    if smooth_sigma > 0:
        smooth = ndi.gaussian_filter(smooth, smooth_sigma)
    if float(smooth.min()) == float(smooth.max()):
        return np.zeros(image.shape, dtype=np.int32), float("nan")
    threshold = float(threshold_otsu(smooth))  # type: ignore[no-untyped-call]
    labels = label(smooth > threshold, connectivity=2)  # type: ignore[no-untyped-call]
    if min_size > 1 and labels.max() > 0:
        # Drop small objects and renumber the rest 1..k in one lookup.
        keep = np.bincount(labels.ravel()) >= min_size
        keep[0] = False
        labels = (np.cumsum(keep) * keep)[labels]
    return labels.astype(np.int32, copy=False), threshold


def _measure(image: np.ndarray, labels: np.ndarray, index: int, threshold: float) -> dict[str, Any]:
    count = int(labels.max())
    if count == 0:
        area = intensity = 0.0
    else:
        ids = np.arange(1, count + 1)
        areas = ndi.sum_labels(np.ones_like(labels, dtype=np.float64), labels, ids)
        means = ndi.mean(image.astype(np.float64), labels, ids)
        area, intensity = float(np.mean(areas)), float(np.mean(means))
    return {
        "index": index,
        "object_count": count,
        "mean_area": round(area, 3),
        "mean_intensity": round(intensity, 3),
        "threshold": round(threshold, 3),
    }


def _segment_stack(
    arr: np.ndarray, smooth_sigma: float, min_size: int, name: str
) -> tuple[np.ndarray, Rows]:
    if smooth_sigma < 0 or min_size < 0:
        raise ValueError(f"{name}: smooth_sigma and min_size must be >= 0.")
    labels = np.zeros(arr.shape, dtype=np.int32)
    rows: Rows = []
    for i, image in enumerate(arr):
        labels[i], threshold = segment_image(image, smooth_sigma, min_size)
        rows.append(_measure(image, labels[i], i, threshold))
    return labels, rows


@register_function("count_objects", category="measure", display_name="Count objects (simple threshold)",
                   keywords=("count", "objects", "nuclei", "threshold", "otsu", "label", "segment"))
def count_objects(
    stack: np.ndarray, smooth_sigma: SmoothSigma = 1.0, min_size: MinSize = 20
) -> tuple[np.ndarray, dict[str, Rows]]:
    """Otsu-threshold, label and count objects; returns label images and a table.

    The quick way to count well separated bright objects: everything brighter
    than an automatic (Otsu) threshold is an object, specks below the minimum
    size are dropped. Touching objects are counted as one; use "Find nuclei"
    when nuclei touch, and for per-object measurements.

    Parameters
    ----------
    stack
        Images ``(n, y, x)`` (e.g. a nuclear stain); not modified.
    smooth_sigma
        Gaussian smoothing before thresholding, in pixels; suppresses shot
        noise that would otherwise split or speckle objects.
    min_size
        Objects with fewer pixels are dropped (noise, debris).

    Returns
    -------
    tuple
        ``(labels, {"objects": rows})``: ``labels`` is an int32 ``(n, y, x)``
        stack (0 = background, 1..k = objects of each image); ``rows`` has one
        dict per image with ``index``, ``object_count``, ``mean_area`` (pixels),
        ``mean_intensity`` (mean of per-object means) and ``threshold``.
    """
    arr = as_stack(stack, "count_objects")
    labels, rows = _segment_stack(arr, smooth_sigma, min_size, "count_objects")
    return labels, {"objects": rows}


@register_function("threshold_and_measure", category="measure", display_name="Threshold into a mask",
                   keywords=("threshold", "mask", "binary", "otsu", "foreground", "count", "measure"))
def threshold_and_measure(
    stack: np.ndarray, smooth_sigma: SmoothSigma = 1.0, min_size: MinSize = 20
) -> tuple[np.ndarray, dict[str, Rows]]:
    """Otsu-threshold and measure objects; returns a binary mask and a table.

    Marks every pixel brighter than an automatic (Otsu) threshold as
    foreground and writes that mask as an image, with the object count, mean
    area and mean brightness of each image in a table. Useful to check by eye
    what a threshold picks up, or as a mask for later steps.

    Parameters
    ----------
    stack
        Images ``(n, y, x)``; not modified.
    smooth_sigma
        Gaussian smoothing before thresholding, in pixels.
    min_size
        Objects with fewer pixels are dropped (and left out of the mask).

    Returns
    -------
    tuple
        ``(mask, {"objects": rows})``: ``mask`` is a uint8 ``(n, y, x)`` stack
        with 255 inside objects (viewable and storable as an image); ``rows``
        as in :func:`count_objects`.
    """
    arr = as_stack(stack, "threshold_and_measure")
    labels, rows = _segment_stack(arr, smooth_sigma, min_size, "threshold_and_measure")
    return np.where(labels > 0, np.uint8(255), np.uint8(0)), {"objects": rows}
