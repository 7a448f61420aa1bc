"""Where a run writes: relative output roots, live and nested workspaces, never inside the plate."""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from pipeline_helpers import create_final_dataset, detailed_analysis, preprocess, slow_copy

from openhcs_gui.config import GlobalPipelineConfig, MaterializationConfig, load_config
from openhcs_gui.constants import Backend, RunStatus
from openhcs_gui.errors import ConfigFileError, InvalidPathError, PathExistsError, StorageError
from openhcs_gui.pipeline import FunctionStep, Pipeline, ResumeError, plan_pipeline, run_pipeline
from openhcs_gui.pipeline import runner as runner_module
from openhcs_gui.plates import make_synthetic_plate, open_plate

META = "openhcs_metadata.json"
HELPERS = Path(__file__).parent


def _pipeline() -> Pipeline:
    return Pipeline([
        FunctionStep(preprocess, name="pre", force_disk_output=True),
        FunctionStep(detailed_analysis, name="ana"),
        FunctionStep(create_final_dataset, name="final", backend=Backend.ZARR),
    ])


def _slow(delay: float) -> Pipeline:
    return Pipeline([FunctionStep(slow_copy, name="slow", delay=delay, force_disk_output=True),
                     FunctionStep(create_final_dataset, name="final")])


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def _doc(ws: Path) -> dict[str, Any]:
    return json.loads((ws / META).read_text())


# --- 1. a relative output_path is resolved once, against the working directory ------------------------------


