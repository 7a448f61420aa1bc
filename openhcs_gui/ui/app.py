"""Application bootstrap: ``QApplication``, settings identity, window, event loop.

``openhcs-gui gui [PLATE]`` (and ``openhcs-gui`` with no arguments) end up in
:func:`main`. The window is shown before napari is imported (napari's imports
are most of a start: ~2 s), with the viewer built once a worker has imported
it; the plate, if given, is scanned in a worker after the window is shown, so
the window appears at once whatever the plate's size.
"""

from __future__ import annotations

import html
import sys
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QSettings, QTimer
from PySide6.QtGui import QIcon, Qt
from PySide6.QtWidgets import QApplication, QWidget

from openhcs_gui.ui.main_window import MainWindow

__all__ = ["main", "create_main_window", "ensure_app", "start_app", "APP_NAME", "ORG_NAME"]

APP_NAME = "OpenHCS GUI"
ORG_NAME = "OpenHCS"
ORG_DOMAIN = "openhcs.org"


def _icon_path() -> Path:
    return Path(__file__).resolve().parent.parent / "resources" / "icon.svg"


def _icon() -> QIcon:
    resources = _icon_path().parent
    icon = QIcon()
    for size in (16, 32, 48, 64, 128, 256):
        png = resources / f"icon-{size}.png"
        if png.is_file():
            icon.addFile(str(png))
    return icon


def ensure_app() -> QApplication:
    """The running ``QApplication``, created (with name and organisation) if needed.

    The names decide where ``QSettings`` keeps window layout and recent files.
    """
    from napari.qt import get_qapp

    from openhcs_gui import __version__

    if QApplication.instance() is None:
        # napari's factory also registers its icon/theme search paths.
        app = get_qapp(app_name=APP_NAME, app_version=__version__, org_name=ORG_NAME,
                       org_domain=ORG_DOMAIN, icon=str(_icon_path()))
    else:
        app = get_qapp()
    QCoreApplication.setOrganizationName(ORG_NAME)
    QCoreApplication.setOrganizationDomain(ORG_DOMAIN)
    QCoreApplication.setApplicationName(APP_NAME)
    app.setWindowIcon(_icon())
    return app  # type: ignore[return-value]


class _WrappingToolTips(QObject):
    """Tool tips as rich text, so Qt wraps long ones (napari's app does the same)."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.ToolTipChange and isinstance(watched, QWidget):
            tip = watched.toolTip()
            if tip and not Qt.mightBeRichText(tip):  # QtGui adds it to the Qt namespace
                watched.setToolTip(f"<qt>{html.escape(tip)}</qt>")
                return True
        return super().eventFilter(watched, event)


def start_app() -> QApplication:
    """The desktop app's ``QApplication``, made without importing napari (a fast start).

    Same names as :func:`ensure_app`; napari registers its theme paths on this
    application when the viewer is built (``get_qapp`` adopts a running app).
    """
    app = QApplication.instance()
    if app is None:
        from openhcs_gui import __version__

        app = QApplication(sys.argv)
        app.setApplicationVersion(__version__)
        app.installEventFilter(_WrappingToolTips(app))
    QCoreApplication.setOrganizationName(ORG_NAME)
    QCoreApplication.setOrganizationDomain(ORG_DOMAIN)
    QCoreApplication.setApplicationName(APP_NAME)
    app.setWindowIcon(_icon())
    return app  # type: ignore[return-value]


def create_main_window(settings: QSettings | None = None, *, defer_viewer: bool = False) -> MainWindow:
    """A new main window (the application must exist; tests use pytest-qt's).

    Parameters
    ----------
    settings
        Where layout and recent files are stored; default: the app's ``QSettings``.
    defer_viewer
        Show the window first and build napari's viewer once a worker has
        imported it (the desktop app); default: the viewer is there at once.
    """
    window = MainWindow(settings=settings, defer_viewer=defer_viewer)
    window.setWindowIcon(_icon())
    return window


def main(plate_path: str | None = None, pipeline_path: str | None = None) -> int:
    """Run the desktop application until its window closes.

    Parameters
    ----------
    plate_path
        A plate folder to open once the window is shown (scanned in a worker).
    pipeline_path
        A pipeline JSON file to load into the editor once the window is shown.

    Returns
    -------
    int
        The process exit code of the Qt event loop.
    """
    app = start_app()
    window = create_main_window(defer_viewer=True)  # usable at once; napari follows
    window.show()
    if plate_path:
        QTimer.singleShot(0, lambda: window.open_plate(plate_path))
    if pipeline_path:
        QTimer.singleShot(0, lambda: window.load_pipeline(pipeline_path))
    code = app.exec()
    from openhcs_gui.ui import workers

    workers.shutdown()
    return int(code)
