"""Zarr materialization benchmark: ZarrBackend vs zarr-python vs the codec alone.

Plain script (``python benchmarks/zarr_write.py [tiny|small|default|large]``)
with an importable :func:`run` for ``make bench``. Every figure is measured in
the same run on the same synthetic plate (smooth background + Gaussian noise,
Blosc zstd-1 + shuffle compresses it ~2.2x). MB = 1e6 bytes of raw pixels.
Writes go to the page cache (no fsync); reads follow writes (warm cache).
Each figure is the median of ``repeats`` runs.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

SIZES: dict[str, dict[str, Any]] = {
    "tiny": {"rows": 1, "cols": 2, "sites": 2, "channels": 2, "shape": (128, 128), "repeats": 1},
    "small": {"rows": 2, "cols": 3, "sites": 2, "channels": 2, "shape": (512, 512), "repeats": 3},
    "default": {"rows": 4, "cols": 6, "sites": 4, "channels": 2, "shape": (1024, 1024),
                "repeats": 3},
    "large": {"rows": 8, "cols": 12, "sites": 4, "channels": 2, "shape": (2048, 2048),
              "repeats": 3},
}
STORE = "images.zarr"


def synthetic_planes(n: int, shape: tuple[int, int], seed: int = 0) -> list[np.ndarray]:
    """``n`` distinct microscope-like uint16 planes (background gradient, blobs, noise)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]].astype(np.float32)
    out = []
    for i in range(n):
        base = 800 + 100 * np.sin(yy / (60 + i) + i) * np.cos(xx / (45 + 2 * i))
        noise = rng.normal(0, 4, shape).astype(np.float32)
        out.append(np.clip(base + noise, 0, 65535).astype(np.uint16))
    return out


def _timed(fn: Callable[[], Any]) -> tuple[float, float]:
    """(wall seconds, process CPU seconds) of one call; CPU time is robust to a busy box."""
    c0, t0 = time.process_time(), time.perf_counter()
    fn()
    return time.perf_counter() - t0, time.process_time() - c0


def _median(values: list[float]) -> float:
    return float(statistics.median(values))


def _du(path: str) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for f in files:
            if not f.startswith("."):
                total += os.path.getsize(os.path.join(dirpath, f))
    return total


