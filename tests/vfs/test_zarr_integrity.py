"""Exact zarr round trips (issue 12 item 7): row names, missing chunks, foreign arrays, errors.

Each test writes a plate the way a run does, then reads it back the way a
later run, ``--resume`` or a viewer would, and checks that nothing comes back
in the wrong place or silently as zeros.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import zarr
from contract import assert_same_array, make_image

from openhcs_gui.errors import PathNotFoundError
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


# ------------------------------------------------- missing chunks, foreign arrays
def _well(well: str, sites: int = 2, channels: int = 2) -> tuple[list[np.ndarray], list[str]]:
    datas, keys = [], []
    for s in range(1, sites + 1):
        for c in range(1, channels + 1):
            datas.append(make_image(np.uint16, (16, 16), seed=10 * s + c))
            keys.append(f"{STORE}/{ImageKey(well, s, c).filename()}")
    return datas, keys


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_a_missing_chunk_of_our_array_is_an_error_naming_the_well(root: str,
                                                                    version: str) -> None:
    from openhcs_gui.config import ZarrConfig

    config = ZarrConfig(ngff_version=version)
    b = ZarrBackend(config, root=root)
    datas, keys = _well("B03")
    b.save_batch(datas, keys)
    b.close()
    chunk = Path(root, STORE, "B/3/1/0", "1/0/0/0" if version == "0.4" else "c/1/0/0/0")
    assert chunk.is_file()
    chunk.unlink()  # field 2 (site 2), channel 2
    for reader in (b, ZarrBackend(config, root=root)):  # this run's backend and a later one
        with pytest.raises(PathNotFoundError, match=r"B03.*field 2"):
            reader.load(f"{STORE}/B03_s2_w2_z1.tif")
        with pytest.raises(PathNotFoundError, match=r"B03_s2_w2_z1.*field 2"):
            reader.load_batch(keys)
        assert_same_array(reader.load(keys[0]), datas[0])  # the rest of the well is fine


def _foreign_field(root: str, well: str, **array_kwargs: object) -> zarr.Array:
    """One field of an NGFF 0.4/0.5 plate written by plain zarr-python (not by us)."""
    fmt = array_kwargs.pop("zarr_format", 2)
    row, col = split_well(well)
    plate = zarr.open_group(f"{root}/{STORE}", mode="a", zarr_format=fmt)
    ome = {"rows": [{"name": row}], "columns": [{"name": str(col)}],
           "wells": [{"path": f"{row}/{col}", "rowIndex": 0, "columnIndex": 0}]}
    axes = [{"name": n, "type": "channel" if n == "c" else "space"} for n in "czyx"]
    field = plate.require_group(row).require_group(str(col)).require_group("0")
    multiscales = [{"datasets": [{"path": "0", "coordinateTransformations": [
        {"type": "scale", "scale": [1.0] * 4}]}], "axes": axes}]
    if fmt == 2:
        plate.attrs["plate"] = {**ome, "version": "0.4"}
        plate[row][str(col)].attrs["well"] = {"images": [{"path": "0"}], "version": "0.4"}
        field.attrs["multiscales"] = [{**multiscales[0], "version": "0.4"}]
    else:
        plate.attrs["ome"] = {"version": "0.5", "plate": ome}
        plate[row][str(col)].attrs["ome"] = {"version": "0.5", "well": {"images": [{"path": "0"}]}}
        field.attrs["ome"] = {"version": "0.5", "multiscales": multiscales}
    return field.create_array("0", **array_kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("fmt", [2, 3])
def test_foreign_fill_value_is_honoured(root: str, fmt: int) -> None:
    arr = _foreign_field(root, "C04", shape=(2, 1, 8, 8), chunks=(1, 1, 8, 8), dtype="f4",
                         fill_value=np.nan, zarr_format=fmt)
    written = make_image(np.float32, (8, 8), seed=1)
    arr[1, 0] = written  # channel 1 never written: zarr says it is NaN
    b = ZarrBackend(root=root, read_only=True)
    assert np.isnan(b.load(f"{STORE}/C04_s1_w1_z1.tif")).all()
    assert_same_array(b.load(f"{STORE}/C04_s1_w2_z1.tif"), written)
    first, second = b.load_batch([f"{STORE}/C04_s1_w1_z1.tif", f"{STORE}/C04_s1_w2_z1.tif"])
    assert np.isnan(first).all()
    assert_same_array(second, written)


def test_foreign_plain_array_with_integer_fill_value(root: str) -> None:
    # zlib, C order, one chunk per plane: the layout our raw reader could decode itself
    arr = _foreign_field(root, "A01", shape=(1, 2, 8, 8), chunks=(1, 1, 8, 8), dtype="u2",
                         fill_value=7, compressors=None)
    arr[0, 1] = make_image(np.uint16, (8, 8), seed=2)
    b = ZarrBackend(root=root, read_only=True)
    assert (b.load(f"{STORE}/A01_s1_w1_z1.tif") == 7).all()
    assert_same_array(b.load(f"{STORE}/A01_s1_w1_z2.tif"), make_image(np.uint16, (8, 8), seed=2))


def test_foreign_sharded_v3_array_reads_exactly(root: str) -> None:
    arr = _foreign_field(root, "D02", shape=(2, 3, 16, 16), chunks=(1, 1, 8, 8),
                         shards=(1, 3, 16, 16), dtype="i4", fill_value=-1, zarr_format=3)
    data = np.arange(2 * 3 * 16 * 16, dtype="i4").reshape(2, 3, 16, 16)
    arr[0] = data[0]
    b = ZarrBackend(root=root, read_only=True)
    keys = [f"{STORE}/D02_s1_w{c + 1}_z{z + 1}.tif" for c in range(2) for z in range(3)]
    got = b.load_batch(keys)
    for (c, z), image in zip([(c, z) for c in range(2) for z in range(3)], got, strict=True):
        assert_same_array(image, data[c, z] if c == 0 else np.full((16, 16), -1, "i4"))


# ------------------------------------------------- several writers, resume repair
_WRITER = r"""
import sys, time, os
import numpy as np
from openhcs_gui.vfs.zarr_store import ZarrBackend
from openhcs_gui.vfs.keys import ImageKey
from openhcs_gui.config import ZarrConfig
root, go, wells, version = sys.argv[1], sys.argv[2], sys.argv[3].split(","), sys.argv[4]
b = ZarrBackend(ZarrConfig(ngff_version=version), root=root)
warm = ZarrBackend(root=os.path.dirname(go))  # import and start the codecs before the race
warm.save(np.zeros((4, 4), np.uint16), f"warm{wells[0]}/images.zarr/A01_s1_w1_z1.tif")
open(go + "." + wells[0], "w").close()  # ready
while not os.path.exists(go):
    time.sleep(0.002)
