"""Child process for the peak-RSS figure: ``python -m benchmarks._rss_child PLATE N OUT``.

Runs the benchmark pipeline on the first ``N`` wells of ``PLATE`` with
``keep_intermediates=False`` and prints one JSON line with the peak resident
set size after imports and after the run. A fresh process is the only honest
way to read a peak: a high-water mark never goes down.
"""

from __future__ import annotations

import json
import os
import resource
import sys
from pathlib import Path


def _peak_mb() -> float:
    """Peak RSS of this process image in MB (1e6 bytes).

    Linux: ``VmHWM`` from ``/proc/self/status``. Not ``ru_maxrss``: Linux
    carries the parent's high-water mark across fork + exec into it, so a
    child started by a 1 GB benchmark process would report 1 GB whatever it did.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024 / 1e6
    except OSError:
        pass
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # macOS: bytes; others: KiB
    return kib / 1e6 if sys.platform == "darwin" else kib * 1024 / 1e6


def main(argv: list[str]) -> int:
    """Run the pipeline once and print ``{"imports_MB", "peak_MB", "wells", "workers"}``."""
    plate_path, n_wells, out = Path(argv[0]), int(argv[1]), Path(argv[2])
    from benchmarks.pipeline_bench import build_pipeline
    from benchmarks.plate import subset_plate
    from openhcs_gui import GlobalPipelineConfig
    from openhcs_gui.functions import get_function
    from openhcs_gui.pipeline import run_pipeline
    from openhcs_gui.plates import open_plate

    get_function("count_objects")  # the registry imports every built-in function module
    import skimage.filters  # noqa: F401 - the functions import these lazily on first call
    import skimage.measure  # noqa: F401
    import skimage.morphology  # noqa: F401
    import zarr  # noqa: F401

    index = subset_plate(open_plate(plate_path), n_wells)
    imports = _peak_mb()
    workers = os.cpu_count() or 1
    cfg = GlobalPipelineConfig(num_workers=workers, keep_intermediates=False)
    cfg.materialization_defaults.output_path = out
    result = run_pipeline(build_pipeline(), index, cfg, overwrite=True)
    print(json.dumps({"imports_MB": imports, "peak_MB": _peak_mb(), "wells": n_wells,
                      "workers": workers, "status": result.status.value}))
    return 0 if result.status.value == "completed" else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
