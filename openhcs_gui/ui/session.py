"""What the open window is working on: config, pipeline, plate and last run.

The config and the pipeline are single engine objects for the life of the
window (loading a file updates them in place, so every panel stays bound);
the plate and the run result are replaced as a whole, and this QObject
announces those replacements. It holds references only — the state itself is
the engine's objects.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from openhcs_gui.config import GlobalPipelineConfig
from openhcs_gui.pipeline import FunctionStep, Pipeline

__all__ = ["Session", "copy_step"]


class Session(QObject):
    """Shared references for the panels of one main window.

    Parameters
    ----------
    cfg
        Run configuration (edited in place by the config form).
    pipeline
        Steps (edited in place by the pipeline editor).

    Attributes
    ----------
    plate_changed
        Emitted with the new ``PlateIndex`` (or ``None``).
    result_changed
        Emitted with the new ``RunResult`` or workspace view (or ``None``).
    """

    plate_changed = Signal(object)
    result_changed = Signal(object)

    def __init__(
        self, cfg: GlobalPipelineConfig | None = None, pipeline: Pipeline | None = None
    ) -> None:
        super().__init__()
        self.cfg = cfg if cfg is not None else GlobalPipelineConfig()
        self.pipeline = pipeline if pipeline is not None else Pipeline()
        self.plate: Any = None
        self.result: Any = None
        self.running = False

    def set_plate(self, plate: Any) -> None:
        """Make ``plate`` (a ``PlateIndex``) current and tell the panels.

        A run result of another plate is let go first: its outputs and tables
        must never be listed or painted onto this plate's wells.
        """
        self.plate = plate
        if self.result is not None and plate is not None and not _same_plate(self.result, plate):
            self.set_result(None)
        self.plate_changed.emit(plate)

    def set_result(self, result: Any) -> None:
        """Make ``result`` (a ``RunResult`` or workspace view) current and tell the panels."""
        self.result = result
        self.result_changed.emit(result)

    def replace_pipeline(self, other: Pipeline) -> None:
        """Put ``other``'s steps into the current pipeline (keeps every panel bound)."""
        self.pipeline.name = other.name
        self.pipeline.clear()
        self.pipeline.extend(other)

    def snapshot(self) -> tuple[Pipeline, GlobalPipelineConfig]:
        """Independent copies of pipeline and config for a run.

        The run works on copies, so editing the form while it runs cannot
        change a run halfway.
        """
        steps = [copy_step(s) for s in self.pipeline]
        return Pipeline(steps, name=self.pipeline.name), self.cfg.model_copy(deep=True)


def _same_plate(result: Any, plate: Any) -> bool:
    """True when ``result`` was computed from ``plate`` (the plan records the input plate's path)."""
    plan = getattr(result, "plan", None)
    recorded = getattr(plan, "plate_path", None)
    if recorded is None or getattr(plate, "path", None) is None:
        return False
    return Path(recorded).resolve() == Path(plate.path).resolve()


def copy_step(step: FunctionStep) -> FunctionStep:
    """A new, independent step with the same function, name, options and parameters."""
    return FunctionStep(
        step.func,
        step.name,
        force_disk_output=step.force_disk_output,
        backend=step.backend,
        variable_components=step.variable_components,
        group_by=step.group_by,
        **dict(step.kwargs),
    )
