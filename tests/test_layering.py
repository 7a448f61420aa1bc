"""The engine stays headless: importing it in a fresh interpreter loads no Qt or napari.

napari checks the same rule with import-linter contracts; this test checks the
real import graph, lazy imports included, in a clean ``sys.modules``.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = ("PySide6", "PyQt5", "PyQt6", "qtpy", "napari", "superqt", "vispy")
ENGINE = ["openhcs_gui", "openhcs_gui.config", "openhcs_gui.constants", "openhcs_gui.errors", "openhcs_gui.vfs"]
#: Engine packages built in parallel; guarded as soon as they exist.
OPTIONAL_ENGINE = ["openhcs_gui.plates", "openhcs_gui.pipeline", "openhcs_gui.functions", "openhcs_gui.cli"]


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
