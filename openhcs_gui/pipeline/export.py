"""Export a pipeline and its config as a plain, reproducible Python script.

The script rebuilds the :class:`~openhcs_gui.Pipeline` and the
:class:`~openhcs_gui.GlobalPipelineConfig` with the public API, looks every
function up by its registered name (``get_function("gaussian_blur").func``),
and runs it on the plate given as its first argument; an optional second
argument is the folder ``<plate>_workspace`` is created in (the CLI's
``--output``). It imports nothing but ``openhcs_gui``, and never unpickles,
``exec``s or ``eval``s anything, so reading it tells exactly what it runs.

It runs exactly what ``openhcs-gui run PLATE --pipeline P --config C
[--output OUT]`` runs: the same steps, the same effective config, with
``keep_intermediates=False`` (nothing browses a headless run's memory), so the
two write byte-identical images and tables. The script's text is
deterministic: exporting the same pipeline twice gives the same file.

CLI: ``openhcs-gui export-script PIPELINE.json [--config C] [-o SCRIPT.py]``;
GUI: File -> Export as Python script.
"""

from __future__ import annotations

import enum
import os
import stat
from pathlib import Path
from typing import Any

from openhcs_gui._atomic import write_text_atomic
from openhcs_gui.config import ConfigModel, GlobalPipelineConfig
from openhcs_gui.errors import PipelineError
from openhcs_gui.pipeline.pipeline import Pipeline

__all__ = ["pipeline_script", "export_script"]

_STEP_FIELDS = {"func", "name", "force_disk_output", "backend", "variable_components", "group_by"}
_INDENT = "    "


def _literal(value: Any) -> str:
    """Python source for a JSON-like value (a literal: no calls, nothing executed)."""
    if isinstance(value, enum.Enum):
        return f"{type(value).__name__}.{value.name}"
    if isinstance(value, os.PathLike):
        return repr(os.fspath(value))
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_literal(k)}: {_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):  # JSON has lists only; a tuple argument becomes one
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    if value is None or isinstance(value, bool | int | float | str):
        return repr(value)
    raise PipelineError(f"Cannot write {value!r} ({type(value).__name__}) into a script; "
                        "step arguments must be JSON values.")


def _call(item: dict[str, Any]) -> str:
    """``(fn("name"), {kwargs})`` for one ``{"function", "kwargs"}`` item of a pipeline file."""
    return f"(fn({item['function']!r}), {_literal(item.get('kwargs', {}))})"


def _chain(spec: Any) -> str:
    if isinstance(spec, list):
        return "[" + ", ".join(_call(item) for item in spec) + "]"
    return _call(spec)


def _step_code(d: dict[str, Any]) -> str:
    """``FunctionStep(...)`` source for one step of :meth:`Pipeline.to_dict` (same meaning as loading it)."""
    spec = d["func"]
    args: list[str] = []
    if isinstance(spec, dict) and "channels" in spec:
        channels = {int(k): v for k, v in spec["channels"].items()}
        args.append("{" + ", ".join(f"{k}: {_chain(v)}" for k, v in channels.items()) + "}")
        step_kwargs: dict[str, Any] = {}
    elif isinstance(spec, dict) and not _STEP_FIELDS & set(spec.get("kwargs", {})) and all(
            k.isidentifier() for k in spec.get("kwargs", {})):
        args.append(f"fn({spec['function']!r})")  # its kwargs are the step's, as when loading the file
        step_kwargs = dict(spec.get("kwargs", {}))
    else:
        args.append(_chain(spec))
        step_kwargs = {}
    args.append(f"name={d['name']!r}")
    if d.get("force_disk_output"):
        args.append("force_disk_output=True")
    if d.get("backend") is not None:
        args.append(f"backend=Backend.{d['backend'].upper()}")
    components = d.get("variable_components", ["site"])
    if components != ["site"]:
        args.append("variable_components=[" + ", ".join(f"Component.{c.upper()}" for c in components) + "]")
    if d.get("group_by") is not None:
        args.append(f"group_by=Component.{d['group_by'].upper()}")
    args += [f"{k}={_literal(v)}" for k, v in step_kwargs.items()]
    one_line = "FunctionStep(" + ", ".join(args) + "),"
    if len(one_line) <= 88:
        return one_line
    pad = _INDENT * 4
    return "FunctionStep(\n" + "".join(f"{pad}{a},\n" for a in args) + _INDENT * 3 + "),"


