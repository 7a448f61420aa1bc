"""Plate, well and field metadata of a zarr store: merged across processes, repaired at close.

Several processes may write disjoint wells into one store (a cluster run, two
runs sharing an output). Plate metadata is therefore never written from one
process's registry alone. Every plate metadata write holds an exclusive
``flock`` on ``<store>/.openhcs-lock`` and

- after a batch, *merges*: the wells the plate metadata on disk lists, plus
  the wells this process wrote, minus those it deleted. A reader sees a valid
  plate as soon as a batch returns, and one writer never drops another's wells;
- at close, *rebuilds* from the store itself: the ``row/column/field``
  folders are listed, any well or field group whose metadata is missing (a
  process killed between its chunks and its metadata, issue 12 item 7) is
  written, then the plate.

Why this is enough: the last process to close takes the lock last and lists
every well any process created before closing, so the final plate metadata
is complete whatever the interleaving. Without ``fcntl`` (Windows) the lock
is a no-op and only the close-time rebuild protects concurrent writers.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import numpy as np

from openhcs_gui.config import ZarrConfig
from openhcs_gui.metadata import PlateMetadata, row_index
from openhcs_gui.vfs._zarr_array import MissingChunkError, RawArray, open_plane_array
from openhcs_gui.vfs._zarr_labels import write_label_groups
from openhcs_gui.vfs._zarr_meta import (
    ensure_group,
    image_attrs,
    plate_attrs,
    read_group,
    well_attrs,
    write_group,
)
from openhcs_gui.vfs._zarr_plate import FieldState, PlateState

try:  # POSIX only
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

PMap = Callable[[Callable[[Any], Any], list[Any]], Any]


def _serial(fn: Callable[[Any], Any], items: list[Any]) -> None:
    for item in items:
        fn(item)


__all__ = ["LOCK_NAME", "scan_wells", "store_lock", "write_field_attrs", "write_plate_attrs"]

#: Lock file inside the store (zarr readers ignore names they do not know).
LOCK_NAME = ".openhcs-lock"
_DIGITS = re.compile(r"^\d+$")
_ROW = re.compile(r"^[A-Z]{1,2}$")


@contextlib.contextmanager
def store_lock(path: str) -> Iterator[None]:
    """Hold an exclusive lock on the store at ``path`` (across processes)."""
    if fcntl is None:  # pragma: no cover - Windows
        yield
        return
    lock_file = os.path.join(path, LOCK_NAME)
    try:
        fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o666)
    except FileNotFoundError:  # the store folder is made on first need only
        os.makedirs(path, exist_ok=True)
        fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


# ------------------------------------------------------------------ fields
def _field_name(plate: PlateState, field_path: str) -> str:
    row, col, fld = os.path.relpath(field_path, plate.path).split(os.sep)[-3:]
    return f"{row}{col.zfill(2)}_s{int(fld) + 1}" if fld.isdigit() else fld


def field_attrs(plate: PlateState, state: FieldState, config: ZarrConfig,
                meta: PlateMetadata | None) -> dict[str, Any]:
    """NGFF attributes of one field group (empty when OME metadata is switched off)."""
    if not config.ome_zarr_metadata or state.array is None:
        return {}
    labels = {c - 1: n for c, n in plate.channel_names.items()}
    state.shown = plate.window(state.ranges)
    c_axis = state.axes.index("c") if "c" in state.axes else None
    n_c = state.array.shape[c_axis] if c_axis is not None else 1
    return image_attrs(_field_name(plate, state.path), n_c, state.array.dtype,
                       state.shown, labels, plate.version, meta=meta, levels=state.levels,
                       timed="t" in state.axes,
                       method="nearest" if state.label_name else "mean")


def write_field_attrs(plate: PlateState, state: FieldState, config: ZarrConfig,
                      meta: PlateMetadata | None) -> None:
    """Write one field group's multiscales/omero attributes (cheap JSON) if it is ours.

    A field holding a label image also gets its ``labels/<name>`` metadata.
    """
    if not state.ours or state.array is None:
        return
    with state.lock:
        write_group(state.path, field_attrs(plate, state, config, meta), plate.zarr_format)
        if state.label_name is not None and config.ome_zarr_metadata:
            write_label_groups(state.path, state.label_name, plate.zarr_format, plate.version,
                               meta, state.levels, "t" in state.axes)
        state.dirty = False


def _disk_levels(path: str) -> int:
    """Consecutive pyramid levels ``0``, ``1``... with array metadata under the group ``path``."""
    n = 0
    while any(os.path.exists(os.path.join(path, str(n), f)) for f in (".zarray", "zarr.json")):
        n += 1
    return max(n, 1)


def _repair_field(plate: PlateState, path: str, config: ZarrConfig,
                  meta: PlateMetadata | None) -> None:
    """Write the missing attributes of a field written by an earlier (killed) process.

    Only arrays carrying our marker are repaired; the display window comes
    from the planes that are present, the levels from the arrays on disk.
    """
    array = open_plane_array(os.path.join(path, "0"))
    if not isinstance(array, RawArray) or len(array.shape) not in (4, 5):
        return
    axes = ("t", "c", "z", "y", "x") if len(array.shape) == 5 else ("c", "z", "y", "x")
    state = FieldState(path, array, axes, ours=True, levels=_disk_levels(path))
    labels_dir = os.path.join(path, "labels")
    names = [n for n in (os.listdir(labels_dir) if os.path.isdir(labels_dir) else [])
             if os.path.isdir(os.path.join(labels_dir, n))]
    state.label_name = names[0] if len(names) == 1 else None
    c_at = axes.index("c")
    for index in np.ndindex(*array.shape[:-2]):
        try:
            plane = array.read_plane(index)
        except MissingChunkError:
            continue
        if plane.dtype.kind == "f":
            plane = plane[np.isfinite(plane)]
        if plane.size:
            c = index[c_at]
            lo, hi = float(plane.min()), float(plane.max())
            old = state.ranges.get(c, (lo, hi))
            state.ranges[c] = (min(old[0], lo), max(old[1], hi))
    write_field_attrs(plate, state, config, meta)


def _plate_window(plate: PlateState, field_dirs: list[str], config: ZarrConfig,
                  meta: PlateMetadata | None, pmap: PMap) -> None:
    """Give every field's omero channels the display window of the whole plate.

    napari-ome-zarr shows a plate with its first field's window, which must
    therefore cover every well. The window is the union of this backend's
    data ranges and the windows of fields other processes (or earlier runs)
    wrote, each of which covers its own data. Only fields whose window
    changes are rewritten, on the backend's worker pool.
    """
    ours = {st.path: st for w in plate.wells.values() for st in w.fields.values()
            if st.ours and st.array is not None}
    docs: dict[str, dict[str, Any]] = {}
    for d in field_dirs:
        group = read_group(d) if d not in ours else None
        omero = group[0].get("omero") if group is not None else None
        if group is None or not isinstance(omero, dict):
            continue
        docs[d] = group[0]
        for c, ch in enumerate(omero.get("channels", [])):
            w = ch.get("window") or {}
            lo, hi = w.get("start"), w.get("end")
            if isinstance(lo, int | float) and isinstance(hi, int | float):
                plate.add_ranges({c: (float(lo), float(hi))})
    window = plate.window({})
    jobs: list[Callable[[], None]] = [
        partial(write_field_attrs, plate, st, config, meta)
        for st in ours.values() if st.shown != plate.window(st.ranges)]
    for d, attrs in docs.items():
        changed = False
        for c, ch in enumerate(attrs["omero"].get("channels", [])):
            w = ch.get("window")
            if c not in window or not isinstance(w, dict):
                continue
            lo, hi = window[c]
            if (w.get("start"), w.get("end")) != (lo, hi):
                w.update(start=lo, end=hi, min=min(w.get("min", lo), lo),
                         max=max(w.get("max", hi), hi))
                changed = True
        if changed:
            jobs.append(partial(write_group, d, attrs, plate.zarr_format))
    pmap(lambda job: job(), jobs)


# ------------------------------------------------------------------ plate
def _node_file(path: str, fmt: int) -> str:
    return os.path.join(path, ".zattrs" if fmt == 2 else "zarr.json")


def _is_field(path: str) -> bool:
    return any(os.path.exists(os.path.join(path, *p)) for p in (
        (".zgroup",), ("zarr.json",), ("0", ".zarray"), ("0", "zarr.json")))


def scan_wells(store: str) -> dict[str, list[str]]:
    """Well path (``"B/3"``) -> its field folder names, listed from the store's folders."""
    out: dict[str, list[str]] = {}
    try:
        rows = os.listdir(store)
    except FileNotFoundError:
        return out
    for r in rows:
        row_dir = os.path.join(store, r)
        if not _ROW.match(r) or not os.path.isdir(row_dir):
            continue
        for c in os.listdir(row_dir):
            well_dir = os.path.join(row_dir, c)
            if not _DIGITS.match(c) or not os.path.isdir(well_dir):
                continue
            fields = sorted((f for f in os.listdir(well_dir)
                             if _DIGITS.match(f) and _is_field(os.path.join(well_dir, f))), key=int)
            if fields:
                out[f"{r}/{c}"] = fields
    return out


