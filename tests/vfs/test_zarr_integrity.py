"""Exact zarr round trips (issue 12 item 7): row names, missing chunks, foreign arrays, errors.

Each test writes a plate the way a run does, then reads it back the way a
later run, ``--resume`` or a viewer would, and checks that nothing comes back
in the wrong place or silently as zeros.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from contract import assert_same_array, make_image

from openhcs_gui.metadata import STANDARD_PLATES, row_name
from openhcs_gui.vfs.keys import ImageKey, split_well, well_name
from openhcs_gui.vfs.zarr_store import ZarrBackend

STORE = "plate/images.zarr"


@pytest.fixture
def root(tmp_path: Path) -> str:
    return str(tmp_path)


def _plate(root: str) -> dict:
    return json.loads(Path(root, STORE, ".zattrs").read_text())["plate"]


# ------------------------------------------------------------------ row names
def test_well_name_is_the_inverse_of_split_well_for_every_row() -> None:
    for index in range(702):  # A .. ZZ
        name = well_name(index, 7)
        assert name == f"{row_name(index)}07"
        assert split_well(name) == (row_name(index), 7)
    assert well_name(52, 1) == "BA01"  # was "AA01"'s slot
    assert well_name(701, 999) == "ZZ999"


@pytest.mark.parametrize("n_wells", sorted(STANDARD_PLATES))
def test_every_standard_geometry_round_trips(root: str, n_wells: int) -> None:
    rows, cols = STANDARD_PLATES[n_wells]
    corners = {well_name(r, c) for r in (0, rows // 2, rows - 1) for c in (1, cols)}
    written = {}
    b = ZarrBackend(root=root)
    for i, well in enumerate(sorted(corners)):
        image = make_image(np.uint16, (8, 8), seed=i)
        b.save(image, f"{STORE}/{well}_s1_w1_z1.tif")
        written[well] = image
    b.close()
    plate = _plate(root)
    for w in plate["wells"]:  # the metadata names the row each well path sits in
        row, col = w["path"].split("/")
        assert plate["rows"][w["rowIndex"]]["name"] == row
        assert plate["columns"][w["columnIndex"]]["name"] == col
    fresh = ZarrBackend(root=root, read_only=True)
    assert fresh.list_dir(STORE) == sorted(f"{w}_s1_w1_z1.tif" for w in written)
    for well, image in written.items():
        assert_same_array(fresh.load(f"{STORE}/{well}_s1_w1_z1.tif"), image)


def test_rows_past_z_do_not_share_a_slot(root: str) -> None:
    wells = ["AA01", "BA01", "AZ02", "ZZ999", "AF48"]
    b = ZarrBackend(root=root)
    for i, well in enumerate(wells):
        b.save(make_image(np.uint8, (4, 4), seed=i), f"{STORE}/{well}_s1_w1_z1.tif")
    b.close()
    fresh = ZarrBackend(root=root, read_only=True)
    assert fresh.list_dir(STORE) == sorted(f"{w}_s1_w1_z1.tif" for w in wells)
    for i, well in enumerate(wells):
        assert_same_array(fresh.load(f"{STORE}/{well}_s1_w1_z1.tif"),
                          make_image(np.uint8, (4, 4), seed=i))
    assert {w["path"] for w in _plate(root)["wells"]} == {"AA/1", "BA/1", "AZ/2", "ZZ/999",
                                                          "AF/48"}
    assert ImageKey("BA01", 1, 1).row == "BA"
