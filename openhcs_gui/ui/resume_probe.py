"""The Resume button: shown while the open plate has an unfinished earlier run.

Whether there is one is an engine question
(:func:`~openhcs_gui.pipeline.workspace_probe.find_resumable`, disk I/O), asked
on the window's workers; :class:`ResumeOffer` shows the button with what came
back. Only the newest question's answer is applied: the plate may change
while a worker looks.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QPushButton, QWidget

from openhcs_gui.pipeline.workspace_probe import ResumableRun, find_resumable
from openhcs_gui.ui.workers import Task, TaskOwner

__all__ = ["ResumableRun", "ResumeOffer", "find_resumable"]


class ResumeOffer(QObject):
    """The Resume button, shown only while the open plate has an unfinished run.

    Parameters
    ----------
    parent
        The widget the button belongs to.
    tasks
        The window's background calls (default: the offer's own).

    Attributes
    ----------
    changed
        The :class:`ResumableRun` now offered, or ``None``, after every check.
    """

    changed = Signal(object)

    def __init__(self, parent: QWidget, *, tasks: TaskOwner | None = None) -> None:
        super().__init__(parent)
        self._tasks = tasks if tasks is not None else TaskOwner(self)
        self.found: ResumableRun | None = None
        self._asked = 0  # only the newest check is applied (the plate may change meanwhile)
        self.button = QPushButton("⟳ Resume", parent)
        self.button.setVisible(False)  # in a row of buttons: showing it moves no other widget

    def check(self, plate: Any, cfg: Any) -> Task | None:
        """Look for an unfinished run of ``plate`` on a worker (``None`` plate: offer nothing)."""
        self._asked += 1
        if plate is None:
            self._apply(self._asked, None)
            return None
        return self._tasks.submit(
            find_resumable, plate, cfg.model_copy(deep=True), name="find resumable run",
            on_finished=partial(self._apply, self._asked),
            on_failed=partial(self._on_check_failed, self._asked),
        )

    def _on_check_failed(self, asked: int, _error: BaseException, _tb: str) -> None:
        self._apply(asked, None)  # Run still works; pressing Resume would say what is wrong

    def _apply(self, asked: int, found: ResumableRun | None) -> None:
        if asked != self._asked:
            return
        self.found = found
        self.button.setVisible(found is not None)
        if found is not None:
            self.button.setToolTip(
                f"Continue the {found.status} run in {found.workspace}: its {found.wells_done} completed "
                f"of {found.wells_total} wells are skipped, the others run again there.")
        self.changed.emit(found)
