"""Resuming a run: find its workspace, prove nothing changed, skip the wells already done.

A run killed at hour five leaves a workspace whose ``openhcs_metadata.json``
says, per well, ``completed`` (every step's outputs were written before that
status was written, see :class:`~openhcs_gui.pipeline.provenance.ProvenanceWriter`).
Resuming runs only the other wells into the same workspace. It refuses, in one
sentence, when the pipeline, the output-relevant configuration or the plate
differ from what the workspace was written with, because mixing the outputs
of two different analyses in one plate is worse than losing a night.
"""

from __future__ import annotations

import json
import os
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openhcs_gui.errors import PipelineError
from openhcs_gui.pipeline._provenance_io import JOURNAL_NAME, METADATA_NAME, read_provenance
from openhcs_gui.pipeline.planner import ExecutionPlan, workspace_base
from openhcs_gui.pipeline.provenance import pipeline_record
from openhcs_gui.pipeline.result import read_csv_rows
from openhcs_gui.pipeline.well import WellReport
from openhcs_gui.vfs.keys import parse_image_name

__all__ = ["ResumeError", "ResumeState", "find_workspace", "load_resume_state"]

_AFTER = "; start a new run or use --overwrite."
_PLATE_FIELDS = ("wells", "sites", "channels", "z_planes", "shape", "dtype")
_PLAN_FIELDS = ("name", "backend", "folder", "image_dir", "compression_level")


class ResumeError(PipelineError):
    """The workspace cannot be resumed (missing, busy, or written by another setup)."""


@dataclass(frozen=True)
class ResumeState:
    """What a resumed run starts from: the workspace, its document and the wells done."""

    workspace: Path
    doc: dict[str, Any]
    done: tuple[str, ...]  #: wells whose every step completed, in plate order


def find_workspace(plate: Any, cfg: Any, resume: bool | str | os.PathLike[str]) -> Path:
    """The workspace to resume: ``resume`` itself, or the plate's newest one.

    "Newest" is the ``<plate>_workspace[_N]`` folder under the output root
    whose provenance file was written last.

    Raises
    ------
    ResumeError
        If no such workspace exists.
    """
    if not isinstance(resume, bool):
        path = Path(resume)
        path = path.parent if path.name == METADATA_NAME else path
        if not (path / METADATA_NAME).is_file():
            raise ResumeError(f"Cannot resume {path}: it is not an OpenHCS workspace (no {METADATA_NAME}).")
        return path
    base = workspace_base(plate, cfg)
    found = [p for p in base.parent.glob(f"{base.name}*")
             if (p.name == base.name or p.name[len(base.name) + 1:].isdigit()) and (p / METADATA_NAME).is_file()]
    if not found:
        raise ResumeError(f"No workspace of plate '{base.name.removesuffix('_workspace')}' to resume in "
                          f"{base.parent} (looked for {base.name}*); run without --resume.")
    return max(found, key=_last_written)


def _last_written(workspace: Path) -> int:
    """When the run in ``workspace`` last recorded progress (document or journal)."""
    times = [(workspace / METADATA_NAME).stat().st_mtime_ns]
    if (workspace / JOURNAL_NAME).is_file():
        times.append((workspace / JOURNAL_NAME).stat().st_mtime_ns)
    return max(times)


def _read(workspace: Path) -> dict[str, Any]:
    try:
        return read_provenance(workspace / METADATA_NAME)
    except PipelineError as e:
        raise ResumeError(f"Cannot resume {workspace}: {e}") from e


def _alive(doc: dict[str, Any]) -> bool:
    """True if the run that wrote ``doc`` may still be running on this machine."""
    pid = doc.get("pid")
    if doc.get("status") != "running" or not isinstance(pid, int) or doc.get("host") != platform.node():
        return False
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists but is not ours to signal
        return True
    return True


