"""The viewer: same-structure outputs reuse napari's layers; drag and drop opens plates and workspaces."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from openhcs_gui.constants import RunStatus
from openhcs_gui.pipeline import demo_pipeline_path

pytestmark = pytest.mark.gui


def _drop(widget, paths: list[Path]) -> None:
    """Deliver a real ``QDropEvent`` carrying file URLs, as a file manager does."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    widget.dropEvent(event)
    assert event.isAccepted()


def _run_demo(window, qtbot, plate: Path):
    with qtbot.waitSignal(window.plate_opened, timeout=30000):
        window.open_plate(plate)
    with qtbot.waitSignal(window.pipeline_loaded, timeout=10000):
        window.load_pipeline(demo_pipeline_path())
    window.session.cfg.num_workers = 2
    with qtbot.waitSignal(window.run_finished, timeout=120000) as blocker:
        window.start_run()
    assert blocker.args[0].status is RunStatus.COMPLETED
    return blocker.args[0]


def _show(window, qtbot, step: int, well: str) -> float:
    with qtbot.waitSignal(window.outputs_panel.layers_ready, timeout=20000):
        t0 = time.perf_counter()
        window.show_output(step, well)
    return (time.perf_counter() - t0) * 1000


def test_same_structure_output_reuses_layers(make_main_window, small_plate: Path, qtbot) -> None:
    window = make_main_window(show=True, size=(1280, 800))
    result = _run_demo(window, qtbot, small_plate)
    first_ms = _show(window, qtbot, 1, "A01")  # in-memory intermediate, two channels, over the raw two
    layers = list(window.viewer.layers)
    assert len(layers) == 4 and [la.visible for la in layers] == [False, False, True, True]
    second_ms = _show(window, qtbot, 1, "B02")
    print(f"\nviewer open: new layers {first_ms:.0f} ms, reused layers {second_ms:.0f} ms")
    assert all(a is b for a, b in zip(window.viewer.layers, layers, strict=True))
    step = result.step(1)
    for channel, layer in enumerate(list(window.viewer.layers)[2:], start=1):
        assert layer.metadata["well"] == "B02" and layer.metadata["channel"] == channel
        assert "B02" in layer.name
        expected = np.stack([result.get_image(1, k) for k in step.keys if k.well == "B02" and k.channel == channel])
        np.testing.assert_array_equal(layer.data, expected)
        assert layer.contrast_limits[0] <= expected.max() and layer.contrast_limits[1] >= expected.min()
    assert not window.viewer.model.canvas.overlays["text"].visible


def test_different_structure_replaces_layers(make_main_window, small_plate: Path, qtbot) -> None:
    window = make_main_window(show=True, size=(1280, 800))
    result = _run_demo(window, qtbot, small_plate)
    _show(window, qtbot, 1, "A01")  # (site, y, x) per channel
    before = list(window.viewer.layers)
    key = next(k for k in result.step(1).keys if k.well == "A02")
    with qtbot.waitSignal(window.outputs_panel.layers_ready, timeout=20000):
        window.show_output(1, "A02", key)  # one 2-D image: another structure
    qtbot.wait(100)
    assert len(window.viewer.layers) == 2 and window.viewer.layers[-1] not in before  # raw plane + output
    np.testing.assert_array_equal(window.viewer.layers[-1].data, result.get_image(1, key))


def test_dropping_a_plate_folder_opens_the_plate(make_main_window, small_plate: Path, qtbot) -> None:
    window = make_main_window(show=True, size=(1280, 800))
    assert window.viewer.model.canvas.overlays["text"].visible  # our welcome text on the empty canvas
    assert "Drop a plate folder" in window.viewer.model.canvas.overlays["text"].text
    with qtbot.waitSignal(window.plate_opened, timeout=30000) as blocker:
        _drop(window.viewer.qt_viewer, [small_plate])
    assert blocker.args[0].wells == ["A01", "A02", "B01", "B02"]
    window.plate_panel.show_well("A01")  # a click on the well
    qtbot.waitUntil(lambda: len(window.viewer.layers) == 2, timeout=20000)  # read by our loader, not napari's
    assert window.viewer.layers[0].metadata["source"] == "plate"
    assert not window.viewer.model.canvas.overlays["text"].visible


def test_dropping_a_workspace_on_a_dock_opens_it(make_main_window, small_plate: Path, qtbot) -> None:
    window = make_main_window(show=True, size=(1280, 800))
    result = _run_demo(window, qtbot, small_plate)
    window.session.set_result(None)
    metadata = Path(result.workspace) / "openhcs_metadata.json"
    with qtbot.waitSignal(window.session.result_changed, timeout=20000) as blocker:
        _drop(window, [metadata])  # a drop on a dock reaches the main window
    assert Path(blocker.args[0].workspace) == Path(result.workspace)
    assert {i.text(1) for i in window.outputs_panel.items()} == {"memory", "zarr"}


