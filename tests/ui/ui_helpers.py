"""Helpers shared by the GUI run tests (imported by module name; tests/ui is on sys.path)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np

from openhcs_gui.functions import register_function


class Permits:
    """Calls of :func:`held_copy` each take one permit: a test decides how far a run gets.

    Cancelling "after the first well" by watching a progress bar races the
    run on a loaded machine (the run may finish first); permits make it exact.
    """

    semaphore = threading.Semaphore(0)

    @classmethod
    def grant(cls, n: int) -> None:
        """Let ``n`` more calls through."""
        cls.semaphore.release(n)

    @classmethod
    def revoke_all(cls) -> None:
        """Take back every permit not used yet."""
        while cls.semaphore.acquire(blocking=False):
            pass


@register_function("ui_test_held_copy", category="test")
def held_copy(stack: np.ndarray, seconds: float = 0.0) -> np.ndarray:
    """Copy the stack once a permit is granted (:class:`Permits`), then pause ``seconds``."""
    if not Permits.semaphore.acquire(timeout=60):
        raise TimeoutError("held_copy waited 60 s for a permit (the test granted none)")
    time.sleep(seconds)
    return np.array(stack)


#: Stacks per well of ``small_plate`` with the default grouping (one per channel).
CALLS_PER_WELL = 2


def open_plate_and_wait(window, qtbot, plate: Path) -> None:
    """Open ``plate`` in the window and wait until the worker has indexed it."""
    with qtbot.waitSignal(window.plate_opened, timeout=30000):
        window.open_plate(plate)
