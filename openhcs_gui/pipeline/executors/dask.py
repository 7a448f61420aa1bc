"""Wells as ``dask.distributed`` tasks: a local cluster of processes or any scheduler.

Each well is one task, ``run_unit(spec, unit, topic, stop)``, whose arguments
are plain data (:func:`~openhcs_gui.pipeline.executors.base.make_spec`); the
worker rebuilds the steps, plan and a FileManager of its own, runs the well
and closes that FileManager, which merges the well into the zarr plate
metadata under the store's lock. What the thread runner guarantees holds here:

- **Progress**: the worker streams every event of the well
  (:func:`~openhcs_gui.pipeline.events.event_to_dict`) with
  ``Worker.log_event`` to a topic of the run; the driver turns them back into
  the same typed events, in each well's order, and hands a well's report on
  only after all its events arrived. ``WellFinished`` names the worker's host
  and pid (provenance records them).
- **Errors**: a step's error fails its well with a traceback, as with
  threads; a task that fails as a whole (a worker killed more often than the
  scheduler's ``allowed-failures``, a worker without the package) fails its
  well with the scheduler's message.
- **Cancel**: queued wells are cancelled at once (their futures); running
  wells poll a ``distributed.Event`` of the run (every ``CANCEL_POLL`` s) and
  stop at their next step or function call, exactly like a thread worker.
- **Memory intermediates** live and die in the worker process; the driver's
  result says so when asked for one (see ``RunResult.get_image``).

A worker killed mid-well is replaced by the scheduler, which reruns that well
elsewhere; a killed driver leaves a workspace that ``resume`` continues.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from openhcs_gui.errors import ClusterError
from openhcs_gui.pipeline.events import (
    CancelToken,
    ImageWritten,
    ProgressEvent,
    WellFailed,
    WellFinished,
    event_from_dict,
    event_to_dict,
)
from openhcs_gui.pipeline.executors.base import Executor, RunSpec, WellTask, context_from_spec
from openhcs_gui.pipeline.result import WellError
from openhcs_gui.pipeline.well import WellReport, WorkUnit, process_well
from openhcs_gui.vfs.zarr_store import CODEC_THREADS_ENV

__all__ = ["DaskExecutor", "ClusterStatus", "run_unit", "CANCEL_POLL", "EVENT_WAIT"]

log = logging.getLogger(__name__)

CANCEL_POLL = 0.2  #: seconds between two looks of a worker at the run's cancel event
EVENT_WAIT = 10.0  #: seconds the driver waits for a finished well's last events
TRIM_KEY = "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_"


@dataclass(frozen=True)
class ClusterStatus:
    """What the cluster is doing now (for the Run dock): workers, busy ones, memory."""

    workers: int
    busy: int  #: workers running a task now
    memory: int  #: bytes the worker processes use (their resident memory)
    memory_limit: int  #: bytes they may use together (0: no limit)


class _RemoteCancel(CancelToken):
    """A worker's cancel token: set locally, or by the driver through a ``distributed.Event``."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self._name = name
        self._next = 0.0
        self._remote: Any = None

    @property
    def cancelled(self) -> bool:
        """True once this worker or the driver cancelled the run (driver polled every ``CANCEL_POLL``)."""
        if self._event.is_set():
            return True
        now = time.monotonic()
        if now >= self._next:
            self._next = now + CANCEL_POLL
            try:
                from distributed import Event

                if self._remote is None:
                    self._remote = Event(self._name)
                if self._remote.is_set():
                    self._event.set()
            except Exception:  # scheduler unreachable: the task is lost anyway; keep working
                log.debug("cannot poll cancel event %s", self._name, exc_info=True)
        return self._event.is_set()


class _Publisher:
    """A worker's event sink: numbered events of one well attempt, sent to the run's topic."""

    def __init__(self, topic: str, well: str) -> None:
        from distributed import get_worker

        self._worker = get_worker()
        self._topic = topic
        self.attempt = uuid.uuid4().hex
        self.well = well
        self.sent = 0
        self._lock = threading.Lock()

    def __call__(self, event: ProgressEvent) -> None:
        with self._lock:  # numbered in the order they are logged
            msg = {"well": self.well, "attempt": self.attempt, "seq": self.sent, "event": event_to_dict(event)}
            self.sent += 1
            self._worker.log_event(self._topic, msg)


def run_unit(spec: RunSpec, unit: WorkUnit, topic: str, stop: str) -> tuple[WellReport, str, int]:
    """Run one well on a dask worker; returns ``(report, attempt id, events sent)``.

    The well's FileManager is closed before returning, so its zarr well and
    plate metadata are on disk when the driver sees the well finished.
    """
    emit = _Publisher(topic, unit.well)
    ctx = context_from_spec(spec, emit, _RemoteCancel(stop))
    try:
        report = process_well(unit, ctx)
    finally:
        ctx.filemanager.close()
    return report, emit.attempt, emit.sent


