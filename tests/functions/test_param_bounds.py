"""Function parameters are checked when a step is built or loaded: finite numbers, declared bounds."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated

import numpy as np
import pytest
from pydantic import Field

from openhcs_gui.errors import PipelineError
from openhcs_gui.functions import (
    gaussian_blur,
    get_function,
    register_function,
    subtract_background,
)
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


# ------------------------------------------------------------------ bounds
@register_function("test_bounded", category="test", overwrite=True)
def bounded(stack, passes: Annotated[int, Field(ge=1, le=5)] = 1):  # type: ignore[no-untyped-def]
    """A plugin-style function declaring its own range."""
    return stack


@pytest.mark.parametrize(
    ("function", "bounds"),
    [
        ("gaussian_blur", {"sigma": (0, 200)}),
        ("subtract_background", {"object_diameter_um": (0.5, 1000), "object_diameter_px": (1, 125)}),
        ("normalize_percentile", {"low": (0, 100), "high": (0, 100)}),
        ("count_objects", {"smooth_sigma": (0, 50), "min_size": (0, 1_000_000)}),
        ("threshold_and_measure", {"smooth_sigma": (0, 50), "min_size": (0, 1_000_000)}),
        ("stitch_sites", {"columns": (0, 1000), "gap": (0, 1000)}),
        ("max_projection", {}),
    ],
)
def test_builtin_parameters_declare_their_range_once_in_the_registry(function: str, bounds: dict) -> None:
    entry = get_function(function)
    assert entry.bounds() == bounds
    for name, (lo, hi) in bounds.items():
        assert lo <= entry.defaults()[name] <= hi  # the defaults are inside their own range


@pytest.mark.parametrize(
    ("func", "kwargs", "reason"),
    [
        (gaussian_blur, {"sigma": 3e6}, "'sigma'=3000000.0: Input should be less than or equal to 200"),
        (gaussian_blur, {"sigma": -0.5}, "'sigma'=-0.5: Input should be greater than or equal to 0"),
        (subtract_background, {"object_diameter_px": 0},
         "'object_diameter_px'=0: Input should be greater than or equal to 1"),
        (subtract_background, {"pixel_size_um": 0}, "'pixel_size_um'=0: Input should be greater than 0"),
        (bounded, {"passes": 6}, "'passes'=6: Input should be less than or equal to 5"),
    ],
)
def test_out_of_range_parameters_are_refused_when_a_step_is_built(func, kwargs, reason: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PipelineError) as info:
        FunctionStep(func, name="s", **kwargs)
    assert str(info.value).startswith("Step 's': ") and reason in str(info.value)
    assert "\n" not in str(info.value)


def test_out_of_range_parameters_in_a_pipeline_file_are_refused_before_any_run(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps({
        "format": "openhcs-pipeline", "version": 1,
        "steps": [{"name": "blur", "func": {"function": "gaussian_blur", "kwargs": {"sigma": 3e6}}}],
    }))
    with pytest.raises(PipelineError) as info:
        load_pipeline(path)
    assert "Step 1 'blur': gaussian_blur() parameter 'sigma'=3000000.0: Input should be less than or equal to 200" in str(
        info.value)


def test_a_gui_edit_out_of_range_is_refused_and_bounds_at_the_edge_are_accepted() -> None:
    step = FunctionStep(gaussian_blur, name="blur", sigma=1.0)
    with pytest.raises(ValueError, match="less than or equal to 200"):
        step.kwargs = {"sigma": 201.0}
    assert step.kwargs == {"sigma": 1.0}
    step.kwargs = {"sigma": 200.0}
    assert step.kwargs == {"sigma": 200.0}


def test_a_direct_call_outside_the_range_fails_fast() -> None:
    stack = np.zeros((1, 8, 8), np.uint16)
    with pytest.raises(ValueError, match="sigma must be between 0 and 200"):
        gaussian_blur(stack, sigma=3e6)
    with pytest.raises(ValueError, match="parameter object_diameter_px=10000: Input should be less than or equal to 125"):
        subtract_background(stack, object_diameter_px=10_000)
