"""Assemble the sites of a well into one grid image.

Registered with ``default_variable_components=(Component.SITE,)`` so a stack
holds every site of one (well, channel, z), in site order.
"""

from __future__ import annotations

import math
from typing import Annotated

import numpy as np
from pydantic import Field

from openhcs_gui.constants import Component
from openhcs_gui.functions._stack import as_stack
from openhcs_gui.functions.registry import register_function

__all__ = ["stitch_sites"]


@register_function(
    "stitch_sites", category="assemble", default_variable_components=(Component.SITE,),
    display_name="Tile sites into a well image",
    keywords=("stitch", "tile", "montage", "mosaic", "assemble", "sites", "fields", "well overview"),
)
def stitch_sites(
    stack: np.ndarray,
    columns: Annotated[int, Field(ge=0, le=1000)] = 0,
    gap: Annotated[int, Field(ge=0, le=1000)] = 0,
    snake: bool = False,
) -> np.ndarray:
    """Tile the sites of a well into one grid image (row by row, no registration).

    Puts the fields of view of one well side by side, in site order, to make
    an overview of the whole well. The tiles are placed on a regular grid
    without aligning their overlaps, so use it for looking, not for measuring
    objects that cross a tile edge.

    Parameters
    ----------
    stack
        Site images ``(n, y, x)`` in site order; not modified.
    columns
        Tiles per grid row; 0 picks ``ceil(sqrt(n))`` (a square-ish grid).
    gap
        Background pixels left between tiles (0 = edge to edge).
    snake
        Reverse every second row, as instruments that scan in a meander do.

    Returns
    -------
    numpy.ndarray
        ``(1, rows*y + (rows-1)*gap, columns*x + (columns-1)*gap)`` stack of the
        input's dtype; unused grid cells are 0.
    """
    arr = as_stack(stack, "stitch_sites")
    if columns < 0 or gap < 0:
        raise ValueError(f"stitch_sites: columns and gap must be >= 0, got {columns}, {gap}.")
    n, h, w = arr.shape
    cols = columns or math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    out = np.zeros((1, rows * h + (rows - 1) * gap, cols * w + (cols - 1) * gap), dtype=arr.dtype)
    for i in range(n):
        r, c = divmod(i, cols)
        if snake and r % 2 == 1:
            c = cols - 1 - c
        y, x = r * (h + gap), c * (w + gap)
        out[0, y : y + h, x : x + w] = arr[i]
    return out
