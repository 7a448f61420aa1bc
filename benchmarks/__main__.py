"""``python -m benchmarks``: generate the plate once, measure every figure, print, save JSON.

Groups (``--only``): ``storage`` (zarr, disk, memory), ``pipeline``
(end-to-end, memory vs disk, workers), ``dask`` (worker processes vs threads,
1 -> 2 processes, malloc trim), ``segmentation`` (segment + measure
images/s vs a plain loop), ``provenance`` (its share of a
1536-well x 4-site run, on its own tiny-pixel plate), ``rss``, ``gui-start`` (cold start) and
``gui-run`` (responsiveness, viewer open; both need Xvfb), ``gui-plate`` (GUI stall while
a 1536-well plate opens; Xvfb), ``preview`` (live preview:
edit -> updated layer on a 1024² site, GUI stalls meanwhile; Xvfb) and ``peers``
(polystore, only with ``--peers PYTHON``). A group that cannot run records
why under ``skipped`` instead of inventing a number.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks._core import Figure, SkipGroup, format_table, machine_info, versions
from benchmarks.plate import SIZES, BenchPlate, make_bench_plate

GROUPS = ("storage", "pipeline", "dask", "segmentation", "provenance", "rss", "gui-start", "gui-run", "gui-plate",
          "preview", "peers")
DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "latest.json"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    p.add_argument("--size", choices=list(SIZES), default="default",
                   help="plate size (default: 24 wells x 4 sites x 2 channels x 1024² = 384 MiB)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="results JSON path")
    p.add_argument("--only", nargs="+", choices=GROUPS, help="run only these groups")
    p.add_argument("--skip-gui", action="store_true", help="leave out the GUI group")
    p.add_argument("--peers", metavar="PYTHON",
                   help="python of a venv with polystore==0.6.3 (make bench-peers)")
    p.add_argument("--workdir", type=Path, help="scratch folder (default: a temp dir)")
    return p


def _groups(args: argparse.Namespace) -> list[str]:
    chosen = list(args.only) if args.only else [g for g in GROUPS if g != "peers"]
    if args.peers and "peers" not in chosen:
        chosen.append("peers")
    if args.skip_gui:
        chosen = [g for g in chosen if not g.startswith("gui") and g != "preview"]
    return chosen


def _runners(plate: BenchPlate, work: Path, args: argparse.Namespace,
             raw: dict[str, Any]) -> dict[str, Callable[[], list[Figure]]]:
    from benchmarks import (
        dask_bench,
        gui,
        peers,
        pipeline_bench,
        preview_bench,
        provenance,
        segmentation_bench,
        storage,
    )

    def run_storage() -> list[Figure]:
        figs, raw["zarr_write"] = storage.zarr_figures(plate)
        pyr, raw["zarr_pyramid"] = storage.pyramid_figures(plate)
        figs += pyr
        return figs + storage.disk_figures(plate, work) + storage.memory_figures(plate)

    return {
        "storage": run_storage,
        "pipeline": lambda: pipeline_bench.pipeline_figures(plate, work),
        "dask": lambda: dask_bench.dask_figures(plate, work),
        "segmentation": lambda: segmentation_bench.segmentation_figures(work),
        "provenance": lambda: provenance.provenance_figures(work, provenance.WELLS[args.size]),
        "rss": lambda: pipeline_bench.rss_figures(plate, work),
        "gui-start": lambda: gui.cold_start_figures(plate, work),
        "gui-run": lambda: gui.run_figures(plate, work),
        "gui-plate": lambda: gui.plate_open_figures(work),
        "preview": lambda: preview_bench.preview_figures(work),
        "peers": lambda: peers.peer_figures(plate, work, args.peers),
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks; returns 0 unless a group crashed."""
    args = _parser().parse_args(argv)
    groups = _groups(args)
    work = Path(tempfile.mkdtemp(prefix="openhcs-bench-", dir=args.workdir))
    t0 = time.perf_counter()
    info = machine_info()
    print(f"openhcs-gui benchmarks, size {args.size}, groups {', '.join(groups)}; "
          f"{info['cpu_count']} CPUs, load {info['loadavg_start']}", flush=True)
    figures: list[Figure] = []
    skipped: dict[str, str] = {}
    failed: dict[str, str] = {}
    raw: dict[str, Any] = {}
    seconds: dict[str, float] = {}
    try:
        plate = make_bench_plate(work, args.size)
        print(f"plate: {plate.describe()}", flush=True)
        runners = _runners(plate, work, args, raw)
        for g in groups:
            tg = time.perf_counter()
            print(f"-- {g} ...", flush=True)
            try:
                figs = runners[g]()
            except SkipGroup as e:
                skipped[g] = str(e)
                print(f"   skipped: {e}", flush=True)
                continue
            except Exception as e:  # one broken group must not hide the others' numbers
                failed[g] = "".join(traceback.format_exception(e))
                print(f"   FAILED: {e}", flush=True)
                continue
            finally:
                seconds[g] = round(time.perf_counter() - tg, 1)
            figures.extend(figs)
            print(format_table(figs), flush=True)
        plate_desc = plate.describe()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    doc = {
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": " ".join(["python -m benchmarks", *(argv if argv is not None else sys.argv[1:])]),
        "machine": {**info, "loadavg_end": [round(x, 2) for x in os.getloadavg()]},
        "versions": versions(),
        "plate": plate_desc,
        "method": {
            "repeats": f"median of {plate.repeats} runs per figure "
                       f"(zarr figures: zarr_write.py's {plate.params['repeats']})",
            "page_cache": "warm: writes go to the page cache without fsync; reads follow "
                          "writes of the same files; baselines run under the same conditions",
            "MB": "1e6 bytes of raw pixels",
        },
        "figures": {f.key: f.to_dict() for f in figures},
        "skipped": skipped,
        "failed": failed,
        "group_seconds": seconds,
        "raw": raw,
        "seconds": round(time.perf_counter() - t0, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, indent=2, default=str), encoding="utf-8")
    os.replace(tmp, args.out)
    print("\n" + format_table(figures))
    for g, why in skipped.items():
        print(f"skipped {g}: {why}")
    for g in failed:
        print(f"FAILED {g} (traceback in the JSON)")
    print(f"load average at the end: {doc['machine']['loadavg_end']}; "
          f"total {doc['seconds']} s; results: {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
