"""Pipeline: an evented list of FunctionSteps, and its JSON file format.

A pipeline file names registered functions and their keyword arguments; it
never holds code, pickles or expressions, and loading one only looks names up
in the function registry (never imports or executes anything new)::

    {"format": "openhcs-pipeline", "version": 1, "name": "demo",
     "steps": [
       {"name": "blur", "func": {"function": "gaussian_blur", "kwargs": {"sigma": 2.0}},
        "force_disk_output": false, "backend": null,
        "variable_components": ["site"], "group_by": null},
       {"name": "per_channel", "group_by": "channel",
        "func": {"channels": {"1": [{"function": "gaussian_blur", "kwargs": {}}]}}}]}

``func`` is one ``{"function", "kwargs"}`` item, a list of them (a chain), or
``{"channels": {"<channel>": item-or-list}}`` for per-channel functions.

A saved pipeline may also carry the settings it was tuned with (``"config"``,
a config file's content): where the final results go and in which format
belong to a pipeline as much as its steps, so they travel with it to the next
plate or machine. A run given its own config (``--config``, the GUI's form)
uses that instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from psygnal.containers import EventedList
from pydantic import ValidationError

from openhcs_gui import _jsonio
from openhcs_gui._atomic import write_text_atomic
from openhcs_gui.config import GlobalPipelineConfig, config_to_dict, describe_validation_error
from openhcs_gui.constants import Backend, Component
from openhcs_gui.errors import PipelineError
from openhcs_gui.pipeline._legacy import upgrade_kwargs
from openhcs_gui.pipeline.planner import ExecutionPlan, plan_pipeline
from openhcs_gui.pipeline.step import FunctionStep, _as_chain

if TYPE_CHECKING:
    from openhcs_gui.pipeline.events import CancelToken, ProgressCallback
    from openhcs_gui.pipeline.executors import Executor
    from openhcs_gui.pipeline.result import RunResult

__all__ = ["Pipeline", "save_pipeline", "load_pipeline", "FORMAT", "VERSION"]

FORMAT = "openhcs-pipeline"
VERSION = 1


class Pipeline(EventedList[FunctionStep]):
    """Ordered :class:`FunctionStep`s with list events (napari's ``EventedList``).

    The GUI connects to ``pipeline.events.inserted/removed/moved/changed`` and,
    through ``child_event``, to every step's field events.

    Parameters
    ----------
    steps
        The steps, first to last.
    name
        Shown in the GUI and stored in the pipeline file.
    config
        The settings saved with the pipeline (``None``: none saved); a run
        without a config of its own uses them.
    """

    def __init__(self, steps: Iterable[FunctionStep] = (), name: str = "pipeline",
                 config: GlobalPipelineConfig | None = None) -> None:
        self.name = name
        self.config = config
        super().__init__(steps)

    def _pre_insert(self, value: FunctionStep) -> FunctionStep:
        if not isinstance(value, FunctionStep):
            raise TypeError(f"A Pipeline holds FunctionStep objects, not {type(value).__name__}.")
        return value

    @property
    def steps(self) -> list[FunctionStep]:
        """The steps as a plain list (a copy; edit the pipeline itself)."""
        return list(self)

    def plan(self, plate: Any, cfg: GlobalPipelineConfig | None = None) -> ExecutionPlan:
        """Execution plan for ``plate`` (a path or PlateIndex); see :func:`plan_pipeline`."""
        return plan_pipeline(self, plate, cfg or self.config or GlobalPipelineConfig())

    def run(
        self,
        plate: Any,
        cfg: GlobalPipelineConfig | None = None,
        *,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
        overwrite: bool = False,
        resume: bool | str | os.PathLike[str] = False,
        executor: Executor | None = None,
    ) -> RunResult:
        """Run on ``plate``; see :func:`openhcs_gui.pipeline.run_pipeline`.

        ``resume=True`` (or a workspace path) continues a killed or failed run
        in its workspace, skipping the wells it already completed;
        ``executor=DaskExecutor(...)`` runs the wells on dask workers.
        Without ``cfg``, the settings saved with the pipeline (:attr:`config`) apply.
        """
        from openhcs_gui.pipeline.runner import run_pipeline

        return run_pipeline(self, plate, cfg if cfg is not None else self.config, progress=progress, cancel=cancel, overwrite=overwrite,
                            resume=resume, executor=executor)

    # ------------------------------------------------------------------ JSON
    def to_dict(self) -> dict[str, Any]:
        """Plain data naming registered functions (raises for unregistered ones).

        Raises
        ------
        PipelineError
            If a step uses a function that is not registered (it could not be
            loaded again by name).
        """
        return {
            "format": FORMAT,
            "version": VERSION,
            "name": self.name,
            "steps": [_step_to_dict(s, i) for i, s in enumerate(self)],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Pipeline:
        """Build a pipeline from :meth:`to_dict` data; never executes code.

        Raises
        ------
        PipelineError
            On a wrong format, an unknown function name or a bad keyword
            argument; the message names the step.
        """
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise PipelineError(f"Not an OpenHCS pipeline (expected \"format\": \"{FORMAT}\").")
        if data.get("version") != VERSION:
            raise PipelineError(f"Unsupported pipeline version {data.get('version')!r} (supported: {VERSION}).")
        raw_steps = data.get("steps")
        if not isinstance(raw_steps, list):
            raise PipelineError("Pipeline 'steps' must be a list.")
        return cls([_step_from_dict(s, i) for i, s in enumerate(raw_steps)], name=str(data.get("name", "pipeline")),
                   config=_config_from_json(data.get("config")))

    def __repr__(self) -> str:
        return f"Pipeline({[s.name for s in self]!r}, name={self.name!r})"


def _config_from_json(raw: Any) -> GlobalPipelineConfig | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise PipelineError("Pipeline 'config' must be an object (the settings saved with the pipeline).")
    try:
        return GlobalPipelineConfig.model_validate(raw)
    except ValidationError as e:
        raise PipelineError(f"The settings saved with the pipeline are invalid: {describe_validation_error(e)}.") from None


def _item_to_dict(obj: Any, where: str) -> dict[str, Any]:
    from openhcs_gui.functions import name_of

    (func, kwargs), = _as_chain(obj, where)
    name = name_of(func)
    if name is None:
        raise PipelineError(
            f"{where}: function {getattr(func, '__name__', func)!r} is not registered; "
            "register it with @register_function to save the pipeline."
        )
    return {"function": name, "kwargs": _jsonable(kwargs)}


def _chain_to_json(spec: Any, where: str) -> Any:
    if isinstance(spec, list):
        return [_item_to_dict(o, f"{where}[{i}]") for i, o in enumerate(spec)]
    return _item_to_dict(spec, where)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalar
        return value.item()
    return value


def _step_to_dict(step: FunctionStep, i: int) -> dict[str, Any]:
    where = f"Step {i + 1} '{step.name}'"
    if isinstance(step.func, dict):
        func: Any = {"channels": {str(k): _chain_to_json(v, where) for k, v in step.func.items()}}
    else:
        func = _chain_to_json(step.func, where)
        if step.kwargs and isinstance(func, dict):
            func["kwargs"] = _jsonable(step.kwargs)
    return {
        "name": step.name,
        "func": func,
        "force_disk_output": step.force_disk_output,
        "backend": step.backend.value if step.backend is not None else None,
        "variable_components": [c.value for c in step.variable_components],
        "group_by": step.group_by.value if step.group_by is not None else None,
    }


def _item_from_json(item: Any, where: str) -> tuple[Any, dict[str, Any]]:
    from openhcs_gui.functions import get_function

    if not isinstance(item, dict) or not isinstance(item.get("function"), str):
        raise PipelineError(f"{where}: expected {{\"function\": name, \"kwargs\": {{...}}}}, got {item!r}.")
    unknown = set(item) - {"function", "kwargs"}
    if unknown:
        raise PipelineError(f"{where}: unknown keys {sorted(unknown)}.")
    kwargs = item.get("kwargs", {})
    if not isinstance(kwargs, dict):
        raise PipelineError(f"{where}: 'kwargs' must be an object.")
    try:
        registered = get_function(item["function"])
    except PipelineError as e:
        raise PipelineError(f"{where}: unknown function {item['function']!r} ({e}).") from None
    return registered.func, upgrade_kwargs(item["function"], kwargs, where)


def _chain_from_json(spec: Any, where: str) -> Any:
    if isinstance(spec, list):
        if not spec:
            raise PipelineError(f"{where}: empty function chain.")
        return [_item_from_json(o, where) for o in spec]
    return _item_from_json(spec, where)


def _enum(value: Any, enum: type[Any], where: str, field: str) -> Any:
    if value is None:
        return None
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(e.value for e in enum)
        raise PipelineError(f"{where}: {field} {value!r} is not one of {allowed}.") from None


def _step_from_dict(d: Any, i: int) -> FunctionStep:
    if not isinstance(d, dict):
        raise PipelineError(f"Step {i + 1}: expected an object, got {type(d).__name__}.")
    name = d.get("name")
    where = f"Step {i + 1} '{name}'" if name else f"Step {i + 1}"
    allowed = {"name", "func", "force_disk_output", "backend", "variable_components", "group_by"}
    unknown = set(d) - allowed
    if unknown:
        raise PipelineError(f"{where}: unknown keys {sorted(unknown)}.")
    spec = d.get("func")
    if isinstance(spec, dict) and "channels" in spec:
        if not isinstance(spec["channels"], dict):
            raise PipelineError(f"{where}: 'channels' must be an object.")
        try:
            func: Any = {int(k): _chain_from_json(v, where) for k, v in spec["channels"].items()}
        except ValueError:
            raise PipelineError(f"{where}: channel keys must be numbers.") from None
    else:
        func = _chain_from_json(spec, where)
    comps = d.get("variable_components", ["site"])
    if not isinstance(comps, list):
        raise PipelineError(f"{where}: variable_components must be a list.")
    force = d.get("force_disk_output", False)
    if not isinstance(force, bool):
        raise PipelineError(f"{where}: force_disk_output must be true or false.")
    step_kwargs: dict[str, Any] = {}
    own = {"func", "name", "force_disk_output", "backend", "variable_components", "group_by"}
    if isinstance(func, tuple) and not own & set(func[1]):
        func, step_kwargs = func  # a single function: its kwargs are the step's (GUI-editable)
    try:
        return FunctionStep(
            func,
            name=name,
            force_disk_output=force,
            backend=_enum(d.get("backend"), Backend, where, "backend"),
            variable_components=[_enum(c, Component, where, "variable component") for c in comps],
            group_by=_enum(d.get("group_by"), Component, where, "group_by"),
            **step_kwargs,
        )
    except PipelineError as e:
        raise PipelineError(f"{where}: {str(e).split(': ', 1)[-1]}") from None


def save_pipeline(pipeline: Pipeline, path: str | os.PathLike[str],
                  config: GlobalPipelineConfig | None = None) -> Path:
    """Write ``pipeline`` as JSON atomically (temp file + rename); return the path.

    ``config`` (default: the pipeline's own :attr:`Pipeline.config`) is saved
    with it, so the settings it was tuned with travel with it.

    Raises
    ------
    PipelineError
        If a step's function is not registered.
    """
    target = Path(path)
    data = pipeline.to_dict()
    config = config if config is not None else pipeline.config
    if config is not None:
        data["config"] = config_to_dict(config)
    text = _jsonio.dumps(data, f"pipeline file {target}", PipelineError) + "\n"
    try:
        write_text_atomic(target, text)
    except OSError as e:
        raise PipelineError(f"Cannot write pipeline file {target}: {e.strerror or e}.") from e
    return target


def load_pipeline(path: str | os.PathLike[str]) -> Pipeline:
    """Read a pipeline JSON file (validated; no code is executed).

    Raises
    ------
    PipelineError
        Naming the file, and the step for step-level problems.
    """
    source = Path(path)
    data = _jsonio.read_file(source, "pipeline", PipelineError)
    try:
        return Pipeline.from_dict(data)
    except PipelineError as e:
        raise PipelineError(f"Pipeline file {source}: {e}") from None
