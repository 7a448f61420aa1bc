"""Image quality control: is a field in focus, saturated, or too bright in the background?

One row per image in the table ``"quality"`` so out-of-focus or saturated fields
can be flagged on the plate heatmap before anyone trusts their measurements.
"""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from pydantic import Field

from openhcs_gui._lazy import lazy_module
from openhcs_gui.functions._stack import as_stack
from openhcs_gui.functions.registry import register_function
from openhcs_gui.functions.segmentation import check_params

ndi = lazy_module("scipy.ndimage", globals())  # imported on first use: listing the functions stays quick

__all__ = ["measure_quality", "focus_score", "power_log_log_slope"]

Rows = list[dict[str, Any]]


def focus_score(image: np.ndarray) -> float:
    """Normalized variance of the Laplacian: ``var(laplace(image)) / mean(image)**2``.

    Sharp edges give a large Laplacian, blur flattens it. Dividing by the
    squared mean makes the score independent of exposure and gain, so fields
    of one plate compare. NaN for an all-zero image.
    """
    img = image.astype(np.float64)
    mean = float(img.mean())
    if mean == 0:
        return float("nan")
    return float(ndi.laplace(img).var() / mean**2)


def power_log_log_slope(image: np.ndarray) -> float:
    """Slope of the radially averaged power spectrum in log-log axes (CellProfiler's PowerLogLogSlope).

    In-focus images keep power at high spatial frequencies (slope near -2);
    blurred ones lose it (much steeper, more negative). Fitted over spectrum
    radii from ``size / 32`` to ``size / 4`` (mid frequencies: finer than the
    illumination, coarser than the shot noise). NaN for a constant image.
    """
    img = image.astype(np.float64)
    if float(img.min()) == float(img.max()):
        return float("nan")
    power = np.abs(np.fft.fftshift(np.fft.fft2(img - img.mean()))) ** 2
    h, w = img.shape
    yy, xx = np.indices(img.shape)
    radius = np.hypot(yy - h // 2, xx - w // 2).astype(np.int64)
    radial = np.bincount(radius.ravel(), power.ravel()) / np.maximum(np.bincount(radius.ravel()), 1)
    lo, hi = max(1, min(h, w) // 32), max(2, min(h, w) // 4)
    freq = np.arange(lo, hi + 1)
    values = radial[lo : hi + 1]
    ok = values > 0
    if ok.sum() < 2:
        return float("nan")
    return float(np.polyfit(np.log(freq[ok]), np.log(values[ok]), 1)[0])


@register_function("measure_quality", category="quality", display_name="Measure image quality",
                   keywords=("quality", "QC", "focus", "blur", "saturation", "background", "flag", "bad fields"))
def measure_quality(
    stack: np.ndarray,
    saturation_value: Annotated[float, Field(ge=0, le=1e9)] = 0.0,
    background_percentile: Annotated[float, Field(ge=0, le=50)] = 5.0,
) -> tuple[np.ndarray, dict[str, Rows]]:
    """Score focus, saturation and background of every image.

    For each image: a focus score (high = sharp), the slope of its power
    spectrum (another focus measure, robust to how many cells there are),
    the fraction of saturated pixels, and the background level (a low
    percentile of the intensities). Images pass through unchanged.

    Parameters
    ----------
    stack
        Images ``(n, y, x)``; not modified and returned as they are.
    saturation_value
        Pixel value counted as saturated (0 to 1e9); 0 means the largest value
        of the image's data type (65535 for 16-bit, 1.0 for float images). Set
        it to 4095 for a 12-bit camera stored in 16 bits.
    background_percentile
        Percentile of the intensities reported as the background (0 to 50).

    Returns
    -------
    tuple
        ``(stack, {"quality": rows})``, one row per image: ``focus_score``,
        ``power_log_log_slope``, ``saturation_fraction``, ``background`` and
        ``mean_intensity``.

    Raises
    ------
    ValueError
        A parameter out of its range.
    """
    check_params(measure_quality, saturation_value=saturation_value,
                 background_percentile=background_percentile)
    arr = as_stack(stack, "measure_quality")
    if saturation_value > 0:
        level = saturation_value
    elif np.issubdtype(arr.dtype, np.integer):
        level = float(np.iinfo(arr.dtype).max)
    else:
        level = 1.0
    rows: Rows = [
        {
            "index": i,
            "focus_score": focus_score(image),
            "power_log_log_slope": power_log_log_slope(image),
            "saturation_fraction": float(np.mean(image >= level)),
            "background": float(np.percentile(image, background_percentile)),
            "mean_intensity": float(image.mean()),
        }
        for i, image in enumerate(arr)
    ]
    return arr, {"quality": rows}
