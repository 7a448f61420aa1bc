"""``openhcs_metadata.json``: what ran, on what, with which settings, and how far it got.

The :class:`ProvenanceWriter` listens to the run's progress events and
rewrites the file atomically (temp file + ``os.replace``) at most once per
``interval`` seconds, plus at the start and the end, so a run killed at any
moment leaves a valid file whose ``status`` says ``running`` and whose
``wells`` say which finished. :func:`open_workspace` reads it back into a
:class:`~openhcs_gui.pipeline.result.RunResult` the GUI can browse.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import threading
import time
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from openhcs_gui._atomic import write_text_atomic
from openhcs_gui.constants import Backend, RunStatus
from openhcs_gui.errors import PipelineError
from openhcs_gui.pipeline.events import (
    ImageWritten,
    ProgressEvent,
    StepFinished,
    WellFailed,
    WellFinished,
)
from openhcs_gui.pipeline.planner import ExecutionPlan
from openhcs_gui.pipeline.result import RunResult, StepOutput, WellError
from openhcs_gui.vfs.keys import parse_image_name

__all__ = [
    "METADATA_NAME", "ProvenanceWriter", "open_workspace", "pipeline_record", "software_versions", "zarr_arrays",
]

METADATA_NAME = "openhcs_metadata.json"
FORMAT = "openhcs-workspace"
_LIBRARIES = ("numpy", "zarr", "numcodecs", "tifffile", "scikit-image", "scipy", "pydantic", "psygnal")


def software_versions() -> dict[str, str]:
    """Versions of Python, openhcs-gui and the libraries that shape the output."""
    out = {"python": sys.version.split()[0], "platform": platform.platform()}
    for name in ("openhcs-gui", *_LIBRARIES):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def pipeline_record(pipeline: Any) -> dict[str, Any]:
    """The pipeline as recorded in provenance (function names + kwargs; labels if unregistered)."""
    try:
        return dict(pipeline.to_dict())
    except (PipelineError, AttributeError):  # unregistered functions: record labels only
        from openhcs_gui.pipeline.step import func_label

        return {"steps": [{"name": s.name, "func": repr(s.func) if not callable(s.func) else func_label(s.func)}
                          for s in pipeline]}


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` to ``path`` via a temp file and ``os.replace`` (never half-written)."""
    # fsync: a well marked completed must survive a power cut, not just a kill
    write_text_atomic(path, json.dumps(data, indent=2, default=str) + "\n", fsync=True)


