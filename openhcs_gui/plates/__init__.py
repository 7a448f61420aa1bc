"""Input plates: index microscope folders and OME-Zarr plates, make synthetic ones.

Names are re-exported lazily (PEP 562) so ``import openhcs_gui.plates`` does
not import zarr or tifffile until a reader or the generator is used.
"""

from __future__ import annotations

from openhcs_gui._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "PlateIndex": "openhcs_gui.plates.model",
    "open_plate": "openhcs_gui.plates.detect",
    "detect_format": "openhcs_gui.plates.detect",
    "make_synthetic_plate": "openhcs_gui.plates.synthetic",
    "make_demo_plate": "openhcs_gui.plates.synthetic",
    "read_ground_truth": "openhcs_gui.plates.synthetic",
}

__all__ = list(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals(), __all__)
