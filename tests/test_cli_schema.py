"""``openhcs-gui schema`` (JSON Schemas from the pydantic models) and ``openhcs-gui PLATE`` (issue 17)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from openhcs_gui import cli
from openhcs_gui.config import GlobalPipelineConfig, save_config
from openhcs_gui.constants import Backend, Component, ZarrCompressor
from openhcs_gui.functions import get_function
from openhcs_gui.pipeline import FunctionStep, Pipeline, demo_pipeline_path, save_pipeline
from openhcs_gui.pipeline.schemas import PipelineFile, json_schema
from openhcs_gui.plates import make_synthetic_plate


def _printed(args: list[str], capsys: pytest.CaptureFixture[str]) -> Any:
    assert cli.main(args) == 0
    return json.loads(capsys.readouterr().out)


def _validator(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_schema_command_prints_both_schemas(capsys: pytest.CaptureFixture[str]) -> None:
    both = _printed(["schema"], capsys)
    assert set(both) == {"pipeline", "config", "project"}
    assert _printed(["schema", "pipeline"], capsys) == both["pipeline"] == json_schema("pipeline")
    assert _printed(["schema", "config"], capsys) == both["config"] == json_schema("config")
    assert both["config"]["properties"]["zarr"]["$ref"].endswith("ZarrConfig")


def test_demo_and_saved_pipelines_validate_against_the_pipeline_schema(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    validator = _validator(_printed(["schema", "pipeline"], capsys))
    demo = json.loads(demo_pipeline_path().read_text(encoding="utf-8"))
    validator.validate(demo)
    blur = get_function("gaussian_blur").func
    saved = save_pipeline(Pipeline([
        FunctionStep([(blur, {"sigma": 1.0}), (blur, {})], name="chain", backend=Backend.ZARR),
        FunctionStep({1: (blur, {}), 2: [(blur, {"sigma": 2.0})]}, name="per channel",
                     variable_components=[Component.SITE, Component.Z]),
    ]), tmp_path / "p.json", config=GlobalPipelineConfig(num_workers=2))
    data = json.loads(saved.read_text(encoding="utf-8"))
    assert data["config"]["num_workers"] == 2  # settings saved with it are part of the schema
    validator.validate(data)
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({**data, "config": {**data["config"], "num_wrokers": 2}})
    assert PipelineFile.model_validate(data).model_dump(mode="json", exclude_unset=True)["steps"][0]["name"] == "chain"


@pytest.mark.parametrize(("change", "why"), [
    (lambda d: d["steps"][0].update(backnd="zarr"), "typo in a step key"),
    (lambda d: d["steps"][0].update(backend="tape"), "unknown backend"),
    (lambda d: d.update(format="cellprofiler"), "wrong format"),
    (lambda d: d["steps"][0]["func"].pop("function"), "function name missing"),
    (lambda d: d["steps"][0].update(func=[]), "empty chain"),
    (lambda d: d["steps"][0].update(func={"channels": {"one": {"function": "x"}}}), "channel key not a number"),
])
def test_pipeline_schema_rejects_what_the_loader_rejects(change: Any, why: str) -> None:
    data = json.loads(demo_pipeline_path().read_text(encoding="utf-8"))
    change(data)
    assert list(_validator(json_schema("pipeline")).iter_errors(data)), why


def test_saved_config_validates_and_typos_do_not(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    validator = _validator(_printed(["schema", "config"], capsys))
    cfg = GlobalPipelineConfig(num_workers=3)
    cfg.zarr.compressor = ZarrCompressor.LZ4
    cfg.materialization_defaults.backend = Backend.ZARR
    cfg.materialization_defaults.output_path = tmp_path / "results"
    data = json.loads(save_config(cfg, tmp_path / "c.json").read_text(encoding="utf-8"))
    validator.validate(data)
    assert GlobalPipelineConfig.model_validate(data) == cfg  # the pydantic round trip
    data["zarr"]["compresion_level"] = 3
    assert any("compresion_level" in e.message for e in validator.iter_errors(data))
    data["zarr"].pop("compresion_level")
    data["zarr"]["compression_level"] = 12
    assert list(validator.iter_errors(data))


def test_saved_project_validates_against_the_project_schema(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    from openhcs_gui.project import Project, save_project

    validator = _validator(_printed(["schema", "project"], capsys))
    path = tmp_path / "screen.openhcs.json"
    pipeline = Pipeline([FunctionStep("gaussian_blur", sigma=1.0)], name="screen")
    saved = save_project(Project.build(path, plate=tmp_path, pipeline=pipeline,
                                       config=GlobalPipelineConfig(num_workers=2)), path)
    data = json.loads(saved.read_text(encoding="utf-8"))
    validator.validate(data)
    data["pipeline"]["steps"][0]["backnd"] = "zarr"
    assert list(validator.iter_errors(data))  # a typo inside the embedded pipeline is caught too


def test_schema_of_an_unknown_kind_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        cli.main(["schema", "workspace"])
    assert stop.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_bare_plate_argument_opens_the_gui_on_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``openhcs-gui PLATE`` (what the desktop entry's ``Exec=openhcs-gui %f`` runs) opens the GUI on PLATE."""
    import openhcs_gui.ui.app as app

    plate = make_synthetic_plate(tmp_path / "plate", wells=["A01"], sites=1, channels=1, shape=(32, 32))
    opened: list[tuple[Any, Any]] = []
    monkeypatch.setattr(cli, "has_display", lambda: True)
    monkeypatch.setattr(app, "main", lambda plate, pipeline: opened.append((plate, pipeline)) or 0)
    assert cli.main([str(plate)]) == 0
    assert cli.main(["-v", str(plate)]) == 0
    assert cli.main([]) == 0
    assert opened == [(str(plate), None), (str(plate), None), (None, None)]


def test_bare_argument_that_is_no_plate_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([str(tmp_path / "no_such_plate")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no_such_plate" in err[0] and "export-script" in err[0]
