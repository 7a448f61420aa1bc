"""OME-Zarr HCS plates (NGFF 0.4 on zarr v2, 0.5 on zarr v3) as input.

Only metadata is read, through :mod:`openhcs_gui.vfs.ngff_read`: the plate's well list, name and
rows × columns, each well's field list and the first field's array metadata
(shape, dtype, axes with units, ``coordinateTransformations`` scale, ``omero``
channel labels and colours).
Image paths are ``<store>/A01_s1_w1_z1.tif`` (``..._z1_t2.tif`` when the
arrays have a ``t`` axis longer than 1: every time point is indexed); the zarr
backend resolves them to plate/row/column/field and the ``(t, c, z)`` plane. Sites follow the backend's
rule: field folders named ``0, 1, ...`` are sites ``1, 2, ...``, other names
are numbered in the order the well metadata lists them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from openhcs_gui.constants import Backend
from openhcs_gui.errors import PlateError, StorageError
from openhcs_gui.metadata import ChannelInfo, PlateGeometry, PlateMetadata, row_index
from openhcs_gui.plates.model import PlateIndex
from openhcs_gui.vfs.keys import ImageKey, names_with_time
from openhcs_gui.vfs.ngff_read import (
    DEFAULT_AXES,
    ImageMeta,
    PlateMeta,
    group_attrs,
    read_image,
    read_plate,
    read_well_fields,
)

__all__ = ["is_zarr_store", "read_plate_attrs", "index_omezarr"]

_UM = {"micrometer": 1.0, "nanometer": 1e-3, "millimeter": 1e3, "centimeter": 1e4, "meter": 1e6}


def is_zarr_store(path: Path) -> bool:
    """True when ``path`` is a zarr group folder (v2 ``.zgroup`` or v3 ``zarr.json``)."""
    return (path / ".zgroup").is_file() or (path / "zarr.json").is_file()


def _ngff(call: Any, path: Path, *args: Any) -> Any:
    """Run an :mod:`~openhcs_gui.vfs.ngff_read` call; unreadable metadata is a :class:`PlateError`."""
    try:
        return call(path, *args)
    except StorageError as e:
        raise PlateError(str(e)) from e


def read_plate_attrs(path: Path) -> dict[str, Any] | None:
    """The store's ``plate`` metadata, or ``None`` when it is not an HCS plate."""
    found = _ngff(group_attrs, path)
    plate = found[0].get("plate") if found else None
    return plate if isinstance(plate, dict) else None


def _first_array(path: Path, image_path: str) -> tuple[Any, tuple[str, ...], ImageMeta]:
    """``(array, axis names, image metadata)`` of a field's full-resolution dataset."""
    import zarr

    image_dir = path / image_path
    meta: ImageMeta = _ngff(read_image, image_dir)
    where = f"{path}/{image_path}/{meta.dataset}"
    try:
        array = zarr.open_array(str(image_dir / meta.dataset), mode="r")
    except Exception as e:  # zarr raises several types for missing/corrupt metadata
        raise PlateError(f"Cannot open the image array {where}: {e}.") from e
    names = meta.multiscale.axis_names(array.ndim) if meta.multiscale else DEFAULT_AXES[-array.ndim:]
    return array, names, meta


def _physical(meta: ImageMeta, axes: tuple[str, ...]) -> dict[str, Any]:
    """Pixel size, z spacing (in the x axis' unit) and time step from ``multiscales``; known values only."""
    ms = meta.multiscale
    if ms is None or len(ms.axes) != len(axes) or not ms.scales or ms.scales[0] is None:
        return {}
    units = {a.name: a.unit or "" for a in ms.axes}
    unit = units.get("x", "")
    if unit not in _UM:
        return {}
    size = dict(zip(axes, ms.scales[0], strict=True))
    out: dict[str, Any] = {"unit": unit, "pixel_size_x": size["x"], "pixel_size_y": size.get("y")}
    y_unit, z_unit, t_unit = units.get("y", ""), units.get("z", ""), units.get("t", "")
    if y_unit not in ("", unit) and y_unit in _UM:
        out["pixel_size_y"] = size["y"] * _UM[y_unit] / _UM[unit]
    if "z" in size and z_unit in _UM:
        out["z_spacing"] = size["z"] * _UM[z_unit] / _UM[unit]
    if "t" in size and t_unit:
        out["time_interval"], out["time_unit"] = size["t"], t_unit
    return out


def _channels(meta: ImageMeta, n_c: int) -> dict[int, ChannelInfo]:
    """``omero`` channel labels and colours (``RRGGBB``) for channels ``1..n_c``."""
    out: dict[int, ChannelInfo] = {}
    for i, ch in enumerate(meta.channels[:n_c]):
        info = ChannelInfo(name=ch.label, color=ch.color)
        if info != ChannelInfo():
            out[i + 1] = info
    return out


def _metadata(plate: PlateMeta, meta: ImageMeta, axes: tuple[str, ...],
              size: dict[str, int]) -> PlateMetadata:
    return PlateMetadata(
        plate_name=plate.name,
        channels=_channels(meta, size.get("c", 1)),
        timepoints=tuple(range(1, size.get("t", 1) + 1)),
        geometry=_geometry(plate),
        **_physical(meta, axes),
    )


def _geometry(plate: PlateMeta) -> PlateGeometry | None:
    """Rows × columns the plate's ``rows``/``columns`` lists name (``A``..``P`` × ``1``..``24``).

    Taken from the names, not the list lengths, so a writer that lists only
    the rows it used still gives a plate that holds every well.
    """
    try:
        rows = [row_index(r.upper()) + 1 for r in plate.rows]
        cols = [int(c) for c in plate.columns]
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
    plate: PlateMeta | None = _ngff(read_plate, root)
    if plate is None:
        raise PlateError(f"{root} is a zarr store but not an OME-Zarr HCS plate (no 'plate' metadata).")
    warnings.extend(plate.skipped)
    if not plate.wells:
        raise PlateError(f"No images found in {root}: its plate metadata lists no wells.")
    first: tuple[Any, tuple[str, ...], ImageMeta] | None = None
    fields: list[tuple[str, int]] = []
    for well in plate.wells:
        sites = _ngff(read_well_fields, root / well.path)
        if not sites:
            warnings.append(f"well {well.name} lists no fields and is skipped")
        if first is None and sites:
            first = _first_array(root, f"{well.path}/{sites[0][1]}")
        fields.extend((well.name, site) for site, _ in sites)
    if first is None:
        raise PlateError(f"No images found in {root}: no well lists a field.")
    array, axes, meta = first
    size = dict(zip(axes, array.shape, strict=True))
    n_c, n_z, n_t = size.get("c", 1), size.get("z", 1), size.get("t", 1)
    with_time = names_with_time(n_t)
    images = {
        key: f"{root.as_posix()}/{key.filename(with_time=with_time)}"
        for well, site in fields
        for t in range(1, n_t + 1)
        for c in range(1, n_c + 1)
        for z in range(1, n_z + 1)
        for key in [ImageKey(well, site, c, z, t)]
    }
    return PlateIndex.build(
        root,
        "omezarr",
        images,
        (array.shape[-2], array.shape[-1]),
        array.dtype,
        name=_plate_name(root),
        backend=Backend.ZARR,
        metadata=_metadata(plate, meta, axes, size),
        warnings=warnings,
    )
