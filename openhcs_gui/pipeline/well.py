"""One well through the whole pipeline: the runner's unit of work.

A :class:`WorkUnit` is plain data (well name, input image paths, input
backend) so a distributed executor can ship it; the :class:`WellContext`
(steps, plan, file manager, event sink, cancel token) is per process and is
rebuilt on a remote worker from plain data (pipeline JSON, config, plan).

Per step the well's images are grouped (see :mod:`.step`), each group's stack
goes through the step's function chain, and the whole step output of the well
is written in one ``save_batch`` call after every function returned, so a step
that raises writes nothing and earlier steps' files stay complete.

Each function call runs on the worker's call thread so a cancel stops the well
within ``calls.POLL_SECONDS`` even while a function runs; results are checked
and stored without a copy unless another owner still holds their memory (see
:mod:`.calls`).
"""

from __future__ import annotations

import functools
import os
import platform
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from openhcs_gui._lazy import lazy_module
from openhcs_gui.constants import Backend, Component
from openhcs_gui.errors import PipelineError, RunCancelledError
from openhcs_gui.functions.registry import with_context
from openhcs_gui.metadata import PlateMetadata
from openhcs_gui.pipeline.calls import call_function, root_of, take_result
from openhcs_gui.pipeline.events import (
    CancelToken,
    ImageWritten,
    ProgressEvent,
    StepFinished,
    StepStarted,
    WellFailed,
    WellFinished,
)
from openhcs_gui.pipeline.planner import ExecutionPlan, StepPlan, output_kind
from openhcs_gui.pipeline.result import WellError
from openhcs_gui.pipeline.step import FunctionStep, component_value, func_label
from openhcs_gui.pipeline.tables import add_physical_units, name_channels
from openhcs_gui.vfs.keys import ImageKey

np = lazy_module("numpy", globals())  # imported on first use: the desktop window shows before numpy loads

__all__ = ["WorkUnit", "WellReport", "WellContext", "process_well", "run_step", "normalize_rows"]

Rows = list[dict[str, Any]]
INPUT_STEP = "input"


@dataclass(frozen=True)
class WorkUnit:
    """Plain-data description of one well's work (picklable, no handles)."""

    well: str
    inputs: tuple[tuple[ImageKey, str], ...]  #: (key, path in ``input_backend``)
    input_backend: Backend


@dataclass
class WellReport:
    """What happened to one well (returned by :func:`process_well`)."""

    well: str
    status: str = "completed"  #: completed | failed | cancelled
    timings: dict[str, float] = field(default_factory=dict)
    keys: dict[int, list[ImageKey]] = field(default_factory=dict)
    tables: dict[int, dict[str, Rows]] = field(default_factory=dict)
    error: WellError | None = None
    seconds: float = 0.0
    images_written: int = 0
    bytes_written: int = 0
    host: str = ""  #: machine that ran the well
    pid: int = 0  #: process that ran the well


@dataclass
class WellContext:
    """Per-run objects shared by the workers of one process."""

    steps: list[FunctionStep]
    plan: ExecutionPlan
    filemanager: Any
    emit: Callable[[ProgressEvent], None]
    cancel: CancelToken
    #: The plate's physical metadata (plain data): tables gain µm columns and channel names from it.
    metadata: PlateMetadata | None = None


def normalize_rows(rows: Any) -> Rows:
    """A table as a list of dicts (accepts a DataFrame or any iterable of mappings)."""
    if hasattr(rows, "to_dict") and hasattr(rows, "columns"):
        return [dict(r) for r in rows.to_dict("records")]
    return [dict(r) for r in rows]


def _identify(rows: Rows, keys: list[ImageKey], step: FunctionStep, with_time: bool = False) -> Rows:
    """Prefix each row with the identity of the image it describes (``time`` too if ``with_time``)."""
    out: Rows = []
    fixed = [c for c in step.fixed_components() if with_time or c is not Component.TIME]
    for row in rows:
        idx = row.get("index")
        if isinstance(idx, int | np.integer) and 0 <= int(idx) < len(keys):
            k = keys[int(idx)]
            ident: dict[str, Any] = {"well": k.well, "site": k.site, "channel": k.channel, "z": k.z}
            if with_time:
                ident["time"] = k.t
            rest = {c: v for c, v in row.items() if c != "index"}
        else:
            ident = {"well": keys[0].well, **{c.value: component_value(keys[0], c) for c in fixed}}
            rest = dict(row)
        out.append({**ident, **{c: v for c, v in rest.items() if c not in ident}})
    return out


