"""Find nuclei and the cells around them, and measure every object.

Nuclei (primary objects) are found by smoothing, an automatic threshold,
splitting of touching nuclei (distance transform + seeded watershed, seeds
at least half a typical radius apart) and a size filter derived from the
typical diameter. Cells (secondary objects) grow from the nuclei into a
cytoplasm channel by a seeded watershed, so cell *k* belongs to nucleus *k*.
Everything is scikit-image / scipy (the distance transform, hole filling,
Li's threshold and the seeded split through the faster equivalents of
:mod:`openhcs_gui.functions._fast_ops`); the per-object tables come from
``regionprops_table`` (see :mod:`openhcs_gui.functions.objects`).

Two ways to feed a segmentation step
------------------------------------
* **One image at a time** (``channel=0``, the default grouping
  ``variable_components=["site"]``): every image of the stack is segmented on
  its own; per-object intensities are read from that same image and the rows
  carry the image's channel.
* **One field's channels** (``channel=k`` for :func:`segment_nuclei`, always
  for :func:`segment_cells`; step with ``variable_components=["channel"]``):
  the stack is ``(channels, y, x)`` of one site, the nuclei are found in the
  *k*-th image (1 = first channel) and the intensity of every object is
  measured in every channel (columns ``mean_intensity_ch1``, ``..._ch2``...).

Defaults
--------
Li's threshold (not Otsu's), smoothing 1 px, splitting on. Checked on real
fluorescence nuclei with hand-made ground truth (Cell Tracking Challenge
N2DL-HeLa, 4 frames, 859 nuclei; Coelho et al. 2009 NIH3T3, 18 images, 806
nuclei; N2DH-GOWT1, 6 frames, 152 nuclei) with the nucleus diameter set to the
median nucleus (26, 86, 60 px): count errors +0.2 %, -5.5 %, -21 % (Otsu:
-17 %, -27 %, -55 %; without splitting, Li: -16 %, -30 %, -23 %). After a
top-hat of radius 2x the diameter (the demo pipeline's rule): +1.9 %, +8.6 %,
-21 %. GOWT1's very dim nuclei are below any single global threshold. Those
images are not shipped (licences); the tests use synthetic fields.

Outputs are int32 label images (0 = background) and are declared as label
outputs (``func.outputs == "labels"``) so storage can write them as labels.
Tables: ``"objects"`` has one row per image (object count, means; NaN where
there are no objects), ``"nuclei"`` / ``"cells"`` one row per object.
"""

from __future__ import annotations

import math
import typing
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Field

from openhcs_gui._lazy import lazy_module
from openhcs_gui.constants import Component
from openhcs_gui.functions._fast_ops import (
    distance_to_background,
    fill_holes,
    seeded_split,
    threshold_li,
)
from openhcs_gui.functions._params import check_params, diameter_in_px, labels_output
from openhcs_gui.functions._stack import as_stack
from openhcs_gui.functions.objects import Rows, count_column, object_rows, summary_row
from openhcs_gui.functions.registry import register_function

ndi = lazy_module("scipy.ndimage", globals())  # imported on first use: listing the functions stays quick

__all__ = [
    "segment_nuclei",
    "segment_cells",
    "nuclei_labels",
    "cell_labels",
    "check_params",
    "labels_output",
    "diameter_in_px",
    "THRESHOLD_METHODS",
]

ThresholdMethod = Literal["otsu", "li", "triangle", "yen", "isodata", "mean"]
#: Automatic threshold methods by name (scikit-image ``threshold_*``).
THRESHOLD_METHODS: tuple[str, ...] = typing.get_args(ThresholdMethod)

#: Typical nucleus diameter in pixels (a 2.5 px nucleus is below any objective's use).
DIAMETER_PX_RANGE = (3.0, 500.0)
#: The typical nucleus diameter in µm: what a scientist knows (used when the plate records its pixel size).
DiameterUm = Annotated[float, Field(ge=0.5, le=1000, title="Nucleus diameter (µm)")]
#: The same in pixels: used when the plate has no pixel size (or for a direct call without one).
DiameterPx = Annotated[float, Field(ge=DIAMETER_PX_RANGE[0], le=DIAMETER_PX_RANGE[1],
                                    title="Nucleus diameter (px, when the plate has no pixel size)")]
