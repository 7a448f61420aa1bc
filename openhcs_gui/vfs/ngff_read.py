"""The one reader of OME-Zarr (NGFF) metadata: plate, well, multiscales, axes, omero.

NGFF 0.4 keeps its attributes in a zarr v2 group's ``.zattrs``; 0.5 keeps
them under ``attributes["ome"]`` of a zarr v3 ``zarr.json``. Both are read
here from the JSON files themselves (a few small reads, no zarr-python), and
every caller - the plate reader (:mod:`openhcs_gui.plates.omezarr`), the zarr
backend's registry of foreign stores and the viewer's lazy well arrays
(:mod:`openhcs_gui.vfs.ngff_lazy`) - gets the same answer from the same code.

The reader is tolerant on purpose rather than a validator such as
ome-zarr-models (a dev-only dependency here): plates written by other tools
often lack optional or even required fields (``rowIndex``, axis units,
``omero``, a well's ``images`` list). What is missing stays unknown
(``None``/empty); only a store with no plate at all, or JSON that cannot be
parsed, is an error.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from typing import Any

from openhcs_gui.errors import StorageError
from openhcs_gui.vfs.keys import well_name

__all__ = [
    "Axis", "Multiscale", "OmeroChannel", "ImageMeta", "PlateWell", "PlateMeta",
    "DEFAULT_AXES", "group_attrs", "read_plate", "read_well_fields", "read_image", "field_sites",
]

#: Axis names assumed when a multiscale names none (or not one per array dimension).
DEFAULT_AXES = ("t", "c", "z", "y", "x")

_DIGITS = re.compile(r"^\d+$")
_ROW = re.compile(r"^[A-Za-z]{1,2}$")
_HEX = re.compile(r"^[0-9A-F]{6}$")


def _json(path: str) -> dict[str, Any] | None:
    try:
        with open(path, "rb") as f:
            value = json.loads(f.read())
    except (FileNotFoundError, NotADirectoryError):
        return None
    except (OSError, ValueError) as e:
        raise StorageError(f"Cannot read the zarr metadata {path}: {e}.") from e
    return value if isinstance(value, dict) else None


def group_attrs(path: str | os.PathLike[str]) -> tuple[dict[str, Any], int] | None:
    """``(NGFF attributes, zarr format)`` of the group at ``path``, ``None`` if no group is there.

    The 0.5 ``"ome"`` namespace is unwrapped, so both versions show
    ``plate``/``well``/``multiscales``/``omero`` at the top level.

    Raises
    ------
    StorageError
        When a metadata file exists but is not valid JSON.
    """
    path = os.fspath(path)
    meta = _json(os.path.join(path, "zarr.json"))
    if meta is not None:
        if meta.get("node_type") != "group":
            return None
        attrs = meta.get("attributes") or {}
        ome = attrs.get("ome")
        return (dict(ome) if isinstance(ome, dict) else dict(attrs)), 3
    if not os.path.exists(os.path.join(path, ".zgroup")):
        return None
    attrs = _json(os.path.join(path, ".zattrs")) or {}
    ome = attrs.get("ome")  # tolerate 0.5-style attributes in a v2 group
    return (dict(ome) if isinstance(ome, dict) else attrs), 2


# ------------------------------------------------------------------ plate
@dataclass(frozen=True)
class PlateWell:
    """One well a plate lists: canonical name (``B03``), group path (``B/3``), row, column."""

    name: str
    path: str
    row: str
    column: int


@dataclass(frozen=True)
class PlateMeta:
    """A plate's ``plate`` metadata; ``skipped`` says which listed wells could not be used."""

    name: str | None
    rows: tuple[str, ...]
    columns: tuple[str, ...]
    wells: tuple[PlateWell, ...]
    skipped: tuple[str, ...] = ()

    def well(self, name: str) -> PlateWell | None:
        """The listed well named ``name`` (``B03``), or ``None``."""
        return next((w for w in self.wells if w.name == name), None)


def _names(entries: Any) -> tuple[str, ...]:
    return tuple(str(e.get("name", "")) if isinstance(e, dict) else str(e) for e in entries or [])


def read_plate(path: str | os.PathLike[str]) -> PlateMeta | None:
    """The ``plate`` metadata of the store at ``path``; ``None`` when it is no HCS plate.

    Each well's row and column come from ``rowIndex``/``columnIndex`` into
    the ``rows``/``columns`` names, or from its ``row/column`` path when the
    indices are missing or out of range. Row letters are upper-cased.
    """
    found = group_attrs(path)
    plate = found[0].get("plate") if found else None
    if not isinstance(plate, dict):
        return None
    rows, cols = _names(plate.get("rows")), _names(plate.get("columns"))
    wells: list[PlateWell] = []
    skipped: list[str] = []
    for w in plate.get("wells") or []:
        wpath = str(w.get("path", "")) if isinstance(w, dict) else ""
        ri, ci = (w.get("rowIndex"), w.get("columnIndex")) if isinstance(w, dict) else (None, None)
        if isinstance(ri, int) and isinstance(ci, int) and 0 <= ri < len(rows) and 0 <= ci < len(cols):
            r, c = rows[ri], cols[ci]
        else:
            r, _, c = wpath.partition("/")
        if not (_ROW.match(r) and _DIGITS.match(c)):
            skipped.append(f"well {wpath!r} ignored: row/column {r!r}/{c!r} is not like A/1")
            continue
        wells.append(PlateWell(well_name(r.upper(), int(c)), wpath, r.upper(), int(c)))
    name = plate.get("name")
    return PlateMeta(str(name) if name else None, rows, cols, tuple(wells), tuple(skipped))


