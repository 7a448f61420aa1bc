"""Fixtures for plate reader tests: tiny TIFF writers and synthetic plates."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import pytest
import tifffile


@pytest.fixture
def write_tiffs() -> Callable[[Path, Iterable[str]], list[Path]]:
    """Write a tiny 8x6 uint16 TIFF at each relative path (value = file number)."""

    def write(root: Path, names: Iterable[str]) -> list[Path]:
        out = []
        for i, name in enumerate(names):
            target = root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            tifffile.imwrite(target, np.full((8, 6), i, dtype=np.uint16))
            out.append(target)
        return out

    return write


def ix_names(wells: Iterable[str], sites: int, channels: int, folder: str = "") -> list[str]:
    """ImageXpress file names for a full grid, optionally inside ``folder``."""
    prefix = f"{folder}/" if folder else ""
    return [
        f"{prefix}{w}_s{s}_w{c}.tif"
        for w in wells
        for s in range(1, sites + 1)
        for c in range(1, channels + 1)
    ]
