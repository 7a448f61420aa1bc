"""Small helpers shared by the built-in functions (stack checks, dtype round trips)."""

from __future__ import annotations

import numpy as np

__all__ = ["as_stack", "to_dtype", "dtype_range"]


def as_stack(stack: np.ndarray, name: str) -> np.ndarray:
    """Return ``stack`` as a 3-D ``(n, y, x)`` array (a 2-D image becomes ``(1, y, x)``).

    Raises
    ------
    ValueError
        When the input is not a 2-D image or a 3-D stack, naming the function.
    """
    arr = np.asarray(stack)
    if arr.ndim == 2:
        arr = arr[np.newaxis]
    if arr.ndim != 3:
        raise ValueError(f"{name} expects a stack of shape (n, y, x), got shape {arr.shape}.")
    return arr


def dtype_range(dtype: np.dtype) -> tuple[float, float]:
    """Value range a result is clipped to: integer limits, or ``(0, 1)`` for floats."""
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return float(info.min), float(info.max)
    if dtype == np.bool_:
        return 0.0, 1.0
    return 0.0, 1.0


def to_dtype(values: np.ndarray, dtype: np.dtype, *, clip_float: bool = False) -> np.ndarray:
    """Cast computed float values back to ``dtype``, rounding and clipping integers.

    Functions compute in float and hand back the input's dtype so a step that
    writes TIFFs or a zarr array keeps one dtype per channel.
    """
    dtype = np.dtype(dtype)
    if np.issubdtype(dtype, np.integer):
        lo, hi = dtype_range(dtype)
        return np.asarray(np.clip(np.rint(values), lo, hi), dtype=dtype)
    if dtype == np.bool_:
        return np.asarray(values > 0.5)
    if clip_float:
        values = np.clip(values, 0.0, 1.0)
    return values.astype(dtype, copy=False)
