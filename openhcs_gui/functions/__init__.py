"""The function library: a registry of image functions by stable name, and the built-ins.

Importing this package is cheap: the built-in modules (which import scipy and
scikit-image) load on first lookup, or when a built-in is accessed as an
attribute (``openhcs_gui.functions.gaussian_blur``).
"""

from __future__ import annotations

from openhcs_gui._lazy import lazy_exports
from openhcs_gui.functions._search import search
from openhcs_gui.functions.registry import (
    CONTEXT_PARAMETERS,
    ENTRY_POINT_GROUP,
    RegisteredFunction,
    annotation_bounds,
    get_function,
    list_functions,
    name_of,
    plugin_errors,
    register_function,
    with_context,
)

_BUILTINS: dict[str, str] = {
    "gaussian_blur": "openhcs_gui.functions.filters",
    "subtract_background": "openhcs_gui.functions.filters",
    "normalize_percentile": "openhcs_gui.functions.filters",
    "max_projection": "openhcs_gui.functions.projections",
    "mean_projection": "openhcs_gui.functions.projections",
    "count_objects": "openhcs_gui.functions.measure",
    "threshold_and_measure": "openhcs_gui.functions.measure",
    "stitch_sites": "openhcs_gui.functions.assemble",
    "segment_nuclei": "openhcs_gui.functions.segmentation",
    "segment_cells": "openhcs_gui.functions.segmentation",
    "measure_quality": "openhcs_gui.functions.quality",
}

__all__ = [
    "ENTRY_POINT_GROUP",
    "RegisteredFunction",
    "annotation_bounds",
    "register_function",
    "get_function",
    "list_functions",
    "name_of",
    "plugin_errors",
    "search",
    "with_context",
    "CONTEXT_PARAMETERS",
    *_BUILTINS,
]

__getattr__, __dir__ = lazy_exports(__name__, _BUILTINS, globals(), __all__)
