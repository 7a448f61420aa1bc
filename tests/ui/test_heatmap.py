"""The plate heatmap (issue 13): choose a measurement AND a channel; units and channel names as the plate says."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from ui_helpers import open_plate_and_wait

from openhcs_gui.constants import RunStatus
from openhcs_gui.pipeline import FunctionStep, Pipeline
from openhcs_gui.ui.well_grid import viridis

pytestmark = pytest.mark.gui


def test_colour_wells_by_measurement_and_channel(make_main_window, small_plate: Path, qtbot) -> None:
    window = make_main_window()
    open_plate_and_wait(window, qtbot, small_plate)
    window.session.replace_pipeline(Pipeline([
        FunctionStep("gaussian_blur", "blur", sigma=1.0),
        FunctionStep("segment_cells", "cells", variable_components=["channel"]),
    ]))
    window.session.cfg.num_workers = 2
    with qtbot.waitSignal(window.run_finished, timeout=120000) as blocker:
        assert window.start_run()
    result = blocker.args[0]
    assert result.status is RunStatus.COMPLETED
    panel = window.plate_panel
    qtbot.waitUntil(panel.heatmap_combo.isEnabled, timeout=20000)
    shown = [panel.heatmap_combo.itemText(i) for i in range(panel.heatmap_combo.count())]
    assert {"Nuclei count", "Mean nuclear area (µm²)", "Mean cell intensity"} <= set(shown)
    assert panel.measurement_choices["Mean cell intensity"] == ["DAPI", "FITC"]  # the plate's channel names

    engine = {(m.measurement, m.channel): m.values for m in result.well_measurements()}
    panel.colour_by("Mean cell intensity", "FITC")
    assert panel.channel_combo.isEnabled() and panel.channel_combo.currentText() == "in FITC"
    grid = panel.grid_model
    assert grid._values == engine[("Mean cell intensity", "FITC")]
    assert panel.legend.text().startswith("Mean cell intensity in FITC:")
    lo, hi = grid.value_range
    top = max(grid._values, key=grid._values.get)
    assert grid.data(grid.index_of(top), Qt.ItemDataRole.BackgroundRole).color() == viridis(1.0)
    assert grid.data(grid.index_of(top), Qt.ItemDataRole.DisplayRole) == f"{hi:.3g}"

    panel.channel_combo.setCurrentText("in DAPI")  # same measurement, the other channel
    assert grid._values == engine[("Mean cell intensity", "DAPI")]

    panel.colour_by("Mean nuclear area (µm²)")
    assert not panel.channel_combo.isEnabled()
    assert grid._values == engine[("Mean nuclear area", None)]
    assert "µm²" in grid.data(grid.index_of("A01"), Qt.ItemDataRole.ToolTipRole)

    panel.colour_by("Nuclei count")
    assert grid._values == engine[("Nuclei count", None)]
    panel.heatmap_combo.setCurrentIndex(0)  # "(none)"
    assert grid._values == {} and grid.data(grid.index_of("A01"), Qt.ItemDataRole.DisplayRole) == "A01"

    with pytest.raises(KeyError, match="No measurement 'object_count'"):
        panel.colour_by("object_count")
