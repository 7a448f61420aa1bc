"""Run a pipeline: workspace, plan, wells in parallel, tables, provenance, result.

The unit of work is one well through the whole pipeline
(:class:`~openhcs_gui.pipeline.well.WorkUnit`, plain data). An
:class:`Executor` (:mod:`openhcs_gui.pipeline.executors`) runs units and
yields their reports as they complete: the :class:`ThreadExecutor` on a
thread pool of this process, the ``DaskExecutor`` as ``dask.distributed``
tasks (local processes or a cluster). Results are put back in plate well order, so the outcome does not
depend on scheduling.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from openhcs_gui._atomic import storage_error
from openhcs_gui.config import GlobalPipelineConfig, ZarrConfig, effective_materialization
from openhcs_gui.constants import Backend, RunStatus
from openhcs_gui.errors import PathExistsError, PipelineError, PlateError
from openhcs_gui.pipeline.events import (
    CancelToken,
    ProgressCallback,
    ProgressEvent,
    RunFinished,
    RunStarted,
    RunWarning,
)
from openhcs_gui.pipeline.executors import Executor, ThreadExecutor, WellTask, make_spec
from openhcs_gui.pipeline.planner import ExecutionPlan, plan_pipeline
from openhcs_gui.pipeline.provenance import ProvenanceWriter
from openhcs_gui.pipeline.result import RunResult, StepOutput
from openhcs_gui.pipeline.resume import (
    ResumeError,
    ResumeState,
    find_workspace,
    load_resume_state,
    skipped_report,
)
from openhcs_gui.pipeline.well import WellContext, WellReport, WorkUnit, normalize_table
from openhcs_gui.pipeline.workspace import (
    claim_workspace,
    prepare_workspace,
    release_workspace,
    workspace_base,
)

__all__ = ["Executor", "ThreadExecutor", "WorkUnit", "run_pipeline", "prepare_workspace"]

log = logging.getLogger(__name__)


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


def _make_filemanager(cfg: GlobalPipelineConfig, plate: Any) -> Any:
    """A FileManager whose writers carry the plate's physical metadata (µm, channel names)."""
    from openhcs_gui.vfs import FileManager

    level = effective_materialization(cfg, Path(plate.path)).compression_level
    zarr_cfg = ZarrConfig(**{**cfg.zarr.model_dump(), "compression_level": level})
    return FileManager(zarr_config=zarr_cfg, plate_metadata=getattr(plate, "metadata", None))


def _check_parameters(steps: Sequence[Any]) -> None:
    """Re-check every step's parameters before any work.

    Steps validate when built or loaded, but ``step.kwargs`` can be edited in
    place afterwards (the GUI, a script); a bad value must stop the run here
    with one line, not fail every well.
    """
    for step in steps:
        funcs = step.func if isinstance(getattr(step, "func", None), dict) else {None: None}
        for channel in funcs:
            try:
                step.chain_for(channel)
            except (TypeError, ValueError) as e:
                raise PipelineError(f"Step '{step.name}': {e}") from e


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
        Set it to stop the run: each worker abandons its current function call
        within ~50 ms (see :mod:`openhcs_gui.pipeline.calls`).
    overwrite
        Replace an existing finished workspace instead of creating
        ``<plate>_workspace_N`` (see :mod:`openhcs_gui.pipeline.workspace`).
    executor
        Runs the wells; defaults to ``ThreadExecutor(cfg.num_workers)``. A
        ``DaskExecutor`` runs them as ``dask.distributed`` tasks (in-memory
        outputs then stay in the worker processes).
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
    InvalidPathError
        The workspace would lie inside the input plate (before any work).
    PathExistsError
        ``overwrite`` would delete a workspace that a live run (this process
        or another) is still writing, one holding a chained run's workspace,
        or a folder that is no workspace (before any work).
    StorageError
        The final zarr metadata flush failed (e.g. disk full); provenance
        records the run as failed, with the reason under ``failure``.
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
    _check_parameters(steps)
    index = _open(plate)
    if not index.wells:
        raise PlateError(f"Plate {index.path} has no images.")
    workspace, plan, state = _take_workspace(steps, pipeline, index, cfg, overwrite, resume)
    try:
        return _execute(steps, pipeline, index, cfg, workspace, plan, state, progress, cancel, executor, t0)
    finally:
        release_workspace(workspace)


