"""Per-image filters: Gaussian blur, background subtraction, percentile normalization.

All three work image by image (never across the stack axis), so any grouping
of a step works; each returns a new array of the input's dtype.
"""

from __future__ import annotations

import inspect
from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from openhcs_gui._lazy import lazy_module
from openhcs_gui.functions._params import check_params, diameter_in_px
from openhcs_gui.functions._stack import as_stack, dtype_range, to_dtype
from openhcs_gui.functions.registry import register_function

ndi = lazy_module("scipy.ndimage", globals())  # imported on first use: listing the functions stays quick

__all__ = ["gaussian_blur", "subtract_background", "normalize_percentile", "background_radius",
           "MAX_SIGMA", "MAX_RADIUS", "MAX_OBJECT_PX"]

#: Largest blur sigma in pixels: a kernel of 8 * 200 px already flattens any field of view, and
#: the cost grows with sigma (3e6 took minutes on a 64 x 64 image).
MAX_SIGMA = 200.0
#: Largest background radius in pixels (rolling-ball time grows with radius squared).
MAX_RADIUS = 250


@register_function("gaussian_blur", category="filter", display_name="Smooth (Gaussian blur)",
                   keywords=("blur", "smooth", "denoise", "noise", "gaussian", "filter"))
def gaussian_blur(
    stack: np.ndarray, sigma: Annotated[float, Field(ge=0, le=MAX_SIGMA)] = 2.0
) -> np.ndarray:
    """Smooth each image with a Gaussian of ``sigma`` pixels (mean-preserving).

    Softens camera noise so that a threshold finds whole objects instead of
    speckled ones. Each pixel becomes a weighted average of its neighbours
    within about two sigma; the overall brightness of the image does not change.
    Keep sigma well below the radius of your objects (1 to 2 pixels is typical).

    Parameters
    ----------
    stack
        Images ``(n, y, x)``; not modified.
    sigma
        Standard deviation in pixels along y and x, 0 to 200 (0 returns a copy).

    Returns
    -------
    numpy.ndarray
        Blurred stack, same shape and dtype. Edges are reflected so the image
        mean is preserved (the filter kernel sums to one).
    """
    arr = as_stack(stack, "gaussian_blur")
    if not 0 <= sigma <= MAX_SIGMA:  # NaN fails too
        raise ValueError(f"gaussian_blur: sigma must be between 0 and {MAX_SIGMA:g}, got {sigma}.")
    if sigma == 0:
        return arr.copy()
    out = ndi.gaussian_filter(arr.astype(np.float32), sigma=(0, sigma, sigma), mode="reflect")
    return to_dtype(out, arr.dtype)


def _tophat(image: np.ndarray, radius: int) -> np.ndarray:
    from skimage.morphology import disk, opening

    # A disk decomposed into small cross-shaped footprints: close to the
    # full disk for practical radii, at a fraction of the cost on large images.
    background = opening(image, disk(radius, decomposition="crosses"))  # type: ignore[no-untyped-call]
    return np.asarray(image - background)


def _rolling_ball(image: np.ndarray, radius: int) -> np.ndarray:
    from skimage.restoration import rolling_ball

    # One thread: the runner already processes wells in parallel. The keyword
    # was renamed in scikit-image 0.26 (num_threads -> workers).
    threads = "workers" if "workers" in inspect.signature(rolling_ball).parameters else "num_threads"
    background = rolling_ball(image, radius=radius, **{threads: 1})
    return np.asarray(np.clip(image - background, 0, None))


#: Largest object diameter in pixels: the radius (twice the diameter) stays within ``MAX_RADIUS``.
MAX_OBJECT_PX = MAX_RADIUS / 2


@register_function("subtract_background", category="filter", display_name="Subtract background",
                   keywords=("background", "illumination", "flat field", "shading", "top-hat", "tophat",
                             "rolling ball", "uneven", "vignetting", "correct"))
