"""Engine figures: end-to-end overhead, memory-first vs all-disk, worker scaling, peak RSS.

The pipeline is the product's demo pipeline written out here (gaussian blur
sigma 1 -> top-hat background subtraction radius 10 -> Otsu threshold + count,
the last step to zarr), grouped by site as the engine does: one stack of the
well's sites per channel. The baseline calls the *same registered functions*
on the same stacks in a plain thread-pool loop over wells and writes the
labels with the same ``ZarrBackend`` and the table with :mod:`csv`, so the
difference is what the engine adds: planning, the memory VFS, progress
events, per-well tables and provenance.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._core import Figure, median_time, paired_medians
from benchmarks.plate import BenchPlate, subset_plate

__all__ = ["pipeline_figures", "rss_figures", "build_pipeline", "STEPS"]

#: (step name, registered function, kwargs): the demo pipeline's steps.
STEPS: list[tuple[str, str, dict[str, Any]]] = [
    ("blur", "gaussian_blur", {"sigma": 1.0}),
    ("background", "subtract_background", {"method": "tophat", "radius": 10}),
    ("count", "count_objects", {"smooth_sigma": 1.0, "min_size": 20}),
]


def build_pipeline(all_disk: bool = False) -> Any:
    """The 3-step pipeline; ``all_disk`` puts every step's output on disk (TIFF)."""
    from openhcs_gui import Backend, FunctionStep, Pipeline
    from openhcs_gui.functions import get_function

    steps = []
    for i, (name, fn, kwargs) in enumerate(STEPS):
        last = i == len(STEPS) - 1
        backend = Backend.DISK if all_disk else (Backend.ZARR if last else None)
        steps.append(FunctionStep(get_function(fn).func, name=name, backend=backend, **kwargs))
    return Pipeline(steps)


def _config(out: Path, workers: int) -> Any:
    from openhcs_gui import GlobalPipelineConfig

    cfg = GlobalPipelineConfig(num_workers=workers, keep_intermediates=False)
    cfg.materialization_defaults.output_path = out
    return cfg


def _run_engine(index: Any, out: Path, workers: int, all_disk: bool = False) -> Any:
    from openhcs_gui.pipeline import run_pipeline

    result = run_pipeline(build_pipeline(all_disk), index, _config(out, workers),
                          overwrite=True)
    if result.status.value != "completed":
        raise RuntimeError(f"benchmark run {result.status.value}: {result.errors[:1]}")
    return result


