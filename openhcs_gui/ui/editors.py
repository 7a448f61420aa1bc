"""Value editors and the type map (step two of the form generator).

Every editor has the same small interface — ``value``, ``set_value`` (silent),
``valueChanged``, ``set_inherited`` and ``set_error`` — so one binding routine
serves all of them (magicgui's ``ValueWidget``). :data:`TYPE_MAP` picks the
editor class for a :class:`~openhcs_gui.ui.fields.FieldSpec` in magicgui's
order: explicit hint, registered types, Enum/Literal, simple types; anything
else raises :class:`~openhcs_gui.ui.fields.UnsupportedTypeError`.
"""

from __future__ import annotations

import enum
import inspect
import re
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QValidator, QWheelEvent
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QLineEdit,
    QSpinBox,
    QToolButton,
    QWidget,
)

from openhcs_gui.ui.fields import FieldSpec, UnsupportedTypeError, is_path_type

__all__ = [
    "ValueEditor",
    "ComboEditor",
    "CheckEditor",
    "IntEditor",
    "FloatEditor",
    "StrEditor",
    "PathEditor",
    "TypeMap",
    "TYPE_MAP",
    "NumberSpinBox",
    "FocusComboBox",
    "IntSpinBox",
    "parse_number",
    "CHOICE_LABELS",
]

_ERROR_STYLE = "border: 1px solid #e0443e; background-color: rgba(224, 68, 62, 40);"
_INT_LIMIT = 2**31 - 2


#: What a bench scientist reads for a stored choice (a field's ``labels`` hint overrides).
CHOICE_LABELS: dict[str, str] = {
    "memory": "memory (fastest, not saved)",
    "disk": "TIFF files",
    "zarr": "OME-Zarr",
    "single": "one per image (fast to browse)",
    "well": "one per well (fewer files)",
    "zstd": "Zstandard (small, fast)",
    "lz4": "LZ4 (fastest)",
    "zlib": "zlib (widely readable)",
    "blosc_lz4": "Blosc LZ4",
    "none": "none (largest files)",
}
#: Shown while a field follows its default (``None``), e.g. "default: TIFF files".
DEFAULT_WORD = "default"


def _fmt(value: Any, labels: dict[str, str] | None = None) -> str:
    raw = str(getattr(value, "value", value))
    if labels and raw in labels:
        return labels[raw]
    return CHOICE_LABELS.get(raw, raw) if isinstance(value, enum.Enum) else raw


