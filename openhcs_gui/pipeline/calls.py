"""One function call of a step: run it where it can be abandoned, then check what came back.

Cancel within a call
--------------------
A function can run for minutes inside C code that never looks at the cancel
token. :func:`call_function` therefore hands each call to a daemon *call
thread* (one per well worker, reused call after call) and the worker waits for
it, polling the token every ``POLL_SECONDS``. When the run is cancelled the
worker stops waiting and raises :class:`~openhcs_gui.errors.RunCancelledError`
(the well ends ``cancelled`` within about ``POLL_SECONDS``); the abandoned call
goes on in the background, its result is discarded and its call thread exits
when it returns. Functions never touch storage, so an abandoned call cannot
write anything. Threads are never killed; an abandoned call keeps its CPU
until it returns, and a process exits without waiting for it (daemon thread).
The normal path pays one hand-over between two threads per call (tens to a
few hundred microseconds on a busy machine; figures in ``docs/pipeline.md``).

Zero-copy outputs, copied only when shared
------------------------------------------
Step outputs are stored without copying (the memory backend keeps the array
itself). That is only safe while nobody else holds the buffer: a function
that returns one module-level buffer on every call would otherwise overwrite
the outputs it returned before. Comparing a result with *earlier* outputs
(``np.shares_memory``) comes too late, because the previous output is already
overwritten when the next call returns, so :func:`take_result` asks whether
anyone besides the engine still references the memory the result lives in
(the root of its ``.base`` chain). A fresh array is referenced only by the
engine and is kept as is; a buffer the function (or a cache, or an earlier
output) still holds is copied once. A result that is the call's own input
stack, or a view of it, is kept: the engine built that stack for this call.
Functions called concurrently on different wells must still not share one
output buffer (a race no check after the call can repair).

Result checks
-------------
An image stack must be ``(n, y, x)`` (a 2-D image counts as one) of a
boolean, integer or floating dtype; tables must map a file-safe name to rows
(mappings of text column names to numbers, text, booleans or empty cells).
Anything else fails only the well, with one line naming step, function and
what is wrong, instead of a crash later in the CSV, TIFF or zarr writer.
"""

from __future__ import annotations

import functools
import queue
import re
import sys
import threading
from collections.abc import Callable, Mapping
from typing import Any

from openhcs_gui._lazy import lazy_module
from openhcs_gui.errors import PipelineError, RunCancelledError
from openhcs_gui.pipeline.events import CancelToken

np = lazy_module("numpy", globals())  # imported on first use: the desktop window shows before numpy loads

__all__ = ["POLL_SECONDS", "call_function", "take_result", "check_table_name", "root_of"]

Rows = list[dict[str, Any]]

#: How often a waiting worker looks at the cancel token while a call runs.
POLL_SECONDS = 0.05

_IMAGE_KINDS = "biuf"  # bool, signed, unsigned, floating
_TABLE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


@functools.cache
def _cell_types() -> tuple[type, ...]:
    """Types a table cell may hold (numpy's scalars included; built once, on first use: numpy is lazy)."""
    return (str, int, float, bool, np.bool_, np.integer, np.floating, np.str_)


class _CallThread:
    """A daemon thread that runs the calls of one worker thread, one at a time.

    It exits after its call was abandoned, or once its owner thread is gone
    and no call came for ``_IDLE_SECONDS``.
    """

    def __init__(self, owner: threading.Thread) -> None:
        self._jobs: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._owner = owner
        self.abandoned = False
        threading.Thread(target=self._loop, name=f"{owner.name}-call", daemon=True).start()

    def submit(self, job: Callable[[], None]) -> None:
        self._jobs.put(job)

    def _loop(self) -> None:
        while not self.abandoned:
            try:
                job = self._jobs.get(timeout=_IDLE_SECONDS)
            except queue.Empty:
                if not self._owner.is_alive():
                    return
                continue
            job()
            del job  # drop the call's input stack now


_IDLE_SECONDS = 2.0
_local = threading.local()


def call_function(
    func: Callable[..., Any], stack: np.ndarray, kwargs: Mapping[str, Any], cancel: CancelToken
) -> list[Any]:
    """Call ``func(stack, **kwargs)`` on this worker's call thread; give up when ``cancel`` is set.

    Returns
    -------
    list
        A one-item list holding the raw result (hand it to :func:`take_result`,
        which pops it, so the engine keeps no stray reference).

    Raises
    ------
    RunCancelledError
        When ``cancel`` is set while the call runs (the call is abandoned).
    Exception
        Whatever the function raised.
    """
    box: list[Any] = []
    errors: list[BaseException] = []
    done = threading.Event()

    def job() -> None:
        try:
            box.append(func(stack, **kwargs))
        except BaseException as e:  # handed to the waiting worker, re-raised there
            errors.append(e)
        finally:
            done.set()

    runner: _CallThread | None = getattr(_local, "call_thread", None)
    if runner is None:
        runner = _local.call_thread = _CallThread(threading.current_thread())
    runner.submit(job)
    while not done.wait(POLL_SECONDS):
        if cancel.cancelled:
            runner.abandoned = True  # it exits once the call returns; the result is dropped
            _local.call_thread = None
            raise RunCancelledError("Run cancelled.")
    if errors:
        raise errors.pop()
    return box


