"""ZarrBackend: the storage contract plus OME-Zarr layout, codecs, threads and viewers.

``put_raw``/``get_raw`` go through zarr-python and the plate/well/multiscales
metadata (never through the backend), so every contract test also checks
that what the backend writes is a plate other tools can navigate.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

import numcodecs
import numpy as np
import pytest
import zarr
from contract import BackendContract, assert_same_array, make_image

from openhcs_gui.config import ZarrConfig
from openhcs_gui.constants import ZarrChunkStrategy, ZarrCompressor
from openhcs_gui.errors import PathNotFoundError, UnsupportedFormatError
from openhcs_gui.vfs.keys import ImageKey, parse_image_name, split_well
from openhcs_gui.vfs.zarr_store import ZarrBackend


def _attrs(group: Any) -> dict[str, Any]:
    attrs = dict(group.attrs)
    return dict(attrs.get("ome", attrs))


def _store_and_key(root: str, key: str) -> tuple[str, ImageKey]:
    store, name = key.rsplit("/", 1)
    return os.path.join(root, store), parse_image_name(name)


def raw_write(root: str, key: str, array: np.ndarray) -> None:
    """Add one image to an NGFF 0.4 plate with plain zarr-python (merging metadata)."""
    store, ik = _store_and_key(root, key)
    row, col = split_well(ik.well)
    plate = zarr.open_group(store, mode="a", zarr_format=2)
    meta = _attrs(plate).get("plate", {"version": "0.4", "rows": [], "columns": [], "wells": []})
    rows = [r["name"] for r in meta["rows"]]
    cols = [c["name"] for c in meta["columns"]]
    rows += [] if row in rows else [row]
    cols += [] if str(col) in cols else [str(col)]
    path = f"{row}/{col}"
    wells = [w for w in meta["wells"] if w["path"] != path]
    wells.append({"path": path, "rowIndex": rows.index(row), "columnIndex": cols.index(str(col))})
    plate.attrs["plate"] = {**meta, "rows": [{"name": r} for r in rows],
                            "columns": [{"name": c} for c in cols], "wells": wells}
    well = plate.require_group(path)
    images = _attrs(well).get("well", {"images": []})["images"]
    field = str(ik.site - 1)
    if field not in [i["path"] for i in images]:
        images.append({"path": field})
    well.attrs["well"] = {"images": images, "version": "0.4"}
    image = well.require_group(field)
    image.attrs["multiscales"] = [{"version": "0.4", "datasets": [{"path": "0"}], "axes": [
        {"name": "c", "type": "channel"}, {"name": "z", "type": "space"},
        {"name": "y", "type": "space"}, {"name": "x", "type": "space"}]}]
    arr = image.create_array("0", shape=(ik.channel, ik.z, *array.shape), dtype=array.dtype,
                             chunks=(1, 1, *array.shape), overwrite=True)
    arr[ik.channel - 1, ik.z - 1] = array


def raw_read(root: str, key: str) -> np.ndarray:
    """Read one image through the plate -> well -> multiscales metadata with zarr-python."""
    store, ik = _store_and_key(root, key)
    row, col = split_well(ik.well)
    plate = zarr.open_group(store, mode="r")
    meta = _attrs(plate)["plate"]
    names = {(meta["rows"][w["rowIndex"]]["name"], int(meta["columns"][w["columnIndex"]]["name"])):
             w["path"] for w in meta["wells"]}
    well = plate[names[(row, col)]]
    fields = [i["path"] for i in _attrs(well)["well"]["images"]]
    image = well[fields[fields.index(str(ik.site - 1))]]
    arr = image[_attrs(image)["multiscales"][0]["datasets"][0]["path"]]
    if ik.channel > arr.shape[0] or ik.z > arr.shape[1]:
        raise KeyError(key)
    return np.asarray(arr[ik.channel - 1, ik.z - 1])


class TestZarrBackend(BackendContract):
    backend_cls = ZarrBackend
    image_key_style = "zarr"

    @pytest.fixture
    def backend_kwargs(self, tmp_path: Path) -> dict[str, Any]:
        return {"root": str(tmp_path / "root")}

    def put_raw(self, backend: ZarrBackend, key: str, array: np.ndarray) -> None:
        raw_write(backend.root, key, array)

    def get_raw(self, backend: ZarrBackend, key: str) -> np.ndarray:
        return raw_read(backend.root, key)


# ----------------------------------------------------------------- helpers
def well_images(well: str, sites: int = 2, channels: int = 2, z: int = 1, size: int = 64,
                seed: int = 0) -> tuple[list[np.ndarray], list[str]]:
    """A synthetic well batch: smooth background + noise, like a microscope image."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    datas, names = [], []
    for s in range(1, sites + 1):
        for c in range(1, channels + 1):
            for k in range(1, z + 1):
                base = 500 + 200 * np.sin(yy / 9 + c) * np.cos(xx / 7 + s + k)
                datas.append((base + rng.normal(0, 20, base.shape)).astype(np.uint16))
                names.append(ImageKey(well, s, c, k).filename())
    return datas, names