def _config_code(model: ConfigModel, depth: int, names: set[str]) -> str:
    """Constructor source for a config model, every field explicit (but an unset ``num_workers``)."""
    names.add(type(model).__name__)
    pad = _INDENT * (depth + 1)
    lines = []
    for field in type(model).model_fields:
        value = getattr(model, field)
        if field == "num_workers" and field not in model.model_fields_set:
            continue  # the default, all cores of the machine that runs the script
        if field == "keep_intermediates":
            lines.append(f"{pad}keep_intermediates=False,  # nothing browses a script's run: drop memory early")
            continue
        if isinstance(value, ConfigModel):
            lines.append(f"{pad}{field}={_config_code(value, depth + 1, names)},")
        else:
            if isinstance(value, enum.Enum):
                names.add(type(value).__name__)
            lines.append(f"{pad}{field}={_literal(value)},")
    if isinstance(model, GlobalPipelineConfig) and not any("keep_intermediates" in x for x in lines):
        lines.append(f"{pad}keep_intermediates=False,")
    return f"{type(model).__name__}(\n" + "\n".join(lines) + f"\n{_INDENT * depth})"


_TEMPLATE = '''\
#!/usr/bin/env python3
r"""Run the OpenHCS pipeline {title} on a plate.

Exported by openhcs-gui {version}. Usage:

    python {filename} PLATE [OUTPUT]

PLATE   the plate folder (ImageXpress, Opera, OME-Zarr, or a workspace step folder)
OUTPUT  folder to create <plate>_workspace in (default: {default_output})

The same as `openhcs-gui run PLATE --pipeline <its file> --config <its config>
[--output OUTPUT]`: the outputs are identical. Functions are looked up by their
registered names; nothing here is unpickled or executed from data.
"""

from __future__ import annotations

import sys
from pathlib import Path

from openhcs_gui import (
{imports}
)


def fn(name: str):
    """The function registered as ``name`` (built-in or from an installed plugin)."""
    return get_function(name).func


def build_pipeline() -> Pipeline:
    """The pipeline's steps, first to last."""
    return Pipeline(
        [
{steps}
        ],
        name={name},
    )


def build_config() -> GlobalPipelineConfig:
    """The run's configuration."""
    return {config}


def main(argv: list[str]) -> int:
    """Run on ``argv[0]`` (plate) into ``argv[1]`` (output folder, optional); return the exit code."""
    if not 1 <= len(argv) <= 2 or argv[0] in ("-h", "--help"):
        print(__doc__, file=sys.stderr)
        return 2
    cfg = build_config()
    if len(argv) == 2:
        cfg.materialization_defaults.output_path = Path(argv[1]).resolve()
    result = build_pipeline().run(argv[0], cfg)
    print(result.summary())
    return {{"completed": 0, "failed": 1}}.get(result.status.value, 130)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
'''


def pipeline_script(pipeline: Pipeline, cfg: GlobalPipelineConfig | None = None,
                    filename: str = "pipeline_script.py") -> str:
    """The source of a script that rebuilds ``pipeline`` and ``cfg`` and runs them on a plate.

    Parameters
    ----------
    pipeline
        The steps to export; every function must be registered (by name).
    cfg
        The configuration (default: ``GlobalPipelineConfig()``).
    filename
        Shown in the script's usage text.

    Raises
    ------
    PipelineError
        If a step's function is not registered or an argument is not a JSON value.
    """
    cfg = cfg if cfg is not None else GlobalPipelineConfig()
    data = pipeline.to_dict()  # raises for unregistered functions
    steps = [_step_code(d) for d in data["steps"]]
    names = {"FunctionStep", "Pipeline", "get_function"}
    code = "\n".join(steps)
    names |= {n for n in ("Backend", "Component") if f"{n}." in code}
    config = _config_code(cfg, 1, names)
    output = cfg.materialization_defaults.output_path
    return _TEMPLATE.format(
        title=_doc(repr(data["name"])),
        version=_version(),
        filename=filename,
        default_output=_doc(f"{output} (from the config)" if output else "the plate's parent folder"),
        imports="\n".join(f"{_INDENT}{n}," for n in sorted(names, key=str.lower)),
        steps="\n".join(f"{_INDENT * 3}{s}" for s in steps),
        name=repr(data["name"]),
        config=config,
    )


def _doc(text: str) -> str:
    """``text`` made safe inside the script's raw triple-quoted docstring."""
    return text.replace('"""', "'''").rstrip("\\")


def export_script(pipeline: Pipeline, path: str | os.PathLike[str],
                  cfg: GlobalPipelineConfig | None = None) -> Path:
    """Write :func:`pipeline_script` to ``path`` atomically, executable; return the path.

    Raises
    ------
    PipelineError
        If the pipeline cannot be exported or the file cannot be written.
    """
    target = Path(path)
    text = pipeline_script(pipeline, cfg, filename=target.name)
    try:
        write_text_atomic(target, text)
        target.chmod(target.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    except OSError as e:
        raise PipelineError(f"Cannot write script {target}: {e.strerror or e}.") from e
    return target


def _version() -> str:
    from openhcs_gui import __version__

    return __version__
