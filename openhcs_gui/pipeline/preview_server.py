"""The live preview's computation in a process of its own, so the GUI thread never waits for it.

A preview run in a thread of the GUI's process shares its interpreter lock:
scikit-image's and scipy's Python-level loops (measuring 600 nuclei, per-object
peak finding) hold it for tens to hundreds of milliseconds, and every napari or
Qt callback of the GUI thread waits for it (measured: stalls of 0.5–1.2 s
during a preview of a 1024² site, with the GUI thread running for under a
tenth of that time). A :class:`PreviewServer` runs :class:`~.preview.Preview`
in a spawned child process instead and streams each step's output back over a
pipe (a 1024² image costs a few milliseconds to receive).

The child keeps the per-step cache of the last ``(plate, well, site)``, so an
edit recomputes only from the edited step, as in-process. A newer request
cancels the running one (the child's :class:`~.events.CancelToken`, polled
within one function call). Steps travel as pipeline JSON (registered
functions by name): a pipeline with an unregistered function cannot be sent,
and :meth:`PreviewServer.run` says so with :class:`NotSendable` so the caller
can run that preview in its own process.

Qt-free and engine-side; ``ui/preview_panel.py`` decides when to run it.
"""

from __future__ import annotations

import itertools
import multiprocessing
import queue
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from openhcs_gui._lazy import lazy_module
from openhcs_gui.errors import PipelineError, RunCancelledError
from openhcs_gui.pipeline.events import CancelToken
from openhcs_gui.pipeline.preview import Preview, PreviewOutput, display_range
from openhcs_gui.pipeline.step import FunctionStep

np = lazy_module("numpy", globals())  # imported on first use: the desktop window shows before numpy loads

__all__ = ["PreviewServer", "NotSendable", "display_copy"]

#: Outputs the GUI side keeps for reuse (the most recent ones; about two pipelines' worth).
_KEEP = 24
#: Niceness added to the preview process: when the GUI draws while a preview computes, the GUI wins
#: the CPU (about 2.5 to 1); alone, the preview runs at full speed.
_NICE = 4
#: How often a waiting :meth:`PreviewServer.run` looks at its cancel token (seconds).
_POLL = 0.02


class NotSendable(PipelineError):
    """The pipeline cannot be sent to the preview process (an unregistered function)."""


def display_copy(output: PreviewOutput) -> PreviewOutput:
    """``output`` ready to show: display range of each image, labels as uint16 when they fit.

    napari hashes int32/int64 labels to a texture dtype on the GUI thread at
    every redraw (a modulo over every pixel); uint16 labels go to the texture
    as they are. Done where the output was computed, off the GUI thread.
    """
    images: dict[Any, np.ndarray] = {}
    ranges: dict[Any, tuple[float, float]] = {}
    for key, arr in output.images.items():
        if output.kind == "labels":
            if arr.dtype.itemsize > 2 and arr.size and arr.min() >= 0 and arr.max() <= np.iinfo(np.uint16).max:
                arr = arr.astype(np.uint16)
                arr.flags.writeable = False
            ranges[key] = (0.0, 1.0)
        else:
            ranges[key] = display_range(arr)
        images[key] = arr
    return PreviewOutput(output.index, output.name, images, output.tables, output.kind, output.seconds,
                         output.cached, ranges)


def _stop_child(proc: Any, conn: Any, send_lock: threading.Lock) -> None:
    """Ask the preview process to stop; kill it if it has not stopped after one second."""
    try:
        with send_lock:
            conn.send(("stop", 0))
    except (OSError, ValueError):
        pass
    proc.join(1.0)
    if proc.is_alive():
        proc.kill()
        proc.join(1.0)
    conn.close()


