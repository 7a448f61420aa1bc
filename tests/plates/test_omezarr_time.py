"""OME-Zarr input with time points: every ``t`` of a plate is indexed and loads (issue 12 item 2).

The plate is written by ome-zarr-py (``write_image`` with ``axes="tczyx"``),
the layout napari-ome-zarr and Fiji read; NGFF 0.4 and 0.5.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import zarr

from openhcs_gui.plates import open_plate
from openhcs_gui.vfs import FileManager
from openhcs_gui.vfs.keys import ImageKey

T, C, Z, Y, X = 3, 2, 1, 16, 20


def movie(well: str) -> np.ndarray:
    base = (ord(well[0]) - 64) * 1000 + int(well[1:]) * 100
    t, c = np.meshgrid(np.arange(T), np.arange(C), indexing="ij")
    values = (base + 10 * t + c).astype(np.uint16)
    return np.broadcast_to(values[:, :, None, None, None], (T, C, Z, Y, X)).copy()


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_every_time_point_of_an_ome_zarr_py_plate_is_indexed(tmp_path: Path, version: str) -> None:
    from ome_zarr.format import FormatV04, FormatV05
    from ome_zarr.writer import write_image, write_plate_metadata, write_well_metadata

    fmt = FormatV04() if version == "0.4" else FormatV05()
    store = tmp_path / "timelapse.zarr"
    root = zarr.open_group(str(store), mode="w", zarr_format=fmt.zarr_format)
    write_plate_metadata(root, ["A", "B"], ["1", "2"], ["A/1", "B/2"], fmt=fmt)
    for wpath, well in (("A/1", "A01"), ("B/2", "B02")):
        wg = root.require_group(wpath)
        write_well_metadata(wg, ["0"], fmt=fmt)
        write_image(movie(well), wg.require_group("0"), axes="tczyx", fmt=fmt, scale_factors=[],
                    axes_units={"t": "second", "y": "micrometer", "x": "micrometer"},
                    scale={"t": 30.0, "y": 0.5, "x": 0.5})

    index = open_plate(store)
    assert index.warnings == []  # was: "only the first (t=0) is indexed"
    assert index.timepoints == [1, 2, 3] and index.metadata.timepoints == (1, 2, 3)
    assert (index.metadata.time_interval, index.metadata.time_unit) == (30.0, "second")
    assert len(index.images) == 2 * T * C * Z
    assert index.images[ImageKey("B02", 1, 2, 1, 3)].endswith("/B02_s1_w2_z1_t3.tif")
    assert index.images[ImageKey("A01", 1, 1, 1, 1)].endswith("/A01_s1_w1_z1_t1.tif")
    fm = FileManager()
    try:
        keys = sorted(index.images)
        planes = fm.load_batch([index.images[k] for k in keys], index.backend)
        listed = fm.list_files(str(store), index.backend)
    finally:
        fm.close()
    for key, plane in zip(keys, planes, strict=True):
        expected = movie(key.well)[key.t - 1, key.channel - 1, key.z - 1]
        assert np.array_equal(plane, expected), key
    assert len(listed) == len(keys)
