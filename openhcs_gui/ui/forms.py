"""Pydantic model → form, two-way bound; also forms for function keyword arguments.

:class:`ModelFormWidget` builds one editor per field from
:class:`~openhcs_gui.ui.fields.FieldSpec` + :data:`~openhcs_gui.ui.editors.TYPE_MAP`
(nested models become collapsible groups, recursively). It keeps no copy of
the model's values: a user edit is assigned to the model (pydantic validates
it; a rejected value turns the field red with pydantic's message and leaves
the model unchanged), and the model's psygnal events drive the widgets back,
with the editors' signals blocked so nothing loops. ``None`` fields show the
value they inherit, from a resolver the caller passes in (for the pipeline
config that is :func:`openhcs_gui.config.effective_value`), so inheritance is
computed in one pure engine function and never parsed from widget text.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

from psygnal import EmissionInfo, EventedModel
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFormLayout, QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from openhcs_gui.ui.editors import TYPE_MAP, TypeMap, ValueEditor
from openhcs_gui.ui.fields import FieldSpec, UnsupportedTypeError, specs_for_model

__all__ = ["ModelFormWidget", "KwargsFormWidget", "InheritedResolver", "validation_message"]

#: Maps a field's tuple path to the value it inherits while ``None`` (or ``None``).
InheritedResolver = Callable[[tuple[str, ...]], Any]


def validation_message(err: Exception) -> str:
    """pydantic's message(s) for a rejected value, one per line, without the URL noise."""
    if isinstance(err, ValidationError):
        return "\n".join(e["msg"] for e in err.errors(include_url=False))
    return str(err)


class _Binding:
    """A psygnal connection that a Qt ``destroyed`` signal can undo."""

    def __init__(self, model: BaseModel, callback: Callable[[EmissionInfo], None]) -> None:
        self.events = getattr(model, "events", None)
        self.callback = callback
        if self.events is not None:
            self.events.connect(callback)

    def disconnect(self, *_: Any) -> None:
        if self.events is not None:
            self.events.disconnect(self.callback)
            self.events = None


