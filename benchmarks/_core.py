"""What every benchmark module shares: figures, timing, machine facts, the table.

A :class:`Figure` is one row of the results: our number, the baseline's number
measured in the same run on the same data, their ratio and the target that
ratio is judged against. Keeping the target next to the number means the
table (and the JSON) say by themselves whether a change made things better or
worse, without anyone remembering what "good" was.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from importlib import metadata
from typing import Any

__all__ = ["Figure", "SkipGroup", "median_time", "paired_medians", "machine_info", "versions", "format_table", "judge"]


class SkipGroup(Exception):
    """Raised by a group that cannot be measured here (e.g. no X server); the reason is kept."""


@dataclass
class Figure:
    """One measured figure.

    Attributes
    ----------
    key
        Stable identifier used in the JSON (``zarr.write``, ``gui.cold_start``...).
    title
        Human label for the table.
    ours, baseline
        Values in ``unit`` (``baseline`` is ``None`` for report-only figures).
    unit
        ``MB/s`` (1e6 bytes of raw pixels per second), ``us``, ``ms``, ``s``, ``MB``, ``x``.
    ratio
        The number the target judges: usually ``ours / baseline`` for
        throughput and ``baseline``-relative time for latencies (see ``ratio_note``).
    target
        ``">= 2.0"``, ``"<= 1.0"``, ``"< 5"``... or ``"report"``.
    ours_MBps, baseline_MBps
        Absolute throughput for reference, when the figure moves pixels.
    met
        Whether ``ratio`` meets ``target`` (``None`` for report-only figures).
    """

    key: str
    title: str
    ours: float | None
    baseline: float | None
    unit: str
    ratio: float | None
    target: str = "report"
    ratio_note: str = "ours / baseline"
    ours_MBps: float | None = None
    baseline_MBps: float | None = None
    met: bool | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.met = judge(self.ratio, self.target)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict with floats rounded to 4 significant digits."""
        return {k: _round(v) for k, v in asdict(self).items()}


def _round(v: Any) -> Any:
    if isinstance(v, float):
        return float(f"{v:.4g}")
    if isinstance(v, dict):
        return {k: _round(x) for k, x in v.items()}
    return v


def judge(value: float | None, target: str) -> bool | None:
    """Evaluate ``value`` against a target like ``">= 0.9"`` (``None``: nothing to judge)."""
    if value is None or target == "report":
        return None
    op, _, num = target.partition(" ")
    limit = float(num)
    return {">=": value >= limit, "<=": value <= limit, ">": value > limit,
            "<": value < limit}[op]


def median_time(fn: Callable[[], Any], repeats: int,
                setup: Callable[[], Any] | None = None) -> float:
    """Median wall time of ``fn`` over ``repeats`` runs (``setup`` runs untimed before each)."""
    times = []
    for _ in range(max(1, repeats)):
        if setup is not None:
            setup()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def paired_medians(fns: dict[str, Callable[[], Any]], repeats: int,
                   setups: dict[str, Callable[[], Any]] | None = None) -> dict[str, float]:
    """Median wall time of each function, with the repetitions interleaved (A B A B ...).

    On a shared, loaded machine the background load drifts during a run;
    alternating ours and the baseline exposes both to the same drift, so
    their ratio is fairer than with all of A's runs followed by all of B's.
    """
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(max(1, repeats)):
        for name, fn in fns.items():
            if setups and name in setups:
                setups[name]()
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def machine_info() -> dict[str, Any]:
    """CPU, memory, OS and load: what a reader needs to compare two result files."""
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "cpu_count": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "loadavg_start": [round(x, 2) for x in os.getloadavg()],
    }
    try:
        import psutil

        info["memory_GB"] = round(psutil.virtual_memory().total / 1e9, 1)
    except ImportError:  # psutil comes with the dev extra; the figure is optional
        pass
    return info


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def versions() -> dict[str, str]:
    """Versions of the packages whose speed the figures depend on."""
    out = {}
    for name in ("openhcs-gui", "numpy", "zarr", "numcodecs", "tifffile", "imagecodecs",
                 "scikit-image", "scipy", "PySide6-Essentials", "napari"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _fmt(v: float | None) -> str:
    if v is None:
        return "—"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def format_table(figures: list[Figure]) -> str:
    """A plain-text (also valid Markdown) table of the figures."""
    head = ["figure", "ours", "baseline", "unit", "ratio", "target", "met"]
    rows = []
    for f in figures:
        met = {True: "yes", False: "NO", None: ""}[f.met]
        rows.append([f.title, _fmt(f.ours), _fmt(f.baseline), f.unit, _fmt(f.ratio),
                     f.target, met])
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
    line = lambda r: "| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) + " |"  # noqa: E731
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(head), sep, *[line(r) for r in rows]])
