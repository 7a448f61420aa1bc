"""One pass over a plate folder: TIFF files, HTD files and store folders, nothing opened.

Readers get plain lists from here and classify names themselves, so a plate
folder is listed exactly once whatever the detection tries. Entries that
cannot be followed (a symbolic link that points to itself, a folder link back
to a folder being listed, an unreadable sub-folder) are skipped with a
warning: one bad entry never hides the rest of the plate.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["FolderScan", "scan_folder", "TIFF_SUFFIXES", "HTD_SUFFIX"]

TIFF_SUFFIXES = (".tif", ".tiff")
#: MetaXpress plate description (``<plate>.HTD``), at the plate root or in ``TimePoint_1/``.
HTD_SUFFIX = ".htd"
#: Instrument exports nest images a few levels deep (date/plate-id/TimePoint_1/ZStep_1).
MAX_DEPTH = 5


@dataclass
class FolderScan:
    """TIFF files (relative posix paths), empty files, HTD files and zarr stores under a folder."""

    root: Path
    tiffs: list[str] = field(default_factory=list)
    empty: list[str] = field(default_factory=list)
    stores: list[str] = field(default_factory=list)
    htd: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _folder_id(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _is_dir(entry: os.DirEntry[str], sub: str, scan: FolderScan) -> bool | None:
    """``entry.is_dir()``, or ``None`` (with a warning) for a link that cannot be followed."""
    try:
        return entry.is_dir()
    except OSError as e:
        what = "a symbolic link that points to itself" if entry.is_symlink() else "unreadable"
        scan.warnings.append(f"ignored {sub}: {what} ({e.strerror or e})")
        return None


def scan_folder(root: Path) -> FolderScan:
    """List TIFFs and HTDs (sorted) below ``root``, skipping hidden entries and ``*.zarr`` contents."""
    scan = FolderScan(root)
    start = _folder_id(root)
    stack: list[tuple[str, int, frozenset[tuple[int, int]]]] = [
        ("", 0, frozenset([start] if start else []))
    ]
    while stack:
        rel, depth, ancestors = stack.pop()
        try:
            entries = list(os.scandir(root / rel if rel else root))
        except OSError as e:
            if rel:
                scan.warnings.append(f"ignored folder {rel}: cannot list it ({e.strerror or e})")
            continue
        for entry in entries:
            if entry.name.startswith("."):  # .DS_Store, macOS ._A01 forks, .zattrs
                continue
            sub = f"{rel}/{entry.name}" if rel else entry.name
            is_dir = _is_dir(entry, sub, scan)
            if is_dir is None:
                continue
            lower = entry.name.lower()
            if is_dir:
                if lower.endswith(".zarr"):
                    scan.stores.append(sub)
                elif depth < MAX_DEPTH:
                    ident = _folder_id(Path(entry.path))
                    if ident is not None and ident in ancestors:
                        scan.warnings.append(
                            f"ignored {sub}: a link back to a folder that holds it (a loop)"
                        )
                        continue
                    stack.append((sub, depth + 1, ancestors | {ident} if ident else ancestors))
            elif lower.endswith(TIFF_SUFFIXES):
                try:
                    size = entry.stat().st_size
                except OSError:
                    size = 0
                (scan.tiffs if size > 0 else scan.empty).append(sub)
            elif lower.endswith(HTD_SUFFIX):
                scan.htd.append(sub)
    for names in (scan.tiffs, scan.empty, scan.stores, scan.htd, scan.warnings):
        names.sort()
    return scan
