"""Compare side by side: two wells, or one well before/after a step, in napari's grid mode."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from napari.layers import Image, Labels

from openhcs_gui.pipeline import FunctionStep, Pipeline
from openhcs_gui.pipeline.preview import Preview
from openhcs_gui.plates import open_plate
from openhcs_gui.ui.compare_dialog import BEFORE_AFTER, WELLS, CompareDialog

pytestmark = pytest.mark.gui


def _steps() -> list[FunctionStep]:
    return [FunctionStep("gaussian_blur", "blur", sigma=1.0), FunctionStep("segment_nuclei", "nuclei")]


def _open(window, qtbot, plate: Path) -> None:
    with qtbot.waitSignal(window.plate_opened, timeout=30000):
        window.open_plate(plate)
    window.plate_panel.show_well("A01")  # a click on the well
    qtbot.waitUntil(lambda: len(window.viewer.layers) == 2, timeout=20000)
    window.session.replace_pipeline(Pipeline(_steps()))


def test_two_wells_side_by_side_share_camera_and_contrast(make_main_window, small_plate: Path, qtbot,
                                                         screenshot_dir: Path) -> None:
    window = make_main_window(show=True, size=(1400, 900))
    _open(window, qtbot, small_plate)
    task = window.compare(WELLS, ("A01", "B02"), -1, site=1)
    with qtbot.waitSignal(task.finished, timeout=60000):
        pass
    qtbot.wait(200)
    layers = window.viewer.layers
    assert [la.name for la in layers] == ["A01 raw DAPI", "A01 raw FITC", "B02 raw DAPI", "B02 raw FITC"]
    grid = window.viewer.model.canvas.grid
    assert grid.enabled and grid.stride == 2
    assert {grid.position(i, layers) for i in (0, 1)} != {grid.position(i, layers) for i in (2, 3)}
    assert {grid.position(i, layers)[0] for i in range(4)} == {0}  # one row: left and right
    for left, right in ((layers[0], layers[2]), (layers[1], layers[3])):
        assert isinstance(left, Image) and isinstance(right, Image)
        assert list(left.contrast_limits) == list(right.contrast_limits)  # equal intensities look equal
        assert left.colormap.name == right.colormap.name
    raw = Preview(open_plate(small_plate), "B02", 1).inputs().images
    np.testing.assert_array_equal(layers[2].data, next(a for k, a in raw.items() if k.channel == 1))
    # one camera drives every viewbox of the grid: zooming one side zooms the other
    canvas = window.viewer.qt_viewer.canvas
    window.viewer.model.scene.camera.zoom = 3.0
    qtbot.wait(100)
    assert len(canvas.grid_cameras) == 2
    assert [cam.zoom for cam in canvas.grid_cameras] == pytest.approx([3.0, 3.0])
    window.grab().save(str(screenshot_dir / "compare_01_A01_vs_B02.png"))

    window.plate_panel.show_well("A02")  # clicking a well leaves the comparison
    qtbot.waitUntil(lambda: not grid.enabled and [la.name for la in layers] == ["A02 DAPI", "A02 FITC"],
                    timeout=20000)


def test_one_well_before_and_after_a_step(make_main_window, small_plate: Path, qtbot,
                                          screenshot_dir: Path) -> None:
    window = make_main_window(show=True, size=(1400, 900))
    _open(window, qtbot, small_plate)
    task = window.compare(BEFORE_AFTER, ("A02", "A02"), 1, site=2)
    with qtbot.waitSignal(task.finished, timeout=60000):
        pass
    layers = window.viewer.layers
    assert [la.name for la in layers] == ["A02 1.blur DAPI", "A02 1.blur FITC",
                                          "A02 2.nuclei DAPI", "A02 2.nuclei FITC"]
    assert all(isinstance(la, Image) for la in layers[:2]) and all(isinstance(la, Labels) for la in layers[2:])
    assert window.viewer.model.canvas.grid.enabled
    np.testing.assert_array_equal(layers[0].scale, layers[2].scale)
    out = Preview(open_plate(small_plate), "A02", 2).run_from(_steps())
    np.testing.assert_array_equal(layers[2].data, next(a for k, a in out[1].images.items() if k.channel == 1))
    qtbot.wait(200)
    window.grab().save(str(screenshot_dir / "compare_02_A02_before_after.png"))


def test_compare_dialog_offers_wells_steps_and_sites(qtbot) -> None:
    dialog = CompareDialog(["A01", "A02", "B03"], ["blur", "nuclei"], [1, 2])
    qtbot.addWidget(dialog)
    assert dialog.choice() == {"mode": WELLS, "wells": ("A01", "B03"), "step_index": -1, "site": 1}
    dialog.before_after_radio.setChecked(True)
    assert not dialog.well_b.isEnabled()
    dialog.site.setValue(2)
    assert dialog.choice() == {"mode": BEFORE_AFTER, "wells": ("A01", "B03"), "step_index": 0, "site": 2}

