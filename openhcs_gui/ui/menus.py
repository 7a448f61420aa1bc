"""Menu bar, shortcuts and file dialogs of the main window.

Every menu entry calls one public method of the main window, the same method
a panel button or a test calls, so there is one code path per action. File
dialogs are the only modal windows (STYLE rule 11).
"""

from __future__ import annotations

import platform
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QStandardPaths, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMenu, QMessageBox

if TYPE_CHECKING:
    from openhcs_gui.ui.main_window import MainWindow
    from openhcs_gui.ui.workers import Task

__all__ = ["Menus", "build_menus", "about_text"]

_JSON = "Pipeline files (*.json);;All files (*)"
_CONFIG = "Config files (*.json *.toml);;All files (*)"


def about_text() -> str:
    """Versions of the application and of the libraries users report bugs against."""
    import napari
    import numpy
    import PySide6
    import zarr
    from PySide6.QtCore import qVersion

    from openhcs_gui import __version__

    return (
        f"<h3>OpenHCS GUI {__version__}</h3>"
        "<p>High-content-screening image processing: build a pipeline, run it on a plate, "
        "and inspect every step's output — memory, disk or OME-Zarr — in napari.</p>"
        f"<p>napari {napari.__version__}<br>zarr {zarr.__version__}<br>numpy {numpy.__version__}<br>"
        f"Qt {qVersion()} (PySide6 {PySide6.__version__})<br>Python {platform.python_version()}</p>"
    )


