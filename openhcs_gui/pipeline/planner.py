"""The planner: decide, once and before anything runs, where every output goes.

:func:`plan_pipeline` is pure (no I/O): the same pipeline, plate and config
always give the same :class:`ExecutionPlan`, so the GUI can show the plan while
the user edits and tests can table-test the rules. The rules, first match wins:

1. the step's ``backend=``;
2. ``force_disk_output=True`` -> disk (the output also stays in memory for the
   next step, which reads it from there);
3. the last step -> the effective materialization backend
   (``materialization_defaults.backend``, inheriting ``vfs.materialization_backend``);
4. otherwise ``vfs.intermediate_backend`` (memory by default).

Every step reads the previous step's output from memory (the first reads the
input plate). An in-memory copy is dropped right after its only reader (the
next step) unless it is the in-memory home of the data and
``keep_intermediates`` is on; a last step's output is never dropped.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

from openhcs_gui.config import GlobalPipelineConfig, effective_materialization
from openhcs_gui.constants import Backend
from openhcs_gui.pipeline.workspace import plate_identity, workspace_base
from openhcs_gui.vfs.keys import names_with_time

__all__ = ["StepPlan", "ExecutionPlan", "plan_pipeline", "workspace_base"]


@dataclass(frozen=True)
class StepPlan:
    """Where one step reads from and writes to (plain data)."""

    index: int  #: 0-based position in the pipeline; the folder uses ``index + 1``
    name: str
    function: str  #: display label of the function(s)
    backend: Backend  #: where the output images are stored
    rule: str  #: which planner rule chose the backend
    folder: str  #: ``<workspace>/step{N}_{name}`` (absolute, posix)
    image_dir: str  #: folder holding image keys: the folder, or ``folder/<store_name>``
    reads_from: int | None  #: step index read from; ``None`` = the input plate
    in_memory: bool  #: the output is held in memory during the run
    drop_after: int | None  #: drop the memory copy after this step ran on the well
    compression_level: int | None  #: zarr level (``None`` for other backends)
    #: ``"labels"`` when the step's (last) function declares ``outputs == "labels"``, else ``"image"``
    output_kind: str = "image"
    #: names carry ``_t<n>``: the plate has more than one time point (``keys.names_with_time``)
    with_time: bool = False

    def image_path(self, key: Any) -> str:
        """Path of ``key``'s output image (``..._labels.tif`` for a label output on disk or zarr).

        On a plate with several time points every name carries its time point
        (``A01_s1_w1_z1_t1.tif``); see ``docs/contracts.md`` "Time points".
        """
        labels = self.output_kind == "labels" and self.backend is not Backend.MEMORY
        return f"{self.image_dir}/{key.filename(labels=labels, with_time=self.with_time)}"

    @property
    def number(self) -> int:
        """1-based step number, as in the folder name."""
        return self.index + 1

    @property
    def materialized(self) -> bool:
        """True if the output lands on a persistent backend."""
        return self.backend is not Backend.MEMORY


@dataclass(frozen=True)
class ExecutionPlan:
    """The whole plan: workspace, input and one :class:`StepPlan` per step."""

    plate_path: str
    plate_name: str
    input_backend: Backend
    workspace: str
    keep_intermediates: bool
    steps: tuple[StepPlan, ...]
    warnings: tuple[str, ...] = field(default=())

    def step(self, ref: int | str) -> StepPlan:
        """Look a step up by 0-based index or by name.

        Raises
        ------
        KeyError
            If no step matches.
        """
        for s in self.steps:
            if (isinstance(ref, int) and s.index == ref) or s.name == ref:
                return s
        raise KeyError(f"No step {ref!r} in the plan (steps: {', '.join(s.name for s in self.steps)}).")

    def with_workspace(self, workspace: str | os.PathLike[str]) -> ExecutionPlan:
        """The same plan moved to another workspace folder (e.g. ``plate_workspace_2``)."""
        ws = Path(workspace).as_posix()
        steps = tuple(
            replace(
                s,
                folder=ws + s.folder[len(self.workspace):],
                image_dir=ws + s.image_dir[len(self.workspace):],
            )
            for s in self.steps
        )
        return replace(self, workspace=ws, steps=steps)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready plain data (for provenance and remote executors)."""
        d = asdict(self)
        d["input_backend"] = self.input_backend.value
        d["steps"] = [{**asdict(s), "backend": s.backend.value} for s in self.steps]
        d["warnings"] = list(self.warnings)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ExecutionPlan:
        """Inverse of :meth:`to_dict`."""
        steps = tuple(StepPlan(**{**s, "backend": Backend(s["backend"])}) for s in d["steps"])
        return cls(
            plate_path=d["plate_path"],
            plate_name=d["plate_name"],
            input_backend=Backend(d["input_backend"]),
            workspace=d["workspace"],
            keep_intermediates=d["keep_intermediates"],
            steps=steps,
            warnings=tuple(d.get("warnings", ())),
        )

    def __str__(self) -> str:
        head = (
            f"Plan for plate '{self.plate_name}' -> {self.workspace}  "
            f"(keep intermediates: {'yes' if self.keep_intermediates else 'no'})"
        )
        rows = [("#", "step", "backend", "rule", "reads from", "folder", "memory")]
        for s in self.steps:
            src = f"input ({self.input_backend.value})" if s.reads_from is None else f"step {s.reads_from + 1}"
            rel = s.image_dir[len(self.workspace):].lstrip("/")
            if not s.in_memory:
                mem = "-"
            elif s.drop_after is None:
                mem = "kept"
            else:
                mem = f"dropped after step {s.drop_after + 1}"
            level = f" (level {s.compression_level})" if s.compression_level is not None else ""
            rows.append((str(s.number), s.name, s.backend.value + level, s.rule, src, rel, mem))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = [head] + ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def _choose_backend(step: Any, is_last: bool, cfg: GlobalPipelineConfig, final: Backend) -> tuple[Backend, str]:
    if step.backend is not None:
        return Backend(step.backend), "backend="
    if step.force_disk_output:
        return Backend.DISK, "force_disk_output"
    if is_last:
        return final, "last step"
    return Backend(cfg.vfs.intermediate_backend), "intermediate"


