"""FunctionStep: one processing step, and the grouping model that feeds it.

A step never touches storage. The runner hands it the images of one well, the
step cuts them into *groups* and calls its function once per group with a
3-D stack ``(n, y, x)``:

* ``variable_components`` are the axes that vary *inside* one stack. The
  default ``(SITE,)`` gives one call per ``(channel, z)`` with the stack over
  the well's sites; ``(Z,)`` gives one call per ``(site, channel)`` with the
  stack over z (what a projection wants); ``(CHANNEL,)`` stacks the channels;
  ``(TIME,)`` stacks a field's time points (``"time"`` in a pipeline file).
* Every other component (besides the well) is fixed within a group, so on a
  plate with several time points each time point is processed on its own
  unless ``TIME`` is a variable component.
* ``group_by=CHANNEL`` with a ``dict`` func picks the function chain by the
  group's channel (``{1: blur, 2: [blur, subtract]}``); channels missing from
  the dict pass through unchanged.

A function returns a stack of ``n`` images (same keys as its input) or of 1
image (the varying components collapse to 1, e.g. a z projection writes
``z1``). See ``docs/pipeline.md`` for a picture of the model.

Steps are psygnal ``EventedModel``s so the GUI can connect to
``step.events.name`` / ``func`` / ``kwargs`` / ``force_disk_output`` / ``backend``.
"""

from __future__ import annotations

import inspect
import math
import typing
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from psygnal import EventedModel
from pydantic import ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from openhcs_gui._lazy import lazy_module
from openhcs_gui.constants import Backend, Component
from openhcs_gui.errors import PipelineError
from openhcs_gui.vfs.keys import ImageKey

np = lazy_module("numpy", globals())  # imported on first use: the desktop window shows before numpy loads

__all__ = ["FunctionStep", "FuncItem", "func_label", "check_kwargs", "GROUP_AXES", "component_value"]

#: (callable, kwargs) after normalisation; a chain is a list of these.
FuncItem = tuple[Callable[..., Any], dict[str, Any]]
#: Axes a group can be cut along, in key order (the well is always fixed).
GROUP_AXES: tuple[Component, ...] = (Component.SITE, Component.CHANNEL, Component.Z, Component.TIME)
#: ``ImageKey`` attribute of each group axis (the time point is ``key.t``).
_KEY_FIELD: dict[Component, str] = {Component.SITE: "site", Component.CHANNEL: "channel",
                                     Component.Z: "z", Component.TIME: "t"}


def component_value(key: ImageKey, component: Component) -> int:
    """The value of ``component`` (site, channel, z or time) in ``key``."""
    return int(getattr(key, _KEY_FIELD[component]))


def func_label(func: Callable[..., Any]) -> str:
    """Registered name of ``func``, else its ``__name__`` (for names and messages).

    A step built in Python may hold the registered name itself (``FunctionStep("gaussian_blur")``):
    that name is the label (it showed as "str" in the plan and in messages).
    """
    from openhcs_gui.functions import name_of

    if isinstance(func, str):
        return func
    return name_of(func) or str(getattr(func, "__name__", type(func).__name__))


def _resolve(obj: Any) -> Any:
    """A registered function name becomes its callable (unknown name -> clear error)."""
    if isinstance(obj, str):
        from openhcs_gui.functions import get_function

        try:
            return get_function(obj).func
        except KeyError as e:  # FunctionNotFoundError: re-raise as a validation reason
            raise ValueError(str(e)) from None
    return obj


def _as_item(obj: Any, where: str) -> FuncItem:
    obj = _resolve(obj)
    if callable(obj):
        return obj, {}
    if isinstance(obj, tuple) and len(obj) == 2 and isinstance(obj[1], dict):
        func = _resolve(obj[0])
        if callable(func):
            return func, dict(obj[1])
    raise ValueError(
        f"{where} must be a callable, a registered function name or (callable, kwargs), "
        f"got {type(obj).__name__}"
    )


def _as_chain(obj: Any, where: str) -> list[FuncItem]:
    if isinstance(obj, list):
        if not obj:
            raise ValueError(f"{where} is an empty chain")
        return [_as_item(o, f"{where}[{i}]") for i, o in enumerate(obj)]
    return [_as_item(obj, where)]


def _annotation(func: Callable[..., Any], name: str, param: inspect.Parameter) -> Any:
    try:  # include_extras keeps Annotated[..., Field(ge=, le=)]: the registered bounds
        hints = typing.get_type_hints(func, include_extras=True)
    except Exception:  # unresolvable forward references: fall back to the default's type
        hints = {}
    if name in hints:
        return hints[name]
    if param.default is not inspect.Parameter.empty and param.default is not None:
        return type(param.default)
    return Any


