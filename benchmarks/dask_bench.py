"""Processes vs threads: the demo pipeline on dask worker processes and on the thread pool.

Same pipeline, plate subset and config as :mod:`benchmarks.pipeline_bench`;
the clusters are ``LocalCluster``s started by ``DaskExecutor("local")`` (one
thread per process) and warmed up with one run before timing, so the figures
time wells, not cluster start-up (reported separately).
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from benchmarks._core import Figure, median_time, paired_medians
from benchmarks.pipeline_bench import _config, build_pipeline
from benchmarks.plate import BenchPlate, subset_plate

__all__ = ["dask_figures"]

DASK_DEFAULT_TRIM = 65536  #: dask's own ``MALLOC_TRIM_THRESHOLD_`` for the workers it spawns


def dask_figures(plate: BenchPlate, workdir: Path) -> list[Figure]:
    """Threads vs 2 processes, 1 -> 2 processes, and dask's malloc trim setting vs glibc's default."""
    from openhcs_gui.pipeline.executors import DaskExecutor
    from openhcs_gui.pipeline.runner import run_pipeline

    out = workdir / "dask"
    n_wells = max(2, len(plate.index.wells) // 4)
    index = subset_plate(plate.index, n_wells)
    reps = plate.repeats

    def clean() -> None:
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        os.sync()

    def run(executor: object | None, workers: int) -> None:
        result = run_pipeline(build_pipeline(), index, _config(out, workers), executor=executor)
        if result.status.value != "completed":
            raise RuntimeError(f"bench run {result.status.value}: {result.errors[:1]}")

    clean()
    t0 = time.perf_counter()
    two = DaskExecutor("local", n_workers=2)
    two.client  # noqa: B018 - start the cluster
    start = time.perf_counter() - t0
    trimmed = DaskExecutor("local", n_workers=2, malloc_trim_threshold=DASK_DEFAULT_TRIM)
    one = DaskExecutor("local", n_workers=1)
    try:
        for ex, w in ((two, 2), (trimmed, 2), (one, 1), (None, 2)):  # warm-up: imports, first calls
            clean()
            run(ex, w)
        t = paired_medians({"threads": lambda: run(None, 2), "processes": lambda: run(two, 2),
                            "trim": lambda: run(trimmed, 2)},
                           reps, dict.fromkeys(("threads", "processes", "trim"), clean))
        t_one = median_time(lambda: run(one, 1), reps, clean)
    finally:
        for ex in (two, trimmed, one):
            ex.close()
        shutil.rmtree(out, ignore_errors=True)
    note = f"{n_wells} wells; machine has {os.cpu_count()} CPUs; cluster start {start:.1f} s (not timed)"
    return [
        Figure("dask.processes_vs_threads", "2 dask worker processes vs 2 threads", t["processes"],
               t["threads"], "s", t["threads"] / t["processes"], ">= 0.9",
               "speed ratio: threads s / processes s", note=note),
        Figure("dask.workers", "dask scaling (1 -> 2 worker processes)", t["processes"], t_one, "s",
               t_one / t["processes"], ">= 1.8", "speedup: 1-process s / 2-process s", note=note),
        Figure("dask.malloc_trim", "dask's MALLOC_TRIM_THRESHOLD_=65536 vs glibc default", t["trim"],
               t["processes"], "s", t["trim"] / t["processes"], "report",
               "slowdown: trim-65536 s / default s", note=note),
    ]
