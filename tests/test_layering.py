"""Layers are contracts: the engine stays headless, ``vfs`` stays alone, the GUI never imports the CLI.

Two checks, as napari does it: import-linter contracts (``[tool.importlinter]``
in ``pyproject.toml``, the static import graph) and a fresh interpreter that
imports the engine and must load no Qt or napari (the real graph, lazy imports
included).
"""

from __future__ import annotations

import importlib.util
import json
import pkgutil
import subprocess
import sys
import tomllib
from pathlib import Path

import openhcs_gui

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = ("PySide6", "PyQt5", "PyQt6", "qtpy", "napari", "superqt", "vispy")
ENGINE = ["openhcs_gui", "openhcs_gui.config", "openhcs_gui.constants", "openhcs_gui.errors", "openhcs_gui.vfs"]
#: Engine packages built in parallel; guarded as soon as they exist.
OPTIONAL_ENGINE = ["openhcs_gui.plates", "openhcs_gui.pipeline", "openhcs_gui.functions", "openhcs_gui.cli",
                   "openhcs_gui.display"]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
NOT_ENGINE = {"ui", "__main__"}


def _engine_modules() -> list[str]:
    found = [m for m in OPTIONAL_ENGINE if importlib.util.find_spec(m) is not None]
    return ENGINE + found


def _loaded_after_import(modules: list[str], touch: str = "") -> list[str]:
    code = (
        "import importlib, json, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        f"{touch}\n"
        f"bad = sorted(n for n in sys.modules if n.split('.')[0] in {FORBIDDEN!r})\n"
        "print(json.dumps(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_engine_imports_no_qt() -> None:
    modules = _engine_modules()
    assert {"openhcs_gui.vfs", "openhcs_gui.config"} <= set(modules)
    assert _loaded_after_import(modules) == []


def test_storage_in_use_imports_no_qt() -> None:
    touch = (
        "from openhcs_gui.vfs import FileManager\n"
        "fm = FileManager(); fm.save(b'', 'x', 'memory'); fm.exists('/', 'disk')"
    )
    assert _loaded_after_import(["openhcs_gui.vfs"], touch) == []


def test_detector_sees_a_qt_import() -> None:
    # Guard against a test that cannot fail: the same probe does see a forbidden module.
    assert _loaded_after_import(["json"], "sys.modules['superqt.fake'] = sys") == ["superqt.fake"]


def _lint_imports(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", *args], cwd=ROOT, capture_output=True, text=True)


def _contracts() -> dict[str, dict]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return {c["id"]: c for c in config["tool"]["importlinter"]["contracts"]}


def test_import_contracts_are_kept() -> None:
    done = _lint_imports()
    assert done.returncode == 0, done.stdout + done.stderr
    assert "4 kept, 0 broken" in done.stdout


def test_every_engine_module_is_under_contract() -> None:
    engine = {f"openhcs_gui.{m.name}" for m in pkgutil.iter_modules(openhcs_gui.__path__)
              if m.name not in NOT_ENGINE}
    contracts = _contracts()
    for cid in ("engine-no-ui", "engine-no-qt"):
        assert set(contracts[cid]["source_modules"]) == engine, f"{cid}: list every engine module"
    assert contracts["ui-no-cli"]["source_modules"] == ["openhcs_gui.ui"]


def test_lint_imports_sees_a_broken_contract(tmp_path: Path) -> None:
    # Guard against a check that cannot fail: the GUI does import the pipeline engine.
    config = tmp_path / "contracts.toml"
    config.write_text(
        '[tool.importlinter]\nroot_package = "openhcs_gui"\n'
        '[[tool.importlinter.contracts]]\nname = "probe"\ntype = "forbidden"\n'
        'source_modules = ["openhcs_gui.ui"]\nforbidden_modules = ["openhcs_gui.pipeline"]\n',
        encoding="utf-8",
    )
    done = _lint_imports("--config", str(config))
    assert done.returncode == 1
    assert "probe BROKEN" in done.stdout and "openhcs_gui.ui." in done.stdout
