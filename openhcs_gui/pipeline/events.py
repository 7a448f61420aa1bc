"""Typed progress events and the cancel token of a run.

Events are plain frozen dataclasses delivered to a callback *from worker
threads*; a GUI adapter turns them into Qt signals (napari's layer-slicer
pattern), the CLI into a tqdm bar. They carry no Qt, no locks and no arrays;
:func:`event_to_dict` / :func:`event_from_dict` turn them into msgpack-able
plain data and back, so a distributed executor streams them from its workers
into the same typed events on the driver.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from enum import Enum
from typing import Any

from openhcs_gui.constants import Backend, RunStatus

__all__ = [
    "ProgressEvent",
    "ProgressCallback",
    "RunStarted",
    "StepStarted",
    "StepFinished",
    "ImageWritten",
    "RunWarning",
    "WellFailed",
    "WellFinished",
    "RunFinished",
    "CancelToken",
    "event_to_dict",
    "event_from_dict",
]


@dataclass(frozen=True)
class RunStarted:
    """The plan is made and the workspace exists; wells are about to start."""

    total_wells: int  #: wells that will run (a resumed run excludes ``skipped``)
    steps: tuple[str, ...]
    workspace: str = ""
    skipped: int = 0  #: wells a resumed run skips because they completed before


@dataclass(frozen=True)
class StepStarted:
    """Step ``step_index`` (0-based) starts on ``well``."""

    step_index: int
    step_name: str
    well: str


@dataclass(frozen=True)
class StepFinished:
    """Step ``step_index`` finished on ``well`` after ``seconds`` (compute + write)."""

    step_index: int
    step_name: str
    well: str
    seconds: float


@dataclass(frozen=True)
class ImageWritten:
    """One image (or table) reached its backend; ``nbytes`` is its in-memory size."""

    path: str
    backend: Backend
    nbytes: int
    step_index: int = -1  #: 0-based step that wrote it


@dataclass(frozen=True)
class RunWarning:
    """Something the user should know that did not stop the run."""

    message: str


@dataclass(frozen=True)
class WellFailed:
    """A step raised on ``well``; the other wells go on."""

    well: str
    step_name: str
    message: str
    traceback: str


@dataclass(frozen=True)
class WellFinished:
    """``well`` went through every step (``ok``) or stopped (failed / cancelled).

    ``host`` and ``pid`` name the process that ran the well (a dask worker on a
    distributed run, this process on a thread run); empty / 0 when no process
    ran it (a queued well cancelled before it started).
    """

    well: str
    ok: bool
    seconds: float
    host: str = ""
    pid: int = 0


@dataclass(frozen=True)
class RunFinished:
    """The run ended; ``status`` is completed, failed or cancelled."""

    status: RunStatus
    seconds: float


ProgressEvent = (
    RunStarted | StepStarted | StepFinished | ImageWritten | RunWarning | WellFailed
    | WellFinished | RunFinished
)
ProgressCallback = Callable[[ProgressEvent], None]

_TYPES: dict[str, type] = {cls.__name__: cls for cls in (
    RunStarted, StepStarted, StepFinished, ImageWritten, RunWarning, WellFailed, WellFinished, RunFinished)}
_ENUMS: dict[str, type[Enum]] = {"Backend": Backend, "RunStatus": RunStatus}


def event_to_dict(event: ProgressEvent) -> dict[str, Any]:
    """Plain, msgpack-able data for ``event`` (``{"event": <class name>, <fields>}``)."""
    out: dict[str, Any] = {"event": type(event).__name__}
    for f in fields(event):  # type: ignore[arg-type]
        value = getattr(event, f.name)
        out[f.name] = value.value if isinstance(value, Enum) else list(value) if isinstance(value, tuple) else value
    return out


def event_from_dict(data: Mapping[str, Any]) -> ProgressEvent:
    """Inverse of :func:`event_to_dict`.

    Raises
    ------
    ValueError
        If ``data`` names no progress event type.
    """
    cls = _TYPES.get(str(data.get("event")))
    if cls is None:
        raise ValueError(f"Unknown progress event {data.get('event')!r} (known: {', '.join(_TYPES)}).")
    kwargs: dict[str, Any] = {}
    for f in fields(cls):
        if f.name not in data:
            continue
        value = data[f.name]
        enum = _ENUMS.get(str(f.type))
        kwargs[f.name] = enum(value) if enum is not None else tuple(value) if isinstance(value, list) else value
    return cls(**kwargs)  # type: ignore[no-any-return]


class CancelToken:
    """Thread-safe cancel flag, polled by each well worker while a function runs.

    Threads are never killed: a worker abandons the call it waits on (the call
    finishes in the background and its result is discarded, see
    :mod:`openhcs_gui.pipeline.calls`) and stops before writing anything, so
    everything already materialized stays valid.
    """

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        """Ask the run to stop; workers give up their current call within ~50 ms."""
        self._event.set()

    @property
    def cancelled(self) -> bool:
        """True once :meth:`cancel` was called."""
        return self._event.is_set()

    def __repr__(self) -> str:
        return f"CancelToken(cancelled={self.cancelled})"
