"""Resume: a run stopped hard after some wells continues in its workspace, skipping done wells."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import tifffile
from pipeline_helpers import (
    STOP,
    WELLS,
    HardStop,
    counted_copy,
    create_final_dataset,
    detailed_analysis,
)

from openhcs_gui.config import GlobalPipelineConfig
from openhcs_gui.constants import Backend, RunStatus, ZarrCompressor
from openhcs_gui.pipeline import FunctionStep, Pipeline, ResumeError, RunStarted, open_workspace
from openhcs_gui.pipeline.result import read_csv_rows
from openhcs_gui.vfs import ZarrBackend
from openhcs_gui.vfs.keys import ImageKey

CALLS_PER_WELL = 4  # counted_copy: 2 groups (one per channel) in step 1 and in step 3


def _pipeline(log: Path, min_size: int = 20) -> Pipeline:
    return Pipeline([
        FunctionStep(counted_copy, name="pre", log=str(log)),
        FunctionStep(detailed_analysis, name="analysis", force_disk_output=True, min_size=min_size),
        FunctionStep([(counted_copy, {"log": str(log)}), create_final_dataset], name="final",
                     backend=Backend.ZARR),
    ])


def _calls(log: Path) -> int:
    return len(log.read_text().splitlines()) if log.exists() else 0


@pytest.fixture
def stopped(plate: Path, cfg: GlobalPipelineConfig, tmp_path: Path):
    """A run killed in step 3 of the third well: 2 wells done, B01 half-written, B02 untouched."""
    cfg.num_workers = 1  # wells in plate order, so the stop lands in a known place
    log = tmp_path / "calls.log"
    STOP["at"] = 2 * CALLS_PER_WELL + 4
    try:
        with pytest.raises(HardStop):
            _pipeline(log).run(plate, cfg)
    finally:
        STOP["at"] = 0
    ws = tmp_path / "out" / "plate_workspace"
    return ws, log


def test_provenance_records_completed_wells_before_the_stop(stopped) -> None:
    ws, log = stopped
    doc = json.loads((ws / "openhcs_metadata.json").read_text())
    status = {w: e["status"] for w, e in doc["wells"].items()}
    assert status == {"A01": "completed", "A02": "completed", "B01": "cancelled", "B02": "pending"}
    assert "finished" in doc["wells"]["A01"]
    assert (ws / "step2_analysis" / "B01_s1_w1_z1.tif").is_file()  # B01's partial outputs exist
    assert _calls(log) == 2 * CALLS_PER_WELL + 4


def test_resume_completes_every_well_like_an_uninterrupted_run(stopped, plate, cfg, tmp_path) -> None:
    ws, log = stopped
    before = _calls(log)
    result = _pipeline(log).run(plate, cfg, resume=True)
    assert result.status is RunStatus.COMPLETED and result.workspace == ws
    assert result.skipped_wells == ["A01", "A02"]
    assert _calls(log) - before == 2 * CALLS_PER_WELL  # only B01 and B02 were computed again
    assert "Resumed: 2 of 4 wells skipped as already done, 2 run now." in result.summary()

    ref_cfg = cfg.model_copy(deep=True)
    ref_cfg.materialization_defaults.output_path = tmp_path / "reference"
    reference = _pipeline(tmp_path / "ref.log").run(plate, ref_cfg)
    assert reference.status is RunStatus.COMPLETED
    ref_ws = reference.workspace
    tifs = sorted(p.relative_to(ref_ws) for p in (ref_ws / "step2_analysis").glob("*.tif"))
    assert tifs == sorted(p.relative_to(ws) for p in (ws / "step2_analysis").glob("*.tif"))
    for rel in tifs:
        np.testing.assert_array_equal(tifffile.imread(ws / rel), tifffile.imread(ref_ws / rel))
    assert read_csv_rows(ws / "step2_analysis" / "counts.csv") == read_csv_rows(ref_ws / "step2_analysis" / "counts.csv")
    assert result.get_table("analysis", "counts") == reference.get_table("analysis", "counts")
    assert result.step("final").keys == reference.step("final").keys

    store = ws / "step3_final" / "images.zarr"
    plate_meta = json.loads((store / ".zattrs").read_text())["plate"]
    assert sorted(w["path"] for w in plate_meta["wells"]) == ["A/1", "A/2", "B/1", "B/2"]
    reader = ZarrBackend()  # a fresh reader sees the store only through its metadata
    for key in reference.step("final").keys:
        path = f"{store}/{key.filename()}"
        np.testing.assert_array_equal(reader.load(path), reference.get_image("final", key))
    reopened = open_workspace(ws)
    assert reopened.status is RunStatus.COMPLETED
    assert {k.well for k in reopened.step("final").keys} == set(WELLS)
    np.testing.assert_array_equal(reopened.get_image("final", ImageKey("A01", 2, 2)),
                                  reference.get_image("final", ImageKey("A01", 2, 2)))
    doc = json.loads(result.metadata_path.read_text())
    assert {e["status"] for e in doc["wells"].values()} == {"completed"}
    assert doc["status"] == "completed" and len(doc["runs"]) == 1 and doc["runs"][0]["status"] == "failed"


def test_resume_a_workspace_by_path_with_nothing_left_to_do(stopped, plate, cfg) -> None:
    ws, log = stopped
    assert _pipeline(log).run(plate, cfg, resume=ws).status is RunStatus.COMPLETED
    calls = _calls(log)
    events: list[object] = []
    again = _pipeline(log).run(plate, cfg, resume=str(ws / "openhcs_metadata.json"), progress=events.append)
    assert again.status is RunStatus.COMPLETED and again.skipped_wells == WELLS
    assert _calls(log) == calls
    assert [e for e in events if isinstance(e, RunStarted)][0].skipped == len(WELLS)
    assert {r["well"] for r in again.get_table("analysis", "counts")} == set(WELLS)


def test_resume_refuses_a_changed_pipeline(stopped, plate, cfg) -> None:
    ws, log = stopped
    with pytest.raises(ResumeError) as info:
        _pipeline(log, min_size=5).run(plate, cfg, resume=True)
    assert str(info.value) == ("the pipeline changed since this workspace was written "
                               "(step 2 'analysis': kwargs differ); start a new run or use --overwrite.")
    renamed = _pipeline(log)
    renamed[0].name = "prep"
    with pytest.raises(ResumeError, match=r"step 1 'pre': renamed to 'prep'"):
        renamed.run(plate, cfg, resume=ws)


def test_resume_refuses_a_changed_config(stopped, plate, cfg) -> None:
    ws, log = stopped
    cfg.zarr.compressor = ZarrCompressor.LZ4
    with pytest.raises(ResumeError, match=r"configuration changed .*\(zarr.compressor: zstd -> lz4\)"):
        _pipeline(log).run(plate, cfg, resume=True)
    cfg.zarr.compressor = ZarrCompressor.ZSTD
    cfg.materialization_defaults.backend = Backend.DISK
    other = Pipeline([FunctionStep(counted_copy, name="pre", log=str(log)),
                      FunctionStep(detailed_analysis, name="analysis", force_disk_output=True),
                      FunctionStep([(counted_copy, {"log": str(log)}), create_final_dataset], name="final")])
    with pytest.raises(ResumeError, match="pipeline changed"):
        other.run(plate, cfg, resume=True)


def test_resume_errors_before_any_work(plate, cfg, tmp_path) -> None:
    log = tmp_path / "calls.log"
    with pytest.raises(ResumeError, match="No workspace of plate 'plate' to resume"):
        _pipeline(log).run(plate, cfg, resume=True)
    with pytest.raises(ResumeError, match="not an OpenHCS workspace"):
        _pipeline(log).run(plate, cfg, resume=tmp_path)
    with pytest.raises(ResumeError, match="use one of them"):
        _pipeline(log).run(plate, cfg, resume=True, overwrite=True)
    assert _calls(log) == 0