@pytest.fixture
def root(tmp_path: Path) -> str:
    return str(tmp_path)


STORE = "plate/images.zarr"


def test_layout_and_zarr_python_reads_field_arrays(root: str) -> None:
    b = ZarrBackend(root=root)
    datas, names = well_images("B03", sites=2, channels=3, z=2)
    b.save_batch(datas, [f"{STORE}/{n}" for n in names])
    b.close()
    arr = zarr.open_array(f"{root}/{STORE}/B/3/1/0", mode="r")
    assert arr.shape == (3, 2, 64, 64) and arr.chunks == (1, 1, 64, 64)
    for d, n in zip(datas, names, strict=True):
        ik = parse_image_name(n)
        if ik.site == 2:
            assert_same_array(arr[ik.channel - 1, ik.z - 1], d)
    meta = json.loads(Path(root, STORE, "B/3/1/0/.zarray").read_text())
    assert meta["dimension_separator"] == "/" and meta["zarr_format"] == 2
    for group in ("", "B", "B/3", "B/3/0"):
        assert Path(root, STORE, group, ".zgroup").is_file(), group


def test_concurrent_wells_from_eight_threads(root: str) -> None:
    b = ZarrBackend(root=root)
    wells = [f"{r}{c:02d}" for r in "ABCD" for c in range(1, 7)]
    batches = {w: well_images(w, seed=i, size=32) for i, w in enumerate(wells)}
    errors: list[BaseException] = []
    lock = threading.Lock()
    todo = list(wells)

    def worker() -> None:
        while True:
            with lock:
                if not todo:
                    return
                w = todo.pop()
            datas, names = batches[w]
            try:
                b.save_batch(datas, [f"{STORE}/{n}" for n in names])
            except BaseException as e:  # report in the main thread
                errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    # plate metadata is already complete before close (written per well batch)
    plate = json.loads(Path(root, STORE, ".zattrs").read_text())["plate"]
    assert sorted(w["path"] for w in plate["wells"]) == sorted(
        f"{w[0]}/{int(w[1:])}" for w in wells)
    assert [r["name"] for r in plate["rows"]] == list("ABCD")
    assert [c["name"] for c in plate["columns"]] == [str(i) for i in range(1, 7)]
    b.close()
    fresh = ZarrBackend(root=root)
    for datas, names in batches.values():
        keys = [f"{STORE}/{n}" for n in names]
        for d, k in zip(datas, keys, strict=True):
            assert_same_array(raw_read(root, k), d)
        for got, d in zip(fresh.load_batch(keys), datas, strict=True):
            assert_same_array(got, d)


@pytest.mark.parametrize("strategy", list(ZarrChunkStrategy))
def test_chunk_strategy(root: str, strategy: ZarrChunkStrategy) -> None:
    b = ZarrBackend(ZarrConfig(chunk_strategy=strategy), root=root)
    datas, names = well_images("A01", sites=1, channels=2, z=3)
    b.save_batch(datas, [f"{STORE}/{n}" for n in names])
    meta = json.loads(Path(root, STORE, "A/1/0/0/.zarray").read_text())
    expected = [1, 1, 64, 64] if strategy == ZarrChunkStrategy.SINGLE else [2, 3, 64, 64]
    assert meta["chunks"] == expected and meta["shape"] == [2, 3, 64, 64]
    for got, d in zip(b.load_batch([f"{STORE}/{n}" for n in names]), datas, strict=True):
        assert_same_array(got, d)