def run(size: str = "default") -> dict[str, Any]:
    """Measure every zarr figure for one plate size and return them as a dict."""
    import numcodecs
    import zarr

    from openhcs_gui.config import ZarrConfig
    from openhcs_gui.constants import Backend
    from openhcs_gui.vfs.filemanager import FileManager
    from openhcs_gui.vfs.keys import ImageKey, well_name
    from openhcs_gui.vfs.zarr_store import ZarrBackend

    p = SIZES[size]
    shape, repeats = tuple(p["shape"]), p["repeats"]
    wells = [well_name(r, c + 1) for r in range(p["rows"]) for c in range(p["cols"])]
    pool_planes = synthetic_planes(16, shape)
    plan: dict[str, list[tuple[str, np.ndarray]]] = {}
    i = 0
    for w in wells:
        plan[w] = []
        for s in range(1, p["sites"] + 1):
            for c in range(1, p["channels"] + 1):
                plan[w].append((ImageKey(w, s, c).filename(), pool_planes[i % 16]))
                i += 1
    n_images = sum(len(v) for v in plan.values())
    nbytes = n_images * pool_planes[0].nbytes
    mb = nbytes / 1e6
    # zstd 1 + shuffle, SINGLE chunks, NGFF 0.4 / zarr v2, and full resolution only: zarr-python
    # writes one level here, so a pyramid would add 1/3 to our bytes and work (run_pyramid
    # compares the writes with pyramids)
    cfg = ZarrConfig(pyramid_levels=1)
    codec = numcodecs.Blosc(cname="zstd", clevel=cfg.compression_level, shuffle=numcodecs.Blosc.SHUFFLE)
    workdir = tempfile.mkdtemp(prefix="zarrbench-")
    ours_dir, ref_dir = os.path.join(workdir, "ours", STORE), os.path.join(workdir, "ref", STORE)
    results: dict[str, Any] = {"size": size, "images": n_images, "raw_MB": round(mb, 1),
                               "repeats": repeats, "fsync": False, "cpu_count": os.cpu_count(),
                               "zarr": zarr.__version__, "numcodecs": numcodecs.__version__}
    planes = [d for v in plan.values() for _, d in v]
    keys = {w: [f"{ours_dir}/{n}" for n, _ in items] for w, items in plan.items()}

    def ours_write() -> None:  # FileManager -> ZarrBackend.save_batch per well, one caller
        fm = FileManager(zarr_config=cfg)
        for w, items in plan.items():
            fm.save_batch([d for _, d in items], keys[w], Backend.ZARR)
        fm.close()

    def ref_write() -> None:  # zarr-python: same arrays, codec and chunks, its own concurrency
        root = zarr.open_group(ref_dir, mode="w", zarr_format=2)
        for w, items in plan.items():
            for s in range(p["sites"]):
                field = np.stack([d for _, d in items[s * p["channels"]:(s + 1) * p["channels"]]])
                arr = root.create_array(f"{w[0]}/{int(w[1:])}/{s}/0",
                                        shape=(p["channels"], 1, *shape), dtype=np.uint16,
                                        chunks=(1, 1, *shape), compressors=codec,
                                        chunk_key_encoding={"name": "v2", "separator": "/"})
                arr[:] = field[:, None]

    def ours_read() -> None:
        b = ZarrBackend(cfg)
        for w in wells:
            b.load_batch(keys[w])

    def ref_read() -> None:
        root = zarr.open_group(ref_dir, mode="r")
        for w in wells:
            for s in range(p["sites"]):
                root[f"{w[0]}/{int(w[1:])}/{s}/0"][:]

    w_last = wells[-1]
    key = keys[w_last][-1]
    arr_path = f"{ref_dir}/{w_last[0]}/{int(w_last[1:])}/{p['sites'] - 1}/0"
    n = 30
    runs: dict[str, list[float]] = {}

    def add(name: str, value: float) -> None:
        runs.setdefault(name, []).append(value)

    try:
        with ThreadPoolExecutor(2) as ex:
            encoded = list(ex.map(codec.encode, planes))
            # Interleave the contenders in every repetition so they see the same machine load.
            for _ in range(repeats):
                wall, cpu = _timed(lambda: list(ex.map(codec.encode, planes)))
                add("codec_encode", wall), add("codec_encode_cpu", cpu)
                wall, _ = _timed(lambda: list(ex.map(codec.decode, encoded)))
                add("codec_decode", wall)
                shutil.rmtree(ours_dir, ignore_errors=True)
                wall, cpu = _timed(ours_write)
                add("ours_write", wall), add("ours_write_cpu", cpu)
                shutil.rmtree(ref_dir, ignore_errors=True)
                wall, cpu = _timed(ref_write)
                add("zarrpy_write", wall), add("zarrpy_write_cpu", cpu)
                add("ours_read", _timed(ours_read)[0])
                add("zarrpy_read", _timed(ref_read)[0])
                warm = ZarrBackend(cfg)
                warm.load(key)
                add("ours_single_warm",
                    _timed(lambda b=warm: [b.load(key) for _ in range(n)])[0] / n)
                add("ours_single_cold", _timed(
                    lambda: [ZarrBackend(cfg).load(key) for _ in range(n)])[0] / n)
                add("zarrpy_single", _timed(lambda: [
                    zarr.open_array(arr_path, mode="r")[p["channels"] - 1, 0]
                    for _ in range(n)])[0] / n)
                add("ratio_write_vs_zarrpy", runs["zarrpy_write"][-1] / runs["ours_write"][-1])
                add("ratio_write_vs_codec", runs["codec_encode"][-1] / runs["ours_write"][-1])
                add("ratio_read_vs_zarrpy", runs["zarrpy_read"][-1] / runs["ours_read"][-1])
        results["codec_ratio"] = nbytes / sum(len(e) for e in encoded)
        results["ours_bytes"] = _du(ours_dir)
        results["zarrpy_bytes"] = _du(ref_dir)
        results["codec_bytes"] = sum(len(e) for e in encoded)
        results["ours_ratio"] = nbytes / results["ours_bytes"]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    for name in ("codec_encode", "codec_decode", "ours_write", "zarrpy_write", "ours_read",
                 "zarrpy_read"):
        results[f"{name}_MBps"] = mb / _median(runs[name])
    for name in ("codec_encode_cpu", "ours_write_cpu", "zarrpy_write_cpu"):
        results[f"{name}_s"] = _median(runs[name])
    for name in ("ours_single_warm", "ours_single_cold", "zarrpy_single"):
        results[f"{name}_us"] = 1e6 * _median(runs[name])
    for name in ("ratio_write_vs_zarrpy", "ratio_write_vs_codec", "ratio_read_vs_zarrpy"):
        results[name] = _median(runs[name])
    # CPU-time view of the codec bound: robust when other jobs share the cores
    results["ratio_write_vs_codec_cpu"] = (results["codec_encode_cpu_s"]
                                           / results["ours_write_cpu_s"])
    results["ratio_single_vs_zarrpy"] = (results["ours_single_cold_us"]
                                         / results["zarrpy_single_us"])
    results["load_average_1min"] = os.getloadavg()[0]
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in results.items()}


