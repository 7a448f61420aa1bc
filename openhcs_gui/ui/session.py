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

__all__ = ["Session", "copy_step", "result_plate_path"]


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
    plate_switch_requested
        The input plate folder of a result that belongs to another plate: the
        window opens that plate, and the result is shown once it is current.
    result_refused
        One sentence: why a result was not shown (its plate is not this one
        and cannot be found).
    failure_requested
        A well whose failure (message and traceback) the user asked to see.
    form_errors_changed
        ``{field: message}`` of every invalid value shown in a form (empty: all valid).
    """

    plate_changed = Signal(object)
    result_changed = Signal(object)
    plate_switch_requested = Signal(str)
    result_refused = Signal(str)
    failure_requested = Signal(str)
    form_errors_changed = Signal(dict)

    def __init__(
        self, cfg: GlobalPipelineConfig | None = None, pipeline: Pipeline | None = None
    ) -> None:
        super().__init__()
        self.cfg = cfg if cfg is not None else GlobalPipelineConfig()
        self.pipeline = pipeline if pipeline is not None else Pipeline()
        self.plate: Any = None
        self.result: Any = None
        self.running = False
        self._pending_result: Any = None
        self._form_errors: dict[str, dict[str, str]] = {}

    def set_plate(self, plate: Any) -> None:
        """Make ``plate`` (a ``PlateIndex``) current and tell the panels.

        A run result of another plate is let go first: its outputs and tables
        must never be listed or painted onto this plate's wells.
        """
        self.plate = plate
        pending, self._pending_result = self._pending_result, None
        if self.result is not None and plate is not None and not _same_plate(self.result, plate):
            self._show_result(None)
        self.plate_changed.emit(plate)
        if pending is not None and plate is not None and _same_plate(pending, plate):
            self._show_result(pending)

    def set_result(self, result: Any) -> None:
        """Make ``result`` (a ``RunResult`` or workspace view) current and tell the panels.

        A result of another plate is never painted onto the open one: when its
        input plate still exists, ``plate_switch_requested`` asks the window to
        open it (the result follows once it is current); otherwise
        ``result_refused`` says why and nothing changes.
        """
        recorded = result_plate_path(result) if result is not None else None
        if recorded is not None and not _same_plate(result, self.plate):
            if recorded.exists():
                self._pending_result = result
                self.plate_switch_requested.emit(str(recorded))
                return
            if self.plate is not None:
                self.result_refused.emit(
                    f"The workspace {getattr(result, 'workspace', '')} belongs to the plate {recorded}, "
                    f"which cannot be found; open that plate first."
                )
                return
        self._show_result(result)

    def _show_result(self, result: Any) -> None:
        self.result = result
        self.result_changed.emit(result)

    def set_form_errors(self, owner: str, errors: dict[str, str]) -> None:
        """Record the invalid values one form shows (``{}`` clears them); Run stays off while any remain."""
        if errors:
            self._form_errors[owner] = dict(errors)
        else:
            self._form_errors.pop(owner, None)
        self.form_errors_changed.emit(self.form_errors)

    @property
    def form_errors(self) -> dict[str, str]:
        """``{field: message}`` over every form with an invalid value."""
        return {k: v for errors in self._form_errors.values() for k, v in errors.items()}

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


def result_plate_path(result: Any) -> Path | None:
    """The input plate folder a result was computed from (its plan records it), or ``None``."""
    recorded = getattr(getattr(result, "plan", None), "plate_path", None)
    return Path(recorded) if recorded else None


def _same_plate(result: Any, plate: Any) -> bool:
    """True when ``result`` was computed from ``plate`` (the plan records the input plate's path)."""
    recorded = result_plate_path(result)
    if recorded is None or getattr(plate, "path", None) is None:
        return False
    return recorded.resolve() == Path(plate.path).resolve()


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
