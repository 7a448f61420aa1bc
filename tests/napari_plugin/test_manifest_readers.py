"""The npe2 plugin, headless: the manifest validates and the readers return the right layers."""

from __future__ import annotations

from pathlib import Path

import dask.array as da
import numpy as np
import pytest
from npe2 import PluginManager, PluginManifest, read
from npe2.manifest.utils import import_python_name

import openhcs_gui
from openhcs_gui._napari.reader import plate_layers, workspace_layers
from openhcs_gui.plates import open_plate

MANIFEST = Path(openhcs_gui.__file__).with_name("napari.yaml")


@pytest.fixture(scope="module")
def pm() -> PluginManager:
    manager = PluginManager.instance()  # the one npe2.read and napari use
    manager.discover(include_npe1=False)
    return manager


def test_manifest_validates_and_lists_every_contribution(pm: PluginManager) -> None:
    manifest = PluginManifest.from_file(MANIFEST)
    assert manifest.name == "openhcs-gui"
    installed = pm.get_manifest("openhcs-gui")  # found through the napari.manifest entry point
    assert {r.command for r in installed.contributions.readers} == {
        "openhcs-gui.get_plate_reader", "openhcs-gui.get_workspace_reader"}
    assert [s.key for s in installed.contributions.sample_data] == ["demo_plate"]
    assert [w.command for w in installed.contributions.widgets] == ["openhcs-gui.dock"]
    for command in installed.contributions.commands:  # every python_name resolves
        assert callable(import_python_name(command.python_name))


def test_plate_reader_gives_one_well_per_channel_lazily_in_um(pm: PluginManager, small_plate: Path) -> None:
    assert "openhcs-gui.get_plate_reader" in [r.command for r in pm.iter_compatible_readers([str(small_plate)])]
    layers = read([str(small_plate)], plugin_name="openhcs-gui", stack=False)
    plate = open_plate(small_plate)
    names = [f"A01 {plate.channel_names[c]}" for c in plate.channels]  # the plate's channel names
    assert [(k["name"], kind) for _d, k, kind in layers] == [(n, "image") for n in names]
    px = plate.pixel_size_um
    assert px is not None and px > 0
    for pos, (data, kwargs, _kind) in enumerate(layers):
        assert isinstance(data, da.Array)  # nothing read but one plane for the contrast
        assert data.shape == (2, 128, 128) and data.dtype == np.uint16  # (site, y, x)
        assert kwargs["scale"] == (1.0, px, px)
        assert kwargs["metadata"]["well"] == "A01"
        channel = plate.channels[pos]
        key = plate.keys(well="A01", site=plate.sites[1], channel=channel)[0]
        from openhcs_gui.vfs import FileManager

        raw = FileManager().load(plate.images[key], plate.backend)
        np.testing.assert_array_equal(np.asarray(data[1]), raw)


def test_plate_layers_navigate_to_another_well(small_plate: Path) -> None:
    layers = plate_layers(small_plate, well="B02")
    assert {k["metadata"]["well"] for _d, k, _t in layers} == {"B02"}
    with pytest.raises(KeyError, match="Well H12 is not on plate"):
        plate_layers(small_plate, well="H12")


def test_workspace_reader_gives_each_step_and_labels_as_labels(pm: PluginManager, small_workspace: Path,
                                                             small_plate: Path) -> None:
    compatible = [r.command for r in pm.iter_compatible_readers([str(small_workspace)])]
    assert "openhcs-gui.get_workspace_reader" in compatible
    layers = read([str(small_workspace)], plugin_name="openhcs-gui", stack=False)
    steps = [(k["metadata"]["step"], kind) for _d, k, kind in layers]
    assert (0, "image") in steps and (1, "labels") in steps
    assert steps[-1][1] == "labels"  # labels on top
    px = open_plate(small_plate).pixel_size_um
    for data, kwargs, kind in layers:
        assert kwargs["scale"][-2:] == (px, px)
        assert data.shape[-2:] == (128, 128)
        if kind == "labels":
            assert np.issubdtype(data.dtype, np.integer) and int(np.asarray(data).max()) > 0
    blurred = next(d for d, k, kind in layers if kind == "image")
    assert float(np.asarray(blurred).std()) > 0


def test_plate_reader_declines_a_workspace_and_the_other_way_round(small_plate: Path,
                                                                   small_workspace: Path) -> None:
    from openhcs_gui._napari.reader import get_plate_reader, get_workspace_reader

    assert get_plate_reader(str(small_workspace)) is None
    assert get_workspace_reader(str(small_plate)) is None
    assert get_plate_reader(str(small_plate / "does-not-exist")) is None
    assert workspace_layers(small_workspace, well="B02")[0][1]["metadata"]["well"] == "B02"


def test_sample_data_is_the_demo_plate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    from openhcs_gui._napari.sample import demo_plate

    layers = demo_plate()
    assert (tmp_path / "openhcs-gui" / "demo_plate" / "ground_truth.csv").is_file()
    assert len(layers) == 2 and layers[0][0].shape == (4, 512, 512)


def test_opera_and_ome_zarr_plates_open_through_the_same_reader(pm: PluginManager, tmp_path: Path,
                                                                small_workspace: Path) -> None:
    from openhcs_gui.plates import make_synthetic_plate

    opera = make_synthetic_plate(tmp_path / "opera", wells=["C03"], sites=3, channels=1, z=2,
                                 shape=(64, 64), seed=1, layout="opera")
    layers = read([str(opera)], plugin_name="openhcs-gui", stack=False)
    assert len(layers) == 1 and layers[0][0].shape == (3, 2, 64, 64)  # (site, z, y, x)
    assert layers[0][1]["metadata"]["well"] == "C03"
    zarr_step = next(p for p in small_workspace.iterdir() if p.name.endswith("_nuclei"))
    store = next(zarr_step.glob("*.zarr"))
    layers = read([str(store)], plugin_name="openhcs-gui", stack=False)
    assert layers and layers[0][0].shape[-2:] == (128, 128)
    assert open_plate(store).format == "omezarr"
