"""ZarrBackend: images as an OME-Zarr HCS plate (NGFF 0.4 / zarr v2 by default, 0.5 / v3).

A key ``<dir>/images.zarr/B03_s2_w1_z1.tif`` names one plane: the store
``<dir>/images.zarr`` is a plate, ``B03`` its well at ``B/3``, site 2 its
field ``1`` and channel/z the plane ``(c=0, z=0)`` of the field array
``B/3/1/0`` shaped ``(c, z, y, x)``. A store's "files" are its image names.
On a plate with more than one time point (``PlateMetadata.timepoints``, or a
key with ``_t<n>``, n > 1) field arrays are ``(t, c, z, y, x)`` and ``_t<n>``
is index ``n - 1``. Every field gets a multiscale pyramid (``ZarrConfig``
``pyramid_levels`` / ``pyramid_min_size``) computed while its chunks encode.
A key named ``B03_s2_w1_z1_labels.tif`` is a plane of a label image: written
to the field array and linked into the field's NGFF ``labels/<name>`` group
(see :mod:`openhcs_gui.vfs._zarr_labels`).

Why it is fast (issue 3, "Speed"): chunks are encoded with the numcodecs
codec on a thread pool (Blosc releases the GIL) and written as chunk files
directly, in the layout zarr-python reads; arrays are opened once per store
and kept; plate/well metadata is built from an in-memory registry of what was
written (guarded by a small per-plate lock that encoding never takes) and
written when a batch finishes and on :meth:`ZarrBackend.close`. Field locks
only serialize writers of the *same* field, so wells written from different
threads run in parallel.

Writes live in :mod:`openhcs_gui.vfs._zarr_batch` and
:mod:`openhcs_gui.vfs._zarr_write`, reads and listing in
:mod:`openhcs_gui.vfs._zarr_read`, metadata
writing (merged across processes, repaired at close) in
:mod:`openhcs_gui.vfs._zarr_flush`.

Limits: a store's listing shows the planes this backend wrote, or every plane
of an array it opened from disk; deleting one plane of a multi-plane chunk
(``WELL`` strategy) hides it from this instance but leaves its bytes.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any, TypeVar

from openhcs_gui.config import ZarrConfig
from openhcs_gui.errors import InvalidPathError, OpenHCSError, UnsupportedFormatError
from openhcs_gui.metadata import PlateMetadata
from openhcs_gui.vfs._zarr_array import RawArray
from openhcs_gui.vfs._zarr_batch import ZarrWrites, os_path
from openhcs_gui.vfs._zarr_flush import scan_wells, write_field_attrs, write_plate_attrs
from openhcs_gui.vfs._zarr_plate import FieldState, PlateState, open_plate_state
from openhcs_gui.vfs._zarr_pyramid import level_arrays
from openhcs_gui.vfs._zarr_read import ZarrReads
from openhcs_gui.vfs.base import PathLike, StorageBackend, normalize_path, write_error
from openhcs_gui.vfs.keys import ImageKey, parse_image_name

__all__ = ["ZarrBackend"]

T = TypeVar("T")
R = TypeVar("R")


#: Set by an executor that runs several engine processes on one machine (dask workers).
CODEC_THREADS_ENV = "OPENHCS_CODEC_THREADS"


def codec_threads() -> int:
    """Codec threads for this process: its share of the cores when an executor says, else all of them.

    Every dask worker process starting ``os.cpu_count()`` encoder threads
    oversubscribes the machine; the local cluster sets :data:`CODEC_THREADS_ENV`.
    """
    raw = os.environ.get(CODEC_THREADS_ENV, "").strip()
    try:
        share = int(raw) if raw else 0
    except ValueError:
        share = 0
    return max(1, share or os.cpu_count() or 1)


class ZarrBackend(ZarrWrites, ZarrReads, StorageBackend):
    """Storage backend that writes and reads planes of OME-Zarr HCS plates.

    Parameters
    ----------
    config
        Codec, level, shuffle, chunk strategy, metadata switches and NGFF
        version; copied, so later edits do not change a running backend.
    root
        Folder that keys are relative to (``"/"``: keys are absolute paths).
    read_only
        Refuse writes with :class:`~openhcs_gui.errors.ReadOnlyBackendError`.
    plate_metadata
        Physical metadata of the plate being written (pixel size, units,
        channels, name, geometry); see :meth:`set_plate_metadata`.
    """

    scheme = "zarr"

    def __init__(
        self, config: ZarrConfig | None = None, *, root: PathLike = "/", read_only: bool = False,
        plate_metadata: PlateMetadata | None = None,
    ) -> None:
        super().__init__(read_only=read_only)
        self.config = config.model_copy(deep=True) if config is not None else ZarrConfig()
        self.plate_metadata = plate_metadata
        self.root = os.path.abspath(os.fspath(root))
        self._stores: dict[str, PlateState] = {}
        self._lock = threading.Lock()  # guards _stores and _pool only
        self._pool: ThreadPoolExecutor | None = None
        self._workers = codec_threads()

    # ------------------------------------------------------------------ keys
    def _fs(self, key: str) -> str:
        return os.path.join(self.root, *key.split("/")) if key else self.root

    @staticmethod
    def _split(path: PathLike) -> tuple[str, str, str | None]:
        """(key, store key, rest inside the store or ``None`` when outside any store)."""
        key = normalize_path(path)
        parts = key.split("/") if key else []
        for i, part in enumerate(parts):
            if part.endswith(".zarr"):
                return key, "/".join(parts[: i + 1]), "/".join(parts[i + 1:])
        return key, "", None

    def _image(self, path: PathLike) -> tuple[str, str, ImageKey]:
        key, store, rest = self._split(path)
        if rest is None:
            raise UnsupportedFormatError(
                f"{self._where(key)} is not inside a '*.zarr' store; the zarr backend "
                "only holds images named like <dir>/images.zarr/A01_s1_w1_z1.tif.")
        if not rest or "/" in rest:
            raise InvalidPathError(
                f"{self._where(key)} is not an image key <store>.zarr/A01_s1_w1_z1.tif.")
        return key, store, parse_image_name(rest)

    def _plate(self, store: str, create: bool) -> PlateState | None:
        """Registry of ``store``; opened from disk the first time (never rescanned)."""
        with self._lock:
            state = self._stores.get(store)
            if state is not None:
                return state
            fs = self._fs(store)
            exists = os.path.isdir(fs)
            if not exists and not create:
                return None
            fmt = 3 if self.config.ngff_version == "0.5" else 2
            if exists:
                state = open_plate_state(fs, fmt, self.config.ngff_version)
            else:
                state = PlateState(fs, fmt, self.config.ngff_version)
            self._stores[store] = state
            return state

    # ----------------------------------------------------------------- pool
    def _map(
        self, fn: Callable[[T], R], items: Sequence[T], beside: Callable[[], None] | None = None
    ) -> list[R]:
        """Run ``fn`` over ``items`` on the shared worker pool (inline for one item).

        ``beside`` runs in the calling thread while the pool works, so caller
        work (file metadata) overlaps the encoding instead of idling the pool.
        Every item has finished when this returns, even if ``beside`` raised.
        """
        if len(items) <= 1 or self._workers == 1:
            if beside is not None:
                beside()
            return [fn(i) for i in items]
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="zarr-codec")
            pool = self._pool
        futures = [pool.submit(fn, i) for i in items]
        try:
            if beside is not None:
                beside()
        finally:
            wait(futures)
        return [f.result() for f in futures]

    # --------------------------------------------------------------- writes
    def save(self, data: Any, path: PathLike, /, *, overwrite: bool = True) -> None:
        """Write one plane; its field array is created or grown as needed."""
        self._write([(data, path)], overwrite, batch=False)

    def save_batch(
        self, datas: Sequence[Any], paths: Sequence[PathLike], /, *, overwrite: bool = True
    ) -> None:
        """Write many planes (typically a whole well): one array per field, in one go.

        Chunks of all fields are encoded in parallel on the worker pool; well
        and plate metadata are written once at the end.
        """
        self._check_batch(datas, paths)
        self._write(list(zip(datas, paths, strict=True)), overwrite, batch=True)

    # ------------------------------------------------------------ metadata
    def set_plate_metadata(self, metadata: PlateMetadata | None) -> None:
        """Use ``metadata`` (pixel size, units, channels, name, geometry) for what is written next.

        Field metadata already written is rewritten at :meth:`close`.
        """
        self.plate_metadata = metadata
        with self._lock:
            plates = list(self._stores.values())
        for plate in plates:
            plate.dirty = True
            for w in list(plate.wells.values()):
                for state in list(w.fields.values()):
                    state.dirty = state.dirty or state.ours

    def _write_image_attrs(self, plate: PlateState, state: FieldState) -> None:
        write_field_attrs(plate, state, self.config, self.plate_metadata)

    def _write_plate_attrs(self, plate: PlateState, rebuild: bool = False) -> None:
        write_plate_attrs(plate, self.config, self.plate_metadata, rebuild=rebuild, pmap=self._map)

    def set_channel_names(self, store_path: PathLike, names: dict[int, str]) -> None:
        """Label channels (1-based) of every field in ``store_path`` for viewers (omero)."""
        self._check_writable()
        key, store, rest = self._split(store_path)
        if not store or rest:
            raise InvalidPathError(f"{self._where(key)} is not a '*.zarr' store.")
        plate = self._plate(store, create=True)
        assert plate is not None
        plate.channel_names.update({int(c): str(n) for c, n in names.items()})
        for w in list(plate.wells.values()):
            for state in list(w.fields.values()):
                self._write_image_attrs(plate, state)

    def close(self) -> None:
        """Write every pending metadata update and stop the worker pool.

        Each store this backend wrote into has its plate and well metadata
        rebuilt from the store's folders (under the store lock), so wells of
        other processes and metadata a killed run never wrote are included.
        """
        with self._lock:
            plates = list(self._stores.values())
        try:
            for plate in plates:
                for w in list(plate.wells.values()):
                    for state in list(w.fields.values()):
                        if state.dirty:
                            self._write_image_attrs(plate, state)
                if plate.written and not self.read_only:
                    self._write_plate_attrs(plate, rebuild=True)
        except OSError as e:
            if isinstance(e, OpenHCSError):
                raise
            raise write_error(e, os_path(e, self.root)) from e
        finally:
            with self._lock:  # after the metadata, which used the pool too
                pool, self._pool = self._pool, None
            if pool is not None:
                pool.shutdown(wait=True)

    # ------------------------------------------------------------- deletion
    def _delete_file(self, key: str) -> None:
        _, store, ik = self._image(key)
        plate = self._plate(store, create=False)
        assert plate is not None
        state = plate.field_state(ik)
        assert state is not None and state.array is not None
        plane = (ik.t - 1, ik.channel - 1, ik.z - 1)
        with state.lock:
            if state.planes is None:
                state.planes = set(state.plane_list())
            state.planes.discard(plane)
            arr = state.array
            if isinstance(arr, RawArray) and all(c == 1 for c in arr.chunks[:-2]):
                index = state.index(plane[1], plane[2], plane[0])
                if index is not None:
                    _unlink_plane(state.path, arr, index, state.levels, state.label_name)
            empty = not state.planes
        if not empty:
            return
        with plate.lock:
            w = plate.wells[ik.well]
            w.fields.pop(ik.site, None)
            shutil.rmtree(state.path, ignore_errors=True)
            w.dirty = True
            plate.dirty = True
            if not w.fields:
                del plate.wells[ik.well]
                plate.deleted.add(w.path)
                plate.written_wells.discard(w.path)
                shutil.rmtree(os.path.join(plate.path, *w.path.split("/")), ignore_errors=True)
            # another process's wells keep the store alive
            gone = not plate.wells and not scan_wells(plate.path)
        if gone:
            self.delete_tree(store)
        else:
            self._write_plate_attrs(plate)

    def delete_tree(self, path: PathLike, /) -> None:
        """Remove every store at or below ``path`` (other files there are not ours)."""
        self._check_writable()
        key = normalize_path(path)
        _, store, rest = self._split(key)
        stores = [store] if store and not rest else self._stores_under(key)
        for s in stores:
            with self._lock:
                self._stores.pop(s, None)
            shutil.rmtree(self._fs(s), ignore_errors=True)

    # ------------------------------------------------------- identity, pickle
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ZarrBackend):
            return NotImplemented
        return (self.root, self.read_only, self.config.model_dump()) == (
            other.root, other.read_only, other.config.model_dump())

    def __hash__(self) -> int:
        return hash((type(self), self.root, self.read_only))

    def __getstate__(self) -> dict[str, Any]:
        meta = self.plate_metadata.to_dict() if self.plate_metadata is not None else None
        return {"config": self.config.model_dump(mode="json"), "root": self.root,
                "read_only": self.read_only, "plate_metadata": meta}

    def __setstate__(self, state: dict[str, Any]) -> None:
        meta = state.get("plate_metadata")
        self.__init__(ZarrConfig(**state["config"]), root=state["root"],  # type: ignore[misc]
                      read_only=state["read_only"],
                      plate_metadata=PlateMetadata.from_dict(meta) if meta else None)

    def __repr__(self) -> str:
        return f"ZarrBackend('zarr://{self.root}')"


def _unlink(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _unlink_plane(field: str, arr: RawArray, index: tuple[int, ...], levels: int,
                  label: str | None) -> None:
    """Remove the single-plane chunk at ``index`` from every level (and the label image)."""
    grid = arr.plane_location(index)[0]
    arrays = [arr, *level_arrays(arr, levels)]
    for lvl in arrays:
        _unlink(lvl.chunk_path(grid))
        if label is not None:
            rel = os.path.relpath(lvl.chunk_path(grid), field)
            _unlink(os.path.join(field, "labels", label, rel))
