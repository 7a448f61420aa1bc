"""Input plates: index microscope folders and OME-Zarr plates, make synthetic ones.

Names are re-exported lazily (PEP 562) so ``import openhcs_gui.plates`` does
not import zarr or tifffile until a reader or the generator is used.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    "PlateIndex": "openhcs_gui.plates.model",
    "open_plate": "openhcs_gui.plates.detect",
    "detect_format": "openhcs_gui.plates.detect",
    "make_synthetic_plate": "openhcs_gui.plates.synthetic",
    "make_demo_plate": "openhcs_gui.plates.synthetic",
    "read_ground_truth": "openhcs_gui.plates.synthetic",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'openhcs_gui.plates' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
