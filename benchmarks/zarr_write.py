"""Zarr materialization benchmark: ZarrBackend vs zarr-python vs the codec alone.

Plain script (``python benchmarks/zarr_write.py [tiny|small|default|large]``)
with an importable :func:`run` for ``make bench``. Every figure is measured in
the same run on the same synthetic plate (smooth background + Gaussian noise,
Blosc zstd-1 + shuffle compresses it ~2.2x). MB = 1e6 bytes of raw pixels.
Writes go to the page cache (no fsync); reads follow writes (warm cache).
Each figure is the median of ``repeats`` runs.
"""

from __future__ import annotations

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
    cfg = ZarrConfig()  # zstd 1 + shuffle, SINGLE chunks, NGFF 0.4 / zarr v2
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


if __name__ == "__main__":
    print(json.dumps(run(sys.argv[1] if len(sys.argv) > 1 else "default"), indent=2))
