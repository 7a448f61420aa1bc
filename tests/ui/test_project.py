"""Projects in the window: save → quit → relaunch gives the same work; unsaved changes are never lost silently."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QMessageBox

from openhcs_gui.constants import MaterializationBackend
from openhcs_gui.ui.project_io import LAST_PROJECT_KEY, MEMORY_NOTE


def _dirty(window) -> bool:
    return window.isWindowModified() and "[*]" in window.windowTitle()


def test_save_quit_relaunch_restores_plate_pipeline_config_and_results(
        make_main_window, small_plate: Path, tmp_path: Path, qtbot) -> None:
    from openhcs_gui.ui.app import create_main_window

    window = make_main_window()
    assert not window.isWindowModified() and window.windowTitle().startswith("Untitled project[*]")
    with qtbot.waitSignal(window.plate_opened, timeout=30000):
        window.open_plate(small_plate)
    assert _dirty(window)
    window.plate_panel.show_well("A01")  # a click on the well
    window.pipeline_editor.add_function("gaussian_blur")
    window.pipeline_editor.add_function("count_objects")
    window.session.pipeline[0].kwargs = {"sigma": 1.25}
    window.session.cfg.vfs.materialization_backend = MaterializationBackend.ZARR  # last step → zarr
    window.session.cfg.num_workers = 2
    with qtbot.waitSignal(window.run_finished, timeout=120000) as run:
        assert window.start_run()
    workspace = Path(run.args[0].workspace)

    layers = window.viewer.layers
    qtbot.waitUntil(lambda: len(layers) == 2, timeout=30000)  # the first well's two channels
    layers[0].contrast_limits = [3.0, 40.0]
    layers[1].visible = False
    window.viewer.model.scene.camera.zoom = 2.5
    shown = [layer.name for layer in layers]

    cluster = {"on": "cluster", "address": "tcp://scheduler.lab:8786"}
    window.run_panel.run_target.set_state(cluster)  # "Run on" travels with the project
    path = tmp_path / "screen 12.openhcs.json"
    with qtbot.waitSignal(window.statusBar().messageChanged, timeout=30000,
                          check_params_cb=lambda text: text.startswith("Saved project")):
        window.project.save_project(path)
    assert not window.isWindowModified()
    assert window.windowTitle() == "screen 12[*] — plate — OpenHCS"
    assert window.session.pipeline.name == "screen 12"  # the pipeline takes the saved name
    saved = json.loads(path.read_text())
    assert saved["config"]["vfs"]["materialization_backend"] == "zarr"
    assert Path(saved["workspace"]) == workspace
    assert saved["run_on"] == cluster
    window.run_panel.run_target.set_state({"on": "threads"})  # this computer's last choice differs
    window.close()  # quit

    settings = QSettings(window.settings.fileName(), QSettings.Format.IniFormat)
    assert Path(settings.value(LAST_PROJECT_KEY)) == path.resolve()
    relaunched = create_main_window(settings)
    said: list[str] = []  # status lines are transient: the next "Loading A01…" may replace the note
    relaunched.statusBar().messageChanged.connect(said.append)
    try:
        with qtbot.waitSignal(relaunched.plate_opened, timeout=30000):
            pass  # the last project reopens by itself
        assert Path(relaunched.session.plate.path) == small_plate
        assert [s.name for s in relaunched.session.pipeline] == ["gaussian_blur", "count_objects"]
        assert relaunched.session.pipeline[0].kwargs == {"sigma": 1.25}
        assert relaunched.session.cfg.vfs.materialization_backend is MaterializationBackend.ZARR
        assert relaunched.session.cfg.num_workers == 2
        assert relaunched.run_panel.run_target.get_state() == cluster
        outputs = relaunched.outputs_panel.tree
        qtbot.waitUntil(lambda: outputs.topLevelItemCount() == 2, timeout=30000)  # results browsable
        assert Path(relaunched.session.result.workspace) == workspace
        assert outputs.topLevelItem(1).text(1) == "zarr"
        qtbot.waitUntil(lambda: MEMORY_NOTE in said, timeout=10000)
        assert relaunched.windowTitle() == "screen 12[*] — plate — OpenHCS" and not relaunched.isWindowModified()
        again = relaunched.viewer.layers  # the viewer as it was: layers shown, contrast, camera
        qtbot.waitUntil(lambda: [la.name for la in again] == shown and not again[1].visible, timeout=30000)
        assert list(again[0].contrast_limits) == pytest.approx([3.0, 40.0])
        assert relaunched.viewer.model.scene.camera.zoom == pytest.approx(2.5)
        assert relaunched.history.stack.count() == 0  # nothing to undo in a freshly opened project
    finally:
        relaunched.close()
        relaunched.deleteLater()


def test_unsaved_changes_prompt_on_quit(make_main_window, tmp_path: Path, qtbot, monkeypatch) -> None:
    window = make_main_window(show=True)
    window.pipeline_editor.add_function("gaussian_blur")
    qtbot.wait(10)
    assert _dirty(window)
    asked: list[str] = []
    answer = [QMessageBox.StandardButton.Cancel]

    def question(_parent, title, text, *_args):
        asked.append(f"{title}: {text}")
        return answer[0]

    monkeypatch.setattr(QMessageBox, "question", question)
    window.menus.actions["quit"].trigger()
    assert asked == ["Unsaved changes: Save the changes to this untitled project before quitting?"]
    assert window.isVisible() and len(window.session.pipeline) == 1  # Cancel: nothing lost

    # Save (the project has a file): written before the window closes
    path = tmp_path / "p.openhcs.json"
    window.project.path = path
    answer[0] = QMessageBox.StandardButton.Save
    window.menus.actions["quit"].trigger()
    assert not window.isVisible()
    assert json.loads(path.read_text())["pipeline"]["steps"][0]["name"] == "gaussian_blur"


def test_discard_and_clean_windows_quit_without_saving(make_main_window, tmp_path: Path, qtbot,
                                                       monkeypatch) -> None:
    window = make_main_window(show=True)
    monkeypatch.setattr(QMessageBox, "question", lambda *_a: QMessageBox.StandardButton.Discard)
    window.pipeline_editor.add_function("gaussian_blur")
    window.menus.actions["quit"].trigger()
    assert not window.isVisible()

    clean = make_main_window(show=True)
    monkeypatch.setattr(QMessageBox, "question", lambda *_a: pytest.fail("a clean window asked"))
    clean.menus.actions["quit"].trigger()
    assert not clean.isVisible()


def test_invalid_project_file_is_one_line_and_loses_nothing(make_main_window, tmp_path: Path, qtbot) -> None:
    window = make_main_window()
    window.pipeline_editor.add_function("gaussian_blur")
    qtbot.wait(10)
    title = window.windowTitle()
    bad = tmp_path / "broken.openhcs.json"
    bad.write_text('{"format": "openhcs-project", "version": 1, "config": {"num_workers": "many"}}')
    with qtbot.waitSignal(window.error_reported, timeout=30000) as error:
        window.project.open_project(bad, confirmed=True)
    heading, message = error.args
    assert heading == "Cannot open project"
    assert "\n" not in message and str(bad) in message and "num_workers" in message
    assert [s.name for s in window.session.pipeline] == ["gaussian_blur"]
    assert window.windowTitle() == title and window.isWindowModified()
    for box in QApplication.topLevelWidgets():  # the non-blocking message box
        if isinstance(box, QMessageBox):
            box.close()


def test_edit_menu_and_dirty_title_screenshot(make_main_window, qtbot, screenshot_dir) -> None:
    window = make_main_window(show=True)
    window.pipeline_editor.add_function("gaussian_blur")
    qtbot.wait(10)
    assert window.windowTitle() == "Untitled project[*] — OpenHCS" and window.isWindowModified()
    edit = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Edit")
    edit.popup(window.mapToGlobal(window.menuBar().geometry().bottomLeft()))
    qtbot.waitExposed(edit)
    edit.grab().save(str(screenshot_dir / "edit_menu.png"))
    texts = [a.text() for a in edit.actions() if a.text()]
    assert texts == ["&Undo Add step “gaussian_blur”", "&Redo", "&History"]
    edit.close()
    file_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&File")
    names = [a.text() for a in file_menu.actions() if a.text()]
    assert names[:4] == ["&New project", "Open p&roject…", "&Save project", "Save project &as…"]
    assert "New pipe&line" in names


def test_plate_given_at_start_wins_over_the_last_project(make_main_window, small_plate: Path, tmp_path: Path,
                                                         qtbot) -> None:
    from openhcs_gui.plates import make_synthetic_plate
    from openhcs_gui.ui.app import create_main_window

    window = make_main_window()
    window.pipeline_editor.add_function("gaussian_blur")
    path = tmp_path / "last.openhcs.json"
    window.project.path = path
    assert window.project.save_blocking()
    window.close()
    other = make_synthetic_plate(tmp_path / "other", wells=["A01"], sites=1, channels=1, shape=(32, 32))
    relaunched = create_main_window(QSettings(window.settings.fileName(), QSettings.Format.IniFormat))
    try:
        with qtbot.waitSignal(relaunched.plate_opened, timeout=30000):
            relaunched.open_plate(other)  # what `openhcs-gui PLATE` does right after the window is made
        qtbot.waitUntil(lambda: "was not reopened" in relaunched.statusBar().currentMessage()
                        or not relaunched.tasks.pending(), timeout=30000)
        qtbot.wait(50)
        assert Path(relaunched.session.plate.path) == other
        assert len(relaunched.session.pipeline) == 0
    finally:
        relaunched.close()
        relaunched.deleteLater()