# ----------------------------------------------------------- pyramid + labels
def _field_levels(stack: np.ndarray, n: int, labels: bool) -> list[np.ndarray]:
    """Levels ``0..n-1`` of a ``(c, z, y, x)`` stack, as every contender writes them."""
    from openhcs_gui.vfs._zarr_pyramid import downsample

    out = [stack]
    for _ in range(1, n):
        out.append(downsample(out[-1], labels))
    return out


def _plate_layout(p: dict[str, Any]) -> tuple[list[str], list[tuple[str, int, int]]]:
    from openhcs_gui.vfs.keys import well_name

    wells = [well_name(r, c + 1) for r in range(p["rows"]) for c in range(p["cols"])]
    return wells, [(w, s, c) for w in wells for s in range(1, p["sites"] + 1)
                   for c in range(1, p["channels"] + 1)]


def _zarrpy_plate(base: str, fields: dict[tuple[str, int], np.ndarray],
                  labels: dict[tuple[str, int], np.ndarray], n: int, codec: Any,
                  workers: int) -> None:
    """zarr-python: the same arrays (levels, label plate + labels group), fields on a pool."""
    import zarr

    def one(job: tuple[str, str, int, np.ndarray, bool]) -> None:
        store, well, site, stack, is_label = job
        field = f"{store}/{well[0]}/{int(well[1:])}/{site - 1}"
        targets = [field] + ([f"{field}/labels/count"] if is_label else [])
        for i, lvl in enumerate(_field_levels(stack, n, is_label)):
            for t in targets:
                a = zarr.create_array(f"{t}/{i}", shape=lvl.shape, chunks=(1, 1, *lvl.shape[-2:]),
                                      dtype=lvl.dtype, compressors=codec, zarr_format=2,
                                      chunk_key_encoding={"name": "v2", "separator": "/"},
                                      overwrite=True)
                a[:] = lvl

    jobs = [(f"{base}/step1_blur/{STORE}", w, s, st, False) for (w, s), st in fields.items()]
    jobs += [(f"{base}/step3_count/{STORE}", w, s, st, True) for (w, s), st in labels.items()]
    with ThreadPoolExecutor(workers) as ex:
        list(ex.map(one, jobs))


