"""Background work for the GUI: each window owns its workers; results come back as Qt signals.

The GUI thread never does I/O or computation (plate scans, image reads, zarr
opens, runs). A :class:`TaskOwner` is a QObject child of the window (or panel)
it works for. :meth:`TaskOwner.submit` runs a plain function on the owner's own
``concurrent.futures`` pool and returns a :class:`Task`, a QObject child of the
owner whose ``finished``/``failed`` signals fire on the GUI thread.

Lifetimes (STYLE rule 16, napari's ``_layer_slicer`` → ``qt_viewer``):

* Callbacks are bound methods of QObjects (or ``functools.partial`` of one, or a
  Qt signal), connected with their QObject as the receiver, so Qt drops the
  connection when that object is deleted. Lambdas and plain functions are
  refused (:class:`TypeError`): nothing can call into a deleted widget.
* A worker thread never touches the window's objects. It hands its outcome to
  one relay that lives as long as the ``QApplication``; on the GUI thread the
  relay gives it to the task only if the task (a child of the owner, so of the
  window) still exists and its owner was not closed.
* :meth:`TaskOwner.close` (the window's ``closeEvent``) returns at once: queued
  calls are cancelled, calls already running finish in the background and
  their results are dropped.
"""

from __future__ import annotations

import threading
import traceback
import weakref
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from typing import Any

import shiboken6
from PySide6.QtCore import SIGNAL, QCoreApplication, QObject, Signal, SignalInstance

__all__ = ["Task", "TaskOwner", "main_thread_caller", "wait_idle", "shutdown"]

#: Every pool ever created and not yet collected, for :func:`wait_idle` / :func:`shutdown` only.
_pools: weakref.WeakSet[_Pool] = weakref.WeakSet()
_SIGNATURES = {"finished": SIGNAL("finished(PyObject)"), "failed": SIGNAL("failed(PyObject,QString)")}


class _Pool:
    """The Qt-free half of a :class:`TaskOwner`: executor, futures and the closed flag.

    It outlives the QObject (a test may wait for a closed window's last calls).
    """

    def __init__(self, max_workers: int, name: str) -> None:
        self.executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix=name)
        self.futures: set[Future[Any]] = set()
        self.lock = threading.Lock()
        self.closed = False
        _pools.add(self)

    def submit(self, call: Callable[[], None]) -> Future[Any]:
        with self.lock:
            future = self.executor.submit(call)
            self.futures.add(future)
        future.add_done_callback(self._forget)
        return future

    def _forget(self, future: Future[Any]) -> None:
        with self.lock:
            self.futures.discard(future)

    def close(self, *_args: Any) -> None:
        """Cancel queued calls; running ones finish on their own (never blocks)."""
        with self.lock:
            self.closed = True
        self.executor.shutdown(wait=False, cancel_futures=True)

    def wait(self, timeout: float) -> bool:
        with self.lock:
            futures = list(self.futures)
        for future in futures:
            try:
                future.exception(timeout=timeout)
            except Exception:  # timed out or cancelled: judged by done() below
                continue
        return all(f.done() for f in futures)


class _Relay(QObject):
    """Carries outcomes from worker threads to the GUI thread; lives as long as the app."""

    delivered = Signal(object, object)
    called = Signal(object, object, object)

    def __init__(self, app: QCoreApplication) -> None:
        super().__init__(app)
        self.delivered.connect(self._on_delivered)
        self.called.connect(self._on_called)

    def _on_delivered(self, task: Task, outcome: tuple[bool, Any, str]) -> None:
        if shiboken6.isValid(task):  # else its window is gone, and the task with it
            task._deliver(outcome)

    def _on_called(self, receiver: QObject, method: Callable[..., Any], args: tuple[Any, ...]) -> None:
        if shiboken6.isValid(receiver):
            method(*args)


_relay_instance: _Relay | None = None


def _relay() -> _Relay:
    """The application's relay, made on the GUI thread by the first owner."""
    global _relay_instance
    if _relay_instance is None or not shiboken6.isValid(_relay_instance):
        app = QCoreApplication.instance()
        if app is None:
            raise RuntimeError("create the QApplication before the first TaskOwner (workers.py)")
        _relay_instance = _Relay(app)
    return _relay_instance


def _receiver(callback: Any, what: str) -> QObject | None:
    """The QObject whose deletion must drop ``callback`` (``None``: it is a Qt signal)."""
    if isinstance(callback, SignalInstance):
        return None
    func = callback.func if isinstance(callback, partial) else callback
    owner = getattr(func, "__self__", None)
    if isinstance(owner, QObject):
        return owner
    name = getattr(func, "__qualname__", repr(func))
    raise TypeError(f"{what} must be a bound method of a QObject, a partial of one, or a signal "
                    f"(Qt drops those when their object is deleted); got {name}")


def main_thread_caller(method: Callable[..., Any]) -> Callable[..., None]:
    """A stand-in for ``method`` that any thread may call; ``method`` then runs on the GUI thread.

    napari's ``ensure_main_thread``, plus the lifetime rule: the call is dropped
    if the method's QObject was deleted meanwhile. Make it on the GUI thread.

    Parameters
    ----------
    method
        A bound method of a QObject (its object decides whether the call still happens).

    Returns
    -------
    Callable
        Thread-safe; returns at once (the call is queued).

    Raises
    ------
    TypeError
        If ``method`` is not a bound method of a QObject.
    """
    receiver = _receiver(method, "method")
    if receiver is None:
        raise TypeError("main_thread_caller needs a bound method of a QObject, not a signal")
    relay = _relay()

    def _call(*args: Any) -> None:
        if shiboken6.isValid(relay):  # else the application is gone
            relay.called.emit(receiver, method, args)

    return _call


