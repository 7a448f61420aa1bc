"""Undo/redo as a user sees it: Edit menu, Ctrl+Z / Ctrl+Shift+Z, the forms and the models agree."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from openhcs_gui.constants import Backend


def _menu(window, title: str):
    return next(a.menu() for a in window.menuBar().actions() if a.text() == title)


def _settle(qtbot) -> None:
    """One event-loop turn: the edits of one user action become one undo step."""
    qtbot.wait(10)


def _sigma(window):
    return window.pipeline_editor.step_form.kwargs_form.form.editors["sigma"]


def test_edit_menu_and_parameter_undo_redo(make_main_window, qtbot) -> None:
    window = make_main_window(show=True)
    window.activateWindow()  # shortcuts go to the active window
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5000)
    editor = window.pipeline_editor
    edit = _menu(window, "&Edit")
    assert [a.text() for a in edit.actions() if a.text()][:2] == ["&Undo", "&Redo"]
    undo, redo = window.menus.actions["undo"], window.menus.actions["redo"]
    assert undo.shortcut().toString() == "Ctrl+Z" and redo.shortcut().toString() == "Ctrl+Shift+Z"
    assert not undo.isEnabled()

    step = editor.add_function("gaussian_blur")
    _settle(qtbot)
    assert undo.isEnabled() and "Add step" in undo.text()
    start = step.kwargs["sigma"]
    _sigma(window).inner.setValue(4.5)
    _settle(qtbot)
    assert step.kwargs["sigma"] == pytest.approx(4.5)
    assert "sigma" in undo.text()

    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # Ctrl+Z
    assert step.kwargs["sigma"] == pytest.approx(start)  # the model…
    assert _sigma(window).inner.value() == pytest.approx(start)  # …and the form show the old value
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert step.kwargs["sigma"] == pytest.approx(4.5)
    assert _sigma(window).inner.value() == pytest.approx(4.5)


def test_consecutive_edits_of_one_field_are_one_undo_step(make_main_window, qtbot) -> None:
    window = make_main_window(show=True)
    step = window.pipeline_editor.add_function("gaussian_blur")
    _settle(qtbot)
    start = step.kwargs["sigma"]
    spin = _sigma(window).inner
    spin.setFocus()
    for _ in range(3):  # three clicks of the arrow key: three edits of one field
        qtbot.keyClick(spin, Qt.Key.Key_Up)
        _settle(qtbot)
    assert step.kwargs["sigma"] == pytest.approx(start + 0.3)
    count = window.history.stack.count()
    window.history.undo()
    assert step.kwargs["sigma"] == pytest.approx(start)
    assert window.history.stack.index() == count - 1  # one step back, not three
    assert len(window.session.pipeline) == 1  # the step itself is still there

    # an edit of another field is its own step
    window.history.redo()
    window.pipeline_editor.step_form.options.editors["force_disk_output"].inner.click()
    _settle(qtbot)
    window.history.undo()
    assert step.force_disk_output is False and step.kwargs["sigma"] == pytest.approx(start + 0.3)


def test_step_removal_is_undone_at_its_index_with_its_parameters(make_main_window, qtbot) -> None:
    window = make_main_window()
    editor = window.pipeline_editor
    messages: list[str] = []
    editor.message.connect(messages.append)
    for name in ("gaussian_blur", "subtract_background", "count_objects"):
        editor.add_function(name)
    middle = window.session.pipeline[1]
    middle.name = "flatten"
    _settle(qtbot)
    editor.select_row(1)
    kwargs = dict(middle.kwargs)
    editor.buttons["remove"].click()
    _settle(qtbot)
    assert [s.name for s in window.session.pipeline] == ["gaussian_blur", "count_objects"]
    assert any("Removed step “flatten”" in m and "Undo" in m for m in messages)

    window.menus.actions["undo"].trigger()
    assert [s.name for s in window.session.pipeline] == ["gaussian_blur", "flatten", "count_objects"]
    assert window.session.pipeline[1].kwargs == kwargs
    assert editor.model.rowCount() == 3 and editor.model.index(1, 0).data() == "flatten"
    assert editor.current_row() == 1  # the restored step is selected, its form shown
    assert editor.step_form is not None and editor.step_form.step is window.session.pipeline[1]
    window.menus.actions["redo"].trigger()
    assert [s.name for s in window.session.pipeline] == ["gaussian_blur", "count_objects"]


def test_global_config_change_undo(make_main_window, qtbot) -> None:
    window = make_main_window()
    cfg = window.session.cfg
    form = window.config_panel.form
    workers = form.editors["num_workers"]
    before = cfg.num_workers
    workers.inner.setValue(before + 3 if before < 200 else 2)
    _settle(qtbot)
    changed = cfg.num_workers
    assert changed != before
    backend = form.children_forms["vfs"].editors["materialization_backend"]
    backend.inner.setCurrentIndex(1 - backend.inner.currentIndex())
    _settle(qtbot)
    chosen = cfg.vfs.materialization_backend

    window.history.undo()
    assert cfg.vfs.materialization_backend is not chosen
    assert backend.inner.currentText() != ""  # the combo shows the old choice again
    assert cfg.num_workers == changed
    window.history.undo()
    assert cfg.num_workers == before and workers.inner.value() == before
    window.history.redo()
    window.history.redo()
    assert cfg.num_workers == changed and cfg.vfs.materialization_backend is chosen


def test_new_pipeline_and_function_change_keep_what_applies(make_main_window, qtbot) -> None:
    window = make_main_window()
    editor = window.pipeline_editor
    step = editor.add_function("gaussian_blur")
    step.backend = Backend.ZARR
    _settle(qtbot)
    editor.add_function("count_objects")
    _settle(qtbot)

    window.menus.actions["new_pipeline"].trigger()
    assert len(window.session.pipeline) == 0
    assert "Undo" in window.statusBar().currentMessage()
    window.menus.actions["undo"].trigger()
    assert [s.name for s in window.session.pipeline] == ["gaussian_blur", "count_objects"]
    assert window.session.pipeline[0].backend is Backend.ZARR

    # a function change keeps parameters whose names and types still apply
    counting = window.session.pipeline[1]
    editor.select_row(1)
    form = editor.step_form.kwargs_form.form
    form.editors["smooth_sigma"].inner.setValue(2.75)
    form.editors["min_size"].inner.setValue(40)
    _settle(qtbot)
    editor.step_form.function_combo.setCurrentText("threshold_and_measure")
    _settle(qtbot)
    new = window.session.pipeline[1]
    assert new.name == "threshold_and_measure"
    assert new.kwargs["smooth_sigma"] == pytest.approx(2.75) and new.kwargs["min_size"] == 40
    shown = editor.step_form.kwargs_form.form.editors
    assert shown["smooth_sigma"].inner.value() == pytest.approx(2.75) and shown["min_size"].inner.value() == 40
    window.history.undo()  # the function change is one undo step
    assert window.session.pipeline[1] is counting and counting.kwargs["min_size"] == 40
    assert editor.step_form.function_combo.currentText() == "count_objects"


def test_history_view_lists_the_steps(make_main_window, qtbot, screenshot_dir) -> None:
    window = make_main_window(show=True)
    editor = window.pipeline_editor
    editor.add_function("gaussian_blur")
    _settle(qtbot)
    _sigma(window).inner.setValue(2.5)
    _settle(qtbot)
    editor.add_function("count_objects")
    _settle(qtbot)
    window.history.undo()
    window.menus.actions["history"].trigger()
    QApplication.processEvents()
    view = window.project.history_view
    assert window.project.history_dock.isVisible()
    texts = [view.model().index(r, 0).data() for r in range(view.model().rowCount())]
    assert texts[0] == "(as opened)" and texts[1] == "Add step “gaussian_blur”"
    assert "sigma" in texts[2] and texts[3] == "Add step “count_objects”"
    assert view.currentIndex().row() == 2  # the undone step is listed below the current one
    window.grab().save(str(screenshot_dir / "undo_history.png"))


def test_opening_a_pipeline_file_is_one_undo_step(make_main_window, qtbot) -> None:
    window = make_main_window()
    mine = window.pipeline_editor.add_function("gaussian_blur")
    _settle(qtbot)
    with qtbot.waitSignal(window.pipeline_loaded, timeout=30000):
        window.menus.actions["demo_pipeline"].trigger()
    _settle(qtbot)
    demo = [s.name for s in window.session.pipeline]
    assert len(demo) > 1
    assert window.menus.actions["undo"].text().startswith("&Undo Open pipeline ")
    window.menus.actions["undo"].trigger()
    assert list(window.session.pipeline) == [mine] and window.session.pipeline[0] is mine
    window.menus.actions["redo"].trigger()
    assert [s.name for s in window.session.pipeline] == demo
