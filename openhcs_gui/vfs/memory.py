"""In-memory backend: where a run's intermediates live (zarr-python's ``MemoryStore`` shape).

Each instance owns its own dict, so two runs (or two tests) never share state.
Arrays are stored as they are — no copy, no serialization — and :meth:`load`
hands out a read-only *view*: a step function that edits its input in place
gets an error instead of silently corrupting a stored intermediate. Other
objects (tables as lists of dict rows or DataFrames, dicts, strings) are stored
and returned as-is; treat them as read-only too.

Directories are not stored: they are the prefixes of stored keys, so a folder
disappears with its last file. One lock guards the dict, so runner threads can
save and load concurrently; the lock is held only for dict operations, never
while data is produced.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from openhcs_gui._lazy import lazy_module
from openhcs_gui.errors import (
    InvalidPathError,
    NotWritableError,
    PathExistsError,
    PathNotFoundError,
)
from openhcs_gui.vfs.base import PathLike, StorageBackend, normalize_path

np = lazy_module("numpy", globals())  # imported on first use: the desktop window shows before numpy loads

__all__ = ["MemoryBackend"]

_MISSING = object()


def _parents(key: str) -> list[str]:
    parts = key.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts))]


class _KeyStore(dict[str, Any]):
    """The key -> object dict plus, per directory, the number of its direct children.

    ``dirs`` makes ``is_dir`` and the file/folder clash check on ``save`` a dict
    lookup instead of a scan over every key. It is derived from the keys only
    (directories are never stored) and kept right by every mutation path.

    Why direct children and not "keys below": a new file in a folder that
    already exists then touches one entry (its parent) with one ``rpartition``,
    instead of re-joining and counting every ancestor on every insert. A count
    only reaches an ancestor when a folder appears or disappears.
    """

    def __init__(self, items: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.dirs: dict[str, int] = {}
        for key, value in (items or {}).items():
            self[key] = value

    def __setitem__(self, key: str, value: Any) -> None:
        if key not in self:
            dirs = self.dirs
            parent = key.rpartition("/")[0]
            while parent:
                count = dirs.get(parent, 0)
                dirs[parent] = count + 1
                if count:  # the folder already existed: its ancestors are unchanged
                    break
                parent = parent.rpartition("/")[0]
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        dirs = self.dirs
        parent = key.rpartition("/")[0]
        while parent:
            left = dirs[parent] - 1
            if left:
                dirs[parent] = left
                break
            del dirs[parent]  # the folder vanished: one child fewer for its parent
            parent = parent.rpartition("/")[0]

    def pop(self, key: str, default: Any = _MISSING) -> Any:
        if key not in self:
            if default is _MISSING:
                raise KeyError(key)
            return default
        value = self[key]
        del self[key]
        return value

    def update(self, *args: Any, **kwargs: Any) -> None:
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def clear(self) -> None:
        super().clear()
        self.dirs.clear()


def _read_only_view(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        view = value.view()
        view.setflags(write=False)  # same as flags.writeable = False, minus a flags object
        return view
    return value


def _nbytes(value: Any) -> int:
    return int(value.nbytes) if isinstance(value, np.ndarray) else 0


def _same_value(a: Any, b: Any) -> bool:
    if a is b:
        return True
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        x, y = np.asarray(a), np.asarray(b)
        return bool(x.dtype == y.dtype and x.shape == y.shape and x.tobytes() == y.tobytes())
    if hasattr(a, "equals"):  # pandas objects: == is element-wise
        return bool(a.equals(b))
    return bool(a == b)


class MemoryBackend(StorageBackend):
    """Thread-safe, zero-copy key/value store with directory semantics on key prefixes.

    Parameters
    ----------
    read_only
        Refuse every write with :class:`~openhcs_gui.errors.ReadOnlyBackendError`.

    Notes
    -----
    ``load`` returns the stored array itself behind a read-only view, so
    ``np.shares_memory(saved, loaded)`` holds. The caller keeps ownership of the
    array it saved: editing it afterwards changes the stored value too.
    """

    scheme = "memory"

    def __init__(self, *, read_only: bool = False) -> None:
        super().__init__(read_only=read_only)
        self._data = _KeyStore()
        self._lock = threading.RLock()

    # ----------------------------------------------------------- primitives
    def load(self, path: PathLike, /) -> Any:
        """Return the stored object; arrays come back as read-only views (no copy).

        Raises
        ------
        PathNotFoundError
            If nothing is stored at ``path``.
        """
        key = normalize_path(path)
        with self._lock:
            value = self._data.get(key, _MISSING)
        if value is _MISSING:
            raise PathNotFoundError(f"No object at {self._where(key)}.")
        return _read_only_view(value)

    def save(self, data: Any, path: PathLike, /, *, overwrite: bool = True) -> None:
        """Store ``data`` itself (no copy) at ``path``.

        Raises
        ------
        PathExistsError
            If ``path`` is a stored object and ``overwrite`` is False, or a directory.
        NotWritableError
            If a parent of ``path`` is a stored object (a file cannot hold files).
        """
        self._check_writable()
        key = normalize_path(path)
        with self._lock:
            self._check_target(key, overwrite)
            self._data[key] = data

    def save_batch(
        self, datas: Sequence[Any], paths: Sequence[PathLike], /, *, overwrite: bool = True
    ) -> None:
        """Store several objects under one lock acquisition; all-or-nothing on errors."""
        self._check_batch(datas, paths)
        keys = [normalize_path(p) for p in paths]
        with self._lock:
            replaced: list[tuple[str, Any]] = []
            try:
                for key, data in zip(keys, datas, strict=True):
                    self._check_target(key, overwrite)
                    replaced.append((key, self._data.get(key, _MISSING)))
                    self._data[key] = data
            except BaseException:
                for key, old in reversed(replaced):  # roll back: all or nothing
                    if old is _MISSING:
                        del self._data[key]
                    else:
                        self._data[key] = old
                raise

    def load_batch(self, paths: Sequence[PathLike], /) -> list[Any]:
        """Load several objects (read-only views) under one lock acquisition."""
        keys = [normalize_path(p) for p in paths]
        with self._lock:
            values = [self._data.get(k, _MISSING) for k in keys]
        for key, value in zip(keys, values, strict=True):
            if value is _MISSING:
                raise PathNotFoundError(f"No object at {self._where(key)}.")
        return [_read_only_view(v) for v in values]

    def is_file(self, path: PathLike, /) -> bool:
        """True if an object is stored at exactly ``path``."""
        key = normalize_path(path)
        with self._lock:
            return key in self._data

    def is_dir(self, path: PathLike, /) -> bool:
        """True for the root and for every proper prefix of a stored key."""
        key = normalize_path(path)
        if not key:
            return True
        with self._lock:
            return key in self._data.dirs

    def list_dir(self, path: PathLike, /) -> list[str]:
        """Sorted names of the direct children (files and sub-folders) of ``path``.

        Raises
        ------
        PathNotFoundError
            If ``path`` is not a directory.
        """
        key = normalize_path(path)
        prefix = f"{key}/" if key else ""
        with self._lock:
            names = {k[len(prefix):].split("/", 1)[0] for k in self._data if k.startswith(prefix)}
        if key and key not in self._data.dirs:
            raise PathNotFoundError(f"{self._where(key)} is not a directory.")
        return sorted(names)

    def list_prefix(self, prefix: PathLike, /) -> list[str]:
        """Sorted keys stored at ``prefix`` or anywhere under it."""
        key = normalize_path(prefix)
        with self._lock:
            if not key:
                return sorted(self._data)
            inner = key + "/"
            return sorted(k for k in self._data if k == key or k.startswith(inner))

    def _delete_file(self, key: str) -> None:
        with self._lock:
            if self._data.pop(key, _MISSING) is _MISSING:
                raise PathNotFoundError(f"Cannot delete {self._where(key)}: it does not exist.")

    # ------------------------------------------------- faster derived ops
    def delete_tree(self, path: PathLike, /) -> None:
        """Delete everything under ``path`` in one locked pass."""
        self.drop(path)

    def _copy_file(self, src: str, dst: str) -> None:
        # Stored values are never mutated through the backend, so sharing is a copy.
        with self._lock:
            self._check_target(dst, overwrite=True)
            self._data[dst] = self._data[src]

    # ------------------------------------------------------ memory control
    def drop(self, prefix: PathLike = "", /) -> int:
        """Forget the object at ``prefix`` and everything under it; return array bytes freed.

        ``drop("")`` forgets everything. Dropping a prefix that holds nothing
        returns 0 (freeing memory is idempotent).
        """
        self._check_writable()
        key = normalize_path(prefix)
        inner = key + "/"
        with self._lock:
            doomed = [k for k in self._data if not key or k == key or k.startswith(inner)]
            freed = sum(_nbytes(self._data.pop(k)) for k in doomed)
        return freed

    def clear(self) -> None:
        """Forget every stored object."""
        self.drop("")

    @property
    def nbytes(self) -> int:
        """Bytes held by stored numpy arrays (other objects are not counted)."""
        with self._lock:
            return sum(_nbytes(v) for v in self._data.values())

    # ------------------------------------------------------------- helpers
    def _check_target(self, key: str, overwrite: bool) -> None:
        """Validate a write target; caller holds the lock."""
        if not key:
            raise InvalidPathError("Cannot store an object at the root of the memory backend.")
        if key in self._data:
            if not overwrite:
                raise PathExistsError(f"Cannot save to {self._where(key)}: it already exists.")
            return
        parent = key.rpartition("/")[0]
        # A known folder's ancestors are folders too, so only a new folder needs the walk.
        if parent and parent not in self._data.dirs:
            self._check_no_file_parent(key)
        if key in self._data.dirs:
            raise PathExistsError(f"Cannot save to {self._where(key)}: it is a directory.")

    def _check_no_file_parent(self, key: str) -> None:
        """Refuse ``key`` when one of its ancestors is a stored object; caller holds the lock."""
        for parent in _parents(key):
            if parent in self._data:
                raise NotWritableError(
                    f"Cannot save {self._where(key)}: its parent '{parent}' is a file, not a folder."
                )

    # ------------------------------------------------- data-like behaviour
    def __repr__(self) -> str:
        return f"MemoryBackend('memory://{id(self._data)}')"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MemoryBackend):
            return NotImplemented
        if self is other:
            return True
        if self.read_only != other.read_only:
            return False
        with self._lock:
            mine = dict(self._data)
        with other._lock:
            theirs = dict(other._data)
        return mine.keys() == theirs.keys() and all(_same_value(mine[k], theirs[k]) for k in mine)

    __hash__ = None  # type: ignore[assignment]  # mutable container, like dict

    def __getstate__(self) -> dict[str, Any]:
        with self._lock:
            return {"read_only": self.read_only, "_data": dict(self._data)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.read_only = state["read_only"]
        self._data = _KeyStore(state["_data"])
        self._lock = threading.RLock()
