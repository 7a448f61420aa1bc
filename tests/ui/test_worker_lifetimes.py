"""Closing a window while its background work is still going (issue 11 item 9).

The window must close at once, and a result that comes back after its widgets
are gone must be dropped, never delivered to a deleted widget ("Internal C++
object already deleted", "Signal source has been deleted"). pytest-qt fails a
test on any exception raised inside a Qt slot, and ``qt_log_level_fail`` fails it
on any Qt warning. Each scenario repeats a few times: the bug it guards against
was a race that showed in 2 runs of ``tests/ui`` out of 5.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import shiboken6
from PySide6.QtCore import QCoreApplication, QEvent, QObject, QSettings, Signal
from ui_helpers import CALLS_PER_WELL, held_copy

from openhcs_gui.constants import Backend, RunStatus
from openhcs_gui.pipeline import FunctionStep, Pipeline
from openhcs_gui.pipeline.workspace_probe import ResumableRun
from openhcs_gui.ui import workers

pytestmark = [pytest.mark.gui, pytest.mark.qt_log_level_fail("WARNING")]

REPEAT = 3
#: A blocked worker is released after this even if close() waits for it (the old behaviour);
#: far above what closing takes on a loaded machine (up to 2 s waiting for the preview process was seen).
RELEASE_AFTER_S = 30.0


def _flush() -> None:
    for _ in range(3):
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        QCoreApplication.processEvents()
    gc.collect()


@pytest.fixture
def gate() -> Iterator[threading.Event]:
    """Holds patched engine calls until the test (or a timer) opens it."""
    event = threading.Event()
    yield event
    event.set()


@pytest.fixture
def bare_window(qtbot, tmp_path: Path) -> Callable[[], Any]:
    """A main window the test closes and deletes itself (make_main_window would close it again)."""
    from openhcs_gui.ui.app import create_main_window

    def factory() -> Any:
        return create_main_window(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))

    return factory


def _close_and_delete(window: Any, gate: threading.Event) -> bool:
    """Close and delete ``window`` while ``gate`` holds its workers.

    Returns True if ``close()`` returned while the worker was still held (it did not wait).
    """
    timer = threading.Timer(RELEASE_AFTER_S, gate.set)  # a blocking close would return then
    timer.start()
    window.close()
    returned_first = not gate.is_set()
    window.deleteLater()
    _flush()
    assert not shiboken6.isValid(window)
    gate.set()
    timer.cancel()
    assert workers.wait_idle(timeout=30)
    _flush()  # a result queued by a late worker is processed (and must be dropped) here
    return returned_first


@pytest.mark.parametrize("attempt", range(REPEAT))
def test_well_read_finishing_after_close_is_dropped(bare_window, small_plate: Path, gate, monkeypatch,
                                                    attempt: int) -> None:
    from openhcs_gui.plates import open_plate
    from openhcs_gui.ui import plate_panel

    def held_read(plate: Any, well: str) -> list[Any]:
        gate.wait(30)
        return []

    monkeypatch.setattr(plate_panel, "load_well_layers", held_read)
    window = bare_window()
    window.session.set_plate(open_plate(small_plate))
    received: list[str] = []
    window.plate_panel.well_layers_ready.connect(lambda well, _layers: received.append(well))
    assert window.plate_panel.show_well("A01") is not None
    assert _close_and_delete(window, gate), "closing the window waited for a worker"
    assert received == []


@pytest.mark.parametrize("attempt", range(REPEAT))
def test_resume_check_finishing_after_close_is_dropped(bare_window, small_plate: Path, gate, monkeypatch,
                                                       attempt: int) -> None:
    from openhcs_gui.plates import open_plate
    from openhcs_gui.ui import resume_probe

    def held_check(plate: Any, cfg: Any) -> ResumableRun:
        gate.wait(30)
        return ResumableRun(Path("/nowhere"), "cancelled", 1, 4)

    monkeypatch.setattr(resume_probe, "find_resumable", held_check)
    window = bare_window()
    window.session.set_plate(open_plate(small_plate))  # the Run dock asks at once (held)
    assert _close_and_delete(window, gate), "closing the window waited for a worker"


def test_closing_during_a_run_cancels_it(bare_window, small_plate: Path, qtbot, tmp_path: Path,
                                         permits) -> None:
    from openhcs_gui.plates import open_plate

    window = bare_window()
    window.session.set_plate(open_plate(small_plate))
    window.session.cfg.num_workers = 1
    window.session.cfg.materialization_defaults.output_path = tmp_path / "out"
    window.session.replace_pipeline(Pipeline([FunctionStep(held_copy, "held", backend=Backend.DISK)]))
    permits.grant(CALLS_PER_WELL)  # the first well; the second waits until the window is gone
    assert window.start_run()
    task = window.run_panel.controller.task
    qtbot.waitUntil(lambda: window.run_panel.overall.value() >= 1, timeout=20000)
    window.close()
    window.deleteLater()
    _flush()
    permits.grant(100)
    assert workers.wait_idle(timeout=60)
    _flush()  # progress events of the last well arrive after the window is gone
    result = task.future.result(timeout=0)
    assert result.status is RunStatus.CANCELLED
    assert len(result.wells) == 4 and not result.errors  # the progress callback never raised


class _Receiver(QObject):
    got = Signal(object)

    def on_value(self, value: Any) -> None:
        self.got.emit(value)


def test_callbacks_must_be_methods_qt_can_drop(qtbot) -> None:
    parent = QObject()
    owner = workers.TaskOwner(parent)
    with pytest.raises(TypeError, match="bound method of a QObject"):
        owner.submit(int, "1", on_finished=lambda value: None)
    with pytest.raises(TypeError, match="bound method of a QObject"):
        owner.submit(int, "1", on_failed=print)
    receiver = _Receiver()
    with qtbot.waitSignal(receiver.got, timeout=5000) as blocker:
        owner.submit(int, "7", on_finished=receiver.on_value)
    assert blocker.args == [7]
    owner.close()


def test_a_deleted_receiver_gets_nothing(qtbot, gate) -> None:
    parent = QObject()
    owner = workers.TaskOwner(parent)
    receiver = _Receiver()
    got: list[Any] = []
    receiver.got.connect(got.append)
    task = owner.submit(gate.wait, 30, on_finished=receiver.on_value)
    thread_call = workers.main_thread_caller(receiver.on_value)
    shiboken6.delete(receiver)
    gate.set()
    threading.Thread(target=thread_call, args=("late",)).start()
    assert owner.wait_idle(timeout=10)
    qtbot.waitUntil(lambda: not task.running, timeout=5000)
    _flush()
    assert got == []
