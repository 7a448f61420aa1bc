"""Reading and listing for :class:`~openhcs_gui.vfs.zarr_store.ZarrBackend` (a mixin).

Kept apart from the write path so each module stays one concept: this one
resolves image keys to a field array and a plane index through the plate
registry (no store scan per call), decodes planes (one chunk read per chunk
in a batch, on the backend's worker pool), and lists images and stores.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from openhcs_gui.errors import InvalidPathError, PathNotFoundError, UnsupportedFormatError
from openhcs_gui.vfs._zarr_array import MissingChunkError, RawArray
from openhcs_gui.vfs._zarr_plate import FieldState, PlateState
from openhcs_gui.vfs.base import PathLike, normalize_path
from openhcs_gui.vfs.keys import ImageKey, parse_image_name

__all__ = ["ZarrReads"]

T = TypeVar("T")
R = TypeVar("R")


class ZarrReads:
    """Load, list and test image keys of zarr plates; mixed into ``ZarrBackend``.

    The backend provides the registry (``_plate``), key parsing (``_split``,
    ``_image``), the worker pool (``_map``) and ``_where`` for messages.
    """

    root: str
    _stores: dict[str, PlateState]
    _lock: threading.Lock

    if TYPE_CHECKING:  # provided by ZarrBackend / StorageBackend
        def _fs(self, key: str) -> str: ...

        @staticmethod
        def _split(path: PathLike) -> tuple[str, str, str | None]: ...

        def _image(self, path: PathLike) -> tuple[str, str, ImageKey]: ...

        def _plate(self, store: str, create: bool) -> PlateState | None: ...

        def _map(self, fn: Callable[[T], R], items: Sequence[T],
                 beside: Callable[[], None] | None = None) -> list[R]: ...

        def _where(self, key: str) -> str: ...

    # ---------------------------------------------------------------- reads
    def _locate(self, path: PathLike) -> tuple[str, FieldState, tuple[int, ...]]:
        key = normalize_path(path)  # '..' is an error, not a missing image
        try:
            key, store, ik = self._image(key)
        except (UnsupportedFormatError, InvalidPathError) as e:
            raise PathNotFoundError(f"Cannot load {self._where(key)}: {e}") from e
        plate = self._plate(store, create=False)
        state = plate.field_state(ik) if plate is not None else None
        c, z, t = ik.channel - 1, ik.z - 1, ik.t - 1
        index = state.index(c, z, t) if state is not None and state.has_plane(c, z, t) else None
        if state is None or index is None:
            raise PathNotFoundError(f"Cannot load {self._where(key)}: no such image in the plate.")
        return key, state, index

    def load(self, path: PathLike, /) -> np.ndarray:
        """Read one plane (a fresh array the caller owns).

        Raises
        ------
        PathNotFoundError
            No such image, or a chunk of an array we wrote is missing (the
            message names the well and field; never read back as zeros).
        """
        key, state, index = self._locate(path)
        assert state.array is not None
        try:
            return state.array.read_plane(index)
        except MissingChunkError as e:
            raise self._lost(key, e) from e

    def _lost(self, key: str, e: MissingChunkError) -> PathNotFoundError:
        ik = parse_image_name(key)
        return PathNotFoundError(
            f"Cannot load {self._where(key)}: well {ik.well}, field {ik.site} lost data "
            f"({e} The store is incomplete; write that well again).")

    def load_batch(self, paths: Sequence[PathLike], /) -> list[np.ndarray]:
        """Read many planes; each chunk is read and decoded once, on the worker pool."""
        located = [self._locate(p) for p in paths]
        groups: dict[tuple[int, tuple[int, ...]], tuple[Any, list[tuple[int, Any]]]] = {}
        for i, (_, state, index) in enumerate(located):
            arr = state.array
            if isinstance(arr, RawArray):
                grid, inner = arr.plane_location(index)
                groups.setdefault((id(arr), grid), (arr, []))[1].append((i, inner))
            else:
                groups[(id(arr), (i, *index))] = (arr, [(i, index)])
        out: list[Any] = [None] * len(located)

        def read(item: tuple[tuple[int, tuple[int, ...]], tuple[Any, list[tuple[int, Any]]]]) -> None:
            (_, grid), (arr, members) = item
            if isinstance(arr, RawArray):
                try:
                    chunk = arr.read_chunk(grid)
                except MissingChunkError as e:
                    raise self._lost(located[members[0][0]][0], e) from e
                for i, inner in members:
                    out[i] = _native(chunk[inner])
            else:
                for i, index in members:
                    out[i] = arr.read_plane(index)

        self._map(read, list(groups.items()))
        return out

    # -------------------------------------------------------------- listing
    def is_file(self, path: PathLike, /) -> bool:
        """True if ``path`` is an image present in its plate."""
        key = normalize_path(path)
        try:
            self._locate(key)
        except PathNotFoundError:
            return False
        return True

    def _nonempty(self, store: str) -> bool:
        plate = self._plate(store, create=False)
        return plate is not None and bool(plate.wells)

    def _stores_under(self, key: str) -> list[str]:
        """Non-empty stores at or below directory ``key`` (registry + one folder walk)."""
        _, store, rest = self._split(key)
        if store:
            return [store] if not rest and self._nonempty(store) else []
        with self._lock:
            found = {s for s in self._stores if not key or s.startswith(key + "/")}
        base = self._fs(key)
        for dirpath, dirnames, _files in os.walk(base):
            keep = []
            for d in dirnames:
                if d.endswith(".zarr"):
                    rel = os.path.relpath(os.path.join(dirpath, d), self.root)
                    found.add(normalize_path(rel))
                else:
                    keep.append(d)
            dirnames[:] = keep
        return sorted(s for s in found if self._nonempty(s))

    def is_dir(self, path: PathLike, /) -> bool:
        """True for the root, a non-empty store, or a folder holding one."""
        key = normalize_path(path)
        return not key or bool(self._stores_under(key))

    def list_dir(self, path: PathLike, /) -> list[str]:
        """Image names of a store, or child names leading to stores."""
        key, store, rest = self._split(path)
        if store and not rest:
            plate = self._plate(store, create=False)
            if plate is None or not plate.wells:
                raise PathNotFoundError(f"{self._where(key)} is not a directory.")
            return sorted({k.filename() for k in plate.image_keys()})
        stores = [] if store else self._stores_under(key)
        if not stores:
            if not key:
                return []
            raise PathNotFoundError(f"{self._where(key)} is not a directory.")
        cut = len(key) + 1 if key else 0
        return sorted({s[cut:].split("/")[0] for s in stores})

    def list_prefix(self, prefix: PathLike, /) -> list[str]:
        """Every image key at or below ``prefix``."""
        key = normalize_path(prefix)
        if self.is_file(key):
            return [key]
        out: list[str] = []
        for store in self._stores_under(key):
            plate = self._plate(store, create=False)
            if plate is not None:
                out.extend(f"{store}/{k.filename()}" for k in plate.image_keys())
        return sorted(out)


def _native(a: np.ndarray) -> np.ndarray:
    return a if a.dtype.isnative else a.astype(a.dtype.newbyteorder("="))
