"""The thin adapter between the engine's ``run_pipeline`` and Qt.

:class:`RunController` calls the engine's public ``run_pipeline`` on the worker
pool of its window; the engine's progress callback (called on engine threads) only appends
to a queue and, at most once per batch, queues one call on the GUI thread
(:func:`~openhcs_gui.ui.workers.main_thread_caller`, dropped if the controller is gone). The GUI
thread then handles the whole batch, so a run writing thousands of images
cannot flood the event loop and the window stays responsive. Cancel sets the
engine's ``CancelToken``. A fresh run and a resumed one take the same path;
only the ``resume`` argument differs. Where the wells run is the
controller's ``target`` (:class:`~openhcs_gui.ui.run_target.RunTarget`): it
gives each run its executor (``None``: threads); a wrong scheduler address
fails the run in one sentence, on the worker, like any other start failure.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from PySide6.QtCore import QObject, Signal

from openhcs_gui.errors import ClusterError
from openhcs_gui.pipeline import (  # imported with the panel, not on the first click
    CancelToken,
    run_pipeline,
)
from openhcs_gui.ui.workers import Task, TaskOwner, main_thread_caller

__all__ = ["RunController"]


def _run(problem: BaseException | None, *args: Any, **kwargs: Any) -> Any:
    """``run_pipeline`` on the worker, or the reason the run cannot start (raised there)."""
    if problem is not None:
        raise problem
    return run_pipeline(*args, **kwargs)


class RunController(QObject):
    """Runs a pipeline on a worker and re-emits its progress on the GUI thread.

    Attributes
    ----------
    started
        A run was submitted (before its first event).
    events_received
        A list of progress events, in order (batched).
    finished
        The ``RunResult``.
    failed
        ``(exception, traceback)`` when the run could not start or crashed.
    target
        Gives each run its executor (``executor_for(cfg)``); ``None``: threads.
    """

    started = Signal()
    events_received = Signal(list)
    finished = Signal(object)
    failed = Signal(object, str)

    def __init__(self, parent: QObject | None = None, *, tasks: TaskOwner | None = None) -> None:
        super().__init__(parent)
        self._tasks = tasks if tasks is not None else TaskOwner(self)
        self._lock = threading.Lock()
        self._queue: list[Any] = []
        self._pending = False
        self.token: CancelToken | None = None
        self.task: Task | None = None
        self.target: Any = None
        # Engine threads never touch this QObject: they queue a call that is dropped if it is gone.
        self._request_flush = main_thread_caller(self._on_flush_requested)

    @property
    def running(self) -> bool:
        """True from :meth:`start` until ``finished``/``failed`` was emitted."""
        return self.task is not None

    def start(self, pipeline: Any, plate: Any, cfg: Any,
              resume: bool | str | os.PathLike[str] = False) -> None:
        """Start ``run_pipeline(pipeline, plate, cfg, resume=resume)`` in the background.

        Parameters
        ----------
        resume
            ``False`` for a new workspace; a workspace path (or ``True``) to
            continue an earlier run there, skipping its completed wells.
        """
        self.token = CancelToken()
        executor, problem = None, None
        if self.target is not None:
            try:
                executor = self.target.executor_for(cfg)
            except ClusterError as e:
                problem = e
        self.task = self._tasks.submit(
            _run,
            problem,
            pipeline,
            plate,
            cfg,
            progress=self._on_engine_event,
            cancel=self.token,
            resume=resume,
            executor=executor,
            name="resume" if resume else "run",
            on_finished=self._on_task_finished,
            on_failed=self._on_task_failed,
        )
        self.started.emit()

    def cancel(self) -> None:
        """Ask the engine to stop after the function calls in progress."""
        if self.token is not None:
            self.token.cancel()

    def _on_engine_event(self, event: Any) -> None:  # engine thread
        with self._lock:
            self._queue.append(event)
            if self._pending:
                return
            self._pending = True
        self._request_flush()

    def _on_flush_requested(self) -> None:
        with self._lock:
            batch, self._queue = self._queue, []
            self._pending = False
        if batch:
            self.events_received.emit(batch)

    def _on_task_finished(self, result: Any) -> None:
        self._on_flush_requested()
        self.task = None
        self.finished.emit(result)

    def _on_task_failed(self, error: BaseException, tb: str) -> None:
        self._on_flush_requested()
        self.task = None
        self.failed.emit(error, tb)