def test_dropping_something_else_explains(make_main_window, tmp_path: Path, qtbot) -> None:
    window = make_main_window()
    stray = tmp_path / "notes.txt"
    stray.write_text("not a plate")
    with qtbot.waitSignal(window.error_reported, timeout=20000) as blocker:
        _drop(window, [stray])
    assert "plate folder" in blocker.args[1]


def test_segmentation_output_opens_as_labels_over_nothing_grey(make_main_window, small_plate: Path, qtbot) -> None:
    """The demo's nuclei step writes label images: napari shows them as Labels (one colour per nucleus)."""
    from napari.layers import Labels

    window = make_main_window(show=True, size=(1280, 800))
    result = _run_demo(window, qtbot, small_plate)
    assert result.plan.step(2).output_kind == "labels"
    _show(window, qtbot, 2, "A01")  # zarr, lazy
    layers = [la for la in window.viewer.layers if la.metadata.get("source") == "output"]
    assert layers and all(isinstance(layer, Labels) for layer in layers)
    step = result.step(2)
    expected = np.stack([result.get_image(2, k) for k in step.keys if k.well == "A01" and k.channel == 1])
    np.testing.assert_array_equal(np.asarray(layers[0].data), expected)
    assert int(np.asarray(layers[0].data).max()) > 0  # nuclei were found and are shown
    _show(window, qtbot, 1, "A01")  # back to an image output: image layers again
    assert not any(isinstance(layer, Labels) for layer in window.viewer.layers)


def test_opening_another_plate_lets_the_old_results_go(make_main_window, small_plate: Path, tmp_path: Path,
                                                         qtbot) -> None:
    """Plate 1's outputs and counts must never be listed for, or painted onto, plate 2 (issue 14)."""
    from openhcs_gui.plates import make_synthetic_plate

    window = make_main_window()
    _run_demo(window, qtbot, small_plate)
    assert window.outputs_panel.items()
    other = make_synthetic_plate(tmp_path / "plate2", wells=["A01", "A02"], sites=1, channels=2, shape=(64, 64))
    with qtbot.waitSignal(window.plate_opened, timeout=30000):
        window.open_plate(other)
    assert window.session.result is None
    assert not window.outputs_panel.items()
    combo = window.plate_panel.heatmap_combo
    assert not any("count" in combo.itemText(i).lower() for i in range(combo.count()))
    # reopening the plate that was run keeps nothing stale either: its result was let go with the switch
    with qtbot.waitSignal(window.plate_opened, timeout=30000):
        window.open_plate(small_plate)
    assert window.session.result is None


def test_preview_labels_are_refilled_in_place_pyramid_and_all(make_main_window, qtbot) -> None:
    """A live-preview edit shows new labels in the same layer and buffer (napari rebuilds a Labels
    layer's colormap shader when ``data`` is replaced: a shader compile per edit with software GL)."""
    from openhcs_gui.ui.preview_panel import _pyramid
    from openhcs_gui.ui.viewer import LayerSpec

    window = make_main_window(show=True)
    viewer = window.viewer
    rng = np.random.default_rng(0)

    def labels(shape: tuple[int, int]) -> np.ndarray:
        out = rng.integers(0, 40, shape).astype(np.uint16)
        out.flags.writeable = False  # preview outputs are read-only and shared with its cache
        return out

    def spec(data: np.ndarray) -> LayerSpec:
        return LayerSpec(name="preview 2.nuclei DAPI", data=_pyramid(data), multiscale=True, contrast=(0.0, 1.0),
                         kind="labels", metadata={"source": "preview"})

    first, second = labels((1024, 1024)), labels((1024, 1024))
    (layer,) = viewer.put_layers([spec(first)], "preview")
    buffer = layer.data[0]
    assert buffer is not first and buffer.flags.writeable
    np.testing.assert_array_equal(buffer, first)
    qtbot.wait(50)

    (again,) = viewer.put_layers([spec(second)], "preview")
    assert again is layer and layer.data[0] is buffer  # same layer, same buffer: refilled
    np.testing.assert_array_equal(layer.data[0], second)
    np.testing.assert_array_equal(layer.data[1], second[::2, ::2])  # the level napari draws at this zoom
    assert not np.array_equal(first, second) and not first.flags.writeable  # the source is left as it was

    smaller = labels((512, 512))  # a site of another size: the layer gets the new array
    (third,) = viewer.put_layers([LayerSpec(name="preview 2.nuclei DAPI", data=smaller, contrast=(0.0, 1.0),
                                            kind="labels", metadata={})], "preview")
    assert third.data.shape == (512, 512)
    np.testing.assert_array_equal(third.data, smaller)