def zarr_arrays(store: Path) -> list[str]:
    """Relative paths of every array in a zarr store (v2 ``.zarray`` or v3 ``zarr.json``)."""
    found: list[str] = []
    if not store.is_dir():
        return found
    for dirpath, _dirs, files in os.walk(store):
        rel = Path(dirpath).relative_to(store).as_posix()
        if ".zarray" in files:
            found.append(rel)
        elif "zarr.json" in files:
            try:
                meta = json.loads((Path(dirpath) / "zarr.json").read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if meta.get("node_type") == "array":
                found.append(rel)
    return sorted(found)


class ProvenanceWriter:
    """Keeps the provenance document and rewrites it as the run progresses.

    Parameters
    ----------
    workspace
        Workspace root; the file is ``<workspace>/openhcs_metadata.json``.
    cfg, pipeline, plate, plan
        What is recorded as the run's inputs.
    interval
        Minimum seconds between two throttled writes (a finished well is
        always written at once: resuming trusts that record).
    previous
        The document of the run being resumed: its completed wells, their
        file lists and the run history are carried over.
    """

    def __init__(self, workspace: Path, cfg: Any, pipeline: Any, plate: Any, plan: ExecutionPlan,
                 interval: float = 1.0, previous: dict[str, Any] | None = None) -> None:
        self.path = Path(workspace) / METADATA_NAME
        self.interval = interval
        self._lock = threading.Lock()
        self._last = 0.0
        self._t0 = time.perf_counter()
        plate_dict = plate.to_dict() if hasattr(plate, "to_dict") else {"path": str(plate)}
        plate_dict.pop("images", None)  # the image list is the plate's business, not ours
        self.doc: dict[str, Any] = {
            "format": FORMAT,
            "version": 1,
            "status": RunStatus.RUNNING.value,
            "started": _now(),
            "updated": _now(),
            "seconds": 0.0,
            "software": software_versions(),
            "config": cfg.model_dump(mode="json"),
            "pipeline": pipeline_record(pipeline),
            "plate": plate_dict,
            "plan": plan.to_dict(),
            "steps": [
                {"index": s.index, "name": s.name, "function": s.function, "backend": s.backend.value,
                 "folder": s.folder, "image_dir": s.image_dir, "rule": s.rule,
                 "kept_in_memory": s.in_memory and s.drop_after is None,
                 "images": [], "tables": [], "zarr_arrays": []}
                for s in plan.steps
            ],
            "wells": {w: {"status": "pending", "seconds": None, "timings": {}} for w in plate.wells},
            "errors": [],
            "images_written": 0,
            "bytes_written": 0,
            "pid": os.getpid(),
            "host": platform.node(),
            "runs": [],
        }
        if previous is not None:
            self._carry_over(previous)

    def _carry_over(self, prev: dict[str, Any]) -> None:
        """Keep what a resumed workspace already holds: completed wells, files, history."""
        doc = self.doc
        for name, entry in prev.get("wells", {}).items():
            if entry.get("status") == "completed" and name in doc["wells"]:
                doc["wells"][name] = dict(entry)
        for step, old in zip(doc["steps"], prev.get("steps", []), strict=False):
            step["images"] = sorted(set(old.get("images", [])))
            step["tables"] = sorted(set(old.get("tables", [])))
        doc["images_written"] = int(prev.get("images_written", 0))
        doc["bytes_written"] = int(prev.get("bytes_written", 0))
        doc["runs"] = [*prev.get("runs", []), {k: prev.get(k) for k in ("started", "updated", "status", "seconds")}]

    def on_event(self, event: ProgressEvent) -> None:
        """Record one progress event (called from worker threads).

        A finished well is written at once, not throttled: its ``completed``
        status is the durable record that lets a resumed run skip it, and it
        is only emitted after every output of the well was written.
        """
        flush = force = False
        with self._lock:
            if isinstance(event, ImageWritten) and event.step_index >= 0:
                step = self.doc["steps"][event.step_index]
                name = event.path.rsplit("/", 1)[-1]
                if name.endswith(".csv"):
                    step["tables"].append(name)
                else:
                    step["images"].append(name)
                    if event.backend is not Backend.MEMORY:
                        self.doc["images_written"] += 1
                        self.doc["bytes_written"] += event.nbytes
            elif isinstance(event, StepFinished):
                well = self.doc["wells"].setdefault(event.well, {"status": "pending", "timings": {}})
                well["status"] = "running"
                well["timings"][event.step_name] = round(event.seconds, 4)
                flush = True
            elif isinstance(event, WellFailed):
                self.doc["errors"].append(WellError(event.well, event.step_name, event.message,
                                                    event.traceback).to_dict())
                flush = True
            elif isinstance(event, WellFinished):
                well = self.doc["wells"].setdefault(event.well, {"timings": {}})
                failed = any(e["well"] == event.well for e in self.doc["errors"])
                well["status"] = "completed" if event.ok else "failed" if failed else "cancelled"
                well["seconds"] = round(event.seconds, 4)
                well["finished"] = _now()
                force = True
        if flush or force:
            self.write(force=force)

    def write(self, force: bool = True, seconds: float | None = None) -> None:
        """Rewrite the file now (``force``) or if ``interval`` has passed since the last write."""
        with self._lock:
            now = time.perf_counter()
            if not force and now - self._last < self.interval:
                return
            self._last = now
            self.doc["updated"] = _now()
            self.doc["seconds"] = round(now - self._t0 if seconds is None else seconds, 3)
            for step in self.doc["steps"]:
                step["images"] = sorted(set(step["images"]))
                step["tables"] = sorted(set(step["tables"]))
            write_json_atomic(self.path, self.doc)

    def finish(self, status: RunStatus, seconds: float, consolidated: dict[int, list[str]]) -> None:
        """Final write: status, wall time, consolidated tables and zarr array listing."""
        with self._lock:
            self.doc["status"] = status.value
            for step in self.doc["steps"]:
                step["consolidated_tables"] = sorted(consolidated.get(step["index"], []))
                if step["backend"] == Backend.ZARR.value:
                    step["zarr_arrays"] = zarr_arrays(Path(step["image_dir"]))
            self.doc["errors"].sort(key=lambda e: e["well"])
        self.write(force=True, seconds=seconds)


def open_workspace(path: str | os.PathLike[str]) -> RunResult:
    """Read a workspace's ``openhcs_metadata.json`` into a browsable :class:`RunResult`.

    ``status`` comes from the file (``running`` for a run that was killed);
    disk and zarr outputs can be read with ``get_image``, in-memory ones cannot.

    Raises
    ------
    PipelineError
        If the folder has no readable provenance file.
    """
    from openhcs_gui.vfs import FileManager

    root = Path(path)
    meta = root / METADATA_NAME if root.is_dir() else root
    try:
        doc = json.loads(meta.read_text(encoding="utf-8"))
    except OSError as e:
        raise PipelineError(f"{root} is not an OpenHCS workspace: cannot read {meta.name} ({e.strerror or e}).") from e
    except ValueError as e:
        raise PipelineError(f"{meta} is not valid JSON: {e}.") from e
    if doc.get("format") != FORMAT:
        raise PipelineError(f"{meta} is not an OpenHCS workspace file.")
    plan = ExecutionPlan.from_dict(doc["plan"])
    steps = []
    for s in doc["steps"]:
        keys = sorted(parse_image_name(n) for n in s.get("images", []))
        steps.append(StepOutput(
            index=s["index"], name=s["name"], backend=Backend(s["backend"]), folder=Path(s["folder"]),
            image_dir=s["image_dir"], keys=keys,
            tables=[t.removesuffix(".csv") for t in s.get("consolidated_tables", [])],
            kept_in_memory=False,
        ))
    wells = doc.get("wells", {})
    return RunResult(
        status=RunStatus(doc["status"]),
        workspace=meta.parent,
        plan=plan,
        steps=steps,
        errors=[WellError(**e) for e in doc.get("errors", [])],
        timings={w: dict(v.get("timings", {})) for w, v in wells.items()},
        seconds=float(doc.get("seconds", 0.0)),
        filemanager=FileManager(),
        wells=list(wells),
        images_written=int(doc.get("images_written", 0)),
        bytes_written=int(doc.get("bytes_written", 0)),
    )