def _omezarr_plate(base: str, fields: dict[tuple[str, int], np.ndarray],
                   labels: dict[tuple[str, int], np.ndarray], n: int, workers: int) -> None:
    """ome-zarr-py's own writers: plate/well metadata, write_image, write_labels (same pyramid)."""
    import zarr
    from ome_zarr.format import FormatV04
    from ome_zarr.writer import write_image, write_labels, write_plate_metadata, write_well_metadata

    fmt = FormatV04()
    factors = tuple(2 ** i for i in range(1, n))
    wells = sorted({w for w, _ in fields})
    sites = sorted({s for _, s in fields})
    roots = {}
    for step in ("step1_blur", "step3_count"):
        root = zarr.open_group(f"{base}/{step}/{STORE}", mode="w", zarr_format=2)
        rows = sorted({w[0] for w in wells})
        cols = sorted({str(int(w[1:])) for w in wells}, key=int)
        write_plate_metadata(root, rows, cols, [f"{w[0]}/{int(w[1:])}" for w in wells], fmt=fmt)
        for w in wells:
            g = root.require_group(f"{w[0]}/{int(w[1:])}")
            write_well_metadata(g, [{"path": str(s - 1)} for s in sites], fmt=fmt)
        roots[step] = root

    def one(job: tuple[str, str, int, np.ndarray, bool]) -> None:
        step, well, site, stack, is_label = job
        g = roots[step].require_group(f"{well[0]}/{int(well[1:])}/{site - 1}")
        opts = {"chunks": (1, 1, *stack.shape[-2:])}
        write_image(stack, g, scale_factors=factors, axes="czyx", fmt=fmt, storage_options=opts)
        if is_label:
            write_labels(stack, g, name="count", scale_factors=factors, axes="czyx", fmt=fmt,
                         storage_options=opts)

    jobs = [("step1_blur", w, s, st, False) for (w, s), st in fields.items()]
    jobs += [("step3_count", w, s, st, True) for (w, s), st in labels.items()]
    with ThreadPoolExecutor(workers) as ex:
        list(ex.map(one, jobs))


def _overview_bytes(store: str, wells: list[str]) -> tuple[float, float, str]:
    """(compressed bytes, raw bytes, level) per channel napari-ome-zarr reads for a zoomed-out plate.

    Its plate view tiles the first field of every well; zoomed out it reads the
    lowest level of each (every chunk of it; per channel = total / channels).
    """
    import zarr

    field0 = f"{store}/{wells[0][0]}/{int(wells[0][1:])}/0"
    attrs = zarr.open_group(field0, mode="r").attrs.asdict()
    attrs = attrs.get("ome", attrs)
    level = str(attrs["multiscales"][0]["datasets"][-1]["path"])
    comp = raw = 0.0
    for w in wells:
        path = f"{store}/{w[0]}/{int(w[1:])}/0/{level}"
        arr = zarr.open_array(path, mode="r")
        raw += arr.nbytes / arr.shape[0]
        comp += _du(path) / arr.shape[0]  # _du skips .zarray/.zattrs
    return comp, raw, level


