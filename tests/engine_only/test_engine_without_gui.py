"""The engine, the CLI and dask workers run where PySide6 and napari are absent (issue 16).

A cluster node or a CI box installs the engine only; nothing on the headless
path may import a GUI package. Each test runs a real ``openhcs-gui`` process
with ``blocker/sitecustomize.py`` on ``PYTHONPATH``, which makes every GUI
import fail exactly as a missing package does, in the driver and in every
dask worker process it starts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BLOCKER = Path(__file__).parent / "blocker"


def _engine_only_env(*, display: bool = False) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(BLOCKER), env.get("PYTHONPATH", "")]))
    if not display:
        env.pop("DISPLAY", None)
        env.pop("WAYLAND_DISPLAY", None)
    return env


def _cli(*args: str, cwd: Path, display: bool = False) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "openhcs_gui", *args],
        cwd=cwd, env=_engine_only_env(display=display), capture_output=True, text=True, timeout=600,
    )


def test_the_blocker_really_hides_the_gui_packages(tmp_path: Path) -> None:
    probe = "import importlib,sys\nfor m in ('PySide6','napari','vispy'):\n" \
            "    try:\n        importlib.import_module(m)\n    except ModuleNotFoundError:\n" \
            "        continue\n    sys.exit(m + ' imported')\n"
    done = subprocess.run([sys.executable, "-c", probe], env=_engine_only_env(),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("executor", [[], ["--dask", "local", "--workers", "2"]], ids=["threads", "dask"])
def test_demo_pipeline_runs_headless_without_gui_packages(tmp_path: Path, executor: list[str]) -> None:
    plate = tmp_path / "plate"
    made = _cli("demo", str(plate), cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    done = _cli("run", str(plate), "--json", *executor, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout)
    assert summary["status"] == "completed" and summary["errors"] == [], summary
    workspace = Path(summary["workspace"])
    assert (workspace / "openhcs_metadata.json").is_file()
    assert any(workspace.rglob("*.zarr")) or any(workspace.rglob("*.tif"))
    info = _cli("info", str(workspace), cwd=tmp_path)
    assert info.returncode == 0, info.stderr
    assert "ModuleNotFoundError" not in done.stderr + info.stderr


def test_gui_command_says_in_one_line_what_is_missing(tmp_path: Path) -> None:
    """With a display but no Qt, ``gui`` is a one-line bad-input error, not a traceback."""
    env_display = {"QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run(
        [sys.executable, "-m", "openhcs_gui", "gui", str(tmp_path)],
        cwd=tmp_path, env={**_engine_only_env(), **env_display}, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "PySide6" in done.stderr and "openhcs-gui run PLATE" in done.stderr
