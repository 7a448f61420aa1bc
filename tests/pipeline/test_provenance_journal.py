"""Provenance: per-well journal (O(wells) bytes), torn lines, strict JSON, validated reads, full disk."""

from __future__ import annotations

import errno
import json
import logging
import os
from pathlib import Path

import pytest
from pipeline_helpers import WELLS

from openhcs_gui import cli
from openhcs_gui.config import GlobalPipelineConfig
from openhcs_gui.constants import Backend, RunStatus
from openhcs_gui.errors import PipelineError
from openhcs_gui.functions import get_function
from openhcs_gui.pipeline import FunctionStep, Pipeline, open_workspace
from openhcs_gui.pipeline import provenance as prov_mod
from openhcs_gui.pipeline.events import ImageWritten, StepFinished, WellFailed, WellFinished
from openhcs_gui.pipeline.planner import plan_pipeline
from openhcs_gui.pipeline.provenance import (
    JOURNAL_NAME,
    METADATA_NAME,
    ProvenanceWriter,
    read_provenance,
)
from openhcs_gui.plates import open_plate


def _pipeline() -> Pipeline:
    return Pipeline([FunctionStep(get_function("gaussian_blur").func, name="blur", sigma=1.0,
                                  backend=Backend.DISK)])


def _writer(plate: Path, cfg: GlobalPipelineConfig, ws: Path) -> ProvenanceWriter:
    ws.mkdir(parents=True, exist_ok=True)
    index = open_plate(plate)
    plan = plan_pipeline(list(_pipeline()), index, cfg, workspace=ws)
    writer = ProvenanceWriter(ws, cfg, _pipeline(), index, plan)
    writer.write(force=True)
    return writer


def _finish_well(writer: ProvenanceWriter, well: str, ok: bool = True) -> None:
    writer.on_event(ImageWritten(f"/x/step1_blur/{well}_s1_w1_z1.tif", Backend.DISK, 100, step_index=0))
    writer.on_event(StepFinished(0, "blur", well, 0.5))
    if not ok:
        writer.on_event(WellFailed(well, "blur", "boom", "tb"))
    writer.on_event(WellFinished(well, ok, 0.5))
    writer.flush()  # the journal thread has written and fsynced the line


def test_the_document_is_written_twice_per_run_whatever_the_well_count(plate, cfg, monkeypatch) -> None:
    writes: list[Path] = []
    real = prov_mod.write_json_atomic
    monkeypatch.setattr(prov_mod, "write_json_atomic", lambda path, data: (writes.append(path), real(path, data)))
    result = _pipeline().run(plate, cfg)
    assert result.status is RunStatus.COMPLETED
    assert len(writes) == 2  # start and end; each well is one journal line, not a rewrite of everything
    ws = result.workspace
    assert not (ws / JOURNAL_NAME).exists()  # merged into the document at the end
    doc = json.loads((ws / METADATA_NAME).read_text())
    assert {w: e["status"] for w, e in doc["wells"].items()} == dict.fromkeys(WELLS, "completed")
    assert doc["images_written"] == result.images_written == 16


def test_a_killed_run_is_read_from_document_plus_journal_and_a_torn_line_is_ignored(plate, cfg, tmp_path) -> None:
    ws = tmp_path / "ws"
    writer = _writer(plate, cfg, ws)
    _finish_well(writer, "A01")
    _finish_well(writer, "A02", ok=False)
    with open(ws / JOURNAL_NAME, "a", encoding="utf-8") as fh:  # kill -9 in the middle of B01's line
        fh.write('{"well": "B01", "entry": {"status": "compl')
    # no finish(): the process died; the document itself still says every well is pending
    raw = json.loads((ws / METADATA_NAME).read_text())
    assert {e["status"] for e in raw["wells"].values()} == {"pending"}

    doc = read_provenance(ws)
    assert doc["status"] == "running"
    assert {w: e["status"] for w, e in doc["wells"].items()} == {
        "A01": "completed", "A02": "failed", "B01": "pending", "B02": "pending"}
    assert doc["steps"][0]["images"] == ["A01_s1_w1_z1.tif", "A02_s1_w1_z1.tif"]
    assert [e["well"] for e in doc["errors"]] == ["A02"] and doc["images_written"] == 2
    result = open_workspace(ws)
    assert [e.well for e in result.errors] == ["A02"] and result.timings["A01"] == {"blur": 0.5}


def test_merging_twice_counts_nothing_twice(plate, cfg, tmp_path) -> None:
    ws = tmp_path / "ws"
    writer = _writer(plate, cfg, ws)
    _finish_well(writer, "A01")
    journal = (ws / JOURNAL_NAME).read_bytes()
    writer.finish(RunStatus.COMPLETED, 1.0, {})
    (ws / JOURNAL_NAME).write_bytes(journal)  # killed after the final write, before clearing the journal
    doc = read_provenance(ws)
    assert doc["images_written"] == 1 and doc["steps"][0]["images"] == ["A01_s1_w1_z1.tif"]


