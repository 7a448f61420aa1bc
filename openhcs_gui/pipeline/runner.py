"""Run a pipeline: workspace, plan, wells in parallel, tables, provenance, result.

The unit of work is one well through the whole pipeline
(:class:`~openhcs_gui.pipeline.well.WorkUnit`, plain data). An
:class:`Executor` runs units and yields their reports as they complete; the
:class:`ThreadExecutor` uses a ``ThreadPoolExecutor`` (numpy, scikit-image and
the codecs release the GIL), and a ``dask.distributed`` executor can sit beside
it later. Results are put back in plate well order, so the outcome does not
depend on scheduling.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from functools import partial
from pathlib import Path
from typing import Any

from openhcs_gui.config import GlobalPipelineConfig, ZarrConfig, effective_materialization
from openhcs_gui.constants import Backend, RunStatus
from openhcs_gui.errors import NotWritableError, PathExistsError, PipelineError, PlateError
from openhcs_gui.pipeline.events import (
    CancelToken,
    ProgressCallback,
    ProgressEvent,
    RunFinished,
    RunStarted,
    RunWarning,
)
from openhcs_gui.pipeline.planner import ExecutionPlan, plan_pipeline, workspace_base
from openhcs_gui.pipeline.provenance import METADATA_NAME, ProvenanceWriter
from openhcs_gui.pipeline.result import RunResult, StepOutput
from openhcs_gui.pipeline.resume import (
    ResumeError,
    ResumeState,
    find_workspace,
    load_resume_state,
    skipped_report,
)
from openhcs_gui.pipeline.well import (
    WellContext,
    WellReport,
    WorkUnit,
    normalize_table,
    process_well,
)

__all__ = ["Executor", "ThreadExecutor", "WorkUnit", "run_pipeline", "prepare_workspace"]

log = logging.getLogger(__name__)


class Executor(ABC):
    """Runs work units and yields their reports as they complete (any order)."""

    @abstractmethod
    def run(self, fn: Callable[[WorkUnit], WellReport], units: Sequence[WorkUnit]) -> Iterator[WellReport]:
        """Apply ``fn`` to every unit; yield each report when it is ready."""


class ThreadExecutor(Executor):
    """A thread pool of ``num_workers`` threads, one well per task.

    Parameters
    ----------
    num_workers
        Wells processed at the same time.
    """

    def __init__(self, num_workers: int) -> None:
        self.num_workers = max(1, int(num_workers))

    def run(self, fn: Callable[[WorkUnit], WellReport], units: Sequence[WorkUnit]) -> Iterator[WellReport]:
        """Docstring inherited."""
        pool = ThreadPoolExecutor(max_workers=self.num_workers, thread_name_prefix="openhcs-well")
        try:
            pending: set[Future[WellReport]] = {pool.submit(fn, u) for u in units}
            while pending:  # a finished future is let go at once: it holds its report
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()
                del done
        finally:  # on a hard stop, wells not started yet must not start (``with`` would run them all)
            pool.shutdown(wait=True, cancel_futures=True)


class _Emitter:
    """Serializes events from worker threads to the listeners; a broken listener is logged."""

    def __init__(self, *listeners: ProgressCallback | None) -> None:
        self._listeners = [cb for cb in listeners if cb is not None]
        self._lock = threading.Lock()

    def __call__(self, event: ProgressEvent) -> None:
        with self._lock:
            for cb in self._listeners:
                try:
                    cb(event)
                except Exception:  # the run must not die because a progress bar did
                    log.exception("progress listener %r failed on %r", cb, event)


def prepare_workspace(base: Path, overwrite: bool = False) -> Path:
    """Create the workspace folder; never reuse an existing one silently.

    Returns ``base``, or ``base_2``, ``base_3``... if it exists; with
    ``overwrite`` an existing *workspace* (one with ``openhcs_metadata.json``,
    or empty) is deleted first.

    Raises
    ------
    NotWritableError
        If the output root cannot be created or written (checked before any work).
    PathExistsError
        If ``overwrite`` would delete a folder that is not an OpenHCS workspace.
    """
    root = base.parent
    try:
        root.mkdir(parents=True, exist_ok=True)
        probe = root / f".openhcs-write-test-{os.getpid()}-{threading.get_ident()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise NotWritableError(f"Output folder {root} is not writable: {e.strerror or e}.") from e
    if overwrite and base.exists():
        if not (base / METADATA_NAME).is_file() and any(base.iterdir()):
            raise PathExistsError(f"{base} exists and is not an OpenHCS workspace; refusing to overwrite it.")
        shutil.rmtree(base)
    candidate, n = base, 1
    while True:
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            n += 1
            candidate = base.with_name(f"{base.name}_{n}")
        except OSError as e:
            raise NotWritableError(f"Cannot create workspace {candidate}: {e.strerror or e}.") from e


def _make_filemanager(cfg: GlobalPipelineConfig, plate_path: Path) -> Any:
    from openhcs_gui.vfs import FileManager

    level = effective_materialization(cfg, plate_path).compression_level
    zarr_cfg = ZarrConfig(**{**cfg.zarr.model_dump(), "compression_level": level})
    return FileManager(zarr_config=zarr_cfg)


def _open(plate: Any) -> Any:
    if hasattr(plate, "images") and hasattr(plate, "wells"):  # an opened PlateIndex
        return plate
    from openhcs_gui.plates import open_plate

    if not Path(plate).exists():
        raise PlateError(f"Plate folder {plate} does not exist.")
    return open_plate(plate)


def _units(plate: Any) -> list[WorkUnit]:
    return [
        WorkUnit(well, tuple((k, plate.images[k]) for k in plate.keys(well=well)), Backend(plate.backend))
        for well in plate.wells
    ]


def _consolidate(plan: ExecutionPlan, reports: list[WellReport], fm: Any) -> dict[int, list[str]]:
    """Write ``<name>.csv`` per step and table: every well's rows, in well order."""
    written: dict[int, list[str]] = {}
    for sp in plan.steps:
        names: dict[str, None] = {}
        for rep in reports:
            names.update(dict.fromkeys(rep.tables.get(sp.index, {})))
        for name in names:
            rows = [row for rep in reports for row in rep.tables.get(sp.index, {}).get(name, [])]
            fm.save(normalize_table(rows), f"{sp.folder}/{name}.csv", Backend.DISK)
            written.setdefault(sp.index, []).append(name)
    return written


