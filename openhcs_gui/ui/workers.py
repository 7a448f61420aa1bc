"""Background work for the GUI: engine calls on a thread pool, results via queued signals.

The GUI thread never does I/O or computation (plate scans, image reads, zarr
opens, runs). :func:`submit` runs a plain function on a small
``concurrent.futures`` pool; when it ends, a :class:`Task` QObject living in
the GUI thread emits ``finished`` or ``failed``. The emission crosses threads, so Qt queues it onto the GUI event
loop (napari's layer-slicer → ``qt_viewer`` pattern).
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

__all__ = ["Task", "submit", "active_tasks", "wait_idle", "shutdown"]

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()
_active: set[Task] = set()
#: Delivered tasks, kept alive until the event loop has left their slot: a QObject
#: whose last Python reference dies inside its own signal dispatch is freed while
#: Qt still uses it (memory corruption that crashed later in unrelated code).
_retired: set[Task] = set()


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="openhcs-gui")
        return _pool


class Task(QObject):
    """Handle of one background call; signals arrive on the GUI thread.

    Attributes
    ----------
    finished
        Emitted with the function's return value.
    failed
        Emitted with ``(exception, formatted traceback)``.
    """

    finished = Signal(object)
    failed = Signal(object, str)
    _done = Signal(object)  # (ok, value, tb) crossing from the worker thread

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        self.future: Future[Any] | None = None
        self._done.connect(self._on_worker_done)

    def _on_worker_done(self, outcome: tuple[bool, Any, str]) -> None:
        _active.discard(self)
        _retired.add(self)
        QTimer.singleShot(0, partial(_retired.discard, self))
        ok, value, tb = outcome
        if ok:
            self.finished.emit(value)
        else:
            self.failed.emit(value, tb)

    @property
    def running(self) -> bool:
        """True until the result has been delivered on the GUI thread."""
        return self in _active


def submit(
    fn: Callable[..., Any],
    *args: Any,
    name: str = "",
    on_finished: Callable[[Any], None] | None = None,
    on_failed: Callable[[BaseException, str], None] | None = None,
    **kwargs: Any,
) -> Task:
    """Run ``fn(*args, **kwargs)`` on the worker pool.

    Parameters
    ----------
    fn
        Plain (Qt-free) callable; it must not touch widgets.
    name
        Label for debugging and for :func:`active_tasks`.
    on_finished, on_failed
        Connected to the task's signals before it starts (so nothing is missed).

    Returns
    -------
    Task
        Keeps itself alive until its result is delivered.
    """
    task = Task(name or getattr(fn, "__name__", "task"))
    if on_finished is not None:
        task.finished.connect(on_finished)
    if on_failed is not None:
        task.failed.connect(on_failed)
    _active.add(task)

    def _call() -> None:
        try:
            outcome: tuple[bool, Any, str] = (True, fn(*args, **kwargs), "")
        except BaseException as e:  # delivered to the GUI, never swallowed
            outcome = (False, e, traceback.format_exc())
        task._done.emit(outcome)

    task.future = _executor().submit(_call)
    return task


def active_tasks() -> list[Task]:
    """Tasks whose results have not been delivered yet."""
    return list(_active)


def wait_idle(timeout: float = 30.0) -> bool:
    """Block until every submitted call returned (tests and shutdown use this)."""
    futures = [t.future for t in list(_active) if t.future is not None]
    for fut in futures:
        try:
            fut.result(timeout=timeout)
        except Exception:  # the failure itself is reported through Task.failed
            continue
    return all(f.done() for f in futures)


def shutdown() -> None:
    """Wait for running calls and stop the pool (application exit)."""
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)