def _disk_plate(path: str) -> tuple[set[tuple[int, int, str]], int]:
    """(row, column, path) of the wells the plate metadata on disk lists, and its field count."""
    group = read_group(path)
    plate = group[0].get("plate") if group is not None else None
    if not isinstance(plate, dict):
        return set(), 0
    rows = [r.get("name") for r in plate.get("rows", [])]
    cols = [c.get("name") for c in plate.get("columns", [])]
    cells = set()
    for w in plate.get("wells", []):
        try:
            r_name, c_name = rows[w["rowIndex"]], cols[w["columnIndex"]]
            cells.add((row_index(r_name), int(c_name) - 1, str(w["path"])))
        except (KeyError, IndexError, TypeError, ValueError):
            continue  # a well entry we cannot place is left out, not guessed
    return cells, int(plate.get("field_count") or 0)


def _cell(path: str) -> tuple[int, int, str]:
    r, c = path.split("/")
    return row_index(r), int(c) - 1, path


def _write_well(plate: PlateState, well_path: str, fields: list[str], meta_on: bool,
                only_if_changed: bool) -> None:
    well_dir = os.path.join(plate.path, *well_path.split("/"))
    attrs = well_attrs(fields, plate.version) if meta_on else {}
    if only_if_changed:
        group = read_group(well_dir)
        if group is not None and group[0].get("well") == attrs.get("well") and os.path.exists(
                _node_file(well_dir, plate.zarr_format)):
            return
    write_group(well_dir, attrs, plate.zarr_format)


