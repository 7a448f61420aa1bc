"""Engine figures: end-to-end overhead, memory-first vs all-disk, worker scaling, peak RSS.

The pipeline is the product's demo pipeline, loaded from
``resources/demo_pipeline.json`` so the figures follow it (today: gaussian blur
sigma 1 -> top-hat background sized from the 9 µm nucleus diameter ->
``segment_nuclei`` with per-object tables, the last step to zarr). The
baseline calls the *same registered functions with the same kwargs* on the
same stacks (grouped as each step's ``variable_components`` say, the plate's
pixel size passed where a function declares ``pixel_size_um``, as the engine
does) in a plain thread-pool loop over wells, and writes the labels with the
same ``ZarrBackend`` and the tables with :mod:`csv`, so the difference is what
the engine adds: planning, the memory VFS, progress events, per-well tables
and provenance.
"""

from __future__ import annotations

import csv
import inspect
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

__all__ = ["pipeline_figures", "rss_figures", "build_pipeline", "demo_steps"]

_AXES = ("site", "channel", "z")


def demo_steps() -> list[tuple[str, Any, dict[str, Any], tuple[str, ...]]]:
    """``(step name, function, kwargs, variable components)`` of each step of the demo pipeline."""
    from openhcs_gui.pipeline.demo import load_demo_pipeline

    out = []
    for step in load_demo_pipeline():
        func, kwargs = step.func if isinstance(step.func, tuple) else (step.func, step.kwargs)
        out.append((step.name, func, dict(kwargs), tuple(c.value for c in step.variable_components)))
    return out


def build_pipeline(all_disk: bool = False) -> Any:
    """The demo pipeline; ``all_disk`` puts every step's output on disk (TIFF)."""
    from openhcs_gui import Backend
    from openhcs_gui.pipeline.demo import load_demo_pipeline

    pipeline = load_demo_pipeline()
    if all_disk:
        for step in pipeline:
            step.backend = Backend.DISK
    return pipeline


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


def _groups(keys: list[Any], vary: tuple[str, ...]) -> list[list[Any]]:
    """Keys cut into the stacks a step's function gets: fixed components equal, sorted."""
    fixed = [a for a in _AXES if a not in vary]
    out: dict[tuple[int, ...], list[Any]] = {}
    for key in sorted(keys):
        out.setdefault(tuple(getattr(key, a) for a in fixed), []).append(key)
    return [out[g] for g in sorted(out)]


def _run_plain(idx: Any, out: Path, workers: int) -> None:
    """The same functions in a plain loop: read TIFFs, group as each step says, write zarr + csv."""
    import tifffile

    from openhcs_gui.vfs.zarr_store import ZarrBackend

    pixel_size = idx.metadata.pixel_size_um
    steps = []
    for name, func, kwargs, vary in demo_steps():
        if "pixel_size_um" in inspect.signature(func).parameters and "pixel_size_um" not in kwargs:
            kwargs = {**kwargs, "pixel_size_um": pixel_size}
        steps.append((name, func, kwargs, vary))
    store = out / "plain" / "images.zarr"
    zb = ZarrBackend()

    def one_well(well: str) -> dict[str, list[dict[str, Any]]]:
        images = {k: tifffile.imread(idx.images[k]) for k in idx.keys(well=well)}
        tables: dict[str, list[dict[str, Any]]] = {}
        for _name, func, kwargs, vary in steps:
            outputs = {}
            for group in _groups(list(images), vary):
                result = func(np.stack([images[k] for k in group]), **kwargs)
                stack, produced = result if isinstance(result, tuple) else (result, {})
                for table, rows in produced.items():
                    for r in rows:
                        key = group[int(r.get("index", 0))]
                        tables.setdefault(table, []).append(
                            {"well": well, "site": key.site, "channel": key.channel,
                             **{c: v for c, v in r.items() if c != "index"}})
                outputs.update(zip(group, stack, strict=True))
            images = outputs
        keys = sorted(images)
        zb.save_batch([images[k] for k in keys], [f"{store}/{k.filename()}" for k in keys])
        return tables

    with ThreadPoolExecutor(workers) as ex:
        per_well = list(ex.map(one_well, idx.wells))
    zb.close()
    for table in per_well[0]:
        rows = [r for tables in per_well for r in tables.get(table, [])]
        with open(out / "plain" / f"{table}.csv", "w", newline="", encoding="utf-8") as fh:
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
        Figure("pipeline.end_to_end", "end-to-end demo pipeline (engine)", t_engine, t_plain,
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
