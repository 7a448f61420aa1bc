"""Qt-free description of one editable field (step one of the form generator).

A :class:`FieldSpec` is built from a pydantic ``FieldInfo`` or from an
``inspect.Parameter``; it holds everything a widget needs (title, tooltip,
bounds, choices, whether ``None`` means *inherit*) and nothing about Qt, so
the mapping from types to specs is testable without a display and the
editor choice is a single lookup (magicgui's ``UiField`` pattern).
"""

from __future__ import annotations

import enum
import inspect
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types as at
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

__all__ = ["FieldSpec", "UnsupportedTypeError", "unwrap_optional", "specs_for_model"]


class UnsupportedTypeError(TypeError):
    """No editor is known for a field's type (names the field and the type)."""


def unwrap_optional(annotation: Any) -> tuple[Any, bool]:
    """Split ``T | None`` into ``(T, True)``; anything else into ``(annotation, False)``.

    Parameters
    ----------
    annotation
        A type annotation, possibly ``Optional``/``Union`` with ``None`` or ``Annotated``.

    Returns
    -------
    tuple
        The inner type and whether ``None`` is allowed.
    """
    if get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        nullable = len(args) < len(get_args(annotation))
        if len(args) == 1:
            return args[0], nullable
        return Union[tuple(args)], nullable  # noqa: UP007 - rebuilt at runtime
    return annotation, False


#: Words shown in capitals in generated labels ("ome_zarr_metadata" -> "OME zarr metadata").
ACRONYMS = {"vfs": "VFS", "ome": "OME", "ngff": "NGFF", "id": "ID", "url": "URL", "xy": "XY", "num": "Number of"}


def _title(name: str) -> str:
    words = [w for w in name.split("_") if w]
    shown = [ACRONYMS.get(w.lower(), w) for w in words]
    if shown and shown[0] == words[0]:
        shown[0] = shown[0].capitalize()
    return " ".join(shown)


@dataclass(frozen=True)
class FieldSpec:
    """Everything needed to build and bind one editor, without Qt.

    Attributes
    ----------
    name
        Attribute (or keyword argument) name.
    annotation
        The value type with ``Optional`` removed.
    nullable
        ``None`` is allowed; for config models ``None`` means *inherit*.
    path
        Tuple path from the root model (``("zarr", "compression_level")``), used to
        look up inherited values without parsing any text.
    minimum, maximum
        Inclusive bounds from ``ge``/``le`` (``gt``/``lt`` are tightened for ints).
    choices
        Allowed values for an ``Enum`` or ``Literal``; ``None`` otherwise.
    hint
        ``json_schema_extra`` of the field: widget options such as ``{"mode": "file"}``.
    """

    name: str
    annotation: Any
    title: str = ""
    tooltip: str = ""
    default: Any = None
    nullable: bool = False
    path: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[Any, ...] | None = None
    hint: dict[str, Any] = field(default_factory=dict)

    @property
    def is_model(self) -> bool:
        """True when the field holds a nested pydantic model (a recursive group)."""
        return inspect.isclass(self.annotation) and issubclass(self.annotation, BaseModel)

    @classmethod
    def from_field_info(
        cls, name: str, info: FieldInfo, path: tuple[str, ...] = ()
    ) -> FieldSpec:
        """Build a spec from a pydantic field.

        Parameters
        ----------
        name
            Field name on the model.
        info
            ``Model.model_fields[name]``.
        path
            Path of the model that owns the field; the field name is appended.
        """
        inner, nullable = unwrap_optional(info.annotation)
        lo, hi = _bounds(info.metadata, inner)
        default = None if info.default is PydanticUndefined else info.default
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        return cls(
            name=name,
            annotation=inner,
            title=info.title or _title(name),
            tooltip=info.description or "",
            default=default,
            nullable=nullable,
            path=(*path, name),
            minimum=lo,
            maximum=hi,
            choices=_choices(inner),
            hint=dict(extra),
        )

    @classmethod
    def from_parameter(cls, param: inspect.Parameter, doc: str = "") -> FieldSpec:
        """Build a spec from a function parameter (for step keyword arguments).

        An unannotated parameter takes the type of its default value.
        """
        annotation = param.annotation
        default = None if param.default is inspect.Parameter.empty else param.default
        if annotation is inspect.Parameter.empty:
            annotation = type(default) if default is not None else Any
        metadata = list(get_args(annotation)[1:]) if get_origin(annotation) is Annotated else []
        inner, nullable = unwrap_optional(annotation)
        lo, hi = _bounds(metadata, inner)
        return cls(
            name=param.name,
            annotation=inner,
            title=_title(param.name),
            tooltip=doc,
            default=default,
            nullable=nullable or (default is None and param.default is not inspect.Parameter.empty),
            path=(param.name,),
            minimum=lo,
            maximum=hi,
            choices=_choices(inner),
        )


def _choices(tp: Any) -> tuple[Any, ...] | None:
    if inspect.isclass(tp) and issubclass(tp, enum.Enum):
        return tuple(tp)
    if get_origin(tp) is Literal:
        return tuple(get_args(tp))
    return None


def _bounds(metadata: list[Any], tp: Any) -> tuple[float | None, float | None]:
    lo: float | None = None
    hi: float | None = None
    step = 1 if tp is int else 0
    flat: list[Any] = []
    for m in metadata:  # Annotated[float, Field(ge=0, le=200)] nests the bounds in a FieldInfo
        flat.extend(m.metadata if isinstance(m, FieldInfo) else [m])
    for m in flat:
        if isinstance(m, at.Ge):
            lo = m.ge  # type: ignore[assignment]
        elif isinstance(m, at.Gt):
            lo = m.gt + step  # type: ignore[operator]
        elif isinstance(m, at.Le):
            hi = m.le  # type: ignore[assignment]
        elif isinstance(m, at.Lt):
            hi = m.lt - step  # type: ignore[operator]
        elif isinstance(m, at.Interval):
            lo = m.ge if m.ge is not None else lo  # type: ignore[assignment]
            hi = m.le if m.le is not None else hi  # type: ignore[assignment]
    return lo, hi


def specs_for_model(model_cls: type[BaseModel], path: tuple[str, ...] = ()) -> list[FieldSpec]:
    """One :class:`FieldSpec` per field of ``model_cls``, in declaration order."""
    return [
        FieldSpec.from_field_info(name, info, path) for name, info in model_cls.model_fields.items()
    ]


def is_path_type(tp: Any) -> bool:
    """True for ``pathlib.Path`` and its subclasses."""
    return inspect.isclass(tp) and issubclass(tp, Path)