class Task(QObject):
    """Handle of one background call; its signals arrive on the GUI thread.

    A task is a child of its :class:`TaskOwner` and is deleted (later) once its
    result has been delivered; its Python attributes stay readable.

    Attributes
    ----------
    finished
        Emitted with the function's return value.
    failed
        Emitted with ``(exception, formatted traceback)``.
    name
        Label for debugging.
    future
        The ``concurrent.futures`` future of the call (``None`` if it never ran); its
        result is the function's, for code that waits off the GUI thread (tests).
    """

    finished = Signal(object)
    failed = Signal(object, str)

    def __init__(self, name: str, owner: TaskOwner) -> None:
        super().__init__(owner)
        self.name = name
        self.future: Future[Any] | None = None
        self._pool = owner._pool
        self._siblings = owner._tasks
        self._done = False

    @property
    def running(self) -> bool:
        """True until the result was delivered (or dropped because the owner closed)."""
        return not self._done

    def connect_outcome(self, on_finished: Any = None, on_failed: Any = None) -> None:
        """Connect ``finished``/``failed`` to bound methods (or partials of them) or signals.

        Raises
        ------
        TypeError
            If a callback is a lambda or a plain function (nothing tells Qt when to drop it).
        """
        for signal_name, callback in (("finished", on_finished), ("failed", on_failed)):
            if callback is None:
                continue
            receiver = _receiver(callback, f"on_{signal_name}")
            if receiver is None:
                getattr(self, signal_name).connect(callback)
            else:
                QObject.connect(self, _SIGNATURES[signal_name], receiver, callback)

    def _deliver(self, outcome: tuple[bool, Any, str]) -> None:
        if self._done:
            return
        self._done = True
        self._siblings.discard(self)
        if not self._pool.closed:
            ok, value, tb = outcome
            if ok:
                self.finished.emit(value)
            else:
                self.failed.emit(value, tb)
        self.deleteLater()  # not now: we may be inside a receiver that still uses it


class TaskOwner(QObject):
    """The background calls of one window or panel, cancelled when it closes.

    Parameters
    ----------
    parent
        The window (or panel) the results are for; the owner is its child.
    max_workers
        Threads of this owner's pool.
    """

    def __init__(self, parent: QObject, max_workers: int = 4) -> None:
        super().__init__(parent)
        self._relay = _relay()
        self._pool = _Pool(max_workers, f"openhcs-{type(parent).__name__}")
        self._tasks: set[Task] = set()
        self.destroyed.connect(self._pool.close)  # deleted without close(): stop queued calls

    @property
    def closed(self) -> bool:
        """True after :meth:`close`: nothing new runs and no result is delivered."""
        return self._pool.closed

    def submit(
        self,
        fn: Callable[..., Any],
        *args: Any,
        name: str = "",
        on_finished: Any = None,
        on_failed: Any = None,
        **kwargs: Any,
    ) -> Task:
        """Run ``fn(*args, **kwargs)`` on this owner's pool.

        Parameters
        ----------
        fn
            Plain (Qt-free) callable; it must not touch widgets.
        name
            Label for debugging and for :meth:`pending`.
        on_finished, on_failed
            Bound methods of QObjects (or ``functools.partial`` of one), or Qt
            signals; connected before the call starts, so nothing is missed.

        Returns
        -------
        Task
            Delivers once, unless the owner is closed first (then never).

        Raises
        ------
        TypeError
            If a callback is a lambda or a plain function.
        """
        task = Task(name or getattr(fn, "__name__", "task"), self)
        task.connect_outcome(on_finished, on_failed)
        if self._pool.closed:  # a late request from a closing window: nobody will see a result
            task._done = True
            return task
        self._tasks.add(task)
        relay, pool = self._relay, self._pool

        def _call() -> Any:  # worker thread: touches only the relay, never the window
            try:
                outcome: tuple[bool, Any, str] = (True, fn(*args, **kwargs), "")
            except BaseException as e:  # delivered to the GUI, never swallowed
                outcome = (False, e, traceback.format_exc())
            if not pool.closed and shiboken6.isValid(relay):  # else no window or no app is left
                relay.delivered.emit(task, outcome)
            if not outcome[0]:
                raise outcome[1]  # the future ends as the call did
            return outcome[1]

        task.future = pool.submit(_call)
        return task

    def pending(self) -> list[Task]:
        """Tasks whose results have not been delivered yet."""
        return [t for t in self._tasks if t.running]

    def close(self) -> None:
        """Cancel what has not started and drop every result still to come; never blocks."""
        self._pool.close()
        for task in list(self._tasks):
            task._done = True
        self._tasks.clear()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until every call of this owner returned (tests and benchmarks only)."""
        return self._pool.wait(timeout)


def wait_idle(timeout: float = 30.0) -> bool:
    """Block until the calls of every owner, closed ones included, returned (tests, benchmarks)."""
    return all(pool.wait(timeout) for pool in list(_pools))


def shutdown() -> None:
    """Close every owner's pool and wait for running calls (application exit)."""
    for pool in list(_pools):
        pool.close()
    wait_idle(timeout=60)
