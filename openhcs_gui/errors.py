"""One error hierarchy for the whole engine.

Every error derives from :class:`OpenHCSError` *and* from the builtin it
means, so ``except FileNotFoundError`` keeps working for callers that do not
know our types (the zarr-python / fsspec convention). Messages are one
sentence naming what failed and where (path, backend, well, field).
"""

from __future__ import annotations

__all__ = [
    "OpenHCSError",
    "ConfigFileError",
    "StorageError",
    "PathNotFoundError",
    "PathExistsError",
    "InvalidPathError",
    "UnsupportedFormatError",
    "ReadOnlyBackendError",
    "NotWritableError",
    "PlateError",
    "PipelineError",
    "FunctionNotFoundError",
    "RunCancelledError",
    "ClusterError",
    "ProjectError",
]


class OpenHCSError(Exception):
    """Root of every error raised on purpose by openhcs_gui."""


class ConfigFileError(OpenHCSError, ValueError):
    """A config file could not be read or does not validate (names file and field)."""


class StorageError(OpenHCSError, OSError):
    """A storage backend could not complete an operation."""


class PathNotFoundError(StorageError, FileNotFoundError):
    """The path does not exist in the named backend."""


class PathExistsError(StorageError, FileExistsError):
    """The destination already exists and overwriting was not asked for."""


class InvalidPathError(OpenHCSError, ValueError):
    """A path is malformed or escapes its backend's root (``..``)."""


class UnsupportedFormatError(OpenHCSError, ValueError):
    """The file extension names a format the backend cannot read or write."""


class ReadOnlyBackendError(StorageError, PermissionError):
    """A write was attempted on a backend opened read-only."""


class NotWritableError(StorageError, PermissionError):
    """The folder cannot be written (permissions, read-only mount)."""


class PlateError(OpenHCSError, ValueError):
    """An input plate cannot be opened or indexed."""


class PipelineError(OpenHCSError, ValueError):
    """A pipeline or pipeline file is invalid (names the step)."""


class FunctionNotFoundError(PipelineError, KeyError):
    """No function is registered under the requested name."""

    def __str__(self) -> str:  # KeyError quotes its message; we want plain text
        return str(self.args[0]) if self.args else ""


class RunCancelledError(OpenHCSError):
    """Raised inside a worker when the user cancelled the run."""


class ClusterError(OpenHCSError, ConnectionError):
    """A dask scheduler cannot be reached or a local cluster cannot start (names the address)."""


class ProjectError(OpenHCSError, ValueError):
    """A project file cannot be read, written or does not validate (names the file and the problem)."""