@pytest.mark.parametrize("compressor", list(ZarrCompressor))
@pytest.mark.parametrize("shuffle", [True, False])
def test_codec_in_metadata_and_bytes_match_codec(
    root: str, compressor: ZarrCompressor, shuffle: bool
) -> None:
    cfg = ZarrConfig(compressor=compressor, compression_level=3, shuffle=shuffle)
    b = ZarrBackend(cfg, root=root)
    datas, names = well_images("A01", sites=1, channels=1)
    b.save(datas[0], f"{STORE}/{names[0]}")
    meta = json.loads(Path(root, STORE, "A/1/0/0/.zarray").read_text())
    comp = meta["compressor"]
    if compressor == ZarrCompressor.NONE:
        assert comp is None
        codec = None
    elif compressor == ZarrCompressor.ZLIB:
        assert comp == {"id": "zlib", "level": 3}
        codec = numcodecs.Zlib(level=3)
    else:
        cname = "zstd" if compressor == ZarrCompressor.ZSTD else "lz4"
        assert comp == {"id": "blosc", "cname": cname, "clevel": 3,
                        "shuffle": 1 if shuffle else 0, "blocksize": 0}
        codec = numcodecs.Blosc(cname=cname, clevel=3, shuffle=1 if shuffle else 0)
    on_disk = Path(root, STORE, "A/1/0/0/0/0/0/0").read_bytes()
    expected = datas[0].tobytes() if codec is None else bytes(codec.encode(datas[0]))
    assert on_disk == expected
    assert_same_array(zarr.open_array(f"{root}/{STORE}/A/1/0/0", mode="r")[0, 0], datas[0])


def test_single_saves_grow_the_field(root: str) -> None:
    for strategy in ZarrChunkStrategy:
        b = ZarrBackend(ZarrConfig(chunk_strategy=strategy), root=f"{root}/{strategy}")
        a, c = make_image(seed=1), make_image(seed=2)
        b.save(a, f"{STORE}/A01_s1_w1_z1.tif")
        b.save(c, f"{STORE}/A01_s1_w3_z2.tif")
        arr = zarr.open_array(f"{root}/{strategy}/{STORE}/A/1/0/0", mode="r")
        assert arr.shape == (3, 2, 64, 64)
        assert_same_array(arr[0, 0], a)
        assert_same_array(arr[2, 1], c)
        assert b.list_dir(STORE) == ["A01_s1_w1_z1.tif", "A01_s1_w3_z2.tif"]
        with pytest.raises(PathNotFoundError):
            b.load(f"{STORE}/A01_s1_w2_z1.tif")  # inside the array, never written
        b.close()


def test_metadata_omero_windows_labels_and_flush_on_close(root: str) -> None:
    b = ZarrBackend(root=root)
    b.set_channel_names(STORE, {1: "DAPI", 2: "GFP"})
    datas, names = well_images("A01", sites=1, channels=2)
    b.save_batch(datas, [f"{STORE}/{n}" for n in names])
    louder = (datas[1].astype(np.uint32) + 1000).astype(np.uint16)
    b.save(louder, f"{STORE}/{names[1]}")  # range update deferred to close()
    b.close()
    attrs = json.loads(Path(root, STORE, "A/1/0/.zattrs").read_text())
    channels = attrs["omero"]["channels"]
    assert [c["label"] for c in channels] == ["DAPI", "GFP"]
    assert channels[0]["window"]["start"] == float(datas[0].min())
    assert channels[0]["window"]["end"] == float(datas[0].max())
    assert channels[1]["window"]["end"] == float(louder.max())
    ms = attrs["multiscales"][0]
    assert [a["name"] for a in ms["axes"]] == ["c", "z", "y", "x"]
    assert ms["datasets"][0]["path"] == "0"
    assert ms["datasets"][0]["coordinateTransformations"][0]["type"] == "scale"
    well = json.loads(Path(root, STORE, "A/1/.zattrs").read_text())["well"]
    assert well["images"] == [{"path": "0"}]


