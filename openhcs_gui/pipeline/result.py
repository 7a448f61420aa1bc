"""What a run leaves behind: status, per-step outputs, errors, and image access.

:class:`RunResult` is returned by a run and rebuilt from a workspace's
``openhcs_metadata.json`` by :func:`~openhcs_gui.pipeline.provenance.open_workspace`.
It holds the run's :class:`~openhcs_gui.vfs.FileManager`, so images a run kept
in memory stay browsable after it ends; disk and zarr outputs are read back
through the same call, :meth:`RunResult.get_image`.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openhcs_gui._lazy import lazy_module
from openhcs_gui.constants import Backend, RunStatus
from openhcs_gui.errors import PathNotFoundError
from openhcs_gui.pipeline.planner import ExecutionPlan
from openhcs_gui.vfs.keys import ImageKey

if TYPE_CHECKING:
    from openhcs_gui.pipeline.measurements import WellMeasurement

np = lazy_module("numpy", globals())  # imported on first use: the desktop window shows before numpy loads

__all__ = ["WellError", "StepOutput", "RunResult", "read_csv_rows"]


@dataclass(frozen=True)
class WellError:
    """A step raised on one well; the run went on with the other wells."""

    well: str
    step: str
    message: str
    traceback: str = ""

    def to_dict(self) -> dict[str, str]:
        """JSON-ready form."""
        return {"well": self.well, "step": self.step, "message": self.message, "traceback": self.traceback}


@dataclass
class StepOutput:
    """Outputs of one step over all wells that reached it."""

    index: int  #: 0-based; the folder is ``step{index + 1}_{name}``
    name: str
    backend: Backend
    folder: Path
    image_dir: str  #: where image keys live (``folder`` or ``folder/<store_name>``)
    keys: list[ImageKey] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)  #: consolidated ``<name>.csv`` names
    kept_in_memory: bool = True  #: False when a memory output was dropped after its reader
    with_time: bool = False  #: names carry ``_t<n>`` (the plate has several time points)

    def path_of(self, key: ImageKey) -> str:
        """Path of ``key``'s image in this step's backend."""
        return f"{self.image_dir}/{key.filename(with_time=self.with_time)}"


def _number(text: str) -> Any:
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def read_csv_rows(path: str | Path) -> list[dict[str, Any]]:
    """Rows of a CSV file as dicts, numbers parsed back to int/float."""
    with open(path, newline="", encoding="utf-8") as fh:
        return [{k: _number(v) for k, v in row.items()} for row in csv.DictReader(fh)]


@dataclass
class RunResult:
    """Result of a pipeline run (or of a workspace opened from disk).

    Attributes
    ----------
    status
        ``completed``, ``failed`` (some wells raised) or ``cancelled``; a
        workspace opened from a killed run says ``running``.
    workspace
        The workspace folder (``<root>/<plate>_workspace[_N]``).
    plan
        The :class:`ExecutionPlan` the run followed.
    steps
        One :class:`StepOutput` per step, in order.
    errors
        One :class:`WellError` per failed well, in well order.
    timings
        ``{well: {step name: seconds}}``.
    seconds
        Wall time of the whole run.
    filemanager
        Routes reads to memory, disk and zarr; keeps in-memory outputs alive.
    """

    status: RunStatus
    workspace: Path
    plan: ExecutionPlan
    steps: list[StepOutput]
    errors: list[WellError]
    timings: dict[str, dict[str, float]]
    seconds: float
    filemanager: Any
    wells: list[str] = field(default_factory=list)
    images_written: int = 0
    bytes_written: int = 0
    skipped_wells: list[str] = field(default_factory=list)  #: done before a resume, not rerun
    remote_memory: bool = False  #: wells ran in other processes (dask): memory outputs stayed there

    @property
    def metadata_path(self) -> Path:
        """``openhcs_metadata.json`` of this workspace."""
        from openhcs_gui.pipeline._provenance_io import METADATA_NAME

        return self.workspace / METADATA_NAME

    def step(self, ref: int | str | StepOutput) -> StepOutput:
        """A step's outputs by 0-based index, name, or the object itself.

        Raises
        ------
        KeyError
            If no step matches.
        """
        if isinstance(ref, StepOutput):
            return ref
        for s in self.steps:
            if (isinstance(ref, int) and s.index == ref) or s.name == ref:
                return s
        raise KeyError(f"No step {ref!r} (steps: {', '.join(s.name for s in self.steps)}).")

    def get_image(self, step: int | str | StepOutput, key: ImageKey) -> np.ndarray:
        """One output image of ``step`` as a 2-D numpy array, whatever its backend.

        Raises
        ------
        PathNotFoundError
            If the image does not exist, or was an in-memory intermediate that
            was dropped (``keep_intermediates=False``), belongs to a run that
            has ended in another process, or stayed on a dask worker.
        """
        out = self.step(step)
        path = out.path_of(key)
        if out.backend is Backend.MEMORY and not self.filemanager.exists(path, Backend.MEMORY):
            why = (
                "in-memory outputs of a distributed run stay in the worker processes; re-run the "
                "well in preview or with threads to browse it"
                if self.remote_memory
                else "it was dropped after its last reader (keep_intermediates=False)"
                if not out.kept_in_memory
                else "in-memory outputs only live as long as the run's process"
            )
            raise PathNotFoundError(f"Step '{out.name}' image {key.filename()} is not available: {why}.")
        return np.asarray(self.filemanager.load(path, out.backend))

    def get_table(self, step: int | str | StepOutput, name: str) -> list[dict[str, Any]]:
        """The consolidated table ``<name>.csv`` of ``step`` (all wells).

        Raises
        ------
        PathNotFoundError
            If the step wrote no such table.
        """
        out = self.step(step)
        path = out.folder / f"{name}.csv"
        if name not in out.tables or not path.is_file():
            raise PathNotFoundError(
                f"Step '{out.name}' has no table '{name}' (tables: {', '.join(out.tables) or 'none'})."
            )
        return read_csv_rows(path)

    def well_measurements(self, step: int | str | StepOutput | None = None) -> list[WellMeasurement]:
        """Per-well measurements a plate heatmap can show, with human labels and units.

        Reads the consolidated tables of ``step`` (default: every step that
        wrote tables, in step order) and returns one
        :class:`~openhcs_gui.pipeline.measurements.WellMeasurement` per choice:
        ``"Nuclei count"``, ``"Mean nuclear area"`` (µm² when the plate has a
        pixel size), ``"Mean cell intensity (FITC)"``... each with
        ``values = {well: value}`` (NaN for a well without objects, 0 for a
        count). Reads CSV files: call it off the GUI thread.

        Raises
        ------
        KeyError
            If ``step`` names no step.
        """
        from openhcs_gui.pipeline.measurements import well_measurements

        steps = self.steps if step is None else [self.step(step)]
        failed = {e.well for e in self.errors}
        out: list[WellMeasurement] = []
        for s in steps:
            tables = {name: self.get_table(s, name) for name in s.tables}
            if tables:
                wells = [w for w in self.wells if w not in failed]
                out.extend(well_measurements(s.name, tables, wells))
        return out

    def summary(self) -> str:
        """One paragraph: outcome, where the results are, time, images, errors."""
        persistent = [s for s in self.steps if s.backend is not Backend.MEMORY]
        where = "; ".join(f"step {s.index + 1} '{s.name}' -> {s.image_dir} ({s.backend.value})" for s in persistent)
        text = (
            f"Run {self.status.value} in {self.seconds:.1f} s: {len(self.wells)} wells, "
            f"{self.images_written} images written ({self.bytes_written / 1e6:.1f} MB). "
            f"Workspace: {self.workspace}. "
        )
        if self.skipped_wells:
            text += (f"Resumed: {len(self.skipped_wells)} of {len(self.wells)} wells skipped as already done, "
                     f"{len(self.wells) - len(self.skipped_wells)} run now. ")
        text += f"Results: {where}. " if where else "No step was materialized (all outputs in memory). "
        tables = [f"{s.folder}/{t}.csv" for s in self.steps for t in s.tables]
        if tables:
            text += f"Tables: {', '.join(tables)}. "
        if self.errors:
            shown = "; ".join(f"{e.well} at '{e.step}': {e.message}" for e in self.errors[:3])
            more = f" (+{len(self.errors) - 3} more)" if len(self.errors) > 3 else ""
            text += f"{len(self.errors)} well(s) failed: {shown}{more}. "
        text += f"Provenance: {self.metadata_path}."
        return text

    def close(self) -> None:
        """Release the file manager (drops in-memory outputs)."""
        self.filemanager.close()