def test_relative_output_path_puts_every_output_under_the_working_directory(
    plate: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    name = f"myout_{tmp_path.name}"  # unique: the old bug wrote to /<name>
    cfg = GlobalPipelineConfig(num_workers=2, materialization_defaults=MaterializationConfig(output_path=name))
    try:
        result = _pipeline().run(plate, cfg)
        assert result.status is RunStatus.COMPLETED
        ws = cwd / name / "plate_workspace"
        assert result.workspace == ws and result.workspace.is_absolute()
        files = _files(ws)
        assert META in files
        assert "step1_pre/A01_s1_w1_z1.tif" in files and "step2_ana/counts.csv" in files
        assert any(f.startswith("step3_final/images.zarr/") for f in files)
        assert not Path("/", name).exists()
    finally:
        shutil.rmtree(Path("/", name), ignore_errors=True)


def test_relative_output_path_from_the_cli(plate: Path, tmp_path: Path) -> None:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    name = f"myout_{tmp_path.name}"
    (cwd / "cfg.json").write_text(json.dumps({"materialization_defaults": {"output_path": name}}))
    try:
        done = subprocess.run([sys.executable, "-m", "openhcs_gui", "run", str(plate), "--config", "cfg.json",
                               "--workers", "2"], capture_output=True, text=True, cwd=cwd, timeout=240)
        assert done.returncode == 0, done.stderr
        ws = cwd / name / "plate_workspace"
        assert f"{ws}/openhcs_metadata.json" in done.stdout
        files = _files(ws)
        assert any(f.startswith("step3_count/images.zarr/") for f in files), sorted(files)[:10]
        assert "step3_count/objects.csv" in files
        assert not Path("/", name).exists()
    finally:
        shutil.rmtree(Path("/", name), ignore_errors=True)


def test_nul_byte_in_output_path_is_a_one_line_config_error(tmp_path: Path) -> None:
    bad = tmp_path / "cfg.json"
    bad.write_text(json.dumps({"materialization_defaults": {"output_path": "out\u0000put"}}))
    with pytest.raises(ConfigFileError, match=r"materialization_defaults\.output_path.*NUL") as info:
        load_config(bad)
    assert str(bad) in str(info.value) and "\n" not in str(info.value)
    done = subprocess.run([sys.executable, "-m", "openhcs_gui", "run", str(tmp_path), "--config", str(bad)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "output_path" in done.stderr


# --- 2. --overwrite never deletes a workspace that is being written, nor a chained run's workspace ----------


def _wait_for_running(ws: Path, deadline: float = 60.0) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            doc = _doc(ws)
        except (OSError, ValueError):
            doc = {}
        if doc.get("status") == "running":
            return
        time.sleep(0.02)
    raise AssertionError(f"the first run never got going in {ws}")


def test_overwrite_refuses_a_workspace_a_thread_is_writing(plate: Path, cfg: GlobalPipelineConfig) -> None:
    cfg.num_workers = 1
    ws = Path(cfg.materialization_defaults.output_path) / "plate_workspace"
    box: dict[str, Any] = {}
    first = threading.Thread(target=lambda: box.setdefault("result", _slow(0.1).run(plate, cfg)))
    first.start()
    try:
        _wait_for_running(ws)
        with pytest.raises(PathExistsError, match="still writing it") as info:
            _slow(0.0).run(plate, cfg, overwrite=True)
        assert str(ws) in str(info.value)
        with pytest.raises(ResumeError, match="still writing it"):  # nor may a resume write into it
            _slow(0.1).run(plate, cfg, resume=ws)
    finally:
        first.join(120)
    result = box["result"]
    assert result.status is RunStatus.COMPLETED
    assert len(result.step("slow").keys) == 16
    assert all((ws / "step1_slow" / f"{k.well}_s{k.site}_w{k.channel}_z{k.z}.tif").is_file()
               for k in result.step("slow").keys)
    assert _slow(0.0).run(plate, cfg, overwrite=True).workspace == ws  # once it is done, overwrite works


_RUN = (
    "import sys; sys.path.insert(0, sys.argv.pop(1)); import pipeline_helpers; "
    "from openhcs_gui.cli import main; sys.exit(main(sys.argv[1:]))"
)


def test_overwrite_refuses_a_workspace_another_process_is_writing(tmp_path: Path) -> None:
    plate = make_synthetic_plate(tmp_path / "p", wells=["A01", "A02", "B01"], sites=2, channels=1,
                                 shape=(32, 32), seed=1)
    pipe = tmp_path / "pipe.json"
    pipe.write_text(json.dumps({"format": "openhcs-pipeline", "version": 1, "name": "slow", "steps": [
        {"name": "slow", "func": {"function": "seed_slow_copy", "kwargs": {"delay": 2.0}},
         "force_disk_output": True}]}))
    out, ws = tmp_path / "out", tmp_path / "out" / "p_workspace"
    proc = subprocess.Popen([sys.executable, "-c", _RUN, str(HELPERS), "run", str(plate), "--pipeline", str(pipe),
                             "--output", str(out), "--workers", "1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for_running(ws, 120)
        cfg = GlobalPipelineConfig(num_workers=1, materialization_defaults=MaterializationConfig(output_path=out))
        with pytest.raises(PathExistsError, match=f"pid {proc.pid}") as info:
            _slow(0.0).run(plate, cfg, overwrite=True)
        assert str(ws) in str(info.value)
        assert (ws / META).is_file() and _doc(ws)["status"] == "running"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    cfg = GlobalPipelineConfig(num_workers=1, materialization_defaults=MaterializationConfig(output_path=out))
    assert _slow(0.0).run(plate, cfg, overwrite=True).status is RunStatus.COMPLETED  # the killed run is not live


def test_overwrite_of_a_parent_run_keeps_a_chained_workspace(plate: Path, cfg: GlobalPipelineConfig) -> None:
    parent = _pipeline().run(plate, cfg)
    chain_cfg = GlobalPipelineConfig(num_workers=2)  # default root: beside the step folder, inside the parent
    chained = Pipeline([FunctionStep(create_final_dataset, name="mask")]).run(
        parent.workspace / "step1_pre", chain_cfg)
    assert chained.status is RunStatus.COMPLETED
    nested = parent.workspace / "plate_step1_pre_workspace"
    assert chained.workspace == nested
    before = _files(nested)
    with pytest.raises(PathExistsError, match="chained run") as info:
        _pipeline().run(plate, cfg, overwrite=True)
    assert str(nested) in str(info.value)
    assert _files(nested) == before and (parent.workspace / "step1_pre").is_dir()


# --- 3. the workspace never lands inside the input plate ---------------------------------------------------


@pytest.mark.parametrize(("layout", "sub"), [("opera", "Images"), ("imagexpress", "TimePoint_1")])
def test_workspace_goes_beside_the_plate_root_not_in_it(layout: str, sub: str, tmp_path: Path) -> None:
    root = make_synthetic_plate(tmp_path / "P7", wells=["A01", "B02"], sites=1, channels=2, shape=(64, 64),
                                seed=4, layout=layout)  # type: ignore[arg-type]
    before = _files(root)
    plan = plan_pipeline(_pipeline(), open_plate(root / sub), GlobalPipelineConfig())
    assert plan.workspace == (tmp_path / "P7_workspace").as_posix() and plan.plate_name == "P7"
    result = _pipeline().run(root / sub, GlobalPipelineConfig(num_workers=2))
    assert result.status is RunStatus.COMPLETED
    assert result.workspace == tmp_path / "P7_workspace"
    assert _files(root) == before  # nothing written into the plate
    assert open_plate(root).wells == ["A01", "B02"]  # and it still opens


@pytest.mark.parametrize("inside", ["", "results", "TimePoint_1/out"])
def test_output_path_inside_the_plate_is_refused(inside: str, plate: Path) -> None:
    before = _files(plate)
    cfg = GlobalPipelineConfig(num_workers=1, materialization_defaults=MaterializationConfig(
        output_path=plate / inside))
    with pytest.raises(InvalidPathError, match="inside the input plate") as info:
        _pipeline().run(plate / "TimePoint_1", cfg)
    assert str(plate) in str(info.value) and "\n" not in str(info.value)
    assert _files(plate) == before and not (plate / "results").exists()


# --- 4. a failing zarr metadata flush marks the run failed ------------------------------------------------


class _FullDiskOnClose:
    """Wraps the run's FileManager; the final metadata flush hits a full disk."""

    def __init__(self, fm: Any) -> None:
        self._fm = fm

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fm, name)

    def close(self) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_disk_full_during_metadata_flush_marks_the_run_failed(
    plate: Path, cfg: GlobalPipelineConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = runner_module._make_filemanager
    monkeypatch.setattr(runner_module, "_make_filemanager", lambda *a: _FullDiskOnClose(real(*a)))
    with pytest.raises(StorageError, match="(?i)disk full") as info:
        run_pipeline(_pipeline(), plate, cfg)
    ws = Path(cfg.materialization_defaults.output_path) / "plate_workspace"
    assert str(ws) in str(info.value) and "\n" not in str(info.value)
    doc = _doc(ws)
    assert doc["status"] == "failed"
    assert "disk full" in doc["failure"].lower()