def run_step(
    step: FunctionStep, images: dict[ImageKey, np.ndarray], cancel: CancelToken,
    metadata: PlateMetadata | None = None, *, measure_objects: bool = True, threads: int = 1,
) -> tuple[dict[ImageKey, np.ndarray], dict[str, Rows]]:
    """Apply ``step`` to one well's images; returns ``(outputs, tables)``.

    A function that declares ``pixel_size_um`` gets the plate's value from
    ``metadata`` (``None`` when unknown) unless the step sets it (see
    :func:`openhcs_gui.functions.registry.with_context`). ``measure_objects=False``
    (the live preview) lets segmentation skip its per-object tables.
    ``threads`` > 1 calls the step's groups (e.g. one per channel) side by side:
    the live preview, where one site is all there is to do (a run keeps 1: its
    wells already fill the cores). Outputs and table rows keep the groups' order.

    Raises
    ------
    RunCancelledError
        When ``cancel`` is set before or during a function call (see :mod:`.calls`).
    PipelineError
        When a function returns something that is not a stack of the right size
        and dtype, or a malformed table (one line naming step and function).
    """
    labels_step = output_kind(step.func) == "labels"
    with_time = any(k.t != 1 for k in images)  # rows name their time point on a time-lapse plate

    def one_group(group: list[ImageKey]) -> tuple[dict[ImageKey, np.ndarray], list[tuple[str, Rows]]]:
        channel = group[0].channel if step.group_by is not None else None
        chain = step.chain_for(channel)
        if chain is None:  # channel not handled by a dict func: pass through...
            # ...unless the step makes labels: a raw image is no label image
            return ({} if labels_step else {k: images[k] for k in group}), []
        stack = np.stack([images[k] for k in group])
        stack.flags.writeable = False  # functions must copy before editing in place
        keys = list(group)
        rows: list[tuple[str, Rows]] = []
        for func, kwargs in chain:
            if cancel.cancelled:
                raise RunCancelledError("Run cancelled.")
            kwargs = with_context(func, kwargs, metadata, measure_objects=measure_objects)
            box = call_function(func, stack, kwargs, cancel)  # abandoned if cancel is set meanwhile
            stack, produced = take_result(box, step.name, func_label(func), input_root=root_of(stack))
            rows.extend((name, _identify(table, keys, step, with_time)) for name, table in produced.items())
            keys = step.output_keys(keys, len(stack))
        return dict(zip(keys, stack, strict=True)), rows

    groups = list(step.groups(list(images)).values())
    if threads > 1 and len(groups) > 1:
        done = list(_group_pool(min(threads, len(groups))).map(one_group, groups))
    else:
        done = [one_group(group) for group in groups]
    outputs: dict[ImageKey, np.ndarray] = {}
    tables: dict[str, Rows] = {}
    for produced_images, rows in done:
        outputs.update(produced_images)
        for name, table in rows:
            tables.setdefault(name, []).extend(table)
    return outputs, tables


@functools.cache
def _group_pool(threads: int) -> ThreadPoolExecutor:
    """Threads kept for :func:`run_step`'s side-by-side groups (each keeps its own call thread)."""
    return ThreadPoolExecutor(threads, thread_name_prefix="openhcs-group")


def _load_inputs(unit: WorkUnit, fm: Any) -> dict[ImageKey, np.ndarray]:
    images: dict[ImageKey, np.ndarray] = {}
    for key, path in unit.inputs:
        try:
            images[key] = np.asarray(fm.load(path, unit.input_backend))
        except Exception as e:
            raise PipelineError(f"Cannot read input image {path}: {e}") from e
        if images[key].ndim != 2:
            raise PipelineError(
                f"Cannot read input image {path}: got shape {images[key].shape}, not a 2-D image "
                "(corrupt or truncated file?)."
            )
    return images


