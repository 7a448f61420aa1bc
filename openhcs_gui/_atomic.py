"""Atomic small-file writes: a reader never sees a half-written file.

Config, pipeline, provenance and report files are all written the same way:
to a temp file in the same folder (same filesystem, so the rename is atomic),
then ``os.replace`` onto the real name. A crash leaves either the old file or
the new one, plus at most a hidden temp file that is cleaned up on error.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

__all__ = ["write_text_atomic"]


def write_text_atomic(path: str | os.PathLike[str], text: str, *, fsync: bool = False) -> Path:
    """Write ``text`` to ``path`` atomically and return the path.

    Parameters
    ----------
    fsync
        Flush to the device before the rename, so the new content survives a
        power cut and not only a killed process (costs a disk round trip).

    Raises
    ------
    OSError
        Unchanged from the OS (callers turn it into their own error naming the file).
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
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target