class ModelFormWidget(QWidget):
    """An editable form for any pydantic model, bound in both directions.

    Parameters
    ----------
    model
        The model instance to edit (a psygnal ``EventedModel`` updates the form
        when changed elsewhere; a plain ``BaseModel`` is still written to).
    type_map
        Type → editor table; copy :data:`TYPE_MAP` and ``register_type`` to extend.
    inherited
        Resolver for the placeholder of ``None`` fields; ``None`` shows "default".
    path
        Path of ``model`` inside the root model (set by the parent form).
    fields
        Only these fields, in this order (default: all, in declaration order).
    advanced_host
        The form whose "Advanced" section takes this form's advanced fields
        (set by the parent form, so a whole config has one such section).
    parent
        Owning widget.

    Field hints (``json_schema_extra``) shape the layout, so a bench scientist
    sees the few settings that matter and storage internals stay out of the way:
    ``advanced`` puts a field (or a whole group) in one collapsed "Advanced"
    section at the end; ``inline`` shows a nested model's fields without a group
    title; ``hidden`` leaves a field out (its value is kept and still validated).

    Raises
    ------
    UnsupportedTypeError
        A field has a type no editor is registered for (names field and type).
    """

    #: (field path, new value) after the model changed — by the user or by code.
    value_changed = Signal(tuple, object)
    #: (field path, message) when the model rejected a user edit.
    validation_failed = Signal(tuple, str)
    #: ``{"parent.field": message}`` of every field now shown invalid (see :meth:`errors`).
    errors_changed = Signal(dict)

    def __init__(
        self,
        model: BaseModel,
        *,
        type_map: TypeMap = TYPE_MAP,
        inherited: InheritedResolver | None = None,
        path: tuple[str, ...] = (),
        fields: Sequence[str] | None = None,
        advanced_host: ModelFormWidget | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._host = advanced_host if advanced_host is not None else self
        self._advanced_layout: QFormLayout | None = None
        #: The collapsed "Advanced" section (on the form that holds it), or ``None``.
        self.advanced_group: _Section | None = None
        self._model = model
        self._inherited = inherited
        self._path = path
        self.editors: dict[str, ValueEditor] = {}
        self.reset_buttons: dict[str, QToolButton] = {}
        self.children_forms: dict[str, ModelFormWidget] = {}
        self.groups: dict[str, _Section] = {}
        layout = QFormLayout(self)
        layout.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        # in a narrow dock (a 1366×768 laptop) a long label goes above its field instead of
        # pushing the form wider than the dock
        layout.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        if path:
            layout.setContentsMargins(4, 0, 0, 0)
        specs = {s.name: s for s in specs_for_model(type(model), path)}
        for name in fields if fields is not None else list(specs):
            spec = specs[name]
            if spec.hint.get("hidden"):
                continue
            target = self._host.advanced_rows() if spec.hint.get("advanced") else layout
            if spec.is_model:
                self._add_group(spec, type_map, target)
            else:
                self._add_editor(spec, type_map, target)
        if self.advanced_group is not None:
            layout.addRow(self.advanced_group)  # last, after every ordinary row
        self._binding = _Binding(model, self._on_model_event)
        self.destroyed.connect(self._binding.disconnect)
        if not path:
            self.value_changed.connect(self._on_self_value_changed)
        self.refresh()

    @property
    def model(self) -> BaseModel:
        """The bound model."""
        return self._model

    def advanced_rows(self) -> QFormLayout:
        """The layout inside this form's collapsed "Advanced" section (created on first use)."""
        if self._advanced_layout is None:
            self.advanced_group = _Section("Advanced", self)
            self.advanced_group.setToolTip("Storage details; the defaults suit most experiments.")
            self._advanced_layout = self.advanced_group.rows
        return self._advanced_layout

    def _add_group(self, spec: FieldSpec, type_map: TypeMap, target: QFormLayout) -> None:
        inline = bool(spec.hint.get("inline"))
        child = ModelFormWidget(
            getattr(self._model, spec.name),
            type_map=type_map,
            inherited=self._inherited,
            path=spec.path,
            advanced_host=self._host,
            parent=self,
        )
        child.value_changed.connect(self.value_changed)
        child.validation_failed.connect(self.validation_failed)
        child.errors_changed.connect(self._on_child_errors_changed)
        self.children_forms[spec.name] = child
        if inline:  # the fields sit among the parent's own, no group title
            child.layout().setContentsMargins(0, 0, 0, 0)
            target.addRow(child)
            return
        group = _Section(spec.title, self)
        group.setToolTip(spec.tooltip)
        group.addWidget(child)
        group.expand()
        target.addRow(group)
        self.groups[spec.name] = group

    def _add_editor(self, spec: FieldSpec, type_map: TypeMap, layout: QFormLayout) -> None:
        editor = type_map.create(spec, self)
        editor.valueChanged.connect(partial(self._on_editor_changed, spec.name))
        editor.errorChanged.connect(self._on_child_errors_changed)
        row = QWidget(self)
        row_layout = QHBoxLayout(row)
        row_layout.setContentsMargins(0, 0, 0, 0)
        row_layout.addWidget(editor, 1)
        if spec.nullable:
            button = QToolButton(row)
            button.setText("↺")
            button.setToolTip("Back to the default (shown in grey)")
            button.clicked.connect(partial(self._on_reset_clicked, spec.name))
            row_layout.addWidget(button)
            self.reset_buttons[spec.name] = button
        label = QLabel(spec.title, self)
        label.setToolTip(spec.tooltip)
        layout.addRow(label, row)
        self.editors[spec.name] = editor

    # -- binding --------------------------------------------------------------
    def set_model(self, model: BaseModel) -> None:
        """Bind to another instance of the same model class and show its values."""
        if model is self._model:
            return
        if type(model) is not type(self._model):
            raise TypeError(f"form for {type(self._model).__name__} cannot show {type(model).__name__}")
        self._binding.disconnect()
        self._model = model
        self._binding = _Binding(model, self._on_model_event)
        self.destroyed.connect(self._binding.disconnect)
        for name, child in self.children_forms.items():
            child.set_model(getattr(model, name))
        self.refresh()

    def refresh(self) -> None:
        """Show every value of the model (signals blocked) and clear error marks."""
        for name, editor in self.editors.items():
            self._show(name, editor)
        for child in self.children_forms.values():
            child.refresh()
        if not self._path:
            self.refresh_inherited()

    def refresh_inherited(self) -> None:
        """Update the placeholders of ``None`` fields from the resolver."""
        for editor in self.editors.values():
            if editor.spec.nullable:
                resolved = self._inherited(editor.spec.path) if self._inherited else None
                editor.set_inherited(resolved)
        for child in self.children_forms.values():
            child.refresh_inherited()

    def _show(self, name: str, editor: ValueEditor) -> None:
        value = getattr(self._model, name)
        editor.set_value(value)
        editor.set_error(None)
        if name in self.reset_buttons:
            self.reset_buttons[name].setEnabled(value is not None)

    def errors(self) -> dict[str, str]:
        """``{"title": message}`` of every field (nested ones too) that shows a validation error."""
        out = {self._label(e.spec): e.error for e in self.editors.values() if e.error}
        for child in self.children_forms.values():
            out.update(child.errors())
        return out

    @staticmethod
    def _label(spec: FieldSpec) -> str:
        return " › ".join(p.replace("_", " ") for p in spec.path) if len(spec.path) > 1 else spec.title

    def _on_child_errors_changed(self, *_: Any) -> None:
        self.errors_changed.emit(self.errors())

    # -- handlers -------------------------------------------------------------
    def _on_editor_changed(self, name: str, value: Any) -> None:
        editor = self.editors[name]
        try:
            setattr(self._model, name, value)
        except (ValidationError, ValueError, TypeError) as e:
            message = validation_message(e)
            editor.set_error(message)
            self.validation_failed.emit((*self._path, name), message)
            return
        if editor.error:  # accepted, but equal to the old value: no event will clear it
            self._show(name, editor)

    def _on_reset_clicked(self, name: str) -> None:
        self._on_editor_changed(name, None)

    def _on_model_event(self, info: EmissionInfo) -> None:
        name = info.signal.name
        if name in self.children_forms:
            self.children_forms[name].set_model(getattr(self._model, name))
        elif name in self.editors:
            self._show(name, self.editors[name])
        else:
            return
        self.value_changed.emit((*self._path, name), getattr(self._model, name))

    def _on_self_value_changed(self, *_: Any) -> None:
        self.refresh_inherited()


class _Section(QWidget):
    """A titled section that opens and closes with its arrow, collapsed at first.

    Plain show/hide rather than superqt's ``QCollapsible`` (animated maximum
    height): rows that wrap in a narrow dock change the height afterwards, and
    a fixed height would then clip them on top of each other. Also keeps
    superqt (and qtpy behind it, ~0.2 s) out of the window's start.
    """

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.toggle = QToolButton(self)
        self.toggle.setText(title)
        self.toggle.setCheckable(True)
        self.toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.toggle.setAutoRaise(True)
        self.toggle.toggled.connect(self._on_toggle_toggled)
        self.body = QWidget(self)
        self.rows = QFormLayout(self.body)
        self.rows.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.rows.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.rows.setContentsMargins(12, 0, 0, 0)
        self.body.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.toggle)
        layout.addWidget(self.body)

    def addWidget(self, widget: QWidget) -> None:  # noqa: N802 - QCollapsible's name
        """Add ``widget`` as a full-width row of the section."""
        self.rows.addRow(widget)

    def isExpanded(self) -> bool:  # noqa: N802 - QCollapsible's name
        """Whether the rows are shown."""
        return self.toggle.isChecked()

    def expand(self, animate: bool = False) -> None:
        """Show the rows (``animate`` is accepted for ``QCollapsible`` compatibility)."""
        self.toggle.setChecked(True)

    def collapse(self, animate: bool = False) -> None:
        """Hide the rows."""
        self.toggle.setChecked(False)

    def _on_toggle_toggled(self, on: bool) -> None:
        self.toggle.setArrowType(Qt.ArrowType.DownArrow if on else Qt.ArrowType.RightArrow)
        self.body.setVisible(on)


