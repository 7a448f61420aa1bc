"""The run log: one line per event worth reading, an error's traceback on click.

A bench scientist reads the one-line message; the traceback is one click
away in the details pane instead of filling the log.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QPlainTextEdit, QSplitter, QWidget

__all__ = ["RunLogWidget"]

_TRACEBACK_ROLE = Qt.ItemDataRole.UserRole


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