def test_a_damaged_line_before_the_last_is_an_error_naming_the_line(plate, cfg, tmp_path) -> None:
    ws = tmp_path / "ws"
    writer = _writer(plate, cfg, ws)
    _finish_well(writer, "A01")
    lines = (ws / JOURNAL_NAME).read_text().splitlines()
    (ws / JOURNAL_NAME).write_text("garbage\n" + "\n".join(lines) + "\n")
    with pytest.raises(PipelineError, match="line 1"):
        read_provenance(ws)
    (ws / JOURNAL_NAME).write_text(json.dumps({"well": "A01", "entry": [], "steps": {}, "errors": [],
                                               "images_written": 0, "bytes_written": 0}) + "\n")
    with pytest.raises(PipelineError, match=r"'line 1\.entry' should be an object, not a list"):
        read_provenance(ws)


def test_provenance_never_holds_nan_and_says_which_field(tmp_path, caplog) -> None:
    path = tmp_path / METADATA_NAME
    with caplog.at_level(logging.WARNING, logger="openhcs_gui"):
        prov_mod.write_json_atomic(path, {"pipeline": {"steps": [{"kwargs": {"sigma": float("nan")}}]},
                                          "seconds": float("inf"), "ok": 1.5})
    text = path.read_text()
    assert "NaN" not in text and "Infinity" not in text
    doc = json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} written"))
    assert doc["pipeline"]["steps"][0]["kwargs"]["sigma"] is None and doc["ok"] == 1.5
    assert "pipeline.steps[0].kwargs.sigma" in caplog.text and "seconds" in caplog.text


def _fsync_fails_for(name: str, code: int, monkeypatch: pytest.MonkeyPatch) -> None:
    real = os.fsync

    def fsync(fd: int) -> None:
        if name in os.readlink(f"/proc/self/fd/{fd}"):
            raise OSError(code, os.strerror(code))
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)


def test_disk_full_while_writing_provenance_is_one_line_exit_2(plate, tmp_path, monkeypatch, capsys) -> None:
    _fsync_fails_for(METADATA_NAME, errno.ENOSPC, monkeypatch)
    code = cli.main(["run", str(plate), "--output", str(tmp_path / "o"), "-q"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    ws = tmp_path / "o" / "plate_workspace"
    assert err.startswith(f"openhcs-gui: error: Disk full: cannot write {ws}/{METADATA_NAME}")
    assert ".tmp" not in err


def test_disk_full_in_the_journal_is_logged_once_and_the_final_write_records_all(plate, cfg, monkeypatch,
                                                                                 caplog) -> None:
    _fsync_fails_for(JOURNAL_NAME, errno.ENOSPC, monkeypatch)
    with caplog.at_level(logging.WARNING, logger="openhcs_gui"):
        result = _pipeline().run(plate, cfg)
    assert result.status is RunStatus.COMPLETED
    assert caplog.text.count("Disk full: cannot write") == 1 and JOURNAL_NAME in caplog.text
    doc = read_provenance(result.workspace)
    assert {e["status"] for e in doc["wells"].values()} == {"completed"}


def test_resume_into_a_read_only_workspace_names_the_folder(plate, tmp_path, monkeypatch, capsys) -> None:
    import openhcs_gui._atomic as atomic

    out = tmp_path / "o"
    assert cli.main(["run", str(plate), "--output", str(out), "-q"]) == 0
    ws = out / "plate_workspace"
    doc = json.loads((ws / METADATA_NAME).read_text())
    doc["status"], doc["wells"]["B02"]["status"] = "failed", "failed"
    (ws / METADATA_NAME).write_text(json.dumps(doc))

    def read_only_open(path, mode="r", *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        if "w" in mode and Path(path).parent == ws:  # what a chmod -w folder does to a non-root user
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return open(path, mode, *args, **kwargs)

    monkeypatch.setattr(atomic, "open", read_only_open, raising=False)
    capsys.readouterr()
    code = cli.main(["run", str(plate), "--output", str(out), "--resume"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert err == (f"openhcs-gui: error: Folder {ws} is not writable: cannot write {METADATA_NAME} "
                   f"(Permission denied).\n")


def test_a_slow_disk_flush_never_holds_up_the_wells(plate, cfg, tmp_path, monkeypatch) -> None:
    import threading

    ws = tmp_path / "ws"
    writer = _writer(plate, cfg, ws)
    release, entered = threading.Event(), threading.Event()
    real = os.fsync

    def slow_fsync(fd: int) -> None:
        if JOURNAL_NAME in os.readlink(f"/proc/self/fd/{fd}"):
            entered.set()
            assert release.wait(10)
        real(fd)

    monkeypatch.setattr(os, "fsync", slow_fsync)
    writer.on_event(WellFinished("A01", True, 0.5))  # returns while the disk is still flushing
    assert entered.wait(10)
    writer.on_event(WellFinished("A02", True, 0.5))  # queued behind the flush: the next batch
    release.set()
    writer.flush()
    lines = [json.loads(x) for x in (ws / JOURNAL_NAME).read_text().splitlines()]
    assert [rec["well"] for rec in lines] == ["A01", "A02"]
