"""JSON Schemas of the files users write by hand or generate: pipeline, config and project.

Both are generated from pydantic models (``openhcs-gui schema pipeline|config|project``
prints them), so editors (VS Code's ``json.schemas``, ``"$schema"``-aware
tools) and other programs can validate a file before OpenHCS reads it. The
pipeline-file models below describe exactly what
:meth:`~openhcs_gui.Pipeline.from_dict` accepts; that loader stays the one that
also checks function names and their arguments against the registry (a schema
cannot know which plugins are installed). The config schema is
:class:`~openhcs_gui.GlobalPipelineConfig`'s own; the project schema is
:class:`openhcs_gui.project.Project`'s (it embeds the other two).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from openhcs_gui.config import GlobalPipelineConfig
from openhcs_gui.constants import Backend, Component
from openhcs_gui.pipeline.pipeline import FORMAT, VERSION

__all__ = ["FunctionCall", "ChannelFunctions", "StepFile", "PipelineFile", "SCHEMAS", "KINDS", "json_schema"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FunctionCall(_Strict):
    """One registered function and its keyword arguments."""

    function: str = Field(min_length=1, description="Registered function name (see the function list).")
    kwargs: dict[str, Any] = Field(default_factory=dict, description="Keyword arguments (JSON values).")


#: A chain: functions applied in order (never empty).
Chain = Annotated[list[FunctionCall], Field(min_length=1)]


class ChannelFunctions(_Strict):
    """Per-channel functions: channel number -> one function or a chain."""

    channels: dict[str, FunctionCall | Chain] = Field(
        json_schema_extra={"propertyNames": {"pattern": r"^\s*[+-]?\d+\s*$"}},
        description="Keys are channel numbers (as strings, JSON object keys).",
    )


class StepFile(_Strict):
    """One step of a pipeline file."""

    name: str | None = Field(default=None, description="Shown in the GUI; names the step folder.")
    func: FunctionCall | Chain | ChannelFunctions = Field(
        description="A function, a chain (list, applied in order) or per-channel functions.")
    force_disk_output: bool = Field(default=False, description="Also write this step's output to disk.")
    backend: Backend | None = Field(default=None, description="Backend of this step's output (wins over the rest).")
    variable_components: list[Component] = Field(
        default_factory=lambda: [Component.SITE],
        description="Components that vary inside one function call's stack.")
    group_by: Component | None = Field(default=None, description="Split calls by this component.")


class PipelineFile(_Strict):
    """An OpenHCS pipeline file (``*.json``); never holds code."""

    model_config = ConfigDict(extra="forbid", title="OpenHCS pipeline file")

    format: Literal["openhcs-pipeline"] = Field(description="Always \"openhcs-pipeline\".")
    version: Literal[1] = Field(description=f"File format version ({VERSION}).")
    name: str = Field(default="pipeline", description="Shown in the GUI.")
    steps: list[StepFile] = Field(description="The steps, first to last.")
    config: GlobalPipelineConfig | None = Field(
        default=None, description="Settings saved with the pipeline (a config file's content); "
                                  "a run without a config of its own uses them.")


assert FORMAT == "openhcs-pipeline" and VERSION == 1  # keep the Literals above in step

#: ``{kind: model}`` of every file with a schema (``openhcs-gui schema KIND``); the project
#: model (:class:`openhcs_gui.project.Project`, which holds a pipeline file) is added on first use.
SCHEMAS: dict[str, type[BaseModel]] = {"pipeline": PipelineFile, "config": GlobalPipelineConfig}
#: Every kind, ``project`` included.
KINDS = ("pipeline", "config", "project")
_TITLES = {"pipeline": "OpenHCS pipeline file", "config": "OpenHCS config file (GlobalPipelineConfig)",
           "project": "OpenHCS project file"}


def json_schema(kind: str) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of one file kind: ``"pipeline"``, ``"config"`` or ``"project"``.

    Raises
    ------
    KeyError
        If ``kind`` has no schema (the message lists the kinds that do).
    """
    if kind == "project" and kind not in SCHEMAS:
        from openhcs_gui.project import Project  # imports this module: not at the top

        SCHEMAS["project"] = Project
    if kind not in SCHEMAS:
        raise KeyError(f"No schema for {kind!r}; available: {', '.join(KINDS)}.")
    schema = SCHEMAS[kind].model_json_schema(mode="validation")
    schema["title"] = _TITLES[kind]
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
