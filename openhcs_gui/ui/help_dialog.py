"""Help → Getting started: a short page inside the app, for a first session at the bench.

The text lives in ``resources/getting_started.html`` (plain HTML a non-programmer
can edit); this module only shows it in a :class:`QTextBrowser`, so help works
offline and never opens a browser.
"""

from __future__ import annotations

from importlib import resources

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout, QWidget

__all__ = ["GettingStartedDialog", "getting_started_html"]


def getting_started_html() -> str:
    """The getting-started page (HTML) shipped with the package."""
    return resources.files("openhcs_gui").joinpath("resources/getting_started.html").read_text(encoding="utf-8")


class GettingStartedDialog(QDialog):
    """A non-modal window with the getting-started page; it stays open beside the main window.

    Parameters
    ----------
    parent
        The main window (the dialog is deleted when closed).
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Getting started — OpenHCS")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.browser = QTextBrowser(self)
        self.browser.setObjectName("GettingStarted")
        self.browser.setOpenExternalLinks(True)
        self.browser.setHtml(getting_started_html())
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.browser, 1)
        layout.addWidget(buttons)
        self.resize(560, 620)
