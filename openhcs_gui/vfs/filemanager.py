"""FileManager: routes path operations to a backend instance looked up by name.

Backend names map to factories in a small registry (fsspec's ``registry.py``
idea), so callers never branch on backend names: ``fm.save(img, path, "zarr")``
and ``fm.save(img, path, Backend.ZARR)`` reach the same ``ZarrBackend``.
Backends are created on first use, one per FileManager; the zarr backend is
imported only then, so memory/disk work without touching zarr at all.

A FileManager owns its backends: one run = one FileManager = one private
``MemoryBackend``, so runs never share intermediates.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from openhcs_gui.constants import Backend
from openhcs_gui.errors import OpenHCSError
from openhcs_gui.vfs.base import PathLike, StorageBackend

if TYPE_CHECKING:
    from openhcs_gui.config import ZarrConfig
    from openhcs_gui.metadata import PlateMetadata

__all__ = ["FileManager", "register_backend", "registered_backends", "UnknownBackendError"]

#: Builds a backend from the FileManager's options (``zarr_config``, ``plate_metadata``).
BackendFactory = Callable[[Mapping[str, Any]], StorageBackend]


class UnknownBackendError(OpenHCSError, ValueError):
    """A backend name that no factory is registered for."""


_REGISTRY: dict[str, BackendFactory] = {}


def register_backend(name: Backend | str, factory: BackendFactory, *, clobber: bool = False) -> None:
    """Make ``name`` resolvable by every FileManager created afterwards.

    Parameters
    ----------
    name
        A :class:`Backend` or its string value (other names are allowed for plug-ins).
    factory
        Called once per FileManager with its options mapping; returns the backend.
    clobber
        Replace an existing registration instead of raising.

    Raises
    ------
    ValueError
        If ``name`` is already registered and ``clobber`` is False.
    """
    key = str(name)
    if key in _REGISTRY and not clobber:
        raise ValueError(f"Backend '{key}' is already registered; pass clobber=True to replace it.")
    _REGISTRY[key] = factory


def registered_backends() -> list[str]:
    """Sorted names that :meth:`FileManager.backend` accepts."""
    return sorted(_REGISTRY)


def _memory(options: Mapping[str, Any]) -> StorageBackend:
    from openhcs_gui.vfs.memory import MemoryBackend

    return MemoryBackend()


def _disk(options: Mapping[str, Any]) -> StorageBackend:
    from openhcs_gui.vfs.disk import DiskBackend

    return DiskBackend(plate_metadata=options.get("plate_metadata"))


def _zarr(options: Mapping[str, Any]) -> StorageBackend:
    from openhcs_gui.vfs.zarr_store import ZarrBackend  # lazy: zarr is heavy

    backend: StorageBackend = ZarrBackend(options.get("zarr_config"),
                                          plate_metadata=options.get("plate_metadata"))
    return backend


register_backend(Backend.MEMORY, _memory)
register_backend(Backend.DISK, _disk)
register_backend(Backend.ZARR, _zarr)


class FileManager:
    """Route VFS calls to backends by name; create each backend lazily, once.

    Parameters
    ----------
    backends
        Ready-made backend instances to use instead of the registered factories
        (e.g. a ``DiskBackend(root=...)`` or a shared ``MemoryBackend``).
    zarr_config
        Passed to the zarr backend when it is first needed.
    plate_metadata
        Physical metadata of the plate a run writes (pixel size, units,
        channel names and colours, plate name and geometry). The zarr backend
        puts it in the OME-Zarr ``multiscales``/``omero``/``plate`` metadata,
        the disk backend in the TIFF resolution tags; given ``backends`` get it
        too. See :meth:`set_plate_metadata`.
    """

    def __init__(
        self,
        backends: Mapping[Backend | str, StorageBackend] | None = None,
        *,
        zarr_config: ZarrConfig | None = None,
        plate_metadata: PlateMetadata | None = None,
    ) -> None:
        self.zarr_config = zarr_config
        self.plate_metadata = plate_metadata
        self._lock = threading.Lock()
        self._backends: dict[str, StorageBackend] = {}
        for name, backend in (backends or {}).items():
            self._backends[self._resolve_name(name)] = backend
        if plate_metadata is not None:
            self.set_plate_metadata(plate_metadata)

    @staticmethod
    def _resolve_name(name: Backend | str) -> str:
        key = str(name)
        if key not in _REGISTRY:
            raise UnknownBackendError(
                f"Unknown backend '{key}'; valid backends: {', '.join(registered_backends())}."
            )
        return key

    def backend(self, name: Backend | str) -> StorageBackend:
        """The backend instance for ``name``, created on first use.

        Raises
        ------
        UnknownBackendError
            If no backend is registered under ``name`` (the message lists valid names).
        """
        key = self._resolve_name(name)
        found = self._backends.get(key)
        if found is not None:
            return found
        with self._lock:  # two worker threads must not create two memory stores
            found = self._backends.get(key)
            if found is None:
                found = _REGISTRY[key]({"zarr_config": self.zarr_config,
                                        "plate_metadata": self.plate_metadata})
                self._backends[key] = found
        return found

    def set_plate_metadata(self, metadata: PlateMetadata | None) -> None:
        """Give every backend (created now or later) the plate's physical metadata.

        Backends without a ``set_plate_metadata`` method (memory) ignore it.
        """
        with self._lock:
            self.plate_metadata = metadata
            backends = list(self._backends.values())
        for backend in backends:
            setter = getattr(backend, "set_plate_metadata", None)
            if setter is not None:
                setter(metadata)

    @property
    def active_backends(self) -> dict[str, StorageBackend]:
        """Backends created (or given) so far, by name."""
        return dict(self._backends)

    # ------------------------------------------------------------ routing
    def save(self, data: Any, path: PathLike, backend: Backend | str, *, overwrite: bool = True) -> None:
        """Store ``data`` at ``path`` in ``backend``."""
        self.backend(backend).save(data, path, overwrite=overwrite)

    def load(self, path: PathLike, backend: Backend | str) -> Any:
        """Load the object at ``path`` from ``backend``."""
        return self.backend(backend).load(path)

    def save_batch(
        self,
        datas: Sequence[Any],
        paths: Sequence[PathLike],
        backend: Backend | str,
        *,
        overwrite: bool = True,
    ) -> None:
        """Store several objects in one backend call (backends parallelize it)."""
        self.backend(backend).save_batch(datas, paths, overwrite=overwrite)

    def load_batch(self, paths: Sequence[PathLike], backend: Backend | str) -> list[Any]:
        """Load several objects in order."""
        return self.backend(backend).load_batch(paths)

    def exists(self, path: PathLike, backend: Backend | str) -> bool:
        """True if ``path`` is a file or a directory in ``backend``."""
        return self.backend(backend).exists(path)

    def is_file(self, path: PathLike, backend: Backend | str) -> bool:
        """True if an object is stored at exactly ``path``."""
        return self.backend(backend).is_file(path)

    def is_dir(self, path: PathLike, backend: Backend | str) -> bool:
        """True if ``path`` is a directory in ``backend``."""
        return self.backend(backend).is_dir(path)

    def list_files(
        self,
        directory: PathLike,
        backend: Backend | str,
        extensions: Iterable[str] | None = None,
        recursive: bool = False,
    ) -> list[str]:
        """Sorted file keys in ``directory``, optionally filtered by extension and recursive."""
        return self.backend(backend).list_files(directory, extensions=extensions, recursive=recursive)

    def list_dir(self, directory: PathLike, backend: Backend | str) -> list[str]:
        """Sorted names of the direct children of ``directory``."""
        return self.backend(backend).list_dir(directory)

    def delete(self, path: PathLike, backend: Backend | str) -> None:
        """Delete a file or a directory tree."""
        self.backend(backend).delete(path)

    def ensure_directory(self, path: PathLike, backend: Backend | str) -> str:
        """Make ``path`` usable as a directory; returns its normalized key."""
        return self.backend(backend).ensure_directory(path)

    def copy(self, src: PathLike, dst: PathLike, backend: Backend | str, *, overwrite: bool = False) -> None:
        """Copy a file or tree within one backend."""
        self.backend(backend).copy(src, dst, overwrite=overwrite)

    def move(self, src: PathLike, dst: PathLike, backend: Backend | str, *, overwrite: bool = False) -> None:
        """Move a file or tree within one backend."""
        self.backend(backend).move(src, dst, overwrite=overwrite)

    # ---------------------------------------------------------- lifecycle
    def close(self) -> None:
        """Close every backend this manager holds (flushes zarr plate metadata).

        The memory backend keeps its data, so a finished run can still be browsed.
        """
        with self._lock:
            backends = list(self._backends.values())
        for backend in backends:
            backend.close()

    def __enter__(self) -> FileManager:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        names = ", ".join(f"{k}={v!r}" for k, v in sorted(self._backends.items()))
        return f"FileManager({names})"
