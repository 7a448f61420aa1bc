"""PolyStore 0.6.3 side of the peer comparison; runs in ``.venv-peers``, not in ours.

``python benchmarks/_peers_child.py PLATE OUT REPEATS`` reads the bench plate's
TIFFs and times PolyStore's memory, disk and zarr backends the way OpenHCS
calls them (``save_batch``/``load_batch`` per well, its default
``ZarrConfig``), printing one JSON line. It imports only numpy, tifffile and
polystore, so it runs in PolyStore's own environment; backends are built
directly because PolyStore's default registry needs pandas, which a plain
``pip install polystore`` does not bring.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import tifffile

_NAME = re.compile(r"^([A-Z]+)(\d+)_s(\d+)_w(\d+)\.tif$")


def _median(fn: Callable[[], Any], repeats: int, setup: Callable[[], Any] | None = None) -> float:
    times = []
    for _ in range(repeats):
        if setup is not None:
            setup()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _du(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.name.startswith("."))


def _plate(root: Path) -> dict[str, list[tuple[str, int, int, np.ndarray]]]:
    """``well -> [(file name, site, channel, pixels)]`` sorted by site, channel."""
    wells: dict[str, list[tuple[str, int, int, np.ndarray]]] = {}
    for f in sorted((root / "TimePoint_1").glob("*.tif")):
        m = _NAME.match(f.name)
        if m is None:
            continue
        row, col, site, ch = m.group(1), int(m.group(2)), int(m.group(3)), int(m.group(4))
        well = f"{row}{col:02d}"
        wells.setdefault(well, []).append(
            (f"{well}_s{site}_w{ch}_z1.tif", site, ch, tifffile.imread(f)))
    for items in wells.values():
        items.sort(key=lambda t: (t[1], t[2]))
    return wells


def main(argv: list[str]) -> int:
    """Time PolyStore's backends on the plate and print the results as JSON."""
    from polystore.config import ZarrConfig
    from polystore.disk import DiskStorageBackend
    from polystore.memory import MemoryStorageBackend
    from polystore.zarr import ZarrStorageBackend
    from polystore.zarr_batch import ZarrBatchAxis, ZarrBatchAxisRole, ZarrBatchLayout

    plate_root, out, repeats = Path(argv[0]), Path(argv[1]), int(argv[2])
    wells = _plate(plate_root)
    nbytes = sum(a.nbytes for items in wells.values() for *_, a in items)
    mb = nbytes / 1e6
    res: dict[str, Any] = {"raw_MB": mb, "images": sum(len(v) for v in wells.values())}

    # ---- zarr: one save_batch per well, the layout OpenHCS passes (field x c x z)
    store = out / "peer_zarr" / "images.zarr"
    cfg = ZarrConfig()
    res["zarr_config"] = f"{cfg.compressor.value} level {cfg.compression_level}, " \
                         f"chunks {cfg.chunk_strategy.value}"

    def layout(items: list[tuple[str, int, int, np.ndarray]]) -> ZarrBatchLayout:
        sites = sorted({s for _, s, _, _ in items})
        chans = sorted({c for _, _, c, _ in items})
        axes = (ZarrBatchAxis("field", tuple(str(s) for s in sites), ZarrBatchAxisRole.HCS_IMAGE),
                ZarrBatchAxis("c", tuple(str(c) for c in chans)),
                ZarrBatchAxis("z", ("1",)))
        coords = tuple((sites.index(s), chans.index(c), 0) for _, s, c, _ in items)
        return ZarrBatchLayout(axes, coords)

    def zarr_save() -> None:
        backend = ZarrStorageBackend(cfg)
        for well, items in wells.items():
            backend.save_batch([a for *_, a in items], [store / n for n, *_ in items],
                               chunk_name=well, batch_layout=layout(items),
                               row=well[0], col=str(int(well[1:])))

    def clear_zarr() -> None:
        shutil.rmtree(store.parent, ignore_errors=True)

    res["zarr_save_MBps"] = mb / _median(zarr_save, repeats, clear_zarr)
    res["zarr_bytes"] = _du(store)
    res["zarr_ratio"] = nbytes / res["zarr_bytes"]

    def zarr_load() -> None:
        backend = ZarrStorageBackend(cfg)
        for items in wells.values():
            backend.load_batch([store / n for n, *_ in items])

    res["zarr_load_MBps"] = mb / _median(zarr_load, repeats)
    last = store / list(wells.values())[-1][-1][0]
    n_single = 3
    res["zarr_single_us"] = 1e6 * _median(
        lambda: [ZarrStorageBackend(cfg).load(last) for _ in range(n_single)], repeats) / n_single
    clear_zarr()

    # ---- disk: save_batch / load_batch per well (TIFF)
    disk_dir = out / "peer_disk"

    def disk_save() -> None:
        backend = DiskStorageBackend()
        disk_dir.mkdir(parents=True, exist_ok=True)
        for items in wells.values():
            backend.save_batch([a for *_, a in items], [disk_dir / n for n, *_ in items])

    res["disk_save_MBps"] = mb / _median(disk_save, repeats,
                                         lambda: shutil.rmtree(disk_dir, ignore_errors=True))

    def disk_load() -> None:
        backend = DiskStorageBackend()
        for items in wells.values():
            backend.load_batch([disk_dir / n for n, *_ in items])

    res["disk_load_MBps"] = mb / _median(disk_load, repeats)
    shutil.rmtree(disk_dir, ignore_errors=True)

    # ---- memory: save + load per image, same keys and array as ours
    arr = next(iter(wells.values()))[0][3]
    n = 2000
    folder = "tmp/bench_workspace/step1_blur"
    keys = [f"{folder}/W{i:04d}_s1_w1_z1.tif" for i in range(n)]

    def mem_roundtrip() -> None:
        backend = MemoryStorageBackend()
        backend.ensure_directory(folder)
        for k in keys:
            backend.save(arr, k)
            backend.load(k)

    res["memory_roundtrip_us"] = 1e6 * _median(mem_roundtrip, max(5, repeats)) / n

    from importlib.metadata import version

    res["versions"] = {p: version(p) for p in ("polystore", "zarr", "numcodecs", "tifffile",
                                               "numpy")}
    res["pid"] = os.getpid()
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