def test_metadata_switches_off(root: str) -> None:
    b = ZarrBackend(ZarrConfig(ome_zarr_metadata=False, write_plate_metadata=False), root=root)
    datas, names = well_images("C02", sites=2, channels=1)
    keys = [f"{STORE}/{n}" for n in names]
    b.save_batch(datas, keys)
    b.close()
    assert "plate" not in json.loads(Path(root, STORE, ".zattrs").read_text())
    assert "multiscales" not in json.loads(Path(root, STORE, "C/2/0/.zattrs").read_text())
    fresh = ZarrBackend(root=root)  # finds wells and fields from the folder layout
    assert fresh.list_dir(STORE) == sorted(names)
    for got, d in zip(fresh.load_batch(keys), datas, strict=True):
        assert_same_array(got, d)


def test_validates_with_ome_zarr_models_v04(root: str) -> None:
    from ome_zarr_models.v04 import HCS, Image

    b = ZarrBackend(root=root)
    for i, w in enumerate(["A01", "B02"]):
        datas, names = well_images(w, seed=i)
        b.save_batch(datas, [f"{STORE}/{n}" for n in names])
    b.close()
    hcs = HCS.from_zarr(zarr.open_group(f"{root}/{STORE}", mode="r"))
    assert sorted(w.path for w in hcs.attributes.plate.wells) == ["A/1", "B/2"]
    Image.from_zarr(zarr.open_group(f"{root}/{STORE}/B/2/1", mode="r"))


def test_ngff_05_zarr_v3_round_trip_and_validation(root: str) -> None:
    from ome_zarr_models.v05 import HCS

    b = ZarrBackend(ZarrConfig(ngff_version="0.5"), root=root)
    datas, names = well_images("B03", sites=2, channels=2)
    keys = [f"{STORE}/{n}" for n in names]
    b.save_batch(datas, keys)
    b.save(make_image(np.uint8, (64, 64), seed=3), f"{STORE}/A01_s1_w1_z1.tif")
    b.close()
    meta = json.loads(Path(root, STORE, "zarr.json").read_text())
    assert meta["zarr_format"] == 3 and meta["attributes"]["ome"]["version"] == "0.5"
    assert not Path(root, STORE, ".zattrs").exists()
    HCS.from_zarr(zarr.open_group(f"{root}/{STORE}", mode="r"))
    arr = zarr.open_array(f"{root}/{STORE}/B/3/1/0", mode="r")
    assert arr.metadata.zarr_format == 3 and arr.chunks == (1, 1, 64, 64)
    assert_same_array(arr[1, 0], datas[3])
    assert_same_array(zarr.open_array(f"{root}/{STORE}/A/1/0/0", mode="r")[0, 0],
                      make_image(np.uint8, (64, 64), seed=3))
    fresh = ZarrBackend(root=root)
    for got, d in zip(fresh.load_batch(keys), datas, strict=True):
        assert_same_array(got, d)


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_reads_plate_written_by_ome_zarr_py(root: str, version: str) -> None:
    from ome_zarr.format import FormatV04, FormatV05
    from ome_zarr.writer import write_image, write_plate_metadata, write_well_metadata

    fmt = FormatV04() if version == "0.4" else FormatV05()
    path = f"{root}/{STORE}"
    group = zarr.open_group(path, mode="w", zarr_format=fmt.zarr_format)
    wells = {"A/1": 0, "B/3": 1}
    write_plate_metadata(group, ["A", "B"], ["1", "2", "3"], list(wells), fmt=fmt)
    expected: dict[str, np.ndarray] = {}
    for well_path, seed in wells.items():
        row, col = well_path.split("/")
        well = group.require_group(row).require_group(col)
        write_well_metadata(well, ["0", "1"], fmt=fmt)
        for field in range(2):
            data = np.stack([make_image(np.uint16, (2, 32, 32), seed=seed * 10 + field + c)
                             for c in range(2)])  # (c, z, y, x)
            write_image(data, well.require_group(str(field)), axes="czyx", fmt=fmt,
                        scale_factors=[])
            for c in range(2):
                for z in range(2):
                    key = ImageKey(f"{row}{int(col):02d}", field + 1, c + 1, z + 1).filename()
                    expected[key] = data[c, z]
    b = ZarrBackend(root=root, read_only=True)
    assert_same_array(b.load(f"{STORE}/B03_s2_w1_z1.tif"), expected["B03_s2_w1_z1.tif"])
    assert b.list_dir(STORE) == sorted(expected)
    keys = sorted(expected)
    for k, got in zip(keys, b.load_batch([f"{STORE}/{k}" for k in keys]), strict=True):
        assert_same_array(got, expected[k])
    with pytest.raises(PathNotFoundError):
        b.load(f"{STORE}/B03_s3_w1_z1.tif")