class PreviewServer:
    """A child process that computes previews; :meth:`run` is called from a worker thread.

    The process starts on the first :meth:`run` and is restarted if it died.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._proc: Any = None
        self._conn: Any = None
        self._reader: threading.Thread | None = None
        self._queues: dict[int, queue.Queue[tuple[Any, ...]]] = {}
        self._ids = itertools.count(1)
        self._plate_sent: Any = None
        #: uid -> output received from the child; a cached output comes back as its uid only, so the
        #: GUI gets the very same arrays and napari does not upload an unchanged layer again
        self._store: dict[int, PreviewOutput] = {}

    def __repr__(self) -> str:
        alive = self._proc is not None and self._proc.is_alive()
        return f"PreviewServer(pid={self._proc.pid if alive else None})"

    # -- process ---------------------------------------------------------------
    def start(self) -> None:
        """Start the child process now (it imports the function library meanwhile), if not running."""
        self._ensure()

    def _ensure(self) -> None:
        with self._lock:
            if self._proc is not None and self._proc.is_alive():
                return
            ctx = multiprocessing.get_context("spawn")
            here, there = ctx.Pipe(duplex=True)
            proc = ctx.Process(target=_serve, args=(there,), name="openhcs-preview", daemon=True)
            proc.start()
            there.close()
            self._proc, self._conn, self._plate_sent = proc, here, None
            self._store = {}
            self._reader = threading.Thread(target=self._read, args=(here,), name="preview-reader", daemon=True)
            self._reader.start()

    def _read(self, conn: Any) -> None:
        while True:
            try:
                msg = conn.recv()
            except (EOFError, OSError):
                break
            if msg[0] == "step":
                _, rid, uid, output = msg
                with self._lock:  # most recently used last
                    output = self._store.pop(uid, None) if output is None else output
                    if output is not None:
                        self._store[uid] = output
                msg = ("step", rid, output)
            q = self._queues.get(msg[1])
            if q is not None:
                q.put(msg)
        for q in list(self._queues.values()):  # the process is gone: wake every waiting run
            q.put(("gone", 0))

    def _send(self, msg: tuple[Any, ...]) -> None:
        with self._send_lock:
            self._conn.send(msg)

    def close(self) -> None:
        """Stop the child process without waiting for it (the window's ``closeEvent`` calls this).

        The child is asked to stop and, if it has not within a second (e.g. it
        is still importing, or is inside a long call), killed, on a daemon
        thread: closing the window must not wait for a preview.
        """
        with self._lock:
            proc, conn, self._proc = self._proc, self._conn, None
        if proc is None:
            return
        threading.Thread(target=_stop_child, args=(proc, conn, self._send_lock), name="preview-stop",
                         daemon=True).start()

    # -- runs ------------------------------------------------------------------
    def run(self, plate: Any, well: str, site: int, steps: Sequence[FunctionStep], token: CancelToken,
            on_step: Callable[[PreviewOutput], None] | None = None) -> list[PreviewOutput]:
        """Preview ``steps`` on ``(well, site)`` in the child; blocks the calling (worker) thread.

        Each step's output (:func:`display_copy` of it) goes to ``on_step`` as
        soon as the child sends it, the raw images first (index ``-1``).

        Returns
        -------
        list of PreviewOutput
            One per step, without images (they went to ``on_step``).

        Raises
        ------
        NotSendable
            A step's function is not registered (run it in this process).
        RunCancelledError
            ``token`` was set before the child finished.
        PipelineError
            A step failed (the child's message), or the child process died.
        """
        from openhcs_gui.pipeline.pipeline import Pipeline

        try:
            data = Pipeline([_copy(s) for s in steps]).to_dict()
        except PipelineError as e:
            raise NotSendable(str(e)) from e
        self._ensure()
        rid = next(self._ids)
        q: queue.Queue[tuple[Any, ...]] = queue.Queue()
        self._queues[rid] = q
        try:
            send_plate = self._plate_sent is not plate
            with self._lock:
                if send_plate or len(self._store) > _KEEP:
                    keep = list(self._store)[-_KEEP:] if not send_plate else []
                    self._store = {uid: self._store[uid] for uid in keep}
                held = list(self._store)
            self._send(("run", rid, plate if send_plate else None, well, int(site), data, held))
            self._plate_sent = plate
            while True:
                if token.cancelled:
                    self._send(("cancel", rid))
                    raise RunCancelledError("Preview cancelled.")
                try:
                    msg = q.get(timeout=_POLL)
                except queue.Empty:
                    continue
                kind = msg[0]
                if kind == "step":
                    if on_step is not None and not token.cancelled and msg[2] is not None:
                        on_step(msg[2])
                elif kind == "done":
                    return list(msg[2])
                elif kind == "failed":
                    raise msg[2]
                elif kind == "unsupported":
                    raise NotSendable(msg[2])
                elif kind == "gone":
                    raise PipelineError("Preview: the preview process stopped unexpectedly; it restarts "
                                        "with the next edit.")
        finally:
            self._queues.pop(rid, None)


def _copy(step: FunctionStep) -> FunctionStep:
    return FunctionStep(step.func, step.name, force_disk_output=step.force_disk_output, backend=step.backend,
                        variable_components=step.variable_components, group_by=step.group_by,
                        **dict(step.kwargs))


# -- child process -------------------------------------------------------------------
def _serve(conn: Any) -> None:
    """Child main loop: the latest request wins; a reader thread takes cancels as they come."""
    import os

    if hasattr(os, "nice"):  # the GUI (its drawing, on software GL its rasteriser threads) goes first
        os.nice(_NICE)
    requests: queue.Queue[tuple[Any, ...]] = queue.Queue()
    tokens: dict[int, CancelToken] = {}
    send_lock = threading.Lock()

    def send(msg: tuple[Any, ...]) -> None:
        with send_lock:
            conn.send(msg)

    def reader() -> None:
        while True:
            try:
                msg = conn.recv()
            except (EOFError, OSError):
                msg = ("stop", 0)
            if msg[0] == "cancel":
                token = tokens.get(msg[1])
                if token is not None:
                    token.cancel()
                continue
            if msg[0] == "run":
                tokens[msg[1]] = CancelToken()
                for rid, token in list(tokens.items()):  # a newer request: the older ones give way
                    if rid != msg[1]:
                        token.cancel()
            requests.put(msg)
            if msg[0] == "stop":  # the window closes: abandon the running preview at once
                for token in list(tokens.values()):
                    token.cancel()
                return

    threading.Thread(target=reader, name="preview-requests", daemon=True).start()
    import openhcs_gui.functions  # noqa: F401  - registers the functions before the first request

    plate: Any = None
    preview: Preview | None = None
    uids = _Uids()
    while True:
        msg = requests.get()
        if msg[0] == "stop":
            return
        _, rid, new_plate, well, site, data, held = msg
        if new_plate is not None:  # even a superseded request hands over its plate: the next one comes without
            plate, preview = new_plate, None
        token = tokens.get(rid)
        if token is None or token.cancelled or not requests.empty():
            send(("failed", rid, RunCancelledError("Preview cancelled.")))
            tokens.pop(rid, None)
            continue
        held = set(held)

        def post(output: PreviewOutput, rid: int = rid, held: set[int] = held) -> None:
            uid = uids.of(output)
            send(("step", rid, uid, None if uid in held else display_copy(output)))
            held.add(uid)

        try:
            from openhcs_gui.pipeline.pipeline import Pipeline

            try:
                steps = list(Pipeline.from_dict(data))
            except PipelineError as e:
                send(("unsupported", rid, str(e)))
                continue
            if preview is None or (preview.well, preview.site) != (well, site):
                preview = Preview(plate, well, site)
            t0 = time.perf_counter()
            post(preview.inputs())

            def on_step(output: PreviewOutput, token: CancelToken = token) -> None:
                if not token.cancelled:
                    post(output)

            outputs = preview.run_from(steps, cancel=token, on_step=on_step)
            bare = [PreviewOutput(o.index, o.name, {}, o.tables, o.kind, o.seconds, o.cached) for o in outputs]
            send(("done", rid, bare, time.perf_counter() - t0))
        except BaseException as e:  # noqa: BLE001 - every failure goes back to the GUI, one message
            try:
                send(("failed", rid, e))
            except Exception:  # an exception that does not pickle: its message does
                send(("failed", rid, PipelineError(f"{type(e).__name__}: {e}")))
        finally:
            tokens.pop(rid, None)



class _Uids:
    """Child side: one number per distinct output (same arrays, same number), recent ones kept."""

    def __init__(self) -> None:
        self._by_arrays: dict[tuple[int, ...], tuple[int, PreviewOutput]] = {}
        self._next = itertools.count(1)

    def of(self, output: PreviewOutput) -> int:
        key = tuple(id(a) for a in output.images.values())
        hit = self._by_arrays.get(key)
        if hit is not None:
            return hit[0]
        uid = next(self._next)
        self._by_arrays[key] = (uid, output)  # holds the arrays: their ids stay theirs
        if len(self._by_arrays) > 4 * _KEEP:
            for old in list(self._by_arrays)[: len(self._by_arrays) - 2 * _KEEP]:
                del self._by_arrays[old]
        return uid
