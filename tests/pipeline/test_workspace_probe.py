"""What the GUI asks about workspaces (offer Resume? open a drop as plate or workspace?), without Qt."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pipeline_helpers import STOP, HardStop, counted_copy

from openhcs_gui.config import GlobalPipelineConfig
from openhcs_gui.constants import Backend
from openhcs_gui.pipeline import FunctionStep, Pipeline, WellFinished
from openhcs_gui.pipeline.provenance import JOURNAL_NAME, METADATA_NAME
from openhcs_gui.pipeline.workspace_probe import ResumableRun, classify_drop, find_resumable
from openhcs_gui.plates import open_plate

CALLS_PER_WELL = 2  # one counted_copy per channel group


def _pipeline(log: Path) -> Pipeline:
    return Pipeline([FunctionStep(counted_copy, name="copy", log=str(log), backend=Backend.DISK)])


def test_no_workspace_and_a_completed_run_offer_nothing(plate: Path, cfg: GlobalPipelineConfig,
                                                        tmp_path: Path) -> None:
    index = open_plate(plate)
    assert find_resumable(index, cfg) is None
    _pipeline(tmp_path / "calls.log").run(plate, cfg)
    assert find_resumable(index, cfg) is None


def test_a_run_stopped_hard_is_offered_with_its_completed_wells(plate: Path, cfg: GlobalPipelineConfig,
                                                                tmp_path: Path) -> None:
    cfg.num_workers = 1
    STOP["at"] = 2 * CALLS_PER_WELL + 1  # the third well's first call
    try:
        with pytest.raises(HardStop):
            _pipeline(tmp_path / "calls.log").run(plate, cfg)
    finally:
        STOP["at"] = 0
    found = find_resumable(open_plate(plate), cfg)
    assert found is not None
    assert found.workspace == tmp_path / "out" / "plate_workspace"
    assert found.status == "failed"  # the runner marks an interrupted run failed on its way out
    assert (found.wells_done, found.wells_total) == (2, 4)


@pytest.fixture
def killed_mid_run(plate: Path, cfg: GlobalPipelineConfig, tmp_path: Path) -> Path:
    """The workspace exactly as a kill -9 after some wells leaves it: document + journal, status running."""
    cfg.num_workers = 1
    snapshot = tmp_path / "snapshot"

    def on_event(event: object) -> None:
        journal = tmp_path / "out" / "plate_workspace" / JOURNAL_NAME
        if isinstance(event, WellFinished) and not snapshot.exists() and journal.is_file() \
                and len(journal.read_text().splitlines()) >= 2:
            snapshot.mkdir()
            for name in (METADATA_NAME, JOURNAL_NAME):
                shutil.copy2(journal.with_name(name), snapshot / name)

    result = _pipeline(tmp_path / "calls.log").run(plate, cfg, progress=on_event)
    assert snapshot.is_dir(), "the run never journaled two wells"
    for name in (METADATA_NAME, JOURNAL_NAME):
        shutil.copy2(snapshot / name, result.workspace / name)
    return result.workspace


def test_a_killed_run_counts_the_wells_its_journal_holds(killed_mid_run: Path, plate: Path,
                                                         cfg: GlobalPipelineConfig) -> None:
    doc = json.loads((killed_mid_run / METADATA_NAME).read_text())
    assert doc["status"] == "running"
    journaled = len((killed_mid_run / JOURNAL_NAME).read_text().splitlines())
    found = find_resumable(open_plate(plate), cfg)
    assert found == ResumableRun(killed_mid_run, "killed", journaled, 4)
    assert journaled >= 2


def test_a_run_whose_process_still_lives_is_not_offered(killed_mid_run: Path, plate: Path,
                                                        cfg: GlobalPipelineConfig) -> None:
    meta = killed_mid_run / METADATA_NAME
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) as other:
        try:
            doc = json.loads(meta.read_text())
            doc["pid"] = other.pid
            meta.write_text(json.dumps(doc))
            assert find_resumable(open_plate(plate), cfg) is None
        finally:
            other.kill()


def test_damaged_provenance_offers_nothing(killed_mid_run: Path, plate: Path,
                                           cfg: GlobalPipelineConfig) -> None:
    (killed_mid_run / METADATA_NAME).write_text('{"format": "openhcs-workspace", "status": 3}')
    assert find_resumable(open_plate(plate), cfg) is None


def test_classify_drop(tmp_path: Path, plate: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / METADATA_NAME).write_text("{}")
    note = tmp_path / "note.txt"
    note.write_text("x")
    assert classify_drop([ws / METADATA_NAME]) == ("workspace", ws)
    assert classify_drop([note, ws]) == ("workspace", ws)
    assert classify_drop([plate]) == ("plate", plate)
    with pytest.raises(ValueError, match=r"drop a plate folder or a workspace .*note\.txt"):
        classify_drop([note])
