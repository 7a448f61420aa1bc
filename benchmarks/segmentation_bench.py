"""Segmentation + per-object measurement throughput: the engine vs the same calls in a plain loop.

One step, ``segment_cells`` with ``variable_components=["channel"]`` (nuclei
split by distance transform + watershed, cells grown into channel 2, per-object
``regionprops_table`` rows for nuclei and cells in both channels, a per-field
summary), on its own small synthetic plate so the figure costs the same at
every ``--size``: 2 wells x 4 sites x 2 channels x 384² uint16.

* **ours**: ``run_pipeline`` with one worker, label images kept in memory,
  the three tables written as per-well CSVs plus the consolidated ones.
* **baseline**: a plain loop over the same fields: ``tifffile.imread`` of both
  channels, the same :func:`~openhcs_gui.functions.segmentation.segment_cells`
  call (the same scikit-image calls, the plate's pixel size passed as the
  engine passes it, so the 9 µm default diameter is the same 13.8 px), the
  same tables written with ``csv``.

Figure ``segmentation.throughput``: input images per second, ratio
ours / baseline, target >= 0.9 (engine overhead at most 10 %). Median of 3
runs each, interleaved. ``python -m benchmarks.segmentation_bench`` runs it alone.
"""

from __future__ import annotations

import csv
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._core import Figure, format_table, paired_medians

__all__ = ["segmentation_figures", "WELLS", "SITES", "SHAPE"]

WELLS = ("A01", "B02")
SITES = 4
SHAPE = (384, 384)
REPEATS = 3


def _plate(workdir: Path) -> Any:
    from openhcs_gui.plates import make_synthetic_plate, open_plate

    root = workdir / "seg_plate"
    if not root.exists():
        make_synthetic_plate(root, wells=list(WELLS), sites=SITES, channels=2, shape=SHAPE, seed=3)
    return open_plate(root)


def _run_engine(index: Any, out: Path) -> int:
    from openhcs_gui import Backend, FunctionStep, GlobalPipelineConfig, Pipeline
    from openhcs_gui.constants import Component
    from openhcs_gui.pipeline import run_pipeline

    shutil.rmtree(out, ignore_errors=True)
    cfg = GlobalPipelineConfig(num_workers=1, keep_intermediates=False)
    cfg.materialization_defaults.output_path = out
    step = FunctionStep("segment_cells", name="cells", backend=Backend.MEMORY,
                        variable_components=[Component.CHANNEL])
    result = run_pipeline(Pipeline([step]), index, cfg, overwrite=True)
    if result.status.value != "completed":
        raise RuntimeError(f"segmentation benchmark run {result.status.value}: {result.errors[:1]}")
    table = Path(result.step("cells").folder) / "nuclei.csv"
    result.close()
    with open(table, encoding="utf-8") as fh:
        return sum(1 for _ in fh) - 1


def _write(path: Path, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _run_plain(index: Any, out: Path) -> int:
    import tifffile

    from openhcs_gui.functions.segmentation import segment_cells

    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    everything: dict[str, list[dict[str, Any]]] = {"objects": [], "nuclei": [], "cells": []}
    labels_kept = []
    pixel_size = index.metadata.pixel_size_um
    for well in index.wells:
        keys = index.keys(well=well)
        per_well: dict[str, list[dict[str, Any]]] = {name: [] for name in everything}
        for site in sorted({k.site for k in keys}):
            group = sorted(k for k in keys if k.site == site)
            field = np.stack([tifffile.imread(index.images[k]) for k in group])
            labels, tables = segment_cells(field, pixel_size_um=pixel_size)  # as the engine passes it
            labels_kept.append(labels)
            for name, rows in tables.items():
                per_well[name].extend({"well": well, "site": site, "z": 1, **r} for r in rows)
        for name, rows in per_well.items():
            _write(out / f"{well}_{name}.csv", rows)
            everything[name].extend(rows)
    for name, rows in everything.items():
        _write(out / f"{name}.csv", rows)
    return len(everything["nuclei"])


def segmentation_figures(workdir: Path) -> list[Figure]:
    """Images/s of segment_cells + measurement through the engine and in a plain loop."""
    index = _plate(workdir)
    n_images = len(index.images)
    counts: dict[str, int] = {}

    def ours() -> None:
        counts["ours"] = _run_engine(index, workdir / "seg_engine")

    def plain() -> None:
        counts["plain"] = _run_plain(index, workdir / "seg_plain")

    times = paired_medians({"ours": ours, "plain": plain}, REPEATS)
    if counts["ours"] != counts["plain"]:
        raise RuntimeError(f"engine found {counts['ours']} nuclei, the plain loop {counts['plain']}")
    rate = {k: n_images / t for k, t in times.items()}
    return [Figure(
        key="segmentation.throughput",
        title="segment cells + measure (images/s)",
        ours=rate["ours"], baseline=rate["plain"], unit="img/s",
        ratio=rate["ours"] / rate["plain"], target=">= 0.9",
        note=f"{n_images} images ({len(WELLS)} wells x {SITES} sites x 2 ch x {SHAPE[0]}²), "
             f"{counts['ours']} nuclei; 1 worker; median of {REPEATS}",
    )]


if __name__ == "__main__":
    with tempfile.TemporaryDirectory(prefix="openhcs-seg-bench-") as tmp:
        print(format_table(segmentation_figures(Path(tmp))))
