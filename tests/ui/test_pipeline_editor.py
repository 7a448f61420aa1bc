"""Pipeline editor: build, reorder, edit steps; the planner column follows every change."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from openhcs_gui.config import config_to_dict
from openhcs_gui.constants import Backend, MaterializationBackend

pytestmark = pytest.mark.gui


def _names(window) -> list[str]:
    return [s.name for s in window.session.pipeline]


def _output(window, row: int) -> str:
    editor = window.pipeline_editor
    return editor.model.data(editor.model.index(row, 2), Qt.ItemDataRole.DisplayRole)


def test_add_reorder_duplicate_remove(make_main_window, qtbot) -> None:
    window = make_main_window()
    editor = window.pipeline_editor
    editor.search.setText("blur")  # the library filters as you type
    visible = [editor.library.item(i).text() for i in range(editor.library.count())
               if not editor.library.item(i).isHidden()]
    # names, descriptions and keywords are searched; the best match comes first and is picked
    assert visible[0].startswith("Smooth (Gaussian blur)") and "Find nuclei" not in " ".join(visible)
    assert editor.library.currentItem().text() == visible[0]
    qtbot.mouseClick(editor.add_button, Qt.MouseButton.LeftButton)
    editor.search.clear()
    editor.add_function("subtract_background")
    editor.add_function("max_projection")
    assert _names(window) == ["gaussian_blur", "subtract_background", "max_projection"]
    assert editor.model.rowCount() == 3

    editor.select_row(2)
    qtbot.mouseClick(editor.buttons["up"], Qt.MouseButton.LeftButton)
    assert _names(window) == ["gaussian_blur", "max_projection", "subtract_background"]
    assert editor.current_row() == 1
    qtbot.mouseClick(editor.buttons["down"], Qt.MouseButton.LeftButton)
    assert _names(window)[2] == "max_projection"

    # a drag inside the table is the same list move
    mime = editor.model.mimeData([editor.model.index(0, 0)])
    editor.model.dropMimeData(mime, Qt.DropAction.MoveAction, 3, 0, editor.model.index(-1, -1))
    assert _names(window) == ["subtract_background", "max_projection", "gaussian_blur"]

    editor.select_row(0)
    qtbot.mouseClick(editor.buttons["duplicate"], Qt.MouseButton.LeftButton)
    assert _names(window)[:2] == ["subtract_background", "subtract_background_copy"]
    assert window.session.pipeline[1] is not window.session.pipeline[0]
    qtbot.mouseClick(editor.buttons["remove"], Qt.MouseButton.LeftButton)
    assert _names(window) == ["subtract_background", "max_projection", "gaussian_blur"]
    assert editor.model.rowCount() == 3


def test_step_form_edits_and_planner_column(make_main_window, small_plate: Path, qtbot) -> None:
    window = make_main_window()
    with qtbot.waitSignal(window.plate_opened, timeout=30000):
        window.open_plate(small_plate)
    editor = window.pipeline_editor
    editor.add_function("gaussian_blur")
    editor.add_function("count_objects")
    assert _output(window, 0) == "memory (kept)"
    assert _output(window, 1) == "TIFF: step2_count_objects"  # last step: materialization default
    assert str(small_plate.parent / "plate_workspace") in editor.plan_label.text()

    editor.select_row(0)
    form = editor.step_form
    assert form is not None and form.step is window.session.pipeline[0]
    form.options.editors["force_disk_output"].inner.click()
    assert window.session.pipeline[0].force_disk_output is True
    assert _output(window, 0) == "TIFF: step1_gaussian_blur"

    backend = form.options.editors["backend"]
    assert backend.inner.currentText() == "default: TIFF files"  # what the planner picks now
    backend.inner.setCurrentText("OME-Zarr")
    assert window.session.pipeline[0].backend is Backend.ZARR
    assert _output(window, 0) == "OME-Zarr: step1_gaussian_blur/images.zarr"
    assert "wins over force_disk_output" in editor.plan_label.text()
    backend.inner.setCurrentIndex(0)  # back to the default
    assert window.session.pipeline[0].backend is None

    # the function's parameters: form from its signature, written to the step
    sigma = form.kwargs_form.form.editors["sigma"]
    sigma.inner.setValue(3.5)
    assert window.session.pipeline[0].kwargs["sigma"] == pytest.approx(3.5)

    # the config changes the plan live
    window.session.cfg.vfs.materialization_backend = MaterializationBackend.ZARR
    assert _output(window, 1) == "OME-Zarr: step2_count_objects/images.zarr"
    window.session.cfg.materialization_defaults.output_path = small_plate.parent / "results"
    assert str(small_plate.parent / "results" / "plate_workspace") in editor.plan_label.text()

    # another function replaces the step (function and parameters change together)
    form.function_combo.setCurrentText("subtract_background")
    assert window.session.pipeline[0].name == "subtract_background"
    assert "sigma" not in window.session.pipeline[0].kwargs
    assert window.session.pipeline[0].force_disk_output is True


def test_a_pipeline_brings_back_the_settings_it_was_saved_with(make_main_window, tmp_path: Path, qtbot) -> None:
    """Save with results as OME-Zarr in a chosen folder; change the settings; open the pipeline: they return.

    Opening it is one undo step that restores both the steps and the settings.
    """
    from openhcs_gui.constants import Backend

    window = make_main_window()
    window.pipeline_editor.add_function("gaussian_blur")
    defaults = window.session.cfg.materialization_defaults
    defaults.backend = Backend.ZARR
    defaults.output_path = tmp_path / "results"
    task = window.save_pipeline(tmp_path / "tuned.json")
    qtbot.waitUntil(lambda: not task.running, timeout=10000)
    window.history.flush()

    defaults.backend = Backend.DISK
    defaults.output_path = None
    window.session.pipeline.clear()
    window.history.flush()
    before = window.history.stack.count()
    with qtbot.waitSignal(window.pipeline_loaded, timeout=10000):
        window.load_pipeline(tmp_path / "tuned.json")
    window.history.flush()
    assert _names(window) == ["gaussian_blur"]
    assert defaults.backend is Backend.ZARR and defaults.output_path == tmp_path / "results"
    assert "Loaded pipeline and its settings from" in window.statusBar().currentMessage()
    assert window.history.stack.count() == before + 1
    window.history.undo()
    assert _names(window) == [] and defaults.backend is Backend.DISK and defaults.output_path is None


def test_save_load_round_trip(make_main_window, tmp_path: Path, qtbot) -> None:
    window = make_main_window()
    editor = window.pipeline_editor
    editor.add_function("gaussian_blur")
    editor.add_function("count_objects")
    editor.select_row(0)
    editor.step_form.kwargs_form.form.editors["sigma"].inner.setValue(1.25)
    editor.step_form.options.editors["force_disk_output"].inner.click()
    target = tmp_path / "p.json"
    task = window.save_pipeline(target)
    qtbot.waitUntil(lambda: not task.running, timeout=10000)
    saved = json.loads(target.read_text())
    assert [s["name"] for s in saved["steps"]] == ["gaussian_blur", "count_objects"]
    assert saved.pop("config") == config_to_dict(window.session.cfg)  # the settings travel with it

    window.session.pipeline.clear()
    assert editor.model.rowCount() == 0
    with qtbot.waitSignal(window.pipeline_loaded, timeout=10000):
        window.load_pipeline(target)
    assert _names(window) == ["gaussian_blur", "count_objects"]
    assert window.session.pipeline.to_dict() == saved
    # a loaded step keeps its kwargs in (func, kwargs); the form still edits them
    editor.select_row(0)
    sigma = editor.step_form.kwargs_form.form.editors["sigma"]
    assert sigma.value == pytest.approx(1.25)
    sigma.inner.setValue(2.5)
    assert window.session.pipeline.to_dict()["steps"][0]["func"]["kwargs"]["sigma"] == pytest.approx(2.5)
    assert _output(window, 0) == "TIFF: step1_gaussian_blur"
    assert ("pipeline", str(target.resolve())) in window.recent_files()


def test_bad_files_give_one_clear_message(make_main_window, tmp_path: Path, qtbot) -> None:
    window = make_main_window()
    bad_pipeline = tmp_path / "bad.json"
    bad_pipeline.write_text('{"format": "openhcs-pipeline", "version": 1, "steps": [{"func": {"function": "nope"}}]}')
    with qtbot.waitSignal(window.error_reported, timeout=10000) as blocker:
        window.load_pipeline(bad_pipeline)
    assert blocker.args[0] == "Cannot open pipeline" and "nope" in blocker.args[1]

    bad_config = tmp_path / "cfg.json"
    bad_config.write_text('{"zarr": {"compression_level": 42}}')
    with qtbot.waitSignal(window.error_reported, timeout=10000) as blocker:
        window.load_config(bad_config)
    assert "compression_level" in blocker.args[1] and str(bad_config) in blocker.args[1]
    assert window.session.cfg.zarr.compression_level == 1

    empty = tmp_path / "empty_plate"
    empty.mkdir()
    with qtbot.waitSignal(window.error_reported, timeout=10000) as blocker:
        window.open_plate(empty)
    assert blocker.args[0] == "Cannot open plate"
    assert window.session.plate is None
    assert "Cannot open plate" in window.statusBar().currentMessage()
