"""OME-Zarr HCS plates (NGFF 0.4 on zarr v2, 0.5 on zarr v3) as input.

Only metadata is read, through zarr-python: the plate's well list, name and
rows × columns, each well's field list and the first field's array metadata
(shape, dtype, axes with units, ``coordinateTransformations`` scale, ``omero``
channel labels and colours).
Image paths are ``<store>/A01_s1_w1_z1.tif``; the zarr backend resolves them
to plate/row/column/field and the ``(c, z)`` plane. Sites follow the backend's
rule: field folders named ``0, 1, ...`` are sites ``1, 2, ...``, other names
are numbered in the order the well metadata lists them.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from openhcs_gui.constants import Backend
from openhcs_gui.errors import PlateError
from openhcs_gui.metadata import ChannelInfo, PlateGeometry, PlateMetadata, row_index
from openhcs_gui.plates._headers import timepoints_warning
from openhcs_gui.plates.model import PlateIndex
from openhcs_gui.vfs.keys import ImageKey, well_name

__all__ = ["is_zarr_store", "read_plate_attrs", "index_omezarr"]

_DIGITS = re.compile(r"^\d+$")
_ROW = re.compile(r"^[A-Za-z]{1,2}$")
_UM = {"micrometer": 1.0, "nanometer": 1e-3, "millimeter": 1e3, "centimeter": 1e4, "meter": 1e6}
_HEX = re.compile(r"^[0-9A-F]{6}$")


def is_zarr_store(path: Path) -> bool:
    """True when ``path`` is a zarr group folder (v2 ``.zgroup`` or v3 ``zarr.json``)."""
    return (path / ".zgroup").is_file() or (path / "zarr.json").is_file()


def _attrs(group: Any) -> dict[str, Any]:
    """Group attributes with NGFF 0.5's ``"ome"`` wrapper removed."""
    attrs = dict(group.attrs)
    ome = attrs.get("ome")
    return dict(ome) if isinstance(ome, dict) else attrs


def _open_group(path: Path, sub: str = "") -> Any:
    import zarr

    try:
        root = zarr.open_group(str(path), mode="r")
        return root[sub] if sub else root
    except Exception as e:  # zarr raises several types for missing/corrupt metadata
        where = f"{path}/{sub}" if sub else str(path)
        raise PlateError(f"Cannot open the zarr group {where}: {e}.") from e


def read_plate_attrs(path: Path) -> dict[str, Any] | None:
    """The store's ``plate`` metadata, or ``None`` when it is not an HCS plate."""
    plate = _attrs(_open_group(path)).get("plate")
    return plate if isinstance(plate, dict) else None


def _well_names(plate: dict[str, Any], warnings: list[str]) -> list[tuple[str, str]]:
    rows = [str(r["name"]) for r in plate.get("rows", [])]
    cols = [str(c["name"]) for c in plate.get("columns", [])]
    out: list[tuple[str, str]] = []
    for w in plate.get("wells", []):
        path = str(w.get("path", ""))
        ri, ci = w.get("rowIndex"), w.get("columnIndex")
        if ri is not None and ci is not None and ri < len(rows) and ci < len(cols):
            r, c = rows[ri], cols[ci]
        else:
            r, _, c = path.partition("/")
        if not (_ROW.match(r) and _DIGITS.match(c)):
            warnings.append(f"well {path!r} ignored: row/column {r!r}/{c!r} is not like A/1")
            continue
        out.append((well_name(r.upper(), int(c)), path))
    return out


def _field_sites(well_attrs: dict[str, Any]) -> list[tuple[int, str]]:
    paths = [str(img["path"]) for img in well_attrs.get("well", {}).get("images", [])]
    by_name = all(_DIGITS.match(p) for p in paths)
    return [(int(p) + 1 if by_name else i + 1, p) for i, p in enumerate(paths)]


def _first_array(path: Path, image_path: str) -> tuple[Any, list[str], dict[str, Any]]:
    """``(array, axis names, image attrs)`` of a field's full-resolution dataset."""
    group = _open_group(path, image_path)
    attrs = _attrs(group)
    ms = (attrs.get("multiscales") or [{}])[0]
    dataset = str((ms.get("datasets") or [{"path": "0"}])[0]["path"])
    try:
        array = group[dataset]
    except Exception as e:
        raise PlateError(f"Cannot open the image array {path}/{image_path}/{dataset}: {e}.") from e
    axes = [a if isinstance(a, str) else str(a.get("name")) for a in ms.get("axes", [])]
    if len(axes) != array.ndim:
        axes = ["t", "c", "z", "y", "x"][-array.ndim:]
    return array, axes, attrs


def _scale(ms: dict[str, Any], n: int) -> list[float] | None:
    """Full-resolution scale per axis: the first dataset's ``scale`` times the multiscale-wide one."""
    scale = [1.0] * n
    found = False
    datasets = ms.get("datasets") or [{}]
    for transforms in (datasets[0].get("coordinateTransformations", []),
                       ms.get("coordinateTransformations", [])):
        for tr in transforms or []:
            if isinstance(tr, dict) and tr.get("type") == "scale" and len(tr.get("scale", [])) == n:
                scale = [a * float(b) for a, b in zip(scale, tr["scale"], strict=True)]
                found = True
    return scale if found else None