class ValueEditor(QWidget):
    """Base of every field editor: one inner Qt widget, one value.

    Parameters
    ----------
    spec
        The field this editor shows; ``spec.nullable`` enables the *inherit* state.
    parent
        Owning widget.
    """

    valueChanged = Signal(object)  # noqa: N815 - Qt naming, as in magicgui
    #: The validation message shown changed (``None``: the field is valid again).
    errorChanged = Signal(object)  # noqa: N815 - Qt naming

    def __init__(self, spec: FieldSpec, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.spec = spec
        self._inherited = DEFAULT_WORD
        self._error: str | None = None
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self.inner = self._make_inner()
        self.inner.setToolTip(spec.tooltip)
        self._layout.addWidget(self.inner, 1)

    def _make_inner(self) -> QWidget:
        raise NotImplementedError

    @property
    def value(self) -> Any:
        """The current value (``None`` = inherit, for nullable fields)."""
        return self._get()

    def set_value(self, value: Any) -> None:
        """Show ``value`` without emitting ``valueChanged`` (model → widget)."""
        blocked = self.inner.blockSignals(True)
        try:
            self._set(value)
        finally:
            self.inner.blockSignals(blocked)

    def set_inherited(self, value: Any) -> None:
        """Text shown while the value is ``None``: the inherited effective value."""
        labels = self.spec.hint.get("labels")
        self._inherited = DEFAULT_WORD if value is None else f"{DEFAULT_WORD}: {_fmt(value, labels)}"
        if self.spec.nullable and self._get() is None:
            self.set_value(None)

    def set_error(self, message: str | None) -> None:
        """Mark the field invalid (red, message as tooltip) or clear the mark."""
        changed = message != self._error
        self._error = message
        self.inner.setStyleSheet(_ERROR_STYLE if message else "")
        self.inner.setToolTip(message or self.spec.tooltip)
        if changed:
            self.errorChanged.emit(message)

    @property
    def error(self) -> str | None:
        """The validation message currently shown, if any."""
        return self._error

    def _emit(self, *_: Any) -> None:
        self.valueChanged.emit(self._get())

    def _get(self) -> Any:
        raise NotImplementedError

    def _set(self, value: Any) -> None:
        raise NotImplementedError


class FocusComboBox(QComboBox):
    """A combo box the mouse wheel changes only while it has keyboard focus."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 - Qt override
        if self.hasFocus():
            super().wheelEvent(event)
        else:
            event.ignore()


class ComboEditor(ValueEditor):
    """Enum or ``Literal`` choices; a nullable field gets an *inherit* first entry."""

    def _make_inner(self) -> QWidget:
        self._choices: list[Any] = ([None] if self.spec.nullable else []) + list(
            self.spec.choices or ()
        )
        box = FocusComboBox()
        # shrinks with a narrow dock (long choices elide) instead of widening the whole form
        box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        box.setMinimumContentsLength(8)
        for choice in self._choices:
            box.addItem(self._inherited if choice is None else _fmt(choice, self.spec.hint.get("labels")))
        box.currentIndexChanged.connect(self._emit)
        return box

    def set_inherited(self, value: Any) -> None:  # docstring inherited
        super().set_inherited(value)
        if self.spec.nullable:
            self.inner.setItemText(0, self._inherited)  # type: ignore[attr-defined]

    def _get(self) -> Any:
        return self._choices[self.inner.currentIndex()]  # type: ignore[attr-defined]

    def _set(self, value: Any) -> None:
        for i, choice in enumerate(self._choices):
            if choice == value or (choice is not None and _fmt(choice) == _fmt(value)):
                self.inner.setCurrentIndex(i)  # type: ignore[attr-defined]
                return


class CheckEditor(ValueEditor):
    """``bool``; a nullable one shows the partially-checked state while inheriting."""

    def _make_inner(self) -> QWidget:
        box = QCheckBox()
        box.clicked.connect(self._on_box_clicked)
        return box

    def _on_box_clicked(self, checked: bool) -> None:
        box: QCheckBox = self.inner  # type: ignore[assignment]
        box.setTristate(False)
        box.setText("")
        self.valueChanged.emit(box.isChecked())

    def _get(self) -> Any:
        box: QCheckBox = self.inner  # type: ignore[assignment]
        if box.checkState() == Qt.CheckState.PartiallyChecked:
            return None
        return box.isChecked()

    def _set(self, value: Any) -> None:
        box: QCheckBox = self.inner  # type: ignore[assignment]
        if value is None:
            box.setTristate(True)
            box.setCheckState(Qt.CheckState.PartiallyChecked)
            box.setText(self._inherited)
        else:
            box.setTristate(False)
            box.setChecked(bool(value))
            box.setText("")


_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_PARTIAL = re.compile(r"^[+-]?\d*\.?\d*([eE][+-]?\d*)?$")


def parse_number(text: str) -> float | None:
    """``text`` as a number (``"1e-3"`` and ``"2,5"`` included), or ``None`` when it is not one."""
    text = text.strip().replace(",", ".")
    return float(text) if _NUMBER.match(text) else None


class _NumberBoxMixin:
    """What both number boxes add to Qt's spin boxes.

    * Any number may be typed, in scientific notation too (``1e-3``); a value
      out of the field's bounds is *not* clamped but passed on, so the model
      rejects it and the field shows pydantic's message (never a silent 19 for
      ``1e9``). A letter is refused *visibly*: ``on_rejected`` marks the field.
    * The arrows and keys step within the field's bounds.
    * The mouse wheel does nothing unless the box has keyboard focus (a
      scrolled form must not change values under the pointer).
    """

    bounds: tuple[float | None, float | None] = (None, None)
    on_rejected: Any = None

    def _setup_box(self) -> None:
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # type: ignore[attr-defined]

    def validate(self, text: str, pos: int) -> QValidator.State:  # noqa: D102 - Qt override
        special = self.specialValueText()  # type: ignore[attr-defined]
        stripped = text.strip().replace(",", ".")
        if special and text == special:
            return QValidator.State.Acceptable
        if _NUMBER.match(stripped):
            reason = self._reject_reason(float(stripped))
            if reason is None:
                return QValidator.State.Acceptable
        elif _PARTIAL.match(stripped):
            return QValidator.State.Intermediate
        else:
            reason = f"“{text.strip()}” is not a number; type digits, e.g. 0.5 or 1e-3"
        if self.on_rejected is not None:
            self.on_rejected(reason)
        return QValidator.State.Invalid

    def _reject_reason(self, number: float) -> str | None:
        return None

    def stepBy(self, steps: int) -> None:  # noqa: N802 - Qt override
        value = self.value()  # type: ignore[attr-defined]
        if self.specialValueText() and value == self.minimum():  # type: ignore[attr-defined]
            value = self.bounds[0] if self.bounds[0] is not None else 0
        new = value + steps * self.singleStep()  # type: ignore[attr-defined]
        lo, hi = self.bounds
        new = max(lo, new) if lo is not None else new
        new = min(hi, new) if hi is not None else new
        self.setValue(new)  # type: ignore[attr-defined]

    def stepEnabled(self) -> QAbstractSpinBox.StepEnabledFlag:  # noqa: N802 - Qt override
        return QAbstractSpinBox.StepEnabledFlag.StepUpEnabled | QAbstractSpinBox.StepEnabledFlag.StepDownEnabled

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 - Qt override
        if self.hasFocus():  # type: ignore[attr-defined]
            super().wheelEvent(event)  # type: ignore[misc]
        else:
            event.ignore()  # the scroll area behind scrolls instead


class NumberSpinBox(_NumberBoxMixin, QDoubleSpinBox):
    """A float box that takes ``1e-3``, shows as many digits as the value needs and never clamps silently."""

    def __init__(self, significant: int = 6, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._significant = significant
        self.setDecimals(15)  # the value is kept exactly; the text shows what it needs
        self._setup_box()

    def textFromValue(self, value: float) -> str:  # noqa: N802 - Qt override
        return format(value, f".{self._significant}g")

    def valueFromText(self, text: str) -> float:  # noqa: N802 - Qt override
        number = parse_number(text)
        return self.value() if number is None else number


class IntSpinBox(_NumberBoxMixin, QSpinBox):
    """A whole-number box that takes ``1e3`` and never turns ``1e9`` into ``19``."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._setup_box()

    def _reject_reason(self, number: float) -> str | None:
        if not number.is_integer():
            return f"{number:g} is not a whole number"
        if abs(number) > _INT_LIMIT:
            return f"{number:g} is too large for this field"
        return None

    def valueFromText(self, text: str) -> int:  # noqa: N802 - Qt override
        number = parse_number(text)
        return self.value() if number is None else int(number)


