"""One pass over a plate folder: TIFF files and store folders, nothing opened.

Readers get plain lists from here and classify names themselves, so a plate
folder is listed exactly once whatever the detection tries.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["FolderScan", "scan_folder", "TIFF_SUFFIXES"]

TIFF_SUFFIXES = (".tif", ".tiff")
#: Instrument exports nest images a few levels deep (date/plate-id/TimePoint_1/ZStep_1).
MAX_DEPTH = 5


@dataclass
class FolderScan:
    """TIFF files (relative posix paths), empty files and zarr stores under a folder."""

    root: Path
    tiffs: list[str] = field(default_factory=list)
    empty: list[str] = field(default_factory=list)
    stores: list[str] = field(default_factory=list)


def scan_folder(root: Path) -> FolderScan:
    """List TIFFs (sorted) below ``root``, skipping hidden entries and ``*.zarr`` contents."""
    scan = FolderScan(root)
    stack: list[tuple[str, int]] = [("", 0)]
    while stack:
        rel, depth = stack.pop()
        try:
            entries = list(os.scandir(root / rel if rel else root))
        except OSError:
            continue
        for entry in entries:
            if entry.name.startswith("."):  # .DS_Store, macOS ._A01 forks, .zattrs
                continue
            sub = f"{rel}/{entry.name}" if rel else entry.name
            if entry.is_dir():
                if entry.name.lower().endswith(".zarr"):
                    scan.stores.append(sub)
                elif depth < MAX_DEPTH:
                    stack.append((sub, depth + 1))
            elif entry.name.lower().endswith(TIFF_SUFFIXES):
                try:
                    size = entry.stat().st_size
                except OSError:
                    size = 0
                (scan.tiffs if size > 0 else scan.empty).append(sub)
    scan.tiffs.sort()
    scan.empty.sort()
    scan.stores.sort()
    return scan
