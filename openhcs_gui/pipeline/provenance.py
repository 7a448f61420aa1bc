"""``openhcs_metadata.json``: what ran, on what, with which settings, and how far it got.

The :class:`ProvenanceWriter` listens to the run's progress events. It writes
the document atomically (temp file + ``os.replace``) at the start and the end;
in between each finished well appends one fsynced line to the journal
``openhcs_metadata.journal.jsonl`` (O(1) per well, not a rewrite of the whole
document). A run killed at any moment leaves a valid document whose ``status``
says ``running`` plus a journal saying which wells finished;
:func:`~openhcs_gui.pipeline._provenance_io.read_provenance` merges the two.
:func:`open_workspace` reads them back into a
:class:`~openhcs_gui.pipeline.result.RunResult` the GUI can browse.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import sys
import threading
import time
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from openhcs_gui import _jsonio
from openhcs_gui._atomic import storage_error, write_text_atomic
from openhcs_gui.constants import Backend, RunStatus
from openhcs_gui.errors import PipelineError, StorageError
from openhcs_gui.pipeline._provenance_io import (
    FORMAT,
    JOURNAL_NAME,
    METADATA_NAME,
    JournalWriter,
    journal_line,
    read_provenance,
)
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
    "JOURNAL_NAME", "METADATA_NAME", "ProvenanceWriter", "open_workspace", "pipeline_record", "read_provenance",
    "software_versions", "zarr_arrays",
]

log = logging.getLogger(__name__)
_LIBRARIES = ("numpy", "zarr", "numcodecs", "tifffile", "scikit-image", "scipy", "edt", "pydantic", "psygnal")


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
    """Write ``data`` to ``path`` via a temp file and ``os.replace`` (never half-written).

    NaN and infinity (not JSON) are written as ``null``, with a warning naming the fields.

    Raises
    ------
    StorageError
        The file cannot be written (names the file; "Disk full" for ENOSPC).
    """
    bad = _jsonio.nonfinite_paths(data)
    if bad:
        log.warning("%s: not a finite number, written as null (JSON has no NaN or infinity): %s.",
                    path, ", ".join(bad[:5]) + (" ..." if len(bad) > 5 else ""))
        data = _jsonio.finite_or_null(data)
    # fsync: the document must survive a power cut, not just a kill
    write_text_atomic(path, _jsonio.dumps(data, str(path), StorageError, default=str) + "\n", fsync=True)


def zarr_arrays(store: Path) -> list[str]:
    """Relative paths of every array in a zarr store (v2 ``.zarray`` or v3 ``zarr.json``).

    An array's own folder (its chunk tree) is not descended into, so the
    cost grows with the number of arrays, not of chunks.
    """
    found: list[str] = []
    root = os.fspath(store)
    if not os.path.isdir(root):
        return found
    for dirpath, dirs, files in os.walk(root):
        rel = os.path.relpath(dirpath, root).replace(os.sep, "/")
        if ".zarray" in files:
            found.append(rel)
            dirs.clear()
        elif "zarr.json" in files:
            try:
                with open(os.path.join(dirpath, "zarr.json"), encoding="utf-8") as fh:
                    meta = json.load(fh)
            except (OSError, ValueError):
                continue
            if isinstance(meta, dict) and meta.get("node_type") == "array":
                found.append(rel)
                dirs.clear()
    return sorted(found)


class ProvenanceWriter:
    """Keeps the provenance document; journals each finished well, writes the document at start and end.

    A finished well costs one line appended to :data:`JOURNAL_NAME` (its
    entry, outputs and errors; written and fsynced in batches by a background
    thread, see :class:`JournalWriter`), so a run of N wells writes O(N) bytes in
    total; the whole document is written only by :meth:`write` (the runner
    calls it at the start) and :meth:`finish`. After each full write the
    journal is removed: the document then holds everything it said.

    Parameters
    ----------
    workspace
        Workspace root; the file is ``<workspace>/openhcs_metadata.json``.
    cfg, pipeline, plate, plan
        What is recorded as the run's inputs.
    interval
        Minimum seconds between two ``write(force=False)`` calls that really write.
    previous
        The document of the run being resumed (as :func:`read_provenance`
        returns it, journal merged): its completed wells, their file lists and
        the run history are carried over.
    """

    def __init__(self, workspace: Path, cfg: Any, pipeline: Any, plate: Any, plan: ExecutionPlan,
                 interval: float = 1.0, previous: dict[str, Any] | None = None) -> None:
        self.path = Path(workspace) / METADATA_NAME
        self.journal = Path(workspace) / JOURNAL_NAME
        self._journal = JournalWriter(self.journal)
        self.interval = interval
        self._lock = threading.Lock()
        self._last = 0.0
        self._t0 = time.perf_counter()
        self._pending: dict[str, dict[str, Any]] = {}  # well -> outputs and counts since it started
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

    def _well(self, well: str) -> dict[str, Any]:
        return self._pending.setdefault(well, {"steps": {}, "images_written": 0, "bytes_written": 0})

    def on_event(self, event: ProgressEvent) -> None:
        """Record one progress event (called from worker threads).

        A finished well is journaled at once (one line, fsynced by the
        journal thread within one disk flush): its ``completed`` status is the
        durable record that lets a resumed run skip it, and it is only
        emitted after every output of the well was written. A failed append
        is logged and kept in :attr:`error`; it is not raised into the worker
        (the final :meth:`finish` writes all).
        """
        with self._lock:
            if isinstance(event, ImageWritten) and event.step_index >= 0:
                step = self.doc["steps"][event.step_index]
                name = event.path.rsplit("/", 1)[-1]
                pending = self._well(name.split("_", 1)[0])
                outputs = pending["steps"].setdefault(event.step_index, {"images": [], "tables": []})
                kind = "tables" if name.endswith(".csv") else "images"
                step[kind].append(name)
                outputs[kind].append(name)
                if kind == "images" and event.backend is not Backend.MEMORY:
                    for counts in (self.doc, pending):
                        counts["images_written"] += 1
                        counts["bytes_written"] += event.nbytes
            elif isinstance(event, StepFinished):
                well = self.doc["wells"].setdefault(event.well, {"status": "pending", "timings": {}})
                well["status"] = "running"
                well["timings"][event.step_name] = round(event.seconds, 4)
            elif isinstance(event, WellFailed):
                self.doc["errors"].append(WellError(event.well, event.step_name, event.message,
                                                    event.traceback).to_dict())
            elif isinstance(event, WellFinished):
                self._finish_well(event)

    def _finish_well(self, event: WellFinished) -> None:
        """Update the well's entry and journal it (caller holds the lock)."""
        well = self.doc["wells"].setdefault(event.well, {"timings": {}})
        errors = [e for e in self.doc["errors"] if e["well"] == event.well]
        well["status"] = "completed" if event.ok else "failed" if errors else "cancelled"
        well["seconds"] = round(event.seconds, 4)
        well["finished"] = _now()
        if event.host:  # the process that ran the well (a dask worker on a distributed run)
            well["host"], well["pid"] = event.host, event.pid
        pending = self._pending.pop(event.well, None) or {"steps": {}, "images_written": 0, "bytes_written": 0}
        steps = {i: {k: sorted(set(v)) for k, v in out.items()} for i, out in pending["steps"].items()}
        record = journal_line(event.well, well, steps, errors, pending["images_written"], pending["bytes_written"])
        self._journal.append(_jsonio.dumps(_jsonio.finite_or_null(record), str(self.journal), StorageError,
                                           indent=None, default=str))

    @property
    def error(self) -> StorageError | None:
        """The first journal write that failed (logged once; the final document records everything)."""
        return self._journal.error

    def flush(self) -> None:
        """Wait until every finished well's journal line is on disk (fsynced)."""
        self._journal.flush()

    def write(self, force: bool = True, seconds: float | None = None) -> None:
        """Rewrite the whole document now (``force``) or if ``interval`` has passed since the last write.

        Raises
        ------
        StorageError
            The file cannot be written: "Disk full: cannot write <path>" or
            "Folder <workspace> is not writable" (a ``NotWritableError``).
        """
        self._journal.flush()  # the document replaces the journal: nothing may be appended after it
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
            try:  # the document now holds every journaled well
                self.journal.unlink(missing_ok=True)
            except OSError as e:
                raise storage_error(e, self.journal) from e

    def finish(self, status: RunStatus, seconds: float, consolidated: dict[int, list[str]]) -> None:
        """Final write: status, wall time, consolidated tables and zarr array listing."""
        with self._lock:
            self.doc["status"] = status.value
            for step in self.doc["steps"]:
                step["consolidated_tables"] = sorted(consolidated.get(step["index"], []))
                if step["backend"] == Backend.ZARR.value:
                    step["zarr_arrays"] = zarr_arrays(Path(step["image_dir"]))
            self.doc["errors"].sort(key=lambda e: e["well"])
        self._journal.close()
        self.write(force=True, seconds=seconds)