class _SpinEditor(ValueEditor):
    """Shared logic of int/float number boxes: steps within the spec's bounds, *inherit* below them.

    The box's own range is wide: a typed value outside the bounds reaches the
    model, which rejects it with pydantic's message (red field); it is never
    clamped to the bound without a word.
    """

    _limit: float = _INT_LIMIT
    _step: float = 1

    def _make_spin(self) -> QSpinBox | QDoubleSpinBox:
        raise NotImplementedError

    def _make_inner(self) -> QWidget:
        spin = self._make_spin()
        spin.bounds = (self.spec.minimum, self.spec.maximum)  # type: ignore[attr-defined]
        spin.on_rejected = self._on_spin_rejected  # type: ignore[attr-defined]
        self._typing_error: str | None = None
        self._model_error: str | None = None
        lo = -self._limit
        conv = int if isinstance(spin, QSpinBox) else float
        if self.spec.nullable:  # the box's minimum stands for "use the default"
            spin.setSpecialValueText(DEFAULT_WORD)
        spin.setRange(conv(lo), conv(self._limit))  # type: ignore[arg-type]
        spin.setKeyboardTracking(False)  # emit on Enter / focus-out / arrows, not per key
        spin.valueChanged.connect(self._emit)
        spin.editingFinished.connect(self._on_spin_editing_finished)
        return spin

    def _on_spin_rejected(self, reason: str) -> None:
        self._typing_error = reason
        super().set_error(reason)

    def _on_spin_editing_finished(self) -> None:
        if self._typing_error is not None:  # the refused keystroke is history once editing ends
            self._typing_error = None
            super().set_error(self._model_error)

    def set_error(self, message: str | None) -> None:  # docstring inherited
        self._model_error = message
        self._typing_error = None
        super().set_error(message)

    def set_inherited(self, value: Any) -> None:  # docstring inherited
        super().set_inherited(value)
        if self.spec.nullable:
            self.inner.setSpecialValueText(self._inherited)  # type: ignore[attr-defined]

    def _get(self) -> Any:
        v = self.inner.value()  # type: ignore[attr-defined]
        if self.spec.nullable and v == self.inner.minimum():  # type: ignore[attr-defined]
            return None
        return v

    def _set(self, value: Any) -> None:
        spin = self.inner
        spin.setValue(spin.minimum() if value is None else value)  # type: ignore[attr-defined]


class IntEditor(_SpinEditor):
    """``int`` in a number box; bounds from the field's ``ge``/``le`` (checked by the model)."""

    def _make_spin(self) -> QSpinBox:
        return IntSpinBox()