class _KwargsModel(EventedModel):
    model_config = ConfigDict(validate_assignment=True, arbitrary_types_allowed=True)


class KwargsFormWidget(QWidget):
    """Form for a function's keyword arguments, built from ``inspect.Parameter``s.

    The parameters become a transient evented pydantic model, so the same type
    map, validation and red-field feedback as the config forms apply. Parameters
    whose type has no editor are listed read-only (their values are kept).

    Parameters
    ----------
    parameters
        Name → ``inspect.Parameter`` (the data argument already removed).
    values
        Current keyword values; missing ones use the parameter defaults.
    type_map
        Type → editor table.
    docs
        Name → description (rich text, e.g. from the numpydoc ``Parameters``
        section via :func:`~openhcs_gui.ui.docstrings.parameter_docs`): each
        field's tooltip.
    parent
        Owning widget.
    """

    #: The full keyword dict after a valid edit.
    kwargs_changed = Signal(dict)

    def __init__(
        self,
        parameters: Mapping[str, inspect.Parameter],
        values: Mapping[str, Any],
        *,
        type_map: TypeMap = TYPE_MAP,
        docs: Mapping[str, str] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._values = dict(values)
        docs = docs or {}
        fields: dict[str, Any] = {}
        readonly: list[str] = []
        for name, param in parameters.items():
            spec = FieldSpec.from_parameter(param)
            try:
                type_map.editor_class(spec)
            except UnsupportedTypeError:
                readonly.append(name)
                continue
            annotation = param.annotation
            if annotation is inspect.Parameter.empty:
                annotation = spec.annotation | None if spec.nullable else spec.annotation
            default = ... if param.default is inspect.Parameter.empty else param.default
            # <qt> makes Qt render the description as rich text (<code> from RST).
            description = f"<qt>{docs[name]}</qt>" if docs.get(name) else None
            fields[name] = (annotation, Field(default, description=description))
        model_cls = create_model("FunctionKwargs", __base__=_KwargsModel, **fields)
        given = {k: v for k, v in self._values.items() if k in fields}
        try:
            self.model = model_cls(**given)
        except ValidationError:
            self.model = model_cls()
        layout = QFormLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.form = ModelFormWidget(self.model, type_map=type_map, parent=self)
        layout.addRow(self.form)
        for name in readonly:
            shown = self._values.get(name, parameters[name].default)
            label = QLabel(f"{shown!r}  (edit in the pipeline file)", self)
            label.setEnabled(False)
            layout.addRow(name.replace("_", " ").capitalize(), label)
        self.form.value_changed.connect(self._on_form_value_changed)

    def kwargs(self) -> dict[str, Any]:
        """The keyword arguments as currently shown (edited + untouched read-only ones)."""
        return {**self._values, **self.model.model_dump()}

    def _on_form_value_changed(self, path: tuple[str, ...], value: Any) -> None:
        self.kwargs_changed.emit(self.kwargs())
