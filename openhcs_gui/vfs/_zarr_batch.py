"""Batch writes of :class:`~openhcs_gui.vfs.zarr_store.ZarrBackend` (a mixin).

One call groups its planes by field, takes the field locks in one order,
prepares every field array (created, grown, given a ``t`` axis), runs the
chunk jobs - full resolution, pyramid levels and label links - on the worker
pool while the caller's thread writes array metadata and empty groups, and
then writes field, well and plate metadata. Split from ``zarr_store`` so that
module keeps the backend's registry, metadata, close and deletion.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from openhcs_gui.config import ZarrConfig
from openhcs_gui.errors import OpenHCSError, UnsupportedFormatError
from openhcs_gui.metadata import PlateMetadata, row_index
from openhcs_gui.vfs._zarr_labels import check_labels, label_name
from openhcs_gui.vfs._zarr_meta import ensure_group
from openhcs_gui.vfs._zarr_plate import FieldState, PlateState, WellState
from openhcs_gui.vfs._zarr_write import FieldWrite, prepare_field, run_chunk
from openhcs_gui.vfs.base import PathLike, long_component, name_too_long, write_error
from openhcs_gui.vfs.keys import ImageKey, is_labels_name, split_well

__all__ = ["ZarrWrites", "os_path"]

T = TypeVar("T")
R = TypeVar("R")
Plane = tuple[int, int, int]
FieldKey = tuple[str, str, int]  # (store, well, site)
Entry = tuple[PlateState, FieldKey, FieldState, dict[Plane, np.ndarray]]


class ZarrWrites:
    """``save``/``save_batch`` machinery; mixed into ``ZarrBackend``.

    The backend provides the registry (``_plate``), key parsing (``_image``,
    ``_fs``), the worker pool (``_map``) and the metadata writers.
    """

    root: str
    config: ZarrConfig
    plate_metadata: PlateMetadata | None

    if TYPE_CHECKING:  # provided by ZarrBackend / StorageBackend
        def _fs(self, key: str) -> str: ...

        def _image(self, path: PathLike) -> tuple[str, str, ImageKey]: ...

        def _plate(self, store: str, create: bool) -> PlateState | None: ...

        def _map(self, fn: Callable[[T], R], items: Sequence[T],
                 beside: Callable[[], None] | None = None) -> list[R]: ...

        def _check_writable(self) -> None: ...

        def _write_image_attrs(self, plate: PlateState, state: FieldState) -> None: ...

        def _write_plate_attrs(self, plate: PlateState, rebuild: bool = False) -> None: ...

    def _write(self, items: list[tuple[Any, PathLike]], overwrite: bool, batch: bool) -> None:
        self._check_writable()
        try:
            self._write_items(items, overwrite, batch)
        except OSError as e:
            if isinstance(e, OpenHCSError):
                raise
            raise write_error(e, os_path(e, self.root), partial=True) from e

    def _timed_plate(self) -> bool:
        """True when the plate being written has more than one time point (arrays get ``t``)."""
        meta = self.plate_metadata
        return meta is not None and len(meta.timepoints) > 1

    def _write_items(self, items: list[tuple[Any, PathLike]], overwrite: bool, batch: bool) -> None:
        groups: dict[FieldKey, dict[Plane, np.ndarray]] = {}
        names: dict[FieldKey, dict[Plane, str]] = {}
        labelled: set[FieldKey] = set()
        for data, path in items:
            key, store, ik = self._image(path)
            part = long_component(key)
            if part is not None:
                raise name_too_long(self._fs(key), part)
            plane = (ik.t - 1, ik.channel - 1, ik.z - 1)
            fk = (store, ik.well, ik.site)
            groups.setdefault(fk, {})[plane] = _as_plane(data, key)
            names.setdefault(fk, {})[plane] = key
            if is_labels_name(key):
                labelled.add(fk)
        for fk in labelled:  # refused before anything is registered or written
            check_labels(groups[fk], names[fk])
        timed = self._timed_plate()
        fields: list[Entry] = []
        for fk, planes in groups.items():
            plate = self._plate(fk[0], create=True)
            assert plate is not None
            fields.append((plate, fk, self._field_for_write(plate, fk[1], fk[2]), planes))
        fields.sort(key=lambda f: f[2].path)  # one lock order: no deadlock between batches
        held: list[FieldState] = []
        writes: list[FieldWrite] = []
        try:
            for plate, fk, state, planes in fields:
                if state not in held:
                    state.lock.acquire()
                    held.append(state)
                lname = label_name(plate.path) if fk in labelled else None
                writes.append(prepare_field(
                    state, planes, self.config, plate.zarr_format, overwrite, names[fk],
                    timed=timed or any(p[0] for p in planes), label_name=lname))
            chunks = [c for w in writes for c in w.chunks]
            stats = self._map(run_chunk, chunks, beside=lambda: self._beside_chunks(fields, writes))
            for w in writes:
                w.commit([s for c, s in zip(chunks, stats, strict=True) if c.owner is w])
            for (plate, _fk, state, _planes) in fields:
                plate.add_ranges(state.ranges)
        finally:
            try:  # a field prepared before an error still gets its array metadata
                self._write_structure(fields, writes)
            finally:
                for state in held:
                    state.lock.release()
        for (plate, _fk, state, _planes), w in zip(fields, writes, strict=True):
            if batch or w.structure:
                self._write_image_attrs(plate, state)
        for plate in {id(f[0]): f[0] for f in fields}.values():
            self._write_plate_attrs(plate)

    def _beside_chunks(self, fields: list[Entry], writes: list[FieldWrite]) -> None:
        """Caller-thread work that needs no chunk result, done while the pool encodes.

        Plate and well metadata list wells and fields from the registry, which
        :meth:`_field_for_write` already updated; they do not depend on pixel
        values. (If encoding then fails, the plate lists a field whose array
        exists without those chunks; it did so before too, from the next
        batch or ``close`` on.)
        """
        self._write_structure(fields, writes)
        for plate in {id(f[0]): f[0] for f in fields}.values():
            self._write_plate_attrs(plate)

    @staticmethod
    def _write_structure(fields: list[Entry], writes: list[FieldWrite]) -> None:
        """Array metadata (every level, label mirrors) and empty groups of new fields.

        Only structure goes here (no attributes that depend on the chunks'
        value ranges), so it can run beside the encoding pool. Idempotent;
        ``writes`` may be shorter than ``fields`` when preparing failed.
        """
        for (plate, _fk, state, _planes), w in zip(fields, writes, strict=False):
            if not w.new_metadata:
                continue
            w.write_structure()
            for group in (plate.path, os.path.dirname(os.path.dirname(state.path)),
                          os.path.dirname(state.path), state.path):
                ensure_group(group, plate.zarr_format)

    def _field_for_write(self, plate: PlateState, well: str, site: int) -> FieldState:
        """Registry entry for (well, site), created (with its groups) if new."""
        existing = plate.field_state(ImageKey(well, site, 1))
        if existing is not None:
            return existing
        with plate.lock:
            w = plate.wells.get(well)
            if w is None:
                row, col = split_well(well)
                w = WellState(f"{row}/{col}", row_index(row), col - 1)
                plate.wells[well] = w
                plate.dirty = True
            plate.written = True
            plate.deleted.discard(w.path)
            state = w.fields.get(site)
            if state is None:
                state = FieldState(os.path.join(plate.path, *w.path.split("/"), str(site - 1)))
                state.planes, state.ours = set(), True
                w.fields[site] = state
                w.dirty = True
                plate.dirty = True
            return state


def os_path(e: OSError, fallback: str) -> str:
    """The file an OS error is about, without our temp-file suffix."""
    name = e.filename if isinstance(e.filename, str) else fallback
    return _TMP_RE.sub("", name)


_TMP_RE = re.compile(r"\.\d+-\d+\.tmp$")


def _as_plane(data: Any, key: str) -> np.ndarray:
    arr = np.asarray(data)
    if arr.ndim != 2 or arr.dtype.hasobject or arr.size == 0:
        raise UnsupportedFormatError(
            f"The zarr backend stores 2-D numeric images; got {arr.dtype} {arr.shape} for '{key}'.")
    return arr
