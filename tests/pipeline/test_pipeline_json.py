"""Pipeline: evented list, JSON round trip, refusal of unknown names and bad kwargs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pipeline_helpers import create_final_dataset, detailed_analysis, preprocess

from openhcs_gui.constants import Backend, Component
from openhcs_gui.errors import PipelineError
from openhcs_gui.functions import gaussian_blur
from openhcs_gui.pipeline import FunctionStep, Pipeline, load_pipeline, save_pipeline
from openhcs_gui.pipeline.demo import demo_pipeline_path, load_demo_pipeline


def _pipeline() -> Pipeline:
    return Pipeline(
        [
            FunctionStep(preprocess, name="preprocess", offset=50),
            FunctionStep([gaussian_blur, (preprocess, {"offset": 2})], name="chain",
                         variable_components=[Component.Z]),
            FunctionStep({1: (gaussian_blur, {"sigma": 1.5}), 2: [preprocess]}, name="per_channel"),
            FunctionStep(detailed_analysis, name="analysis", force_disk_output=True),
            FunctionStep(create_final_dataset, name="final", backend=Backend.ZARR),
        ],
        name="seed",
    )


def test_round_trip(tmp_path: Path) -> None:
    pipe = _pipeline()
    path = save_pipeline(pipe, tmp_path / "p.json")
    loaded = load_pipeline(path)
    assert loaded.to_dict() == pipe.to_dict()
    assert loaded.name == "seed"
    assert [s.name for s in loaded] == ["preprocess", "chain", "per_channel", "analysis", "final"]
    assert loaded[0].kwargs == {"offset": 50} and loaded[0].func is preprocess
    assert loaded[2].group_by is Component.CHANNEL and set(loaded[2].func) == {1, 2}
    assert loaded[3].force_disk_output and loaded[4].backend is Backend.ZARR
    data = json.loads(path.read_text())
    assert data["steps"][0]["func"] == {"function": "seed_preprocess", "kwargs": {"offset": 50}}


def test_settings_travel_with_a_saved_pipeline(tmp_path: Path) -> None:
    from openhcs_gui.config import GlobalPipelineConfig, config_to_dict

    tuned = GlobalPipelineConfig(num_workers=3)
    tuned.materialization_defaults.backend = Backend.ZARR
    tuned.materialization_defaults.output_path = tmp_path / "results"
    path = save_pipeline(_pipeline(), tmp_path / "p.json", config=tuned)
    assert json.loads(path.read_text())["config"] == config_to_dict(tuned)
    loaded = load_pipeline(path)
    assert loaded.config == tuned
    assert loaded.to_dict() == _pipeline().to_dict()  # the steps' JSON is unchanged
    again = save_pipeline(loaded, tmp_path / "again.json")  # a loaded pipeline keeps them when saved on
    assert load_pipeline(again).config == tuned
    assert load_pipeline(save_pipeline(_pipeline(), tmp_path / "bare.json")).config is None


def _edit(tmp_path: Path, change) -> Path:  # noqa: ANN001 - a small test helper
    data = _pipeline().to_dict()
    change(data)
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda d: d["steps"][3]["func"].update(function="os.system"), r"Step 4 'analysis': unknown function 'os.system'"),
        (lambda d: d["steps"][0]["func"]["kwargs"].update(offset="ten"), r"Step 1 'preprocess'.*'offset'"),
        (lambda d: d["steps"][0]["func"]["kwargs"].update(bogus=1), r"Step 1 'preprocess'.*no parameter 'bogus'"),
        (lambda d: d["steps"][1].update(backend="tape"), r"Step 2 'chain': backend 'tape'"),
        (lambda d: d["steps"][1].update(variable_components=["plate"]), r"Step 2 'chain'"),
        (lambda d: d["steps"][4].update(code="import os"), r"Step 5 'final': unknown keys \['code'\]"),
        (lambda d: d.update(format="pickle"), "Not an OpenHCS pipeline"),
        (lambda d: d.update(version=99), "Unsupported pipeline version"),
        (lambda d: d.update(config={"num_workers": 0}),
         r"settings saved with the pipeline are invalid: field 'num_workers'"),
        (lambda d: d.update(config="zarr please"), r"Pipeline 'config' must be an object"),
    ],
)
def test_invalid_files_are_refused_naming_the_step(tmp_path: Path, change, match: str) -> None:  # noqa: ANN001
    with pytest.raises(PipelineError, match=match):
        load_pipeline(_edit(tmp_path, change))


def test_not_json_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(PipelineError, match="not valid JSON"):
        load_pipeline(bad)
    with pytest.raises(PipelineError, match="Cannot read pipeline file"):
        load_pipeline(tmp_path / "missing.json")


def test_unregistered_function_cannot_be_saved(tmp_path: Path) -> None:
    def local(stack):  # noqa: ANN001, ANN202
        return stack

    with pytest.raises(PipelineError, match="not registered"):
        save_pipeline(Pipeline([FunctionStep(local, name="local")]), tmp_path / "x.json")
    assert not (tmp_path / "x.json").exists()


def test_evented_list_events() -> None:
    pipe = _pipeline()
    seen: list[str] = []
    pipe.events.inserted.connect(lambda i, v: seen.append(f"inserted {i} {v.name}"))
    pipe.events.removed.connect(lambda i, v: seen.append(f"removed {i} {v.name}"))
    pipe.events.moved.connect(lambda src, dst: seen.append(f"moved {src}->{dst}"))
    pipe.append(FunctionStep(preprocess, name="extra"))
    pipe.move(5, 0)
    pipe.remove(pipe[0])
    assert seen == ["inserted 5 extra", "moved 5->0", "removed 0 extra"]
    with pytest.raises(TypeError, match="FunctionStep"):
        pipe.append("not a step")  # type: ignore[arg-type]
    assert pipe.steps == list(pipe)


def test_demo_pipeline_ships_and_loads() -> None:
    assert demo_pipeline_path().is_file()
    pipe = load_demo_pipeline()
    assert [s.name for s in pipe] == ["blur", "background", "count"]
    assert pipe[-1].backend is Backend.ZARR