def _jsonify(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def _names(func: Any) -> Any:
    """A step's function spec with kwargs stripped (which functions, in which shape)."""
    if isinstance(func, dict) and "function" in func:
        return func["function"]
    if isinstance(func, dict):
        return {k: _names(v) for k, v in func.items()}
    if isinstance(func, list):
        return [_names(f) for f in func]
    return func


def _pipeline_change(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> str | None:
    if len(old) != len(new):
        return f"it had {len(old)} steps, now {len(new)}"
    for i, (a, b) in enumerate(zip(old, new, strict=True)):
        where = f"step {i + 1} '{a.get('name')}'"
        if a.get("name") != b.get("name"):
            return f"{where}: renamed to '{b.get('name')}'"
        if a.get("func") != b.get("func"):
            what = "function differs" if _names(a.get("func")) != _names(b.get("func")) else "kwargs differ"
            return f"{where}: {what}"
        for key in sorted(set(a) | set(b)):
            if a.get(key) != b.get(key):
                return f"{where}: {key} differs"
    return None


def _config_change(doc: dict[str, Any], cfg: Any, plan: ExecutionPlan) -> str | None:
    old_steps = doc.get("plan", {}).get("steps", [])
    for a, b in zip(old_steps, _jsonify(plan.to_dict())["steps"], strict=False):
        for key in _PLAN_FIELDS:
            if a.get(key) != b.get(key):
                return f"step {b['index'] + 1} '{b['name']}': {key} {a.get(key)} -> {b.get(key)}"
    if any(s.backend.value == "zarr" for s in plan.steps):
        old, new = doc.get("config", {}).get("zarr", {}), _jsonify(cfg.zarr.model_dump(mode="json"))
        old = old if isinstance(old, dict) else {}
        for key in sorted(set(old) | set(new)):
            if old.get(key) != new.get(key):
                return f"zarr.{key}: {old.get(key)} -> {new.get(key)}"
    return None


def _plate_change(doc: dict[str, Any], plate: Any) -> str | None:
    old = doc.get("plate", {})
    new = _jsonify(plate.to_dict()) if hasattr(plate, "to_dict") else {}
    for key in _PLATE_FIELDS:
        if key in old and key in new and old[key] != new[key]:
            return f"{key} differ"
    return None


def load_resume_state(workspace: Path, pipeline: Any, cfg: Any, plate: Any, plan: ExecutionPlan) -> ResumeState:
    """Read ``workspace`` and check it was written by this pipeline, config and plate.

    Raises
    ------
    ResumeError
        One sentence naming the first difference, e.g. "the pipeline changed
        since this workspace was written (step 2 'background': kwargs differ);
        start a new run or use --overwrite."
    """
    doc = _read(workspace)
    if _alive(doc):
        raise ResumeError(f"Cannot resume {workspace}: the run that writes it is still going "
                          f"(pid {doc['pid']}); wait for it or stop it first.")
    change = _pipeline_change(doc.get("pipeline", {}).get("steps", []),
                              _jsonify(pipeline_record(pipeline)).get("steps", []))
    if change:
        raise ResumeError(f"the pipeline changed since this workspace was written ({change}){_AFTER}")
    change = _config_change(doc, cfg, plan)
    if change:
        raise ResumeError(f"the configuration changed since this workspace was written ({change}){_AFTER}")
    change = _plate_change(doc, plate)
    if change:
        raise ResumeError(f"the plate is not the one this workspace was written for ({change}){_AFTER}")
    wells = doc.get("wells", {})
    done = tuple(w for w in plate.wells if wells.get(w, {}).get("status") == "completed")
    return ResumeState(workspace, doc, done)


def skipped_report(state: ResumeState, well: str, plan: ExecutionPlan) -> WellReport:
    """A completed well's report rebuilt from the workspace (keys, timings, per-well tables)."""
    entry = state.doc["wells"][well]
    report = WellReport(well, timings=dict(entry.get("timings", {})), seconds=float(entry.get("seconds") or 0.0))
    prefix = f"{well}_"
    for sp, step in zip(plan.steps, state.doc.get("steps", []), strict=False):
        report.keys[sp.index] = sorted(parse_image_name(n) for n in step.get("images", []) if n.startswith(prefix))
        tables = {}
        for name in step.get("tables", []):
            if name.startswith(prefix) and name.endswith(".csv"):
                path = Path(sp.folder) / name
                tables[name[len(prefix):-4]] = read_csv_rows(path) if path.is_file() else []
        report.tables[sp.index] = tables
    return report
