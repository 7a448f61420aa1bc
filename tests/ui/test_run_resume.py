"""Resume in the Run dock, and what the dock says before any run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from ui_helpers import CALLS_PER_WELL, held_copy, open_plate_and_wait

from openhcs_gui.constants import Backend, RunStatus
from openhcs_gui.pipeline import FunctionStep, Pipeline, demo_pipeline_path

pytestmark = pytest.mark.gui


def test_resume_after_cancel_completes_the_remaining_wells(make_main_window, small_plate: Path, qtbot,
                                                           permits) -> None:
    window = make_main_window()
    panel = window.run_panel
    open_plate_and_wait(window, qtbot, small_plate)
    qtbot.waitUntil(lambda: panel.resume_offer.found is None and not panel.resume_button.isVisibleTo(panel))
    window.session.cfg.num_workers = 1
    window.session.replace_pipeline(Pipeline([FunctionStep(held_copy, "held", backend=Backend.DISK)]))

    with qtbot.waitSignal(window.run_finished, timeout=60000) as blocker:
        permits.grant(CALLS_PER_WELL)  # the first well only; the second waits for the click
        assert window.start_run()
        qtbot.waitUntil(lambda: panel.overall.value() >= 1, timeout=20000)
        qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
        permits.grant(100)
    first = blocker.args[0]
    assert first.status is RunStatus.CANCELLED
    with qtbot.waitSignal(panel.resumable_changed, timeout=20000, check_params_cb=lambda f: f is not None):
        pass
    offer = panel.resumable
    assert offer is not None and offer.workspace == first.workspace and offer.status == "cancelled"
    assert 1 <= offer.wells_done < 4
    assert panel.resume_button.isVisibleTo(panel) and window.menus.actions["resume"].isEnabled()

    with qtbot.waitSignal(window.run_finished, timeout=60000) as blocker:
        qtbot.mouseClick(panel.resume_button, Qt.MouseButton.LeftButton)
        assert panel.running and not panel.resume_button.isEnabled()
    result = blocker.args[0]
    assert result.status is RunStatus.COMPLETED
    assert result.workspace == first.workspace
    assert len(result.skipped_wells) == offer.wells_done
    doc = json.loads((result.workspace / "openhcs_metadata.json").read_text())
    assert doc["status"] == "completed"
    assert {w["status"] for w in doc["wells"].values()} == {"completed"}
    wells = {i.text(0) for i in window.outputs_panel.items() if i.childCount() and i.parent() is not None}
    assert wells == {"A01", "A02", "B01", "B02"}
    lines = panel.run_log.lines()
    assert any(f"{offer.wells_done} wells already completed are skipped" in line for line in lines)
    assert [bar.value() for bar in panel.step_bars] == [4]
    assert panel.overall.value() == 4
    qtbot.waitUntil(lambda: not panel.resume_button.isVisibleTo(panel), timeout=20000)  # nothing left to resume


def test_resume_refused_is_one_clear_message(make_main_window, small_plate: Path, qtbot, permits) -> None:
    window = make_main_window()
    panel = window.run_panel
    open_plate_and_wait(window, qtbot, small_plate)
    window.session.cfg.num_workers = 1
    window.session.replace_pipeline(Pipeline([FunctionStep(held_copy, "held", backend=Backend.DISK)]))
    with qtbot.waitSignal(window.run_finished, timeout=60000):
        permits.grant(CALLS_PER_WELL)
        assert window.start_run()
        qtbot.waitUntil(lambda: panel.overall.value() >= 1, timeout=20000)
        window.cancel_run()
        permits.grant(100)
    qtbot.waitUntil(lambda: panel.resumable is not None, timeout=20000)
    window.session.pipeline[0].kwargs["seconds"] = 0.01  # a different analysis: the engine refuses
    with qtbot.waitSignal(window.error_reported, timeout=20000) as blocker:
        assert panel.resume_run()
    title, message = blocker.args
    assert message.startswith("Cannot resume") and "pipeline changed" in message
    assert "--overwrite" not in message and "Traceback" not in message
    assert panel.run_button.isEnabled()


def test_run_dock_before_any_run_reflects_plate_and_pipeline(make_main_window, small_plate: Path, qtbot) -> None:
    window = make_main_window()
    panel = window.run_panel
    assert panel.stats.text().startswith("Open a plate")
    open_plate_and_wait(window, qtbot, small_plate)
    assert "Add steps" in panel.stats.text() and "4 wells" in panel.stats.text()
    with qtbot.waitSignal(window.pipeline_loaded, timeout=10000):
        window.load_pipeline(demo_pipeline_path())
    assert panel.stats.text() == "Ready: 4 wells × 3 steps. Press Run (F5)."
    assert [bar.maximum() for bar in (panel.overall, *panel.step_bars)] == [4, 4, 4, 4]
    assert [bar.text() for bar in panel.step_bars] == ["0 / 4 wells"] * 3
    window.session.pipeline.pop()
    assert panel.stats.text() == "Ready: 4 wells × 2 steps. Press Run (F5)."
