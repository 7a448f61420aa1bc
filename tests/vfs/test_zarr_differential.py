"""Differential test of the zarr backend against zarr-python and ome-zarr-py (issue 12 item 8).

1. Whatever zarr-python writes - any shape, dtype (including big-endian on
   zarr v2), chunking, ``fill_value``, memory order, chunk key encoding,
   codec, zarr v2 or v3, sharded or not, with chunks left unwritten - our reader returns exactly what zarr-python reads,
   ``fill_value`` included (NaN stays NaN).
2. Whatever our :class:`ZarrBackend` writes - any plane shape, dtype, codec,
   chunk strategy, NGFF 0.4/0.5, pixel size - zarr-python reads back the same
   pixels and ome-zarr-py the same pixels, axes and scale (and a fresh backend
   reads them back through its own fast path).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numcodecs
import numpy as np
import zarr
import zarr.codecs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openhcs_gui.config import ZarrConfig
from openhcs_gui.constants import ZarrChunkStrategy, ZarrCompressor
from openhcs_gui.metadata import PlateMetadata
from openhcs_gui.vfs.keys import ImageKey
from openhcs_gui.vfs.zarr_store import ZarrBackend

SETTINGS = settings(max_examples=40, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
AXES = [{"name": "c", "type": "channel"}, {"name": "z", "type": "space", "unit": "micrometer"},
        {"name": "y", "type": "space", "unit": "micrometer"},
        {"name": "x", "type": "space", "unit": "micrometer"}]
DTYPES = ["u1", "u2", "i2", "i4", "u4", "f4", "f8"]


def _same(ours: np.ndarray, theirs: np.ndarray) -> bool:
    """Equal values and dtype (byte order aside); NaN equals NaN."""
    if ours.dtype.newbyteorder("=") != theirs.dtype.newbyteorder("=") or ours.shape != theirs.shape:
        return False
    return bool(np.array_equal(ours, theirs, equal_nan=ours.dtype.kind == "f"))


@st.composite
def foreign_arrays(draw: st.DrawFn) -> dict:
    fmt = draw(st.sampled_from([2, 3]))
    dtype = np.dtype(draw(st.sampled_from(DTYPES + ([">u2", ">f4"] if fmt == 2 else []))))
    shape = (draw(st.integers(1, 3)), draw(st.integers(1, 2)), draw(st.integers(1, 40)),
             draw(st.integers(1, 40)))
    chunks = tuple(draw(st.integers(1, n)) for n in shape)
    shards = None
    if fmt == 3 and draw(st.booleans()):
        shards = tuple(c * draw(st.integers(1, 3)) for c in chunks)
    if dtype.kind == "f":
        fill = draw(st.sampled_from([float("nan"), 0.0, -1.5, 7.25]))
    else:
        info = np.iinfo(dtype)
        fill = draw(st.integers(int(info.min), int(info.max)))
    box = tuple(sorted(draw(st.tuples(st.integers(0, n), st.integers(0, n)))) for n in shape)
    if fmt == 2:
        key_encoding = {"name": "v2", "separator": draw(st.sampled_from([".", "/"]))}
        codec = draw(st.sampled_from([None, numcodecs.Zlib(level=1), numcodecs.Blosc(cname="lz4")]))
    else:
        key_encoding = draw(st.sampled_from([{"name": "default", "separator": "/"},
                                             {"name": "default", "separator": "."},
                                             {"name": "v2", "separator": "."}]))
        codec = draw(st.sampled_from([None, zarr.codecs.ZstdCodec(level=1), zarr.codecs.GzipCodec(level=1)]))
    return {"fmt": fmt, "dtype": dtype, "shape": shape, "chunks": chunks, "shards": shards,
            "fill": fill, "box": box, "seed": draw(st.integers(0, 2**31 - 1)),
            "order": draw(st.sampled_from(["C", "F"])), "key_encoding": key_encoding,
            "compressors": codec}


def _write_foreign_plate(store: Path, spec: dict) -> zarr.Array:
    fmt = spec["fmt"]

    def attrs(body: dict) -> dict:
        return {**body} if fmt == 2 else {"ome": {"version": "0.5", **body}}

    root = zarr.open_group(str(store), mode="w", zarr_format=fmt)
    root.attrs.update(attrs({"plate": {
        "version": "0.4", "rows": [{"name": "A"}], "columns": [{"name": "1"}],
        "wells": [{"path": "A/1", "rowIndex": 0, "columnIndex": 0}]}}))
    well = root.require_group("A/1")
    well.attrs.update(attrs({"well": {"images": [{"path": "0"}]}}))
    image = well.require_group("0")
    image.attrs.update(attrs({"multiscales": [{"axes": AXES, "datasets": [{"path": "0", "coordinateTransformations": [
        {"type": "scale", "scale": [1.0, 1.0, 1.0, 1.0]}]}]}]}))
    arr = image.create_array("0", shape=spec["shape"], dtype=spec["dtype"], chunks=spec["chunks"],
                             shards=spec["shards"], fill_value=spec["fill"],
                             **({"order": spec["order"]} if spec["fmt"] == 2 else {"config": {"order": spec["order"]}}),
                             chunk_key_encoding=spec["key_encoding"], compressors=spec["compressors"])
    data = np.random.default_rng(spec["seed"]).integers(0, 200, size=spec["shape"]).astype(spec["dtype"])
    region = tuple(slice(lo, hi) for lo, hi in spec["box"])
    arr[region] = data[region]  # chunks outside the box are never written: they read as fill_value
    return arr


@SETTINGS
@given(spec=foreign_arrays())
def test_what_zarr_python_writes_we_read_exactly(spec: dict) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "foreign.zarr"
        arr = _write_foreign_plate(store, spec)
        theirs = zarr.open_array(str(store / "A" / "1" / "0" / "0"), mode="r")[...]
        n_c, n_z = spec["shape"][:2]
        keys = [ImageKey("A01", 1, c + 1, z + 1) for c in range(n_c) for z in range(n_z)]
        backend = ZarrBackend(read_only=True)
        try:
            batch = backend.load_batch([str(store / k.filename()) for k in keys])
            single = [backend.load(str(store / k.filename())) for k in keys]
        finally:
            backend.close()
        assert arr.fill_value is not None
        for key, one, many in zip(keys, single, batch, strict=True):
            expected = theirs[key.channel - 1, key.z - 1]
            assert _same(one, expected), (key, one, expected)
            assert _same(many, expected), (key, many, expected)


@st.composite
def our_writes(draw: st.DrawFn) -> dict:
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    return {
        "version": draw(st.sampled_from(["0.4", "0.5"])),
        "strategy": draw(st.sampled_from(list(ZarrChunkStrategy))),
        "compressor": draw(st.sampled_from(list(ZarrCompressor))),
        "dtype": dtype,
        "yx": (draw(st.integers(1, 48)), draw(st.integers(1, 48))),
        "c": draw(st.integers(1, 3)), "z": draw(st.integers(1, 2)),
        "wells": draw(st.lists(st.sampled_from(["A01", "B03", "H12", "AB07"]), min_size=1, max_size=2,
                               unique=True)),
        "sites": draw(st.integers(1, 2)),
        "pixel": draw(st.floats(0.05, 5.0, allow_nan=False)),
        "z_step": draw(st.floats(0.1, 10.0, allow_nan=False)),
        "seed": draw(st.integers(0, 2**31 - 1)),
    }


@SETTINGS
@given(spec=our_writes())
def test_what_we_write_zarr_python_and_ome_zarr_py_read_exactly(spec: dict) -> None:
    from ome_zarr.io import parse_url
    from ome_zarr.reader import Reader

    rng = np.random.default_rng(spec["seed"])
    keys = [ImageKey(w, s, c, z) for w in spec["wells"] for s in range(1, spec["sites"] + 1)
            for c in range(1, spec["c"] + 1) for z in range(1, spec["z"] + 1)]
    dtype = spec["dtype"]
    if dtype.kind == "f":
        planes = {k: rng.normal(100, 50, spec["yx"]).astype(dtype) for k in keys}
    else:
        info = np.iinfo(dtype)
        planes = {k: rng.integers(info.min, info.max, spec["yx"], dtype=dtype, endpoint=True) for k in keys}
    config = ZarrConfig(ngff_version=spec["version"], chunk_strategy=spec["strategy"],
                        compressor=spec["compressor"])
    meta = PlateMetadata(pixel_size_x=spec["pixel"], pixel_size_y=spec["pixel"], z_spacing=spec["z_step"],
                         unit="micrometer")
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "ours.zarr"
        backend = ZarrBackend(config, plate_metadata=meta)
        try:
            for well in spec["wells"]:  # one batch per well, as a run writes them
                mine = [k for k in keys if k.well == well]
                backend.save_batch([planes[k] for k in mine], [str(store / k.filename()) for k in mine])
        finally:
            backend.close()
        reader = ZarrBackend(read_only=True)  # a fresh instance: everything comes from the store
        try:
            back = reader.load_batch([str(store / k.filename()) for k in keys])
        finally:
            reader.close()
        for key, plane in zip(keys, back, strict=True):
            assert _same(plane, planes[key]), key
        fmt = 2 if spec["version"] == "0.4" else 3
        for well in spec["wells"]:
            for site in range(1, spec["sites"] + 1):
                field = store / well.rstrip("0123456789") / str(int(well.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))) \
                    / str(site - 1)
                full = zarr.open_array(str(field / "0"), mode="r", zarr_format=fmt)[...]
                nodes = list(Reader(parse_url(str(field)))())
                image = nodes[0]
                levels = image.data
                omz = np.asarray(levels[0])
                axes = image.metadata["axes"]
                scale = image.metadata["coordinateTransformations"][0]
                for c in range(spec["c"]):
                    for z in range(spec["z"]):
                        truth = planes[ImageKey(well, site, c + 1, z + 1)]
                        assert _same(full[c, z], truth)
                        assert _same(omz[c, z], truth)
                assert [a["name"] for a in axes] == ["c", "z", "y", "x"]
                assert [a.get("unit") for a in axes] == [None, "micrometer", "micrometer", "micrometer"]
                assert [t for t in scale if t["type"] == "scale"][0]["scale"] == \
                    [1.0, spec["z_step"], spec["pixel"], spec["pixel"]]
