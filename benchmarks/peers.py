"""Peer comparison: our VFS vs PolyStore 0.6.3 (the storage layer OpenHCS uses).

PolyStore runs in its own venv (``make bench-peers`` builds ``.venv-peers``)
through :mod:`benchmarks._peers_child`; our side is measured here the same
way on the same plate: ``save_batch``/``load_batch`` once per well, each
backend with its own default config (ours: Blosc zstd-1 + shuffle, one chunk
per plane; PolyStore: zlib-3, one chunk per well), a fresh backend for every
single-image read (a viewer opening one image), and the memory round trip
with the same keys and array.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from benchmarks._core import Figure, SkipGroup, median_time
from benchmarks.plate import BenchPlate

__all__ = ["peer_figures", "ours_side"]


def _du(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.name.startswith("."))


def ours_side(plate: BenchPlate, out: Path) -> dict[str, Any]:
    """Our zarr and disk backends timed exactly like the PolyStore child times its own."""
    from openhcs_gui.constants import Backend
    from openhcs_gui.vfs import FileManager
    from openhcs_gui.vfs.memory import MemoryBackend
    from openhcs_gui.vfs.zarr_store import ZarrBackend

    reps, mb = plate.repeats, plate.mb
    items = {w: [(plate.planes[k], k.filename()) for k in keys]
             for w, keys in plate.by_well.items()}
    res: dict[str, Any] = {}
    store = out / "ours_zarr" / "images.zarr"

    def zarr_save() -> None:
        with FileManager() as fm:
            for v in items.values():
                fm.save_batch([a for a, _ in v], [f"{store}/{n}" for _, n in v], Backend.ZARR)

    res["zarr_save_MBps"] = mb / median_time(
        zarr_save, reps, lambda: shutil.rmtree(store.parent, ignore_errors=True))
    res["zarr_bytes"] = _du(store)
    res["zarr_ratio"] = plate.nbytes / res["zarr_bytes"]

    def zarr_load() -> None:
        b = ZarrBackend()
        for v in items.values():
            b.load_batch([f"{store}/{n}" for _, n in v])

    res["zarr_load_MBps"] = mb / median_time(zarr_load, reps)
    last = f"{store}/{list(items.values())[-1][-1][1]}"
    n = 20
    res["zarr_single_us"] = 1e6 * median_time(
        lambda: [ZarrBackend().load(last) for _ in range(n)], reps) / n
    shutil.rmtree(store.parent, ignore_errors=True)

    disk_dir = out / "ours_disk"

    def disk_save() -> None:
        fm = FileManager()
        for v in items.values():
            fm.save_batch([a for a, _ in v], [f"{disk_dir}/{n}" for _, n in v], Backend.DISK)

    res["disk_save_MBps"] = mb / median_time(
        disk_save, reps, lambda: shutil.rmtree(disk_dir, ignore_errors=True))

    def disk_load() -> None:
        fm = FileManager()
        for v in items.values():
            fm.load_batch([f"{disk_dir}/{n}" for _, n in v], Backend.DISK)

    res["disk_load_MBps"] = mb / median_time(disk_load, reps)
    shutil.rmtree(disk_dir, ignore_errors=True)

    arr = next(iter(plate.planes.values()))
    keys = [f"tmp/bench_workspace/step1_blur/W{i:04d}_s1_w1_z1.tif" for i in range(2000)]

    def mem() -> None:
        b = MemoryBackend()
        for k in keys:
            b.save(arr, k)
            b.load(k)

    res["memory_roundtrip_us"] = 1e6 * median_time(mem, max(5, reps)) / len(keys)
    return res


def _theirs(python: str, plate: BenchPlate, out: Path) -> dict[str, Any]:
    child = Path(__file__).resolve().parent / "_peers_child.py"
    proc = subprocess.run([python, str(child), str(plate.path), str(out), str(plate.repeats)],
                          capture_output=True, text=True, check=False, timeout=1800)
    if proc.returncode != 0:
        raise RuntimeError(f"PolyStore child failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def peer_figures(plate: BenchPlate, workdir: Path, python: str | None) -> list[Figure]:
    """Ours vs PolyStore on memory, disk and zarr; raises SkipGroup without a peers venv."""
    if not python or not os.access(python, os.X_OK):
        raise SkipGroup(f"no PolyStore venv python at {python!r} (run `make bench-peers`)")
    out = workdir / "peers"
    out.mkdir(parents=True, exist_ok=True)
    theirs = _theirs(python, plate, out)
    ours = ours_side(plate, out)
    shutil.rmtree(out, ignore_errors=True)
    extra = {"polystore": theirs.get("versions", {}), "polystore_zarr_config": theirs["zarr_config"]}

    def speed(key: str, title: str, target: str) -> Figure:
        o, t = ours[key], theirs[key]
        return Figure(f"peers.{key.removesuffix('_MBps')}", title, o, t, "MB/s", o / t, target,
                      "ours / PolyStore", o, t, extra=extra)

    return [
        speed("zarr_save_MBps", "vs PolyStore: zarr save_batch per well", ">= 10"),
        speed("zarr_load_MBps", "vs PolyStore: zarr load_batch per well", ">= 10"),
        Figure("peers.zarr_single", "vs PolyStore: zarr single-image read",
               ours["zarr_single_us"], theirs["zarr_single_us"], "us",
               theirs["zarr_single_us"] / ours["zarr_single_us"], ">= 50",
               "speedup: PolyStore us / ours us (fresh backend per read)", extra=extra),
        Figure("peers.zarr_compression", "vs PolyStore: zarr compression ratio",
               ours["zarr_ratio"], theirs["zarr_ratio"], "x",
               ours["zarr_ratio"] / theirs["zarr_ratio"], "> 1.0",
               "our ratio / PolyStore's (each with its default codec)",
               note=f"ours Blosc zstd-1 + shuffle; PolyStore {theirs['zarr_config']}",
               extra=extra),
        speed("disk_save_MBps", "vs PolyStore: disk TIFF save_batch", ">= 0.9"),
        speed("disk_load_MBps", "vs PolyStore: disk TIFF load_batch", ">= 0.9"),
        Figure("peers.memory", "vs PolyStore: memory save+load per image",
               ours["memory_roundtrip_us"], theirs["memory_roundtrip_us"], "us",
               ours["memory_roundtrip_us"] / theirs["memory_roundtrip_us"], "report",
               "ours us / PolyStore us",
               note="ours normalizes paths, refuses escapes, hands out read-only views; "
                    "PolyStore stores the caller's array as-is", extra=extra),
    ]
