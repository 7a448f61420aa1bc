"""Checking a function's parameters on a direct call, and lengths given in µm.

Steps check keyword values against a function's annotated bounds when they are
built (:func:`openhcs_gui.pipeline.step.check_kwargs`); :func:`check_params`
gives a direct call the same one-sentence errors. :func:`diameter_in_px` turns a
length in µm into pixels with the plate's pixel size, or falls back to the
pixel value when the size is unknown.
"""

from __future__ import annotations

import functools
import math
import typing
from collections.abc import Callable
from typing import Any

from pydantic import TypeAdapter, ValidationError

__all__ = ["check_params", "diameter_in_px", "labels_output"]


@functools.cache
def _adapter(func: Callable[..., Any], name: str) -> TypeAdapter[Any]:
    hints = typing.get_type_hints(func, include_extras=True)
    return TypeAdapter(hints[name])


def check_params(func: Callable[..., Any], **values: Any) -> None:
    """Check values against ``func``'s annotated bounds and choices (a direct call, not a step).

    Raises
    ------
    ValueError
        One sentence naming the function, the parameter and the reason.
    """
    for name, value in values.items():
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{func.__name__}: parameter {name}={value!r} must be a finite number.")
        try:
            _adapter(func, name).validate_python(value)
        except ValidationError as e:
            reason = e.errors()[0]["msg"] if e.errors() else str(e)
            raise ValueError(f"{func.__name__}: parameter {name}={value!r}: {reason}.") from None


def diameter_in_px(
    where: str, um: float, px: float, pixel_size_um: float | None,
    names: tuple[str, str] = ("diameter_um", "diameter_px"),
    px_range: tuple[float, float] = (3.0, 500.0),
) -> float:
    """The diameter in pixels: ``um / pixel_size_um`` when the pixel size is known, else ``px``.

    Raises
    ------
    ValueError
        When the µm value comes to a pixel size outside ``px_range`` (one
        sentence naming the function, the parameter and both values).
    """
    if pixel_size_um is None:
        return float(px)
    value = um / pixel_size_um
    lo, hi = px_range
    if not lo <= value <= hi:
        raise ValueError(
            f"{where}: parameter {names[0]}={um:g} µm is {value:.1f} px at {pixel_size_um:g} µm per pixel; "
            f"it must come to {lo:g} to {hi:g} px."
        )
    return value


def labels_output(func: Callable[..., Any]) -> Callable[..., Any]:
    """Declare that ``func`` returns label images (``func.outputs = "labels"``)."""
    func.outputs = "labels"  # type: ignore[attr-defined]
    return func
