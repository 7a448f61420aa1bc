"""The Plate dock: plate summary, well grid, raw images of a well, result heatmap.

Scanning a plate and reading a well's images are engine calls run on the
window's workers (:mod:`openhcs_gui.ui.workers`); the panel only shows what comes
back. After a run, "Colour wells by" offers the engine's named per-well
measurements (``RunResult.well_measurements``: "Nuclei count", "Mean nuclear
area (µm²)", "Mean cell intensity" …) with a second chooser for the channel a
measurement is taken in — a plate heatmap that makes an edge effect or a dose
series visible at a glance. Failed wells are marked apart from unmeasured ones.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from openhcs_gui._lazy import lazy_module
from openhcs_gui.constants import Backend
from openhcs_gui.ui.editors import FocusComboBox
from openhcs_gui.ui.session import Session
from openhcs_gui.ui.viewer import LayerSpec, channel_colormap, contrast_limits, stack_axis_labels
from openhcs_gui.ui.well_grid import ColourBar, WellGridModel, WellGridView
from openhcs_gui.ui.workers import Task, TaskOwner

np = lazy_module("numpy", globals())  # imported on first use: the desktop window shows before numpy loads

__all__ = ["PlatePanel", "load_well_layers", "heatmap_choices", "measurement_text"]

#: After an arrow key in the plate map, the well is shown once no key came for this long (ms).
BROWSE_DELAY_MS = 150


def load_well_layers(plate: Any, well: str) -> list[LayerSpec]:
    """Read every raw image of ``well``: one layer per channel, sites × z stacked.

    Runs in a worker thread. Each layer's array is ``(site, z, y, x)`` with
    length-1 axes dropped, so napari shows sliders only where there is something
    to scroll through.
    """
    from openhcs_gui.vfs import FileManager

    fm = FileManager()
    try:
        layers = []
        for pos, channel in enumerate(plate.channels):
            planes = [
                [np.asarray(fm.load(plate.images[k], plate.backend)) for k in plate.keys(well=well, site=s, channel=channel)]
                for s in plate.sites
                if plate.keys(well=well, site=s, channel=channel)
            ]
            if not planes:
                continue
            data = np.stack([np.stack(p) for p in planes])  # (site, z, y, x)
            sizes = {"site": data.shape[0], "z": data.shape[1]}
            data = np.squeeze(data, axis=tuple(i for i, n in enumerate(data.shape[:2]) if n == 1))
            name = plate.channel_names.get(channel) or f"channel {channel}"
            layers.append(
                LayerSpec(
                    name=f"{well} {name}",
                    data=data,
                    contrast=contrast_limits(data),
                    colormap=channel_colormap(pos, len(plate.channels)),
                    metadata={"source": "plate", "well": well, "channel": channel},
                    axis_labels=stack_axis_labels(sizes),
                )
            )
        return layers
    finally:
        fm.close()


def heatmap_choices(result: Any) -> list[Any]:
    """The result's per-well measurements (engine: ``RunResult.well_measurements``); reads CSVs, so a worker calls it."""
    return list(result.well_measurements())


def measurement_text(m: Any) -> str:
    """What the measurement chooser shows: ``Mean nuclear area (µm²)``, ``Nuclei count``."""
    return f"{m.measurement or m.label} ({m.unit})" if m.unit else (m.measurement or m.label)


