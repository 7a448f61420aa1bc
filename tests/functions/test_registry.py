"""The registry: stable names, signatures for forms, clear errors, entry point plugins."""

from __future__ import annotations

import inspect
import types
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from openhcs_gui.constants import Component
from openhcs_gui.errors import FunctionNotFoundError, PipelineError
from openhcs_gui.functions import (
    RegisteredFunction,
    gaussian_blur,
    get_function,
    list_functions,
    name_of,
    plugin_errors,
    register_function,
    registry,
)

BUILTINS = {
    "gaussian_blur": "filter",
    "subtract_background": "filter",
    "normalize_percentile": "filter",
    "max_projection": "projection",
    "mean_projection": "projection",
    "count_objects": "measure",
    "threshold_and_measure": "measure",
    "stitch_sites": "assemble",
}


def test_builtins_are_registered_by_stable_name() -> None:
    names = {f.name: f.category for f in list_functions()}
    assert BUILTINS.items() <= names.items()
    assert [f.name for f in list_functions("projection")] == ["max_projection", "mean_projection"]


@pytest.mark.parametrize("name", sorted(BUILTINS))
def test_builtin_signature_is_form_ready(name: str) -> None:
    entry = get_function(name)
    assert entry.doc and "\n" not in entry.doc and entry.doc.endswith(".")
    assert entry.source == "builtin"
    first = next(iter(inspect.signature(entry.func).parameters))
    assert first == "stack" and "stack" not in entry.parameters
    for param in entry.parameters.values():
        assert param.annotation is not inspect.Parameter.empty, f"{name}.{param.name} has no type"
        assert param.default is not inspect.Parameter.empty, f"{name}.{param.name} has no default"
        assert not isinstance(param.annotation, str), "hints must be resolved for the form builder"
    assert entry.defaults() == {k: p.default for k, p in entry.parameters.items()}


def test_variable_component_hints() -> None:
    assert get_function("max_projection").default_variable_components == (Component.Z,)
    assert get_function("mean_projection").default_variable_components == (Component.Z,)
    assert get_function("stitch_sites").default_variable_components == (Component.SITE,)
    assert get_function("gaussian_blur").default_variable_components is None


def test_unknown_name_suggests_close_matches() -> None:
    with pytest.raises(FunctionNotFoundError) as info:
        get_function("gausian_blur")
    msg = str(info.value)
    assert msg.startswith("No function named 'gausian_blur' is registered. Did you mean 'gaussian_blur'?")
    assert "Known functions:" in msg and "stitch_sites" in msg
    assert isinstance(info.value, KeyError) and isinstance(info.value, PipelineError)


def test_name_of_and_call_through() -> None:
    assert name_of(gaussian_blur) == "gaussian_blur"
    assert name_of(get_function("stitch_sites")) == "stitch_sites"
    assert name_of(lambda s: s) is None
    stack = np.ones((1, 4, 4), np.uint16)
    assert np.array_equal(get_function("gaussian_blur")(stack, sigma=1.0), stack)


def test_register_bare_and_named(clean_registry: None) -> None:
    @register_function
    def invert(stack: np.ndarray, scale: float = 1.0) -> np.ndarray:
        """Invert intensities.

        More text that is not the tooltip.
        """
        return stack.max() - stack

    @register_function("my_clip", category="custom", default_variable_components=["site"])
    def clip(stack: np.ndarray, hi: int = 10) -> np.ndarray:
        """Clip values."""
        return np.minimum(stack, hi)

    entry = get_function("invert")
    assert isinstance(entry, RegisteredFunction)
    assert entry.func is invert and entry.doc == "Invert intensities."
    assert list(entry.parameters) == ["scale"] and entry.parameters["scale"].annotation is float
    mine = get_function("my_clip")
    assert mine.category == "custom" and mine.default_variable_components == (Component.SITE,)
    assert name_of(clip) == "my_clip"


def test_duplicate_name_is_an_error_unless_overwrite(clean_registry: None) -> None:
    def other(stack: np.ndarray) -> np.ndarray:
        """Another blur."""
        return stack

    with pytest.raises(PipelineError, match="'gaussian_blur' is already registered"):
        register_function("gaussian_blur")(other)
    register_function("gaussian_blur", overwrite=True)(other)
    assert get_function("gaussian_blur").func is other
    register_function("gaussian_blur", overwrite=True)(gaussian_blur)


@dataclass
class _FakeEntryPoint:
    name: str
    value: str
    obj: Any

    def load(self) -> Any:
        if isinstance(self.obj, Exception):
            raise self.obj
        return self.obj


def test_entry_point_plugins_load_once(clean_registry: None, monkeypatch: pytest.MonkeyPatch) -> None:
    def plugin_square(stack: np.ndarray) -> np.ndarray:
        """Square every pixel."""
        return stack.astype(np.float32) ** 2

    module = types.ModuleType("fake_plugin_module")
    calls: list[str] = []

    def fake_entry_points(*, group: str) -> list[_FakeEntryPoint]:
        calls.append(group)
        return [
            _FakeEntryPoint("square", "fake_plugin:plugin_square", plugin_square),
            _FakeEntryPoint("module", "fake_plugin_module", module),
            _FakeEntryPoint("broken", "missing_pkg:func", ImportError("No module named 'missing_pkg'")),
        ]

    monkeypatch.setattr(registry, "entry_points", fake_entry_points)
    monkeypatch.setattr(registry, "_loaded", False)
    entry = get_function("square")
    assert entry.category == "plugin" and entry.source == "entry point fake_plugin:plugin_square"
    list_functions()
    get_function("gaussian_blur")
    assert calls == ["openhcs_gui.functions"]
    assert plugin_errors()[-1] == (
        "Could not load function plugin 'broken' (missing_pkg:func): No module named 'missing_pkg'"
    )