# ------------------------------------------------------------------- well
def field_sites(paths: list[str]) -> list[tuple[int, str]]:
    """``(1-based site, field path)``: folders ``0, 1, ...`` are sites ``1, 2, ...``,
    other names are numbered in the order given."""
    by_name = all(_DIGITS.match(p) for p in paths)
    return [(int(p) + 1 if by_name else i + 1, p) for i, p in enumerate(paths)]


def read_well_fields(path: str | os.PathLike[str]) -> list[tuple[int, str]]:
    """``(site, field path)`` of the well group at ``path``.

    From the well's ``images`` list; a well without well metadata falls back
    to its digit-named sub-folders. Empty when the well does not exist.
    """
    path = os.fspath(path)
    found = group_attrs(path)
    well = found[0].get("well") if found else None
    if isinstance(well, dict):
        paths = [str(img["path"]) for img in well.get("images") or []
                 if isinstance(img, dict) and "path" in img]
    elif os.path.isdir(path):
        paths = sorted((n for n in os.listdir(path) if _DIGITS.match(n)), key=int)
    else:
        paths = []
    return field_sites(paths)


# ------------------------------------------------------------------ image
@dataclass(frozen=True)
class Axis:
    """One NGFF axis: name, type (``space``/``channel``/``time``) and unit where given."""

    name: str
    type: str | None = None
    unit: str | None = None


@dataclass(frozen=True)
class Multiscale:
    """The first ``multiscales`` entry of an image group.

    ``axes`` is empty when the metadata names none; ``scales[i]`` is level
    ``i``'s scale per axis (the dataset's times the multiscale-wide one), or
    ``None`` when neither gives one of the right length.
    """

    axes: tuple[Axis, ...]
    datasets: tuple[str, ...]
    scales: tuple[tuple[float, ...] | None, ...]

    def axis_names(self, ndim: int, fallback: tuple[str, ...] | None = None) -> tuple[str, ...]:
        """Axis names for an array of ``ndim`` dimensions.

        The metadata's names when there is one per dimension, else
        ``fallback`` (e.g. zarr v3 ``dimension_names``) if it fits, else the
        last ``ndim`` of ``t, c, z, y, x``.
        """
        if len(self.axes) == ndim:
            return tuple(a.name for a in self.axes)
        if fallback is not None and len(fallback) == ndim and all(fallback):
            return tuple(fallback)
        return DEFAULT_AXES[-ndim:]


@dataclass(frozen=True)
class OmeroChannel:
    """An ``omero`` channel: label and ``RRGGBB`` colour, ``None`` where not given."""

    label: str | None
    color: str | None


@dataclass(frozen=True)
class ImageMeta:
    """What an image group says about itself; ``multiscale`` is ``None`` if it has none."""

    multiscale: Multiscale | None
    channels: tuple[OmeroChannel, ...]

    @property
    def dataset(self) -> str:
        """Path of the full-resolution array (``"0"`` when the metadata names none)."""
        return self.multiscale.datasets[0] if self.multiscale and self.multiscale.datasets else "0"


def _scale(transforms: Any, n: int) -> list[float] | None:
    out: list[float] | None = None
    for tr in transforms or []:
        if isinstance(tr, dict) and tr.get("type") == "scale" and len(tr.get("scale") or []) == n:
            step = [float(v) for v in tr["scale"]]
            out = step if out is None else [a * b for a, b in zip(out, step, strict=True)]
    return out


def _multiscale(ms: dict[str, Any]) -> Multiscale:
    axes = tuple(Axis(a) if isinstance(a, str) else
                 Axis(str(a.get("name")), a.get("type"), a.get("unit"))
                 for a in ms.get("axes") or [] if isinstance(a, str | dict))
    datasets = [d for d in ms.get("datasets") or [] if isinstance(d, dict) and "path" in d]
    n = len(axes)
    wide = _scale(ms.get("coordinateTransformations"), n) if n else None
    scales: list[tuple[float, ...] | None] = []
    for d in datasets:
        own = _scale(d.get("coordinateTransformations"), n) if n else None
        if own is None and wide is None:
            scales.append(None)
        else:
            own, w = own or [1.0] * n, wide or [1.0] * n
            scales.append(tuple(a * b for a, b in zip(own, w, strict=True)))
    return Multiscale(axes, tuple(str(d["path"]) for d in datasets), tuple(scales))


def _channels(omero: Any) -> tuple[OmeroChannel, ...]:
    out = []
    for ch in (omero.get("channels") or []) if isinstance(omero, dict) else []:
        if not isinstance(ch, dict):
            out.append(OmeroChannel(None, None))
            continue
        color = str(ch.get("color") or "").removeprefix("#").upper()
        out.append(OmeroChannel(str(ch["label"]) if ch.get("label") else None,
                                color if _HEX.match(color) else None))
    return tuple(out)


def read_image(path: str | os.PathLike[str]) -> ImageMeta:
    """``multiscales`` (first entry) and ``omero`` channels of the image group at ``path``.

    A missing group or missing metadata gives ``ImageMeta(None, ())``.
    """
    found = group_attrs(path)
    attrs = found[0] if found else {}
    mss = attrs.get("multiscales")
    first = mss[0] if isinstance(mss, list) and mss and isinstance(mss[0], dict) else None
    return ImageMeta(_multiscale(first) if first is not None else None, _channels(attrs.get("omero")))
