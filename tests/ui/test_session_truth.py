"""A session that only shows the truth (issue 14 item 5): progress, outcome, failed wells, plan, workspaces."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from ui_helpers import CALLS_PER_WELL, held_copy, open_plate_and_wait

from openhcs_gui.constants import Backend, RunStatus
from openhcs_gui.functions import register_function
from openhcs_gui.pipeline import FunctionStep, Pipeline
from openhcs_gui.ui.well_grid import FAILED_COLOUR

pytestmark = pytest.mark.gui


class _Calls:
    """Calls of :func:`fail_first_two` so far (one worker: wells run in order)."""

    lock = threading.Lock()
    n = 0


@register_function("ui_test_fail_first_two_calls", category="test")
def fail_first_two(stack: np.ndarray, marker: int = 0) -> np.ndarray:
    """Raise on the first two calls of a run (two wells fail), copy the stack afterwards."""
    with _Calls.lock:
        _Calls.n += 1
        n = _Calls.n
    if n <= 2:
        raise RuntimeError(f"simulated failure {n}")
    return np.array(stack)


@register_function("ui_test_always_fails", category="test")
def always_fails(stack: np.ndarray, marker: int = 0) -> np.ndarray:
    """Raise for every stack."""
    raise RuntimeError("simulated failure")


def _run(window, qtbot, pipeline: Pipeline):
    window.session.cfg.num_workers = 1
    window.session.replace_pipeline(pipeline)
    with qtbot.waitSignal(window.run_finished, timeout=60000) as blocker:
        assert window.start_run()
    return blocker.args[0]


def _lines(window) -> list[str]:
    return window.run_panel.run_log.lines()


def test_all_wells_failed_is_never_wells_done(make_main_window, small_plate: Path, qtbot) -> None:
    window = make_main_window()
    open_plate_and_wait(window, qtbot, small_plate)
    result = _run(window, qtbot, Pipeline([FunctionStep(always_fails, "fails")]))
    assert result.status is RunStatus.FAILED
    overall = window.run_panel.overall
    assert overall.value() == 0
    assert overall.text() == "0 of 4 wells done · 4 failed"
    assert window.run_panel.stats.text().startswith("<b>Run failed (4 of 4 wells failed)</b>")
    assert "4/4" not in overall.text() and "4 / 4" not in overall.text()
    assert sum(line.startswith("Run failed") for line in _lines(window)) == 1


def test_some_failed_wells_complete_with_errors_marked_and_clickable(make_main_window, small_plate: Path,
                                                                     qtbot) -> None:
    _Calls.n = 0
    window = make_main_window()
    open_plate_and_wait(window, qtbot, small_plate)
    result = _run(window, qtbot, Pipeline([FunctionStep(fail_first_two, "flaky", backend=Backend.DISK)]))
    failed = sorted(e.well for e in result.errors)
    assert len(failed) == 2
    panel = window.run_panel
    assert panel.stats.text().startswith("<b>Run completed with errors (2 of 4 wells failed)</b>")
    assert panel.overall.text() == "2 of 4 wells done · 2 failed"
    headline = [line for line in _lines(window) if line.startswith("Run ") and "started" not in line]
    assert headline == [f"Run completed with errors (2 of 4 wells failed) in {result.seconds:.1f} s."]

    grid = window.plate_panel.grid_model
    for well in ("A01", "A02", "B01", "B02"):
        index = grid.index_of(well)
        shown = grid.data(index, Qt.ItemDataRole.DisplayRole)
        background = grid.data(index, Qt.ItemDataRole.BackgroundRole)
        if well in failed:
            assert shown == f"✖ {well}" and background.color() == FAILED_COLOUR
            assert "simulated failure" in grid.data(index, Qt.ItemDataRole.ToolTipRole)
        else:
            assert shown == well and background is None  # unmeasured, not failed
    # clicking a failed well shows its traceback in the run log
    view = window.plate_panel.grid
    rect = view.visualRect(grid.index_of(failed[1]))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    details = panel.details.toPlainText()
    assert "Traceback" in details and "simulated failure" in details
    assert panel.log.currentItem().text().startswith(f"✖ {failed[1]} failed")


def test_completed_run_says_so_once_and_plan_names_the_next_folder(make_main_window, small_plate: Path,
                                                                    qtbot) -> None:
    window = make_main_window()
    open_plate_and_wait(window, qtbot, small_plate)
    plan_label = window.pipeline_editor.plan_label
    window.session.replace_pipeline(Pipeline([FunctionStep(always_fails, "x", backend=Backend.DISK)]))
    assert plan_label.text() == f"Results go to {small_plate.parent.as_posix()}/plate_workspace"
    (small_plate.parent / "plate_workspace").mkdir()
    (small_plate.parent / "plate_workspace_2").mkdir()
    window.pipeline_editor.refresh_plan()
    assert plan_label.text() == f"Results go to {small_plate.parent.as_posix()}/plate_workspace_3"

    result = _run(window, qtbot, Pipeline([FunctionStep("gaussian_blur", "blur", backend=Backend.DISK)]))
    assert result.status is RunStatus.COMPLETED
    assert Path(result.workspace).name == "plate_workspace_3"  # what the plan said
    assert sum("Run completed in" in line for line in _lines(window)) == 1
    assert window.run_panel.overall.text() == "4 of 4 wells done"
    assert window.run_panel.stats.text().startswith("<b>Run completed</b>")
    assert plan_label.text().endswith("/plate_workspace_4")  # the next run's folder


def test_cancelled_run_bars_agree(make_main_window, small_plate: Path, qtbot, permits) -> None:
    window = make_main_window()
    open_plate_and_wait(window, qtbot, small_plate)
    window.session.cfg.num_workers = 1
    window.session.replace_pipeline(Pipeline([FunctionStep(held_copy, "held", backend=Backend.DISK)]))
    with qtbot.waitSignal(window.run_finished, timeout=60000) as blocker:
        permits.grant(CALLS_PER_WELL)
        assert window.start_run()
        qtbot.waitUntil(lambda: window.run_panel.step_bars[0].value() >= 1, timeout=20000)
        window.run_panel.cancel_run()
        permits.grant(100)
    assert blocker.args[0].status is RunStatus.CANCELLED
    panel = window.run_panel
    assert panel.overall.value() == panel.step_bars[-1].value()
    done = panel.overall.value()
    assert panel.stats.text().startswith(f"<b>Run cancelled ({done} of 4 wells done)</b>")
    assert panel.overall.text() == f"{done} of 4 wells done · {4 - done} cancelled"


def test_workspace_of_another_plate_switches_the_plate(make_main_window, small_plate: Path, tmp_path: Path,
                                                       qtbot) -> None:
    from openhcs_gui.plates import make_synthetic_plate

    window = make_main_window()
    open_plate_and_wait(window, qtbot, small_plate)
    result = _run(window, qtbot, Pipeline([FunctionStep("gaussian_blur", "blur", backend=Backend.DISK)]))
    other = make_synthetic_plate(tmp_path / "plate2", wells=["A01", "A02"], sites=1, channels=2, shape=(64, 64))
    open_plate_and_wait(window, qtbot, other)
    assert window.session.result is None
    with qtbot.waitSignal(window.plate_opened, timeout=30000):  # the workspace's own plate comes back
        window.open_workspace(result.workspace)
    qtbot.waitUntil(lambda: window.session.result is not None, timeout=20000)
    assert Path(window.session.plate.path).resolve() == small_plate.resolve()
    assert Path(window.session.result.workspace) == Path(result.workspace)
    assert window.plate_panel.grid_model.rowCount() == 2 and window.plate_panel.grid_model.columnCount() == 2

    # its plate is gone: refused in one sentence, the open plate keeps no trace of it
    open_plate_and_wait(window, qtbot, other)
    shutil.rmtree(small_plate)
    with qtbot.waitSignal(window.error_reported, timeout=20000) as blocker:
        window.open_workspace(result.workspace)
    assert "belongs to the plate" in blocker.args[1] and "cannot be found" in blocker.args[1]
    assert window.session.result is None
    assert Path(window.session.plate.path).resolve() == Path(other).resolve()


def _gate(monkeypatch: pytest.MonkeyPatch, module, name: str, hold) -> threading.Event:  # noqa: ANN001
    """Make ``module.name`` wait for the returned event when ``hold(*args)`` is true (a slow disk)."""
    gate = threading.Event()
    real = getattr(module, name)

    def slow(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        if hold(*args) and not gate.wait(60):
            raise TimeoutError("the test never opened the gate")
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, slow)
    return gate


def _settle(qtbot) -> None:  # noqa: ANN001
    from openhcs_gui.ui import workers

    assert workers.wait_idle(timeout=60)
    qtbot.wait(100)  # deliver what the workers sent back


def test_measurements_read_late_for_the_old_plate_are_not_offered_for_the_new(
        make_main_window, small_plate: Path, tmp_path: Path, qtbot, monkeypatch) -> None:
    """The run's tables were still being read when another plate was opened (a tests/ui flake, and a lie)."""
    from openhcs_gui.plates import make_synthetic_plate
    from openhcs_gui.ui import plate_panel

    window = make_main_window()
    gate = _gate(monkeypatch, plate_panel, "heatmap_choices", lambda result: True)
    open_plate_and_wait(window, qtbot, small_plate)
    run = Pipeline([FunctionStep("count_objects", name="count")])
    assert _run(window, qtbot, run).status is RunStatus.COMPLETED
    other = make_synthetic_plate(tmp_path / "plate2", wells=["A01", "A02"], sites=1, channels=2, shape=(64, 64))
    open_plate_and_wait(window, qtbot, other)
    gate.set()  # the old run's measurements arrive now
    _settle(qtbot)
    combo = window.plate_panel.heatmap_combo
    assert [combo.itemText(i) for i in range(combo.count())] == ["(no result yet)"]
    assert window.plate_panel.measurement_choices == {}


def test_a_well_read_late_for_the_old_plate_is_not_shown_for_the_new(
        make_main_window, small_plate: Path, tmp_path: Path, qtbot, monkeypatch) -> None:
    from openhcs_gui.plates import make_synthetic_plate
    from openhcs_gui.ui import plate_panel

    window = make_main_window()
    gate = _gate(monkeypatch, plate_panel, "load_well_layers", lambda plate, well: Path(plate.path).resolve() == small_plate.resolve())
    shown: list[str] = []
    window.plate_panel.well_layers_ready.connect(lambda well, _layers: shown.append(well))
    open_plate_and_wait(window, qtbot, small_plate)
    window.plate_panel.show_well("A01")  # read slowly
    other = make_synthetic_plate(tmp_path / "plate2", wells=["C03"], sites=1, channels=2, shape=(64, 64))
    open_plate_and_wait(window, qtbot, other)
    window.plate_panel.show_well("C03")
    qtbot.waitUntil(lambda: shown == ["C03"], timeout=30_000)
    gate.set()  # plate 1's A01 arrives now
    _settle(qtbot)
    assert shown == ["C03"]
    assert {tuple(layer.data.shape[-2:]) for layer in window.viewer.layers} == {(64, 64)}
