"""The storage contract every backend implements (zarr-python's ``abc/store`` shape).

A backend supplies a few primitives on normalized keys; the derived
operations (``list_files``, ``copy``, ``move``, ``delete_tree``,
``is_empty``, batches) are written once here on top of them, like fsspec's
``mv`` = copy + delete. A backend overrides a derived operation only to make
it faster, and must still pass ``tests/vfs/contract.py``.

Keys are posix paths without a leading slash (see :func:`normalize_path`);
directories exist only as prefixes of file keys, never as marker values.
"""

from __future__ import annotations

import errno
import os
import posixpath
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

from openhcs_gui.errors import (
    InvalidPathError,
    NotWritableError,
    PathExistsError,
    PathNotFoundError,
    ReadOnlyBackendError,
    StorageError,
)

__all__ = [
    "StorageBackend", "normalize_path", "PathLike", "write_error", "NAME_MAX", "long_component",
    "name_too_long",
]

PathLike = str | os.PathLike[str]
_PROTOCOLS = ("memory://", "file://", "zarr://", "disk://")


def normalize_path(path: PathLike) -> str:
    """Turn any accepted path form into the one key form backends see.

    Accepts ``str``, ``os.PathLike``, and ``memory://`` / ``file://`` URLs.
    Returns a posix key with no leading, trailing or doubled slashes;
    ``"/"`` and ``""`` become ``""`` (the root). ``.`` segments are dropped.

    Raises
    ------
    InvalidPathError
        On ``..`` segments (a path escaping its root), NUL bytes, or a
        non-path type.
    """
    if path.__class__ is str and _is_canonical(path):
        return path  # already a key: the common case, kept to a few C-level scans
    return _normalize_slow(path)


def _normalize_slow(path: PathLike) -> str:
    """The full normalization (protocols, backslashes, ``.``/``..``, NUL, types)."""
    if isinstance(path, os.PathLike):
        path = os.fspath(path)
    if not isinstance(path, str):
        raise InvalidPathError(f"Path must be a string or os.PathLike, got {type(path).__name__}.")
    for proto in _PROTOCOLS:
        if path.startswith(proto):
            path = path[len(proto):]
            break
    if "\x00" in path:
        raise InvalidPathError(f"Path {path!r} contains a NUL byte.")
    path = path.replace("\\", "/")
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise InvalidPathError(f"Path {path!r} contains '..' and would escape the storage root.")
    return "/".join(parts)


def _is_canonical(path: str) -> bool:
    """True if :func:`normalize_path` would return ``path`` unchanged.

    Why it is safe: the slow path only changes a string that has a protocol
    (contains ``//``), a NUL, a backslash, an empty segment (leading, trailing
    or doubled ``/``) or a ``.``/``..`` segment (starts with ``.`` or contains
    ``/.``). Excluding those is a handful of substring scans, ~10x cheaper than
    split + filter + join; a name like ``.hidden`` merely takes the slow path.
    """
    return not (
        "//" in path or "/." in path or "\\" in path or "\x00" in path
        or path[:1] in _BAD_FIRST or path[-1:] == "/"
    )


_BAD_FIRST = ("/", ".")


#: Longest file or folder name (bytes) the common file systems allow.
NAME_MAX = 255


def long_component(path: str) -> str | None:
    """The first path component longer than :data:`NAME_MAX` bytes, or ``None``."""
    if len(path) <= NAME_MAX:
        return None
    for part in path.replace("\\", "/").split("/"):
        if len(os.fsencode(part)) > NAME_MAX:
            return part
    return None


def name_too_long(path: str, part: str) -> StorageError:
    """The one-line error for a name the file system cannot hold."""
    shown = part if len(part) <= 40 else f"{part[:40]}..."
    return StorageError(
        f"Cannot write {path}: the name '{shown}' is {len(os.fsencode(part))} bytes long and "
        f"the file system allows at most {NAME_MAX}.")


def write_error(e: OSError, path: str, *, partial: bool = False) -> StorageError:
    """One-sentence :class:`StorageError` for the OS failure ``e`` while writing ``path``.

    ``partial`` says other files of the same operation may already be written
    (a zarr batch); otherwise the atomic write left nothing under ``path``.
    """
    if isinstance(e, StorageError):
        return e
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        tail = "part of the batch may be missing" if partial else "nothing was written there"
        return StorageError(f"Disk full while writing {path}; {tail}.")
    if e.errno == errno.ENAMETOOLONG:
        part = long_component(path) or long_component(str(e.filename or "")) or path
        return name_too_long(path, part)
    if isinstance(e, PermissionError) or e.errno == errno.EROFS:
        return NotWritableError(f"Cannot write {path}: its folder is not writable ({e.strerror}).")
    if isinstance(e, FileExistsError | NotADirectoryError):
        return NotWritableError(f"Cannot write {path}: a parent of it is a file, not a folder.")
    return StorageError(f"Cannot write {path}: {e.strerror or e}.")


def _matches(key: str, extensions: set[str] | None) -> bool:
    if extensions is None:
        return True
    lower = key.lower()
    return any(lower.endswith(ext) for ext in extensions)


