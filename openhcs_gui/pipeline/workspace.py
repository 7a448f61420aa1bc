"""Where a run writes: the plate's true root, the workspace folder, and who owns it.

Three rules keep a run from writing where it must not:

* The output root is absolute. A relative ``output_path`` is resolved once,
  against the working directory at plan time
  (:func:`~openhcs_gui.config.effective_materialization`), so provenance,
  images and tables all land in the same folder.
* The workspace never lands inside the input plate. A plate opened on one of
  its own sub-folders (an Opera ``Images/`` folder, an ImageXpress
  ``TimePoint_1/`` or ``ZStep_1/`` folder) is lifted to its true root, the
  folder holding ``Index.xml`` / the ``.HTD`` file / the ``TimePoint_N``
  folders, and ``<plate name>_workspace`` goes beside that root. An output
  folder chosen inside the plate is refused.
* ``overwrite`` deletes only a finished workspace: one that a run in this or
  another process is still writing, or that holds a chained run's workspace,
  is refused in one sentence.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from pathlib import Path
from typing import Any

from openhcs_gui.config import GlobalPipelineConfig, effective_materialization
from openhcs_gui.constants import Backend
from openhcs_gui.errors import InvalidPathError, NotWritableError, PathExistsError, PipelineError
from openhcs_gui.pipeline._provenance_io import METADATA_NAME, read_provenance

__all__ = [
    "plate_root",
    "plate_identity",
    "workspace_base",
    "prepare_workspace",
    "claim_workspace",
    "release_workspace",
    "live_owner",
]

#: Sub-folders an instrument writes inside its plate folder (ImageXpress, Opera).
_IX_SUBFOLDER = re.compile(r"^(TimePoint|ZStep)_\d+$", re.IGNORECASE)
_OPERA_SUBFOLDER = "images"

#: Workspaces a run in *this* process is writing (another process is seen through its pid).
_LIVE: set[str] = set()
_LIVE_LOCK = threading.RLock()


def _key(path: str | os.PathLike[str]) -> str:
    return os.path.normcase(os.path.abspath(path))


def plate_root(path: str | os.PathLike[str], fmt: str | None = None) -> Path:
    """The plate's true root folder: ``path`` without instrument sub-folders (pure, no I/O).

    Parameters
    ----------
    path
        The folder the plate was opened on.
    fmt
        The plate's format (``"opera"``, ``"imagexpress"``, ...), if known;
        ``None`` tries both instruments' sub-folder names.

    Returns
    -------
    Path
        Absolute; ``<plate>`` for ``<plate>/Images``, ``<plate>/TimePoint_1``
        and ``<plate>/TimePoint_1/ZStep_2``; ``path`` itself otherwise.
    """
    root = Path(os.path.abspath(path))
    if fmt in (None, "opera") and root.name.lower() == _OPERA_SUBFOLDER and root.parent != root:
        return root.parent
    if fmt in (None, "imagexpress"):
        while _IX_SUBFOLDER.match(root.name) and root.parent != root:
            root = root.parent
    return root


def plate_identity(plate: Any) -> tuple[Path, str, Backend]:
    """``(path, name, backend)`` of a ``PlateIndex`` or of a plain plate path.

    ``path`` is absolute and is the folder the plate was opened on; ``name``
    is the name of its true root (see :func:`plate_root`).
    """
    if isinstance(plate, str | os.PathLike):
        path = Path(os.path.abspath(plate))
        is_zarr = path.suffix.lower() == ".zarr"
        root = path if is_zarr else plate_root(path)
        name = path.stem if is_zarr else root.name
        return path, name, Backend.ZARR if is_zarr else Backend.DISK
    path = Path(os.path.abspath(plate.path))
    fmt = getattr(plate, "format", None)
    name = str(plate.name) if plate_root(path, fmt) == path else plate_root(path, fmt).name
    return path, name, Backend(plate.backend)


def workspace_base(plate: Any, cfg: GlobalPipelineConfig) -> Path:
    """``<output root>/<plate name>_workspace`` before any uniqueness suffix (pure, no I/O).

    The output root is ``materialization_defaults.output_path`` (absolute, see
    :func:`~openhcs_gui.config.effective_materialization`), else the folder
    holding the plate's true root.

    Raises
    ------
    InvalidPathError
        If the workspace would lie inside the input plate.
    """
    path, name, _ = plate_identity(plate)
    fmt = getattr(plate, "format", None)
    root_of_plate = path if path.suffix.lower() == ".zarr" else plate_root(path, fmt)
    out = effective_materialization(cfg, root_of_plate).output_root
    assert out is not None  # a plate path was given
    base = out / f"{name}_workspace"
    if _inside(base, root_of_plate):
        raise InvalidPathError(
            f"Output folder {out} is inside the input plate {root_of_plate}; "
            "choose an output folder outside the plate."
        )
    return base


def _inside(path: Path, folder: Path) -> bool:
    return _key(path) == _key(folder) or _key(path).startswith(_key(folder).rstrip(os.sep) + os.sep)


def live_owner(workspace: str | os.PathLike[str]) -> str | None:
    """Who is still writing ``workspace``: ``"in this process"``, ``"pid N"``, or ``None``.

    A run in this process is known from :func:`claim_workspace`; a run in
    another process from the ``pid``/``host`` its provenance file records.
    """
    with _LIVE_LOCK:
        if _key(workspace) in _LIVE:
            return "in this process"
    from openhcs_gui.pipeline.resume import _alive  # resume imports the planner, which imports us

    if not (Path(workspace) / METADATA_NAME).is_file():
        return None
    try:
        doc = read_provenance(workspace)
    except PipelineError:  # unreadable: no run can be recognised as its writer
        return None
    return f"pid {doc['pid']}" if _alive(doc) else None


def claim_workspace(workspace: str | os.PathLike[str]) -> None:
    """Mark ``workspace`` as being written by this process until :func:`release_workspace`.

    Raises
    ------
    PathExistsError
        If another run in this process already writes it.
    """
    key = _key(workspace)
    with _LIVE_LOCK:
        if key in _LIVE:
            raise PathExistsError(f"Workspace {workspace} is still being written by another run in this process.")
        _LIVE.add(key)


def release_workspace(workspace: str | os.PathLike[str]) -> None:
    """Undo :func:`claim_workspace` (the run that wrote ``workspace`` has ended)."""
    with _LIVE_LOCK:
        _LIVE.discard(_key(workspace))


def _nested_workspace(base: Path) -> Path | None:
    """A chained run's workspace inside ``base`` (a sub-folder with its own provenance file)."""
    for meta in sorted(base.rglob(METADATA_NAME)):
        if meta.parent != base:
            return meta.parent
    return None


