"""Fixtures for the GUI tests (pytest-qt under Xvfb via pytest-xvfb).

``make_main_window`` is modelled on napari's ``make_napari_viewer``: it builds
windows (hidden unless asked), tracks them, closes them after the test, waits
for background work, and fails the test if a top-level widget leaked.
Errors raised in Qt slots fail the test (pytest-qt's default ``qt_no_exception_capture``
is off), so a result delivered to a deleted widget is caught here.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QEvent, QSettings
from PySide6.QtWidgets import QApplication, QWidget

from openhcs_gui.ui import workers

SCREENSHOTS = Path(__file__).resolve().parents[1] / "screenshots"


def _top_level_widgets() -> set[int]:
    return {id(w) for w in QApplication.topLevelWidgets() if w.isWindow()}


def _flush_deletes() -> None:
    for _ in range(3):
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        QCoreApplication.processEvents()
    gc.collect()


@pytest.fixture
def make_main_window(qtbot, tmp_path: Path) -> Iterator[Callable[..., object]]:
    """Factory: ``make_main_window(show=False)`` → a tracked ``MainWindow``.

    Each window keeps its layout and recent files in a throw-away settings file,
    so tests never read or write the user's settings.
    """
    from openhcs_gui.ui.app import create_main_window

    _flush_deletes()
    before = _top_level_widgets()
    windows: list[QWidget] = []

    def factory(show: bool = False, size: tuple[int, int] = (1600, 1000), defer_viewer: bool = False) -> object:
        settings = QSettings(str(tmp_path / f"settings{len(windows)}.ini"), QSettings.Format.IniFormat)
        window = create_main_window(settings, defer_viewer=defer_viewer)
        window.resize(*size)
        windows.append(window)
        if show:
            window.show()
            qtbot.waitExposed(window)
        return window

    yield factory

    for window in windows:
        window.close()  # cancels the window's workers without waiting for them
        window.deleteLater()
    _flush_deletes()  # the windows are gone while late calls may still be running...
    # ...so their results must be dropped, not delivered to deleted widgets; wait for
    # them here (never in closeEvent) so the next test starts on idle threads.
    assert workers.wait_idle(timeout=60), "background tasks still running after the test"
    _flush_deletes()
    leaked = [
        w for w in QApplication.topLevelWidgets()
        if w.isWindow() and id(w) not in before
    ]
    assert not leaked, f"leaked top-level widgets: {[type(w).__name__ for w in leaked]}"


@pytest.fixture
def small_plate(tmp_path: Path) -> Path:
    """4 wells × 2 sites × 2 channels × 128² ImageXpress plate (fast on 2 cores)."""
    from openhcs_gui.plates import make_synthetic_plate

    return make_synthetic_plate(
        tmp_path / "plate", wells=["A01", "A02", "B01", "B02"], sites=2, channels=2, shape=(128, 128)
    )


@pytest.fixture
def screenshot_dir() -> Path:
    """``tests/screenshots/`` (git-ignored), created on demand."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture
def permits() -> Iterator[type]:
    """:class:`ui_helpers.Permits` with none granted; leftovers are taken back after the test."""
    from ui_helpers import Permits

    Permits.revoke_all()
    yield Permits
    Permits.revoke_all()