def _non_finite(value: Any) -> bool:
    """True if ``value`` is, or contains (lists, tuples, dicts), a NaN or infinite float."""
    if isinstance(value, float | np.floating):
        return not math.isfinite(value)
    if isinstance(value, list | tuple):
        return any(_non_finite(v) for v in value)
    if isinstance(value, dict):
        return any(_non_finite(v) for v in value.values())
    return False


def check_kwargs(func: Callable[..., Any], kwargs: dict[str, Any]) -> dict[str, Any]:
    """Validate ``kwargs`` against ``func``'s signature and return coerced values.

    Unknown names, values of the wrong type, values outside the bounds the
    function declares (``Annotated[float, Field(ge=0, le=200)]``) and NaN or
    infinite floats are errors, so a pipeline file with ``"sigma": "abc"`` or
    ``NaN`` fails when it is loaded, not halfway through a run.

    Raises
    ------
    ValueError
        Naming the function, the parameter and the reason.
    """
    for key, value in kwargs.items():
        if _non_finite(value):
            raise ValueError(f"{func_label(func)}() parameter {key!r}={value!r}: must be a finite number")
    try:
        params = dict(inspect.signature(func).parameters)
    except (TypeError, ValueError):
        return dict(kwargs)
    accepts_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    named = list(params)[1:]  # the first parameter is the image stack
    out: dict[str, Any] = {}
    for key, value in kwargs.items():
        if key not in named:
            if accepts_any:
                out[key] = value
                continue
            raise ValueError(
                f"{func_label(func)}() has no parameter {key!r} (parameters: {', '.join(named) or 'none'})"
            )
        hint = _annotation(func, key, params[key])
        if hint is Any:
            out[key] = value
            continue
        try:
            out[key] = TypeAdapter(hint).validate_python(value)
        except ValidationError as e:
            reason = e.errors()[0]["msg"] if e.errors() else str(e)
            raise ValueError(f"{func_label(func)}() parameter {key!r}={value!r}: {reason}") from None
        except Exception:  # an annotation pydantic cannot build a validator for
            out[key] = value
    return out


