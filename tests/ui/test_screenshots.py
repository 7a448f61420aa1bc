"""Screenshots of the main window in its key states, for people to look at.

Written to ``tests/screenshots/`` (git-ignored); the last state — a finished
run with an output image in the viewer — is also copied to
``docs/screenshot.png`` for the README when OPENHCS_UPDATE_DOCS_SCREENSHOT=1.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from openhcs_gui.constants import RunStatus
from openhcs_gui.pipeline import demo_pipeline_path

pytestmark = pytest.mark.gui

DOCS_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshot.png"


def _save(window, qtbot, path: Path) -> Path:
    qtbot.wait(400)  # let queued layouts and the canvas draw
    assert window.grab().save(str(path))
    assert path.stat().st_size > 10_000
    return path


def test_key_states(make_main_window, tmp_path: Path, qtbot, screenshot_dir: Path) -> None:
    from openhcs_gui.plates import make_synthetic_plate

    plate = make_synthetic_plate(tmp_path / "demo_plate", wells=["A01", "A02", "A03", "B01", "B02", "B03"],
                                 sites=2, channels=2, shape=(256, 256))
    window = make_main_window(show=True, size=(1600, 1000))
    _save(window, qtbot, screenshot_dir / "01_empty.png")

    with qtbot.waitSignal(window.plate_opened, timeout=30000):
        window.open_plate(plate)
    window.plate_panel.show_well("A01")  # a click on the well
    qtbot.waitUntil(lambda: len(window.viewer.layers) == 2, timeout=20000)
    _save(window, qtbot, screenshot_dir / "02_plate_open.png")

    with qtbot.waitSignal(window.pipeline_loaded, timeout=10000):
        window.load_pipeline(demo_pipeline_path())
    window.session.pipeline[0].force_disk_output = True
    window.pipeline_editor.select_row(1)
    window.docks["Config"].raise_()
    _save(window, qtbot, screenshot_dir / "03_pipeline_built.png")

    window.session.cfg.num_workers = 2
    with qtbot.waitSignal(window.run_finished, timeout=120000) as blocker:
        window.start_run()
    assert blocker.args[0].status is RunStatus.COMPLETED
    window.docks["Plate"].raise_()
    combo = window.plate_panel.heatmap_combo
    qtbot.waitUntil(lambda: combo.isEnabled(), timeout=20000)
    window.plate_panel.colour_by("Nuclei count", "DAPI")
    qtbot.waitUntil(lambda: bool(window.plate_panel.grid_model.value_range[1]), timeout=20000)
    window.show_output(1, "A02")  # the background-subtracted well, both channels, from memory
    qtbot.waitUntil(lambda: len(window.viewer.layers) == 4  # the raw channels kept under the output's
                    and window.viewer.layers[-1].metadata.get("step") == 1, timeout=20000)
    window.outputs_panel.tree.expandItem(window.outputs_panel.tree.topLevelItem(1))
    shot = _save(window, qtbot, screenshot_dir / "04_run_finished.png")
    if os.environ.get("OPENHCS_UPDATE_DOCS_SCREENSHOT"):  # opt-in: a test run leaves the tree clean
        shutil.copyfile(shot, DOCS_SCREENSHOT)
