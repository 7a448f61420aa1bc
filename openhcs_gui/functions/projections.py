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
    "max_projection", category="projection", default_variable_components=(Component.Z,),
    display_name="Maximum projection (z)",
    keywords=("projection", "z-stack", "z stack", "focus", "flatten", "maximum", "MIP", "planes"),
)
def max_projection(stack: np.ndarray) -> np.ndarray:
    """Maximum intensity projection of the stack into one image.

    Flattens a z-stack into one sharp-looking image: every pixel keeps its
    brightest value over all focal planes, so objects that are in focus in
    different planes all appear. Good for counting and outlining; intensities
    are biased upwards, so measure integrated intensity on a mean projection.

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
    "mean_projection", category="projection", default_variable_components=(Component.Z,),
    display_name="Mean projection (z)",
    keywords=("projection", "z-stack", "z stack", "average", "mean", "flatten", "planes"),
)
def mean_projection(stack: np.ndarray) -> np.ndarray:
    """Mean intensity projection of the stack into one image.

    Flattens a z-stack into one image by averaging every pixel over all focal
    planes. The result is softer than a maximum projection but its
    intensities stay proportional to the amount of stain, so it is the one to
    measure total (integrated) intensities on.

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
