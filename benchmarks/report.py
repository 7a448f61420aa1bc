"""Render a results JSON as the Markdown used in ``benchmarks/README.md``.

``python -m benchmarks.report [benchmarks/results/latest.json]`` prints the
machine line, the full figure table (with notes) and the skipped groups, so
the README is pasted from the file rather than retyped from a terminal.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from benchmarks._core import _fmt

__all__ = ["render"]


def render(doc: dict[str, Any]) -> str:
    """Markdown for one results document."""
    m, p = doc["machine"], doc["plate"]
    lines = [
        f"Run {doc['created']} (`{doc['command']}`, {doc['seconds']:.0f} s): "
        f"{m['cpu_count']} × {m['cpu_model']}, {m.get('memory_GB', '?')} GB RAM, "
        f"{m['platform']}, Python {m['python']}; load average {m['loadavg_start']} at the "
        f"start, {m['loadavg_end']} at the end.",
        "",
        f"Plate: {p['wells']} wells × {p['sites']} sites × {p['channels']} channels × "
        f"{p['shape'][0]}×{p['shape'][1]} {p['dtype']} = {p['raw_MB']} MB raw "
        f"({p['images']} images). {doc['method']['repeats']}; page cache "
        f"{doc['method']['page_cache']}.",
        "",
        "| figure | ours | baseline | unit | ratio | target | met | notes |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for f in doc["figures"].values():
        met = {True: "yes", False: "**no**", None: ""}[f["met"]]
        note = "; ".join(x for x in (f["ratio_note"] if f["target"] != "report" or f["ratio"]
                                     is not None else "", f["note"]) if x)
        lines.append(f"| {f['title']} | {_fmt(f['ours'])} | {_fmt(f['baseline'])} | "
                     f"{f['unit']} | {_fmt(f['ratio'])} | {f['target']} | {met} | {note} |")
    for g, why in doc.get("skipped", {}).items():
        lines.append(f"\nSkipped `{g}`: {why}")
    for g in doc.get("failed", {}):
        lines.append(f"\nFailed `{g}` (traceback in the JSON).")
    v = doc["versions"]
    lines.append("\nVersions: " + ", ".join(f"{k} {x}" for k, x in v.items()))
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """Print the Markdown of the given (or latest) results file."""
    path = Path(argv[0]) if argv else Path(__file__).resolve().parent / "results" / "latest.json"
    print(render(json.loads(path.read_text(encoding="utf-8"))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