class PlatePanel(QWidget):
    """Open a plate, see its wells, click one to view it, colour wells by a result.

    Parameters
    ----------
    session
        Holds the open plate and the last run result.
    parent
        Owning widget.
    tasks
        The window's background calls (default: the panel's own).

    Attributes
    ----------
    open_requested
        The "Open plate…" button; the main window runs the folder dialog.
    well_chosen
        A well was clicked (or :meth:`show_well` called), before anything is read.
    well_layers_ready
        ``(well, [LayerSpec])`` once a clicked well's images are read.
    reads_wells
        False while another view reads the clicked well itself (the live
        preview runs the pipeline on one site): a click then only selects the
        well, no raw images of all its sites are read for nothing.
    message
        A user-facing problem for the status bar.
    """

    open_requested = Signal()
    well_chosen = Signal(str)
    well_layers_ready = Signal(str, list)
    message = Signal(str)

    def __init__(self, session: Session, parent: QWidget | None = None, *,
                 tasks: TaskOwner | None = None) -> None:
        super().__init__(parent)
        self._session = session
        self._tasks = tasks if tasks is not None else TaskOwner(self)
        self.reads_wells = True
        self._measurements: list[Any] = []
        self._choices: dict[str, list[Any]] = {}
        self.open_button = QPushButton("Open plate…", self)
        self.open_button.clicked.connect(self.open_requested)
        self.info = QLabel("No plate open. Use “Open plate…” or File → Open plate (Ctrl+O).", self)
        self.info.setWordWrap(True)
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.grid_model = WellGridModel(self)
        self.grid = WellGridView(self)  # whole plate at once, Ctrl+wheel zooms
        self.grid.setModel(self.grid_model)
        self.grid.setToolTip("Click a well (or move with the arrow keys) to view its images. "
                             "Ctrl+wheel zooms; the scroll bars pan.")
        self.grid.clicked.connect(self._on_grid_clicked)
        # arrow keys browse the plate: the well shown is where the keys stop, not every well passed
        self._browse = QTimer(self)
        self._browse.setSingleShot(True)
        self._browse.setInterval(BROWSE_DELAY_MS)
        self._browse.timeout.connect(self._on_browse_timeout)
        self.grid.keyed.connect(self._browse.start)
        self.heatmap_combo = FocusComboBox(self)
        self.heatmap_combo.addItem("(no result yet)")
        self.heatmap_combo.setEnabled(False)
        self.heatmap_combo.currentIndexChanged.connect(self._on_heatmap_combo_changed)
        self.channel_combo = FocusComboBox(self)
        self.channel_combo.addItem("—")
        self.channel_combo.setEnabled(False)
        self.channel_combo.setToolTip("The channel the measurement is taken in")
        self.channel_combo.currentIndexChanged.connect(self._on_channel_combo_changed)
        self.legend = QLabel(self)
        self.colour_bar = ColourBar(self)
        self.colour_bar.set_range(None)
        # label above the combo: measurement names ("count: objects.object_count") need the
        # dock's full width to be readable
        heat_row = QHBoxLayout()  # one row: the grid below needs the height on a small screen
        heat_row.setSpacing(4)
        heat_row.addWidget(QLabel("Colour wells by", self))
        heat_row.addWidget(self.heatmap_combo, 1)
        heat_row.addWidget(self.channel_combo)
        self.channel_combo.hide()  # shown only when the measurement is taken in several channels
        self.heatmap_combo.setMinimumContentsLength(12)  # long names elide, the dock stays narrow
        self.heatmap_combo.setSizeAdjustPolicy(FocusComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.open_button)
        layout.addWidget(self.info)
        layout.addWidget(self.grid, 1)
        layout.addLayout(heat_row)
        layout.addWidget(self.legend)
        layout.addWidget(self.colour_bar)
        session.plate_changed.connect(self._on_session_plate_changed)
        session.result_changed.connect(self._on_session_result_changed)

    # -- plate -----------------------------------------------------------------
    def _on_session_plate_changed(self, plate: Any) -> None:
        if plate is None:
            self.grid_model.set_wells([])
            self.info.setText("No plate open.")
            return
        self.grid_model.set_wells(list(plate.wells))
        names = ", ".join(
            plate.channel_names.get(c) or f"channel {c}" for c in plate.channels
        )
        backend = "OME-Zarr" if plate.backend is Backend.ZARR else "files"
        # three short lines: the grid below needs the height on a small screen
        text = (
            f"<b>{plate.name}</b> — {plate.format} ({backend})<br>"
            f"{len(plate.wells)} wells × {len(plate.sites)} sites × {len(plate.z_planes)} z,"
            f" {plate.shape[1]}×{plate.shape[0]} px {plate.dtype}<br>"
            f"Channels: {names}"
        )
        if plate.warnings:
            text += f"<br><span style='color:#d08000'>⚠ {len(plate.warnings)} warning(s): {plate.warnings[0]}</span>"
        self.info.setText(text)
        self.info.setToolTip("\n".join(plate.warnings))

    def _on_grid_clicked(self, index: Any) -> None:
        well = self.grid_model.well_at(index)
        if well is not None:
            if self.grid_model.failure(well) is not None:
                self._session.failure_requested.emit(well)
            self.show_well(well)

    def show_well(self, well: str) -> Task | None:
        """Select ``well`` and read its raw images in a worker (``well_layers_ready`` follows).

        Nothing is read while :attr:`reads_wells` is False (``well_chosen`` only).
        """
        if not self.select_well(well):
            return None
        self.well_chosen.emit(well)
        if not self.reads_wells:
            return None
        plate = self._session.plate
        self.message.emit(f"Loading {well}…")
        return self._tasks.submit(
            load_well_layers,
            plate,
            well,
            name=f"load {well}",
            on_finished=partial(self._on_well_read, plate, well),
            on_failed=partial(self._on_task_failed, f"Cannot read well {well}"),
        )

    def _on_browse_timeout(self) -> None:
        well = self.current_well
        if well is not None:
            self.show_well(well)

    def select_well(self, well: str) -> bool:
        """Mark ``well`` in the plate map without reading anything; False if the plate has no such well."""
        plate = self._session.plate
        if plate is None or well not in plate.wells:
            return False
        self.grid.setCurrentIndex(self.grid_model.index_of(well))
        return True

    @property
    def current_well(self) -> str | None:
        """The well marked in the plate map (clicked, or whose outputs are shown)."""
        return self.grid_model.well_at(self.grid.currentIndex())

    def _on_well_read(self, plate: Any, well: str, layers: list[Any]) -> None:
        if plate is not self._session.plate:  # read for a plate since closed: never shown for another
            return
        self.well_layers_ready.emit(well, layers)

    def _on_task_failed(self, what: str, error: BaseException, _tb: str) -> None:
        self.message.emit(f"{what}: {error}")

    # -- heatmap ---------------------------------------------------------------
    def _on_session_result_changed(self, result: Any) -> None:
        self._measurements = []
        self._choices = {}
        for combo, text in ((self.heatmap_combo, "(loading measurements…)" if result is not None
                             else "(no result yet)"), (self.channel_combo, "—")):
            combo.blockSignals(True)
            combo.clear()
            combo.addItem(text)
            combo.setEnabled(False)
            combo.blockSignals(False)
        self.channel_combo.hide()
        self.grid_model.set_values({})
        self.colour_bar.set_range(None)
        self.grid_model.set_failed({e.well: e.message for e in reversed(getattr(result, "errors", []) or [])})
        self.legend.clear()
        if result is not None:
            self._tasks.submit(
                heatmap_choices,
                result,
                name="heatmap measurements",
                on_finished=partial(self._on_choices_read, result),
                on_failed=partial(self._on_task_failed, "Cannot read result tables"),
            )

    def _on_choices_read(self, result: Any, measurements: list[Any]) -> None:
        # a reply for a result let go meanwhile (another plate opened, another run) must not
        # offer that result's measurements for the plate now open
        if result is self._session.result:
            self._on_measurements_loaded(measurements)

    def _on_measurements_loaded(self, measurements: list[Any]) -> None:
        self._measurements = measurements
        texts = [measurement_text(m) for m in measurements]
        choices: dict[str, list[Any]] = {}
        for m, text in zip(measurements, texts, strict=True):
            twice = len({x.step for x, t in zip(measurements, texts, strict=True) if t == text}) > 1
            choices.setdefault(f"{text} · {m.step}" if twice else text, []).append(m)
        self._choices = choices
        combo = self.heatmap_combo
        combo.blockSignals(True)
        combo.clear()
        combo.addItem("(none)" if choices else "(no measurements in this run)")
        combo.addItems(list(choices))
        combo.setEnabled(bool(choices))
        combo.blockSignals(False)

    @property
    def measurement_choices(self) -> dict[str, list[str | None]]:
        """Measurement as shown -> its channel choices (``None``: not per channel)."""
        return {text: [m.channel for m in ms] for text, ms in self._choices.items()}

    def colour_by(self, measurement: str, channel: str | None = None) -> None:
        """Colour the grid by ``measurement`` (as shown, e.g. ``"Nuclei count"``) in ``channel`` (a name).

        Raises
        ------
        KeyError
            If the result has no such measurement or channel (names those it has).
        """
        if measurement not in self._choices:
            raise KeyError(f"No measurement {measurement!r} (measurements: {', '.join(self._choices) or 'none'}).")
        self.heatmap_combo.setCurrentText(measurement)
        if channel is not None:
            position = self.channel_combo.findText(f"in {channel}")
            if position < 0:
                raise KeyError(f"{measurement!r} is not measured in {channel!r}.")
            self.channel_combo.setCurrentIndex(position)

    def _on_heatmap_combo_changed(self, _position: int) -> None:
        ms = self._choices.get(self.heatmap_combo.currentText(), [])
        combo = self.channel_combo
        combo.blockSignals(True)
        combo.clear()
        named = [m for m in ms if m.channel is not None]
        for m in named:
            combo.addItem(f"in {m.channel}")
        if not named:
            combo.addItem("—")
        combo.setEnabled(len(named) > 1)
        combo.setVisible(len(named) > 1)
        combo.blockSignals(False)
        self._show_heatmap()

    def _on_channel_combo_changed(self, _position: int) -> None:
        self._show_heatmap()

    def current_measurement(self) -> Any:
        """The measurement the grid is coloured by (``None``: no colouring)."""
        ms = self._choices.get(self.heatmap_combo.currentText(), [])
        if not ms:
            return None
        named = [m for m in ms if m.channel is not None]
        if named:
            return named[min(max(self.channel_combo.currentIndex(), 0), len(named) - 1)]
        return ms[0]

    def _show_heatmap(self) -> None:
        m = self.current_measurement()
        if m is None:
            self.grid_model.set_values({})
            self.legend.clear()
            self.colour_bar.set_range(None)
            return
        title = m.measurement or m.label
        title += f" in {m.channel}" if m.channel else ""
        title += f" ({m.unit})" if m.unit else ""
        self.heatmap_combo.setToolTip(f"{title} — step '{m.step}', table {m.table}, {m.statistic} per well")
        self.grid_model.set_values(m.values, title)
        lo, hi = self.grid_model.value_range
        self.legend.setText(f"{title}: {lo:.3g} – {hi:.3g}")
        self.legend.setToolTip("Hover over a well for its value; Ctrl+wheel over the plate zooms.")
        self.colour_bar.set_range((lo, hi))