#: Pixel size in µm, filled in by the engine from the plate (never a form field).
PixelSize = Annotated[float | None, Field(gt=0, le=1000)]
#: Gaussian smoothing before thresholding, in pixels.
Smoothing = Annotated[float, Field(ge=0, le=50)]
#: Factor on the automatic threshold's height above the darkest pixel (> 1 stricter, < 1 more permissive).
Correction = Annotated[float, Field(ge=0.2, le=5)]
#: Position of a channel in a field's stack, 1 = first; 0 = each image on its own.
ChannelPos = Annotated[int, Field(ge=0, le=64)]
ChannelReq = Annotated[int, Field(ge=1, le=64)]
#: False in the live preview (filled in by the engine, never a form field): labels and counts only.
MeasureObjects = bool


# ------------------------------------------------------------------ algorithms
def _threshold(image: np.ndarray, method: str) -> float:
    if method == "li":
        return threshold_li(image)
    from skimage import filters

    return float(getattr(filters, f"threshold_{method}")(image))


def _corrected(image: np.ndarray, method: str, correction: float) -> float:
    """The automatic threshold, its height above the darkest pixel scaled by ``correction``.

    Scaling the height rather than the value keeps the factor meaningful on
    cameras with a large offset (a 0.8 correction of 34000 counts would
    otherwise fall below the background).
    """
    floor = float(image.min())
    return floor + correction * (_threshold(image, method) - floor)


