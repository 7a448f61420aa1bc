"""Virtual file system: one storage contract, three backends, one router.

``ZarrBackend`` is imported lazily (PEP 562) so ``import openhcs_gui.vfs``
stays cheap and never imports zarr until the zarr backend is used.
"""

from __future__ import annotations

from openhcs_gui._lazy import lazy_exports
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

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals(), __all__)
