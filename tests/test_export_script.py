"""Exported Python scripts: readable, code-free, and they reproduce a CLI run byte for byte (issue 17)."""

from __future__ import annotations

import ast
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from openhcs_gui import cli
from openhcs_gui.config import GlobalPipelineConfig, load_config, save_config
from openhcs_gui.constants import Backend, Component
from openhcs_gui.functions import get_function
from openhcs_gui.pipeline import FunctionStep, Pipeline, load_pipeline, save_pipeline
from openhcs_gui.pipeline.export import export_script, pipeline_script
from openhcs_gui.plates import make_synthetic_plate

PROVENANCE = {"openhcs_metadata.json", "openhcs_metadata.journal"}


def _pipeline() -> Pipeline:
    """Every shape a pipeline file can take: step kwargs, a chain, per-channel functions, backends, tables."""
    blur, norm = get_function("gaussian_blur").func, get_function("normalize_percentile").func
    return Pipeline([
        FunctionStep(blur, name="blur", sigma=1.5, force_disk_output=True),
        FunctionStep([(blur, {"sigma": 0.5}), (norm, {"low": 2.0, "high": 99.0})], name="chain"),
        FunctionStep({1: (blur, {"sigma": 1.0}), 2: [(norm, {})]}, name="per channel",
                     variable_components=[Component.SITE]),
        FunctionStep(get_function("count_objects").func, name="count", min_size=10, backend=Backend.ZARR),
    ], name="export test")


def _config() -> GlobalPipelineConfig:
    cfg = GlobalPipelineConfig(num_workers=2)
    cfg.zarr.compression_level = 4
    cfg.zarr.shuffle = False
    return cfg


def _load_script(path: Path) -> dict[str, object]:
    """The script's module namespace, without running its ``__main__`` part."""
    namespace: dict[str, object] = {"__name__": "exported", "__file__": str(path)}
    exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), namespace)  # the test runs it, not the exporter
    return namespace


def test_script_rebuilds_the_same_pipeline_and_config(tmp_path: Path) -> None:
    pipeline, cfg = _pipeline(), _config()
    script = export_script(pipeline, tmp_path / "run_it.py", cfg)
    assert os.access(script, os.X_OK)
    namespace = _load_script(script)
    rebuilt = namespace["build_pipeline"]()  # type: ignore[operator]
    assert rebuilt.to_dict() == pipeline.to_dict()
    rebuilt_cfg = namespace["build_config"]()  # type: ignore[operator]
    expected = cfg.model_copy(update={"keep_intermediates": False})  # as `openhcs-gui run` does
    assert rebuilt_cfg.model_dump() == expected.model_dump()
    assert pipeline_script(pipeline, cfg, filename="run_it.py") == script.read_text(encoding="utf-8")


def test_script_names_functions_and_holds_no_code_from_data() -> None:
    source = pipeline_script(_pipeline(), _config())
    tree = ast.parse(source)
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert imported == {"__future__", "sys", "pathlib", "openhcs_gui"}
    called = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    assert not called & {"exec", "eval", "compile", "__import__", "open"}
    assert not {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)} & {"loads", "load", "exec"}
    looked_up = {n.args[0].value for n in ast.walk(tree)  # type: ignore[attr-defined]
                 if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "fn"}
    assert looked_up == {"gaussian_blur", "normalize_percentile", "count_objects"}


def test_cli_export_script_writes_stdout_or_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pipeline_file = save_pipeline(_pipeline(), tmp_path / "p.json")
    config_file = save_config(_config(), tmp_path / "c.json")
    assert cli.main(["export-script", str(pipeline_file), "--config", str(config_file)]) == 0
    printed = capsys.readouterr().out
    assert cli.main(["export-script", str(pipeline_file), "--config", str(config_file),
                     "-o", str(tmp_path / "s.py")]) == 0
    assert "python " in capsys.readouterr().err
    written = (tmp_path / "s.py").read_text(encoding="utf-8")
    assert written == printed.replace("python pipeline_script.py", "python s.py")  # only the usage line differs
    assert written == pipeline_script(load_pipeline(pipeline_file), load_config(config_file), filename="s.py")


def test_cli_export_script_of_a_missing_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["export-script", str(tmp_path / "nope.json")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nope.json" in err[0]


def _files(workspace: Path) -> dict[str, str]:
    """sha256 of every output file; provenance (timings) and zarr's lock are left out."""
    out = {}
    for p in sorted(workspace.rglob("*")):
        if not p.is_file() or p.name in PROVENANCE or p.name == ".openhcs-lock":
            continue
        out[str(p.relative_to(workspace))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def test_script_run_matches_the_cli_run_byte_for_byte(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plate = make_synthetic_plate(tmp_path / "plate", wells=["A01", "B02"], sites=2, channels=2,
                                 shape=(96, 96), seed=11)
    pipeline_file = save_pipeline(_pipeline(), tmp_path / "p.json")
    config_file = save_config(_config(), tmp_path / "c.json")
    assert cli.main(["run", str(plate), "--pipeline", str(pipeline_file), "--config", str(config_file),
                     "--output", str(tmp_path / "by_cli"), "-q"]) == 0
    script = tmp_path / "s.py"
    assert cli.main(["export-script", str(pipeline_file), "--config", str(config_file), "-o", str(script)]) == 0
    capsys.readouterr()
    run = subprocess.run([sys.executable, str(script), str(plate), str(tmp_path / "by_script")],
                         capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "completed" in run.stdout.lower()
    by_cli, by_script = _files(tmp_path / "by_cli" / "plate_workspace"), _files(tmp_path / "by_script" / "plate_workspace")
    assert by_script == by_cli
    names = " ".join(by_cli)
    assert ".tif" in names and ".csv" in names and "images.zarr" in names  # images, tables and zarr compared


def test_script_without_output_writes_next_to_the_plate_and_explains_usage(tmp_path: Path) -> None:
    plate = make_synthetic_plate(tmp_path / "p2", wells=["A01"], sites=1, channels=1, shape=(48, 48), seed=3)
    blur = get_function("gaussian_blur").func
    script = export_script(Pipeline([FunctionStep(blur, name="blur", sigma=1.0)]), tmp_path / "s.py")
    usage = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert usage.returncode == 2 and "PLATE" in usage.stderr and "OUTPUT" in usage.stderr
    run = subprocess.run([sys.executable, str(script), str(plate)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert any((tmp_path / "p2_workspace").rglob("A01_*.tif"))


def test_file_menu_exports_the_edited_pipeline_and_config(qtbot, tmp_path: Path) -> None:
    """File → Export as Python script writes what the editor and the config form hold."""
    from PySide6.QtCore import QSettings

    from openhcs_gui.ui import workers
    from openhcs_gui.ui.app import create_main_window

    window = create_main_window(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    try:
        action = window.menus.actions["export_script"]
        assert action.text().startswith("&Export as Python script")
        for step in _pipeline():
            window.session.pipeline.append(step)
        window.session.cfg.zarr.compression_level = 7
        target = tmp_path / "from_gui.py"
        window.menus.export_script(target)
        qtbot.waitUntil(lambda: "from_gui.py" in window.statusBar().currentMessage(), timeout=30000)
        namespace = _load_script(target)
        rebuilt = namespace["build_pipeline"]().to_dict()  # type: ignore[operator]
        assert rebuilt["steps"] == _pipeline().to_dict()["steps"]
        assert namespace["build_config"]().zarr.compression_level == 7  # type: ignore[operator]
    finally:
        window.close()
        window.deleteLater()
        assert workers.wait_idle(timeout=60)
