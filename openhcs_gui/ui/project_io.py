"""Projects in the window: File → New/Open/Save/Save As project, the Edit menu, the dirty marker.

:class:`ProjectController` puts a :class:`~openhcs_gui.ui.undo.History` on
the window's session, adds Edit → Undo / Redo / History, File → New pipeline
and the project entries, keeps ``*`` in the title while there is something
unsaved (an undoable edit since the last save, or another plate or result),
asks Save / Discard / Cancel before that would be lost, and reopens the last
project on the next start (``QSettings`` key ``project/last``): plate,
pipeline, config, the viewer's layers and camera, and the last results
folder through the same code path as File → Open workspace. Reading and
writing the file run in workers; only the quit prompt's Save writes on the
GUI thread, because the window must not close before the file exists.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget, QFileDialog, QMenu, QMessageBox, QUndoView

from openhcs_gui.config import GlobalPipelineConfig
from openhcs_gui.pipeline import Pipeline
from openhcs_gui.project import SUFFIX, Project, load_project, project_name, save_project
from openhcs_gui.ui.undo import History
from openhcs_gui.ui.viewer_state import apply_viewer_state, capture_viewer_state

if TYPE_CHECKING:
    from openhcs_gui.ui.main_window import MainWindow
    from openhcs_gui.ui.workers import Task

__all__ = ["ProjectController", "LAST_PROJECT_KEY", "MEMORY_NOTE"]

LAST_PROJECT_KEY = "project/last"
_FILTER = f"OpenHCS projects (*{SUFFIX} *.json);;All files (*)"
MEMORY_NOTE = ("Results kept only in memory (intermediate steps) are not saved with a project; "
               "results saved to disk or OME-Zarr are listed in Outputs.")


class ProjectController(QObject):
    """Undo history, project files and the unsaved-changes prompt of one main window.

    Parameters
    ----------
    window
        The main window (its session, menus, tasks, viewer and settings are used).

    Attributes
    ----------
    history
        The window's undo history.
    path
        The open project file, or ``None`` (untitled).
    """

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.history = History(window.session, self)
        self.path: Path | None = None
        self._state_dirty = False  # plate or results changed (not undoable, still unsaved)
        self._restoring: Project | None = None
        self._close_confirmed = False
        self.history.stack.cleanChanged.connect(self._update_title)
        self.history.applied.connect(self._on_history_applied)
        window.plate_opened.connect(self._on_plate_opened)
        window.session.result_changed.connect(self._on_result_changed)
        self._add_history_dock()
        self._add_menus()
        self._update_title()

    # -- construction ----------------------------------------------------------
    def _add_history_dock(self) -> None:
        view = QUndoView(self.history.stack, self.window)
        view.setEmptyLabel("(as opened)")
        view.setObjectName("HistoryView")
        self.history_view = view
        dock = QDockWidget("History", self.window)
        dock.setObjectName("HistoryDock")
        dock.setWidget(view)
        self.window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        dock.hide()
        self.history_dock = dock

    def _action(self, menu: QMenu, key: str, text: str, slot: Any, shortcut: Any = None,
                before: QAction | None = None) -> QAction:
        action = QAction(text, self.window)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        action.triggered.connect(lambda _checked=False: slot())
        menu.insertAction(before, action) if before is not None else menu.addAction(action)
        self.window.menus.actions[key] = action
        return action

    def _add_menus(self) -> None:
        actions = self.window.menus.actions
        file_menu = next(m for a in self.window.menuBar().actions()
                         if a.text() == "&File" and isinstance(m := a.menu(), QMenu))
        first = file_menu.actions()[0]
        self._action(file_menu, "new_project", "&New project", self.new_project, QKeySequence.StandardKey.New,
                     first)
        self._action(file_menu, "open_project", "Open p&roject…", self.open_project_dialog, "Ctrl+Alt+O", first)
        # Ctrl+S saves the whole work (plate, pipeline, settings, view), as in any document app.
        self._action(file_menu, "save_project", "&Save project", self.save_project_now, QKeySequence.StandardKey.Save,
                     first)
        self._action(file_menu, "save_project_as", "Save project &as…", self.save_project_dialog,
                     QKeySequence.StandardKey.SaveAs, first)
        file_menu.insertSeparator(first)
        self._action(file_menu, "new_pipeline", "New pipe&line", self.new_pipeline, None, actions["open_pipeline"])
        quit_action = actions["quit"]
        quit_action.triggered.disconnect()
        quit_action.triggered.connect(lambda _checked=False: self.request_close())

        edit = QMenu("&Edit", self.window)
        self.window.menuBar().insertMenu(self.window.menuBar().actions()[1], edit)
        for key, action, shortcut in (
            ("undo", self.history.stack.createUndoAction(self.window, "&Undo"), QKeySequence.StandardKey.Undo),
            ("redo", self.history.stack.createRedoAction(self.window, "&Redo"), "Ctrl+Shift+Z"),
        ):
            action.setShortcut(QKeySequence(shortcut))
            action.triggered.disconnect()  # record pending edits first (History.undo/redo flush)
            action.triggered.connect(self.history.undo if key == "undo" else self.history.redo)
            edit.addAction(action)
            actions[key] = action
        edit.addSeparator()
        history = self.history_dock.toggleViewAction()
        history.setText("&History")
        history.setShortcut(QKeySequence("Ctrl+H"))
        edit.addAction(history)
        actions["history"] = history

    # -- title and dirty state -----------------------------------------------------
    @property
    def dirty(self) -> bool:
        """True when the window holds something not in the project file."""
        return self._state_dirty or not self.history.stack.isClean()

    def _update_title(self, *_: Any) -> None:
        name = project_name(self.path) if self.path is not None else "Untitled project"
        plate = self.window.session.plate
        extra = f" — {plate.name}" if plate is not None else ""
        self.window.setWindowTitle(f"{name}[*]{extra} — OpenHCS")
        self.window.setWindowModified(self.dirty)

    def _mark_clean(self) -> None:
        self._state_dirty = False
        self.history.flush()
        self.history.stack.setClean()
        self._update_title()

    def _on_plate_opened(self, plate: Any) -> None:
        restoring = self._restoring
        if restoring is None:
            self._state_dirty = True
        self._update_title()
        if restoring is not None and self.path is not None:
            if restoring.viewer.well and restoring.viewer.well in plate.wells:
                self.window.plate_panel.show_well(restoring.viewer.well)
            workspace = restoring.workspace_path(self.path)
            if workspace is not None and workspace.exists():
                self.window.open_workspace(workspace)
            else:
                self._restoring = None

    def _on_result_changed(self, result: Any) -> None:
        if self._restoring is not None and result is not None:
            self._restoring = None  # after the window's own "Opened workspace" line:
            QTimer.singleShot(0, self, lambda: self.window.show_status(MEMORY_NOTE, 15000))
        elif result is not None:
            self._state_dirty = True
        self._update_title()

    def _on_history_applied(self, step: Any) -> None:
        if step is not None:
            self.window.pipeline_editor.show_step(step)

    # -- prompts -----------------------------------------------------------------
    def confirm_discard(self, doing: str) -> bool:
        """Ask Save / Discard / Cancel when there are unsaved changes; True to go on with ``doing``."""
        if not self.dirty:
            return True
        name = project_name(self.path) if self.path is not None else "this untitled project"
        answer = QMessageBox.question(
            self.window, "Unsaved changes",
            f"Save the changes to {name} before {doing}?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save,
        )
        if answer == QMessageBox.StandardButton.Save:
            return self.save_blocking()
        return answer == QMessageBox.StandardButton.Discard

    def request_close(self) -> None:
        """File → Quit: ask about unsaved changes, then close the window."""
        if self.confirm_discard("quitting"):
            self._close_confirmed = True
            self.window.close()

    def may_close(self, event: Any) -> bool:
        """For ``closeEvent``: the user closing the window (title bar) is asked first.

        A close from code (tests, the smoke test) is not asked: only a
        spontaneous event (the window manager's close button) or File → Quit.
        """
        if self._close_confirmed or not event.spontaneous():
            return True
        self._close_confirmed = self.confirm_discard("closing")
        return self._close_confirmed

    # -- actions -------------------------------------------------------------------
    def new_pipeline(self) -> None:
        """Empty the pipeline (undoable: Edit → Undo brings the steps back)."""
        if not len(self.window.session.pipeline):
            return
        self.history.describe_next("New pipeline")
        self.window.session.replace_pipeline(Pipeline(name="pipeline"))
        self.history.flush()
        self.window.show_status("New pipeline — Edit → Undo brings the previous steps back.")

    def new_project(self) -> None:
        """Start an untitled project: no plate, no steps, default config (asks to save first)."""
        if not self.confirm_discard("starting a new project"):
            return
        session = self.window.session
        session.replace_pipeline(Pipeline(name="pipeline"))
        session.cfg.update(GlobalPipelineConfig())
        session.set_result(None)
        session.set_plate(None)
        self.window.viewer.clear()
        self.path = None
        self.history.clear()
        self._mark_clean()
        self.window.show_status("New project: open a plate to start.")

    def open_project_dialog(self) -> None:
        """Pick a project file and open it (asks to save the current one first)."""
        if not self.confirm_discard("opening another project"):
            return
        path, _ = QFileDialog.getOpenFileName(self.window, "Open project", self._start_dir(), _FILTER)
        if path:
            self.open_project(path, confirmed=True)

    def save_project_dialog(self) -> None:
        """File → Save project as…"""
        path, _ = QFileDialog.getSaveFileName(self.window, "Save project as", self._start_dir(), _FILTER)
        if path:
            self.save_project(path if path.endswith(".json") else f"{path}{SUFFIX}")

    def save_project_now(self) -> None:
        """File → Save project (asks for a file name the first time)."""
        if self.path is None:
            self.save_project_dialog()
        else:
            self.save_project(self.path)

    def _start_dir(self) -> str:
        if self.path is not None:
            return str(self.path.parent)
        recent = self.window.recent_files()
        return str(Path(recent[0][1]).parent) if recent else str(Path.home())

    def snapshot(self, path: str | Path) -> Project:
        """The project as it would be saved at ``path`` (the pipeline takes the project's name)."""
        session = self.window.session
        self.history.flush()
        session.pipeline.name = project_name(path)
        pipeline, cfg = session.snapshot()
        result = session.result
        return Project.build(
            path, plate=getattr(session.plate, "path", None), pipeline=pipeline, config=cfg,
            viewer=capture_viewer_state(self.window.viewer, self.window.preview_panel.well),
            workspace=getattr(result, "workspace", None) if result is not None else None,
            run_on=self.window.run_panel.run_target.get_state(),
        )

    def save_project(self, path: str | Path) -> Task | None:
        """Write the project in a worker; the title loses its ``*`` when the file is written."""
        target = Path(path)
        try:
            project = self.snapshot(target)
        except Exception as e:  # an unregistered function cannot be saved by name
            self.window.report_error("Cannot save project", str(e))
            return None
        index = self.history.stack.index()
        return self.window.tasks.submit(
            save_project, project, target, name="save project",
            on_finished=partial(self._on_saved, target, index),
            on_failed=partial(self.window.report_task_error, "Cannot save project", ""),
        )

    def save_blocking(self) -> bool:
        """Save now on this thread (the quit prompt's Save); asks for a name if untitled."""
        target = self.path
        if target is None:
            path, _ = QFileDialog.getSaveFileName(self.window, "Save project as", self._start_dir(), _FILTER)
            if not path:
                return False
            target = Path(path if path.endswith(".json") else f"{path}{SUFFIX}")
        try:
            save_project(self.snapshot(target), target)
        except Exception as e:
            self.window.report_error("Cannot save project", str(e))
            return False
        self._on_saved(target, self.history.stack.index(), target)
        return True

    def _on_saved(self, target: Path, index: int, _written: Any) -> None:
        self.path = target.resolve()
        self.window.settings.setValue(LAST_PROJECT_KEY, str(self.path))
        self.window.add_recent("project", self.path)
        self._state_dirty = False
        if self.history.stack.index() == index:  # nothing edited while the file was written
            self.history.stack.setClean()
        self._update_title()
        self.window.show_status(f"Saved project {self.path}")

    def open_project(self, path: str | Path, *, confirmed: bool = False) -> Task | None:
        """Read a project file in a worker, then show its plate, pipeline, config and results."""
        if not confirmed and not self.confirm_discard("opening another project"):
            return None
        return self.window.tasks.submit(
            load_project, Path(path), name="open project",
            on_finished=partial(self._on_project_read, Path(path)),
            on_failed=partial(self.window.report_task_error, "Cannot open project", ""),
        )

    def restore_last(self) -> Task | None:
        """Reopen the project of the last session, if there was one and it still exists."""
        last = self.window.settings.value(LAST_PROJECT_KEY)
        if not last or not Path(str(last)).is_file():
            return None
        return self.window.tasks.submit(
            load_project, Path(str(last)), name="reopen project",
            on_finished=partial(self._on_project_read, Path(str(last)), automatic=True),
            on_failed=partial(self.window.report_task_error, "Cannot reopen the last project", ""),
        )

    def _opened_at_start(self) -> bool:
        """A plate or pipeline given on the command line (opening or open): it wins over the last project."""
        session = self.window.session
        busy = {t.name for t in self.window.tasks.pending()} & {"open plate", "load pipeline"}
        return bool(busy) or session.plate is not None or len(session.pipeline) > 0

    def _on_project_read(self, path: Path, loaded: tuple[Project, Pipeline], *, automatic: bool = False) -> None:
        project, pipeline = loaded
        window, session = self.window, self.window.session
        if automatic and self._opened_at_start():
            window.show_status(f"Opened what was asked for; the last project {project.name} was not reopened "
                               "(File → Recent).")
            return
        self.path = path.resolve()
        session.replace_pipeline(pipeline)
        session.pipeline.name = project.name
        session.cfg.update(project.config.model_copy(deep=True))
        self.history.clear()
        self._mark_clean()
        window.settings.setValue(LAST_PROJECT_KEY, str(self.path))
        window.add_recent("project", self.path)
        apply_viewer_state(window.viewer, project.viewer)
        if project.run_on is not None:
            window.run_panel.run_target.set_state(project.run_on)
        plate = project.plate_path(self.path)
        workspace = project.workspace_path(self.path)
        note = f"Opened project {project.name}."
        if plate is not None and plate.exists():
            self._restoring = project
            window.open_plate(plate)
        elif workspace is not None and workspace.exists():
            self._restoring = project
            window.open_workspace(workspace)
        elif plate is not None:
            note += f" Its plate folder {plate} cannot be found; pipeline and config were loaded."
        if len(session.pipeline):
            window.pipeline_editor.select_row(0)
        window.show_status(note, 15000)
        self._update_title()
