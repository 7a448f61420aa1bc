"""Is there an earlier, unfinished run of this plate to resume?

The Run dock offers "Resume" only when the plate's newest workspace records a
run that did not complete: ``failed``, ``cancelled``, or ``running`` although
the process that wrote it is gone (killed, crashed, power cut). Reading the
workspace's ``openhcs_metadata.json`` is disk I/O, so :func:`find_resumable`
runs on the worker pool, never on the GUI thread; :class:`ResumeOffer` asks
it there and shows the Resume button with what it found. Whether the pipeline and
config still match is the engine's call (``ResumeError`` when Resume is pressed).
"""

from __future__ import annotations

import json
import os
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QPushButton, QWidget

from openhcs_gui.pipeline import ResumeError, find_workspace
from openhcs_gui.ui import workers

__all__ = ["ResumableRun", "ResumeOffer", "find_resumable"]

_METADATA_NAME = "openhcs_metadata.json"
_UNFINISHED = ("failed", "cancelled")


@dataclass(frozen=True)
class ResumableRun:
    """An earlier run whose workspace can be continued."""

    workspace: Path
    status: str  #: ``failed``, ``cancelled`` or ``killed`` (``running`` but its process is gone)
    wells_done: int  #: wells recorded ``completed``
    wells_total: int


def _process_gone(doc: dict[str, Any]) -> bool:
    """True unless the ``running`` run of ``doc`` may still be going on this machine.

    The same rule as the engine's refusal: another host's run, or this very
    process (the window asks only while it runs nothing), counts as gone.
    """
    pid = doc.get("pid")
    if not isinstance(pid, int) or doc.get("host") != platform.node() or pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists, not ours to signal
        return False
    return False


def find_resumable(plate: Any, cfg: Any) -> ResumableRun | None:
    """The plate's newest workspace if its run did not complete, else ``None``.

    Parameters
    ----------
    plate
        The open ``PlateIndex``.
    cfg
        The run configuration (its output root decides where workspaces are).
    """
    try:
        workspace = find_workspace(plate, cfg, True)
    except ResumeError:
        return None  # no earlier workspace: nothing to offer
    try:
        doc = json.loads((workspace / _METADATA_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # unreadable: Run still works; the engine would refuse a resume anyway
    status = doc.get("status") if isinstance(doc, dict) else None
    if status == "running" and _process_gone(doc):
        status = "killed"
    elif status not in _UNFINISHED:
        return None
    wells = doc.get("wells", {})
    done = sum(1 for entry in wells.values() if isinstance(entry, dict) and entry.get("status") == "completed")
    return ResumableRun(workspace, str(status), done, len(wells))


class ResumeOffer(QObject):
    """The Resume button, shown only while the open plate has an unfinished run.

    Parameters
    ----------
    parent
        The widget the button belongs to.

    Attributes
    ----------
    changed
        The :class:`ResumableRun` now offered, or ``None``, after every check.
    """

    changed = Signal(object)

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.found: ResumableRun | None = None
        self._asked = 0  # only the newest check is applied (the plate may change meanwhile)
        self.button = QPushButton("⟳ Resume", parent)
        self.button.setVisible(False)  # in a row of buttons: showing it moves no other widget

    def check(self, plate: Any, cfg: Any) -> workers.Task | None:
        """Look for an unfinished run of ``plate`` on a worker (``None`` plate: offer nothing)."""
        self._asked += 1
        if plate is None:
            self._apply(self._asked, None)
            return None
        asked = self._asked
        return workers.submit(
            find_resumable, plate, cfg.model_copy(deep=True), name="find resumable run",
            on_finished=lambda found: self._apply(asked, found),
            on_failed=lambda _e, _tb: self._apply(asked, None),
        )

    def _apply(self, asked: int, found: ResumableRun | None) -> None:
        if asked != self._asked:
            return
        self.found = found
        self.button.setVisible(found is not None)
        if found is not None:
            self.button.setToolTip(
                f"Continue the {found.status} run in {found.workspace}: its {found.wells_done} completed "
                f"of {found.wells_total} wells are skipped, the others run again there.")
        self.changed.emit(found)