def open_workspace(path: str | os.PathLike[str]) -> RunResult:
    """Read a workspace's provenance (journal merged) into a browsable :class:`RunResult`.

    ``status`` comes from the file (``running`` for a run that was killed);
    disk and zarr outputs can be read with ``get_image``, in-memory ones cannot.

    Raises
    ------
    PipelineError
        If the folder has no readable provenance file, or one with missing or
        wrongly typed fields (names the field).
    """
    from openhcs_gui.vfs import FileManager

    root = Path(path)
    meta = root / METADATA_NAME if root.is_dir() else root
    doc = read_provenance(meta)
    steps = [
        StepOutput(
            index=s["index"], name=s["name"], backend=Backend(s["backend"]), folder=Path(s["folder"]),
            image_dir=s["image_dir"], keys=sorted(parse_image_name(n) for n in s.get("images", [])),
            tables=[t.removesuffix(".csv") for t in s.get("consolidated_tables", [])],
            kept_in_memory=False, with_time=bool(p.get("with_time", False)),
        )
        for s, p in zip(doc["steps"], _plan_steps(doc), strict=False)
    ]
    wells = doc["wells"]
    return RunResult(
        status=RunStatus(doc["status"]),
        workspace=meta.parent,
        plan=ExecutionPlan.from_dict(doc["plan"]),
        steps=steps,
        errors=[WellError(e["well"], e["step"], e["message"], e.get("traceback", "")) for e in doc.get("errors", [])],
        timings={w: dict(v.get("timings", {})) for w, v in wells.items()},
        seconds=float(doc.get("seconds", 0.0)),
        filemanager=FileManager(),
        wells=list(wells),
        images_written=int(doc.get("images_written", 0)),
        bytes_written=int(doc.get("bytes_written", 0)),
    )


def _plan_steps(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The plan's step records, padded with ``{}`` to one per provenance step."""
    steps = list((doc.get("plan") or {}).get("steps") or [])
    return steps + [{}] * (len(doc["steps"]) - len(steps))