def _physical(attrs: dict[str, Any], axes: list[str]) -> dict[str, Any]:
    """Pixel size, z spacing (in the x axis' unit) and time step from ``multiscales``; known values only."""
    ms = (attrs.get("multiscales") or [{}])[0]
    raw = ms.get("axes", [])
    if len(raw) != len(axes) or not all(isinstance(a, dict) for a in raw):
        return {}
    units = {name: a.get("unit") for name, a in zip(axes, raw, strict=True)}
    scale = _scale(ms, len(axes))
    unit = units.get("x")
    if scale is None or unit not in _UM:
        return {}
    size = dict(zip(axes, scale, strict=True))
    out: dict[str, Any] = {"unit": unit, "pixel_size_x": size["x"], "pixel_size_y": size.get("y")}
    if units.get("y") not in (None, unit) and units["y"] in _UM:
        out["pixel_size_y"] = size["y"] * _UM[units["y"]] / _UM[unit]
    if "z" in size and units.get("z") in _UM:
        out["z_spacing"] = size["z"] * _UM[units["z"]] / _UM[unit]
    if "t" in size and units.get("t"):
        out["time_interval"], out["time_unit"] = size["t"], units["t"]
    return out


def _channels(attrs: dict[str, Any], n_c: int) -> dict[int, ChannelInfo]:
    """``omero`` channel labels and colours (``RRGGBB``) for channels ``1..n_c``."""
    out: dict[int, ChannelInfo] = {}
    for i, ch in enumerate((attrs.get("omero") or {}).get("channels", [])[:n_c]):
        if not isinstance(ch, dict):
            continue
        label = str(ch["label"]) if ch.get("label") else None
        color = str(ch.get("color") or "").removeprefix("#").upper()
        info = ChannelInfo(name=label, color=color if _HEX.match(color) else None)
        if info != ChannelInfo():
            out[i + 1] = info
    return out


def _metadata(plate: dict[str, Any], attrs: dict[str, Any], axes: list[str],
              size: dict[str, int]) -> PlateMetadata:
    name = plate.get("name")
    return PlateMetadata(
        plate_name=str(name) if name else None,
        channels=_channels(attrs, size.get("c", 1)),
        timepoints=tuple(range(1, size.get("t", 1) + 1)),
        geometry=_geometry(plate),
        **_physical(attrs, axes),
    )


def _geometry(plate: dict[str, Any]) -> PlateGeometry | None:
    """Rows × columns the plate's ``rows``/``columns`` lists name (``A``..``P`` × ``1``..``24``).

    Taken from the names, not the list lengths, so a writer that lists only
    the rows it used still gives a plate that holds every well.
    """
    try:
        rows = [row_index(str(r["name"]).upper()) + 1 for r in plate.get("rows") or []]
        cols = [int(str(c["name"])) for c in plate.get("columns") or []]
    except (KeyError, TypeError, ValueError):
        return None
    return PlateGeometry(max(rows), max(cols)) if rows and cols and min(cols) > 0 else None


def _plate_name(root: Path) -> str:
    """Folder-safe plate name: the store's stem, or its folder's for a generic store name.

    ``plate1.zarr`` -> ``plate1``; ``demo_workspace/step3_final/images.zarr`` ->
    ``demo_step3_final``; ``plate1/images.zarr`` -> ``plate1``.
    """
    stem = root.name.removesuffix(".zarr")
    parent = root.parent
    if parent.name.startswith("step") and parent.parent.name.endswith("_workspace"):
        return f"{parent.parent.name.removesuffix('_workspace')}_{parent.name}"
    return parent.name if stem == "images" and parent.name else stem


def index_omezarr(store: str | os.PathLike[str], warnings: list[str] | None = None) -> PlateIndex:
    """Index an OME-Zarr HCS plate from its metadata; no pixel chunk is read.

    Raises
    ------
    PlateError
        When the store has no plate metadata (e.g. a single OME-Zarr image)
        or its arrays cannot be opened.
    """
    root = Path(store).absolute()
    warnings = list(warnings or [])
    plate = read_plate_attrs(root)
    if plate is None:
        raise PlateError(f"{root} is a zarr store but not an OME-Zarr HCS plate (no 'plate' metadata).")
    wells = _well_names(plate, warnings)
    if not wells:
        raise PlateError(f"No images found in {root}: its plate metadata lists no wells.")
    first: tuple[Any, list[str], dict[str, Any]] | None = None
    fields: list[tuple[str, int]] = []
    for name, wpath in wells:
        sites = _field_sites(_attrs(_open_group(root, wpath)))
        if not sites:
            warnings.append(f"well {name} lists no fields and is skipped")
        if first is None and sites:
            first = _first_array(root, f"{wpath}/{sites[0][1]}")
        fields.extend((name, site) for site, _ in sites)
    if first is None:
        raise PlateError(f"No images found in {root}: no well lists a field.")
    array, axes, attrs = first
    size = dict(zip(axes, array.shape, strict=True))
    if size.get("t", 1) > 1:
        warnings.append(timepoints_warning(list(range(1, size["t"] + 1)), "the first (t=0)"))
    n_c, n_z = size.get("c", 1), size.get("z", 1)
    images = {
        key: f"{root.as_posix()}/{key.filename()}"
        for well, site in fields
        for c in range(1, n_c + 1)
        for z in range(1, n_z + 1)
        for key in [ImageKey(well, site, c, z)]
    }
    plate_name = _plate_name(root)
    return PlateIndex.build(
        root,
        "omezarr",
        images,
        (array.shape[-2], array.shape[-1]),
        array.dtype,
        name=plate_name,
        backend=Backend.ZARR,
        metadata=_metadata(plate, attrs, axes, size),
        warnings=warnings,
    )
