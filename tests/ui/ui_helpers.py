"""Helpers shared by the GUI run tests (imported by module name; tests/ui is on sys.path)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from openhcs_gui.functions import register_function


@register_function("ui_test_slow_copy", category="test")
def slow_copy(stack: np.ndarray, seconds: float = 0.25) -> np.ndarray:
    """Copy the stack after a pause (a function slow enough to cancel between wells)."""
    time.sleep(seconds)
    return np.array(stack)


def open_plate_and_wait(window, qtbot, plate: Path) -> None:
    """Open ``plate`` in the window and wait until the worker has indexed it."""
    with qtbot.waitSignal(window.plate_opened, timeout=30000):
        window.open_plate(plate)
