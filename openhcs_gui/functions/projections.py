"""Projections over the stack axis (usually z): one image out per stack.

Registered with ``default_variable_components=(Component.Z,)`` so the step
editor proposes stacks of the z-planes of one (well, site, channel).
"""

from __future__ import annotations

import numpy as np

from openhcs_gui.constants import Component
from openhcs_gui.functions._stack import as_stack, to_dtype
from openhcs_gui.functions.registry import register_function

__all__ = ["max_projection", "mean_projection"]


@register_function(
    "max_projection", category="projection", default_variable_components=(Component.Z,)
)
def max_projection(stack: np.ndarray) -> np.ndarray:
    """Maximum intensity projection of the stack into one image.

    Parameters
    ----------
    stack
        Images ``(n, y, x)``, typically the z-planes of one field; not modified.

    Returns
    -------
    numpy.ndarray
        ``(1, y, x)`` stack of the input's dtype (exactly ``stack.max(axis=0)``).
    """
    arr = as_stack(stack, "max_projection")
    return np.asarray(arr.max(axis=0, keepdims=True))


@register_function(
    "mean_projection", category="projection", default_variable_components=(Component.Z,)
)
def mean_projection(stack: np.ndarray) -> np.ndarray:
    """Mean intensity projection of the stack into one image.

    Parameters
    ----------
    stack
        Images ``(n, y, x)``, typically the z-planes of one field; not modified.

    Returns
    -------
    numpy.ndarray
        ``(1, y, x)`` stack of the input's dtype. The mean is computed in
        float64; integer results are rounded to the nearest value so the
        output can be stored beside its input.
    """
    arr = as_stack(stack, "mean_projection")
    return to_dtype(arr.mean(axis=0, dtype=np.float64, keepdims=True), arr.dtype)
