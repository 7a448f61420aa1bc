"""Virtual file system: one storage contract, three backends, one router.

``ZarrBackend`` is imported lazily (PEP 562) so ``import openhcs_gui.vfs``
stays cheap and never imports zarr until the zarr backend is used.
"""

from __future__ import annotations

import importlib
from typing import Any

from openhcs_gui.vfs.base import StorageBackend, normalize_path
from openhcs_gui.vfs.disk import DiskBackend
from openhcs_gui.vfs.filemanager import FileManager, register_backend
from openhcs_gui.vfs.memory import MemoryBackend

__all__ = [
    "StorageBackend",
    "normalize_path",
    "MemoryBackend",
    "DiskBackend",
    "ZarrBackend",
    "FileManager",
    "register_backend",
]

_LAZY = {"ZarrBackend": "openhcs_gui.vfs.zarr_store"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'openhcs_gui.vfs' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
