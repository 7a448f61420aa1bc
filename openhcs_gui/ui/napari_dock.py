"""The napari plugin's dock widget: plate grid, pipeline editor, run and outputs in a plain napari window.

A thin container: it builds the same panels as the main window
(:mod:`openhcs_gui.ui.main_window`) over one :class:`~openhcs_gui.ui.session.Session`,
and puts what they produce into the host ``napari.Viewer`` (the main window
owns its own embedded viewer instead). Clicking a well shows its fields;
double-clicking an output shows it over them, labels on top, in µm.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QFileDialog, QLabel, QSplitter, QTabWidget, QVBoxLayout, QWidget

from openhcs_gui.ui.outputs_panel import OutputsPanel
from openhcs_gui.ui.pipeline_editor import PipelineEditor
from openhcs_gui.ui.plate_panel import PlatePanel
from openhcs_gui.ui.run_panel import RunPanel
from openhcs_gui.ui.session import Session
from openhcs_gui.ui.viewer import LayerSpec, plate_channel_colormap
from openhcs_gui.ui.workers import Task, TaskOwner

__all__ = ["OpenHCSDock"]

#: ``metadata["openhcs_dock"]`` marks the layers this dock added (replaced on the next well/output).
_OWNED = "openhcs_dock"


class OpenHCSDock(QWidget):
    """OpenHCS in a napari dock: tabs Plate (well grid) | Pipeline (steps) | Run & outputs.

    Parameters
    ----------
    napari_viewer
        The host viewer (npe2 passes it by this name).
    parent
        Owning widget.
    """

    def __init__(self, napari_viewer: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.viewer = napari_viewer
        self.session = Session()
        self.tasks = TaskOwner(self)
        self.plate_panel = PlatePanel(self.session, self, tasks=self.tasks)
        self.pipeline_editor = PipelineEditor(self.session, self, tasks=self.tasks)
        self.run_panel = RunPanel(self.session, self, tasks=self.tasks)
        self.outputs_panel = OutputsPanel(self.session, self, tasks=self.tasks)
        self.status = QLabel("", self)
        self._opening: str | None = None
        self.status.setWordWrap(True)
        run = QSplitter(Qt.Orientation.Vertical, self)
        run.addWidget(self.run_panel)
        run.addWidget(self.outputs_panel)
        self.tabs = QTabWidget(self)
        self.tabs.addTab(self.plate_panel, "Plate")
        self.tabs.addTab(self.pipeline_editor, "Pipeline")
        self.tabs.addTab(run, "Run && outputs")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.status)
        self.plate_panel.open_requested.connect(self._on_plate_panel_open_requested)
        self.plate_panel.well_layers_ready.connect(self._on_plate_panel_well_layers_ready)
        self.outputs_panel.layers_ready.connect(self._on_outputs_panel_layers_ready)
        self.run_panel.run_finished.connect(self._on_run_panel_run_finished)
        self.run_panel.run_failed.connect(self.status.setText)
        for panel in (self.plate_panel, self.pipeline_editor, self.outputs_panel):
            panel.message.connect(self.status.setText)
        self.session.plate_switch_requested.connect(self._on_session_plate_switch_requested)
        self.session.result_refused.connect(self.status.setText)
        self.viewer.layers.events.inserted.connect(self._on_viewer_layer_inserted)
        for layer in list(self.viewer.layers):  # a plate opened through our reader before the dock
            self._adopt(layer)

    # -- public API -------------------------------------------------------------
    def open_plate(self, path: str | Path, *, show_first_well: bool = True) -> Task:
        """Index the plate at ``path`` in a worker; its grid (and first well) follow."""
        from openhcs_gui.plates import open_plate

        self.status.setText(f"Scanning {path}…")
        return self.tasks.submit(open_plate, Path(path), name="open plate",
                                 on_finished=partial(self._on_plate_scanned, show_first_well),
                                 on_failed=self._on_task_failed)

    def open_workspace(self, path: str | Path) -> Task:
        """Read a workspace's provenance in a worker; its plate and outputs follow."""
        from openhcs_gui.pipeline import open_workspace

        return self.tasks.submit(open_workspace, Path(path), name="open workspace",
                                 on_finished=self._on_workspace_read, on_failed=self._on_task_failed)

    def owned_layers(self) -> list[Any]:
        """The viewer layers this dock added (the user's own layers are never touched)."""
        return [layer for layer in self.viewer.layers if layer.metadata.get(_OWNED)]

    def show_specs(self, specs: list[LayerSpec]) -> list[Any]:
        """Replace this dock's layers in the viewer by ``specs`` (µm scale, plate colours)."""
        for layer in self.owned_layers():
            self.viewer.layers.remove(layer)
        plate = self.session.plate
        px = float(plate.pixel_size_um) if plate is not None and plate.pixel_size_um else 1.0
        n_images = sum(spec.kind != "labels" for spec in specs)
        added = []
        for spec in specs:
            first = spec.full_resolution
            ndim = len(first.shape)
            common = {"name": spec.name, "multiscale": spec.multiscale, "visible": spec.visible,
                      "metadata": {**spec.metadata, _OWNED: True},
                      "scale": (1.0,) * (ndim - 2) + (px, px)}
            if spec.kind == "labels":
                added.append(self.viewer.add_labels(spec.data, opacity=0.6, **common))
                continue
            colormap = spec.colormap
            channel = spec.metadata.get("channel")
            if plate is not None and channel is not None and spec.metadata.get("source") == "plate":
                colormap = plate_channel_colormap(plate, channel)
            added.append(self.viewer.add_image(
                spec.data, contrast_limits=list(spec.contrast), colormap=colormap,
                blending="additive" if n_images > 1 else "translucent_no_depth", **common))
        if added:
            self.viewer.reset_view()
        return added

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        """A side panel that leaves napari's canvas most of the window."""
        return QSize(420, 720)

    # -- handlers ---------------------------------------------------------------
    def _on_viewer_layer_inserted(self, event: Any) -> None:
        self._adopt(event.value)

    def _adopt(self, layer: Any) -> None:
        """A plate or workspace opened through the reader (File → Open) becomes the dock's too.

        Its layers become the dock's, so the next well or output shown replaces them.
        """
        meta = getattr(layer, "metadata", None)
        if not isinstance(meta, dict) or meta.get(_OWNED):
            return
        if meta.get("source") == "plate" and meta.get("plate"):
            meta[_OWNED] = True
            path, current = meta["plate"], self.session.plate
            if (current is None or Path(current.path) != Path(path)) and path != self._opening:
                self._opening = path
                self.open_plate(path, show_first_well=False)  # its layers are already shown
        elif meta.get("source") == "output" and meta.get("workspace"):
            meta[_OWNED] = True
            path, current = meta["workspace"], self.session.result
            if (current is None or Path(current.workspace) != Path(path)) and path != self._opening:
                self._opening = path
                self.open_workspace(path)

    def _on_plate_panel_open_requested(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open plate folder")
        if path:
            self.open_plate(path)

    def _on_plate_scanned(self, show_first_well: bool, plate: Any) -> None:
        self._opening = None
        self.session.set_plate(plate)
        self.status.setText(f"Opened {plate.name}: {len(plate.wells)} wells. Click a well to view it.")
        if show_first_well and plate.wells:
            self.plate_panel.show_well(plate.wells[0])

    def _on_workspace_read(self, result: Any) -> None:
        self._opening = None
        self.session.set_result(result)  # asks for its plate first (plate_switch_requested)
        self.status.setText(f"Opened workspace {result.workspace}: double-click an output to view it.")

    def _on_session_plate_switch_requested(self, path: str) -> None:
        self.open_plate(path, show_first_well=False)

    def _on_plate_panel_well_layers_ready(self, well: str, layers: list[Any]) -> None:
        self.show_specs(layers)
        self.status.setText(f"Showing raw images of {well}.")

    def _on_outputs_panel_layers_ready(self, layers: list[Any]) -> None:
        self.show_specs(layers)

    def _on_run_panel_run_finished(self, result: Any) -> None:
        self.tabs.setCurrentIndex(2)
        self.status.setText(f"Run {result.status.value}: double-click an output to view it.")

    def _on_task_failed(self, error: BaseException, _tb: str = "") -> None:
        self.status.setText(f"Cannot open: {error}")

    def closeEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        """Stop a running pipeline and background reads; never blocks."""
        self.viewer.layers.events.inserted.disconnect(self._on_viewer_layer_inserted)
        if self.run_panel.running:
            self.run_panel.cancel_run()
        self.tasks.close()
        super().closeEvent(event)
