"""OME-NGFF metadata for the zarr backend: build plate/well/image attributes, read/write groups.

Everything here is pure data in, JSON out, so the backend computes plate and
well metadata from its in-memory registry of what it wrote (never by listing
the store) and writes it in one small file per group. NGFF 0.4 lives in zarr
v2 ``.zattrs`` with a ``version`` inside each object; NGFF 0.5 lives under the
``ome`` key of a zarr v3 ``zarr.json`` with the version there.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from openhcs_gui.metadata import PlateGeometry, PlateMetadata, row_index, row_name
from openhcs_gui.vfs._physical import space_unit
from openhcs_gui.vfs._zarr_array import atomic_write, read_json

__all__ = [
    "write_group",
    "ensure_group",
    "read_group",
    "plate_attrs",
    "well_attrs",
    "image_attrs",
    "physical_axes",
    "multiscale_datasets",
    "time_unit",
    "row_name",
    "row_index",
    "DEFAULT_COLORS",
]

#: Channel colours in the order microscopists expect (DAPI blue, GFP green, ...).
DEFAULT_COLORS = ("0000FF", "00FF00", "FF0000", "FF00FF", "00FFFF", "FFFF00", "FFFFFF")


_ZGROUP = b'{\n    "zarr_format": 2\n}'


def write_group(path: str, attrs: Mapping[str, Any], zarr_format: int) -> None:
    """Write a zarr group with NGFF ``attrs`` (atomically; folders created as needed).

    For zarr v3 the attributes go under ``"ome"`` with ``"version": "0.5"``.
    """
    if zarr_format == 2:
        ensure_group(path, zarr_format)
        atomic_write(os.path.join(path, ".zattrs"), json.dumps(attrs).encode())
        return
    doc = {
        "zarr_format": 3,
        "node_type": "group",
        "attributes": {"ome": {"version": "0.5", **attrs}} if attrs else {},
    }
    atomic_write(os.path.join(path, "zarr.json"), json.dumps(doc).encode())


def ensure_group(path: str, zarr_format: int) -> None:
    """Make ``path`` a zarr v2 group (``.zgroup``) if it is not one yet.

    v3 groups keep their attributes in the same ``zarr.json``, so they are
    only written with their attributes (:func:`write_group`).
    """
    if zarr_format == 2:
        zgroup = os.path.join(path, ".zgroup")
        if not os.path.exists(zgroup):
            atomic_write(zgroup, _ZGROUP)


def read_group(path: str) -> tuple[dict[str, Any], int] | None:
    """(NGFF attributes, zarr format) of the group at ``path``, or ``None`` if no group.

    The v3 ``ome`` namespace is unwrapped, so callers see ``plate``/``well``/
    ``multiscales`` at the top level for both versions.
    """
    meta = read_json(os.path.join(path, "zarr.json"))
    if meta is not None:
        if meta.get("node_type") != "group":
            return None
        attrs = meta.get("attributes") or {}
        return dict(attrs.get("ome", attrs)), 3
    if not os.path.exists(os.path.join(path, ".zgroup")):
        return None
    return read_json(os.path.join(path, ".zattrs")) or {}, 2


def _versioned(body: dict[str, Any], version: str) -> dict[str, Any]:
    return {**body, "version": version} if version == "0.4" else body


def plate_attrs(
    name: str, wells: Iterable[tuple[int, int, str]], field_count: int, version: str,
    geometry: PlateGeometry | None = None,
) -> dict[str, Any]:
    """``plate`` attributes for wells given as 0-based ``(row, column, path)``.

    Rows run ``A``.. and columns ``1``.. (not zero-padded, as ome-zarr-py
    writes them) over the physical plate (``geometry``) when it is known, else
    up to the last used row/column, so a viewer that tiles the plate
    (napari-ome-zarr) lays wells out where they sit on the real plate.
    """
    cells = sorted(set(wells))
    n_rows = max((r for r, _, _ in cells), default=-1) + 1
    n_cols = max((c for _, c, _ in cells), default=-1) + 1
    if geometry is not None:
        n_rows, n_cols = max(n_rows, geometry.rows), max(n_cols, geometry.columns)
    body: dict[str, Any] = {
        "name": name,
        "rows": [{"name": row_name(r)} for r in range(n_rows)],
        "columns": [{"name": str(c + 1)} for c in range(n_cols)],
        "wells": [{"path": p, "rowIndex": r, "columnIndex": c} for r, c, p in cells],
        "field_count": max(field_count, 1),
    }
    # 0.5 keeps a plate-level version too, as ome-zarr-py writes it
    # (ome-zarr-models issue 218); well and multiscales drop theirs.
    return {"plate": {**body, "version": version}}


def well_attrs(field_paths: Sequence[str], version: str) -> dict[str, Any]:
    """``well`` attributes listing the well's fields (image groups) in order."""
    return {"well": _versioned({"images": [{"path": p} for p in field_paths]}, version)}


#: NGFF time unit names; instrument spellings map onto them.
_TIME_UNITS = {
    "attosecond", "centisecond", "day", "decisecond", "exasecond", "femtosecond", "gigasecond",
    "hectosecond", "hour", "kilosecond", "megasecond", "microsecond", "millisecond", "minute",
    "nanosecond", "petasecond", "picosecond", "second", "terasecond", "yoctosecond",
    "yottasecond", "zeptosecond", "zettasecond",
}
_TIME_ALIASES = {"s": "second", "sec": "second", "seconds": "second", "ms": "millisecond",
                 "min": "minute", "minutes": "minute", "h": "hour", "hours": "hour"}


