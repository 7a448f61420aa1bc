"""Physical metadata in outputs (issue 12 items 3 and 6): what makes the pixels science.

OME-Zarr: axis units and pixel scale, the plate's channel names and colours,
its name and physical geometry, validated with ome-zarr-models. TIFF: ImageJ
resolution, unit and channel label, read back with tifffile as Fiji would.
Unknown stays unknown: scale 1 without unit, no invented channel names.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tifffile
import zarr
from contract import assert_same_array, make_image

from openhcs_gui.config import ZarrConfig
from openhcs_gui.metadata import ChannelInfo, PlateGeometry, PlateMetadata
from openhcs_gui.vfs import FileManager
from openhcs_gui.vfs.disk import DiskBackend
from openhcs_gui.vfs.keys import ImageKey
from openhcs_gui.vfs.zarr_store import ZarrBackend

STORE = "step3_final/images.zarr"
META = PlateMetadata(
    plate_name="Plate-42", pixel_size_x=0.65, pixel_size_y=0.65, z_spacing=2.5,
    unit="micrometer",
    channels={1: ChannelInfo(name="DAPI", color="0000FF"), 2: ChannelInfo(name="Alexa 488",
                                                                          color="00FF00")},
    geometry=PlateGeometry(8, 12))


def _write_wells(backend: Any, wells: tuple[str, ...] = ("B03", "C05")) -> None:
    for i, well in enumerate(wells):
        keys = [f"{STORE}/{ImageKey(well, 1, c, z).filename()}" for c in (1, 2) for z in (1, 2)]
        backend.save_batch([make_image(np.uint16, (16, 16), seed=i * 10 + k)
                            for k in range(len(keys))], keys)


def _ome(path: Path) -> dict[str, Any]:
    if (path / ".zattrs").exists():
        return json.loads((path / ".zattrs").read_text())
    return json.loads((path / "zarr.json").read_text())["attributes"]["ome"]


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_zarr_carries_units_scale_channels_name_and_geometry(tmp_path: Path, version: str) -> None:
    if version == "0.4":
        from ome_zarr_models.v04 import HCS, Image
    else:
        from ome_zarr_models.v05 import HCS, Image
    b = ZarrBackend(ZarrConfig(ngff_version=version), root=tmp_path, plate_metadata=META)
    _write_wells(b)
    b.close()
    store = tmp_path / STORE
    image = _ome(store / "B/3/0")
    ms = image["multiscales"][0]
    assert ms["axes"] == [{"name": "c", "type": "channel"},
                          {"name": "z", "type": "space", "unit": "micrometer"},
                          {"name": "y", "type": "space", "unit": "micrometer"},
                          {"name": "x", "type": "space", "unit": "micrometer"}]
    assert ms["datasets"][0]["coordinateTransformations"] == [
        {"type": "scale", "scale": [1.0, 2.5, 0.65, 0.65]}]
    channels = image["omero"]["channels"]
    assert [(c["label"], c["color"]) for c in channels] == [("DAPI", "0000FF"),
                                                           ("Alexa 488", "00FF00")]
    plate = _ome(store)["plate"]
    assert plate["name"] == "Plate-42"
    assert [r["name"] for r in plate["rows"]] == list("ABCDEFGH")
    assert [c["name"] for c in plate["columns"]] == [str(i) for i in range(1, 13)]
    assert {(w["path"], w["rowIndex"], w["columnIndex"]) for w in plate["wells"]} == {
        ("B/3", 1, 2), ("C/5", 2, 4)}
    HCS.from_zarr(zarr.open_group(str(store), mode="r"))
    Image.from_zarr(zarr.open_group(str(store / "C/5/0"), mode="r"))


def test_zarr_unknown_sizes_and_names_are_left_out(tmp_path: Path) -> None:
    from ome_zarr_models.v04 import Image

    partial = PlateMetadata(pixel_size_x=0.325, unit="um")  # no z spacing, no channel names
    for meta, scale, units in ((None, [1.0, 1.0, 1.0, 1.0], [None, None, None]),
                               (partial, [1.0, 1.0, 0.325, 0.325],
                                [None, "micrometer", "micrometer"])):
        root = tmp_path / str(meta is None)
        b = ZarrBackend(root=root, plate_metadata=meta)
        _write_wells(b, ("A01",))
        b.close()
        image = _ome(root / STORE / "A/1/0")
        ms = image["multiscales"][0]
        assert ms["datasets"][0]["coordinateTransformations"][0]["scale"] == scale
        assert [a.get("unit") for a in ms["axes"][1:]] == units
        assert all("label" not in c for c in image["omero"]["channels"])  # no "Channel 1"
        assert _ome(root / STORE)["plate"]["name"] == "step3_final"
        Image.from_zarr(zarr.open_group(str(root / STORE / "A/1/0"), mode="r"))


def test_filemanager_hands_plate_metadata_to_zarr_and_disk(tmp_path: Path) -> None:
    fm = FileManager({"disk": DiskBackend(tmp_path)}, plate_metadata=META)
    zarr_backend = fm.backend("zarr")
    assert isinstance(zarr_backend, ZarrBackend) and zarr_backend.plate_metadata is META
    other = FileManager(zarr_config=ZarrConfig())
    other.backend("zarr")  # created before the metadata is known
    other.set_plate_metadata(META)
    assert other.backend("zarr").plate_metadata is META  # type: ignore[attr-defined]
    fm.save(make_image(np.uint16, (8, 8)), "step1/A01_s1_w2_z1.tif", "disk")
    with tifffile.TiffFile(tmp_path / "step1/A01_s1_w2_z1.tif") as tif:
        assert tif.imagej_metadata["Labels"] == "Alexa 488"


def test_zarr_metadata_given_after_writing_is_applied_at_close(tmp_path: Path) -> None:
    b = ZarrBackend(root=tmp_path)
    _write_wells(b, ("A01",))
    b.set_plate_metadata(META)
    b.close()
    image = _ome(tmp_path / STORE / "A/1/0")
    assert image["multiscales"][0]["axes"][3]["unit"] == "micrometer"
    assert _ome(tmp_path / STORE)["plate"]["name"] == "Plate-42"


# ---------------------------------------------------------------- TIFF
def _resolution_um(tif: tifffile.TiffFile) -> tuple[float, float]:
    page = tif.pages[0]
    xn, xd = page.tags["XResolution"].value
    yn, yd = page.tags["YResolution"].value
    return xd / xn, yd / yn  # micrometres per pixel


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16, np.float32])
def test_tiff_is_an_imagej_image_calibrated_in_micrometres(tmp_path: Path, dtype: Any) -> None:
    b = DiskBackend(tmp_path, plate_metadata=META)
    image = make_image(dtype, (32, 24), seed=3)
    b.save(image, "step2/B03_s1_w1_z1.tif")
    with tifffile.TiffFile(tmp_path / "step2/B03_s1_w1_z1.tif") as tif:
        assert tif.is_imagej
        assert tif.imagej_metadata["unit"] == "um"
        assert tif.imagej_metadata["Labels"] == "DAPI"
        assert _resolution_um(tif) == pytest.approx((0.65, 0.65), rel=1e-6)
    assert_same_array(b.load("step2/B03_s1_w1_z1.tif"), image)  # pixels unchanged


def test_tiff_of_a_dtype_imagej_cannot_hold_keeps_its_size_in_centimetre_tags(
        tmp_path: Path) -> None:
    b = DiskBackend(tmp_path, plate_metadata=META)
    image = make_image(np.float64, (16, 16))
    b.save(image, "step2/B03_s1_w2_z1.tif")
    with tifffile.TiffFile(tmp_path / "step2/B03_s1_w2_z1.tif") as tif:
        page = tif.pages[0]
        assert page.tags["ResolutionUnit"].value == tifffile.RESUNIT.CENTIMETER
        xn, xd = page.tags["XResolution"].value
        assert xd / xn * 1e4 == pytest.approx(0.65, rel=1e-6)
        assert tif.shaped_metadata[0]["channel"] == "Alexa 488"
    assert_same_array(b.load("step2/B03_s1_w2_z1.tif"), image)


def test_tiff_without_known_size_has_no_invented_calibration(tmp_path: Path) -> None:
    names_only = PlateMetadata(channels={1: ChannelInfo(name="DAPI")})
    b = DiskBackend(tmp_path, plate_metadata=names_only)
    b.save(make_image(np.uint16, (8, 8)), "s/A01_s1_w1_z1.tif")
    with tifffile.TiffFile(tmp_path / "s/A01_s1_w1_z1.tif") as tif:
        assert tif.imagej_metadata["Labels"] == "DAPI"
        assert "unit" not in tif.imagej_metadata
        assert tif.pages[0].tags["XResolution"].value == (1, 1)


# ------------------------------------------------------- plate-wide display window
def test_display_window_comes_from_the_whole_plate(tmp_path: Path) -> None:
    b = ZarrBackend(root=tmp_path)
    rng = np.random.default_rng(0)
    levels = {"A01": (100, 200), "A02": (1000, 5000), "B01": (50, 300)}  # dim well first
    for well, (lo, hi) in levels.items():
        keys = [f"{STORE}/{ImageKey(well, s, c).filename()}" for s in (1, 2) for c in (1, 2)]
        datas = [rng.integers(lo, hi, (16, 16), dtype=np.uint16, endpoint=True) for _ in keys]
        datas[0][0, 0], datas[0][0, 1] = lo, hi  # each well spans exactly its levels
        datas[1][0, 0], datas[1][0, 1] = lo, hi
        b.save_batch(datas, keys)
    other = ZarrBackend(root=tmp_path)  # another writer's well is part of the plate too
    bright = np.full((16, 16), 9000, np.uint16)
    bright[0, 0] = 8000
    other.save(bright, f"{STORE}/C01_s1_w1_z1.tif")
    other.close()
    b.close()
    for field in ("A/1/0", "A/2/1", "B/1/0", "C/1/0"):
        channels = _ome(tmp_path / STORE / field)["omero"]["channels"]
        window = channels[0]["window"]
        assert (window["start"], window["end"]) == (50.0, 9000.0), field
    window = _ome(tmp_path / STORE / "A/1/0")["omero"]["channels"][1]["window"]
    assert (window["start"], window["end"]) == (50.0, 5000.0)


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_rows_are_plain_groups_whichever_writer_makes_them_first(tmp_path: Path, version: str) -> None:
    """Two runs of one plate hold the same files: a row got an empty .zattrs only when the plate
    metadata merge came before the field writer's group creation (a byte-for-byte test caught it)."""
    store = tmp_path / STORE
    b = ZarrBackend(ZarrConfig(ngff_version=version), root=tmp_path, plate_metadata=META)
    _write_wells(b, ("B03",))
    b.close()  # here B was created with the field's groups, before the close's plate merge
    # the other order (another process's merge reaches a row before the field writer makes it):
    (store / "B" / (".zgroup" if version == "0.4" else "zarr.json")).unlink()
    b = ZarrBackend(ZarrConfig(ngff_version=version), root=tmp_path, plate_metadata=META)
    _write_wells(b, ("C05",))
    b.close()
    for row in ("B", "C"):
        names = sorted(p.name for p in (store / row).iterdir() if p.is_file())
        if version == "0.4":
            assert names == [".zgroup"]
        else:
            assert names == ["zarr.json"]
            assert json.loads((store / row / "zarr.json").read_text()) == {
                "zarr_format": 3, "node_type": "group", "attributes": {}}
    assert {w["path"] for w in _ome(store)["plate"]["wells"]} == {"B/3", "C/5"}
