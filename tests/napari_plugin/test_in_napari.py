"""The plugin in a real napari window (hidden, under Xvfb): open a plate and a workspace, dock the widget."""

from __future__ import annotations

import os
from pathlib import Path

import napari
import numpy as np
import pytest

pytestmark = pytest.mark.gui


@pytest.fixture
def viewer(qtbot):  # noqa: ANN001, ANN201 - pytest-qt fixture
    v = napari.Viewer(show=False)
    yield v
    v.close()


def test_viewer_opens_a_plate_and_a_workspace_through_our_reader(viewer, small_plate: Path,
                                                                small_workspace: Path) -> None:
    layers = viewer.open(str(small_plate), plugin="openhcs-gui")
    assert [type(layer).__name__ for layer in layers] == ["Image", "Image"]
    px = layers[0].scale[-1]
    assert px < 1.0 and tuple(layers[0].scale) == (1.0, px, px)  # µm, not pixels
    viewer.layers.clear()
    layers = viewer.open(str(small_workspace), plugin="openhcs-gui")
    kinds = {type(layer).__name__ for layer in layers}
    assert kinds == {"Image", "Labels"}
    assert type(viewer.layers[-1]).__name__ == "Labels"  # on top


def test_dock_widget_runs_in_a_plain_napari_window(viewer, qtbot, small_plate: Path,
                                                   tmp_path: Path) -> None:
    from openhcs_gui.ui.napari_dock import OpenHCSDock

    dock, widget = viewer.window.add_plugin_dock_widget("openhcs-gui", "OpenHCS pipeline")
    assert isinstance(widget, OpenHCSDock) and dock.isVisible() is not None
    viewer.add_image(np.zeros((8, 8)), name="mine")  # the user's own layer is never touched
    widget.open_plate(small_plate)
    qtbot.waitUntil(lambda: len(widget.owned_layers()) == 2, timeout=20000)
    assert widget.plate_panel.grid_model.rowCount() >= 2
    assert widget.owned_layers()[0].metadata["well"] == "A01"
    widget.plate_panel.show_well("B02")
    qtbot.waitUntil(lambda: widget.owned_layers() and widget.owned_layers()[0].metadata["well"] == "B02",
                    timeout=20000)
    assert [layer.name for layer in viewer.layers].count("mine") == 1
    assert widget.tabs.indexOf(widget.pipeline_editor) == 1 and widget.tabs.indexOf(widget.plate_panel) == 0
    shot = os.environ.get("OPENHCS_NAPARI_SHOT")
    viewer.window._qt_window.resize(1400, 900)
    viewer.window._qt_window.show()
    qtbot.wait(300)
    image = viewer.screenshot(canvas_only=False, flash=False)
    assert image.shape[0] > 400 and image.std() > 0
    if shot:
        from skimage.io import imsave

        imsave(shot, image)


def test_a_plate_opened_with_file_open_becomes_the_docks_plate(viewer, qtbot, small_plate: Path) -> None:
    viewer.open(str(small_plate), plugin="openhcs-gui")
    _dock, widget = viewer.window.add_plugin_dock_widget("openhcs-gui", "OpenHCS pipeline")
    qtbot.waitUntil(lambda: widget.session.plate is not None, timeout=20000)
    assert Path(widget.session.plate.path) == small_plate
    assert len(widget.owned_layers()) == 2  # the reader's layers, adopted (not shown twice)
    widget.plate_panel.show_well("B02")
    qtbot.waitUntil(lambda: {layer.metadata["well"] for layer in viewer.layers} == {"B02"}, timeout=20000)
    assert len(viewer.layers) == 2


def test_the_dock_runs_a_pipeline_and_shows_its_labels_in_napari(viewer, qtbot, small_plate: Path,
                                                                 tmp_path: Path) -> None:
    import shutil

    from openhcs_gui import Backend, FunctionStep, Pipeline

    plate = shutil.copytree(small_plate, tmp_path / "plate")
    _dock, widget = viewer.window.add_plugin_dock_widget("openhcs-gui", "OpenHCS pipeline")
    widget.open_plate(plate)
    qtbot.waitUntil(lambda: len(widget.owned_layers()) == 2, timeout=20000)
    widget.session.replace_pipeline(Pipeline([
        FunctionStep(func=("segment_nuclei", {"diameter_px": 10.0}), name="nuclei", backend=Backend.DISK)]))
    with qtbot.waitSignal(widget.run_panel.run_finished, timeout=60000) as finished:
        assert widget.run_panel.start_run()
    result = finished.args[0]
    assert result.status.value == "completed" and result.workspace.parent == tmp_path
    assert widget.tabs.currentIndex() == 2  # Run & outputs
    widget.outputs_panel.show_output(0, "A01")
    qtbot.waitUntil(lambda: any(type(layer).__name__ == "Labels" for layer in viewer.layers), timeout=20000)
    labels = next(layer for layer in viewer.layers if type(layer).__name__ == "Labels")
    assert labels.data.max() > 0 and labels.scale[-1] == widget.session.plate.pixel_size_um


def test_a_workspace_opened_with_file_open_fills_the_docks_outputs(viewer, qtbot, small_workspace: Path,
                                                                  small_plate: Path) -> None:
    viewer.open(str(small_workspace), plugin="openhcs-gui")
    _dock, widget = viewer.window.add_plugin_dock_widget("openhcs-gui", "OpenHCS pipeline")
    qtbot.waitUntil(lambda: widget.session.result is not None, timeout=20000)
    assert Path(widget.session.result.workspace) == small_workspace
    assert Path(widget.session.plate.path) == small_plate  # its plate came along
    assert widget.outputs_panel.tree.topLevelItemCount() == 2  # blur, nuclei
    widget.outputs_panel.show_output(1, "B02")
    qtbot.waitUntil(lambda: any(layer.metadata.get("well") == "B02" for layer in viewer.layers), timeout=20000)
    assert {layer.metadata.get("well") for layer in viewer.layers} == {"B02"}  # the reader's A01 replaced
    assert type(viewer.layers[-1]).__name__ == "Labels"