class FunctionStep(EventedModel):
    """One step of a pipeline: a function (or chain) applied per group of images.

    Parameters
    ----------
    func
        A callable or registered function name, a ``(callable, kwargs)`` pair, a list of those (a chain:
        each output stack feeds the next function), or a ``dict`` mapping a
        channel number to any of those (different processing per channel).
    name
        Display name and folder suffix (``step2_<name>``); defaults to the
        registered name of the (first) function.
    force_disk_output
        Also write this step's output to disk (a checkpoint), while keeping it
        in memory for the next step.
    backend
        Explicit output backend; wins over every other rule.
    variable_components
        Components that vary inside one stack (see the module docstring).
    group_by
        Component whose value selects the function when ``func`` is a dict
        (only ``CHANNEL`` is supported; set automatically for a dict func).
    **kwargs
        Keyword arguments for a single-callable ``func``.

    Raises
    ------
    PipelineError
        If the function spec, the grouping or a keyword argument is invalid
        (the message names the step).
    """

    model_config = ConfigDict(
        arbitrary_types_allowed=True, validate_assignment=True, extra="forbid"
    )

    func: Any
    name: str = ""
    kwargs: dict[str, Any] = Field(default_factory=dict)
    force_disk_output: bool = Field(
        default=False, title="Also save to disk",
        description="Keep a copy of this step's images as files in the results folder (a checkpoint).")
    backend: Backend | None = Field(
        default=None, title="Store results as",
        description="Where this step's images go; 'default' follows the pipeline settings "
                    "(memory for intermediate steps, the final results format for the last).")
    variable_components: tuple[Component, ...] = (Component.SITE,)
    group_by: Component | None = None

    def __init__(
        self,
        func: Any,
        name: str | None = None,
        *,
        force_disk_output: bool = False,
        backend: Backend | str | None = None,
        variable_components: Iterable[Component | str] = (Component.SITE,),
        group_by: Component | str | None = None,
        **kwargs: Any,
    ) -> None:
        if isinstance(func, dict) and group_by is None:
            group_by = Component.CHANNEL
        label = name or _default_name(func)
        try:
            super().__init__(
                func=func,
                name=label,
                kwargs=kwargs,
                force_disk_output=force_disk_output,
                backend=backend,
                variable_components=tuple(variable_components),
                group_by=group_by,
            )
        except ValidationError as e:
            reasons = "; ".join(str(err.get("msg", "")).removeprefix("Value error, ") for err in e.errors())
            raise PipelineError(f"Step {label!r}: {reasons.rstrip('.')}.") from None

    def __setattr__(self, name: str, value: Any) -> None:
        # pydantic leaves a rejected assignment in place when a model validator
        # fails; put the old value back so a bad GUI edit cannot stick.
        if name in type(self).model_fields and "_events" in self.__dict__:
            old = self.__dict__.get(name)
            try:
                super().__setattr__(name, value)
            except ValidationError:
                self.__dict__[name] = old
                raise
        else:
            super().__setattr__(name, value)

    def set_function(self, func: Any, **kwargs: Any) -> None:
        """Replace the function and its keyword arguments together.

        Assigning ``func`` alone fails when the old ``kwargs`` do not fit the
        new function; this clears them first (each field still emits its event).
        """
        self.kwargs = {}
        if isinstance(func, dict) and self.group_by is None:
            self.group_by = Component.CHANNEL
        self.func = func
        if kwargs:
            self.kwargs = kwargs

    @model_validator(mode="after")
    def _check(self) -> FunctionStep:
        if not self.name.strip() or any(ch in self.name for ch in '/\\:\x00') or self.name in (".", ".."):
            raise ValueError(f"name {self.name!r} must be a non-empty folder-safe name (no / \\ :)")
        comps = self.variable_components
        if not comps:
            raise ValueError("variable_components must name at least one of site, channel, z, time")
        if Component.WELL in comps:
            raise ValueError("variable_components cannot contain 'well' (a stack never spans wells)")
        if len(set(comps)) != len(comps):
            raise ValueError("variable_components has duplicates")
        if self.group_by is not None:
            if self.group_by is not Component.CHANNEL:
                raise ValueError("group_by supports only 'channel'")
            if self.group_by in comps:
                raise ValueError("group_by cannot also be a variable component")
        if isinstance(self.func, dict):
            if self.group_by is None:
                raise ValueError("a dict func needs group_by='channel'")
            if self.kwargs:
                raise ValueError("step kwargs apply to a single callable; put them in the dict items")
            for key, chain in self.func.items():
                if not isinstance(key, int) or isinstance(key, bool):
                    raise ValueError(f"dict func keys must be channel numbers, got {key!r}")
                self._validate_chain(_as_chain(chain, f"func[{key}]"))
        else:
            chain = _as_chain(self.func, "func")
            if self.kwargs and (len(chain) > 1 or chain[0][1]):
                raise ValueError("step kwargs apply to a single callable; put them in the (func, kwargs) items")
            self._validate_chain(chain)
        return self

    def _validate_chain(self, chain: list[FuncItem]) -> None:
        for f, kw in chain:
            check_kwargs(f, kw or self.kwargs)

    # ------------------------------------------------------------- resolution
    def chain_for(self, channel: int | None = None) -> list[FuncItem] | None:
        """The ``(callable, kwargs)`` chain for a group, ``None`` = pass through.

        ``channel`` matters only for a dict func (``group_by=CHANNEL``).
        """
        if isinstance(self.func, dict):
            spec = self.func.get(channel)
            if spec is None:
                return None
            return [(f, check_kwargs(f, kw)) for f, kw in _as_chain(spec, "func")]
        chain = _as_chain(self.func, "func")
        if len(chain) == 1 and not chain[0][1]:
            return [(chain[0][0], check_kwargs(chain[0][0], self.kwargs))]
        return [(f, check_kwargs(f, kw)) for f, kw in chain]

    def groups(self, keys: Sequence[ImageKey]) -> dict[tuple[int, ...], list[ImageKey]]:
        """Cut one well's image keys into the stacks this step's function receives.

        Returns an ordered mapping: the fixed component values (in
        ``site, channel, z, time`` order, variable ones left out) -> sorted keys.
        """
        fixed = [c for c in GROUP_AXES if c not in self.variable_components]
        out: dict[tuple[int, ...], list[ImageKey]] = {}
        for key in sorted(keys):
            gid = tuple(component_value(key, c) for c in fixed)
            out.setdefault(gid, []).append(key)
        return dict(sorted(out.items()))

    def output_keys(self, group: Sequence[ImageKey], n_out: int) -> list[ImageKey]:
        """Keys of a function's output: the input keys, or one collapsed key.

        Raises
        ------
        PipelineError
            If the function returned neither ``len(group)`` images nor one.
        """
        if n_out == len(group):
            return list(group)
        if n_out == 1:
            first = group[0]
            values = {_KEY_FIELD[c]: 1 for c in self.variable_components}
            return [ImageKey(first.well, values.get("site", first.site),
                             values.get("channel", first.channel), values.get("z", first.z),
                             values.get("t", first.t))]
        raise PipelineError(
            f"Step {self.name!r} returned {n_out} images for a group of {len(group)}; "
            f"a function must return one image per input image, or a single image."
        )

    def fixed_components(self) -> list[Component]:
        """Components that are constant within one group (besides the well)."""
        return [c for c in GROUP_AXES if c not in self.variable_components]


def _default_name(func: Any) -> str:
    try:
        if isinstance(func, dict):
            first = next(iter(func.values()))
            return _default_name(first)
        chain = _as_chain(func, "func")
        return func_label(chain[0][0])
    except (ValueError, StopIteration):
        return "step"
