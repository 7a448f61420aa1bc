"""Steps can name registered functions instead of passing callables."""

from __future__ import annotations

import pytest

from openhcs_gui import FunctionStep, Pipeline
from openhcs_gui.errors import PipelineError
from openhcs_gui.functions import get_function


def test_step_accepts_registered_name_and_saves_it() -> None:
    step = FunctionStep("gaussian_blur", sigma=1.5)
    assert step.name == "gaussian_blur"
    (func, _), = step.chain_for()
    assert func is get_function("gaussian_blur").func
    data = Pipeline([step]).to_dict()
    assert data["steps"][0]["func"] == {"function": "gaussian_blur", "kwargs": {"sigma": 1.5}}


def test_chain_of_names_with_kwargs() -> None:
    step = FunctionStep([("gaussian_blur", {"sigma": 1.0}), "max_projection"], name="proj")
    assert [f.__name__ for f, _ in step.chain_for()] == ["gaussian_blur", "max_projection"]


def test_unknown_name_suggests_the_close_one() -> None:
    with pytest.raises(PipelineError, match="Did you mean 'gaussian_blur'"):
        FunctionStep("gausian_blur")


def test_a_step_holding_a_name_is_planned_and_labelled_by_that_name(tmp_path) -> None:
    """The plan's Function column and messages said "str" for ``FunctionStep("gaussian_blur")``."""
    from openhcs_gui import GlobalPipelineConfig
    from openhcs_gui.pipeline.planner import plan_pipeline
    from openhcs_gui.pipeline.step import func_label
    from openhcs_gui.plates import make_synthetic_plate

    assert func_label("gaussian_blur") == "gaussian_blur"
    plate = make_synthetic_plate(tmp_path / "plate", wells=["A01"], sites=1, channels=1, shape=(32, 32))
    steps = [FunctionStep("gaussian_blur", "blur", sigma=1.0), FunctionStep("segment_nuclei", "nuclei")]
    plan = plan_pipeline(Pipeline(steps), plate, GlobalPipelineConfig())
    assert [sp.function for sp in plan.steps] == ["gaussian_blur", "segment_nuclei"]
