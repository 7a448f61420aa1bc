"""Typed progress events and the cancel token of a run.

Events are plain frozen dataclasses delivered to a callback *from worker
threads*; a GUI adapter turns them into Qt signals (napari's layer-slicer
pattern), the CLI into a tqdm bar. They carry no Qt, no locks and no arrays,
so a distributed executor can send them over the wire later.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

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
    """``well`` went through every step (``ok``) or stopped (failed / cancelled)."""

    well: str
    ok: bool
    seconds: float


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
