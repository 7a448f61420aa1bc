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
