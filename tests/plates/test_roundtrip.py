"""Step folders written through the VFS open again as input plates (the contract's promise)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from openhcs_gui.constants import Backend
from openhcs_gui.plates import open_plate
from openhcs_gui.vfs import FileManager
from openhcs_gui.vfs.keys import ImageKey

KEYS = [ImageKey(w, s, c, z) for w in ("A01", "B02") for s in (1, 2) for c in (1, 2) for z in (1, 2)]


def _pixels(key: ImageKey) -> np.ndarray:
    return np.full((16, 20), key.site * 100 + key.channel * 10 + key.z, np.uint16)


@pytest.mark.parametrize(
    ("backend", "sub", "fmt"),
    [(Backend.DISK, "", "workspace"), (Backend.ZARR, "images.zarr", "omezarr")],
)
def test_step_folder_reopens(tmp_path: Path, backend: Backend, sub: str, fmt: str) -> None:
    step = tmp_path / "demo_workspace" / "step1_blur"
    target = step / sub if sub else step
    fm = FileManager()
    try:
        fm.save_batch([_pixels(k) for k in KEYS], [str(target / k.filename()) for k in KEYS], backend)
    finally:
        fm.close()
    index = open_plate(step)
    assert (index.format, index.name, index.backend) == (fmt, "demo_step1_blur", backend)
    assert set(index.images) == set(KEYS) and index.warnings == []
    assert index.shape == (16, 20) and index.dtype == np.uint16
    reader = FileManager()
    try:
        for key in (KEYS[0], KEYS[-1]):
            assert np.array_equal(np.asarray(reader.load(index.images[key], index.backend)), _pixels(key))
    finally:
        reader.close()
