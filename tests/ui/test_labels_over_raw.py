"""Labels over raw: an opened output never removes the raw image; labels lie on top, same scale and channel."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from napari.layers import Image, Labels

from openhcs_gui.constants import RunStatus
from openhcs_gui.metadata import ChannelInfo, PlateMetadata
from openhcs_gui.pipeline import FunctionStep, Pipeline
from openhcs_gui.ui.outputs_panel import RAW
from openhcs_gui.ui.viewer import plate_channel_colormap

pytestmark = pytest.mark.gui


def _run(window, qtbot, plate: Path):
    with qtbot.waitSignal(window.plate_opened, timeout=30000):
        window.open_plate(plate)
    window.plate_panel.show_well("A01")  # a click on the well
    qtbot.waitUntil(lambda: len(window.viewer.layers) == 2, timeout=20000)
    window.session.replace_pipeline(Pipeline([FunctionStep("gaussian_blur", "blur", sigma=1.0),
                                              FunctionStep("segment_nuclei", "nuclei")]))
    window.session.cfg.num_workers = 2
    with qtbot.waitSignal(window.run_finished, timeout=120000) as blocker:
        window.start_run()
    assert blocker.args[0].status is RunStatus.COMPLETED
    return blocker.args[0]


def _open(window, qtbot, step: int, well: str, key=None) -> list:
    with qtbot.waitSignal(window.outputs_panel.layers_ready, timeout=30000):
        window.show_output(step, well, key)
    return list(window.viewer.layers)


def test_label_output_opens_over_the_raw_nuclei(make_main_window, small_plate: Path, qtbot,
                                                screenshot_dir: Path) -> None:
    window = make_main_window(show=True, size=(1400, 900))
    result = _run(window, qtbot, small_plate)
    assert window.outputs_panel.base == RAW  # default: over the raw images
    layers = _open(window, qtbot, 1, "A02")
    assert [la.name for la in layers] == ["A02 DAPI", "A02 FITC", "2.nuclei A02 DAPI", "2.nuclei A02 FITC"]
    assert window.plate_panel.current_well == "A02"  # the plate map marks the well shown, not A01 clicked before
    raw, labels = layers[:2], layers[2:]
    assert all(isinstance(la, Image) and la.visible for la in raw)  # raw kept and shown under the labels
    assert all(isinstance(la, Labels) for la in labels)
    for la in labels:
        np.testing.assert_array_equal(la.scale, raw[0].scale)
    assert raw[0].scale[-1] == pytest.approx(window.session.plate.pixel_size_um)
    keys = [k for k in result.step(1).keys if k.well == "A02" and k.channel == 1]
    np.testing.assert_array_equal(labels[0].data, np.stack([result.get_image(1, k) for k in keys]))
    assert labels[0].data.shape == raw[0].data.shape  # every nucleus label over its own pixels
    qtbot.wait(300)
    window.grab().save(str(screenshot_dir / "labels_01_over_raw.png"))

    # an image output keeps the raw too (hidden, one click away) and the channel's colour
    layers = _open(window, qtbot, 0, "A02")
    assert [la.name for la in layers] == ["A02 DAPI", "A02 FITC", "1.blur A02 DAPI", "1.blur A02 FITC"]
    assert [la.visible for la in layers] == [False, False, True, True]
    assert [la.colormap.name for la in layers[2:]] == [la.colormap.name for la in layers[:2]]

    # labels over a chosen step's image: the blurred nuclei
    window.outputs_panel.set_base(0)
    layers = _open(window, qtbot, 1, "B01")
    assert [la.name for la in layers] == ["1.blur B01 DAPI", "1.blur B01 FITC",
                                          "2.nuclei B01 DAPI", "2.nuclei B01 FITC"]
    assert [type(la) for la in layers] == [Image, Image, Labels, Labels]

    # one image: the label image over the same raw plane
    window.outputs_panel.set_base(RAW)
    key = next(k for k in result.step(1).keys if k.well == "B02" and k.channel == 2)
    layers = _open(window, qtbot, 1, "B02", key)
    assert [type(la) for la in layers] == [Image, Labels]
    assert layers[0].metadata["key"] == key and "FITC" in layers[1].name
    np.testing.assert_array_equal(layers[1].data, result.get_image(1, key))


def test_channel_colour_comes_from_the_plate() -> None:
    plate = SimpleNamespace(channels=[1, 2], metadata=PlateMetadata(
        channels={1: ChannelInfo(name="DAPI", color="0000FF"), 2: ChannelInfo(name="GFP")}))
    blue = plate_channel_colormap(plate, 1)
    np.testing.assert_allclose(blue.colors[-1], [0, 0, 1, 1])
    assert plate_channel_colormap(plate, 2) == "magenta"  # no recorded colour: its position's, as raw uses
