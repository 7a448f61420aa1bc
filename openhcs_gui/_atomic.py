"""Atomic small-file writes and durable appends: a reader never sees a half-written file.

Config, pipeline, provenance and report files are all written the same way:
to a temp file in the same folder (same filesystem, so the rename is atomic),
then ``os.replace`` onto the real name. A crash leaves either the old file or
the new one, plus at most a hidden temp file that is cleaned up on error.
Journals are appended one fsynced line at a time (:func:`append_line_durable`);
a crash leaves at most a torn last line, which their readers ignore.

A failed write raises a :class:`~openhcs_gui.errors.StorageError` that names
the real file and says what went wrong in words ("disk full", "folder ... is
not writable"), never the hidden temp file's name.
"""

from __future__ import annotations

import contextlib
import errno
import os
import threading
from pathlib import Path

from openhcs_gui.errors import NotWritableError, StorageError

__all__ = ["append_line_durable", "storage_error", "write_text_atomic"]

_DISK_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}
_NOT_WRITABLE = {errno.EACCES, errno.EPERM, errno.EROFS}


def storage_error(err: OSError, path: str | os.PathLike[str]) -> StorageError:
    """Turn the ``OSError`` of a write to ``path`` into one sentence naming the file and the cause.

    The result keeps ``errno``. An error that already is a
    :class:`StorageError` is returned unchanged.
    """
    if isinstance(err, StorageError):
        return err
    target = Path(path)
    cause = err.strerror or str(err)
    new: StorageError
    if err.errno in _DISK_FULL:
        new = StorageError(f"Disk full: cannot write {target} ({cause}).")
    elif err.errno in _NOT_WRITABLE:
        new = NotWritableError(f"Folder {target.parent} is not writable: cannot write {target.name} ({cause}).")
    else:
        new = StorageError(f"Cannot write {target}: {cause}.")
    new.errno = err.errno  # (strerror/filename stay unset: OSError.__str__ would replace the sentence)
    return new


def write_text_atomic(path: str | os.PathLike[str], text: str, *, fsync: bool = False) -> Path:
    """Write ``text`` to ``path`` atomically and return the path.

    Parameters
    ----------
    fsync
        Flush to the device before the rename, so the new content survives a
        power cut and not only a killed process (costs a disk round trip).

    Raises
    ------
    StorageError
        Naming ``path`` (not the temp file): ``NotWritableError`` for a
        read-only folder, "Disk full" for ENOSPC. It is an ``OSError`` with the
        original ``errno``.
    """
    target = Path(path)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}-{threading.get_ident()}")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException as e:
        with contextlib.suppress(OSError):  # a read-only folder: nothing was created, keep the first error
            tmp.unlink(missing_ok=True)
        if isinstance(e, OSError):
            raise storage_error(e, target) from e
        raise
    return target


def append_line_durable(path: str | os.PathLike[str], line: str) -> None:
    """Append ``line`` plus a newline to ``path`` and fsync it (one ``write`` call).

    Raises
    ------
    StorageError
        As :func:`write_text_atomic`.
    """
    target = Path(path)
    data = (line.rstrip("\n") + "\n").encode("utf-8")
    try:
        fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as e:
        raise storage_error(e, target) from e
