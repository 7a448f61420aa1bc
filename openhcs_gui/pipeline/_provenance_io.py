"""The one reader of a workspace's provenance: ``openhcs_metadata.json`` plus its journal.

While a run goes, each finished well appends one fsynced JSON line to
:data:`JOURNAL_NAME` beside :data:`METADATA_NAME` (O(1) per well) instead of
rewriting the whole document (O(wells) per well, O(wells²) per run). The run
merges the journal into the document when it ends; a run that was killed
leaves both, and :func:`read_provenance` merges them on reading. A torn last
line (killed mid-write) is ignored: that well simply did not finish.

:func:`read_provenance` also checks every field the engine reads, so a
hand-edited or damaged file gives one sentence naming the field, never a
``KeyError`` deep in the GUI.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from openhcs_gui import _jsonio
from openhcs_gui._atomic import append_line_durable
from openhcs_gui.constants import Backend, RunStatus
from openhcs_gui.errors import PipelineError, StorageError

__all__ = ["FORMAT", "JOURNAL_NAME", "JournalWriter", "METADATA_NAME", "journal_line", "merge_journal",
           "read_provenance", "validate_document"]

log = logging.getLogger(__name__)

METADATA_NAME = "openhcs_metadata.json"
#: Per-well completion records of a run in progress, merged into METADATA_NAME.
JOURNAL_NAME = "openhcs_metadata.journal.jsonl"
FORMAT = "openhcs-workspace"
IDLE_SECONDS = 2.0  #: the journal thread ends after this long without a line to write

_NUM = (int, float)
_TOP: dict[str, tuple[Any, bool]] = {  # key: (types, required)
    "format": (str, True), "status": (str, True), "plan": (dict, True), "steps": (list, True),
    "wells": (dict, True), "errors": (list, False), "pipeline": (dict, False), "config": (dict, False),
    "plate": (dict, False), "images_written": (int, False), "bytes_written": (int, False),
    "seconds": (_NUM, False), "runs": (list, False), "pid": (int, False), "host": (str, False),
    "started": (str, False), "updated": (str, False), "software": (dict, False),
}
_STEP = {"index": (int, True), "name": (str, True), "backend": (str, True), "folder": (str, True),
         "image_dir": (str, True), "images": (list, False), "tables": (list, False),
         "consolidated_tables": (list, False), "zarr_arrays": (list, False)}
_WELL = {"status": (str, False), "seconds": ((*_NUM, type(None)), False), "timings": (dict, False),
         "finished": (str, False)}
_ERROR = {"well": (str, True), "step": (str, True), "message": (str, True), "traceback": (str, False)}
_LINE = {"well": (str, True), "entry": (dict, True), "steps": (dict, True), "errors": (list, True),
         "images_written": (int, True), "bytes_written": (int, True)}


class _Bad(Exception):
    """A field is missing or has the wrong type (message: what and where inside the file)."""


def _type_name(types: Any) -> str:
    names = [t.__name__ for t in (types if isinstance(types, tuple) else (types,))]
    words = {"str": "text", "int": "an integer", "float": "a number", "dict": "an object", "list": "a list",
             "NoneType": "null", "bool": "true/false"}
    return " or ".join(dict.fromkeys(words.get(n, n) for n in names))


def _check(obj: Any, spec: dict[str, tuple[Any, bool]], where: str) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise _Bad(f"{where or 'the top level'} should be an object, not {_type_name(type(obj))}")
    for key, (types, required) in spec.items():
        path = f"{where}.{key}" if where else key
        if key not in obj:
            if required:
                raise _Bad(f"'{path}' is missing")
            continue
        value = obj[key]
        bad_bool = isinstance(value, bool) and bool not in (types if isinstance(types, tuple) else (types,))
        if bad_bool or not isinstance(value, types):
            raise _Bad(f"'{path}' should be {_type_name(types)}, not {_type_name(type(value))}")
    return obj


def _check_strings(values: Any, where: str) -> None:
    if not all(isinstance(v, str) for v in values):
        raise _Bad(f"'{where}' should be a list of text")


def _check_well(name: str, entry: Any, where: str) -> None:
    _check(entry, _WELL, f"{where}.{name}")
    if not all(isinstance(v, _NUM) and not isinstance(v, bool) for v in entry.get("timings", {}).values()):
        raise _Bad(f"'{where}.{name}.timings' should map step names to seconds")


def _validate(doc: Any) -> None:
    _check(doc, _TOP, "")
    if doc["format"] != FORMAT:
        raise _Bad(f"'format' is '{doc['format']}', not '{FORMAT}'")
    if doc["status"] not in {s.value for s in RunStatus}:
        raise _Bad(f"'status' '{doc['status']}' is not one of {', '.join(s.value for s in RunStatus)}")
    backends = {b.value for b in Backend}
    for i, step in enumerate(doc["steps"]):
        _check(step, _STEP, f"steps[{i}]")
        if step["backend"] not in backends:
            raise _Bad(f"'steps[{i}].backend' '{step['backend']}' is not a backend")
        for key in ("images", "tables", "consolidated_tables", "zarr_arrays"):
            _check_strings(step.get(key, []), f"steps[{i}].{key}")
    for name, entry in doc["wells"].items():
        _check_well(name, entry, "wells")
    for i, err in enumerate(doc.get("errors", [])):
        _check(err, _ERROR, f"errors[{i}]")
    for i, run in enumerate(doc.get("runs", [])):
        _check(run, {}, f"runs[{i}]")
    _check(doc.get("pipeline", {}), {"steps": (list, False)}, "pipeline")
    for i, step in enumerate(doc.get("pipeline", {}).get("steps", [])):
        _check(step, {"name": (str, False)}, f"pipeline.steps[{i}]")
    from openhcs_gui.pipeline.planner import ExecutionPlan

    try:
        ExecutionPlan.from_dict(doc["plan"])
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise _Bad(f"'plan' is malformed ({type(e).__name__}: {e})") from e


def validate_document(doc: Any, where: str | os.PathLike[str]) -> dict[str, Any]:
    """Check that ``doc`` has every field the engine reads, with the right types; return it.

    Raises
    ------
    PipelineError
        "<where> is not a valid OpenHCS workspace file: 'wells.A01.timings' should be an object, not a list."
    """
    try:
        _validate(doc)
    except _Bad as e:
        raise PipelineError(f"{where} is not a valid OpenHCS workspace file: {e}.") from None
    return dict(doc)


def journal_line(well: str, entry: dict[str, Any], steps: dict[int, dict[str, list[str]]],
                 errors: list[dict[str, str]], images_written: int, bytes_written: int) -> dict[str, Any]:
    """One journal record: a finished well's entry, its outputs per step, errors and counts."""
    return {"well": well, "entry": entry, "steps": {str(i): v for i, v in steps.items()}, "errors": errors,
            "images_written": images_written, "bytes_written": bytes_written}