def _store(
    sp: StepPlan, well: str, outputs: dict[ImageKey, np.ndarray], tables: dict[str, Rows],
    ctx: WellContext, report: WellReport,
) -> None:
    keys = sorted(outputs)
    paths = [sp.image_path(k) for k in keys]
    arrays = [outputs[k] for k in keys]
    if arrays:
        ctx.filemanager.save_batch(arrays, paths, sp.backend)
    for path, arr in zip(paths, arrays, strict=True):
        ctx.emit(ImageWritten(path, sp.backend, int(arr.nbytes), sp.index))
        if sp.backend is not Backend.MEMORY:
            report.images_written += 1
            report.bytes_written += int(arr.nbytes)
    tables = {name: _in_plate_terms(rows, ctx.metadata) for name, rows in tables.items()}
    for name, rows in tables.items():
        path = f"{sp.folder}/{well}_{name}.csv"
        ctx.filemanager.save(normalize_table(rows), path, Backend.DISK)
        ctx.emit(ImageWritten(path, Backend.DISK, 0, sp.index))
    report.keys[sp.index] = keys
    report.tables[sp.index] = tables


def _in_plate_terms(rows: Rows, metadata: PlateMetadata | None) -> Rows:
    """Rows with µm/µm² beside pixel columns and channel names instead of ``_ch<k>``."""
    if metadata is None:
        return rows
    rows = add_physical_units(rows, metadata.pixel_size_um)
    names = {c: info.name for c, info in metadata.channels.items()}
    return name_channels(rows, names) if names else rows


def normalize_table(rows: Rows) -> Rows:
    """Give every row the same columns (union, first-seen order; missing = empty)."""
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    return [{c: row.get(c, "") for c in columns} for row in rows]


def _drop(ctx: WellContext, report: WellReport, after: int | None) -> None:
    """Delete memory copies whose last reader has run (``after=None``: all droppable)."""
    for sp in ctx.plan.steps:
        if sp.backend is not Backend.MEMORY or sp.drop_after is None:
            continue
        if (after is None or sp.drop_after == after) and sp.index in report.keys:
            for key in report.keys[sp.index]:
                path = sp.image_path(key)
                if ctx.filemanager.exists(path, Backend.MEMORY):
                    ctx.filemanager.delete(path, Backend.MEMORY)


def _fail(report: WellReport, ctx: WellContext, step: str, exc: BaseException) -> None:
    tb = "".join(traceback.format_exception(exc))
    message = str(exc) or type(exc).__name__
    if not isinstance(exc, PipelineError):
        message = f"{type(exc).__name__}: {message}"
    report.status = "failed"
    report.error = WellError(report.well, step, message, tb)
    ctx.emit(WellFailed(report.well, step, message, tb))


def process_well(unit: WorkUnit, ctx: WellContext) -> WellReport:
    """Run every step on one well; never raises for a step's own errors.

    Returns
    -------
    WellReport
        ``completed``, ``failed`` (with a :class:`WellError`) or ``cancelled``.
    """
    t0 = time.perf_counter()
    report = WellReport(unit.well, status="running", host=platform.node(), pid=os.getpid())
    if ctx.cancel.cancelled:
        report.status = "cancelled"
        return report
    try:
        try:
            images = _load_inputs(unit, ctx.filemanager)
        except Exception as e:
            _fail(report, ctx, INPUT_STEP, e)
            return report
        for sp, step in zip(ctx.plan.steps, ctx.steps, strict=True):
            if ctx.cancel.cancelled:
                report.status = "cancelled"
                break
            ctx.emit(StepStarted(sp.index, sp.name, unit.well))
            ts = time.perf_counter()
            try:
                outputs, tables = run_step(step, images, ctx.cancel, ctx.metadata)
                _store(sp, unit.well, outputs, tables, ctx, report)
            except RunCancelledError:
                report.status = "cancelled"
                break
            except Exception as e:
                _fail(report, ctx, sp.name, e)
                break
            images = outputs  # the previous step's copy is released here
            _drop(ctx, report, sp.index)
            report.timings[sp.name] = time.perf_counter() - ts
            ctx.emit(StepFinished(sp.index, sp.name, unit.well, report.timings[sp.name]))
        else:
            report.status = "completed"
    except BaseException:  # KeyboardInterrupt, SystemExit, a kill stand-in: stop every well
        ctx.cancel.cancel()
        raise
    finally:
        if report.status == "running":  # a hard stop (KeyboardInterrupt, SystemExit) went through:
            report.status = "cancelled"  # never let provenance call this well completed
        _drop(ctx, report, None)
        report.seconds = time.perf_counter() - t0
        ctx.emit(WellFinished(unit.well, report.status == "completed", report.seconds, report.host, report.pid))
    return report
