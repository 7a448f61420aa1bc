"""Project files: what one experiment's window was working on, as plain JSON.

A project is the plate folder, the pipeline (the pipeline file's own format),
the global config, what the viewer showed (layers, contrast, camera) and the
last results folder (workspace). It is human-readable JSON that names
registered functions and never holds code; loading one validates every part
(the pipeline's functions against the registry, the config against its
model) and raises one :class:`~openhcs_gui.errors.ProjectError` sentence
naming the file and the problem. Files are written atomically, so a crash
leaves the previous project intact. Paths are stored absolute and also
relative to the project file, so a folder holding project and plate can move::

    {"format": "openhcs-project", "version": 1, "name": "screen 12",
     "plate": "/data/plate12", "plate_relative": "../plate12",
     "pipeline": {"format": "openhcs-pipeline", ...}, "config": {...},
     "viewer": {"well": "B03", "layers": [...], "camera": {...}},
     "workspace": "/data/plate12_workspace", "workspace_relative": "..."}
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from openhcs_gui import _jsonio
from openhcs_gui._atomic import write_text_atomic
from openhcs_gui.config import GlobalPipelineConfig, describe_validation_error
from openhcs_gui.errors import OpenHCSError, ProjectError
from openhcs_gui.pipeline.pipeline import Pipeline
from openhcs_gui.pipeline.schemas import PipelineFile

__all__ = ["Project", "ViewerState", "LayerState", "CameraState", "FORMAT", "VERSION", "SUFFIX",
           "load_project", "save_project"]

FORMAT = "openhcs-project"
VERSION = 1
#: File name ending of project files (plain JSON).
SUFFIX = ".openhcs.json"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LayerState(_Strict):
    """How one viewer layer was shown (matched by name when the project reopens)."""

    name: str = Field(description="Layer name, e.g. \"A01 DAPI\".")
    visible: bool = Field(default=True, description="Shown (ticked in the layer list).")
    contrast_limits: tuple[float, float] | None = Field(default=None, description="Display range of an image.")
    gamma: float | None = Field(default=None, gt=0, description="Gamma of an image.")
    colormap: str | None = Field(default=None, description="Colour map name of an image.")
    opacity: float = Field(default=1.0, ge=0, le=1, description="Layer opacity.")


class CameraState(_Strict):
    """Where the viewer looked."""

    center: tuple[float, ...] = Field(default=(), description="Camera centre (world units).")
    zoom: float = Field(default=1.0, gt=0, description="Zoom factor.")


class ViewerState(_Strict):
    """What the viewer showed."""

    well: str | None = Field(default=None, description="The well whose images were shown.")
    layers: list[LayerState] = Field(default_factory=list, description="Layers, bottom to top.")
    camera: CameraState | None = Field(default=None, description="Camera; none: fit the images.")


class Project(_Strict):
    """An OpenHCS project file (``*.openhcs.json``); never holds code."""

    model_config = ConfigDict(extra="forbid", title="OpenHCS project file")

    format: Literal["openhcs-project"] = Field(default="openhcs-project", description="Always \"openhcs-project\".")
    version: Literal[1] = Field(default=1, description=f"File format version ({VERSION}).")
    name: str = Field(default="project", description="Project name (the file name without its ending).")
    plate: str | None = Field(default=None, description="Input plate folder (absolute).")
    plate_relative: str | None = Field(default=None, description="Input plate folder relative to this file.")
    pipeline: PipelineFile | None = Field(default=None, description="The pipeline (pipeline file format).")
    config: GlobalPipelineConfig = Field(default_factory=GlobalPipelineConfig,
                                         description="Global config (config file format).")
    viewer: ViewerState = Field(default_factory=ViewerState, description="What the viewer showed.")
    workspace: str | None = Field(default=None, description="Last results folder (absolute).")
    workspace_relative: str | None = Field(default=None, description="Last results folder relative to this file.")
    run_on: dict[str, str] | None = Field(
        default=None, description="Where runs go: {\"on\": \"threads\" | \"processes\" | \"cluster\", "
                                  "\"address\": \"tcp://...\"}; none: this computer's default.")

    @classmethod
    def build(cls, path: str | os.PathLike[str], *, plate: str | os.PathLike[str] | None, pipeline: Pipeline,
              config: GlobalPipelineConfig, viewer: ViewerState | None = None,
              workspace: str | os.PathLike[str] | None = None, run_on: dict[str, str] | None = None) -> Project:
        """A project for saving at ``path`` (its name is the file name; paths also stored relative)."""
        folder = Path(path).resolve().parent
        return cls(
            name=project_name(path),
            plate=_absolute(plate), plate_relative=_relative(plate, folder),
            pipeline=PipelineFile.model_validate(pipeline.to_dict()) if len(pipeline) else None,
            config=config.model_copy(deep=True), viewer=viewer or ViewerState(),
            workspace=_absolute(workspace), workspace_relative=_relative(workspace, folder),
            run_on=run_on,
        )

    def to_pipeline(self) -> Pipeline:
        """The pipeline, its functions looked up by name (raises ``PipelineError``)."""
        if self.pipeline is None:
            return Pipeline(name=self.name)
        return Pipeline.from_dict(self.pipeline.model_dump(mode="json"))

    def plate_path(self, project_file: str | os.PathLike[str]) -> Path | None:
        """The plate folder: the stored one, else the relative one if only that exists (moved folders)."""
        return _locate(self.plate, self.plate_relative, project_file)

    def workspace_path(self, project_file: str | os.PathLike[str]) -> Path | None:
        """The last results folder (as :meth:`plate_path`)."""
        return _locate(self.workspace, self.workspace_relative, project_file)


def project_name(path: str | os.PathLike[str]) -> str:
    """``screen12`` for ``screen12.openhcs.json`` (or ``screen12.json``)."""
    name = Path(path).name
    for suffix in (SUFFIX, ".json"):
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def _absolute(path: str | os.PathLike[str] | None) -> str | None:
    return None if path is None else Path(os.path.abspath(path)).as_posix()


def _relative(path: str | os.PathLike[str] | None, folder: Path) -> str | None:
    if path is None:
        return None
    try:
        return Path(os.path.relpath(os.path.abspath(path), folder)).as_posix()
    except ValueError:  # another drive on Windows
        return None


def _locate(absolute: str | None, relative: str | None, project_file: str | os.PathLike[str]) -> Path | None:
    if absolute is not None and Path(absolute).exists():
        return Path(absolute)
    if relative is not None:
        moved = Path(project_file).resolve().parent / relative
        if moved.exists():
            return moved.resolve()
    return Path(absolute) if absolute is not None else None


def save_project(project: Project, path: str | os.PathLike[str]) -> Path:
    """Write ``project`` as indented JSON atomically; return the path.

    Raises
    ------
    ProjectError
        The file cannot be written (names it and the reason).
    """
    target = Path(path)
    data = project.model_dump(mode="json")
    text = _jsonio.dumps(data, f"project file {target}", ProjectError) + "\n"
    try:
        write_text_atomic(target, text)
    except OSError as e:
        raise ProjectError(f"Cannot write project file {target}: {e.strerror or e}.") from e
    return target


def load_project(path: str | os.PathLike[str]) -> tuple[Project, Pipeline]:
    """Read and validate a project file; nothing in it is executed.

    Returns
    -------
    (Project, Pipeline)
        The project and its pipeline with functions looked up by name.

    Raises
    ------
    ProjectError
        One sentence naming the file and what is wrong (not JSON, not a
        project, an invalid field, an unknown function).
    """
    source = Path(path)
    data = _jsonio.read_file(source, "project", ProjectError)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ProjectError(f"{source} is not an OpenHCS project file (expected \"format\": \"{FORMAT}\").")
    if data.get("version") != VERSION:
        raise ProjectError(f"Project file {source} has version {data.get('version')!r}; "
                           f"this OpenHCS reads version {VERSION}.")
    try:
        project = Project.model_validate(data)
    except ValidationError as e:
        raise ProjectError(f"Project file {source} is invalid: {describe_validation_error(e, most=1)}.") from None
    try:
        pipeline = project.to_pipeline()
    except (OpenHCSError, ValueError) as e:
        raise ProjectError(f"Project file {source}: {' '.join(str(e).split())}") from None
    return project, pipeline


def project_schema() -> dict[str, Any]:
    """JSON Schema of a project file (``openhcs-gui schema project``)."""
    return Project.model_json_schema()