def subtract_background(
    stack: np.ndarray,
    method: Literal["tophat", "rolling_ball"] = "tophat",
    object_diameter_um: Annotated[float, Field(ge=0.5, le=1000, title="Largest object diameter (µm)")] = 9.0,
    object_diameter_px: Annotated[
        float, Field(ge=1, le=MAX_OBJECT_PX, title="Largest object diameter (px, when the plate has no pixel size)")
    ] = 14.0,
    pixel_size_um: Annotated[float | None, Field(gt=0, le=1000)] = None,
) -> np.ndarray:
    """Remove smooth uneven illumination by white top-hat or rolling ball.

    Uneven lighting and out-of-focus haze make one side of a field brighter
    than the other, which shifts any threshold. This step estimates that smooth
    background and subtracts it, keeping every object up to the largest object
    diameter you give (your nuclei or cells, in micrometres): the background is
    sized from that diameter (a radius of twice it), so it can never be smaller
    than the objects and eat into them.

    Parameters
    ----------
    stack
        Images ``(n, y, x)``; not modified.
    method
        ``"tophat"`` (morphological opening with a disk, fast) or
        ``"rolling_ball"`` (ImageJ's algorithm, slower, follows curved
        backgrounds more closely).
    object_diameter_um
        Diameter of the largest object to keep, in µm, used when the plate's
        pixel size is known; it must come to 1 to 125 px.
    object_diameter_px
        The same in pixels (1 to 125), used when the plate has no pixel size.
    pixel_size_um
        Size of one pixel in µm; the engine passes the plate's (``None`` when
        unknown). Set it only for a direct call.

    Returns
    -------
    numpy.ndarray
        Background-subtracted stack, same shape and dtype, never negative.
        The radius used is ``round(2 * diameter in px)`` (see :func:`background_radius`).
    """
    arr = as_stack(stack, "subtract_background")
    radius = background_radius(object_diameter_um, object_diameter_px, pixel_size_um)
    if method == "tophat":
        one = _tophat
    elif method == "rolling_ball":
        one = _rolling_ball
    else:
        raise ValueError(
            f"subtract_background: method must be 'tophat' or 'rolling_ball', got {method!r}."
        )
    out = np.empty(arr.shape, dtype=np.float32)
    for i, image in enumerate(arr):
        out[i] = one(image.astype(np.float32), radius)
    return to_dtype(np.clip(out, 0, None), arr.dtype)


def background_radius(
    object_diameter_um: float = 9.0, object_diameter_px: float = 14.0, pixel_size_um: float | None = None
) -> int:
    """Background radius in pixels: twice the largest object's diameter (never smaller than it).

    Raises
    ------
    ValueError
        A diameter out of its range, in µm or once converted to pixels.
    """
    check_params(subtract_background, object_diameter_um=object_diameter_um,
                 object_diameter_px=object_diameter_px, pixel_size_um=pixel_size_um)
    diameter = diameter_in_px("subtract_background", object_diameter_um, object_diameter_px, pixel_size_um,
                              ("object_diameter_um", "object_diameter_px"), (1.0, MAX_OBJECT_PX))
    return max(1, min(MAX_RADIUS, round(2 * diameter)))


@register_function("normalize_percentile", category="filter", display_name="Stretch contrast (percentiles)",
                   keywords=("normalize", "normalise", "rescale", "contrast", "stretch", "intensity",
                             "percentile"))
def normalize_percentile(
    stack: np.ndarray,
    low: Annotated[float, Field(ge=0, le=100)] = 1.0,
    high: Annotated[float, Field(ge=0, le=100)] = 99.8,
    per_image: bool = False,
) -> np.ndarray:
    """Stretch the ``low``–``high`` percentile range to the full range of the dtype.

    Makes dim and bright images look alike: the darkest few pixels become
    black and the brightest few white, everything in between is spread evenly.
    Use it for display or before a step that expects comparable intensities;
    do not measure intensities after it, they are no longer the camera's.

    Parameters
    ----------
    stack
        Images ``(n, y, x)``; not modified.
    low, high
        Percentiles (0–100) mapped to the dtype's minimum (0) and maximum
        (or 0–1 for float images); values outside are clipped.
    per_image
        Compute percentiles per image instead of over the whole stack. The
        default keeps images of one stack comparable with each other.

    Returns
    -------
    numpy.ndarray
        Rescaled stack, same shape and dtype.
    """
    arr = as_stack(stack, "normalize_percentile")
    if not 0 <= low < high <= 100:
        raise ValueError(f"normalize_percentile: need 0 <= low < high <= 100, got {low}, {high}.")
    _, top = dtype_range(arr.dtype)
    lo_hi = top if np.issubdtype(arr.dtype, np.integer) else 1.0
    axis = (1, 2) if per_image else None
    p_lo, p_hi = np.percentile(arr, [low, high], axis=axis, keepdims=True)
    span = np.where(p_hi > p_lo, p_hi - p_lo, 1.0)
    scaled = (arr.astype(np.float64) - p_lo) / span
    return to_dtype(np.clip(scaled, 0.0, 1.0) * lo_hi, arr.dtype)
