"""`make bench` must not rot: run it once at ``--size tiny`` and check the JSON's shape.

No timing is asserted (a benchmark is not a test); only that every figure was
measured and holds numbers, so a renamed API or a broken baseline fails here
rather than on the day someone wants the numbers.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent

ENGINE_FIGURES = [
    "zarr.write", "zarr.compression", "zarr.codec_bound", "zarr.single_read", "zarr.read",
    "disk.write", "disk.read", "memory.roundtrip",
    "pipeline.end_to_end", "pipeline.memory_vs_disk", "pipeline.workers", "segmentation.throughput",
    "provenance.share",
    "rss.peak", "rss.growth",
]
GUI_FIGURES = ["gui.cold_start", "gui.responsiveness", "gui.viewer_open"]


def _run(tmp_path: Path, *args: str) -> dict[str, Any]:
    out = tmp_path / "r.json"
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--size", "tiny", "--out", str(out),
         "--workdir", str(tmp_path), *args],
        cwd=ROOT, capture_output=True, text=True, timeout=280, check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads(out.read_text(encoding="utf-8"))


def _check(doc: dict[str, Any], keys: list[str]) -> None:
    assert not doc["failed"], doc["failed"]
    assert not doc["skipped"], doc["skipped"]
    figures = doc["figures"]
    assert set(keys) <= set(figures), sorted(set(keys) - set(figures))
    for key in keys:
        fig = figures[key]
        assert isinstance(fig["ours"], int | float) and math.isfinite(fig["ours"]), (key, fig)
        if fig["target"] != "report":
            assert isinstance(fig["ratio"], int | float), (key, fig)
            assert isinstance(fig["met"], bool), (key, fig)
    assert doc["machine"]["cpu_count"] >= 1
    assert "page_cache" in doc["method"]
    assert doc["plate"]["images"] > 0


def test_bench_tiny_engine_figures(tmp_path: Path) -> None:
    doc = _run(tmp_path, "--skip-gui")
    _check(doc, ENGINE_FIGURES)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("Xvfb") is None, reason="Xvfb is not installed")
def test_bench_tiny_gui_figures(tmp_path: Path) -> None:
    doc = _run(tmp_path, "--only", "gui-start", "gui-run")
    _check(doc, GUI_FIGURES)
