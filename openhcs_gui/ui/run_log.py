"""The run log: one line per event worth reading, an error's traceback on click.

A bench scientist reads the one-line message; the traceback is one click
away in the details pane instead of filling the log.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QPlainTextEdit, QSplitter, QWidget

from openhcs_gui.constants import RunStatus

__all__ = ["RunLogWidget", "outcome_text", "summary_details"]

_TRACEBACK_ROLE = Qt.ItemDataRole.UserRole


def outcome_text(result: Any, done: int | None = None) -> str:
    """How a run ended, in words that count the wells: never "failed" when most wells are done.

    ``Run completed``, ``Run completed with errors (2 of 8 wells failed)``,
    ``Run failed (8 of 8 wells failed)`` or ``Run cancelled (3 of 8 wells done)``;
    ``done`` (wells that went through every step) is counted from the result when not given.
    """
    total = len(result.wells)
    failed = len({e.well for e in result.errors})
    if result.status is RunStatus.CANCELLED:
        done = total - failed - _not_done(result) if done is None else done
        extra = f", {failed} failed" if failed else ""
        return f"Run cancelled ({done} of {total} wells done{extra})"
    if failed and failed >= total:
        return f"Run failed ({failed} of {total} wells failed)"
    if failed:
        return f"Run completed with errors ({failed} of {total} wells failed)"
    return f"Run {result.status.value}"


def _not_done(result: Any) -> int:
    """Wells of a cancelled run that did not reach the last step (and did not fail)."""
    last = result.steps[-1] if result.steps else None
    reached = {k.well for k in last.keys} if last is not None else set()
    failed = {e.well for e in result.errors}
    return len([w for w in result.wells if w not in reached and w not in failed])


def summary_details(result: Any) -> str:
    """The engine's summary without its first words (the outcome line says them)."""
    text = result.summary()
    head = f"Run {result.status.value} in {result.seconds:.1f} s: "
    return text[len(head):] if text.startswith(head) else text




class RunLogWidget(QSplitter):
    """Log lines on the left, the selected line's traceback (or text) on the right.

    Attributes
    ----------
    log
        The lines (``QListWidget``).
    details
        The traceback of the selected line.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.log = QListWidget(self)
        self.log.setWordWrap(True)
        self.log.currentItemChanged.connect(self._on_log_current_changed)
        self.details = QPlainTextEdit(self)
        self.details.setReadOnly(True)
        self.details.setPlaceholderText("Click an error in the log to see its traceback here.")
        self.addWidget(self.log)
        self.addWidget(self.details)
        self.setSizes([520, 260])

    def add(self, text: str, colour: str | None = None, traceback: str = "") -> None:
        """Append a line (coloured, with a traceback to show when clicked)."""
        item = QListWidgetItem(text, self.log)
        if colour:
            item.setForeground(QColor(colour))
        if traceback:
            item.setData(_TRACEBACK_ROLE, traceback)
            item.setToolTip("Click to see the traceback")
        self.log.scrollToBottom()

    def has_traceback(self, traceback: str) -> bool:
        """True if a line already carries ``traceback`` (an error reported twice stays one line)."""
        return any(self.log.item(i).data(_TRACEBACK_ROLE) == traceback for i in range(self.log.count()))

    def select_traceback(self, traceback: str) -> bool:
        """Select the line carrying ``traceback`` (its details show); False if there is none."""
        for i in range(self.log.count()):
            item = self.log.item(i)
            if traceback and item.data(_TRACEBACK_ROLE) == traceback:
                self.log.setCurrentItem(item)
                self.log.scrollToItem(item)
                return True
        return False

    def lines(self) -> list[str]:
        """The log's text, line by line."""
        return [self.log.item(i).text() for i in range(self.log.count())]

    def clear(self) -> None:
        """Empty the log and the details (a new run starts)."""
        self.log.clear()
        self.details.clear()

    def _on_log_current_changed(self, item: QListWidgetItem | None, _previous: Any) -> None:
        tb = item.data(_TRACEBACK_ROLE) if item is not None else None
        self.details.setPlainText(tb or (item.text() if item is not None else ""))
