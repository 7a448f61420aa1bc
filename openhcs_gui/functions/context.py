"""Parameters the engine fills in: the plate's pixel size, and whether tables are wanted.

A function that declares ``pixel_size_um`` in its signature receives the
plate's pixel size in µm (from :class:`~openhcs_gui.metadata.PlateMetadata`,
``None`` when the plate does not record it) unless the step sets the keyword
itself. A function that declares ``measure_objects`` receives ``False`` in the
live preview, which shows images only: per-object measurements are half the
time of a segmentation on a 1024² field and nobody would see them there (a
run always passes ``True``). Such parameters are not form fields: the registry leaves them out of
:attr:`~openhcs_gui.functions.registry.RegisteredFunction.parameters` and
lists them in ``RegisteredFunction.context``. This lets a function take lengths
in micrometres (``diameter_um``) with a pixel fallback (``diameter_px``).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

__all__ = ["CONTEXT_PARAMETERS", "with_context"]

#: Parameters the engine supplies from the plate, by name -> what they hold. A
#: function opts in by declaring the keyword; the form never shows it.
CONTEXT_PARAMETERS: dict[str, str] = {
    "pixel_size_um": "size of one pixel in µm from the plate's metadata (None when not recorded)",
    "measure_objects": "False when nobody will read the per-object tables (the live preview); True in a run",
}


def with_context(
    func: Callable[..., Any], kwargs: dict[str, Any], metadata: Any, *, measure_objects: bool = True
) -> dict[str, Any]:
    """``kwargs`` plus the engine-supplied parameters ``func`` declares and the step did not set.

    Parameters
    ----------
    func
        The function about to be called (registered or not: its signature decides).
    kwargs
        The step's keyword arguments (not modified).
    metadata
        The plate's :class:`~openhcs_gui.metadata.PlateMetadata`, or ``None``
        (then the pixel size is ``None``: unknown, never a guess).
    measure_objects
        ``False`` to let functions skip per-object tables (the live preview).

    Returns
    -------
    dict
        The keyword arguments to call ``func`` with.
    """
    wanted = _context_of(func)
    if not wanted:
        return kwargs
    values = {"pixel_size_um": getattr(metadata, "pixel_size_um", None), "measure_objects": measure_objects}
    return {**{k: values[k] for k in wanted if k not in kwargs}, **kwargs}


@functools.lru_cache(maxsize=512)
def _context_of(func: Callable[..., Any]) -> tuple[str, ...]:
    try:
        names = inspect.signature(func).parameters
    except (TypeError, ValueError):
        return ()
    return tuple(k for k in names if k in CONTEXT_PARAMETERS)
