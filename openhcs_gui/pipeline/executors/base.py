"""The executor seam: an :class:`Executor` runs one :class:`WellTask` per well.

A :class:`WellTask` is :func:`~openhcs_gui.pipeline.well.process_well` bound
to one run. In this process it calls ``process_well`` with the run's
:class:`~openhcs_gui.pipeline.well.WellContext` (steps, plan, file manager,
event sink, cancel token). An executor that runs wells in other processes
cannot ship that context (locks, evented models, open stores); it ships
:meth:`WellTask.spec` instead, plain picklable data (pipeline and plan as
their JSON dicts, zarr settings, plate metadata), and the worker rebuilds a
context from it with :func:`context_from_spec`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from typing import Any, ClassVar

from openhcs_gui.config import ZarrConfig
from openhcs_gui.errors import PipelineError
from openhcs_gui.metadata import PlateMetadata
from openhcs_gui.pipeline.events import CancelToken, ProgressEvent
from openhcs_gui.pipeline.planner import ExecutionPlan
from openhcs_gui.pipeline.well import WellContext, WellReport, WorkUnit, process_well

__all__ = ["Executor", "WellTask", "RunSpec", "make_spec", "context_from_spec"]

RunSpec = dict[str, Any]  #: ``{"pipeline", "plan", "zarr", "plate_metadata"}``, all plain data


class Executor(ABC):
    """Runs work units and yields their reports as they complete (any order)."""

    #: True when wells run in other processes: their memory outputs stay there.
    remote: ClassVar[bool] = False

    @abstractmethod
    def run(self, fn: Callable[[WorkUnit], WellReport], units: Sequence[WorkUnit]) -> Iterator[WellReport]:
        """Apply ``fn`` to every unit; yield each report when it is ready."""


def make_spec(steps: Sequence[Any], plan: ExecutionPlan, filemanager: Any, name: str = "pipeline") -> RunSpec:
    """Plain data a worker process needs to run wells of this run.

    Raises
    ------
    PipelineError
        A step uses a function that is not registered by name (a worker
        could not look it up); the message names the step.
    """
    from openhcs_gui.pipeline.pipeline import Pipeline

    try:
        pipeline = Pipeline(list(steps), name=name).to_dict()
    except PipelineError as e:
        raise PipelineError(f"Cannot run on other processes: {e}") from e
    zarr = filemanager.zarr_config
    meta = filemanager.plate_metadata  # the run's FileManager carries the plate's (see runner)
    return {
        "pipeline": pipeline,
        "plan": plan.to_dict(),
        "zarr": zarr.model_dump(mode="json") if zarr is not None else None,
        "plate_metadata": meta.to_dict() if meta is not None else None,
    }


def context_from_spec(spec: RunSpec, emit: Callable[[ProgressEvent], None], cancel: CancelToken) -> WellContext:
    """A worker's :class:`WellContext` rebuilt from :func:`make_spec` data (own FileManager).

    The caller closes ``ctx.filemanager`` when its wells are done (that
    flushes zarr well and plate metadata, merged with other processes').
    """
    from openhcs_gui.pipeline.pipeline import Pipeline
    from openhcs_gui.vfs import FileManager

    pipeline = Pipeline.from_dict(spec["pipeline"])
    meta = PlateMetadata.from_dict(spec["plate_metadata"]) if spec.get("plate_metadata") else None
    fm = FileManager(
        zarr_config=ZarrConfig(**spec["zarr"]) if spec.get("zarr") is not None else None, plate_metadata=meta,
    )
    return WellContext(list(pipeline), ExecutionPlan.from_dict(spec["plan"]), fm, emit, cancel, metadata=meta)


class WellTask:
    """``process_well`` bound to one run: callable here, described by plain data elsewhere.

    Parameters
    ----------
    ctx
        This process's context of the run.
    spec
        Builds the run's :data:`RunSpec` (called once, only by executors that
        need it, so a thread run never serializes its pipeline).
    """

    def __init__(self, ctx: WellContext, spec: Callable[[], RunSpec]) -> None:
        self.ctx = ctx
        self._make_spec = spec
        self._spec: RunSpec | None = None

    def __call__(self, unit: WorkUnit) -> WellReport:
        """Run ``unit`` in this process."""
        return process_well(unit, self.ctx)

    def spec(self) -> RunSpec:
        """The run as plain data (built on first use)."""
        if self._spec is None:
            self._spec = self._make_spec()
        return self._spec