def _status(reports: list[WellReport]) -> RunStatus:
    if any(r.status == "cancelled" for r in reports):
        return RunStatus.CANCELLED
    if any(r.status == "failed" for r in reports):
        return RunStatus.FAILED
    return RunStatus.COMPLETED


def run_pipeline(
    pipeline: Sequence[Any],
    plate: Any,
    cfg: GlobalPipelineConfig | None = None,
    *,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    overwrite: bool = False,
    executor: Executor | None = None,
    resume: bool | str | os.PathLike[str] = False,
) -> RunResult:
    """Run ``pipeline`` on every well of ``plate`` and materialize what the plan says.

    Parameters
    ----------
    pipeline
        A :class:`~openhcs_gui.pipeline.Pipeline` (or a sequence of steps).
    plate
        A plate folder / OME-Zarr path, or an opened ``PlateIndex``.
    cfg
        Run configuration (defaults to ``GlobalPipelineConfig()``).
    progress
        Called with every :mod:`progress event <openhcs_gui.pipeline.events>`,
        from worker threads (one at a time).
    cancel
        Set it to stop the run within one function call per worker.
    overwrite
        Replace an existing workspace instead of creating ``<plate>_workspace_N``.
    executor
        Runs the wells; defaults to ``ThreadExecutor(cfg.num_workers)``.
    resume
        ``True``: continue the plate's newest workspace; a path: continue that
        workspace. Wells it records as completed are skipped (their outputs and
        tables are kept); the others run again into the same workspace. See
        :mod:`openhcs_gui.pipeline.resume`.

    Returns
    -------
    RunResult
        Status, outputs per step, errors per well; keeps in-memory outputs alive.

    Raises
    ------
    PipelineError
        The pipeline is empty or invalid (before any work).
    PlateError
        The plate cannot be opened (before any work).
    NotWritableError
        The output folder cannot be written (before any work).
    ResumeError
        ``resume`` names no workspace, or one written by another pipeline,
        configuration or plate (a ``PipelineError``; before any work).
    """
    t0 = time.perf_counter()
    cfg = cfg if cfg is not None else GlobalPipelineConfig()
    cancel = cancel if cancel is not None else CancelToken()
    steps = list(pipeline)
    if not steps:
        raise PipelineError("The pipeline has no steps.")
    index = _open(plate)
    if not index.wells:
        raise PlateError(f"Plate {index.path} has no images.")
    state: ResumeState | None = None
    if resume is not False and resume is not None:
        if overwrite:
            raise ResumeError("Resume continues a workspace and overwrite deletes it: use one of them.")
        workspace = find_workspace(index, cfg, resume)
        plan = plan_pipeline(steps, index, cfg, workspace=workspace)
        state = load_resume_state(workspace, pipeline, cfg, index, plan)
    else:
        workspace = prepare_workspace(workspace_base(index, cfg), overwrite)
        plan = plan_pipeline(steps, index, cfg, workspace=workspace)
    done = state.done if state is not None else ()
    units = [u for u in _units(index) if u.well not in done]
    fm = _make_filemanager(cfg, Path(index.path))
    prov = ProvenanceWriter(workspace, cfg, pipeline, index, plan, previous=state.doc if state else None)
    prov.write(force=True)
    emit = _Emitter(prov.on_event, progress)
    emit(RunStarted(len(units), tuple(s.name for s in steps), str(workspace), skipped=len(done)))
    for message in (*plan.warnings, *getattr(index, "warnings", ())):
        emit(RunWarning(message))
    ctx = WellContext(steps, plan, fm, emit, cancel)
    runner = executor if executor is not None else ThreadExecutor(cfg.num_workers)
    try:
        by_well = {w: skipped_report(state, w, plan) for w in done} if state is not None else {}
        by_well.update((rep.well, rep) for rep in runner.run(partial(process_well, ctx=ctx), units))
        reports = [by_well[w] for w in index.wells]
        status = _status(reports)
        tables = _consolidate(plan, reports, fm)
    except BaseException:  # Ctrl-C or an engine bug: stop the workers, say so in the file
        cancel.cancel()
        prov.finish(RunStatus.FAILED, time.perf_counter() - t0, {})
        raise
    finally:
        fm.close()  # flushes zarr plate/well metadata; the memory store stays alive
    seconds = time.perf_counter() - t0
    prov.finish(status, seconds, tables)
    result = RunResult(
        status=status,
        workspace=workspace,
        plan=plan,
        steps=[
            StepOutput(
                index=sp.index, name=sp.name, backend=sp.backend, folder=Path(sp.folder),
                image_dir=sp.image_dir,
                keys=sorted(k for rep in reports for k in rep.keys.get(sp.index, [])),
                tables=tables.get(sp.index, []),
                kept_in_memory=sp.drop_after is None,
            )
            for sp in plan.steps
        ],
        errors=[rep.error for rep in reports if rep.error is not None],
        timings={rep.well: rep.timings for rep in reports},
        seconds=seconds,
        filemanager=fm,
        wells=list(index.wells),
        images_written=sum(r.images_written for r in reports),
        bytes_written=sum(r.bytes_written for r in reports),
        skipped_wells=list(done),
    )
    emit(RunFinished(status, seconds))
    return result
