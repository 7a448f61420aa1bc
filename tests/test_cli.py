"""The ``openhcs-gui`` command: run / demo / info / gui, exit codes and messages."""

from __future__ import annotations

import json
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import tifffile

from openhcs_gui import cli
from openhcs_gui.pipeline import demo_pipeline_path
from openhcs_gui.plates import make_synthetic_plate, read_ground_truth


def _cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "openhcs_gui", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=240)


@pytest.fixture
def small_plate(tmp_path: Path) -> Path:
    """2 wells x 2 sites x 2 channels x 128² (fast enough for in-process runs)."""
    return make_synthetic_plate(tmp_path / "small", wells=["A01", "B02"], sites=2, channels=2,
                                shape=(128, 128), seed=5)


@pytest.fixture
def no_display(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "platform", "linux")


def test_demo_then_run_via_subprocess(tmp_path: Path) -> None:
    made = _cli("demo", str(tmp_path / "demo"))
    assert made.returncode == 0, made.stderr
    assert "Demo plate:" in made.stdout
    done = _cli("run", str(tmp_path / "demo"), "--pipeline", str(demo_pipeline_path()), "--workers", "2")
    assert done.returncode == 0, done.stderr
    summary = done.stdout.strip()
    ws = tmp_path / "demo_workspace"
    assert summary.startswith("Run completed in ")
    assert "8 wells, 64 images written" in summary
    assert f"{ws}/step3_count/images.zarr (zarr)" in summary
    assert f"{ws}/openhcs_metadata.json" in summary
    rows = [r for r in json.loads((ws / "openhcs_metadata.json").read_text())["steps"][2]["tables"]]
    assert rows == sorted(f"{w}_{t}.csv" for w in ("A01", "A02", "A03", "A04", "B01", "B02", "B03", "B04")
                          for t in ("nuclei", "objects"))  # per object, per image
    import csv

    with open(ws / "step3_count" / "objects.csv", newline="") as fh:
        counts = {(r["well"], int(r["site"])): int(r["object_count"])
                  for r in csv.DictReader(fh) if r["channel"] == "1"}
    assert counts == read_ground_truth(tmp_path / "demo")
    info = _cli("info", str(ws))
    assert info.returncode == 0 and "Status: completed" in info.stdout and "step3_count" in info.stdout


def test_bad_plate_exits_2_with_one_line(tmp_path: Path) -> None:
    done = _cli("run", str(tmp_path / "missing_plate"))
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith("openhcs-gui: error: Plate ") and "missing_plate" in done.stderr


@pytest.mark.parametrize(
    ("setup", "match"),
    [
        ("pipeline", "Step 1 'blur': unknown function 'no_such_filter'"),
        ("config", "field 'num_workers'"),
        ("output", "is not writable"),
        ("workers", "--workers must be at least 1"),
    ],
)
def test_bad_input_in_process(small_plate: Path, tmp_path: Path, capsys, setup: str, match: str) -> None:
    args = ["run", str(small_plate)]
    if setup == "pipeline":
        data = json.loads(demo_pipeline_path().read_text())
        data["steps"][0]["func"]["function"] = "no_such_filter"
        (tmp_path / "p.json").write_text(json.dumps(data))
        args += ["--pipeline", str(tmp_path / "p.json")]
    elif setup == "config":
        (tmp_path / "c.json").write_text(json.dumps({"num_workers": "many"}))
        args += ["--config", str(tmp_path / "c.json")]
    elif setup == "output":
        (tmp_path / "file").write_text("x")
        args += ["--output", str(tmp_path / "file" / "out")]
    else:
        args += ["--workers", "0"]
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and match in err


def test_failed_wells_exit_1(small_plate: Path, tmp_path: Path, capsys) -> None:
    tifffile.imwrite(small_plate / "TimePoint_1" / "B02_s1_w1.tif", np.zeros((4, 4, 4), np.uint16))
    code = cli.main(["run", str(small_plate), "--output", str(tmp_path / "o"), "--backend", "disk",
                     "--workers", "1"])
    out = capsys.readouterr()
    assert code == 1
    assert "Run failed" in out.out and "1 well(s) failed: B02 at 'input'" in out.out
    assert "--backend disk does not apply to the last step 'count'" in out.err
    assert (tmp_path / "o" / "small_workspace" / "step3_count" / "images.zarr" / "A" / "1").is_dir()


