"""Enumerations shared by the engine, the config models and the GUI.

All enums are ``str`` enums whose values are the lowercase names, so they
serialize to readable JSON and a config file can say ``"backend": "zarr"``.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "Backend",
    "MaterializationBackend",
    "ZarrCompressor",
    "ZarrChunkStrategy",
    "Component",
    "RunStatus",
]


class Backend(StrEnum):
    """Where a piece of data lives in the virtual file system."""

    MEMORY = "memory"
    DISK = "disk"
    ZARR = "zarr"


class MaterializationBackend(StrEnum):
    """Persistent backends a result can be materialized to (memory is not persistent)."""

    DISK = "disk"
    ZARR = "zarr"

    def as_backend(self) -> Backend:
        """The matching general :class:`Backend`."""
        return Backend(self.value)


class ZarrCompressor(StrEnum):
    """Compressor for zarr chunks. Blosc variants use Blosc's threaded, GIL-free path."""

    ZSTD = "zstd"
    LZ4 = "lz4"
    ZLIB = "zlib"
    BLOSC_LZ4 = "blosc_lz4"
    NONE = "none"


class ZarrChunkStrategy(StrEnum):
    """How a field array ``(c, z, y, x)`` is cut into chunks.

    ``SINGLE`` gives one chunk per image plane, so a viewer reads one image
    without decoding its neighbours; ``WELL`` gives one chunk per field array.
    """

    SINGLE = "single"
    WELL = "well"


class Component(StrEnum):
    """Axes of a plate that an image key is made of."""

    WELL = "well"
    SITE = "site"
    CHANNEL = "channel"
    Z = "z"
    TIME = "time"  #: time point; ``ImageKey.t`` (``"t"`` is accepted as a spelling)

    @classmethod
    def _missing_(cls, value: object) -> Component | None:
        return cls.TIME if value in ("t", "T", "timepoint") else None


class RunStatus(StrEnum):
    """Final state of a pipeline run."""

    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
