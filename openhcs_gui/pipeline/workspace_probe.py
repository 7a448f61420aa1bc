"""Questions the GUI asks about workspaces on disk, answered without Qt.

* :func:`find_resumable`: does the plate's newest workspace hold a run that
  did not complete (``failed``, ``cancelled``, or ``running`` although the
  process that wrote it is gone)? The Run dock offers "Resume" only then.
* :func:`classify_drop`: is a dropped path a workspace or a plate folder?

Both read the disk, so the GUI calls them on a worker. The provenance file is
read by its one reader (:func:`~openhcs_gui.pipeline.provenance.read_provenance`,
journal merged), and a live run is recognised by the engine's own rule
(:func:`~openhcs_gui.pipeline.workspace.live_owner`). Whether the pipeline and config still match is decided
when Resume is pressed (``ResumeError``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openhcs_gui.errors import PipelineError
from openhcs_gui.pipeline.provenance import METADATA_NAME, read_provenance
from openhcs_gui.pipeline.resume import ResumeError, find_workspace
from openhcs_gui.pipeline.workspace import live_owner

__all__ = ["ResumableRun", "find_resumable", "classify_drop"]

_UNFINISHED = ("failed", "cancelled")


@dataclass(frozen=True)
class ResumableRun:
    """An earlier run whose workspace can be continued."""

    workspace: Path
    status: str  #: ``failed``, ``cancelled`` or ``killed`` (``running`` but its process is gone)
    wells_done: int  #: wells recorded ``completed``
    wells_total: int


def find_resumable(plate: Any, cfg: Any) -> ResumableRun | None:
    """The plate's newest workspace if its run did not complete, else ``None``.

    Parameters
    ----------
    plate
        The open ``PlateIndex``.
    cfg
        The run configuration (its output root decides where workspaces are).

    Returns
    -------
    ResumableRun or None
        ``None`` when there is no workspace, its run completed or still runs,
        or its provenance is unreadable (Run still works; a resume would be refused).
    """
    try:
        workspace = find_workspace(plate, cfg, True)
        doc = read_provenance(workspace)
    except (ResumeError, PipelineError):
        return None
    status = doc["status"]
    if status == "running":
        if live_owner(workspace) is not None:  # the engine's rule: this process's runs, live pids
            return None
        status = "killed"
    elif status not in _UNFINISHED:
        return None
    wells = doc["wells"]
    done = sum(1 for entry in wells.values() if entry.get("status") == "completed")
    return ResumableRun(workspace, status, done, len(wells))


def classify_drop(paths: list[Path]) -> tuple[str, Path]:
    """What a drop of ``paths`` opens: ``("workspace" | "plate", path)``.

    A workspace is its provenance file or a folder holding one; any other
    folder is opened as a plate (the scanner names what it cannot read).

    Raises
    ------
    ValueError
        Nothing dropped is a folder or a workspace file.
    """
    for path in paths:
        if path.name == METADATA_NAME and path.is_file():
            return "workspace", path.parent
        if path.is_dir():
            return ("workspace" if (path / METADATA_NAME).is_file() else "plate"), path
    names = ", ".join(p.name for p in paths)
    raise ValueError(f"drop a plate folder or a workspace ({METADATA_NAME}); got {names}")
