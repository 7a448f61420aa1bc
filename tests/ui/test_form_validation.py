"""Forms validate before Run (issue 14 item 6): bounds from signatures, red marks, Run off with the reason."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication
from ui_helpers import open_plate_and_wait

pytestmark = pytest.mark.gui


def _type(qtbot, editor, text: str) -> None:
    """Select the box's text, type ``text`` and press Enter, as a user does."""
    line = editor.inner.lineEdit()
    line.selectAll()
    qtbot.keyClicks(line, text)
    qtbot.keyClick(line, Qt.Key.Key_Return)


def _wheel(widget, up: bool = True) -> None:
    pos = QPointF(widget.rect().center())
    event = QWheelEvent(pos, QPointF(widget.mapToGlobal(pos.toPoint())), QPoint(0, 0),
                        QPoint(0, 120 if up else -120), Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


@pytest.fixture
def blur_window(make_main_window, small_plate: Path, qtbot):
    window = make_main_window(show=True, size=(1280, 800))
    open_plate_and_wait(window, qtbot, small_plate)
    step = window.pipeline_editor.add_function("gaussian_blur")
    sigma = window.pipeline_editor.step_form.kwargs_form.form.editors["sigma"]
    return window, step, sigma


def test_invalid_sigma_is_red_and_turns_run_off_with_the_reason(blur_window, qtbot) -> None:
    window, step, sigma = blur_window
    run = window.run_panel.run_button
    assert run.isEnabled()
    _type(qtbot, sigma, "-1")
    assert step.kwargs["sigma"] == 2.0  # the model keeps its valid value
    assert "greater than or equal to 0" in sigma.error
    assert sigma.inner.toolTip() == sigma.error and "border" in sigma.inner.styleSheet()
    assert not run.isEnabled()
    reason = window.run_panel.stats.text()
    assert "Cannot run: Input should be greater than or equal to 0 (gaussian_blur › Sigma)." in reason and "greater than or equal to 0" in reason
    assert "greater than or equal to 0" in run.toolTip()
    assert not window.start_run()  # F5 too

    _type(qtbot, sigma, "1e-3")  # scientific notation is a number
    assert step.kwargs["sigma"] == pytest.approx(0.001)
    assert sigma.error is None and sigma.inner.styleSheet() == "" and sigma.inner.text() == "0.001"
    assert run.isEnabled() and "Ready" in window.run_panel.stats.text()


def test_out_of_range_exponent_is_an_error_never_19(blur_window, qtbot) -> None:
    window, step, sigma = blur_window
    _type(qtbot, sigma, "1e9")
    assert step.kwargs["sigma"] == 2.0
    assert sigma.inner.text() == "1e+09"  # what was typed, not 19, not the bound
    assert "less than or equal to 200" in sigma.error
    assert not window.run_panel.run_button.isEnabled()


def test_letters_are_refused_visibly(blur_window, qtbot) -> None:
    window, step, sigma = blur_window
    line = sigma.inner.lineEdit()
    line.selectAll()
    qtbot.keyClicks(line, "abc")
    assert "is not a number" in sigma.error and "border" in sigma.inner.styleSheet()
    assert step.kwargs["sigma"] == 2.0
    qtbot.keyClick(line, Qt.Key.Key_Return)  # editing over: the refused keys are history, the value stands
    assert sigma.error is None and step.kwargs["sigma"] == 2.0


def test_precision_fits_the_value(blur_window, qtbot) -> None:
    _window, step, sigma = blur_window
    _type(qtbot, sigma, "0.00012345")
    assert step.kwargs["sigma"] == pytest.approx(0.00012345)
    assert sigma.inner.text() == "0.00012345"  # not rounded to 0.000
    _type(qtbot, sigma, "1.5")
    assert sigma.inner.text() == "1.5"  # not 1.500000000000000


def test_wheel_changes_a_number_box_only_when_it_has_focus(blur_window, qtbot) -> None:
    window, step, sigma = blur_window
    window.activateWindow()
    window.pipeline_editor.search.setFocus()
    qtbot.waitUntil(lambda: window.pipeline_editor.search.hasFocus(), timeout=5000)
    _wheel(sigma.inner)
    assert step.kwargs["sigma"] == 2.0 and not sigma.inner.hasFocus()
    sigma.inner.setFocus()
    qtbot.waitUntil(lambda: sigma.inner.hasFocus(), timeout=5000)
    _wheel(sigma.inner)
    assert step.kwargs["sigma"] == pytest.approx(2.1)


def test_invalid_config_value_also_turns_run_off(blur_window, qtbot) -> None:
    window, _step, _sigma = blur_window
    workers = window.config_panel.form.editors["num_workers"]
    _type(qtbot, workers, "1e9")
    assert "less than or equal to 256" in workers.error
    assert not window.run_panel.run_button.isEnabled()
    _type(qtbot, workers, "2")
    assert workers.error is None and window.run_panel.run_button.isEnabled()