class Menus:
    """The window's actions and the dialogs behind them.

    Parameters
    ----------
    window
        The main window whose public methods the actions call.
    """

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.actions: dict[str, QAction] = {}
        bar = window.menuBar()
        file_menu = bar.addMenu("&File")
        self._add(file_menu, "open_plate", "Open &plate…", self.open_plate_dialog, QKeySequence.StandardKey.Open)
        self._add(file_menu, "open_demo", "Open &demo plate", self.open_demo_plate)
        self._add(file_menu, "open_workspace", "Open &workspace…", self.open_workspace_dialog, "Ctrl+Shift+O")
        file_menu.addSeparator()
        self._add(file_menu, "open_pipeline", "Open p&ipeline…", self.open_pipeline_dialog, "Ctrl+Shift+P")
        self._add(file_menu, "save_pipeline", "Save pipeline as…", self.save_pipeline_dialog, "Ctrl+Alt+S")
        self._add(file_menu, "demo_pipeline", "Load demo pipeline", self.load_demo_pipeline)
        self._add(file_menu, "export_script", "&Export as Python script…", self.export_script_dialog)
        file_menu.addSeparator()
        self._add(file_menu, "open_config", "Open &config…", self.open_config_dialog)
        self._add(file_menu, "save_config", "Save config…", self.save_config_dialog)
        file_menu.addSeparator()
        self.recent_menu = file_menu.addMenu("&Recent")
        file_menu.addSeparator()
        self._add(file_menu, "quit", "&Quit", window.close, QKeySequence.StandardKey.Quit)
        run_menu = bar.addMenu("&Run")
        self._add(run_menu, "run", "&Run pipeline", window.start_run, "F5")
        resume = self._add(run_menu, "resume", "Resume &unfinished run", window.run_panel.resume_run, "Ctrl+F5")
        resume.setEnabled(False)  # only while the Run dock offers Resume
        window.run_panel.resumable_changed.connect(lambda found: resume.setEnabled(found is not None))
        self._add(run_menu, "cancel", "&Cancel run", window.cancel_run, "Shift+F5")
        view_menu = bar.addMenu("&View")
        for name, dock in window.docks.items():
            action = dock.toggleViewAction()
            action.setText(name)
            view_menu.addAction(action)
            self.actions[f"view_{name}"] = action
        view_menu.addSeparator()
        self._add(view_menu, "reset_layout", "&Reset layout", window.reset_layout)
        help_menu = bar.addMenu("&Help")
        self._add(help_menu, "getting_started", "&Getting started", self.show_getting_started, "F1")
        self._add(help_menu, "about", "&About OpenHCS", self.show_about)
        self.rebuild_recent()

    def _add(self, menu: QMenu, key: str, text: str, slot: Any, shortcut: Any = None) -> QAction:
        action = QAction(text, self.window)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        action.triggered.connect(lambda _checked=False: slot())
        menu.addAction(action)
        self.actions[key] = action
        return action

    def rebuild_recent(self) -> None:
        """Refill File → Recent from the settings."""
        self.recent_menu.clear()
        entries = self.window.recent_files()
        for kind, path in entries:
            action = self.recent_menu.addAction(f"{Path(path).name}  ({kind})")
            action.setToolTip(path)
            action.triggered.connect(partial(self.window.open_recent, kind, path))
        self.recent_menu.setEnabled(bool(entries))

    # -- dialogs -------------------------------------------------------------------
    def _start_dir(self) -> str:
        recent = self.window.recent_files()
        return str(Path(recent[0][1]).parent) if recent else str(Path.home())

    def open_plate_dialog(self) -> None:
        """Pick a plate folder (or ``.zarr`` store) and open it."""
        path = QFileDialog.getExistingDirectory(self.window, "Open plate folder", self._start_dir())
        if path:
            self.window.open_plate(path)

    def open_workspace_dialog(self) -> None:
        """Pick a ``<plate>_workspace`` folder and list its outputs."""
        path = QFileDialog.getExistingDirectory(self.window, "Open workspace folder", self._start_dir())
        if path:
            self.window.open_workspace(path)

    def open_pipeline_dialog(self) -> None:
        """Pick a pipeline JSON file and load it into the editor."""
        path, _ = QFileDialog.getOpenFileName(self.window, "Open pipeline", self._start_dir(), _JSON)
        if path:
            self.window.load_pipeline(path)

    def save_pipeline_dialog(self) -> None:
        """Choose where to save the pipeline JSON."""
        path, _ = QFileDialog.getSaveFileName(self.window, "Save pipeline", self._start_dir(), _JSON)
        if path:
            self.window.save_pipeline(path if path.endswith(".json") else f"{path}.json")

    def export_script_dialog(self) -> None:
        """Choose where to write a script that rebuilds the pipeline + config and runs it."""
        path, _ = QFileDialog.getSaveFileName(self.window, "Export as Python script", self._start_dir(),
                                              "Python scripts (*.py);;All files (*)")
        if path:
            self.export_script(path if path.endswith(".py") else f"{path}.py")

    def export_script(self, path: str | Path) -> Task:
        """Write the current pipeline and config as a runnable script (``python SCRIPT PLATE [OUTPUT]``)."""
        pipeline, cfg = self.window.session.snapshot()
        return self.window.tasks.submit(
            _export_script, pipeline, Path(path), cfg, name="export script",
            on_finished=self.window.show_status,
            on_failed=partial(self.window.report_task_error, "Cannot export the script", ""),
        )

    def open_config_dialog(self) -> None:
        """Pick a config file (JSON or TOML) and load it into the form."""
        path, _ = QFileDialog.getOpenFileName(self.window, "Open config", self._start_dir(), _CONFIG)
        if path:
            self.window.load_config(path)

    def save_config_dialog(self) -> None:
        """Choose where to save the config JSON."""
        path, _ = QFileDialog.getSaveFileName(self.window, "Save config", self._start_dir(), _CONFIG)
        if path:
            self.window.save_config(path if Path(path).suffix else f"{path}.json")

    def open_demo_plate(self) -> Task:
        """Write the synthetic demo plate (once) into the app data folder and open it."""
        from openhcs_gui.plates import make_demo_plate

        base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
        target = Path(base or Path.home() / ".openhcs") / "demo_plate"
        self.window.show_status(f"Preparing the demo plate in {target}…")

        def _make() -> Path:
            if (target / "ground_truth.csv").is_file():  # written before: reuse it
                return target
            return make_demo_plate(target)

        return self.window.tasks.submit(
            _make, name="demo plate",
            on_finished=self.window.open_plate,
            on_failed=partial(self.window.report_task_error, "Cannot create the demo plate", ""),
        )

    def load_demo_pipeline(self) -> Task:
        """Load the pipeline shipped with the application."""
        from openhcs_gui.pipeline import demo_pipeline_path

        return self.window.load_pipeline(demo_pipeline_path())

    def show_getting_started(self) -> None:
        """Help → Getting started: a short page inside the app (non-modal)."""
        from openhcs_gui.ui.help_dialog import GettingStartedDialog

        dialog = GettingStartedDialog(self.window)
        dialog.show()

    def show_about(self) -> None:
        """Versions of OpenHCS, napari, zarr, numpy and Qt (non-blocking box)."""
        box = QMessageBox(self.window)
        box.setWindowTitle("About OpenHCS")
        box.setTextFormat(Qt.TextFormat.RichText)
        box.setText(about_text())
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()


def _export_script(pipeline: Any, path: Path, cfg: Any) -> str:
    """Write the script (in a worker) and return the status-bar sentence."""
    from openhcs_gui.pipeline.export import export_script

    target = export_script(pipeline, path, cfg)
    return f"Exported {target}; run it with: python {target.name} PLATE [OUTPUT]"


def build_menus(window: MainWindow) -> Menus:
    """Create the menu bar of ``window`` (after its docks exist)."""
    return Menus(window)