class JournalWriter:
    """Appends journal lines from any thread; a background thread writes and fsyncs them in batches.

    :meth:`append` only queues (the run's event lock is never held across a
    disk flush); the drain thread writes every queued line with one
    ``write`` and one ``fsync`` (group commit), so a burst of finished wells
    costs one flush. A line is durable once :meth:`flush` returns; a kill
    before that loses at most the last wells' records (they run again on
    resume), never their outputs' correctness.

    Parameters
    ----------
    path
        The journal file (:data:`JOURNAL_NAME` in the workspace).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.error: StorageError | None = None  #: first failed write (logged once)
        self.io_seconds = 0.0  #: time the drain thread spent writing and flushing
        self._queue: list[str] = []
        self._running = self._busy = self._closed = False
        self._cond = threading.Condition()

    def append(self, line: str) -> None:
        """Queue one JSON line (no newline inside) for writing."""
        with self._cond:
            self._queue.append(line)
            self._cond.notify_all()
            if not self._running:
                self._running = True
                threading.Thread(target=self._drain, name="openhcs-journal", daemon=True).start()

    def _drain(self) -> None:
        """Write batches until the queue stays empty for :data:`IDLE_SECONDS` (then the thread ends)."""
        while True:
            with self._cond:
                self._busy = False
                self._cond.notify_all()
                if not self._queue and not self._closed:
                    self._cond.wait(IDLE_SECONDS)
                if not self._queue:
                    self._running = False
                    self._cond.notify_all()
                    return
                lines, self._queue = self._queue, []
                self._busy = True
            t0 = time.perf_counter()
            try:
                append_line_durable(self.path, "\n".join(lines))
            except StorageError as e:
                if self.error is None:
                    self.error = e
                    log.warning("%s", e)
            self.io_seconds += time.perf_counter() - t0

    def flush(self) -> None:
        """Return once every queued line is written and fsynced (or failed)."""
        with self._cond:
            while self._running and (self._queue or self._busy):
                self._cond.wait()

    def close(self) -> None:
        """Flush, then let the thread end now instead of after :data:`IDLE_SECONDS` (appending restarts it)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self.flush()
        with self._cond:
            self._closed = False


