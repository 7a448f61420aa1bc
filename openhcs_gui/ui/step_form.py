"""The form of the selected pipeline step: name, function, parameters, output options.

Name, ``force_disk_output`` and the ``backend`` override are the step's own
pydantic fields, so they use the generic :class:`ModelFormWidget`; the
function's parameters use :class:`KwargsFormWidget`, built from the
registered function's signature. A changed function replaces the step in the
pipeline (function and keyword arguments must change together to validate).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import ValidationError
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QFormLayout, QLabel, QVBoxLayout, QWidget

from openhcs_gui.errors import OpenHCSError
from openhcs_gui.functions import get_function, list_functions, name_of
from openhcs_gui.pipeline import FunctionStep
from openhcs_gui.ui.docstrings import parameter_docs, summary_html
from openhcs_gui.ui.forms import KwargsFormWidget, ModelFormWidget, validation_message

__all__ = ["StepFormWidget", "make_step"]


def make_step(function_name: str, name: str | None = None, **options: Any) -> FunctionStep:
    """A new step for a registered function, with its default parameters.

    The function's ``default_variable_components`` (e.g. z for a projection) are
    used so a step added from the library groups its images the way the function needs.
    """
    reg = get_function(function_name)
    if reg.default_variable_components:
        options.setdefault("variable_components", reg.default_variable_components)
    return FunctionStep(reg.func, name or reg.name, **options, **reg.defaults())


class StepFormWidget(QWidget):
    """Editor of one step; writes every edit straight to the step.

    Parameters
    ----------
    step
        The step to edit.
    inherited_backend
        Returns the backend the planner picks for this step while ``backend`` is
        ``None`` (shown as the combo's *inherit* text).
    parent
        Owning widget.

    Attributes
    ----------
    function_changed
        ``(old step, new step)`` when the user picked another function; the
        owner swaps the step in the pipeline.
    message
        A user-facing problem (invalid parameter) to show in the status bar.
    """

    function_changed = Signal(object, object)
    message = Signal(str)
    #: ``{"step › field": message}`` of every invalid value the form shows (``{}``: all valid).
    errors_changed = Signal(dict)

    def __init__(
        self,
        step: FunctionStep,
        inherited_backend: Callable[[], Any],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.step = step
        self._inherited_backend = inherited_backend
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.options = ModelFormWidget(
            step,
            fields=("name", "force_disk_output", "backend"),
            inherited=lambda _path: self._inherited_backend(),
            parent=self,
        )
        self.options.editors["force_disk_output"].inner.setText("also write to disk (checkpoint)")
        self.options.errors_changed.connect(self._on_form_errors_changed)
        top = QFormLayout()
        top.setContentsMargins(0, 0, 0, 0)
        self.function_combo = QComboBox(self)
        func, kwargs = self._callable_and_kwargs()
        current = name_of(func) if func is not None else None
        self.function_combo.addItems([f.name for f in list_functions()])
        if current is None:
            self.function_combo.insertItem(0, "(chain — edit in the pipeline file)")
            self.function_combo.setEnabled(False)
            self.function_combo.setCurrentIndex(0)
        else:
            self.function_combo.setCurrentText(current)
        self.function_combo.currentTextChanged.connect(self._on_function_combo_changed)
        top.addRow("Function", self.function_combo)
        layout.addLayout(top)
        doc = get_function(current).func.__doc__ if current else None
        # Rich text: the docstring's RST (``sigma``) shown as code, not backticks.
        self.doc_label = QLabel(summary_html(doc), self)
        self.doc_label.setTextFormat(Qt.TextFormat.RichText)
        self.doc_label.setWordWrap(True)
        self.doc_label.setStyleSheet("color: #9aa0a6;")
        layout.addWidget(self.doc_label)
        layout.addWidget(self.options)
        self.kwargs_form: KwargsFormWidget | None = None
        if current is not None and get_function(current).parameters:
            self.kwargs_form = KwargsFormWidget(
                get_function(current).parameters, kwargs, docs=parameter_docs(doc), parent=self
            )
            self.kwargs_form.kwargs_changed.connect(self._on_kwargs_form_changed)
            self.kwargs_form.form.errors_changed.connect(self._on_form_errors_changed)
            params_title = QLabel("<b>Parameters</b>", self)
            layout.addWidget(params_title)
            layout.addWidget(self.kwargs_form)
        layout.addStretch(1)

    def errors(self) -> dict[str, str]:
        """Invalid values shown in this form, keyed ``"<step> › <field>"``."""
        errors = dict(self.options.errors())
        if self.kwargs_form is not None:
            errors.update(self.kwargs_form.form.errors())
        return {f"{self.step.name} › {field}": message for field, message in errors.items()}

    def _on_form_errors_changed(self, *_: object) -> None:
        self.errors_changed.emit(self.errors())

    def _callable_and_kwargs(self) -> tuple[Any, dict[str, Any]]:
        """The step's one function and its kwargs; ``(None, {})`` for a chain or per-channel dict.

        A step holds its keyword arguments either in ``step.kwargs`` or, as a
        loaded pipeline file gives it, in a ``(func, kwargs)`` pair.
        """
        func = self.step.func
        if isinstance(func, tuple) and len(func) == 2 and callable(func[0]):
            return func[0], dict(func[1])
        if callable(func) and not isinstance(func, list | dict):
            return func, dict(self.step.kwargs)
        return None, {}

    def _function_name(self) -> str | None:
        func, _ = self._callable_and_kwargs()
        return name_of(func) if func is not None else None

    def refresh_inherited(self) -> None:
        """Re-read the planner's backend for the *inherit* text."""
        self.options.refresh_inherited()

    def _on_function_combo_changed(self, function_name: str) -> None:
        old = self.step
        try:
            new = make_step(
                function_name,
                function_name if old.name == self._function_name() else old.name,
                force_disk_output=old.force_disk_output,
                backend=old.backend,
            )
        except (OpenHCSError, ValueError) as e:
            self.message.emit(str(e))
            return
        self.function_changed.emit(old, new)

    def _on_kwargs_form_changed(self, kwargs: dict[str, Any]) -> None:
        try:
            if isinstance(self.step.func, tuple):
                self.step.func = (self.step.func[0], kwargs)
            else:
                self.step.kwargs = kwargs
        except (ValidationError, ValueError) as e:
            self.message.emit(f"Step {self.step.name!r}: {validation_message(e)}")
