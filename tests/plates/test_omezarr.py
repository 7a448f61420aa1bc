"""OME-Zarr HCS plates as input: metadata only, paths the zarr backend resolves."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import zarr

from openhcs_gui.constants import Backend
from openhcs_gui.errors import PlateError
from openhcs_gui.metadata import ChannelInfo, PlateGeometry
from openhcs_gui.plates import open_plate
from openhcs_gui.vfs.keys import ImageKey

AXES = [
    {"name": "c", "type": "channel"},
    {"name": "z", "type": "space", "unit": "micrometer"},
    {"name": "y", "type": "space", "unit": "micrometer"},
    {"name": "x", "type": "space", "unit": "micrometer"},
]


def _pixels(well: str, site: int, c: int, z: int, shape: tuple[int, int]) -> np.ndarray:
    value = (ord(well[0]) - 64) * 1000 + int(well[1:]) * 100 + site * 10 + c + z
    return np.full(shape, value, dtype=np.uint16)


def write_ngff_plate(
    store: Path, wells: dict[str, int], *, c: int = 2, z: int = 1, shape=(16, 24), zarr_format: int = 2
) -> None:
    """Write an HCS plate by the spec with zarr-python (0.4 on v2, 0.5 on v3)."""
    version = "0.4" if zarr_format == 2 else "0.5"

    def attrs(body: dict) -> dict:
        return body if zarr_format == 2 else {"ome": {"version": version, **body}}

    root = zarr.open_group(str(store), mode="w", zarr_format=zarr_format)
    rows = sorted({w[0] for w in wells})
    cols = sorted({str(int(w[1:])) for w in wells}, key=int)
    root.attrs.update(attrs({"plate": {
        "name": "test plate", "version": version, "field_count": max(wells.values()),
        "rows": [{"name": r} for r in rows], "columns": [{"name": col} for col in cols],
        "wells": [{"path": f"{w[0]}/{int(w[1:])}", "rowIndex": rows.index(w[0]),
                   "columnIndex": cols.index(str(int(w[1:])))} for w in wells],
    }}))
    for well, n_fields in wells.items():
        wg = root.require_group(f"{well[0]}/{int(well[1:])}")
        wg.attrs.update(attrs({"well": {"images": [{"path": str(f)} for f in range(n_fields)]}}))
        for f in range(n_fields):
            ig = wg.require_group(str(f))
            ig.attrs.update(attrs({
                "multiscales": [{"version": version, "axes": AXES, "datasets": [{
                    "path": "0",
                    "coordinateTransformations": [{"type": "scale", "scale": [1, 2.0, 0.5, 0.5]}],
                }]}],
                "omero": {"channels": [{"label": n, "color": "FFFFFF"} for n in ["DAPI", "GFP"][:c]]},
            }))
            data = np.stack([np.stack([_pixels(well, f + 1, ci + 1, zi + 1, shape) for zi in range(z)])
                             for ci in range(c)])
            arr = ig.create_array("0", shape=data.shape, dtype=data.dtype, chunks=(1, 1, *shape))
            arr[...] = data


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_ngff_plate_indexes_from_metadata(tmp_path: Path, zarr_format: int) -> None:
    store = tmp_path / "screen.zarr"
    write_ngff_plate(store, {"A01": 2, "B03": 2}, c=2, z=3, zarr_format=zarr_format)
    index = open_plate(store)
    assert index.format == "omezarr" and index.backend is Backend.ZARR
    assert index.name == "screen"
    assert index.wells == ["A01", "B03"] and index.sites == [1, 2]
    assert index.channels == [1, 2] and index.z_planes == [1, 2, 3]
    assert index.shape == (16, 24) and index.dtype == np.uint16
    assert index.channel_names == {1: "DAPI", 2: "GFP"}
    assert index.pixel_size_um == pytest.approx(0.5)
    assert index.images[ImageKey("B03", 2, 1, 3)] == f"{store.as_posix()}/B03_s2_w1_z3.tif"
    assert index.warnings == []
    md = index.metadata
    assert md.plate_name == "test plate" and md.geometry == PlateGeometry(2, 3)  # rows A-B, columns 1..3
    assert (md.pixel_size_x, md.pixel_size_y, md.z_spacing, md.unit) == (0.5, 0.5, 2.0, "micrometer")
    assert md.channels == {1: ChannelInfo("DAPI", "FFFFFF"), 2: ChannelInfo("GFP", "FFFFFF")}
    assert md.timepoints == (1,) and md.time_interval is None


def test_missing_field_warns(tmp_path: Path) -> None:
    write_ngff_plate(tmp_path / "p.zarr", {"A01": 2, "A02": 1}, c=1)
    index = open_plate(tmp_path / "p.zarr")
    assert index.warnings == ["site s2 missing for well A02 channel 1"]


def test_zarr_step_folder_opens_its_store(tmp_path: Path) -> None:
    step = tmp_path / "demo_workspace" / "step3_final"
    write_ngff_plate(step / "images.zarr", {"C05": 1}, c=1)
    index = open_plate(step)
    assert index.format == "omezarr" and index.name == "demo_step3_final"
    assert index.keys() == [ImageKey("C05", 1, 1, 1)]


def test_pixels_load_through_zarr_backend(tmp_path: Path) -> None:
    from openhcs_gui.vfs import FileManager

    store = tmp_path / "p.zarr"
    write_ngff_plate(store, {"A01": 2, "B03": 1}, c=2, z=2)
    index = open_plate(store)
    fm = FileManager()
    try:
        for key in (ImageKey("A01", 2, 2, 1), ImageKey("B03", 1, 1, 2)):
            data = np.asarray(fm.load(index.images[key], index.backend))
            assert np.array_equal(data, _pixels(key.well, key.site, key.channel, key.z, (16, 24)))
    finally:
        fm.close()


def test_ome_zarr_py_plate(tmp_path: Path) -> None:
    from ome_zarr.writer import write_image, write_plate_metadata, write_well_metadata

    store = tmp_path / "omezarrpy.zarr"
    root = zarr.open_group(str(store), mode="w")
    write_plate_metadata(root, ["A", "B"], ["1", "2"], ["A/1", "B/2"], name="ozp")
    for wpath in ("A/1", "B/2"):
        wg = root.require_group(wpath)
        write_well_metadata(wg, ["0", "1", "2"])
        for f in range(3):
            data = np.zeros((2, 1, 32, 32), dtype=np.uint8)
            write_image(data, wg.require_group(str(f)), axes="czyx", scale_factors=[])
    index = open_plate(store)
    assert index.wells == ["A01", "B02"] and index.sites == [1, 2, 3]
    assert index.channels == [1, 2] and index.shape == (32, 32) and index.dtype == np.uint8
    md = index.metadata  # axes without units: sizes stay unknown, never a made-up 1.0
    assert md.plate_name == "ozp" and md.geometry == PlateGeometry(2, 2)
    assert md.pixel_size_x is None and md.unit is None and md.z_spacing is None


def test_time_axis_units_and_scale_with_mixed_units(tmp_path: Path) -> None:
    # NGFF 0.4 multiscales: axes t/c/z/y/x with units, a dataset scale and a multiscale-wide one
    # (https://ngff.openmicroscopy.org/0.4/#multiscale-md); rows/columns name a 384-well plate.
    store = tmp_path / "tl.zarr"
    root = zarr.open_group(str(store), mode="w", zarr_format=2)
    root.attrs["plate"] = {
        "version": "0.4", "name": "timelapse",
        "rows": [{"name": chr(65 + r)} for r in range(16)],
        "columns": [{"name": str(c)} for c in range(1, 25)],
        "wells": [{"path": "P/24", "rowIndex": 15, "columnIndex": 23}],
    }
    well = root.require_group("P/24")
    well.attrs["well"] = {"images": [{"path": "0"}]}
    image = well.require_group("0")
    image.attrs["multiscales"] = [{
        "version": "0.4",
        "axes": [{"name": "t", "type": "time", "unit": "second"}, {"name": "c", "type": "channel"},
                 {"name": "z", "type": "space", "unit": "micrometer"},
                 {"name": "y", "type": "space", "unit": "nanometer"},
                 {"name": "x", "type": "space", "unit": "nanometer"}],
        "datasets": [{"path": "0", "coordinateTransformations": [
            {"type": "scale", "scale": [30.0, 1, 1.0, 325.0, 325.0]}]}],
        "coordinateTransformations": [{"type": "scale", "scale": [2.0, 1, 1, 1, 1]}],
    }]
    image.attrs["omero"] = {"channels": [{"label": "H2B-GFP", "color": "#00ff00"}]}
    image.create_array("0", shape=(3, 1, 2, 8, 8), dtype=np.uint16, chunks=(1, 1, 1, 8, 8))
    index = open_plate(store)
    md = index.metadata
    assert index.wells == ["P24"] and index.z_planes == [1, 2]
    assert (md.pixel_size_x, md.unit) == (325.0, "nanometer") and md.pixel_size_um == pytest.approx(0.325)
    assert md.z_spacing == pytest.approx(1000.0)  # 1 um in the x axis' unit
    assert (md.time_interval, md.time_unit, md.timepoints) == (60.0, "second", (1, 2, 3))
    assert md.channels == {1: ChannelInfo("H2B-GFP", "00FF00")}
    assert md.geometry == PlateGeometry(16, 24) and md.plate_name == "timelapse"
    assert index.warnings == [] and index.timepoints == [1, 2, 3]  # every time point is indexed
    assert index.images[ImageKey("P24", 1, 1, 2, 3)].endswith("/P24_s1_w1_z2_t3.tif")


def test_single_image_store_is_refused(tmp_path: Path) -> None:
    g = zarr.open_group(str(tmp_path / "img.zarr"), mode="w", zarr_format=2)
    g.attrs["multiscales"] = [{"version": "0.4", "axes": AXES, "datasets": [{"path": "0"}]}]
    with pytest.raises(PlateError, match="not an OME-Zarr HCS plate"):
        open_plate(tmp_path / "img.zarr")
