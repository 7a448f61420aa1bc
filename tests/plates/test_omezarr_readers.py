"""One NGFF metadata reader: the plate index, the zarr backend and the viewer's lazy
arrays see the same plate (issue 11, "One OME-Zarr metadata reader").

The plates are written by ome-zarr-py itself (``write_plate_metadata``,
``write_well_metadata``, ``write_image``), as NGFF 0.4 on zarr v2 and 0.5 on
zarr v3, with units, a two-level pyramid and a well whose row/column indices
are missing (optional in practice, many writers leave them out) and whose row
is named in lower case (``c/12``, allowed by the spec's alphanumeric names; it
is well ``C12``). Before the one reader, the zarr backend and the viewer
disagreed with the plate index on that well.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import zarr

from openhcs_gui.constants import Backend
from openhcs_gui.plates import open_plate
from openhcs_gui.ui.lazy_zarr import open_well_levels as ui_open_well_levels
from openhcs_gui.vfs import FileManager
from openhcs_gui.vfs.keys import ImageKey, parse_image_name
from openhcs_gui.vfs.ngff_lazy import open_well_levels, well_channel_stacks

UNITS = {"z": "micrometer", "y": "micrometer", "x": "micrometer"}
WELLS = {"A/1": "A01", "B/3": "B03", "c/12": "C12"}


def pixels(well: str, site: int, shape=(2, 3, 32, 48)) -> np.ndarray:
    rng = np.random.default_rng(abs(hash((well, site))) % 2**32)
    return rng.integers(0, 60000, size=shape, dtype=np.uint16)


def write_ome_zarr_py_plate(store: Path, version: str) -> None:
    """A 3-well × 2-field plate written by ome-zarr-py (NGFF ``version``)."""
    from ome_zarr.format import FormatV04, FormatV05
    from ome_zarr.writer import write_image, write_plate_metadata, write_well_metadata

    fmt = FormatV04() if version == "0.4" else FormatV05()
    root = zarr.open_group(str(store), mode="w", zarr_format=fmt.zarr_format)
    write_plate_metadata(root, ["A", "B", "c"], [str(c) for c in range(1, 13)], list(WELLS),
                         name="ozp plate", fmt=fmt)
    for wpath, well in WELLS.items():
        wg = root.require_group(wpath)
        write_well_metadata(wg, ["0", "1"], fmt=fmt)
        for f in range(2):
            write_image(pixels(well, f + 1), wg.require_group(str(f)), axes="czyx", fmt=fmt,
                        axes_units=UNITS, scale={"z": 2.0, "y": 0.65, "x": 0.65},
                        scale_factors=[2], method="nearest")
    # drop c/12's row/column indices: the well must still open (from its path)
    meta = store / ("zarr.json" if version == "0.5" else ".zattrs")
    doc = json.loads(meta.read_text())
    plate = doc["attributes"]["ome"]["plate"] if version == "0.5" else doc["plate"]
    for w in plate["wells"]:
        if w["path"] == "c/12":
            del w["rowIndex"], w["columnIndex"]
    meta.write_text(json.dumps(doc))


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_three_readers_agree_on_an_ome_zarr_py_plate(tmp_path: Path, version: str) -> None:
    store = tmp_path / "ozp.zarr"
    write_ome_zarr_py_plate(store, version)

    index = open_plate(store)
    expected = {ImageKey(w, s, c, z) for w in WELLS.values() for s in (1, 2) for c in (1, 2)
                for z in (1, 2, 3)}
    assert set(index.keys()) == expected and index.warnings == []
    assert index.shape == (32, 48) and index.metadata.pixel_size_x == pytest.approx(0.65)
    assert index.metadata.z_spacing == pytest.approx(2.0) and index.metadata.plate_name == "ozp plate"

    fm = FileManager()
    try:
        listed = {parse_image_name(n) for n in fm.list_dir(str(store), Backend.ZARR)}
        assert listed == expected
        keys = sorted(expected)
        loaded = fm.load_batch([index.images[k] for k in keys], Backend.ZARR)
    finally:
        fm.close()
    for well in WELLS.values():
        lazy = open_well_levels(store, well)
        assert len(lazy) == 2 and all(len(levels) == 2 for levels in lazy)
        assert ui_open_well_levels(str(store), well)[0][0].shape == lazy[0][0].shape  # old import path
        assert lazy[0][1].shape == (2, 3, 16, 24)  # the pyramid's second level
        for site in (1, 2):
            truth = pixels(well, site)
            full = np.asarray(lazy[site - 1][0])
            assert np.array_equal(full, truth)
            for key, plane in zip(keys, loaded, strict=True):
                if key.well == well and key.site == site:
                    assert np.array_equal(plane, truth[key.channel - 1, key.z - 1])
    stacks = well_channel_stacks(store, "C12")
    assert [c for c, *_ in stacks] == [0, 1] and stacks[0][3] == ("site", "z", "y", "x")