def _share_cores(per_host: dict[str, int], dask_worker: Any = None) -> int:
    """On a worker: codec threads = its share of its machine's cores, unless its environment says.

    Workers started by hand (``dask worker --nworkers 4``) would otherwise
    each start ``os.cpu_count()`` codec threads. Returns the share set.
    """
    if not os.environ.get(CODEC_THREADS_ENV):
        host = dask_worker.address.rsplit(":", 1)[0] if dask_worker is not None else ""
        os.environ[CODEC_THREADS_ENV] = str(max(1, (os.cpu_count() or 1) // max(1, per_host.get(host, 1))))
    return int(os.environ[CODEC_THREADS_ENV])


def _forget_topic(topic: str, dask_scheduler: Any = None) -> None:
    """Drop a finished run's event topic from the scheduler (runs on the scheduler)."""
    broker = getattr(dask_scheduler, "_broker", None)
    if broker is not None:
        broker._topics.pop(topic, None)


class _Inbox:
    """Driver side: reorders each attempt's events, drops duplicate image events of reruns."""

    def __init__(self, emit: Callable[[ProgressEvent], None]) -> None:
        self.emit = emit
        self.queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.received: dict[str, int] = {}  # attempt -> events emitted
        self._held: dict[str, dict[int, dict[str, Any]]] = {}
        self._images: set[str] = set()
        self.started: set[str] = set()  # wells some worker began
        self.finished: set[str] = set()  # wells whose WellFinished was emitted

    def handler(self, item: tuple[float, Any]) -> None:
        """``Client.subscribe_topic`` callback (client's event loop thread)."""
        self.queue.put(("event", item[1]))

    def take(self, msg: dict[str, Any]) -> None:
        """Emit ``msg`` and every held event of its attempt that now follows in order."""
        attempt = msg["attempt"]
        self.started.add(msg["well"])
        held = self._held.setdefault(attempt, {})
        held[int(msg["seq"])] = msg["event"]
        n = self.received.get(attempt, 0)
        while n in held:
            event = event_from_dict(held.pop(n))
            n += 1
            self.received[attempt] = n
            if isinstance(event, ImageWritten):
                if event.path in self._images:  # a rerun (killed worker) writes the same files again
                    continue
                self._images.add(event.path)
            if isinstance(event, WellFinished):
                self.finished.add(event.well)
            self.emit(event)


#: Seconds a scheduler address gets to accept a TCP connection before the run gives up.
PROBE_TIMEOUT_S = 5.0


def _probe_scheduler(address: str, timeout: float) -> None:
    """Fail at once when nothing listens at a ``tcp://`` / ``tls://`` address.

    ``distributed.Client`` retries a refused or unresolvable address until its
    whole ``timeout`` has passed (20 s by default); a plain socket answers in
    milliseconds for a refused port and within ``timeout`` for a silent host.
    Other schemes (``inproc://``, ``ucx://``) are left to ``Client``.
    """
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    if parts.scheme not in ("tcp", "tls"):
        return
    try:
        port = parts.port
    except ValueError as e:
        raise OSError(f"the port in {address!r} is not a number") from e
    if not parts.hostname or port is None:
        raise OSError(f"{address!r} has no host and port (like tcp://HOST:8786)")
    try:
        with socket.create_connection((parts.hostname, port), timeout=timeout):
            pass
    except socket.gaierror as e:
        raise OSError(f"the host name {parts.hostname!r} is not known") from e
    except TimeoutError as e:
        raise OSError(f"nothing answered within {timeout:g} s") from e


class DaskExecutor(Executor):
    """Run wells as tasks of a ``dask.distributed`` cluster.

    Parameters
    ----------
    target
        ``None`` or ``"local"``: start a ``LocalCluster`` of ``n_workers``
        processes (one thread each) on first use; ``"tcp://HOST:PORT"``: a
        running scheduler; or a ``distributed`` ``Cluster`` / ``Client``.
    n_workers
        Worker processes of a local cluster (default: the number of cores).
    malloc_trim_threshold
        ``MALLOC_TRIM_THRESHOLD_`` of local workers; ``None`` (default)
        leaves glibc's own adaptive setting (dask's 65536 made runs slower,
        see ``docs/cluster.md``). Workers you start yourself: see the docs.
    memory_budget_gb
        Memory the local cluster's workers may use together (each gets its
        share as dask's ``memory_limit``: a worker near it pauses, starting no
        new well until memory is free, and is restarted past 95%); ``None``:
        no limit. Workers you start yourself: ``dask worker --memory-limit``.
    connect_timeout
        Seconds to wait for a scheduler address to answer.

    Raises
    ------
    ClusterError
        (on first use) The scheduler cannot be reached or the local cluster
        does not start; one line naming the address.

    Examples
    --------
    >>> with DaskExecutor("local", n_workers=2) as ex:  # doctest: +SKIP
    ...     result = run_pipeline(pipeline, plate, cfg, executor=ex)
    """

    remote: ClassVar[bool] = True

    def __init__(self, target: Any = None, *, n_workers: int | None = None,
                 malloc_trim_threshold: int | None = None, memory_budget_gb: float | None = None,
                 connect_timeout: float = 20.0) -> None:
        self.target = "local" if target is None else target
        self.connect_timeout = connect_timeout
        self.n_workers = max(1, int(n_workers or os.cpu_count() or 1))
        self.malloc_trim_threshold = malloc_trim_threshold
        self.memory_budget_gb = memory_budget_gb
        self._client: Any = None
        self._cluster: Any = None
        self._lock = threading.Lock()

    # ------------------------------------------------------------ cluster
    @property
    def client(self) -> Any:
        """The ``distributed.Client`` (connects, or starts the local cluster, on first use)."""
        with self._lock:
            if self._client is None:
                self._client = self._connect()
            return self._client

    def _connect(self) -> Any:
        try:
            return self._open_client()
        except (OSError, RuntimeError, TimeoutError) as e:
            where = "a local cluster" if self.target == "local" else f"the dask scheduler at {self.target}"
            raise ClusterError(f"Cannot run on {where}: {' '.join(str(e).split()) or type(e).__name__}.") from e

    def _open_client(self) -> Any:
        import dask
        from distributed import Client

        target = self.target
        if isinstance(target, Client):
            return target
        if isinstance(target, str) and target != "local":
            _probe_scheduler(target, min(PROBE_TIMEOUT_S, self.connect_timeout))
            return Client(target, set_as_default=False, timeout=self.connect_timeout)
        if target == "local":
            from distributed import LocalCluster

            threads = str(max(1, (os.cpu_count() or 1) // self.n_workers))
            budget = self.memory_budget_gb
            limit: Any = int(budget * 1e9 / self.n_workers) if budget else 0  # 0: no limit
            with dask.config.set({TRIM_KEY: self.malloc_trim_threshold}):
                self._cluster = LocalCluster(
                    n_workers=self.n_workers, threads_per_worker=1, processes=True,
                    dashboard_address=":0", env={CODEC_THREADS_ENV: threads}, memory_limit=limit,
                )
            target = self._cluster
        return Client(target, set_as_default=False)

    def status(self) -> ClusterStatus | None:
        """Workers, busy workers and memory now (asks the scheduler; blocks: call it off the GUI thread).

        ``None`` before the first run connected, or when the scheduler does not answer.
        """
        with self._lock:
            client = self._client
        if client is None:
            return None
        try:
            workers = client.scheduler_info(n_workers=-1).get("workers", {})
        except (OSError, RuntimeError, TimeoutError):
            return None
        busy = memory = limit = 0
        for info in workers.values():
            metrics = info.get("metrics", {})
            counts = metrics.get("task_counts", {})
            busy += bool(counts.get("executing", 0) or metrics.get("executing", 0))
            memory += int(metrics.get("memory", 0) or 0)
            limit += int(info.get("memory_limit", 0) or 0)
        return ClusterStatus(len(workers), busy, memory, limit)

    def close(self) -> None:
        """Close the client, and the local cluster if this executor started it."""
        with self._lock:
            client, cluster, self._client, self._cluster = self._client, self._cluster, None, None
        if client is not None and client is not self.target:
            client.close()
        if cluster is not None:
            cluster.close()

    def __enter__(self) -> DaskExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"DaskExecutor({self.target!r}, n_workers={self.n_workers})"

    # ---------------------------------------------------------------- run
    def run(self, fn: Callable[[WorkUnit], WellReport], units: Sequence[WorkUnit]) -> Iterator[WellReport]:
        """Submit one task per unit; yield reports as wells finish (events first).

        Raises
        ------
        TypeError
            ``fn`` is not a :class:`WellTask` (only a run's task can be rebuilt
            on a worker).
        """
        if not isinstance(fn, WellTask):
            raise TypeError(f"DaskExecutor runs a run's WellTask, not {type(fn).__name__}.")
        if not units:
            return
        from distributed import Event

        client = self.client
        run_id = uuid.uuid4().hex
        topic, stop_name = f"openhcs-events-{run_id}", f"openhcs-cancel-{run_id}"
        inbox = _Inbox(fn.ctx.emit)
        client.subscribe_topic(topic, inbox.handler)
        stop = Event(stop_name, client=client)
        [spec] = client.scatter([fn.spec()], broadcast=True, hash=False)
        self._share_cores(client)
        futures: dict[str, Any] = {}
        finished = False
        try:
            for unit in units:
                f = client.submit(run_unit, spec, unit, topic, stop_name, key=f"openhcs-well-{unit.well}-{run_id}",
                                  pure=False)
                futures[unit.well] = f
                f.add_done_callback(lambda fut, well=unit.well: inbox.queue.put(("done", well)))
            yield from self._collect(client, futures, inbox, fn.ctx.cancel, stop)
            finished = True
        finally:
            if not finished:  # the driver stops (Ctrl-C, an error): nothing may go on writing
                stop.set()
                client.cancel([f for f in futures.values() if not f.done()])
            client.unsubscribe_topic(topic)
            futures.clear()
            try:  # the scheduler would keep the run's events (up to events-log-length) for ever
                client.run_on_scheduler(_forget_topic, topic)
            except Exception:  # e.g. a scheduler without openhcs_gui installed: only memory is lost
                log.debug("cannot drop event topic %s on the scheduler", topic, exc_info=True)

    @staticmethod
    def _share_cores(client: Any) -> None:
        """Tell every worker its share of its machine's cores for zarr codec threads."""
        per_host: dict[str, int] = {}
        for address in client.scheduler_info(n_workers=-1).get("workers", {}):
            host = address.rsplit(":", 1)[0]
            per_host[host] = per_host.get(host, 0) + 1
        try:
            client.run(_share_cores, per_host)
        except Exception:  # a worker gone meanwhile: it keeps its own setting
            log.debug("cannot set codec threads on every worker", exc_info=True)

    def _collect(self, client: Any, futures: dict[str, Any], inbox: _Inbox, cancel: CancelToken,
                 stop: Any) -> Iterator[WellReport]:
        """Drain events and finished wells until every well reported."""
        waiting: dict[str, tuple[WellReport, str, int, float]] = {}
        pending = dict(futures)
        cancelled = forced = False
        while pending or waiting:
            try:
                kind, payload = inbox.queue.get(timeout=0.05)
            except queue.Empty:
                kind, payload = "", None
            if kind == "event":
                inbox.take(payload)
            elif kind == "done" and payload in pending:
                well = payload
                report, attempt, sent = self._outcome(pending.pop(well), well, inbox)
                if attempt:
                    waiting[well] = (report, attempt, sent, time.monotonic() + EVENT_WAIT)
                else:
                    yield report
            if cancel.cancelled and not cancelled:
                cancelled = True
                stop.set()
                for well in [w for w in pending if w not in inbox.started]:  # queued: never start them
                    f = pending.pop(well)
                    client.cancel([f])
                    forced = True
                    inbox.emit(WellFinished(well, False, 0.0))
                    yield WellReport(well, status="cancelled")
            for well, (report, attempt, sent, deadline) in list(waiting.items()):
                if inbox.received.get(attempt, 0) >= sent or time.monotonic() > deadline:
                    del waiting[well]
                    self._finish_events(report, inbox)
                    yield report
        if forced:  # a well may have started just before its future was cancelled: let it see the stop
            time.sleep(2 * CANCEL_POLL)

    @staticmethod
    def _outcome(future: Any, well: str, inbox: _Inbox) -> tuple[WellReport, str, int]:
        """The well's report from its future; a failed task fails the well with the scheduler's error."""
        if future.status == "finished":
            report, attempt, sent = future.result()
            return report, attempt, sent
        if future.status == "cancelled":  # cancelled by the scheduler or another client
            inbox.emit(WellFinished(well, False, 0.0))
            return WellReport(well, status="cancelled"), "", 0
        exc = future.exception()
        tb = "".join(traceback.format_exception(type(exc), exc, future.traceback()))
        message = f"the worker running it failed: {type(exc).__name__}: {exc}"
        report = WellReport(well, status="failed", error=WellError(well, "worker", message, tb))
        inbox.emit(WellFailed(well, "worker", message, tb))
        inbox.emit(WellFinished(well, False, 0.0))
        return report, "", 0

    @staticmethod
    def _finish_events(report: WellReport, inbox: _Inbox) -> None:
        """Stand in for a finished well's last events if they never arrived (lost messages)."""
        if report.well in inbox.finished:
            return
        log.warning("events of well %s did not all arrive; its end is reported from its result", report.well)
        if report.error is not None:
            inbox.emit(WellFailed(report.well, report.error.step, report.error.message, report.error.traceback))
        inbox.emit(WellFinished(report.well, report.status == "completed", report.seconds, report.host, report.pid))