def test_non_image_keys_are_refused(root: str) -> None:
    b = ZarrBackend(root=root)
    with pytest.raises(UnsupportedFormatError, match="zarr"):
        b.save(make_image(), "plate/A01_s1_w1_z1.tif")
    with pytest.raises(UnsupportedFormatError, match="2-D"):
        b.save(np.zeros((2, 3, 4), np.uint8), f"{STORE}/A01_s1_w1_z1.tif")
    assert not b.is_file(f"{STORE}/.zattrs") and b.is_empty()


@pytest.mark.gui
def test_napari_opens_plate_and_field(root: str) -> None:
    napari = pytest.importorskip("napari")
    b = ZarrBackend(root=root)
    b.set_channel_names(STORE, {1: "DAPI", 2: "GFP"})
    written = {}
    for i, w in enumerate(["A01", "A02", "B01"]):
        datas, names = well_images(w, sites=1, channels=2, seed=i)
        b.save_batch(datas, [f"{STORE}/{n}" for n in names])
        written[w] = datas
    b.close()
    viewer = napari.Viewer(show=False)
    try:
        layers = viewer.open(f"{root}/{STORE}", plugin="napari-ome-zarr")
        assert [layer.name for layer in layers] == ["A01_s1: DAPI", "A01_s1: GFP"]
        # wells tiled by plate row/column into one (2*64, 2*64) image (z=1 squeezed)
        grid = np.asarray(layers[1].data[0]).reshape(128, 128)
        assert_same_array(grid[0:64, 64:128], written["A02"][1])
        assert_same_array(grid[64:128, 0:64], written["B01"][1])
        viewer.layers.clear()
        layers = viewer.open(f"{root}/{STORE}/A/2/0", plugin="napari-ome-zarr")
        assert_same_array(np.asarray(layers[0].data[0]).reshape(64, 64), written["A02"][0])
        assert layers[0].contrast_limits == [float(written["A02"][0].min()),
                                             float(written["A02"][0].max())]
    finally:
        viewer.close()


def test_metadata_is_complete_when_save_batch_returns(root: str) -> None:
    """Structure and plate metadata are written beside the encoding, never after return."""
    b = ZarrBackend(root=root)
    datas, names = well_images("C05", sites=3, channels=2)
    b.save_batch(datas, [f"{STORE}/{n}" for n in names])
    # no close(): a reader in another process must already see a valid plate
    plate = zarr.open_group(f"{root}/{STORE}", mode="r")
    assert [w["path"] for w in _attrs(plate)["plate"]["wells"]] == ["C/5"]
    for site in range(3):
        arr = zarr.open_array(f"{root}/{STORE}/C/5/{site}/0", mode="r")
        assert arr.shape == (2, 1, 64, 64)
        assert _attrs(zarr.open_group(f"{root}/{STORE}/C/5/{site}", mode="r"))["omero"]
    for d, n in zip(datas, names, strict=True):
        assert_same_array(ZarrBackend(root=root).load(f"{STORE}/{n}"), d)
    b.close()


def test_failed_batch_still_leaves_valid_array_metadata(root: str) -> None:
    """A field prepared before another field's error gets its .zarray (structure is not lost)."""
    from openhcs_gui.errors import PathExistsError

    b = ZarrBackend(root=root)
    image = make_image(np.uint16, (16, 16))
    b.save(image, f"{STORE}/A01_s2_w1_z1.tif")
    with pytest.raises(PathExistsError):
        b.save_batch([image, image], [f"{STORE}/A01_s1_w1_z1.tif", f"{STORE}/A01_s2_w1_z1.tif"],
                     overwrite=False)
    assert Path(root, STORE, "A/1/0/0/.zarray").is_file()
    assert not b.is_file(f"{STORE}/A01_s1_w1_z1.tif")  # prepared, never written
    b.save(image, f"{STORE}/A01_s1_w1_z1.tif")
    b.close()
    assert_same_array(ZarrBackend(root=root).load(f"{STORE}/A01_s1_w1_z1.tif"), image)
    zarr.open_array(f"{root}/{STORE}/A/1/0/0", mode="r")
