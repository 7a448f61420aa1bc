"""Project files (engine, no Qt): round trip, human-readable JSON, one-sentence errors, moved folders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from openhcs_gui.config import GlobalPipelineConfig
from openhcs_gui.constants import Backend, MaterializationBackend
from openhcs_gui.errors import ProjectError
from openhcs_gui.pipeline import FunctionStep, Pipeline
from openhcs_gui.project import (
    LayerState,
    Project,
    ViewerState,
    load_project,
    project_name,
    project_schema,
    save_project,
)


def _project(tmp_path: Path) -> tuple[Path, Project]:
    plate = tmp_path / "data" / "plate12"
    plate.mkdir(parents=True)
    workspace = tmp_path / "data" / "plate12_workspace"
    workspace.mkdir()
    pipeline = Pipeline([FunctionStep("gaussian_blur", sigma=1.5),
                         FunctionStep("count_objects", "count", backend=Backend.ZARR)], name="demo: blobs")
    cfg = GlobalPipelineConfig(num_workers=3)
    cfg.vfs.materialization_backend = MaterializationBackend.ZARR
    viewer = ViewerState(well="B02", layers=[LayerState(name="B02 ch1", contrast_limits=(10, 900), visible=False)])
    path = tmp_path / "data" / "screen.openhcs.json"
    return path, Project.build(path, plate=plate, pipeline=pipeline, config=cfg, viewer=viewer, workspace=workspace)


def test_round_trip_keeps_everything(tmp_path: Path) -> None:
    path, project = _project(tmp_path)
    save_project(project, path)
    data = json.loads(path.read_text())
    assert data["format"] == "openhcs-project" and data["version"] == 1 and data["name"] == "screen"
    assert data["pipeline"]["steps"][0]["func"] == {"function": "gaussian_blur", "kwargs": {"sigma": 1.5}}
    assert data["config"]["vfs"]["materialization_backend"] == "zarr"  # the final step stays zarr
    assert path.read_text().count("\n") > 40  # indented, readable in a text editor

    loaded, pipeline = load_project(path)
    assert [s.name for s in pipeline] == ["gaussian_blur", "count"]
    assert pipeline[0].kwargs == {"sigma": 1.5} and pipeline[1].backend is Backend.ZARR
    assert loaded.config.num_workers == 3
    assert loaded.config.vfs.materialization_backend is MaterializationBackend.ZARR
    assert loaded.plate_path(path) == tmp_path / "data" / "plate12"
    assert loaded.workspace_path(path) == tmp_path / "data" / "plate12_workspace"
    assert loaded.viewer.well == "B02" and loaded.viewer.layers[0].contrast_limits == (10.0, 900.0)


def test_moved_folder_finds_plate_and_results_next_to_the_project(tmp_path: Path) -> None:
    path, project = _project(tmp_path)
    save_project(project, path)
    (tmp_path / "data").rename(tmp_path / "moved")
    moved = tmp_path / "moved" / "screen.openhcs.json"
    loaded, _ = load_project(moved)
    assert loaded.plate_path(moved) == (tmp_path / "moved" / "plate12").resolve()
    assert loaded.workspace_path(moved) == (tmp_path / "moved" / "plate12_workspace").resolve()


@pytest.mark.parametrize(("content", "words"), [
    ("{not json", "is not valid JSON"),
    ('{"format": "openhcs-pipeline", "version": 1}', "is not an OpenHCS project file"),
    ('{"format": "openhcs-project", "version": 7}', "version 7"),
    ('{"format": "openhcs-project", "version": 1, "config": {"num_workers": 0}}', "field 'config.num_workers'"),
    ('{"format": "openhcs-project", "version": 1, "viewr": {}}', "field 'viewr'"),
    ('{"format": "openhcs-project", "version": 1, "pipeline": {"format": "openhcs-pipeline", "version": 1, '
     '"steps": [{"func": {"function": "os.system", "kwargs": {}}}]}}', "unknown function 'os.system'"),
])
def test_bad_files_give_one_sentence(tmp_path: Path, content: str, words: str) -> None:
    bad = tmp_path / "bad.openhcs.json"
    bad.write_text(content)
    with pytest.raises(ProjectError) as info:
        load_project(bad)
    message = str(info.value)
    assert words in message and str(bad) in message and "\n" not in message


def test_missing_file_and_unwritable_folder(tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match="Cannot read project file"):
        load_project(tmp_path / "nothing.openhcs.json")
    _, project = _project(tmp_path)
    with pytest.raises(ProjectError, match="Cannot write project file"):
        save_project(project, tmp_path / "no" / "such" / "folder" / "p.openhcs.json")


def test_name_and_schema() -> None:
    assert project_name("/x/screen 12.openhcs.json") == "screen 12"
    assert project_name("/x/other.json") == "other"
    schema = project_schema()
    assert schema["title"] == "OpenHCS project file"
    assert {"plate", "pipeline", "config", "viewer", "workspace"} <= set(schema["properties"])