def test_overwrite_flag(small_plate: Path, tmp_path: Path, capsys) -> None:
    args = ["run", str(small_plate), "--output", str(tmp_path / "o"), "--workers", "1"]
    assert cli.main(args) == 0
    assert cli.main(args) == 0
    assert cli.main([*args, "--overwrite"]) == 0
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["small_workspace", "small_workspace_2"]
    capsys.readouterr()


def test_gui_without_display_runs_demo_headless(small_plate: Path, no_display, capsys) -> None:
    assert not cli.has_display()
    assert cli.main(["gui", str(small_plate)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("No display found") and len(lines) == 2
    assert "Run completed" in lines[1] and "small_workspace" in lines[1]


def test_no_arguments_means_gui(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[object] = []
    monkeypatch.setattr(cli, "_cmd_gui", lambda args: seen.append((args.command, args.plate)) or 0)
    assert cli.main([]) == 0
    assert seen == [("gui", None)]


def test_gui_with_display_calls_ui_lazily(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    calls: list[object] = []
    pipelines: list[object] = []
    fake = types.ModuleType("openhcs_gui.ui.app")
    fake.main = lambda plate=None, pipeline=None: calls.append(plate) or pipelines.append(pipeline) or 0  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "openhcs_gui.ui.app", fake)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["gui", "--demo-if-missing"]) == 0
    assert calls == ["demo_plate"] and (tmp_path / "demo_plate" / "ground_truth.csv").is_file()
    assert cli.main(["gui", "--demo-if-missing"]) == 0  # reused, not regenerated inside itself
    assert calls[-1] == "demo_plate" and not (tmp_path / "demo_plate" / "demo_plate").exists()
    assert pipelines[-1] is not None and Path(pipelines[-1]).name == "demo_pipeline.json"
    assert cli.main(["gui", str(tmp_path / "demo_plate"), "--pipeline", "p.json"]) == 0
    assert pipelines[-1] == "p.json"


def test_cli_imports_no_qt() -> None:
    code = ("import sys, openhcs_gui.cli, openhcs_gui.pipeline.runner; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'qtpy', 'napari')]; "
            "assert not bad, bad")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60).returncode == 0


def test_ctrl_c_cancels_and_exits_130(small_plate: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    import signal
    import threading

    import openhcs_gui.pipeline as pipeline_pkg
    from openhcs_gui.pipeline import StepFinished

    real_run = pipeline_pkg.run_pipeline
    main_thread = threading.main_thread().ident
    noticed = threading.Event()

    class WatchedToken(pipeline_pkg.CancelToken):
        def cancel(self) -> None:
            super().cancel()
            noticed.set()

    def run_and_interrupt(*args, progress=None, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        def relay(event: object) -> None:
            progress(event)
            if isinstance(event, StepFinished) and event.step_index == 0 and not noticed.is_set():
                signal.pthread_kill(main_thread, signal.SIGINT)  # the user presses Ctrl-C
                # The run goes on only once the CLI has handled the key press: on a loaded
                # machine the main thread may otherwise wake after the last well is done.
                assert noticed.wait(30), "the CLI never handled Ctrl-C"

        return real_run(*args, progress=relay, **kwargs)

    monkeypatch.setattr(pipeline_pkg, "run_pipeline", run_and_interrupt)
    monkeypatch.setattr(pipeline_pkg, "CancelToken", WatchedToken)
    # A shell starts background jobs with Ctrl-C ignored, and Python keeps that (nohup semantics);
    # the user at a terminal has Python's own handler.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        code = cli.main(["run", str(small_plate), "--output", str(tmp_path / "o"), "--workers", "1"])
    finally:
        signal.signal(signal.SIGINT, previous)
    out = capsys.readouterr()
    assert code == 130
    assert "Cancelling" in out.err and out.out.startswith("Run cancelled")
    doc = json.loads((tmp_path / "o" / "small_workspace" / "openhcs_metadata.json").read_text())
    assert doc["status"] == "cancelled"


_RUN_WITH_TEST_FUNCTIONS = (
    "import sys; sys.path.insert(0, sys.argv.pop(1)); import pipeline_helpers; "
    "from openhcs_gui.cli import main; sys.exit(main(sys.argv[1:]))"
)


def test_sigkill_then_resume_finishes_the_plate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    import os
    import signal
    import time

    from openhcs_gui.errors import PipelineError
    from openhcs_gui.pipeline import open_workspace
    from openhcs_gui.pipeline.provenance import read_provenance

    helpers = Path(__file__).parent / "pipeline"
    monkeypatch.syspath_prepend(str(helpers))
    import pipeline_helpers  # noqa: F401 - registers seed_slow_copy here too

    wells = ["A01", "A02", "A03", "B01", "B02", "B03"]
    plate = make_synthetic_plate(tmp_path / "p", wells=wells, sites=2, channels=2, shape=(64, 64), seed=2)
    pipe = tmp_path / "pipe.json"
    pipe.write_text(json.dumps({"format": "openhcs-pipeline", "version": 1, "name": "slow", "steps": [
        {"name": "slow", "func": {"function": "seed_slow_copy", "kwargs": {"delay": 0.2}}, "force_disk_output": True},
        {"name": "blur", "func": {"function": "gaussian_blur", "kwargs": {"sigma": 1.0}}, "backend": "zarr"},
    ]}))
    out, ws = tmp_path / "out", tmp_path / "out" / "p_workspace"
    proc = subprocess.Popen([sys.executable, "-c", _RUN_WITH_TEST_FUNCTIONS, str(helpers), "run", str(plate),
                             "--pipeline", str(pipe), "--output", str(out), "--workers", "1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    done: list[str] = []
    deadline = time.monotonic() + 120
    while not done and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
        try:
            doc = read_provenance(ws)  # the document plus its per-well journal
        except PipelineError:
            continue
        done = [w for w, e in doc["wells"].items() if e["status"] == "completed"]
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(30)
    killed = read_provenance(ws)
    finished = [w for w, e in killed["wells"].items() if e["status"] == "completed"]
    assert killed["status"] == "running" and 1 <= len(finished) < len(wells)

    assert cli.main(["run", str(plate), "--output", str(out), "--resume"]) == 0  # pipeline from the workspace
    summary = capsys.readouterr().out
    assert f"Resumed: {len(finished)} of {len(wells)} wells skipped as already done" in summary
    resumed = open_workspace(ws)
    assert not (tmp_path / "out" / "p_workspace_2").exists()
    assert cli.main(["run", str(plate), "--pipeline", str(pipe), "--output", str(tmp_path / "ref")]) == 0
    reference = open_workspace(tmp_path / "ref" / "p_workspace")
    assert resumed.status.value == "completed"
    for step in ("slow", "blur"):
        assert resumed.step(step).keys == reference.step(step).keys and len(reference.step(step).keys) == 24
        for key in reference.step(step).keys:
            np.testing.assert_array_equal(resumed.get_image(step, key), reference.get_image(step, key))


def test_resume_bad_input_exits_2(small_plate: Path, tmp_path: Path, capsys) -> None:
    assert cli.main(["run", str(small_plate), "--output", str(tmp_path / "o"), "--resume"]) == 2
    assert "No workspace of plate 'small' to resume" in capsys.readouterr().err
    assert cli.main(["run", str(small_plate), "--resume", str(tmp_path), "--overwrite"]) == 2
    assert "use one of them" in capsys.readouterr().err


def test_a_pipeline_saved_with_its_settings_runs_with_them(small_plate: Path, tmp_path: Path, capsys) -> None:
    """Results folder and format saved with a pipeline apply when ``run`` has no --config; --config wins."""
    from openhcs_gui.config import GlobalPipelineConfig, save_config
    from openhcs_gui.constants import Backend
    from openhcs_gui.pipeline import load_demo_pipeline, save_pipeline

    pipeline = load_demo_pipeline()
    pipeline[-1].backend = None  # the last step follows the settings' format
    tuned = GlobalPipelineConfig()
    tuned.materialization_defaults.output_path = tmp_path / "tuned_results"
    tuned.materialization_defaults.backend = Backend.DISK
    path = save_pipeline(pipeline, tmp_path / "tuned.json", config=tuned)
    assert cli.main(["run", str(small_plate), "--pipeline", str(path), "--workers", "1"]) == 0
    ws = tmp_path / "tuned_results" / "small_workspace"
    assert (ws / "openhcs_metadata.json").is_file()
    assert not (tmp_path / "small_workspace").exists()
    assert list((ws / "step3_count").rglob("*.tif")) and not list(ws.rglob("*.zarr"))

    other = GlobalPipelineConfig()
    other.materialization_defaults.output_path = tmp_path / "given"
    given = save_config(other, tmp_path / "given.json")
    assert cli.main(["run", str(small_plate), "--pipeline", str(path), "--config", str(given), "--workers", "1"]) == 0
    assert (tmp_path / "given" / "small_workspace" / "openhcs_metadata.json").is_file()
    capsys.readouterr()
