"""Disk backend: one file per key, format chosen by extension, every write atomic.

Keys map under ``root`` (default ``/``, so the key ``tmp/ws/a.tif`` is the file
``/tmp/ws/a.tif``). Formats: ``.tif/.tiff`` (tifffile, exact dtype/shape),
``.npy``, ``.csv`` (tables: list of dict rows or a DataFrame; loads back as
rows with numbers parsed), ``.json`` and ``.txt``.

A write goes to a temp file in the destination folder and is renamed over
the real name with ``os.replace`` (zarr-python's ``LocalStore`` does the same),
so a crash or a full disk never leaves a half-written file under the real
name. Failures become one-sentence :mod:`openhcs_gui.errors` naming the path.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import threading
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

from openhcs_gui.errors import (
    InvalidPathError,
    PathExistsError,
    PathNotFoundError,
    StorageError,
    UnsupportedFormatError,
)
from openhcs_gui.metadata import PlateMetadata
from openhcs_gui.vfs._disk_formats import FORMATS as _FORMATS
from openhcs_gui.vfs._disk_formats import SUPPORTED_EXTENSIONS, tiff_writer
from openhcs_gui.vfs._disk_formats import Reader as _Reader
from openhcs_gui.vfs._disk_formats import Writer as _Writer
from openhcs_gui.vfs.base import (
    PathLike,
    StorageBackend,
    long_component,
    name_too_long,
    normalize_path,
    write_error,
)
from openhcs_gui.vfs.keys import is_labels_name, parse_image_name

__all__ = ["DiskBackend", "SUPPORTED_EXTENSIONS"]

_TMP_SUFFIX = ".openhcs-tmp"
_TIFF_WRITER = _FORMATS[".tif"][0]
_TMP_RE = re.compile(r"^\..+\.[0-9a-f]{12}" + re.escape(_TMP_SUFFIX) + "$")




class DiskBackend(StorageBackend):
    """Files under ``root``; format by extension; atomic writes; parallel batches.

    Parameters
    ----------
    root
        Folder keys are relative to (a path or ``file://`` URL). Created on first write.
    read_only
        Refuse every write with :class:`~openhcs_gui.errors.ReadOnlyBackendError`.
    plate_metadata
        Physical metadata of the plate being written: TIFFs get its pixel size,
        unit and the channel's name (see :func:`_disk_formats.tiff_writer`).
    max_workers
        Threads used by :meth:`save_batch` / :meth:`load_batch` (tifffile and
        numpy release the GIL while copying and writing). Default: CPU count, at most 8.

    Notes
    -----
    The batch thread pool is created on first use and kept until :meth:`close`
    (issue 7: a pool per call cost a third of the TIFF write rate, since every
    well paid thread start-up and the join). It is not pickled; a copy makes
    its own on first use.
    """

    scheme = "file"

    def __init__(
        self, root: PathLike = "/", *, read_only: bool = False, max_workers: int | None = None,
        plate_metadata: PlateMetadata | None = None,
    ) -> None:
        super().__init__(read_only=read_only)
        self.plate_metadata = plate_metadata
        text = os.fspath(root)
        if text.startswith("file://"):
            text = text[len("file://"):] or "/"
        self.root = os.path.abspath(os.path.expanduser(text))
        self.max_workers = max_workers or min(8, os.cpu_count() or 1)
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    def set_plate_metadata(self, metadata: PlateMetadata | None) -> None:
        """Use ``metadata`` for the TIFFs written from now on (``None``: none)."""
        self.plate_metadata = metadata

    # ------------------------------------------------------------- helpers
    def _full(self, key: str) -> str:
        return os.path.join(self.root, key) if key else self.root

    def _format(self, key: str) -> tuple[_Writer, _Reader]:
        ext = os.path.splitext(key)[1].lower()
        try:
            return _FORMATS[ext]
        except KeyError:
            raise UnsupportedFormatError(
                f"Cannot store '{key}' on disk: extension '{ext or '(none)'}' is not one of "
                f"{', '.join(SUPPORTED_EXTENSIONS)}."
            ) from None

    def _write_error(self, e: OSError, key: str) -> StorageError:
        return write_error(e, self._full(key))

    def _atomic_write(self, key: str, produce: Callable[[str], None]) -> None:
        """Let ``produce`` create a temp file beside ``key``, then rename it into place."""
        full = self._full(key)
        folder, name = os.path.split(full)
        part = long_component(full)
        if part is not None:  # the OS error would name the temp file, not the key
            raise name_too_long(full, part)
        # a name near the limit must not make its temp name too long
        tmp = os.path.join(folder, f".{name[:150]}.{uuid.uuid4().hex[:12]}{_TMP_SUFFIX}")
        try:
            try:
                produce(tmp)
            except FileNotFoundError as e:
                # Folders are made on the first failure only, so the common case
                # (a folder that exists) costs no makedirs stat + mkdir per file.
                if e.filename != tmp:
                    raise  # something else is missing (e.g. a copy's source)
                os.makedirs(folder, exist_ok=True)
                produce(tmp)
            os.replace(tmp, full)
        except BaseException as e:
            with contextlib.suppress(OSError):  # the temp file may never have been created
                os.unlink(tmp)
            if isinstance(e, OSError):
                raise self._write_error(e, key) from e
            raise

    # ----------------------------------------------------------- primitives
    def load(self, path: PathLike, /) -> Any:
        """Read the file at ``path`` in the format its extension names.

        Raises
        ------
        PathNotFoundError
            If there is no such file.
        UnsupportedFormatError
            If the extension is not a supported format.
        StorageError
            If the file exists but cannot be read or decoded.

        Notes
        -----
        An image name like ``A01_s1_w1_z1.tif`` with no such file reads the
        label image ``A01_s1_w1_z1_labels.tif`` of the same key if there is
        one (a label step's output, see :data:`~openhcs_gui.vfs.keys.LABELS_SUFFIX`).
        """
        key = normalize_path(path)
        reader = self._format(key)[1]
        full = self._full(key)
        try:
            return reader(full)
        except FileNotFoundError as e:
            labels = _labels_twin(full)
            if labels is not None and os.path.isfile(labels):
                return self.load(labels)
            raise PathNotFoundError(f"No file at {self._where(key)} ({full}).") from e
        except (IsADirectoryError, NotADirectoryError) as e:
            raise PathNotFoundError(f"No file at {self._where(key)} ({full}).") from e
        except OSError as e:
            raise StorageError(f"Cannot read {full}: {e.strerror or e}.") from e
        except ValueError as e:  # corrupt file (tifffile, numpy, json, csv all raise ValueError)
            raise StorageError(f"Cannot decode {full}: {e}.") from e

    def save(self, data: Any, path: PathLike, /, *, overwrite: bool = True) -> None:
        """Write ``data`` atomically in the format named by the extension.

        Raises
        ------
        UnsupportedFormatError
            Unknown extension, or data the format cannot hold.
        PathExistsError
            ``path`` exists and ``overwrite`` is False, or it is a folder.
        NotWritableError
            The folder cannot be created or written.
        StorageError
            Any other OS failure, e.g. a full disk (``ENOSPC``).
        """
        self._check_writable()
        key = normalize_path(path)
        writer = self._format(key)[0]
        if writer is _TIFF_WRITER and self.plate_metadata is not None:
            writer = tiff_writer(self.plate_metadata, key)
        full = self._full(key)
        if os.path.isdir(full):
            raise PathExistsError(f"Cannot save to {self._where(key)}: it is a folder.")
        if not overwrite and os.path.lexists(full):
            raise PathExistsError(f"Cannot save to {self._where(key)}: it already exists.")

        def produce(tmp: str) -> None:
            with open(tmp, "xb") as fh:
                try:
                    writer(fh, data)
                except TypeError as e:
                    raise UnsupportedFormatError(f"Cannot save {full}: {e}.") from e

        self._atomic_write(key, produce)

    def save_batch(
        self, datas: Sequence[Any], paths: Sequence[PathLike], /, *, overwrite: bool = True
    ) -> None:
        """Write several files in parallel; every path is checked before any write."""
        self._check_batch(datas, paths)
        keys = [normalize_path(p) for p in paths]
        for key in keys:
            self._format(key)
        pairs = list(zip(datas, keys, strict=True))
        self._parallel(lambda pair: self.save(pair[0], pair[1], overwrite=overwrite), pairs)

    def load_batch(self, paths: Sequence[PathLike], /) -> list[Any]:
        """Read several files in parallel, in order."""
        return self._parallel(self.load, [normalize_path(p) for p in paths])

    def _executor(self) -> ThreadPoolExecutor:
        """The backend's batch pool, created on first use (threads start lazily too)."""
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.max_workers, thread_name_prefix="disk-io")
            return self._pool

    def _parallel(self, func: Callable[[Any], Any], items: list[Any]) -> list[Any]:
        """``[func(i) for i in items]`` on ``max_workers`` threads, the caller being one.

        Why the caller works too: a batch is typically one well (8 files on 2
        cores), so a caller that only waits leaves a core idle at the end of
        every batch; draining a shared queue keeps all threads busy until the
        last item and needs one pool thread fewer. Every item runs even when
        one fails; the first failure (in item order) is then raised.
        """
        n = len(items)
        if n < 2 or self.max_workers < 2:
            return [func(i) for i in items]
        results: list[Any] = [None] * n
        errors: list[BaseException | None] = [None] * n
        order = iter(range(n))
        take = threading.Lock()

        def drain() -> None:
            while True:
                with take:
                    i = next(order, None)
                if i is None:
                    return
                try:
                    results[i] = func(items[i])
                except BaseException as e:  # reported to the caller below
                    errors[i] = e

        pool = self._executor()
        helpers = [pool.submit(drain) for _ in range(min(self.max_workers, n) - 1)]
        drain()
        wait(helpers)
        for e in errors:
            if e is not None:
                raise e
        return results

    def close(self) -> None:
        """Stop the batch pool (a later batch starts a new one)."""
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)

    def is_file(self, path: PathLike, /) -> bool:
        """True if ``path`` is a regular file."""
        return os.path.isfile(self._full(normalize_path(path)))

    def is_dir(self, path: PathLike, /) -> bool:
        """True if ``path`` is a folder (an emptied folder stays one)."""
        return os.path.isdir(self._full(normalize_path(path)))

    def list_dir(self, path: PathLike, /) -> list[str]:
        """Sorted names in folder ``path`` (temp files of writes in flight excluded)."""
        key = normalize_path(path)
        try:
            names = os.listdir(self._full(key))
        except (FileNotFoundError, NotADirectoryError) as e:
            raise PathNotFoundError(f"{self._where(key)} is not a directory.") from e
        return sorted(n for n in names if not _TMP_RE.match(n))

    def list_prefix(self, prefix: PathLike, /) -> list[str]:
        """Sorted keys of every file at or under ``prefix``."""
        key = normalize_path(prefix)
        top = self._full(key)
        if os.path.isfile(top):
            return [key]
        found: list[str] = []
        for dirpath, _dirs, files in os.walk(top):
            rel = os.path.relpath(dirpath, top).replace(os.sep, "/")
            base = key if rel == "." else (f"{key}/{rel}" if key else rel)
            found.extend(f"{base}/{f}" if base else f for f in files if not _TMP_RE.match(f))
        return sorted(found)

    def _delete_file(self, key: str) -> None:
        try:
            os.remove(self._full(key))
        except FileNotFoundError as e:
            raise PathNotFoundError(f"Cannot delete {self._where(key)}: it does not exist.") from e
        except OSError as e:
            raise self._write_error(e, key) from e

    # ------------------------------------------------- faster derived ops
    def ensure_directory(self, path: PathLike, /) -> str:
        """Create folder ``path`` (and parents) and return its key."""
        self._check_writable()
        key = normalize_path(path)
        try:
            os.makedirs(self._full(key), exist_ok=True)
        except OSError as e:
            raise self._write_error(e, key) from e
        return key

    def delete_tree(self, path: PathLike, /) -> None:
        """Remove folder ``path`` and everything in it."""
        self._check_writable()
        key = normalize_path(path)
        if not key:
            raise InvalidPathError(f"Refusing to delete the root folder {self.root} of {self!r}.")
        try:
            shutil.rmtree(self._full(key))
        except FileNotFoundError:
            return
        except OSError as e:
            raise self._write_error(e, key) from e

    def _copy_file(self, src: str, dst: str) -> None:
        source = self._full(src)

        def produce(tmp: str) -> None:
            shutil.copyfile(source, tmp)  # sendfile fast path, then renamed into place

        self._atomic_write(dst, produce)

    def move(self, src: PathLike, dst: PathLike, /, *, overwrite: bool = False) -> None:
        """Rename within the disk when the target is free; else copy + delete."""
        self._check_writable()
        s, d = normalize_path(src), normalize_path(dst)
        target_free = not os.path.lexists(self._full(d))
        replace_file = overwrite and self.is_file(s) and self.is_file(d)
        inside = d == s or d.startswith(s + "/")
        if s and (target_free or replace_file) and not inside and os.path.lexists(self._full(s)):
            try:
                os.makedirs(os.path.dirname(self._full(d)), exist_ok=True)
                os.replace(self._full(s), self._full(d))
            except OSError as e:
                raise self._write_error(e, d) from e
            return
        super().move(s, d, overwrite=overwrite)

    # ------------------------------------------------- data-like behaviour
    def __repr__(self) -> str:
        return f"DiskBackend('file://{Path(self.root).as_posix()}')"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DiskBackend):
            return NotImplemented
        return (self.root, self.read_only) == (other.root, other.read_only)

    def __hash__(self) -> int:
        return hash((DiskBackend, self.root, self.read_only))

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_pool"] = None  # threads and locks do not travel; the copy makes its own
        del state["_pool_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._pool_lock = threading.Lock()


def _labels_twin(full: str) -> str | None:
    """``.../A01_s1_w1_z1.tif`` -> ``.../A01_s1_w1_z1_labels.tif`` (``None`` for other names)."""
    folder, name = os.path.split(full)
    try:
        key = parse_image_name(name)
    except InvalidPathError:
        return None
    if is_labels_name(name):
        return None
    for with_time in (True, False):  # ``A01_s1_w1_z1_t1.tif`` names its time point 1
        stem = key.filename(ext="", with_time=with_time)
        if name.startswith(stem) and name[len(stem):]:
            return os.path.join(folder, key.filename(name[len(stem):], labels=True, with_time=with_time))
    return None
