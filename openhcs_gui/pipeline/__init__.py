"""The pipeline engine: steps, the planner, the threaded runner and provenance.

``FunctionStep`` and ``Pipeline`` are Qt-free evented models the GUI edits;
``plan_pipeline`` decides where every output goes before anything runs;
``run_pipeline`` executes the plan over wells in parallel and returns a
``RunResult``; ``open_workspace`` reads a finished (or killed) run back.
"""

from __future__ import annotations

from openhcs_gui._lazy import lazy_exports
from openhcs_gui.pipeline.events import (
    CancelToken,
    ImageWritten,
    ProgressCallback,
    ProgressEvent,
    RunFinished,
    RunStarted,
    RunWarning,
    StepFinished,
    StepStarted,
    WellFailed,
    WellFinished,
)
from openhcs_gui.pipeline.pipeline import Pipeline, load_pipeline, save_pipeline
from openhcs_gui.pipeline.planner import ExecutionPlan, StepPlan, plan_pipeline
from openhcs_gui.pipeline.result import RunResult, StepOutput, WellError
from openhcs_gui.pipeline.step import FunctionStep

_LAZY: dict[str, str] = {
    "run_pipeline": "openhcs_gui.pipeline.runner",
    "Executor": "openhcs_gui.pipeline.runner",
    "ThreadExecutor": "openhcs_gui.pipeline.runner",
    "DaskExecutor": "openhcs_gui.pipeline.executors",
    "WorkUnit": "openhcs_gui.pipeline.runner",
    "open_workspace": "openhcs_gui.pipeline.provenance",
    "ResumeError": "openhcs_gui.pipeline.resume",
    "find_workspace": "openhcs_gui.pipeline.resume",
    "demo_pipeline_path": "openhcs_gui.pipeline.demo",
    "load_demo_pipeline": "openhcs_gui.pipeline.demo",
}

__all__ = [
    "FunctionStep",
    "Pipeline",
    "save_pipeline",
    "load_pipeline",
    "ExecutionPlan",
    "StepPlan",
    "plan_pipeline",
    "RunResult",
    "StepOutput",
    "WellError",
    "CancelToken",
    "ProgressEvent",
    "ProgressCallback",
    "RunStarted",
    "StepStarted",
    "StepFinished",
    "ImageWritten",
    "RunWarning",
    "WellFailed",
    "WellFinished",
    "RunFinished",
    *_LAZY,
]

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals(), __all__)