def _run_plain(idx: Any, out: Path, workers: int) -> None:
    """The same functions in a plain loop: read TIFFs, stack sites per channel, write zarr."""
    import tifffile

    from openhcs_gui.functions import get_function
    from openhcs_gui.vfs.zarr_store import ZarrBackend

    funcs = [(get_function(fn).func, kw) for _, fn, kw in STEPS]
    store = out / "plain" / "images.zarr"
    zb = ZarrBackend()

    def one_well(well: str) -> list[dict[str, Any]]:
        keys = idx.keys(well=well)
        images = {k: tifffile.imread(idx.images[k]) for k in keys}
        rows: list[dict[str, Any]] = []
        outs, paths = [], []
        for ch in idx.channels:
            group = [k for k in keys if k.channel == ch]
            stack: Any = np.stack([images[k] for k in group])
            table: list[dict[str, Any]] = []
            for fn, kw in funcs:
                res = fn(stack, **kw)
                if isinstance(res, tuple):
                    stack, tables = res
                    table = tables["objects"]
                else:
                    stack = res
            for k, plane in zip(group, stack, strict=True):
                outs.append(plane)
                paths.append(f"{store}/{k.filename()}")
            rows.extend({"well": well, "channel": ch, **r} for r in table)
        zb.save_batch(outs, paths)
        return rows

    with ThreadPoolExecutor(workers) as ex:
        rows = [r for rs in ex.map(one_well, idx.wells) for r in rs]
    zb.close()
    with open(out / "plain" / "objects.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def pipeline_figures(plate: BenchPlate, workdir: Path) -> list[Figure]:
    """End-to-end engine overhead, memory-first vs all-disk and 1 vs 2 workers.

    Measured on the first quarter of the plate's wells (at least 2): 13 runs
    of the whole plate would not fit ``make bench`` in 10 minutes on 2 cores,
    and the ratios do not depend on the well count (wells are independent).
    """
    out = workdir / "pipeline"
    workers = os.cpu_count() or 1
    n_wells = max(2, len(plate.index.wells) // 4)
    index = subset_plate(plate.index, n_wells)
    reps = plate.repeats
    mb = sum(plate.planes[k].nbytes for k in index.images) / 1e6

    def clean() -> None:
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        os.sync()  # no run pays for the previous run's writeback

    _run_engine(subset_plate(index, 1), out, workers)  # warm-up: imports, function first calls
    t = paired_medians({"engine": lambda: _run_engine(index, out, workers),
                        "plain": lambda: _run_plain(index, out, workers),
                        "disk": lambda: _run_engine(index, out, workers, all_disk=True)},
                       reps, dict.fromkeys(("engine", "plain", "disk"), clean))
    t_engine, t_plain, t_disk = t["engine"], t["plain"], t["disk"]
    t_w = {workers: t_engine}
    for w in (1, 2):
        if w not in t_w:
            t_w[w] = median_time(lambda w=w: _run_engine(index, out, w), reps, clean)
    shutil.rmtree(out, ignore_errors=True)
    return [
        Figure("pipeline.end_to_end", "end-to-end 3-step pipeline (engine)", t_engine, t_plain,
               "s", t_engine / t_plain - 1.0, "<= 0.1",
               "engine overhead: engine s / plain-loop s - 1",
               mb / t_engine, mb / t_plain,
               note=f"{n_wells} wells, {workers} workers; memory intermediates, last step zarr; "
                    "plain loop = same functions + same ZarrBackend + csv"),
        Figure("pipeline.memory_vs_disk", "memory-first vs all-disk pipeline", t_engine, t_disk,
               "s", t_disk / t_engine, "report", "speedup: all-disk s / memory-first s",
               mb / t_engine, mb / t_disk,
               note="all-disk: every step backend=DISK (a TIFF per image per step); "
                    "the engine hands a step's output to the next step in-process, so "
                    "all-disk pays the writes, not re-reads"),
        Figure("pipeline.workers", "worker scaling (1 -> 2 workers)", t_w[2], t_w[1], "s",
               t_w[1] / t_w[2], "report", "speedup: 1-worker s / 2-worker s",
               mb / t_w[2], mb / t_w[1], note=f"machine has {os.cpu_count()} CPUs"),
    ]


def _child_rss(plate: BenchPlate, n_wells: int, out: Path) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "benchmarks._rss_child", str(plate.path), str(n_wells), str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False,
                          cwd=Path(__file__).resolve().parent.parent)
    if proc.returncode != 0:
        raise RuntimeError(f"RSS child failed: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def rss_figures(plate: BenchPlate, workdir: Path) -> list[Figure]:
    """Peak RSS of a whole run in a fresh process, for a quarter of the wells and all."""
    n_all = len(plate.index.wells)
    n_few = max(1, n_all // 4)
    out = workdir / "rss"
    few = _child_rss(plate, n_few, out)
    shutil.rmtree(out, ignore_errors=True)
    full = _child_rss(plate, n_all, out)
    shutil.rmtree(out, ignore_errors=True)
    plate_mb = plate.mb
    run_few = few["peak_MB"] - few["imports_MB"]
    run_full = full["peak_MB"] - full["imports_MB"]
    return [
        Figure("rss.peak", f"peak RSS, whole run ({n_all} wells)", full["peak_MB"], plate_mb,
               "MB", full["peak_MB"] / plate_mb, "report", "peak RSS / plate raw bytes",
               note=f"after imports {full['imports_MB']:.0f} MB; the run added "
                    f"{run_full:.0f} MB; keep_intermediates=False, {full['workers']} workers",
               extra={"imports_MB": full["imports_MB"], "run_MB": run_full}),
        Figure("rss.growth", f"peak RSS growth {n_few} -> {n_all} wells", full["peak_MB"],
               few["peak_MB"], "MB", full["peak_MB"] / few["peak_MB"], "<= 1.15",
               f"peak RSS with {n_all} wells / with {n_few} wells (flat = 1.0)",
               note=f"memory added by the run: {run_few:.0f} MB ({n_few} wells) vs "
                    f"{run_full:.0f} MB ({n_all} wells)",
               extra={"few_wells": n_few, "few_run_MB": run_few, "all_run_MB": run_full}),
    ]
