"""The planner on its own: backend rules, folders, memory drops, compression level."""

from __future__ import annotations

from pathlib import Path

import pytest
from pipeline_helpers import create_final_dataset, detailed_analysis, preprocess

from openhcs_gui.config import GlobalPipelineConfig
from openhcs_gui.constants import Backend, MaterializationBackend
from openhcs_gui.pipeline import ExecutionPlan, FunctionStep, Pipeline, plan_pipeline
from openhcs_gui.pipeline.planner import workspace_base

PLATE = "/data/plates/plate1"  # never touched: the planner does no I/O


def _cfg(**kw: object) -> GlobalPipelineConfig:
    cfg = GlobalPipelineConfig(num_workers=1)
    for path, value in kw.items():
        section, field = path.split("__")
        setattr(getattr(cfg, section), field, value)
    return cfg


# (step backend, force_disk, is last, materialization_defaults.backend,
#  vfs.materialization_backend, vfs.intermediate_backend) -> (backend, rule)
RULES = [
    (Backend.ZARR, False, False, None, MaterializationBackend.DISK, Backend.MEMORY, Backend.ZARR, "backend="),
    (Backend.MEMORY, True, True, Backend.ZARR, MaterializationBackend.DISK, Backend.MEMORY, Backend.MEMORY, "backend="),
    (Backend.DISK, False, True, Backend.ZARR, MaterializationBackend.ZARR, Backend.MEMORY, Backend.DISK, "backend="),
    (None, True, False, None, MaterializationBackend.ZARR, Backend.MEMORY, Backend.DISK, "force_disk_output"),
    (None, True, True, Backend.ZARR, MaterializationBackend.ZARR, Backend.MEMORY, Backend.DISK, "force_disk_output"),
    (None, False, True, None, MaterializationBackend.DISK, Backend.MEMORY, Backend.DISK, "last step"),
    (None, False, True, None, MaterializationBackend.ZARR, Backend.MEMORY, Backend.ZARR, "last step"),
    (None, False, True, Backend.ZARR, MaterializationBackend.DISK, Backend.MEMORY, Backend.ZARR, "last step"),
    (None, False, True, Backend.MEMORY, MaterializationBackend.DISK, Backend.MEMORY, Backend.MEMORY, "last step"),
    (None, False, False, Backend.ZARR, MaterializationBackend.ZARR, Backend.MEMORY, Backend.MEMORY, "intermediate"),
    (None, False, False, None, MaterializationBackend.DISK, Backend.DISK, Backend.DISK, "intermediate"),
]


@pytest.mark.parametrize(("backend", "force", "last", "mat", "vfs_mat", "inter", "want", "rule"), RULES)
def test_backend_rules(backend, force, last, mat, vfs_mat, inter, want, rule) -> None:
    cfg = _cfg(materialization_defaults__backend=mat, vfs__materialization_backend=vfs_mat,
               vfs__intermediate_backend=inter)
    step = FunctionStep(preprocess, name="target", backend=backend, force_disk_output=force)
    steps = [step] if last else [step, FunctionStep(preprocess, name="after")]
    plan = plan_pipeline(steps, PLATE, cfg)
    assert (plan.steps[0].backend, plan.steps[0].rule) == (want, rule)


def test_folders_reads_and_zarr_store() -> None:
    cfg = _cfg(zarr__store_name="out.zarr")
    plan = plan_pipeline(
        [FunctionStep(preprocess, name="pre"), FunctionStep(detailed_analysis, name="ana", force_disk_output=True),
         FunctionStep(create_final_dataset, name="final", backend=Backend.ZARR)],
        PLATE, cfg,
    )
    ws = "/data/plates/plate1_workspace"
    assert plan.workspace == ws
    assert [s.folder for s in plan.steps] == [f"{ws}/step1_pre", f"{ws}/step2_ana", f"{ws}/step3_final"]
    assert plan.steps[2].image_dir == f"{ws}/step3_final/out.zarr"
    assert plan.steps[1].image_dir == plan.steps[1].folder
    assert [s.reads_from for s in plan.steps] == [None, 0, 1]
    assert plan.input_backend is Backend.DISK


def test_output_path_sets_root_and_workspace_override() -> None:
    cfg = _cfg(materialization_defaults__output_path=Path("/results"))
    assert workspace_base(PLATE, cfg) == Path("/results/plate1_workspace")
    plan = plan_pipeline([FunctionStep(preprocess, name="a")], PLATE, cfg)
    assert plan.steps[0].folder == "/results/plate1_workspace/step1_a"
    moved = plan.with_workspace("/results/plate1_workspace_2")
    assert moved.steps[0].folder == "/results/plate1_workspace_2/step1_a"


@pytest.mark.parametrize(("override", "want"), [(None, 3), (6, 6)])
def test_compression_level_override(override: int | None, want: int) -> None:
    cfg = _cfg(zarr__compression_level=3, materialization_defaults__compression_level=override)
    plan = plan_pipeline([FunctionStep(preprocess, name="a", backend=Backend.ZARR),
                          FunctionStep(preprocess, name="b", force_disk_output=True)], PLATE, cfg)
    assert plan.steps[0].compression_level == want
    assert plan.steps[1].compression_level is None  # only zarr outputs have a level


@pytest.mark.parametrize(
    ("keep", "want"),
    [(True, [None, 2, None, None]), (False, [1, 2, 3, None])],
)
def test_memory_drop_points(keep: bool, want: list[int | None]) -> None:
    cfg = _cfg()
    cfg.keep_intermediates = keep
    steps = [FunctionStep(preprocess, name="m1"), FunctionStep(preprocess, name="d2", force_disk_output=True),
             FunctionStep(preprocess, name="m3"), FunctionStep(preprocess, name="last")]
    plan = plan_pipeline(steps, PLATE, cfg)
    assert [s.drop_after for s in plan.steps] == want
    assert [s.in_memory for s in plan.steps] == [True, True, True, False]  # last step writes to disk only


def test_plan_is_plain_data_and_prints_a_table() -> None:
    steps = Pipeline([FunctionStep(preprocess, name="pre"),
                      FunctionStep(create_final_dataset, name="final", backend=Backend.ZARR)])
    plan = steps.plan(PLATE, _cfg())
    assert ExecutionPlan.from_dict(plan.to_dict()) == plan
    text = str(plan)
    for word in ("step", "backend", "reads from", "folder", "pre", "final", "zarr", "input (disk)",
                 "step2_final/images.zarr", "step 1"):
        assert word in text
    assert plan.step("final").index == 1 and plan.step(0).name == "pre"


def test_backend_beats_force_disk_output_with_warning() -> None:
    plan = plan_pipeline([FunctionStep(preprocess, name="x", backend=Backend.ZARR, force_disk_output=True)],
                         PLATE, _cfg())
    assert plan.steps[0].backend is Backend.ZARR
    assert any("wins over force_disk_output" in w for w in plan.warnings)