class StorageBackend(ABC):
    """Abstract storage backend; concrete ones are small (memory, disk, zarr).

    Parameters
    ----------
    read_only
        Refuse every write with :class:`ReadOnlyBackendError`.
    """

    #: Name used in messages and in ``repr``.
    scheme: ClassVar[str] = "abstract"
    supports_writes: ClassVar[bool] = True
    supports_deletes: ClassVar[bool] = True
    supports_listing: ClassVar[bool] = True

    def __init__(self, *, read_only: bool = False) -> None:
        self.read_only = read_only

    # ----------------------------------------------------------- primitives
    @abstractmethod
    def load(self, path: PathLike, /) -> Any:
        """Return the object stored at ``path``.

        Raises ``PathNotFoundError`` if there is none.
        """

    @abstractmethod
    def save(self, data: Any, path: PathLike, /, *, overwrite: bool = True) -> None:
        """Store ``data`` at ``path``; parents are implied.

        Raises ``PathExistsError`` if the path exists and ``overwrite`` is False.
        """

    @abstractmethod
    def is_file(self, path: PathLike, /) -> bool:
        """True if an object is stored at exactly ``path``."""

    @abstractmethod
    def is_dir(self, path: PathLike, /) -> bool:
        """True if ``path`` is a directory (the root always is)."""

    @abstractmethod
    def list_dir(self, path: PathLike, /) -> list[str]:
        """Sorted names (not paths) of the direct children of directory ``path``."""

    @abstractmethod
    def list_prefix(self, prefix: PathLike, /) -> list[str]:
        """Sorted normalized keys of every file at or under directory ``prefix``."""

    @abstractmethod
    def _delete_file(self, key: str) -> None:
        """Delete one file key (already normalized, known to exist)."""

    def ensure_directory(self, path: PathLike, /) -> str:
        """Make ``path`` usable as a directory and return its key.

        Prefix-only backends have nothing to do; disk creates the folder.
        """
        self._check_writable()
        return normalize_path(path)

    def close(self) -> None:  # noqa: B027 - an optional hook: most backends hold nothing
        """Flush pending metadata and release handles. Default: nothing to do."""

    # ----------------------------------------------------- derived operations
    def exists(self, path: PathLike, /) -> bool:
        """True if ``path`` is a file or a directory."""
        return self.is_file(path) or self.is_dir(path)

    def delete(self, path: PathLike, /) -> None:
        """Delete a file, or a whole directory tree."""
        self._check_writable()
        key = normalize_path(path)
        if self.is_file(key):
            self._delete_file(key)
        elif self.is_dir(key) and key:
            self.delete_tree(key)
        else:
            raise PathNotFoundError(f"Cannot delete {self._where(key)}: it does not exist.")

    def delete_tree(self, path: PathLike, /) -> None:
        """Delete every file under ``path`` (the directory disappears with them)."""
        self._check_writable()
        for key in self.list_prefix(path):
            self._delete_file(key)

    def is_empty(self, path: PathLike = "", /) -> bool:
        """True if nothing is stored under ``path``."""
        return not self.list_prefix(path)

    def list_files(
        self,
        directory: PathLike,
        /,
        extensions: Iterable[str] | None = None,
        recursive: bool = False,
    ) -> list[str]:
        """Sorted keys of the files in ``directory`` (optionally recursive).

        ``extensions`` such as ``{".tif", ".tiff"}`` filter case-insensitively.
        """
        key = normalize_path(directory)
        if not self.is_dir(key):
            raise PathNotFoundError(f"{self._where(key)} is not a directory.")
        exts = {e.lower() if e.startswith(".") else f".{e.lower()}" for e in extensions} if extensions else None
        if recursive:
            files = self.list_prefix(key)
        else:
            files = [posixpath.join(key, n) if key else n for n in self.list_dir(key)]
            files = [f for f in files if self.is_file(f)]
        return [f for f in files if _matches(f, exts)]

    def save_batch(
        self, datas: Sequence[Any], paths: Sequence[PathLike], /, *, overwrite: bool = True
    ) -> None:
        """Save several objects; backends override to write them in one go."""
        self._check_batch(datas, paths)
        for data, path in zip(datas, paths, strict=True):
            self.save(data, path, overwrite=overwrite)

    def load_batch(self, paths: Sequence[PathLike], /) -> list[Any]:
        """Load several objects in order; backends override to read them in one go."""
        return [self.load(p) for p in paths]

    def copy(self, src: PathLike, dst: PathLike, /, *, overwrite: bool = False) -> None:
        """Copy a file or a directory tree within this backend."""
        self._check_writable()
        s, d = normalize_path(src), normalize_path(dst)
        if self.is_file(s):
            pairs = [(s, d)]
        elif self.is_dir(s) and s:
            if d == s or d.startswith(s + "/"):
                raise InvalidPathError(f"Cannot copy {self._where(s)} into itself ({d}).")
            pairs = [(k, d + k[len(s):]) for k in self.list_prefix(s)]
        else:
            raise PathNotFoundError(f"Cannot copy {self._where(s)}: it does not exist.")
        if not overwrite:
            for _, target in pairs:
                if self.is_file(target):
                    raise PathExistsError(f"Cannot copy to {self._where(target)}: it already exists.")
        for source, target in pairs:
            self._copy_file(source, target)

    def move(self, src: PathLike, dst: PathLike, /, *, overwrite: bool = False) -> None:
        """Move = copy, then delete the source (correct first, fast second)."""
        self.copy(src, dst, overwrite=overwrite)
        self.delete(src)

    def _copy_file(self, src: str, dst: str) -> None:
        """Copy one file key; backends override for a cheaper copy."""
        self.save(self.load(src), dst, overwrite=True)

    # -------------------------------------------------------------- helpers
    def _check_writable(self) -> None:
        if self.read_only:
            raise ReadOnlyBackendError(f"{self!r} is read-only; nothing was written.")

    def _check_batch(self, datas: Sequence[Any], paths: Sequence[PathLike]) -> None:
        """Refuse a batch before any write: read-only backend or mismatched lengths."""
        self._check_writable()
        if len(datas) != len(paths):
            raise ValueError(f"save_batch got {len(datas)} objects for {len(paths)} paths.")

    def _where(self, key: str) -> str:
        return f"'{key or '/'}' in the {self.scheme} backend"

    def __repr__(self) -> str:
        return f"{type(self).__name__}('{self.scheme}://')"