class FloatEditor(_SpinEditor):
    """``float`` in a number box (``1e-3`` accepted); bounds from ``ge``/``le`` (checked by the model).

    The hint ``significant`` (default 6) sets how many significant digits are shown.
    """

    _limit = 1e300
    _step = 0.1

    def _make_spin(self) -> QDoubleSpinBox:
        spin = NumberSpinBox(int(self.spec.hint.get("significant", 6)))
        spin.setSingleStep(float(self.spec.hint.get("step", 0.1)))
        return spin


class StrEditor(ValueEditor):
    """``str`` in a line edit; empty means ``None`` for a nullable field."""

    def _make_inner(self) -> QWidget:
        line = QLineEdit()
        line.editingFinished.connect(self._on_line_finished)
        self._last: Any = object()
        return line

    def _on_line_finished(self) -> None:
        value = self._get()
        if value != self._last or self._error:
            self._last = value
            self.valueChanged.emit(value)

    def _convert(self, text: str) -> Any:
        return text

    def _get(self) -> Any:
        text = self.inner.text()  # type: ignore[attr-defined]
        if self.spec.nullable and not text.strip():
            return None
        return self._convert(text)

    def _set(self, value: Any) -> None:
        self._last = value
        self.inner.setText("" if value is None else str(value))  # type: ignore[attr-defined]
        self.inner.setPlaceholderText(self._inherited if self.spec.nullable else "")  # type: ignore[attr-defined]


class PathEditor(StrEditor):
    """``Path`` in a line edit plus a browse button (folder unless hint ``mode="file"``)."""

    def __init__(self, spec: FieldSpec, parent: QWidget | None = None) -> None:
        super().__init__(spec, parent)
        self.browse_button = QToolButton(self)
        self.browse_button.setText("Browse…")
        self.browse_button.setToolTip(f"Choose {spec.title.lower()}")
        self.browse_button.clicked.connect(self._on_browse_clicked)
        self._layout.addWidget(self.browse_button)

    def _convert(self, text: str) -> Any:
        return Path(text.strip())

    def _on_browse_clicked(self) -> None:
        start = self.inner.text() or str(Path.home())  # type: ignore[attr-defined]
        if self.spec.hint.get("mode") == "file":
            chosen, _ = QFileDialog.getOpenFileName(self, self.spec.title, start)
        else:
            chosen = QFileDialog.getExistingDirectory(self, self.spec.title, start)
        if chosen:
            self.inner.setText(chosen)  # type: ignore[attr-defined]
            self._on_line_finished()


_EditorClass = type[ValueEditor]


class TypeMap:
    """Type → editor-class table with magicgui's lookup order.

    Parameters
    ----------
    registered
        Initial ``{type: editor class}`` entries (checked before built-in types).
    """

    def __init__(self, registered: dict[type, _EditorClass] | None = None) -> None:
        self._registered: dict[type, _EditorClass] = dict(registered or {})

    def register_type(self, tp: type, editor: _EditorClass) -> None:
        """Use ``editor`` for ``tp`` and its subclasses (overrides built-ins)."""
        self._registered[tp] = editor

    def copy(self) -> TypeMap:
        """An independent copy that can be extended without touching this map."""
        return TypeMap(self._registered)

    def editor_class(self, spec: FieldSpec) -> _EditorClass:
        """Pick the editor class for ``spec``.

        Raises
        ------
        UnsupportedTypeError
            When nothing matches; the message names the field and the type.
        """
        hint = spec.hint.get("widget")
        if inspect.isclass(hint) and issubclass(hint, ValueEditor):
            return hint
        tp = spec.annotation
        if inspect.isclass(tp):
            for registered, editor in self._registered.items():
                if issubclass(tp, registered):
                    return editor
        if spec.choices is not None:
            return ComboEditor
        simple: dict[Any, _EditorClass] = {bool: CheckEditor, int: IntEditor, float: FloatEditor, str: StrEditor}
        if tp in simple:
            return simple[tp]
        if is_path_type(tp):
            return PathEditor
        if inspect.isclass(tp):
            for base, editor in simple.items():
                if issubclass(tp, base):
                    return editor
        raise UnsupportedTypeError(
            f"Field {'.'.join(spec.path) or spec.name!r}: no editor for type {tp!r}."
        )

    def create(self, spec: FieldSpec, parent: QWidget | None = None) -> ValueEditor:
        """Build the editor for ``spec`` (see :meth:`editor_class`)."""
        return self.editor_class(spec)(spec, parent)


#: The default type map; copy it and ``register_type`` to add editors.
TYPE_MAP = TypeMap()