def _relabel_keep(labels: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Keep the ids where ``keep[id]`` is True, renumbered 1..k in order (one lookup)."""
    keep = keep.copy()
    keep[0] = False
    return np.asarray((np.cumsum(keep) * keep)[labels], dtype=np.int32)


def nuclei_labels(
    image: np.ndarray,
    typical_diameter: float = 14.0,
    threshold_method: str = "li",
    threshold_correction: float = 1.0,
    smoothing: float = 1.0,
    split_touching: bool = True,
    exclude_border: bool = False,
) -> tuple[np.ndarray, float]:
    """Label the nuclei of one 2-D image; returns ``(labels int32, threshold)``.

    A constant image has no threshold: no objects, threshold NaN. Objects
    smaller than a disc of half the typical diameter are dropped.
    """
    from skimage.feature import peak_local_max
    from skimage.measure import label
    from skimage.segmentation import clear_border

    smooth = image.astype(np.float32)
    if smoothing > 0:
        smooth = ndi.gaussian_filter(smooth, smoothing)
    if float(smooth.min()) == float(smooth.max()):
        return np.zeros(image.shape, np.int32), float("nan")
    threshold = _corrected(smooth, threshold_method, threshold_correction)
    mask = fill_holes(smooth > threshold)
    if split_touching:
        # A light smoothing of the distance map removes the one-pixel maxima a
        # ragged outline makes; seeds closer than ~a quarter diameter merge.
        distance = ndi.gaussian_filter(distance_to_background(mask), typical_diameter / 32)
        regions = label(mask)  # type: ignore[no-untyped-call]
        # One peak search over the whole field, background zeroed, instead of one per
        # region (``labels=regions``): the same seeds on every test field, 1.7x faster
        # on 1024² (the per-region loop is ~900 small searches). Regions are apart
        # by at least one background pixel, so a peak can only be dropped for a higher
        # one of another region within min_distance; such a region still becomes
        # an object below (lonely regions), so no nucleus is lost either way.
        inside = np.where(mask, distance, 0)
        peaks = peak_local_max(inside, min_distance=max(1, int(typical_diameter * 0.22)),  # type: ignore[no-untyped-call]
                               exclude_border=False)
        peaks = peaks[mask[tuple(peaks.T)]]
        # Seeds on one flat ridge (a square-ish nucleus) are one seed: label the
        # connected plateaus of local maxima and keep those holding a peak.
        plateaus = label(mask & (distance >= ndi.maximum_filter(distance, size=3)))  # type: ignore[no-untyped-call]
        seeded = np.zeros(int(plateaus.max()) + 1, bool)
        seeded[plateaus[tuple(peaks.T)]] = True
        seeded[0] = False
        markers = _relabel_keep(plateaus, seeded)
        n_seeds = int(markers.max())
        labels = seeded_split(-distance, markers, regions)
        # a region without a peak (flat, tiny) keeps its own id after the seeded ones
        lonely = regions * (labels == 0)
        labels = np.where(lonely > 0, label(lonely > 0) + n_seeds, labels)  # type: ignore[no-untyped-call]
    else:
        labels = label(mask)  # type: ignore[no-untyped-call]
    labels = np.asarray(labels, np.int32)
    if exclude_border:
        labels = clear_border(labels)  # type: ignore[no-untyped-call]
    min_area = math.pi * (typical_diameter / 4) ** 2
    keep = np.bincount(labels.ravel()) >= min_area
    return _relabel_keep(labels, keep), threshold


def cell_labels(
    nuclei: np.ndarray,
    cytoplasm: np.ndarray,
    threshold_method: str = "otsu",
    threshold_correction: float = 1.0,
    smoothing: float = 1.0,
    exclude_border: bool = False,
) -> np.ndarray:
    """Grow each nucleus into the cytoplasm image; cell *k* is grown from nucleus *k*.

    The cell area is where the smoothed cytoplasm is above its threshold (plus
    the nuclei); a seeded watershed on the inverted intensity divides it, so
    neighbouring cells meet at the dimmest line between them. With
    ``exclude_border`` a cell touching the image edge is dropped *in the
    returned cells only*; use :func:`_drop_unmatched` to drop its nucleus too.
    """
    from skimage.segmentation import clear_border, watershed

    smooth = cytoplasm.astype(np.float32)
    if smoothing > 0:
        smooth = ndi.gaussian_filter(smooth, smoothing)
    if nuclei.max() == 0:
        return np.zeros(nuclei.shape, np.int32)
    if float(smooth.min()) == float(smooth.max()):
        mask = nuclei > 0
    else:
        mask = (smooth > _corrected(smooth, threshold_method, threshold_correction)) | (nuclei > 0)
    cells = np.asarray(watershed(-smooth, nuclei, mask=mask), np.int32)  # type: ignore[no-untyped-call]
    if exclude_border:
        cells = np.asarray(clear_border(cells), np.int32)  # type: ignore[no-untyped-call]
    return cells


def _count_only(labels: np.ndarray, prefix: str = "") -> dict[str, int]:
    """The per-image row when objects are not measured: the count (labels are numbered 1..k)."""
    return {count_column(prefix): int(labels.max(initial=0))}


def _drop_unmatched(nuclei: np.ndarray, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keep only ids present in both images, renumbered 1..k the same way in both."""
    n = int(max(nuclei.max(), cells.max())) + 1
    keep = (np.bincount(nuclei.ravel(), minlength=n) > 0) & (np.bincount(cells.ravel(), minlength=n) > 0)
    return _relabel_keep(nuclei, keep), _relabel_keep(cells, keep)


# ------------------------------------------------------------ registered steps
@register_function("segment_nuclei", category="segmentation", display_name="Find nuclei",
                   keywords=("segment", "segmentation", "nuclei", "nucleus", "DAPI", "Hoechst", "count",
                             "objects", "label", "watershed", "split touching", "measure", "area"))
@labels_output
def segment_nuclei(
    stack: np.ndarray,
    diameter_um: DiameterUm = 9.0,
    diameter_px: DiameterPx = 14.0,
    threshold_method: ThresholdMethod = "li",
    threshold_correction: Correction = 1.0,
    smoothing: Smoothing = 1.0,
    split_touching: bool = True,
    exclude_border: bool = False,
    channel: ChannelPos = 0,
    pixel_size_um: PixelSize = None,
    measure_objects: MeasureObjects = True,
) -> tuple[np.ndarray, dict[str, Rows]]:
    """Find nuclei, split touching ones and measure each.

    Each image is smoothed, thresholded automatically, touching nuclei are cut
    apart along the narrow neck between them, and specks smaller than a disc
    of half the typical diameter are removed. Each nucleus is then measured:
    position, area, perimeter, shape and brightness. Set the nucleus diameter
    to the size of an average nucleus in micrometres (about 9 µm for a
    cultured human cell); it sets the splitting distance and the size filter.
    When the plate does not record its pixel size, the diameter in pixels is
    used instead (about 14 px at 20x on a 6.5 µm camera).

    Parameters
    ----------
    stack
        Images ``(n, y, x)``; not modified. See the module docstring for ``channel``.
    diameter_um
        Average nucleus diameter in µm (0.5 to 1000), used when the plate's
        pixel size is known; it must come to 3 to 500 px.
    diameter_px
        Average nucleus diameter in pixels (3 to 500), used when it is not.
    threshold_method
        Automatic threshold: ``li`` (default; minimum cross-entropy, keeps dim
        nuclei that ``otsu`` drops when brightness varies), ``otsu`` (two clear
        populations), ``triangle`` (few, sparse nuclei), ``yen``, ``isodata``, ``mean``.
    threshold_correction
        Scales the threshold's height above the darkest pixel (0.2 to 5; above 1
        is stricter, below 1 more permissive).
    smoothing
        Gaussian sigma in pixels applied before thresholding (0 to 50).
    split_touching
        Cut touching nuclei apart (distance transform + seeded watershed).
    exclude_border
        Drop nuclei that touch the image edge (they are cut and mis-measured).
    channel
        0: segment every image of the stack on its own. k >= 1: the stack is one
        field's channels; segment the k-th and measure intensity in all.
    pixel_size_um
        Size of one pixel in µm; the engine passes the plate's (``None`` when
        unknown). Set it only for a direct call.
    measure_objects
        ``False`` (the engine's live preview): no per-object table, and
        ``objects`` holds only the count and threshold of each image.

    Returns
    -------
    tuple
        ``(labels, {"objects": per image, "nuclei": per object})``; ``labels`` is
        int32, ``(n, y, x)`` for ``channel=0`` else one image ``(1, y, x)``.

    Raises
    ------
    ValueError
        A parameter out of its range, or ``channel`` beyond the stack.
    """
    check_params(segment_nuclei, diameter_um=diameter_um, diameter_px=diameter_px, channel=channel,
                 pixel_size_um=pixel_size_um)
    params: dict[str, Any] = dict(threshold_method=threshold_method,
                  threshold_correction=threshold_correction, smoothing=smoothing,
                  split_touching=split_touching, exclude_border=exclude_border)
    check_params(segment_nuclei, **params)
    params["typical_diameter"] = diameter_in_px("segment_nuclei", diameter_um, diameter_px, pixel_size_um)
    arr = as_stack(stack, "segment_nuclei")
    if channel > len(arr):
        raise ValueError(f"segment_nuclei: channel {channel} asked but the stack holds {len(arr)} image(s).")
    if channel == 0:
        labels = np.zeros(arr.shape, np.int32)
        objects: Rows = []
        nuclei: Rows = []
        for i, image in enumerate(arr):
            labels[i], threshold = nuclei_labels(image, **params)
            if not measure_objects:
                objects.append({"index": i, **_count_only(labels[i]), "threshold": threshold})
                continue
            rows = object_rows(labels[i], image, index=i)
            nuclei.extend(rows)
            objects.append({"index": i, **summary_row(rows), "threshold": threshold})
        return labels, ({"objects": objects, "nuclei": nuclei} if measure_objects else {"objects": objects})
    one, threshold = nuclei_labels(arr[channel - 1], **params)
    if not measure_objects:
        return one[np.newaxis], {"objects": [{**_count_only(one), "threshold": threshold}]}
    rows = object_rows(one, arr)
    summary = {**summary_row(rows, len(arr)), "threshold": threshold}
    return one[np.newaxis], {"objects": [summary], "nuclei": rows}


@register_function("segment_cells", category="segmentation", display_name="Grow cells from nuclei",
                   default_variable_components=(Component.CHANNEL,),
                   keywords=("segment", "segmentation", "cells", "cytoplasm", "nuclei", "secondary objects",
                             "propagate", "watershed", "count", "intensity", "measure", "FITC"))
@labels_output
def segment_cells(
    stack: np.ndarray,
    nuclei_channel: ChannelReq = 1,
    cell_channel: ChannelReq = 2,
    diameter_um: DiameterUm = 9.0,
    diameter_px: DiameterPx = 14.0,
    threshold_method: ThresholdMethod = "li",
    cell_threshold_method: ThresholdMethod = "otsu",
    cell_threshold_correction: Correction = 1.0,
    smoothing: Smoothing = 1.0,
    exclude_border: bool = False,
    pixel_size_um: PixelSize = None,
    measure_objects: MeasureObjects = True,
) -> tuple[np.ndarray, dict[str, Rows]]:
    """Find nuclei, grow a cell around each, and measure both in every channel.

    Nuclei are found as in "segment nuclei" (touching ones split). Each nucleus
    then grows outwards through the cytoplasm stain until it meets the
    background or a neighbouring cell, which it meets at the dimmest line
    between them. Each cell belongs to the nucleus it grew from (its parent
    id in the tables), and both are measured in every channel of the field.
    The step must hand over all channels of a field at once (vary the channel
    within a stack).

    Parameters
    ----------
    stack
        One field's channels ``(c, y, x)``; not modified.
    nuclei_channel, cell_channel
        Position (1 = first) of the nuclear stain and of the cytoplasm stain.
    diameter_um, diameter_px
        Average nucleus diameter in µm (used when the plate's pixel size is
        known) and in pixels (used when it is not); as in "Find nuclei".
    threshold_method, cell_threshold_method
        Automatic threshold for the nuclei and for the cell area.
    cell_threshold_correction
        Scales the cell-area threshold's height above the darkest pixel (0.2 to 5).
    smoothing
        Gaussian sigma in pixels for both channels (0 to 50).
    exclude_border
        Drop cells (and their nuclei) touching the image edge.
    pixel_size_um
        Size of one pixel in µm; the engine passes the plate's (``None`` when unknown).
    measure_objects
        ``False`` (the engine's live preview): no per-object tables, and
        ``objects`` holds only the nucleus and cell counts and the threshold.

    Returns
    -------
    tuple
        ``(labels, {"objects", "nuclei", "cells"})``: ``labels`` int32 ``(c, y, x)``:
        the nuclear channel's slot holds the nuclei, every other slot the cells.

    Raises
    ------
    ValueError
        A parameter out of its range, a channel beyond the stack, or both the same.
    """
    check_params(segment_cells, nuclei_channel=nuclei_channel, cell_channel=cell_channel,
                 diameter_um=diameter_um, diameter_px=diameter_px, pixel_size_um=pixel_size_um,
                 threshold_method=threshold_method,
                 cell_threshold_method=cell_threshold_method,
                 cell_threshold_correction=cell_threshold_correction, smoothing=smoothing,
                 exclude_border=exclude_border)
    arr = as_stack(stack, "segment_cells")
    if max(nuclei_channel, cell_channel) > len(arr) or nuclei_channel == cell_channel:
        raise ValueError(
            f"segment_cells: nuclei_channel={nuclei_channel} and cell_channel={cell_channel} must be "
            f"two different channels of the {len(arr)}-channel field (set variable_components=['channel'])."
        )
    typical_diameter = diameter_in_px("segment_cells", diameter_um, diameter_px, pixel_size_um)
    nuclei, threshold = nuclei_labels(arr[nuclei_channel - 1], typical_diameter, threshold_method,
                                      1.0, smoothing, True, exclude_border)
    cells = cell_labels(nuclei, arr[cell_channel - 1], cell_threshold_method,
                        cell_threshold_correction, smoothing, exclude_border)
    nuclei, cells = _drop_unmatched(nuclei, cells)
    out = np.repeat(cells[np.newaxis], len(arr), axis=0)
    out[nuclei_channel - 1] = nuclei
    if not measure_objects:
        return out, {"objects": [{**_count_only(nuclei), **_count_only(cells, "cell_"), "threshold": threshold}]}
    nuclei_rows = object_rows(nuclei, arr)
    cell_rows = object_rows(cells, arr, parent=nuclei)
    summary = {**summary_row(nuclei_rows, len(arr)), **summary_row(cell_rows, len(arr), prefix="cell_"),
               "threshold": threshold}
    return out, {"objects": [summary], "nuclei": nuclei_rows, "cells": cell_rows}
