"""Parameters renamed since a pipeline file was saved, upgraded when it loads.

A scientist's saved pipeline must open tomorrow and give the same numbers. When
a built-in function's parameter is renamed or re-expressed, its old spelling is
listed here with the conversion that reproduces the old behaviour exactly, and
loading logs one warning naming the step so the change is visible.

Lengths that used to be pixels stay pixels: the upgraded step sets
``pixel_size_um`` to ``None`` itself, which makes the function use its ``_px``
value even on a plate with a pixel size (a step's own value wins over the
plate's, :mod:`openhcs_gui.functions.context`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

__all__ = ["upgrade_kwargs"]

log = logging.getLogger(__name__)


def _radius_to_diameter(value: Any) -> dict[str, Any]:
    # subtract_background's radius is round(2 * object diameter): radius R <=> diameter R / 2.
    diameter = value / 2 if isinstance(value, (int, float)) and not isinstance(value, bool) else value
    return {"object_diameter_px": diameter, "pixel_size_um": None}


def _typical_diameter(value: Any) -> dict[str, Any]:
    return {"diameter_px": value, "pixel_size_um": None}


#: function name -> old parameter -> conversion to today's keyword arguments.
RENAMED: dict[str, dict[str, Callable[[Any], dict[str, Any]]]] = {
    "subtract_background": {"radius": _radius_to_diameter},
    "segment_nuclei": {"typical_diameter": _typical_diameter},
    "segment_cells": {"typical_diameter": _typical_diameter},
}


def upgrade_kwargs(function: str, kwargs: dict[str, Any], where: str) -> dict[str, Any]:
    """``kwargs`` with old parameter names of ``function`` converted (a new dict; logs what changed).

    Parameters
    ----------
    function
        Registered function name.
    kwargs
        Keyword arguments as read from the file (not modified).
    where
        The step, for the warning (``"Step 2 'background'"``).
    """
    renamed = RENAMED.get(function, {})
    old = [k for k in kwargs if k in renamed]
    if not old:
        return kwargs
    upgraded = {k: v for k, v in kwargs.items() if k not in renamed}
    for key in old:
        new = renamed[key](kwargs[key])
        for name, value in new.items():
            upgraded.setdefault(name, value)
        shown = ", ".join(f"{n}={v!r}" for n, v in new.items())
        log.warning("%s: %s=%r from an older pipeline file is now %s (same result).",
                    where, key, kwargs[key], shown)
    return upgraded
