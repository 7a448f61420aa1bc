"""Foreign OME-Zarr plates with optional (or commonly missing) metadata left out still open,
the same way for the plate index, the zarr backend and the viewer's lazy arrays."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import zarr

from openhcs_gui.errors import PlateError
from openhcs_gui.plates import open_plate
from openhcs_gui.vfs import FileManager
from openhcs_gui.vfs.keys import ImageKey
from openhcs_gui.vfs.ngff_lazy import open_well_levels


def _bare_plate(store: Path) -> np.ndarray:
    """v2 plate: wells list only paths (no rows/columns/name/indices), one well has no well
    metadata, images name no axes (a 5-D array) and carry no omero."""
    root = zarr.open_group(str(store), mode="w", zarr_format=2)
    root.attrs["plate"] = {"wells": [{"path": "B/2"}, {"path": "d/11"}, {"path": "weird"}]}
    data = np.arange(2 * 1 * 2 * 6 * 5, dtype=np.uint16).reshape(2, 1, 2, 6, 5)  # t, c, z, y, x
    for wpath, with_well_meta in (("B/2", True), ("d/11", False)):
        well = root.require_group(wpath)
        if with_well_meta:
            well.attrs["well"] = {"images": [{"path": "0"}]}
        image = well.require_group("0")
        image.attrs["multiscales"] = [{"version": "0.4", "datasets": [{"path": "0"}]}]
        image.create_array("0", shape=data.shape, dtype=data.dtype, chunks=(1, 1, 1, 6, 5))[...] = data
    return data


def test_a_bare_foreign_plate_opens_everywhere(tmp_path: Path) -> None:
    store = tmp_path / "bare.zarr"
    data = _bare_plate(store)
    index = open_plate(store)
    assert index.wells == ["B02", "D11"] and index.timepoints == [1, 2] and index.z_planes == [1, 2]
    assert index.warnings == ["well 'weird' ignored: row/column 'weird'/'' is not like A/1"]
    md = index.metadata
    assert md.plate_name == "bare" and md.geometry is None and md.channels == {} and md.pixel_size_x is None
    fm = FileManager()
    try:
        for well in ("B02", "D11"):
            key = ImageKey(well, 1, 1, 2, 2)
            assert np.array_equal(fm.load(index.images[key], index.backend), data[1, 0, 1])
    finally:
        fm.close()
    for well in ("B02", "D11"):
        (levels,) = open_well_levels(store, well)
        assert np.array_equal(np.asarray(levels[0]), data[0])  # (c, z, y, x) at t=0


@pytest.mark.parametrize("name", [".zattrs", "B/2/.zattrs"])
def test_unreadable_metadata_is_one_line(tmp_path: Path, name: str) -> None:
    store = tmp_path / "bad.zarr"
    _bare_plate(store)
    (store / name).write_text("{not json")
    with pytest.raises(PlateError, match=r"Cannot read the zarr metadata .*\.zattrs"):
        open_plate(store)


def test_row_index_out_of_range_falls_back_to_the_path(tmp_path: Path) -> None:
    store = tmp_path / "idx.zarr"
    _bare_plate(store)
    doc = json.loads((store / ".zattrs").read_text())
    doc["plate"]["rows"], doc["plate"]["columns"] = [{"name": "B"}], [{"name": "2"}]
    doc["plate"]["wells"] = [{"path": "B/2", "rowIndex": 0, "columnIndex": 0},
                             {"path": "d/11", "rowIndex": 5, "columnIndex": 9}]
    (store / ".zattrs").write_text(json.dumps(doc))
    assert open_plate(store).wells == ["B02", "D11"]
    fm = FileManager()
    try:
        assert fm.exists(f"{store}/D11_s1_w1_z1.tif", "zarr")
    finally:
        fm.close()
