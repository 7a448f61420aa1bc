"""OpenHCS GUI: a memory-first engine and desktop app for high-content screening.

The public API is re-exported here lazily (PEP 562), so ``import openhcs_gui``
is cheap and never pulls in Qt, napari or zarr until a name is used.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from openhcs_gui._lazy import lazy_exports

try:
    __version__ = version("openhcs-gui")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+unknown"

_EXPORTS: dict[str, str] = {
    # constants
    "Backend": "openhcs_gui.constants",
    "MaterializationBackend": "openhcs_gui.constants",
    "ZarrCompressor": "openhcs_gui.constants",
    "ZarrChunkStrategy": "openhcs_gui.constants",
    "Component": "openhcs_gui.constants",
    "RunStatus": "openhcs_gui.constants",
    # config
    "VFSConfig": "openhcs_gui.config",
    "ZarrConfig": "openhcs_gui.config",
    "MaterializationConfig": "openhcs_gui.config",
    "GlobalPipelineConfig": "openhcs_gui.config",
    "save_config": "openhcs_gui.config",
    "load_config": "openhcs_gui.config",
    "effective_materialization": "openhcs_gui.config",
    # errors
    "OpenHCSError": "openhcs_gui.errors",
    # storage
    "FileManager": "openhcs_gui.vfs",
    "MemoryBackend": "openhcs_gui.vfs",
    "DiskBackend": "openhcs_gui.vfs",
    "ZarrBackend": "openhcs_gui.vfs",
    "StorageBackend": "openhcs_gui.vfs",
    # plates
    "PlateIndex": "openhcs_gui.plates",
    "open_plate": "openhcs_gui.plates",
    "make_synthetic_plate": "openhcs_gui.plates",
    # pipeline
    "FunctionStep": "openhcs_gui.pipeline",
    "Pipeline": "openhcs_gui.pipeline",
    "RunResult": "openhcs_gui.pipeline",
    "run_pipeline": "openhcs_gui.pipeline",
    "CancelToken": "openhcs_gui.pipeline",
    # functions
    "register_function": "openhcs_gui.functions",
    "get_function": "openhcs_gui.functions",
    "list_functions": "openhcs_gui.functions",
}

__all__ = ["__version__", *_EXPORTS]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals(), __all__)