def _check_overwrite(base: Path) -> None:
    if not (base / METADATA_NAME).is_file() and any(base.iterdir()):
        raise PathExistsError(f"{base} exists and is not an OpenHCS workspace; refusing to overwrite it.")
    owner = live_owner(base)
    if owner is not None:
        raise PathExistsError(f"Cannot overwrite workspace {base}: a run is still writing it ({owner}); "
                              "wait for it or stop it first.")
    nested = _nested_workspace(base)
    if nested is not None:
        raise PathExistsError(f"Cannot overwrite workspace {base}: it holds the chained run's workspace "
                              f"{nested}; move or delete that first.")


def prepare_workspace(base: Path, overwrite: bool = False, *, claim: bool = False) -> Path:
    """Create the workspace folder; never reuse an existing one silently.

    Returns ``base``, or ``base_2``, ``base_3``... if it exists; with
    ``overwrite`` an existing *workspace* (one with ``openhcs_metadata.json``,
    or empty) is deleted first.

    Parameters
    ----------
    base
        ``<output root>/<plate>_workspace`` (see :func:`workspace_base`).
    overwrite
        Delete an existing finished workspace at ``base`` instead of picking
        ``base_N``.
    claim
        Also :func:`claim_workspace` the folder (in the same step, so no
        other run of this process can take it in between); the caller must
        :func:`release_workspace` it when its run ends.

    Raises
    ------
    NotWritableError
        If the output root cannot be created or written (checked before any work).
    PathExistsError
        If ``overwrite`` would delete a folder that is not an OpenHCS workspace,
        a workspace a live run is still writing, or one holding a chained
        run's workspace.
    """
    root = base.parent
    try:
        root.mkdir(parents=True, exist_ok=True)
        probe = root / f".openhcs-write-test-{os.getpid()}-{threading.get_ident()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise NotWritableError(f"Output folder {root} is not writable: {e.strerror or e}.") from e
    with _LIVE_LOCK:  # check, delete, create and claim as one step for the runs of this process
        if overwrite and base.exists():
            _check_overwrite(base)
            shutil.rmtree(base)
        candidate, n = base, 1
        while True:
            try:
                candidate.mkdir()
                break
            except FileExistsError:
                n += 1
                candidate = base.with_name(f"{base.name}_{n}")
            except OSError as e:
                raise NotWritableError(f"Cannot create workspace {candidate}: {e.strerror or e}.") from e
        if claim:
            claim_workspace(candidate)
    return candidate
