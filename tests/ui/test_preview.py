"""Live preview (test mode): click a well, edit a parameter, the napari layers update in place."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from napari.layers import Image, Labels
from PySide6.QtCore import Qt

from openhcs_gui.errors import RunCancelledError
from openhcs_gui.pipeline import FunctionStep, Pipeline
from openhcs_gui.pipeline.preview import Preview
from openhcs_gui.plates import open_plate

pytestmark = pytest.mark.gui

GATE, ENTERED = threading.Event(), threading.Event()


def gated_copy(stack: np.ndarray, level: int = 0) -> np.ndarray:
    """Copy the stack once the test opens :data:`GATE` (a preview the test holds)."""
    ENTERED.set()
    GATE.wait(30)
    return np.array(stack)


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.suffix != ".ini"}  # the window's throw-away settings aside


def _click_well(qtbot, window, well: str) -> None:
    grid = window.plate_panel.grid
    index = window.plate_panel.grid_model.index_of(well)
    qtbot.mouseClick(grid.viewport(), Qt.MouseButton.LeftButton, pos=grid.visualRect(index).center())


def _layer(window, name: str):
    return next((layer for layer in window.viewer.layers if layer.name == name), None)


def _expected(plate: Path, steps: list[FunctionStep], well: str, site: int, index: int, channel: int):
    out = Preview(open_plate(plate), well, site).run_from(steps)[index]
    return next(a for k, a in out.images.items() if k.channel == channel)


def test_live_preview_of_a_clicked_well_updates_layers_in_place(make_main_window, small_plate: Path, qtbot,
                                                                 screenshot_dir: Path) -> None:
    window = make_main_window(show=True, size=(1400, 900))
    with qtbot.waitSignal(window.plate_opened, timeout=30000):
        window.open_plate(small_plate)
    window.session.replace_pipeline(Pipeline([FunctionStep("gaussian_blur", "blur", sigma=1.0),
                                              FunctionStep("segment_nuclei", "nuclei")]))
    before = _files(small_plate.parent)
    panel = window.preview_panel
    panel.set_active(True)
    _click_well(qtbot, window, "A02")
    qtbot.waitUntil(lambda: _layer(window, "preview 2.nuclei DAPI") is not None, timeout=60000)
    assert panel.well == "A02" and panel.site == 1
    # the preview reads the site itself: the click reads no raw images, and says what is shown
    assert window.statusBar().currentMessage() == "Previewing A02 (test mode: nothing is written)."
    assert window.plate_panel.reads_wells is False
    assert panel.shown_steps() == [-1, 1]  # raw + last step ticked by default
    names = [layer.name for layer in window.viewer.layers]
    assert names == ["preview raw DAPI", "preview raw FITC", "preview 2.nuclei DAPI", "preview 2.nuclei FITC"]
    raw, labels = _layer(window, "preview raw DAPI"), _layer(window, "preview 2.nuclei DAPI")
    assert isinstance(raw, Image) and isinstance(labels, Labels)  # labels drawn over the raw nuclei
    np.testing.assert_array_equal(labels.scale, raw.scale)
    assert raw.scale[-1] == pytest.approx(window.session.plate.pixel_size_um)
    steps = [FunctionStep("gaussian_blur", "blur", sigma=1.0), FunctionStep("segment_nuclei", "nuclei")]
    np.testing.assert_array_equal(labels.data, _expected(small_plate, steps, "A02", 1, 1, 1))
    assert labels.data.max() > 0
    window.grab().save(str(screenshot_dir / "preview_01_A02.png"))

    # edit the blur sigma: the same layer objects get the new data
    window.session.pipeline[0].kwargs = {"sigma": 4.0}
    steps[0] = FunctionStep("gaussian_blur", "blur", sigma=4.0)
    expected = _expected(small_plate, steps, "A02", 1, 1, 1)
    qtbot.waitUntil(lambda: np.array_equal(_layer(window, "preview 2.nuclei DAPI").data, expected), timeout=60000)
    assert _layer(window, "preview 2.nuclei DAPI") is labels
    assert _layer(window, "preview raw DAPI") is raw
    # the DAPI layer can update before the FITC one and the run's closing status line
    qtbot.waitUntil(lambda: "re-ran from step 1" in panel.status.text(), timeout=60000)
    assert "Nothing written" in panel.status.text()
    window.grab().save(str(screenshot_dir / "preview_02_sigma4.png"))

    # the step list toggle shows any step's output
    panel.show_step(0)
    qtbot.waitUntil(lambda: _layer(window, "preview 1.blur FITC") is not None, timeout=20000)
    blur = _layer(window, "preview 1.blur FITC")
    assert isinstance(blur, Image)
    np.testing.assert_array_equal(blur.data, _expected(small_plate, steps, "A02", 1, 0, 2))
    assert isinstance(window.viewer.layers[-1], Labels)  # labels stay on top
    window.grab().save(str(screenshot_dir / "preview_03_blur_shown.png"))
    panel.show_step(1, False)
    qtbot.waitUntil(lambda: _layer(window, "preview 2.nuclei DAPI") is None, timeout=20000)

    # another site of the same well
    panel.set_site(2)
    qtbot.waitUntil(lambda: _layer(window, "preview raw DAPI").metadata.get("site") == 2, timeout=60000)
    assert _files(small_plate.parent) == before  # no workspace, nothing written

    panel.set_active(False)  # back to the plate's raw images of the well
    qtbot.waitUntil(lambda: bool(window.viewer.layers)
                    and all(la.metadata.get("source") == "plate" for la in window.viewer.layers), timeout=20000)
    assert {la.metadata.get("well") for la in window.viewer.layers} == {"A02"}
    assert window.statusBar().currentMessage() == "Showing raw images of A02."


def test_a_newer_edit_cancels_the_stale_preview(make_main_window, small_plate: Path, qtbot) -> None:
    GATE.clear()
    ENTERED.clear()
    window = make_main_window()
    with qtbot.waitSignal(window.plate_opened, timeout=30000):
        window.open_plate(small_plate)
    panel = window.preview_panel
    panel.set_active(True)
    window.plate_panel.show_well("A01")  # a click on the well
    qtbot.waitUntil(lambda: panel.well == "A01", timeout=20000)
    window.session.replace_pipeline(Pipeline([FunctionStep(gated_copy, "held")]))
    qtbot.waitUntil(ENTERED.is_set, timeout=20000)
    stale = panel.task
    window.session.pipeline[0].kwargs = {"level": 1}  # a newer edit while the first is held
    qtbot.waitUntil(lambda: panel.task is not stale, timeout=20000)
    qtbot.waitUntil(lambda: stale.future is not None and stale.future.done(), timeout=20000)
    assert isinstance(stale.future.exception(), RunCancelledError)  # gave way within one poll
    GATE.set()
    with qtbot.waitSignal(panel.preview_finished, timeout=30000) as blocker:
        pass
    assert [o.name for o in blocker.args[0]] == ["held"]
    qtbot.waitUntil(lambda: _layer(window, "preview 1.held DAPI") is not None, timeout=20000)


def test_large_previews_are_shown_as_a_pyramid_of_views() -> None:
    """A 1024² site is drawn from a 512² level: napari uploads a quarter of the pixels per update."""
    from openhcs_gui.pipeline.preview import PreviewOutput
    from openhcs_gui.ui.preview_panel import preview_layers
    from openhcs_gui.vfs.keys import ImageKey

    image = np.arange(1024 * 1024, dtype=np.uint16).reshape(1024, 1024)
    (spec,) = preview_layers(PreviewOutput(0, "blur", {ImageKey("A01", 1, 1, 1): image}), None, "A01", 1)
    assert spec.multiscale and [level.shape for level in spec.data] == [(1024, 1024), (512, 512)]
    assert spec.data[0] is image and np.shares_memory(spec.data[1], image)  # views, no copy
    np.testing.assert_array_equal(spec.data[1], image[::2, ::2])


def test_arrow_keys_browse_the_plate_raw_and_preview(make_main_window, small_plate: Path, qtbot) -> None:
    """Arrow keys in the plate map show the well where they stop (not every well passed on the way)."""
    window = make_main_window(show=True)
    with qtbot.waitSignal(window.plate_opened, timeout=30000):
        window.open_plate(small_plate)
    chosen: list[str] = []
    window.plate_panel.well_chosen.connect(chosen.append)
    _click_well(qtbot, window, "A01")
    qtbot.waitUntil(lambda: {la.metadata.get("well") for la in window.viewer.layers} == {"A01"}, timeout=20000)
    grid = window.plate_panel.grid
    grid.setFocus()
    qtbot.keyClick(grid, Qt.Key.Key_Right)  # A02
    qtbot.keyClick(grid, Qt.Key.Key_Down)  # B02, before the first is shown
    assert window.plate_panel.current_well == "B02"
    qtbot.waitUntil(lambda: {la.metadata.get("well") for la in window.viewer.layers} == {"B02"}, timeout=20000)
    assert chosen == ["A01", "B02"]  # A02 was passed over, never read
    assert window.statusBar().currentMessage() == "Showing raw images of B02."

    panel = window.preview_panel
    panel.set_active(True)  # the same keys move the live preview
    qtbot.waitUntil(lambda: _layer(window, "preview raw DAPI") is not None, timeout=60000)
    qtbot.keyClick(grid, Qt.Key.Key_Left)
    qtbot.waitUntil(lambda: panel.well == "B01", timeout=5000)
    qtbot.waitUntil(lambda: _layer(window, "preview raw DAPI") is not None
                    and _layer(window, "preview raw DAPI").metadata.get("well") == "B01", timeout=60000)