for i, well in enumerate(wells):
    time.sleep(0.02)  # let the other writers' batches interleave with ours
    rng = np.random.default_rng(abs(hash(well)) % 1000)
    keys = [f"plate/images.zarr/{ImageKey(well, s, c).filename()}" for s in (1, 2) for c in (1, 2)]
    b.save_batch([rng.integers(0, 4000, (16, 16), dtype=np.uint16) for _ in keys], keys)
b.close()
"""


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_processes_writing_disjoint_wells_all_end_up_in_the_plate(root: str, tmp_path: Path,
                                                                   version: str) -> None:
    import subprocess
    import sys
    import time

    from ome_zarr_models import v04, v05

    go = tmp_path / "go"
    jobs = {0: ["A01", "A04", "B02", "C03"], 1: ["A02", "B01", "B04", "C01"],
            2: ["A03", "B03", "C02", "C04"]}
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, root, str(go), ",".join(w), version])
             for w in jobs.values()]
    ready = [Path(f"{go}.{w[0]}") for w in jobs.values()]
    deadline = time.monotonic() + 120
    while not all(r.exists() for r in ready) and time.monotonic() < deadline:
        time.sleep(0.01)
    go.touch()  # all start together, so their batches and closes interleave
    for p in procs:
        assert p.wait(timeout=120) == 0
    expected = sorted(f"{w[0]}/{int(w[1:])}" for ws in jobs.values() for w in ws)
    if version == "0.4":
        plate = _plate(root)
    else:  # zarr v3: the NGFF attributes sit under "ome" in zarr.json
        plate = json.loads(Path(root, STORE, "zarr.json").read_text())["attributes"]["ome"]["plate"]
    assert sorted(w["path"] for w in plate["wells"]) == expected
    assert plate["field_count"] == 2
    models = v04 if version == "0.4" else v05
    models.HCS.from_zarr(zarr.open_group(f"{root}/{STORE}", mode="r"))
    fresh = ZarrBackend(root=root, read_only=True)
    assert len(fresh.list_dir(STORE)) == 12 * 4


def test_batches_merge_with_wells_another_writer_listed(root: str) -> None:
    first, second = ZarrBackend(root=root), ZarrBackend(root=root)
    first.save_batch(*_well("A01"))
    second.save_batch(*_well("B02"))  # second never saw A01 in its registry
    assert sorted(w["path"] for w in _plate(root)["wells"]) == ["A/1", "B/2"]
    for key in _well("A01")[1]:  # a well this writer deletes leaves the plate
        first.delete(key)
    assert sorted(w["path"] for w in _plate(root)["wells"]) == ["B/2"]
    first.close()
    second.close()
    assert sorted(w["path"] for w in _plate(root)["wells"]) == ["B/2"]


def test_close_rewrites_metadata_a_killed_run_never_wrote(root: str) -> None:
    from ome_zarr_models.v04 import HCS, Image

    b = ZarrBackend(root=root)
    for well in ("A01", "A02"):
        b.save_batch(*_well(well))
    b.close()
    # what a kill -9 between chunks and metadata leaves: no field attrs, no well
    # attrs, and a plate that does not list the well yet
    Path(root, STORE, "A/1/1/.zattrs").unlink()
    Path(root, STORE, "A/2/.zattrs").unlink()
    plate_file = Path(root, STORE, ".zattrs")
    attrs = json.loads(plate_file.read_text())
    attrs["plate"]["wells"] = [w for w in attrs["plate"]["wells"] if w["path"] != "A/2"]
    plate_file.write_text(json.dumps(attrs))

    resumed = ZarrBackend(root=root)  # --resume writes the wells that were not done
    resumed.save_batch(*_well("B01"))
    resumed.close()
    assert sorted(w["path"] for w in _plate(root)["wells"]) == ["A/1", "A/2", "B/1"]
    group = zarr.open_group(f"{root}/{STORE}", mode="r")
    HCS.from_zarr(group)
    field = json.loads(Path(root, STORE, "A/1/1/.zattrs").read_text())
    Image.from_zarr(zarr.open_group(f"{root}/{STORE}/A/1/1", mode="r"))
    datas, keys = _well("A01")
    window = field["omero"]["channels"][1]["window"]  # the plate's channel 2 (same in each well)
    channel2 = np.stack([datas[1], datas[3]])
    assert (window["start"], window["end"]) == (float(channel2.min()), float(channel2.max()))
    fresh = ZarrBackend(root=root, read_only=True)
    for got, data in zip(fresh.load_batch(keys), datas, strict=True):
        assert_same_array(got, data)
    assert len(fresh.list_dir(STORE)) == 12


def test_close_rewrites_metadata_a_killed_run_never_wrote_on_zarr_v3(root: str) -> None:
    """The same repair on NGFF 0.5: a v3 group without its ``zarr.json`` is not a group at all."""
    from ome_zarr_models.v05 import HCS, Image, Well

    from openhcs_gui.config import ZarrConfig

    config = ZarrConfig(ngff_version="0.5")
    b = ZarrBackend(config, root=root)
    for well in ("A01", "A02"):
        b.save_batch(*_well(well))
    b.close()
    store = Path(root, STORE)
    (store / "A/1/1/zarr.json").unlink()  # field 2 of A01
    (store / "A/2/zarr.json").unlink()  # well A02
    doc = json.loads((store / "zarr.json").read_text())
    plate = doc["attributes"]["ome"]["plate"]
    plate["wells"] = [w for w in plate["wells"] if w["path"] != "A/2"]
    (store / "zarr.json").write_text(json.dumps(doc))

    resumed = ZarrBackend(config, root=root)  # --resume writes the wells that were not done
    resumed.save_batch(*_well("B01"))
    resumed.close()
    plate = json.loads((store / "zarr.json").read_text())["attributes"]["ome"]["plate"]
    assert sorted(w["path"] for w in plate["wells"]) == ["A/1", "A/2", "B/1"]
    HCS.from_zarr(zarr.open_group(str(store), mode="r", zarr_format=3))
    Well.from_zarr(zarr.open_group(str(store / "A/2"), mode="r", zarr_format=3))
    Image.from_zarr(zarr.open_group(str(store / "A/1/1"), mode="r", zarr_format=3))
    datas, keys = _well("A01")
    fresh = ZarrBackend(config, root=root, read_only=True)
    for got, data in zip(fresh.load_batch(keys), datas, strict=True):
        assert_same_array(got, data)
    assert len(fresh.list_dir(STORE)) == 12


def test_codec_threads_follow_the_executors_share_of_the_cores(monkeypatch, tmp_path) -> None:
    """A dask worker process gets its share of the cores for encoding, not the whole machine."""
    from openhcs_gui.vfs.zarr_store import CODEC_THREADS_ENV, ZarrBackend

    monkeypatch.setenv(CODEC_THREADS_ENV, "1")
    assert ZarrBackend(root=tmp_path / "a.zarr")._workers == 1
    monkeypatch.setenv(CODEC_THREADS_ENV, "not a number")
    assert ZarrBackend(root=tmp_path / "b.zarr")._workers == max(1, os.cpu_count() or 1)