def _apply(doc: dict[str, Any], rec: dict[str, Any], where: str, names: list[dict[str, set[str]]]) -> None:
    """Merge one record into ``doc``; file names go into ``names`` (per step), sorted once by the caller."""
    _check(rec, _LINE, where)
    well, entry = rec["well"], rec["entry"]
    _check_well(well, entry, f"{where}.entry")
    if doc["wells"].get(well) == entry:
        return  # merged before (the run was killed between writing the document and clearing the journal)
    steps = doc["steps"]
    for key, outputs in rec["steps"].items():
        index = int(key) if key.isdigit() else -1
        if not 0 <= index < len(steps):
            raise _Bad(f"'{where}.steps' names step {key!r}, which the workspace does not have")
        _check(outputs, {"images": (list, True), "tables": (list, True)}, f"{where}.steps.{key}")
        for kind in ("images", "tables"):
            _check_strings(outputs[kind], f"{where}.steps.{key}.{kind}")
            names[index][kind].update(outputs[kind])
    for i, err in enumerate(rec["errors"]):
        _check(err, _ERROR, f"{where}.errors[{i}]")
    doc["wells"][well] = dict(entry)
    doc["errors"] = sorted([e for e in doc.get("errors", []) if e["well"] != well] + rec["errors"],
                           key=lambda e: e["well"])
    doc["images_written"] = int(doc.get("images_written", 0)) + rec["images_written"]
    doc["bytes_written"] = int(doc.get("bytes_written", 0)) + rec["bytes_written"]


def merge_journal(doc: dict[str, Any], journal: Path) -> dict[str, Any]:
    """Apply the journal's records to ``doc`` (in place) and return it.

    Records already in ``doc`` are skipped, so merging twice changes nothing.
    A last line that does not parse (torn by a kill) is ignored.

    Raises
    ------
    PipelineError
        A damaged line other than the last, or a record with missing or wrong fields.
    """
    try:
        raw = journal.read_bytes()
    except FileNotFoundError:
        return doc
    except OSError as e:
        raise PipelineError(f"Cannot read {journal}: {e.strerror or e}.") from e
    lines = raw.split(b"\n")
    names = [{kind: set(step.get(kind, [])) for kind in ("images", "tables")} for step in doc["steps"]]
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        last = number == len(lines) or (number == len(lines) - 1 and not lines[-1])
        try:
            rec = _jsonio.loads(line, f"{journal} line {number}", PipelineError)
        except PipelineError:
            if last:
                break  # torn by a kill mid-write: that well did not finish
            raise
        try:
            _apply(doc, rec, f"line {number}", names)
        except _Bad as e:
            raise PipelineError(f"{journal} is not a valid OpenHCS journal: {e}.") from None
    for step, merged in zip(doc["steps"], names, strict=True):
        for kind, values in merged.items():
            step[kind] = sorted(values)
    return doc


def read_provenance(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a workspace's provenance (``path``: the folder or its ``openhcs_metadata.json``).

    Returns the validated document with its journal merged in: what the run
    recorded up to its end, or up to the moment it was killed.

    Raises
    ------
    PipelineError
        No readable provenance file, not JSON, or a field missing / of the
        wrong type (one sentence naming file and field).
    """
    root = Path(path)
    meta = root / METADATA_NAME if root.is_dir() else root
    try:
        raw = meta.read_bytes()
    except OSError as e:
        raise PipelineError(f"{root} is not an OpenHCS workspace: cannot read {meta.name} "
                            f"({e.strerror or e}).") from e
    doc = validate_document(_jsonio.loads(raw, str(meta), PipelineError), meta)
    return merge_journal(doc, meta.with_name(JOURNAL_NAME))