def time_unit(meta: PlateMetadata | None) -> str | None:
    """The NGFF name of ``meta``'s time unit, or ``None`` when unknown."""
    if meta is None or meta.time_unit is None:
        return None
    text = meta.time_unit.strip().lower()
    unit = _TIME_ALIASES.get(text, text)
    return unit if unit in _TIME_UNITS else None


def physical_axes(
    meta: PlateMetadata | None, timed: bool = False,
) -> tuple[list[dict[str, Any]], list[float]]:
    """``([t,] c, z, y, x)`` axes and full-resolution scale from ``meta``.

    A size that is not recorded gets scale 1 and no unit, so a viewer shows
    pixels, never an invented 1 µm. The ``t`` axis (``timed``) gets the time
    interval as its scale and the time unit when they are known.
    """
    unit = space_unit(meta)
    px = meta.pixel_size_x if meta is not None else None
    py = (meta.pixel_size_y or px) if meta is not None else None
    dz = meta.z_spacing if meta is not None else None
    axes: list[dict[str, Any]] = []
    scale: list[float] = []
    if timed:
        t_axis: dict[str, Any] = {"name": "t", "type": "time"}
        dt = meta.time_interval if meta is not None else None
        t_unit = time_unit(meta)
        if t_unit is not None:
            t_axis["unit"] = t_unit
        axes.append(t_axis)
        scale.append(float(dt) if dt is not None and dt > 0 and t_unit is not None else 1.0)
    axes.append({"name": "c", "type": "channel"})
    scale.append(1.0)
    for name, size in (("z", dz), ("y", py), ("x", px)):
        axis: dict[str, Any] = {"name": name, "type": "space"}
        known = size is not None and size > 0
        if known and unit is not None:
            axis["unit"] = unit
        axes.append(axis)
        scale.append(float(size) if known and size is not None else 1.0)
    return axes, scale


def multiscale_datasets(scale: Sequence[float], levels: int) -> list[dict[str, Any]]:
    """``datasets`` of a pyramid: path ``"i"``, ``y``/``x`` scale doubled per level."""
    out = []
    for i in range(levels):
        s = [*scale[:-2], scale[-2] * 2 ** i, scale[-1] * 2 ** i]
        out.append({"path": str(i), "coordinateTransformations": [{"type": "scale", "scale": s}]})
    return out


def image_attrs(
    name: str,
    n_channels: int,
    dtype: np.dtype[Any],
    ranges: Mapping[int, tuple[float, float]],
    labels: Mapping[int, str],
    version: str,
    omero: bool = True,
    meta: PlateMetadata | None = None,
    levels: int = 1,
    timed: bool = False,
    method: str = "mean",
) -> dict[str, Any]:
    """``multiscales`` (+ ``omero``) attributes of one field image ``([t,] c, z, y, x)``.

    ``levels`` pyramid levels are listed (``"0"`` full resolution, each next
    one half the size in ``y`` and ``x``, made by ``method``: ``"mean"`` or
    ``"nearest"`` for labels); ``timed`` adds a leading ``t`` axis.

    ``ranges`` maps a 0-based channel to the (min, max) of its data and
    becomes the display window; ``labels`` maps 0-based channels to names and
    wins over the channel names of ``meta``, which also gives colours, axis
    units and the pixel scale. A channel without a recorded name has no label.
    """
    axes, scale = physical_axes(meta, timed)
    multiscale: dict[str, Any] = {
        "name": name,
        "axes": axes,
        "datasets": multiscale_datasets(scale, levels),
    }
    if levels > 1:
        multiscale["type"] = method
    attrs: dict[str, Any] = {"multiscales": [_versioned(multiscale, version)]}
    if not omero:
        return attrs
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        full = (float(info.min), float(info.max))
    elif dtype == np.bool_:
        full = (0.0, 1.0)
    else:
        full = None
    channels = []
    for c in range(n_channels):
        lo, hi = ranges.get(c, full or (0.0, 1.0))
        hi = hi if hi > lo else lo + 1
        lo_full, hi_full = full if full is not None else (min(lo, 0.0), hi)
        info_c = meta.channels.get(c + 1) if meta is not None else None
        color = info_c.color if info_c is not None and info_c.color else (
            DEFAULT_COLORS[c % len(DEFAULT_COLORS)] if n_channels > 1 else "FFFFFF")
        channel: dict[str, Any] = {
            "color": color.lstrip("#").upper(),
            "active": True,
            "coefficient": 1.0,
            "family": "linear",
            "inverted": False,
            "window": {"min": lo_full, "max": max(hi_full, hi), "start": lo, "end": hi},
        }
        label = labels.get(c) or (info_c.name if info_c is not None else None)
        if label:
            channel = {"label": label, **channel}
        channels.append(channel)
    body = {"name": name, "channels": channels,
            "rdefs": {"model": "color" if n_channels > 1 else "greyscale", "defaultZ": 0,
                      "defaultT": 0}}
    attrs["omero"] = _versioned(body, version)
    return attrs