def run_pyramid(size: str = "default") -> dict[str, Any]:
    """Plate write with pyramid + a label plate: ours vs zarr-python (default, tuned, zarrs) vs ome-zarr-py.

    Every contender writes the same two stores: an intensity plate (levels by
    2x2 mean, as many as ``ZarrConfig()`` makes) and a label plate (one int32
    label plane per field, nearest-neighbour levels, in the field image and in
    ``labels/count``). The zarr-python contenders get the levels from the same
    numpy downsampling and write fields on a pool of ``cpu_count`` threads;
    they write no NGFF metadata (ours and ome-zarr-py do). Contenders alternate
    within every repetition; the 1-minute load average is recorded per repetition.
    """
    import numcodecs
    import zarr

    from openhcs_gui.config import ZarrConfig
    from openhcs_gui.constants import Backend
    from openhcs_gui.metadata import PlateMetadata
    from openhcs_gui.vfs._zarr_pyramid import level_count
    from openhcs_gui.vfs.filemanager import FileManager
    from openhcs_gui.vfs.keys import ImageKey

    p = SIZES[size]
    shape, repeats = tuple(p["shape"]), p["repeats"]
    wells, layout = _plate_layout(p)
    source = synthetic_planes(16, shape)
    planes = {ImageKey(w, s, c): source[i % 16] for i, (w, s, c) in enumerate(layout)}
    fields = {(w, s): np.stack([planes[ImageKey(w, s, c)] for c in range(1, p["channels"] + 1)])[:, None]
              for w in wells for s in range(1, p["sites"] + 1)}
    labels = {k: (v[:1] // 64).astype(np.int32) for k, v in fields.items()}
    cfg = ZarrConfig()
    n = level_count(cfg, shape)
    codec = numcodecs.Blosc(cname="zstd", clevel=cfg.compression_level, shuffle=numcodecs.Blosc.SHUFFLE)
    workers = os.cpu_count() or 1
    raw = sum(v.nbytes for v in fields.values()) + sum(v.nbytes for v in labels.values())
    work = tempfile.mkdtemp(prefix="zarrpyr-")
    meta = PlateMetadata(pixel_size_x=0.65, pixel_size_y=0.65, unit="micrometer")

    def ours() -> None:
        fm = FileManager(zarr_config=cfg, plate_metadata=meta)
        for w in wells:
            keys = [k for k in planes if k.well == w]
            fm.save_batch([planes[k] for k in keys],
                          [f"{work}/ours/step1_blur/{STORE}/{k.filename()}" for k in keys], Backend.ZARR)
            lk = [ImageKey(w, s, 1) for s in range(1, p["sites"] + 1)]
            fm.save_batch([labels[(w, k.site)][0, 0] for k in lk],
                          [f"{work}/ours/step3_count/{STORE}/{k.filename(labels=True)}" for k in lk],
                          Backend.ZARR)
        fm.close()

    def peer(name: str, conf: dict[str, Any]) -> Callable[[], None]:
        def go() -> None:
            with zarr.config.set(conf):
                _zarrpy_plate(f"{work}/{name}", fields, labels, n, codec, workers)
        return go

    contenders: dict[str, Callable[[], None]] = {
        "ours": ours,
        "zarrpy": peer("zarrpy", {}),
        "zarrpy_tuned": peer("zarrpy_tuned", {"async.concurrency": 64,
                                              "threading.max_workers": workers}),
        "omezarr_py": lambda: _omezarr_plate(f"{work}/omezarr_py", fields, labels, n, workers),
    }
    try:
        import zarrs  # noqa: F401  (registers the Rust codec pipeline)

        contenders["zarrpy_zarrs"] = peer("zarrpy_zarrs", {
            "codec_pipeline.path": "zarrs.ZarrsCodecPipeline", "async.concurrency": 64,
            "threading.max_workers": workers})
    except ImportError:
        pass
    times: dict[str, list[float]] = {k: [] for k in contenders}
    loads: list[float] = []
    try:
        for _ in range(repeats):
            loads.append(os.getloadavg()[0])
            for name, fn in contenders.items():
                shutil.rmtree(f"{work}/{name}", ignore_errors=True)
                times[name].append(_timed(fn)[0])
        store = f"{work}/ours/step1_blur/{STORE}"
        comp, raw_ov, level = _overview_bytes(store, wells)
        peer_comp, _peer_raw, peer_level = _overview_bytes(
            f"{work}/omezarr_py/step1_blur/{STORE}", wells)
        from benchmarks._core import median_time

        reader_s = median_time(lambda: _napari_overview(store), 3)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    med = {k: _median(v) for k, v in times.items()}
    peers = {k: v for k, v in med.items() if k.startswith("zarrpy")}
    best = min(peers, key=lambda k: peers[k])
    out: dict[str, Any] = {
        "size": size, "levels": n, "raw_MB": round(raw / 1e6, 1), "repeats": repeats,
        "load_average_1min": loads, "workers": workers,
        **{f"{k}_s": v for k, v in med.items()},
        **{f"{k}_MBps": raw / 1e6 / v for k, v in med.items()},
        "best_peer": best,
        "ratio_vs_best_peer": med[best] / med["ours"],
        "ratio_vs_omezarr_py": med["omezarr_py"] / med["ours"],
        "overview_MB_per_channel": comp / 1e6, "overview_raw_MB_per_channel": raw_ov / 1e6,
        "overview_level": level, "omezarr_py_overview_MB_per_channel": peer_comp / 1e6,
        "omezarr_py_overview_level": peer_level, "napari_overview_read_s": reader_s,
        "per_repeat_s": times,
    }
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in out.items()}


def _napari_overview(store: str) -> None:
    """Read channel 0 of the lowest level of the plate layer napari-ome-zarr builds."""
    from napari_ome_zarr import napari_get_reader

    with contextlib.redirect_stdout(io.StringIO()):  # ome-zarr's reader prints its groups
        layers = napari_get_reader(store)(store)
    data = layers[0][0]
    np.asarray(data[-1][0] if data[-1].ndim > 2 else data[-1])


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[2] == "pyramid":
        print(json.dumps(run_pyramid(sys.argv[1]), indent=2))
    else:
        print(json.dumps(run(sys.argv[1] if len(sys.argv) > 1 else "default"), indent=2))
