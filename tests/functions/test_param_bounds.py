"""Function parameters are checked when a step is built or loaded: finite numbers, declared bounds."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from openhcs_gui.errors import PipelineError
from openhcs_gui.functions import gaussian_blur, register_function
from openhcs_gui.pipeline import FunctionStep, Pipeline, load_pipeline


@register_function("test_takes_anything", category="test", overwrite=True)
def takes_anything(stack, scale=1.0, **extra):  # type: ignore[no-untyped-def]
    """No hints at all: non-finite numbers must still be refused."""
    return stack


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_float_parameters_are_refused_when_a_step_is_built(value: float) -> None:
    with pytest.raises(PipelineError) as info:
        FunctionStep(gaussian_blur, name="blur", sigma=value)
    message = str(info.value)
    assert message == f"Step 'blur': gaussian_blur() parameter 'sigma'={value!r}: must be a finite number."


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_parameters_in_pipeline_data_or_file_are_refused_on_load(tmp_path: Path, value: float) -> None:
    data = {"format": "openhcs-pipeline", "version": 1,
            "steps": [{"name": "blur", "func": {"function": "gaussian_blur", "kwargs": {"sigma": value}}}]}
    with pytest.raises(PipelineError) as info:
        Pipeline.from_dict(data)
    assert str(info.value) == f"Step 1 'blur': gaussian_blur() parameter 'sigma'={value!r}: must be a finite number."
    path = tmp_path / "p.json"
    path.write_text(json.dumps(data))  # NaN / Infinity tokens, as Python's json writes them
    with pytest.raises(PipelineError) as info:
        load_pipeline(path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_non_finite_values_are_refused_without_hints_and_inside_chains_and_lists() -> None:
    with pytest.raises(PipelineError, match=r"test_takes_anything\(\) parameter 'scale'=nan"):
        FunctionStep(takes_anything, name="any", scale=math.nan)
    with pytest.raises(PipelineError, match=r"parameter 'weights'=\[1.0, inf\]"):
        FunctionStep(takes_anything, name="any", weights=[1.0, math.inf])
    with pytest.raises(PipelineError, match=r"Step 'chain': gaussian_blur\(\) parameter 'sigma'=nan"):
        FunctionStep([(gaussian_blur, {"sigma": 1.0}), (gaussian_blur, {"sigma": math.nan})], name="chain")


def test_a_gui_edit_to_nan_is_refused_and_the_old_value_kept() -> None:
    step = FunctionStep(gaussian_blur, name="blur", sigma=1.0)
    with pytest.raises(ValueError, match="must be a finite number"):
        step.kwargs = {"sigma": math.nan}
    assert step.kwargs == {"sigma": 1.0}
    assert json.loads(json.dumps(Pipeline([step]).to_dict(), allow_nan=False))  # still valid strict JSON