def write_plate_attrs(plate: PlateState, config: ZarrConfig, meta: PlateMetadata | None, *,
                      rebuild: bool = False, pmap: PMap | None = None) -> None:
    """Write the plate, row and well groups (merged with other writers; see module doc).

    Parameters
    ----------
    plate
        The store's registry.
    config
        Decides whether plate/well/field metadata is written at all.
    meta
        Physical plate metadata (name, geometry, pixel sizes) or ``None``.
    rebuild
        List wells from the store, repair missing well/field metadata and
        give every field the plate-wide display window (at close); otherwise
        merge with the plate metadata on disk.
    pmap
        ``pmap(fn, items)`` runs ``fn`` over ``items`` (the backend's pool);
        serial when not given.
    """
    meta_on = config.write_plate_metadata
    with plate.lock:
        if not (rebuild or plate.dirty):
            return
        fmt = plate.zarr_format
        with store_lock(plate.path):
            ours: dict[str, list[str]] = {}  # wells this backend wrote into (dirty ones per batch)
            for w in plate.wells.values():
                if not (rebuild or w.dirty):
                    continue  # a batch restates only what it changed: O(wells) per run, not O(n²)
                if any(f.ours for f in w.fields.values()):  # else known from the plate on disk
                    ours[w.path] = [os.path.basename(w.fields[s].path) for s in sorted(w.fields)]
                    if not rebuild:
                        _write_well(plate, w.path, ours[w.path], meta_on, only_if_changed=False)
                w.dirty = False
            if rebuild:
                wells = scan_wells(plate.path)
                for path, fields in ours.items():
                    wells[path] = sorted(set(wells.get(path, [])) | set(fields), key=int)
                field_dirs = []
                for path, fields in wells.items():
                    _write_well(plate, path, fields, meta_on, only_if_changed=True)
                    for f in fields:
                        field_dir = os.path.join(plate.path, *path.split("/"), f)
                        field_dirs.append(field_dir)
                        if not os.path.exists(_node_file(field_dir, fmt)):
                            _repair_field(plate, field_dir, config, meta)
                if config.ome_zarr_metadata:
                    _plate_window(plate, field_dirs, config, meta, pmap or _serial)
                cells = {_cell(p) for p in wells if _ROW.match(p.split("/")[0])}
                field_count = max((len(f) for f in wells.values()), default=1)
            else:
                disk_cells, disk_fields = _disk_plate(plate.path)
                cells = {c for c in disk_cells if c[2] not in plate.deleted}
                cells |= {(w.row, w.column, w.path) for w in plate.wells.values()
                          if w.path in ours or w.path in plate.written_wells}
                plate.written_wells.update(ours)
                field_count = max([disk_fields, *(len(f) for f in ours.values())])
            for r in {c[2].split("/")[0] for c in cells}:
                # a row is a plain group (NGFF: no attributes), whoever creates it first: the
                # field writer's ``ensure_group`` or this (v2 wrote an empty .zattrs only when
                # this came first, so two runs of one plate differed by a file)
                row_dir = os.path.join(plate.path, r)
                if fmt == 2:
                    ensure_group(row_dir, fmt)
                elif not os.path.exists(os.path.join(row_dir, "zarr.json")):
                    write_group(row_dir, {}, fmt)
            attrs = plate_attrs(_plate_name(plate, meta), cells, field_count, plate.version,
                                geometry=meta.geometry if meta is not None else None) if meta_on else {}
            write_group(plate.path, attrs, fmt)
        plate.dirty = False


def _plate_name(plate: PlateState, meta: PlateMetadata | None) -> str:
    if meta is not None and meta.plate_name:
        return meta.plate_name
    return os.path.basename(os.path.dirname(plate.path)) or os.path.basename(plate.path)
