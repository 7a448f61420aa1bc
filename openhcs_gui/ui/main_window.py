"""The main window: napari in the centre, panels as docks, menus, status bar.

This module only wires things together (STYLE rule 11): it creates the panels
over one :class:`~openhcs_gui.ui.session.Session`, puts them in docks, builds
the menus (:mod:`openhcs_gui.ui.menus`), remembers layout and recent files in
``QSettings``, and turns engine errors into one clear message. File reads and
writes go through the worker pool like every other engine call.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDialog, QDockWidget, QMainWindow, QMessageBox, QTabBar, QWidget

from openhcs_gui.pipeline.workspace_probe import classify_drop
from openhcs_gui.ui import warmup
from openhcs_gui.ui.config_panel import ConfigPanel
from openhcs_gui.ui.menus import build_menus
from openhcs_gui.ui.outputs_panel import OutputsPanel
from openhcs_gui.ui.pipeline_editor import PipelineEditor
from openhcs_gui.ui.plate_panel import PlatePanel
from openhcs_gui.ui.preview_panel import PREVIEW_GROUP, PreviewPanel
from openhcs_gui.ui.run_panel import RunPanel, outcome_text
from openhcs_gui.ui.session import Session, copy_step
from openhcs_gui.ui.viewer import ViewerWidget, dark_palette, local_paths, register_napari_resources
from openhcs_gui.ui.workers import Task, TaskOwner

__all__ = ["MainWindow", "classify_drop"]  # classify_drop: engine, re-exported

MAX_RECENT = 10
_STATE_VERSION = 1


class MainWindow(QMainWindow):
    """OpenHCS main window.

    Parameters
    ----------
    settings
        Where layout and recent files are kept (tests pass a throw-away file);
        default: the application's ``QSettings``.
    parent
        Usually ``None``.
    defer_viewer
        Show the window before napari is imported (the desktop app's start:
        a usable window at once, the viewer ~2 s later, built when a worker
        has imported napari). Tests and scripts get the viewer at once.

    Attributes
    ----------
    plate_opened
        The ``PlateIndex`` after a plate was scanned and shown.
    pipeline_loaded
        The session's pipeline after a pipeline file was loaded into it.
    run_finished
        The ``RunResult`` of a finished (completed, failed or cancelled) run.
    error_reported
        ``(title, message)`` of every error shown to the user.
    tasks
        The window's background calls (panels share it); closing the window
        cancels what is still queued and drops results still to come.
    """

    plate_opened = Signal(object)
    pipeline_loaded = Signal(object)
    run_finished = Signal(object)
    error_reported = Signal(str, str)

    def __init__(self, settings: QSettings | None = None, parent: QWidget | None = None, *,
                 defer_viewer: bool = False) -> None:
        super().__init__(parent)
        self.setWindowTitle("OpenHCS")
        self.setObjectName("OpenHCSMainWindow")
        if defer_viewer:
            self.setPalette(dark_palette())  # napari's colours until its stylesheet can be applied
        else:
            self._apply_napari_style()
        self.settings = settings if settings is not None else QSettings()
        self.session = Session()
        self.tasks = TaskOwner(self)
        self.viewer = ViewerWidget(self, defer=defer_viewer)
        self.viewer.loaded.connect(self._apply_napari_style)
        self.setCentralWidget(self.viewer)
        self.plate_panel = PlatePanel(self.session, self, tasks=self.tasks)
        self.config_panel = ConfigPanel(self.session, self)
        self.pipeline_editor = PipelineEditor(self.session, self, tasks=self.tasks)
        self.run_panel = RunPanel(self.session, self, tasks=self.tasks)
        self.outputs_panel = OutputsPanel(self.session, self, tasks=self.tasks)
        self.preview_panel = PreviewPanel(self.session, self)
        self.docks: dict[str, QDockWidget] = {}
        self._add_docks()
        self.menus = build_menus(self)
        self._add_compare_action()
        self._connect_panels()
        self.setAcceptDrops(True)  # drops on docks arrive here; on the canvas via the viewer
        self.statusBar().showMessage("Open a plate to start (File → Open plate…, Ctrl+O, or drop its folder).")
        self._add_projects()  # before the layout is restored: the History dock is part of it
        self._restore_layout()
        QTimer.singleShot(0, self, self._warm_up)  # once the window is up, not before

    # -- construction --------------------------------------------------------------
    def _add_projects(self) -> None:
        """Undo history, Edit menu, project files; the last project reopens once the window is up."""
        from openhcs_gui.ui.project_io import ProjectController

        self.project = ProjectController(self)
        self.history = self.project.history
        QTimer.singleShot(0, self, self.project.restore_last)

    def _apply_napari_style(self) -> None:
        register_napari_resources()  # before any napari stylesheet is applied
        from napari.qt import get_stylesheet

        self.setStyleSheet(get_stylesheet("dark"))  # napari's look for the whole window
        if self.isVisible():  # the viewer came late: repaint what the new style moved
            QTimer.singleShot(0, self, self.update)

    def _warm_up(self) -> None:
        """Import napari (if deferred) and build its unit registry on a worker: the GUI thread never waits.

        The first well's layers would otherwise build pint's unit registry on the GUI thread.
        """
        if not self.viewer.is_loaded:
            self.tasks.submit(warmup.prepare_napari, name="import napari",
                              on_finished=self._on_napari_prepared, on_failed=self._on_napari_prepare_failed)
            return
        if warmup.unit_registry_needed():
            self.tasks.submit(warmup.build_unit_registry, name="warm up napari",
                              on_finished=self._on_unit_registry_built)
        self._preload_layer_modules()

    def _on_unit_registry_built(self, registry: Any) -> None:
        warmup.install_unit_registry(registry)

    def _on_napari_prepared(self, registry: Any) -> None:
        warmup.install_unit_registry(registry)
        self.viewer.load()
        # after the viewer, not before: what the first layer imports must not delay the viewer
        self._preload_layer_modules()

    def _preload_layer_modules(self) -> None:
        self.tasks.submit(warmup.preload_layer_modules, name="preload napari layer modules",
                          on_finished=self._on_layer_modules_preloaded)

    def _on_layer_modules_preloaded(self, _none: None) -> None:
        warmup.freeze_startup_heap()  # napari is fully loaded: its objects leave the collector's walks

    def _on_napari_prepare_failed(self, _error: BaseException, _tb: str) -> None:
        self.viewer.load()  # imports on the GUI thread; a real failure then surfaces there

    def _dock(self, name: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(name, self)
        dock.setObjectName(f"{name}Dock")
        dock.setWidget(widget)
        dock.dockLocationChanged.connect(self._tidy_tab_bars_soon)  # a dragged dock leaves bars behind
        self.addDockWidget(area, dock)
        self.docks[name] = dock
        return dock

    def _add_docks(self) -> None:
        left, right = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        plate = self._dock("Plate", self.plate_panel, left)
        config = self._dock("Config", self.config_panel, left)
        self.tabifyDockWidget(plate, config)
        plate.raise_()
        for name, dock in (("Layer controls", self.viewer.layer_controls_dock),
                           ("Layers", self.viewer.layer_list_dock)):
            dock.setObjectName(f"{name}Dock")
            dock.setWindowTitle(name)
            dock.dockLocationChanged.connect(self._tidy_tab_bars_soon)
            self.addDockWidget(left, dock)
            self.docks[name] = dock
        # layer list and controls share one tabbed dock: stacked, the left column needed
        # ~830 px and the window did not fit a 1366×768 laptop screen
        self.tabifyDockWidget(self.docks["Layer controls"], self.docks["Layers"])
        self._dock("Pipeline", self.pipeline_editor, right)  # the whole column: step parameters visible
        bottom = Qt.DockWidgetArea.BottomDockWidgetArea
        run = self._dock("Run", self.run_panel, bottom)  # under the viewer; a finished run raises Outputs
        self.tabifyDockWidget(run, self._dock("Outputs", self.outputs_panel, bottom))
        self.tabifyDockWidget(run, self._dock("Preview", self.preview_panel, bottom))
        self._size_docks()
        self._default_state = self.saveState(_STATE_VERSION)

    def _size_docks(self) -> None:
        """The default proportions: plate and pipeline get most of the height, the viewer the width."""
        plate, pipeline = self.docks["Plate"], self.docks["Pipeline"]
        for front in (plate, self.docks["Layers"], self.docks["Run"]):
            front.raise_()
        self.resizeDocks([plate, pipeline], [330, 460], Qt.Orientation.Horizontal)
        self.resizeDocks([plate, self.docks["Layers"]], [560, 330], Qt.Orientation.Vertical)
        self.resizeDocks([self.docks["Run"]], [230], Qt.Orientation.Vertical)

    def reset_layout(self) -> None:
        """View → Reset layout: every panel back in its default place, shown, docked, default size."""
        self.restoreState(self._default_state, _STATE_VERSION)
        for dock in self.docks.values():
            dock.setFloating(False)
            dock.show()
        self._size_docks()
        self._tidy_tab_bars_soon()
        self.show_status("Panels are back in their default places.")

    def _tidy_tab_bars_soon(self, *_: Any) -> None:
        QTimer.singleShot(0, self, self.hide_stray_tab_bars)

    def hide_stray_tab_bars(self) -> None:
        """Hide dock tab bars Qt left behind from earlier arrangements.

        Qt 6 keeps the tab bar of every intermediate arrangement (tabifying
        Run, Outputs, then Preview made two) visible where it was, and they
        peeked out between the docks as a second, dead row of tabs. A tab bar
        in use sits right under the shown dock of its group, as wide as it
        (tabs at the bottom), so one that is not is stray. Qt shows a bar
        again itself if it reuses it.
        """
        docks = [d for d in self.findChildren(QDockWidget) if d.isVisible() and not d.isFloating()]
        for bar in self.findChildren(QTabBar, options=Qt.FindChildOption.FindDirectChildrenOnly):
            if not bar.isVisible():
                continue
            titles = {bar.tabText(i).replace("&&", "&") for i in range(bar.count())}
            box = bar.geometry()
            # Qt lays a group out as the shown dock with its tab bar right below, same left and width
            in_use = any(d.windowTitle() in titles and box.top() == d.geometry().bottom() + 1
                         and box.left() == d.geometry().left() and box.width() == d.geometry().width()
                         for d in docks)
            if not in_use:
                bar.hide()

    def showEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        """Tidy the dock tab bars once the layout is applied (see :meth:`hide_stray_tab_bars`)."""
        super().showEvent(event)
        self._tidy_tab_bars_soon()

    def _connect_panels(self) -> None:
        self.plate_panel.open_requested.connect(self.menus.open_plate_dialog)
        self.plate_panel.well_chosen.connect(self._on_plate_panel_well_chosen)
        self.plate_panel.well_layers_ready.connect(self._on_plate_panel_layers_ready)
        self.pipeline_editor.open_requested.connect(self.menus.open_pipeline_dialog)
        self.pipeline_editor.save_requested.connect(self.menus.save_pipeline_dialog)
        self.outputs_panel.layers_ready.connect(self._on_outputs_panel_layers_ready)
        self.preview_panel.layers_ready.connect(self._on_preview_panel_layers_ready)
        self.preview_panel.toggled.connect(self._on_preview_panel_toggled)
        self.viewer.paths_dropped.connect(self.open_dropped)
        self.run_panel.run_finished.connect(self._on_run_panel_finished)
        self.run_panel.run_failed.connect(lambda msg: self.report_error("Cannot run", msg))
        for panel in (self.plate_panel, self.pipeline_editor, self.outputs_panel, self.preview_panel):
            panel.message.connect(self.show_status)
        self.session.plate_switch_requested.connect(self.open_plate)  # a workspace of another plate
        self.session.result_refused.connect(partial(self.report_error, "Cannot open workspace"))
        self.config_panel.form.errors_changed.connect(partial(self.session.set_form_errors, "config"))

    # -- public API (menus, tests, smoke test) ---------------------------------------
    def open_plate(self, path: str | Path) -> Task:
        """Scan the plate folder in a worker; ``plate_opened`` follows (or an error)."""
        from openhcs_gui.plates import open_plate

        self.show_status(f"Scanning {path}…")
        return self.tasks.submit(
            open_plate, Path(path), name="open plate",
            on_finished=partial(self._on_plate_scanned, Path(path)),
            on_failed=partial(self.report_task_error, "Cannot open plate", f"{path}: "),
        )

    def load_pipeline(self, path: str | Path) -> Task:
        """Read a pipeline file in a worker and put its steps in the editor."""
        from openhcs_gui.pipeline import load_pipeline

        return self.tasks.submit(
            load_pipeline, Path(path), name="load pipeline",
            on_finished=partial(self._on_pipeline_read, Path(path)),
            on_failed=partial(self.report_task_error, "Cannot open pipeline", ""),
        )

    def save_pipeline(self, path: str | Path) -> Task | None:
        """Write the pipeline file, with the settings of the Config panel, in a worker (plain JSON)."""
        from openhcs_gui.pipeline import save_pipeline

        self.session.pipeline.name = Path(path).stem  # the name follows "Save as"
        pipeline, cfg = self.session.snapshot()
        return self.tasks.submit(
            save_pipeline, pipeline, Path(path), config=cfg, name="save pipeline",
            on_finished=partial(self._on_file_written, "pipeline", Path(path), "Saved pipeline"),
            on_failed=partial(self.report_task_error, "Cannot save pipeline", ""),
        )

    def load_config(self, path: str | Path) -> Task:
        """Read and validate a config file in a worker, then update the form's model in place."""
        from openhcs_gui.config import load_config

        return self.tasks.submit(
            load_config, Path(path), name="load config",
            on_finished=partial(self._on_config_read, Path(path)),
            on_failed=partial(self.report_task_error, "Cannot open config", ""),
        )

    def save_config(self, path: str | Path) -> Task:
        """Write the current config as JSON in a worker."""
        from openhcs_gui.config import save_config

        return self.tasks.submit(
            save_config, self.session.cfg.model_copy(deep=True), Path(path), name="save config",
            on_finished=partial(self._on_file_written, "config", Path(path), "Saved config"),
            on_failed=partial(self.report_task_error, "Cannot save config", ""),
        )

    def open_workspace(self, path: str | Path) -> Task:
        """Read a workspace's provenance in a worker and list its outputs."""
        from openhcs_gui.pipeline import open_workspace

        return self.tasks.submit(
            open_workspace, Path(path), name="open workspace",
            on_finished=partial(self._on_workspace_read, Path(path)),
            on_failed=partial(self.report_task_error, "Cannot open workspace", ""),
        )

    def open_dropped(self, paths: list[Path]) -> Task:
        """Open dropped paths: a workspace (or its metadata file) or a plate folder.

        Looking at the paths touches the disk, so it runs in a worker like the
        opening itself.
        """
        return self.tasks.submit(
            classify_drop, list(paths), name="classify drop",
            on_finished=self._on_drop_classified,
            on_failed=partial(self.report_task_error, "Cannot open", ""),
        )

    def dragEnterEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        """Accept local files and folders (plates, workspaces)."""
        if local_paths(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        """Open what was dropped on a dock or the window frame."""
        paths = local_paths(event.mimeData())
        if paths:
            self.open_dropped(paths)
            event.acceptProposedAction()

    def start_run(self) -> bool:
        """Start a run exactly as the Run button does (False if nothing to run)."""
        return self.run_panel.start_run()

    def cancel_run(self) -> None:
        """Cancel the running pipeline, as the Cancel button does."""
        self.run_panel.cancel_run()

    def show_output(self, step_index: int, well: str, key: Any = None) -> Task | None:
        """Show a step's output for ``well`` (or one image) in the viewer."""
        return self.outputs_panel.show_output(step_index, well, key)

    def compare(self, mode: str, wells: tuple[str, str], step_index: int = -1, site: int = 1) -> Task | None:
        """Show two wells (or one well before/after a step) side by side; see :func:`compare_layers`.

        Returns
        -------
        Task or None
            The background computation (``None`` without a plate).
        """
        from openhcs_gui.ui.compare_dialog import compare_layers

        if self.session.plate is None:
            self.show_status("Open a plate first to compare wells.")
            return None
        if self.preview_panel.active:
            self.preview_panel.set_active(False)
        steps = [copy_step(s) for s in self.session.pipeline]
        self.show_status("Preparing the comparison…")
        return self.tasks.submit(
            compare_layers, self.session.plate, steps, mode, tuple(wells), step_index, site, name="compare",
            on_finished=self._on_compare_ready,
            on_failed=partial(self.report_task_error, "Cannot compare", ""),
        )

    def compare_dialog(self) -> None:
        """Ask what to compare (the Compare… action), then show it side by side."""
        from openhcs_gui.ui.compare_dialog import CompareDialog

        plate = self.session.plate
        if plate is None:
            self.show_status("Open a plate first to compare wells.")
            return
        dialog = CompareDialog(plate.wells, [s.name for s in self.session.pipeline], plate.sites, self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.compare(**dialog.choice())

    def _on_compare_ready(self, sides: tuple[list[Any], list[Any]]) -> None:
        left, right = sides
        self.viewer.show_side_by_side(left, right)
        self.show_status("Side by side (one camera, same contrast per channel): "
                         f"{left[0].name if left else ''} | {right[0].name if right else ''}. "
                         "Click a well to leave.")

    def _add_compare_action(self) -> None:
        action = QAction("&Compare…", self)
        action.setShortcut("Ctrl+K")
        action.setStatusTip("Two wells, or one well before/after a step, side by side")
        action.triggered.connect(self.compare_dialog)
        view = next(a.menu() for a in self.menuBar().actions() if a.text() == "&View")
        view.insertAction(view.actions()[0], action)
        view.insertSeparator(view.actions()[1])
        self.menus.actions["compare"] = action

    def show_status(self, text: str, timeout_ms: int = 8000) -> None:
        """One line in the status bar."""
        self.statusBar().showMessage(text, timeout_ms)

    def report_task_error(self, title: str, prefix: str, error: BaseException, _tb: str = "") -> None:
        """Report a background call's failure as ``title`` / ``prefix + str(error)``."""
        self.report_error(title, f"{prefix}{error}")

    def report_error(self, title: str, message: str) -> None:
        """Tell the user about a problem: status bar + one non-blocking message box."""
        self.show_status(f"{title}: {message}", 15000)
        box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        self.error_reported.emit(title, message)

    # -- handlers ----------------------------------------------------------------
    def _on_plate_scanned(self, path: Path, plate: Any) -> None:
        self.viewer.set_pixel_size(plate.pixel_size_um)  # raw, outputs and labels line up in µm
        self.session.set_plate(plate)
        self.add_recent("plate", path)
        self.setWindowTitle(f"OpenHCS — {plate.name}")
        self.docks["Plate"].raise_()
        # No well is loaded into napari by itself: a first layer costs napari ~0.2 s of the GUI
        # thread, and opening a 1536-well plate must not freeze the window (the click does it).
        self.show_status(f"Opened {plate.name}: {len(plate.wells)} wells. Click a well to see its images.")
        self.plate_opened.emit(plate)

    def _on_plate_panel_well_chosen(self, well: str) -> None:
        if self.preview_panel.active:  # the preview reads and shows this well's site itself
            self.preview_panel.set_well(well)
            self.show_status(f"Previewing {well} (test mode: nothing is written).")

    def _on_plate_panel_layers_ready(self, well: str, layers: list[Any]) -> None:
        self.preview_panel.set_well(well)  # the well to preview once live preview is switched on
        if self.preview_panel.active:  # read before the preview was switched on: the preview shows it
            return
        self.viewer.show_layers(layers)
        self.show_status(f"Showing raw images of {well}.")

    def _on_preview_panel_layers_ready(self, layers: list[Any]) -> None:
        self.viewer.put_layers(layers, PREVIEW_GROUP)

    def _on_preview_panel_toggled(self, on: bool) -> None:
        self.plate_panel.reads_wells = not on
        if on:
            self.viewer.clear()
            self.docks["Preview"].raise_()
        elif self.preview_panel.well is not None:
            self.plate_panel.show_well(self.preview_panel.well)

    def _on_outputs_panel_layers_ready(self, layers: list[Any]) -> None:
        self.viewer.show_layers(layers)
        wells = {layer.metadata.get("well") for layer in layers} - {None}
        if len(wells) == 1:  # the plate map marks the well on screen, not the last one clicked
            self.plate_panel.select_well(wells.pop())
        if layers:
            lazy = " (lazy, read from zarr as you browse)" if layers[0].metadata.get("lazy") else ""
            self.show_status(f"Showing {', '.join(layer.name for layer in layers)}{lazy}.")

    def _on_drop_classified(self, kind_path: tuple[str, Path]) -> None:
        openers: dict[str, Callable[[Path], Any]] = {"plate": self.open_plate,
                                                     "workspace": self.open_workspace}
        kind, path = kind_path
        openers[kind](path)

    def _on_config_read(self, path: Path, cfg: Any) -> None:
        self.history.describe_next(f"Open config {path.name}")
        self.session.cfg.update(cfg)
        self._on_file_done("config", path, "Loaded config")

    def _on_workspace_read(self, path: Path, result: Any) -> None:
        self.session.set_result(result)
        self.docks["Outputs"].raise_()
        self._on_file_done("workspace", path, "Opened workspace")

    def _on_file_written(self, kind: str, path: Path, verb: str, _result: Any) -> None:
        self._on_file_done(kind, path, verb)

    def _on_pipeline_read(self, path: Path, pipeline: Any) -> None:
        self.history.describe_next(f"Open pipeline {path.name}")  # one undo step, settings included
        self.session.replace_pipeline(pipeline)
        if pipeline.config is not None:  # the settings it was saved with come along
            self.session.cfg.update(pipeline.config)
        if len(self.session.pipeline):
            self.pipeline_editor.select_row(0)
        verb = "Loaded pipeline and its settings from" if pipeline.config is not None else "Loaded pipeline"
        self._on_file_done("pipeline", path, verb)
        self.pipeline_loaded.emit(self.session.pipeline)

    def _on_file_done(self, kind: str, path: Path, verb: str) -> None:
        self.add_recent(kind, path)
        self.show_status(f"{verb} {path}")

    def _on_run_panel_finished(self, result: Any) -> None:
        self.docks["Outputs"].raise_()
        self.show_status(f"{outcome_text(result)}: double-click an output to view it.", 15000)
        self.run_finished.emit(result)

    # -- settings ------------------------------------------------------------------
    def recent_files(self) -> list[tuple[str, str]]:
        """``(kind, path)`` of recently used files, newest first."""
        raw = self.settings.value("recent", [])
        entries = [raw] if isinstance(raw, str) else list(raw or [])
        return [tuple(e.split("|", 1)) for e in entries if "|" in e]  # type: ignore[misc]

    def add_recent(self, kind: str, path: Path) -> None:
        """Remember ``path`` (a plate, pipeline, config or workspace) in File → Recent."""
        entry = f"{kind}|{Path(path).resolve()}"
        entries = [f"{k}|{p}" for k, p in self.recent_files() if f"{k}|{p}" != entry]
        self.settings.setValue("recent", [entry, *entries][:MAX_RECENT])
        self.menus.rebuild_recent()

    def open_recent(self, kind: str, path: str) -> None:
        """Open a File → Recent entry with the action of its kind."""
        openers: dict[str, Callable[[str], Any]] = {
            "plate": self.open_plate, "pipeline": self.load_pipeline,
            "config": self.load_config, "workspace": self.open_workspace,
            "project": self.project.open_project,
        }
        openers[kind](path)

    def _restore_layout(self) -> None:
        geometry = self.settings.value("window/geometry")
        state = self.settings.value("window/state")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1600, 1000)
        if state is not None:
            self.restoreState(state, _STATE_VERSION)

    def save_layout(self) -> None:
        """Remember window geometry and dock layout for the next start."""
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState(_STATE_VERSION))
        self.settings.sync()

    def closeEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        """Save the layout, cancel background work and release the viewer; never blocks.

        A running pipeline is asked to stop (its token); queued calls are
        cancelled; calls already running finish on their worker threads and
        their results are dropped (:meth:`TaskOwner.close`).
        """
        if not self.project.may_close(event):  # the user chose Cancel on "Unsaved changes"
            event.ignore()
            return
        self.save_layout()
        if self.run_panel.running:
            self.run_panel.cancel_run()
        self.tasks.close()
        self.preview_panel.shutdown()
        self.viewer.close_viewer()
        super().closeEvent(event)