def _where(step: str, func: str) -> str:
    return f"Step {step!r}: {func}()"


def check_table_name(name: Any, step: str, func: str) -> str:
    """``name`` if it is a file-safe table name, else a :class:`PipelineError`."""
    if not isinstance(name, str) or not _TABLE_NAME.fullmatch(name) or ".." in name:
        raise PipelineError(
            f"{_where(step, func)} returned a table named {name!r}; a table name must be 1-100 letters, "
            "digits, '_', '-' or '.' (it becomes a file name)."
        )
    return name


def _rows(name: str, rows: Any, step: str, func: str) -> Rows:
    """A table as a list of dict rows, every cell checked."""
    if hasattr(rows, "to_dict") and hasattr(rows, "columns"):  # a DataFrame
        rows = rows.to_dict("records")
    if isinstance(rows, str | bytes | Mapping) or not hasattr(rows, "__iter__"):
        raise PipelineError(
            f"{_where(step, func)} returned table {name!r} as {type(rows).__name__}; "
            "expected a list of rows (dicts) or a DataFrame."
        )
    out: Rows = []
    for i, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise PipelineError(
                f"{_where(step, func)} returned table {name!r} with row {i} of type "
                f"{type(row).__name__}; each row must be a dict of column -> value."
            )
        for column, value in row.items():
            if not isinstance(column, str):
                raise PipelineError(
                    f"{_where(step, func)} returned table {name!r} with column name {column!r} in row {i}; "
                    "column names must be text."
                )
            if value is not None and not isinstance(value, _cell_types()):
                raise PipelineError(
                    f"{_where(step, func)} returned table {name!r} with a {type(value).__name__} in row {i}, "
                    f"column {column!r}; cells must be numbers, text, booleans or empty."
                )
        out.append(dict(row))
    return out


def root_of(arr: np.ndarray) -> Any:
    """The object that owns ``arr``'s memory (end of the ``.base`` chain)."""
    base: Any = arr
    while isinstance(base, np.ndarray) and base.base is not None:
        base = base.base
    return base


def _root_refs(stack: np.ndarray, root: Any) -> int:
    return sys.getrefcount(root)


def _owned(stack: np.ndarray, input_root: Any, baseline: dict[bool, int] | None) -> np.ndarray:
    """``stack`` itself when only the engine references its memory, else a copy."""
    root = root_of(stack)
    if root is input_root:
        return stack
    is_self = root is stack
    refs = _root_refs(stack, root)
    if baseline is not None:  # calibration (first use): record the count of a fresh array
        baseline[is_self] = refs
        return stack
    if refs > _baseline_refs()[is_self]:
        return stack.copy()
    return stack


def take_result(
    box: list[Any], step: str, func: str, input_root: Any = None,
    _baseline: dict[bool, int] | None = None,
) -> tuple[np.ndarray, dict[str, Rows]]:
    """Check one call's result and make its stack safe to store without a copy.

    Parameters
    ----------
    box
        The list from :func:`call_function`; its only item is popped.
    step, func
        Step and function names for messages.
    input_root
        Owner of the stack the function received (a result living there is kept).

    Returns
    -------
    tuple
        ``(stack (n, y, x), {table name: rows})``.

    Raises
    ------
    PipelineError
        One line naming step, function and what is wrong with the result.
    """
    result = box.pop()
    tables: dict[str, Rows] = {}
    if isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], Mapping):
        result, raw = result
        for name, rows in raw.items():
            tables[check_table_name(name, step, func)] = _rows(name, rows, step, func)
        del raw
    try:
        stack = np.asarray(result)
    except Exception as e:  # ragged lists and the like
        raise PipelineError(f"{_where(step, func)} returned {type(result).__name__}, not an image stack ({e}).") from None
    del result
    if stack.ndim == 2:
        stack = stack[np.newaxis]
    if stack.ndim != 3:
        raise PipelineError(
            f"{_where(step, func)} returned shape {stack.shape}; expected a stack (n, y, x) or an image (y, x)."
        )
    if 0 in stack.shape:
        raise PipelineError(f"{_where(step, func)} returned an empty stack of shape {stack.shape}; images need pixels.")
    if stack.dtype.kind not in _IMAGE_KINDS:
        raise PipelineError(
            f"{_where(step, func)} returned images of dtype {stack.dtype}; images must be boolean, "
            "integer or floating point."
        )
    return _owned(stack, input_root, _baseline), tables


@functools.cache
def _baseline_refs() -> dict[bool, int]:
    """Reference counts of fresh results seen by :func:`_owned` (an array, and a view of one).

    Measured once, on first use rather than at import (numpy is imported lazily).
    """
    counts: dict[bool, int] = {}
    take_result([np.zeros((1, 1, 1))], "", "", None, counts)
    take_result([np.zeros((1, 1))], "", "", None, counts)
    return counts

