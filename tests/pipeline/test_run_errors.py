"""What goes wrong: cancel, a failing well, bad output folder, corrupt input, reruns, memory."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import tifffile
from pipeline_helpers import SITES, WELLS, detailed_analysis, must_vary, preprocess, slow_copy, tree

from openhcs_gui.constants import Backend, RunStatus
from openhcs_gui.errors import NotWritableError, PathExistsError, PathNotFoundError, PlateError
from openhcs_gui.pipeline import CancelToken, FunctionStep, Pipeline, StepFinished, open_workspace
from openhcs_gui.vfs.keys import ImageKey


def _hidden_files(root: Path) -> list[Path]:
    return [p for p in root.rglob(".*") if ".zarr" not in p.as_posix()]


def test_cancel_mid_run_keeps_written_files_valid(plate, cfg) -> None:
    cfg.num_workers = 1
    token = CancelToken()

    def on_event(event: object) -> None:
        if isinstance(event, StepFinished):
            token.cancel()

    pipeline = Pipeline([
        FunctionStep(slow_copy, name="first", force_disk_output=True, delay=0.01),
        FunctionStep(slow_copy, name="second", delay=0.01),
        FunctionStep(slow_copy, name="third", backend=Backend.ZARR, delay=0.01),
    ])
    result = pipeline.run(plate, cfg, progress=on_event, cancel=token)
    assert result.status is RunStatus.CANCELLED
    assert not result.errors
    ws = result.workspace
    written = tree(ws) - {"openhcs_metadata.json"}
    assert written == {f"step1_first/A01_s{s}_w{c}_z1.tif" for s in (1, 2) for c in (1, 2)}
    for name in written:  # complete, readable files equal to the input
        key = ImageKey("A01", int(name.split("_s")[1][0]), int(name.split("_w")[1][0]))
        original = tifffile.imread(plate / "TimePoint_1" / f"A01_s{key.site}_w{key.channel}.tif")
        np.testing.assert_array_equal(tifffile.imread(ws / name), original)
    assert not _hidden_files(ws)
    doc = json.loads((ws / "openhcs_metadata.json").read_text())
    assert doc["status"] == "cancelled"
    assert doc["wells"]["A01"]["status"] == "cancelled" and doc["wells"]["A01"]["timings"] == {"first": pytest.approx(
        doc["wells"]["A01"]["timings"]["first"])}
    assert open_workspace(ws).status is RunStatus.CANCELLED


def test_failing_step_on_one_well(plate, cfg) -> None:
    for site in range(1, SITES + 1):  # a dead camera in well A02, channel 1
        tifffile.imwrite(plate / "TimePoint_1" / f"A02_s{site}_w1.tif", np.full((128, 128), 7, np.uint16))
    pipeline = Pipeline([
        FunctionStep(preprocess, name="pre", force_disk_output=True),
        FunctionStep(must_vary, name="check", force_disk_output=True),
        FunctionStep(detailed_analysis, name="count"),
    ])
    result = pipeline.run(plate, cfg)
    assert result.status is RunStatus.FAILED
    [error] = result.errors
    assert (error.well, error.step) == ("A02", "check")
    assert "constant image" in error.message and "must_vary" in error.traceback
    files = tree(result.workspace)
    assert "step1_pre/A02_s1_w1_z1.tif" in files  # written before the error, kept
    assert not any(f.startswith("step2_check/A02") or f.startswith("step3_count/A02") for f in files)
    assert {r["well"] for r in result.get_table("count", "counts")} == {"A01", "B01", "B02"}
    assert "1 well(s) failed: A02 at 'check': ValueError: constant image" in result.summary()
    doc = json.loads(result.metadata_path.read_text())
    assert doc["status"] == "failed" and doc["wells"]["A02"]["status"] == "failed"
    assert doc["errors"][0]["well"] == "A02" and doc["errors"][0]["step"] == "check"


def test_unwritable_output_folder_fails_before_any_work(plate, cfg, tmp_path) -> None:
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where the output folder should be")
    cfg.materialization_defaults.output_path = blocker / "results"
    events: list[object] = []
    with pytest.raises(NotWritableError, match="not_a_folder/results is not writable"):
        Pipeline([FunctionStep(preprocess)]).run(plate, cfg, progress=events.append)
    assert events == []


def test_corrupt_input_tiff_fails_only_that_well(plate, cfg) -> None:
    bad = plate / "TimePoint_1" / "B01_s2_w2.tif"
    bad.write_bytes(b"II*\x00 this is not really a tiff" * 4)
    result = Pipeline([FunctionStep(preprocess, name="pre", force_disk_output=True)]).run(plate, cfg)
    assert result.status is RunStatus.FAILED
    [error] = result.errors
    assert error.well == "B01" and error.step == "input"
    assert "Cannot read input image" in error.message and "B01_s2_w2.tif" in error.message
    assert {k.well for k in result.step("pre").keys} == {"A01", "A02", "B02"}


def test_missing_plate_is_a_plate_error(tmp_path, cfg) -> None:
    with pytest.raises(PlateError, match="does not exist"):
        Pipeline([FunctionStep(preprocess)]).run(tmp_path / "nowhere", cfg)


def test_no_silent_overwrite(plate, cfg) -> None:
    pipeline = Pipeline([FunctionStep(preprocess, name="pre", force_disk_output=True)])
    first = pipeline.run(plate, cfg)
    marker = first.workspace / "step1_pre" / "A01_s1_w1_z1.tif"
    before = marker.stat().st_mtime_ns
    second = pipeline.run(plate, cfg)
    assert second.workspace == first.workspace.with_name("plate_workspace_2")
    assert marker.stat().st_mtime_ns == before
    third = pipeline.run(plate, cfg, overwrite=True)
    assert third.workspace == first.workspace
    assert json.loads(third.metadata_path.read_text())["status"] == "completed"
    shutil.rmtree(first.workspace)  # a folder of the same name that is *not* a workspace
    first.workspace.mkdir()
    (first.workspace / "thesis.docx").write_text("precious")
    with pytest.raises(PathExistsError, match="not an OpenHCS workspace"):
        pipeline.run(plate, cfg, overwrite=True)
    assert (first.workspace / "thesis.docx").read_text() == "precious"


@pytest.mark.parametrize("keep", [False, True])
def test_intermediates_are_dropped_unless_kept(plate, cfg, keep: bool) -> None:
    cfg.num_workers = 1
    cfg.keep_intermediates = keep
    peaks: list[int] = []
    pipeline = Pipeline([
        FunctionStep(preprocess, name="m1"),
        FunctionStep(preprocess, name="m2", offset=1),
        FunctionStep(preprocess, name="m3", offset=2),
        FunctionStep(preprocess, name="final", force_disk_output=True),
    ])
    holder: dict[str, object] = {}

    def on_event(event: object) -> None:
        if isinstance(event, StepFinished) and "fm" in holder:
            peaks.append(holder["fm"].backend(Backend.MEMORY).nbytes)  # type: ignore[attr-defined]

    from openhcs_gui.pipeline import runner

    original = runner._make_filemanager

    def spy(*args: object) -> object:
        holder["fm"] = original(*args)  # type: ignore[arg-type]
        return holder["fm"]

    runner._make_filemanager = spy  # type: ignore[assignment]
    try:
        result = pipeline.run(plate, cfg, progress=on_event)
    finally:
        runner._make_filemanager = original  # type: ignore[assignment]
    memory = result.filemanager.backend(Backend.MEMORY)
    one_step_one_well = SITES * 2 * 128 * 128 * 2  # sites x channels x pixels x uint16
    key = ImageKey("B02", 2, 2)
    if keep:
        assert memory.nbytes == 3 * len(WELLS) * one_step_one_well
        assert result.get_image("m2", key).shape == (128, 128)
    else:
        assert memory.nbytes == 0
        assert max(peaks) <= 2 * one_step_one_well  # never more than a step's input + output
        with pytest.raises(PathNotFoundError, match="dropped"):
            result.get_image("m2", key)
    np.testing.assert_array_equal(result.get_image("final", key),
                                  tifffile.imread(Path(result.step("final").path_of(key))))


def test_provenance_is_valid_while_running(plate, cfg) -> None:
    seen: list[dict] = []

    def on_event(event: object) -> None:
        if isinstance(event, StepFinished) and not seen:
            ws = cfg.materialization_defaults.output_path / "plate_workspace"
            seen.append(json.loads((ws / "openhcs_metadata.json").read_text()))

    Pipeline([FunctionStep(preprocess, name="p", force_disk_output=True)]).run(plate, cfg, progress=on_event)
    [doc] = seen
    assert doc["status"] == "running" and doc["format"] == "openhcs-workspace"
    assert doc["plan"]["steps"][0]["backend"] == "disk" and set(doc["wells"]) == set(WELLS)