def plan_pipeline(
    pipeline: Sequence[Any],
    plate: Any,
    cfg: GlobalPipelineConfig,
    *,
    workspace: str | os.PathLike[str] | None = None,
) -> ExecutionPlan:
    """Make the execution plan for ``pipeline`` on ``plate`` (pure, no I/O).

    Parameters
    ----------
    pipeline
        The steps, in order (a :class:`~openhcs_gui.pipeline.Pipeline` or any
        sequence of :class:`~openhcs_gui.pipeline.FunctionStep`).
    plate
        A :class:`~openhcs_gui.plates.PlateIndex` or the plate's path.
    cfg
        The run configuration.
    workspace
        Use this workspace folder instead of ``<root>/<plate>_workspace`` (the
        runner passes the unique name it picked, e.g. ``plate_workspace_2``).

    Returns
    -------
    ExecutionPlan
        Plain data; ``str(plan)`` is a readable table. Every folder in it is
        absolute (see :mod:`openhcs_gui.pipeline.workspace`).

    Raises
    ------
    InvalidPathError
        If the workspace would lie inside the input plate.
    """
    from openhcs_gui.pipeline.step import func_label

    path, name, input_backend = plate_identity(plate)
    metadata = getattr(plate, "metadata", None)
    with_time = names_with_time(len(metadata.timepoints)) if metadata is not None else False
    eff = effective_materialization(cfg, path)
    ws = Path(os.path.abspath(workspace)) if workspace is not None else workspace_base(plate, cfg)
    ws_posix = ws.as_posix()
    steps: list[StepPlan] = []
    warnings: list[str] = []
    n = len(pipeline)
    for i, step in enumerate(pipeline):
        is_last = i == n - 1
        backend, rule = _choose_backend(step, is_last, cfg, eff.backend)
        if step.backend is not None and step.force_disk_output and backend is not Backend.DISK:
            warnings.append(
                f"step {i + 1} '{step.name}': backend={backend.value} wins over force_disk_output"
            )
        folder = str(PurePosixPath(ws_posix) / f"step{i + 1}_{step.name}")
        image_dir = folder + "/" + cfg.zarr.store_name if backend is Backend.ZARR else folder
        in_memory = backend is Backend.MEMORY or not is_last
        if is_last or (backend is Backend.MEMORY and cfg.keep_intermediates):
            drop_after = None
        else:
            drop_after = i + 1
        steps.append(
            StepPlan(
                index=i,
                name=step.name,
                function=_describe_func(step.func, func_label),
                backend=backend,
                rule=rule,
                folder=folder,
                image_dir=image_dir,
                reads_from=None if i == 0 else i - 1,
                in_memory=in_memory,
                drop_after=drop_after,
                compression_level=eff.compression_level if backend is Backend.ZARR else None,
                output_kind=output_kind(step.func),
                with_time=with_time,
            )
        )
    return ExecutionPlan(
        plate_path=path.as_posix(),
        plate_name=name,
        input_backend=input_backend,
        workspace=ws_posix,
        keep_intermediates=cfg.keep_intermediates,
        steps=tuple(steps),
        warnings=tuple(warnings),
    )


def output_kind(func: Any) -> str:
    """``"labels"`` if every chain of ``func`` ends in a function declaring label outputs."""
    if isinstance(func, dict):
        kinds = {output_kind(v) for v in func.values()}
        return "labels" if kinds == {"labels"} else "image"
    if isinstance(func, list):
        return output_kind(func[-1]) if func else "image"
    if isinstance(func, tuple):
        func = func[0]
    if isinstance(func, str):
        from openhcs_gui.pipeline.step import _resolve

        try:
            func = _resolve(func)
        except ValueError:
            return "image"
    return "labels" if getattr(func, "outputs", None) == "labels" else "image"


def _describe_func(func: Any, label: Any) -> str:
    if isinstance(func, dict):
        return ", ".join(f"ch{k}: {_describe_func(v, label)}" for k, v in func.items())
    if isinstance(func, list):
        return " -> ".join(_describe_func(f, label) for f in func)
    if isinstance(func, tuple):
        return str(label(func[0]))
    return str(label(func))
