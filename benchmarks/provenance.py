"""Provenance cost: the share of a 1536-well x 4-site run spent recording it.

The plate is 1536 wells x 4 sites x 1 channel of 16² pixels (one small TIFF
copied to every name, so making it takes seconds), so the run itself is
mostly engine overhead and the provenance share is as large as it gets on a
real plate. The pipeline is one step (gaussian blur sigma 1) written to
zarr, one worker, so the time spent in provenance is a plain share of the
wall time. "Ours" is the time spent inside :class:`ProvenanceWriter`
(``write``, ``on_event``, ``finish``: the start/end documents and one
fsynced journal line per well), measured by a timing subclass the runner
uses for that run; the baseline is the run's wall time.
"""

from __future__ import annotations

import os
import shutil
import statistics
import threading
import time
from pathlib import Path
from typing import Any

from benchmarks._core import Figure

__all__ = ["make_wide_plate", "provenance_figures"]

SITES = 4


def _well_names(n: int) -> list[str]:
    rows = [chr(ord("A") + i) for i in range(26)] + [f"A{chr(ord('A') + i)}" for i in range(6)]  # 32 rows
    cols = 48 if n > 384 else 24 if n > 96 else 12
    return [f"{r}{c:02d}" for r in rows for c in range(1, cols + 1)][:n]


def make_wide_plate(root: Path, wells: int) -> Path:
    """An ImageXpress plate of ``wells`` wells x 4 sites x 1 channel x 16² (one TIFF, copied)."""
    from openhcs_gui.plates import make_synthetic_plate

    seed = make_synthetic_plate(root / "seed", wells=["A01"], sites=1, channels=1, shape=(16, 16), seed=1)
    tif = next((seed / "TimePoint_1").glob("*.tif"))
    folder = root / "wide" / "TimePoint_1"
    folder.mkdir(parents=True)
    for well in _well_names(wells):
        for site in range(1, SITES + 1):
            shutil.copyfile(tif, folder / f"{well}_s{site}_w1.tif")
    return root / "wide"


def _timed_writer() -> tuple[type, dict[str, Any]]:
    """A ProvenanceWriter subclass that adds the time spent in its methods (outermost calls only)."""
    from openhcs_gui.pipeline.provenance import ProvenanceWriter

    spent = {"seconds": 0.0}
    local = threading.local()

    def timed(name: str) -> Any:
        method = getattr(ProvenanceWriter, name)

        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            depth = getattr(local, "depth", 0)
            local.depth = depth + 1
            t0 = time.perf_counter()
            try:
                return method(self, *args, **kwargs)
            finally:
                local.depth = depth
                if depth == 0:  # finish() calls write(): count it once
                    spent["seconds"] += time.perf_counter() - t0

        return wrapper

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        ProvenanceWriter.__init__(self, *args, **kwargs)
        spent["writer"] = self

    cls = type("TimedProvenanceWriter", (ProvenanceWriter,),
               {"__init__": init, **{name: timed(name) for name in ("on_event", "write", "finish")}})
    return cls, spent


def _run_once(plate: Path, out: Path) -> tuple[float, float, int, float]:
    """(run seconds, provenance seconds, provenance bytes, journal thread I/O seconds) of one run."""
    import openhcs_gui.pipeline.runner as runner
    from openhcs_gui import Backend, FunctionStep, GlobalPipelineConfig, Pipeline
    from openhcs_gui.functions import get_function
    from openhcs_gui.pipeline.provenance import METADATA_NAME

    cfg = GlobalPipelineConfig(num_workers=1, keep_intermediates=False)
    cfg.materialization_defaults.output_path = out
    pipeline = Pipeline([FunctionStep(get_function("gaussian_blur").func, name="blur", sigma=1.0,
                                      backend=Backend.ZARR)])
    cls, spent = _timed_writer()
    real = runner.ProvenanceWriter
    runner.ProvenanceWriter = cls  # type: ignore[misc]
    try:
        os.sync()
        t0 = time.perf_counter()
        result = runner.run_pipeline(pipeline, plate, cfg, overwrite=True)
        seconds = time.perf_counter() - t0
    finally:
        runner.ProvenanceWriter = real  # type: ignore[misc]
    if result.status.value != "completed":
        raise RuntimeError(f"provenance benchmark run {result.status.value}: {result.errors[:1]}")
    size = (result.workspace / METADATA_NAME).stat().st_size
    result.close()
    return seconds, spent["seconds"], size, spent["writer"]._journal.io_seconds


#: wells of the provenance plate per benchmark size (the target is stated for 1536)
WELLS = {"tiny": 96, "small": 384, "default": 1536, "large": 1536}


def provenance_figures(work: Path, wells: int = 1536, repeats: int = 1) -> list[Figure]:
    """The ``provenance.share`` figure: provenance seconds / run seconds, in percent (target < 5)."""
    plate = make_wide_plate(work / "provenance", wells)
    runs = [_run_once(plate, work / "provenance" / "out") for _ in range(max(1, repeats))]
    run_s = statistics.median(r[0] for r in runs)
    prov_s = statistics.median(r[1] for r in runs)
    io_s = statistics.median(r[3] for r in runs)
    shutil.rmtree(work / "provenance", ignore_errors=True)
    return [
        Figure("provenance.share", f"provenance cost, {wells} wells x {SITES} sites", prov_s, run_s, "s",
               100 * prov_s / run_s, "< 5", "% of the run spent in ProvenanceWriter",
               note=f"1 worker, 16² pixels, 1 step to zarr; the whole document ({runs[0][2] / 1e6:.1f} MB) "
                    f"written at start and end, one journal line per well, fsynced in batches by a "
                    f"background thread ({io_s:.2f} s of I/O beside the run, not on its path)",
               extra={"wells": wells, "metadata_bytes": runs[0][2], "journal_io_seconds": io_s,
                      "runs": len(runs)}),
    ]
