"""Any plate size: a whole 384- or 1536-well plate fits the Plate dock of a 1366×768 window."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent

from openhcs_gui.pipeline.measurements import WellMeasurement
from openhcs_gui.ui.well_grid import viridis

pytestmark = pytest.mark.gui

_SIZES = {384: (16, 24), 1536: (32, 48)}


@pytest.fixture(scope="module")
def plates(tmp_path_factory) -> dict[int, Path]:
    """Real (tiny-pixel) 384- and 1536-well plates, 2 sites each, written once for the module."""
    from openhcs_gui.plates import make_synthetic_plate

    root = tmp_path_factory.mktemp("big_plates")
    return {n: make_synthetic_plate(root / f"plate_{n}", wells=n, sites=2, channels=1, shape=(16, 16))
            for n in _SIZES}


def _open(window, qtbot, path: Path) -> None:
    with qtbot.waitSignal(window.plate_opened, timeout=60000):
        window.open_plate(path)
    window.docks["Plate"].raise_()
    qtbot.wait(200)


def _heatmap(window, wells: list[str]) -> WellMeasurement:
    """A per-well measurement as a run would deliver it (row index + column, so edges differ)."""
    values = {w: float(ord(w[0]) * 100 + int(w[-2:])) for w in wells if len(w) == 3}
    values.update({w: float(3000 + int(w[-2:])) for w in wells if len(w) == 4})
    m = WellMeasurement(label="Nuclei count", unit="", values=values, measurement="Nuclei count",
                        step="count", table="objects", statistic="count")
    window.plate_panel._on_measurements_loaded([m])
    window.plate_panel.colour_by("Nuclei count")
    return m


@pytest.mark.parametrize("n_wells", sorted(_SIZES))
def test_whole_plate_fits_the_dock_with_colour_bar_and_values_on_hover(
        make_main_window, qtbot, plates, n_wells: int, screenshot_dir: Path) -> None:
    window = make_main_window(show=True, size=(1366, 768))
    _open(window, qtbot, plates[n_wells])
    panel, grid, model = window.plate_panel, window.plate_panel.grid, window.plate_panel.grid_model
    assert (model.rowCount(), model.columnCount()) == _SIZES[n_wells]
    viewport = grid.viewport().rect()
    last = model.index(model.rowCount() - 1, model.columnCount() - 1)
    first = model.index(0, 0)
    # every well is on screen without scrolling: first and last cells lie inside the viewport
    assert viewport.contains(grid.visualRect(first)) and viewport.contains(grid.visualRect(last))
    assert grid.horizontalScrollBar().maximum() == 0 and grid.verticalScrollBar().maximum() == 0
    assert grid.cell_size() >= 4
    assert not grid.visibleRegion().isEmpty()
    # labels thin out instead of overlapping: not every column is labelled on a 1536-well plate
    labels = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
    assert labels[0] == "1"
    if n_wells == 1536:
        assert "" in labels and "48" in labels or labels[-1] == ""

    m = _heatmap(window, list(window.session.plate.wells))
    assert panel.colour_bar.isVisible() and panel.colour_bar.range == model.value_range
    top = max(m.values, key=m.values.get)
    assert model.data(model.index_of(top), Qt.ItemDataRole.BackgroundRole).color() == viridis(1.0)
    tip = model.data(model.index_of("B03"), Qt.ItemDataRole.ToolTipRole)
    assert tip.startswith("B03: Nuclei count = ") and f"{m.values['B03']:.4g}" in tip
    qtbot.wait(200)
    assert window.docks["Plate"].grab().save(str(screenshot_dir / f"plate_{n_wells}_1366x768.png"))


def test_ctrl_wheel_zooms_and_click_opens_the_well_at_site_1(make_main_window, qtbot, plates,
                                                               screenshot_dir: Path) -> None:
    window = make_main_window(show=True, size=(1366, 768))
    _open(window, qtbot, plates[1536])
    grid, model = window.plate_panel.grid, window.plate_panel.grid_model
    fitted = grid.cell_size()
    centre = QPointF(grid.viewport().rect().center())
    for _ in range(4):
        event = QWheelEvent(centre, grid.viewport().mapToGlobal(centre), QPoint(0, 0), QPoint(0, 120),
                            Qt.MouseButton.NoButton, Qt.KeyboardModifier.ControlModifier,
                            Qt.ScrollPhase.NoScrollPhase, False)
        grid.wheelEvent(event)
    assert grid.cell_size() > 2 * fitted
    assert grid.horizontalScrollBar().maximum() > 0  # zoomed in: the scroll bars pan
    qtbot.wait(100)
    assert window.docks["Plate"].grab().save(str(screenshot_dir / "plate_1536_zoomed.png"))

    grid.set_zoom(1.0)
    well = "P24"
    rect = grid.visualRect(model.index_of(well))
    assert grid.viewport().rect().contains(rect.center())
    with qtbot.waitSignal(window.plate_panel.well_layers_ready, timeout=20000) as blocker:
        qtbot.mouseClick(grid.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    shown_well, layers = blocker.args
    assert shown_well == well
    # one layer per channel, both sites stacked, the first slice is the plate's first site (site 1)
    assert np.asarray(layers[0].data).shape[0] == len(window.session.plate.sites) == 2
    assert window.session.plate.sites[0] == 1
    qtbot.waitUntil(lambda: len(window.viewer.layers) == 1, timeout=20000)
    assert window.viewer.model.dims.current_step[0] == 0