def test_preview_images_are_refilled_in_place_and_keep_the_users_contrast(make_main_window, qtbot) -> None:
    """An image layer of the preview is refilled too (``layer.data =`` costs napari twice the work)."""
    from openhcs_gui.ui.viewer import LayerSpec

    window = make_main_window(show=True)
    viewer = window.viewer
    rng = np.random.default_rng(1)

    def image() -> np.ndarray:
        out = rng.integers(0, 4000, (256, 256)).astype(np.uint16)
        out.flags.writeable = False
        return out

    def spec(data: np.ndarray, hi: float) -> LayerSpec:
        return LayerSpec(name="preview 1.blur DAPI", data=data, contrast=(0.0, hi), metadata={"source": "preview"})

    first, second = image(), image()
    (layer,) = viewer.put_layers([spec(first, 4000.0)], "preview")
    buffer = layer.data
    assert buffer is not first and buffer.flags.writeable
    layer.contrast_limits = [100.0, 2000.0]  # the user's choice
    qtbot.wait(50)
    (again,) = viewer.put_layers([spec(second, 6000.0)], "preview")
    assert again is layer and layer.data is buffer
    np.testing.assert_array_equal(layer.data, second)
    assert list(layer.contrast_limits) == [100.0, 2000.0]
    assert list(layer.contrast_limits_range) == [0.0, 6000.0]  # widened to the new data's range
    np.testing.assert_array_equal(layer._slice.image.view, second)  # napari re-sliced the new pixels
    assert not first.flags.writeable

    floats = rng.random((256, 256)).astype(np.float32)  # another dtype: the layer gets the new array
    (third,) = viewer.put_layers([spec(floats, 1.0)], "preview")
    np.testing.assert_array_equal(third.data, floats)



def test_a_well_opens_on_its_first_site_and_browsing_keeps_the_site(make_main_window, tmp_path, qtbot) -> None:
    """napari starts a new slider in its middle (site 2 of 4); a well opens on site 1, as the help says."""
    from openhcs_gui.plates import make_synthetic_plate

    plate = make_synthetic_plate(tmp_path / "plate", wells=["A01", "A02"], sites=4, channels=1, shape=(64, 64))
    window = make_main_window()
    with qtbot.waitSignal(window.plate_opened, timeout=30000):
        window.open_plate(plate)
    window.plate_panel.show_well("A01")
    qtbot.waitUntil(lambda: len(window.viewer.layers) == 1, timeout=20000)
    dims = window.viewer.model.dims
    site_axis = dims.axis_labels.index("site")
    assert dims.nsteps[site_axis] == 4 and dims.current_step[site_axis] == 0
    layer = window.viewer.layers[0]
    np.testing.assert_array_equal(layer._slice.image.view, layer.data[0])  # site 1's pixels on screen

    dims.set_current_step(site_axis, 2)  # the user looks at site 3, then moves to the next well
    window.plate_panel.show_well("A02")
    qtbot.waitUntil(lambda: window.viewer.layers[0].metadata.get("well") == "A02", timeout=20000)
    assert dims.current_step[site_axis] == 2


def test_a_preview_layer_never_writes_into_an_array_it_did_not_copy(make_main_window, qtbot, monkeypatch) -> None:
    """Data too large to copy is shown as given; the next update replaces it, the caller's array untouched."""
    from openhcs_gui.ui import viewer as viewer_module
    from openhcs_gui.ui.viewer import LayerSpec

    window = make_main_window(show=True)
    viewer = window.viewer
    big = np.full((64, 64), 5, np.uint16)  # writable, as an array fresh from a worker is
    monkeypatch.setattr(viewer_module, "_OWN_AT_MOST", big.nbytes - 1)  # "too large" to copy
    (layer,) = viewer.put_layers([LayerSpec(name="preview 1.blur DAPI", data=big, contrast=(0.0, 10.0))], "preview")
    assert layer.data is big
    monkeypatch.setattr(viewer_module, "_OWN_AT_MOST", 64 * 2**20)
    small = np.full((64, 64), 9, np.uint16)
    (again,) = viewer.put_layers([LayerSpec(name="preview 1.blur DAPI", data=small, contrast=(0.0, 10.0))],
                                 "preview")
    assert again is layer and int(layer.data.max()) == 9
    assert int(big.max()) == 5 and int(big.min()) == 5  # the first array was not overwritten
    assert layer.data is not small  # owned from now on: the next update is a refill
    buffer = layer.data
    viewer.put_layers([LayerSpec(name="preview 1.blur DAPI", data=small + 1, contrast=(0.0, 10.0))], "preview")
    assert layer.data is buffer and int(buffer.max()) == 10
