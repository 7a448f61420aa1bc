"""The Run dock's "Run on" choice: threads, worker processes (a local dask cluster), a dask scheduler."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from ui_helpers import open_plate_and_wait

from openhcs_gui.constants import RunStatus
from openhcs_gui.pipeline import demo_pipeline_path
from openhcs_gui.ui.run_target import CLUSTER, PROCESSES, THREADS, RunTarget

pytestmark = pytest.mark.gui


def _log_text(panel) -> str:
    return "\n".join(panel.log.item(i).text() for i in range(panel.log.count()))


def test_choice_is_remembered_and_round_trips(qtbot, tmp_path: Path) -> None:
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    target = RunTarget(settings=settings)
    qtbot.addWidget(target)
    assert target.choice == THREADS and target.address.isHidden()
    target.set_state({"on": CLUSTER, "address": "tcp://10.0.0.5:8786"})
    assert not target.address.isHidden()
    assert "preview a well" in target.info.text()
    settings.sync()
    again = RunTarget(settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(again)
    assert again.get_state() == {"on": CLUSTER, "address": "tcp://10.0.0.5:8786"}
    again.set_state({"on": "moon"})  # unknown: threads
    assert again.choice == THREADS and again.info.isHidden()


@pytest.mark.parametrize(("address", "words"), [("", "Type the address"), ("sched:8786", "is not a dask")])
def test_a_wrong_address_is_one_sentence_in_the_run_log(make_main_window, small_plate: Path, qtbot,
                                                        address: str, words: str) -> None:
    window = make_main_window()
    open_plate_and_wait(window, qtbot, small_plate)
    with qtbot.waitSignal(window.pipeline_loaded, timeout=10000):
        window.load_pipeline(demo_pipeline_path())
    panel = window.run_panel
    panel.run_target.set_state({"on": CLUSTER, "address": address})
    with qtbot.waitSignal(panel.run_failed, timeout=20000) as blocker:
        assert panel.start_run()
    message = blocker.args[0]
    assert words in message and message.count("\n") == 0 and message.endswith(".")
    assert words in _log_text(panel)
    assert panel.run_button.isEnabled() and panel.run_target.combo.isEnabled()


def test_run_on_worker_processes_from_the_run_dock(make_main_window, small_plate: Path, qtbot,
                                                   screenshot_dir: Path) -> None:
    window = make_main_window(show=True)
    open_plate_and_wait(window, qtbot, small_plate)
    with qtbot.waitSignal(window.pipeline_loaded, timeout=10000):
        window.load_pipeline(demo_pipeline_path())
    window.session.cfg.num_workers = 2
    window.session.cfg.memory_budget_gb = 2.0
    panel, target = window.run_panel, window.run_panel.run_target
    target.set_state({"on": PROCESSES})
    seen: list[str] = []

    with qtbot.waitSignal(panel.run_finished, timeout=180000) as blocker:
        t0 = time.perf_counter()
        assert panel.start_run()
        assert time.perf_counter() - t0 < 1.0  # the cluster starts on a worker, not here
        assert not target.combo.isEnabled()
        qtbot.waitUntil(lambda: (seen.append(target.info.text()) or "busy" in target.info.text()),
                        timeout=120000)
        window.run_panel.grab().save(str(screenshot_dir / "run_target_processes.png"))
    result = blocker.args[0]
    assert result.status is RunStatus.COMPLETED, result.errors
    assert any("2 workers" in s and "of 2.0 GB" in s for s in seen), seen
    doc = json.loads(result.metadata_path.read_text())
    assert {e["pid"] for e in doc["wells"].values()}.isdisjoint({os.getpid()})
    log = _log_text(panel)
    assert "In memory only: blur, background." in log and "preview a well" in log
    executor = target._cluster.executor
    assert executor is not None and executor._client is not None  # kept warm for the next run

    target.combo.setCurrentIndex(target.combo.findData(THREADS))  # the local cluster goes
    assert target._cluster.executor is None
    qtbot.waitUntil(lambda: executor._client is None, timeout=30000)
