"""DiskBackend: the contract plus formats, atomic writes under a simulated crash, errors."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tifffile
from contract import BackendContract, ObjectStoreContract, assert_same_array, make_image

from openhcs_gui.errors import (
    InvalidPathError,
    NotWritableError,
    PathNotFoundError,
    StorageError,
    UnsupportedFormatError,
)
from openhcs_gui.vfs.disk import DiskBackend


class TestDiskBackend(BackendContract, ObjectStoreContract):
    backend_cls = DiskBackend
    supports_empty_directories = True

    @pytest.fixture
    def backend_kwargs(self, tmp_path: Path) -> dict[str, Any]:
        return {"root": str(tmp_path / "root")}

    def put_raw(self, backend: DiskBackend, key: str, array: np.ndarray) -> None:
        path = Path(backend.root, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tifffile.imwrite(path, array, photometric="minisblack")

    def get_raw(self, backend: DiskBackend, key: str) -> np.ndarray:
        return tifffile.imread(Path(backend.root, key))