def _take_workspace(
    steps: list[Any], pipeline: Sequence[Any], index: Any, cfg: GlobalPipelineConfig, overwrite: bool,
    resume: bool | str | os.PathLike[str] | None,
) -> tuple[Path, ExecutionPlan, ResumeState | None]:
    """Pick the run's workspace, claim it for this process and plan the run into it.

    The caller must :func:`release_workspace` it when the run ends.
    """
    if resume is False or resume is None:
        workspace = prepare_workspace(workspace_base(index, cfg), overwrite, claim=True)
        try:
            return workspace, plan_pipeline(steps, index, cfg, workspace=workspace), None
        except BaseException:
            release_workspace(workspace)
            raise
    if overwrite:
        raise ResumeError("Resume continues a workspace and overwrite deletes it: use one of them.")
    workspace = find_workspace(index, cfg, resume)
    try:
        claim_workspace(workspace)
    except PathExistsError as e:
        raise ResumeError(f"Cannot resume {workspace}: another run in this process is still writing it; "
                          "wait for it or stop it first.") from e
    try:
        plan = plan_pipeline(steps, index, cfg, workspace=workspace)
        return workspace, plan, load_resume_state(workspace, pipeline, cfg, index, plan)
    except BaseException:
        release_workspace(workspace)
        raise


def _execute(
    steps: list[Any], pipeline: Sequence[Any], index: Any, cfg: GlobalPipelineConfig, workspace: Path,
    plan: ExecutionPlan, state: ResumeState | None, progress: ProgressCallback | None, cancel: CancelToken,
    executor: Executor | None, t0: float,
) -> RunResult:
    """Run the wells into the claimed ``workspace``; provenance says how it ended."""
    done = state.done if state is not None else ()
    units = [u for u in _units(index) if u.well not in done]
    fm = _make_filemanager(cfg, index)
    prov = ProvenanceWriter(workspace, cfg, pipeline, index, plan, previous=state.doc if state else None)
    prov.write(force=True)
    emit = _Emitter(prov.on_event, progress)
    emit(RunStarted(len(units), tuple(s.name for s in steps), str(workspace), skipped=len(done)))
    for message in (*plan.warnings, *getattr(index, "warnings", ())):
        emit(RunWarning(message))
    ctx = WellContext(steps, plan, fm, emit, cancel, metadata=getattr(index, "metadata", None))
    task = WellTask(ctx, lambda: make_spec(steps, plan, fm, getattr(pipeline, "name", "pipeline")))
    runner = executor if executor is not None else ThreadExecutor(cfg.num_workers)
    try:
        by_well = {w: skipped_report(state, w, plan) for w in done} if state is not None else {}
        by_well.update((rep.well, rep) for rep in runner.run(task, units))
        reports = [by_well[w] for w in index.wells]
        status = _status(reports)
        tables = _consolidate(plan, reports, fm)
    except BaseException:  # Ctrl-C or an engine bug: stop the workers, say so in the file
        cancel.cancel()
        try:
            fm.close()
        except OSError as e:  # the error that stopped the run is the one to report
            log.error("%s", storage_error(e, workspace))
        prov.finish(RunStatus.FAILED, time.perf_counter() - t0, {})
        raise
    try:
        fm.close()  # flushes zarr plate/well metadata; the memory store stays alive
    except OSError as e:  # e.g. disk full: the outputs are incomplete, the file must say so
        err = storage_error(e, workspace)
        prov.doc["failure"] = str(err)
        prov.finish(RunStatus.FAILED, time.perf_counter() - t0, tables)
        raise err from e
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
                kept_in_memory=sp.drop_after is None, with_time=sp.with_time,
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
        remote_memory=runner.remote,
    )
    emit(RunFinished(status, seconds))
    return result
