"""Physical units for writers: NGFF unit names, ImageJ unit names, micrometre factors.

:class:`~openhcs_gui.metadata.PlateMetadata` carries one length unit; the
OME-Zarr writer needs its NGFF name (``micrometer``), the TIFF writer its
ImageJ name (``um``, which Fiji shows as µm). Unknown or non-length units give
``None``, so writers leave the unit out instead of guessing.
"""

from __future__ import annotations

from openhcs_gui.metadata import PlateMetadata

__all__ = ["space_unit", "imagej_unit", "to_micrometre"]

#: NGFF length unit -> micrometres (the subset microscopes use, and a few more).
_UM_PER_UNIT: dict[str, float] = {
    "angstrom": 1e-4, "picometer": 1e-6, "nanometer": 1e-3, "micrometer": 1.0,
    "millimeter": 1e3, "centimeter": 1e4, "decimeter": 1e5, "meter": 1e6,
}
#: NGFF space unit names (OME-NGFF 0.4 "axes"), all accepted as they are.
_NGFF_SPACE_UNITS = {
    "angstrom", "attometer", "centimeter", "decimeter", "exameter", "femtometer", "foot",
    "gigameter", "hectometer", "inch", "kilometer", "megameter", "meter", "micrometer", "mile",
    "millimeter", "nanometer", "parsec", "petameter", "picometer", "terameter", "yard",
    "yoctometer", "yottameter", "zeptometer", "zettameter",
}
#: Spellings instrument files use for the same units.
_ALIASES = {"um": "micrometer", "\u00b5m": "micrometer", "\u03bcm": "micrometer",
            "micron": "micrometer", "microns": "micrometer", "nm": "nanometer",
            "mm": "millimeter", "cm": "centimeter", "m": "meter"}
_IMAGEJ = {"nanometer": "nm", "micrometer": "um", "millimeter": "mm", "centimeter": "cm",
           "meter": "m"}


def space_unit(meta: PlateMetadata | None) -> str | None:
    """The NGFF name of ``meta``'s length unit, or ``None`` when unknown or not a length."""
    if meta is None or meta.unit is None:
        return None
    text = meta.unit.strip()
    unit = _ALIASES.get(text, _ALIASES.get(text.lower(), text.lower()))
    return unit if unit in _NGFF_SPACE_UNITS else None


def imagej_unit(unit: str | None) -> str | None:
    """ImageJ's name for an NGFF unit (``micrometer`` -> ``um``), or ``None``."""
    return _IMAGEJ.get(unit) if unit is not None else None


def to_micrometre(unit: str | None) -> float | None:
    """Micrometres per ``unit`` (NGFF name), or ``None`` when not convertible."""
    return _UM_PER_UNIT.get(unit) if unit is not None else None
