"""The form of the selected pipeline step: name, function, parameters, output options.

Name, ``force_disk_output`` and the ``backend`` override are the step's own
pydantic fields, so they use the generic :class:`ModelFormWidget`; the
function's parameters use :class:`KwargsFormWidget`, built from the
registered function's signature. A changed function replaces the step in the
pipeline (function and keyword arguments must change together to validate).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from pydantic import ValidationError
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QLabel, QVBoxLayout, QWidget

from openhcs_gui.constants import Component
from openhcs_gui.errors import OpenHCSError
from openhcs_gui.functions import get_function, list_functions, name_of
from openhcs_gui.pipeline import FunctionStep
from openhcs_gui.ui.binding import listen
from openhcs_gui.ui.docstrings import parameter_docs, summary_html
from openhcs_gui.ui.editors import FocusComboBox
from openhcs_gui.ui.forms import KwargsFormWidget, ModelFormWidget, validation_message
from openhcs_gui.ui.step_channels import (
    ChannelTargetWidget,
    GroupingWidget,
    channel_choices,
    channel_label,
)

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

    Above the parameters: which channels the step applies to (the plate's
    channel names), whether each channel gets its own function, and what
    varies inside one call (:mod:`~openhcs_gui.ui.step_channels`). A subset of
    channels, or per-channel functions, is the engine's dict-by-channel step
    (``func = {channel: (function, kwargs)}``); all channels with one function
    is a plain step again.

    Parameters
    ----------
    step
        The step to edit.
    inherited_backend
        Returns the backend the planner picks for this step while ``backend`` is
        ``None`` (shown as the combo's *inherit* text).
    parent
        Owning widget.
    channels
        Channel number -> name of the open plate (``{}``: no plate open).

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
        *,
        channels: Mapping[int, str] | None = None,
    ) -> None:
        super().__init__(parent)
        self.step = step
        self._inherited_backend = inherited_backend
        self._channels = channel_choices(None, self._entries() or ()) if not channels else dict(channels)
        self.per_channel_mode = False
        self._read_channel_mode()
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self.options = ModelFormWidget(
            step,
            fields=("name", "force_disk_output", "backend"),
            inherited=lambda _path: self._inherited_backend(),
            parent=self,
        )
        self.options.editors["force_disk_output"].inner.setText("also write to disk (checkpoint)")
        self.options.errors_changed.connect(self._on_form_errors_changed)
        self._body: QWidget | None = None
        self._writing = 0  # > 0 while this form changes the step (its own change needs no re-read)
        self._reread_pending = False
        self._build()
        self._layout.addWidget(self.options)
        self._layout.addStretch(1)
        listen(self, step.events, self._on_step_events)

    # -- reading the step ------------------------------------------------------
    def _entries(self) -> dict[int, Any] | None:
        """Channel -> ``(func, kwargs)`` (or the raw spec of a chain) for a dict step; ``None`` otherwise."""
        func = self.step.func
        if not isinstance(func, dict):
            return None
        out: dict[int, Any] = {}
        for channel in func:
            chain = self.step.chain_for(channel)
            out[channel] = chain[0] if chain is not None and len(chain) == 1 else func[channel]
        return out

    def _callable_and_kwargs(self) -> tuple[Any, dict[str, Any]]:
        """The step's one function and its kwargs (shared by every chosen channel); ``(None, {})`` otherwise.

        A step holds its keyword arguments either in ``step.kwargs`` or, as a
        loaded pipeline file gives it, in a ``(func, kwargs)`` pair.
        """
        func = self.step.func
        if isinstance(func, dict):
            shared = _shared(self._entries() or {})
            return shared if shared is not None else (None, {})
        if isinstance(func, tuple) and len(func) == 2 and callable(func[0]):
            return func[0], dict(func[1])
        if callable(func) and not isinstance(func, list):
            return func, dict(self.step.kwargs)
        return None, {}

    def _function_name(self) -> str | None:
        func, _ = self._callable_and_kwargs()
        return name_of(func) if func is not None else None

    def targeted(self) -> list[int] | None:
        """Channels the step applies to; ``None`` = every channel."""
        entries = self._entries()
        return None if entries is None else sorted(entries)

    # -- building ----------------------------------------------------------------
    def _build(self) -> None:
        """(Re)build everything above the output options from the step as it is now."""
        if self._body is not None:
            self._body.hide()
            self._body.deleteLater()
        body = self._body = QWidget(self)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(0, 0, 0, 0)
        self._layout.insertWidget(0, body)
        self._layout.activate()
        top = QFormLayout()
        top.setContentsMargins(0, 0, 0, 0)
        func, kwargs = (None, {}) if self.per_channel_mode else self._callable_and_kwargs()
        current = name_of(func) if func is not None else None
        self.function_combo = self._function_combo(current, "(different per channel)" if self.per_channel_mode
                                                   else "(chain — edit in the pipeline file)")
        self.function_combo.currentTextChanged.connect(self._on_function_combo_changed)
        top.addRow("Function", self.function_combo)
        targeted = self.targeted()
        self.channel_target = ChannelTargetWidget(self._channels, targeted, body)
        self.channel_target.changed.connect(self._on_channel_target_changed)
        top.addRow("Channels", self.channel_target)
        self.per_channel_box = QCheckBox("different settings per channel", body)
        self.per_channel_box.setChecked(self.per_channel_mode)
        self.per_channel_box.setEnabled(self.per_channel_mode or current is not None)
        self.per_channel_box.toggled.connect(self._on_per_channel_toggled)
        self.per_channel_box.setToolTip("Give each chosen channel its own function and parameters")
        top.addRow("", self.per_channel_box)
        disabled = (Component.CHANNEL,) if targeted is not None else ()
        self.grouping = GroupingWidget(self.step.variable_components, disabled, body)
        self.grouping.changed.connect(self._on_grouping_changed)
        top.addRow("Each call gets", self.grouping)
        layout.addLayout(top)
        doc = get_function(current).func.__doc__ if current else None
        # Rich text: the docstring's RST (``sigma``) shown as code, not backticks.
        self.doc_label = QLabel(summary_html(doc), body)
        self.doc_label.setTextFormat(Qt.TextFormat.RichText)
        self.doc_label.setWordWrap(True)
        self.doc_label.setStyleSheet("color: #9aa0a6;")
        layout.addWidget(self.doc_label)
        self.kwargs_form: KwargsFormWidget | None = None
        self.channel_forms: dict[int, KwargsFormWidget] = {}
        self.channel_combos: dict[int, QComboBox] = {}
        if self.per_channel_mode:
            self._build_per_channel(layout)
        elif current is not None and get_function(current).parameters:
            self.kwargs_form = self._kwargs_form(current, kwargs, body)
            self.kwargs_form.kwargs_changed.connect(self._on_kwargs_form_changed)
            layout.addWidget(QLabel("<b>Parameters</b>", body))
            layout.addWidget(self.kwargs_form)

    def _function_combo(self, current: str | None, placeholder: str) -> QComboBox:
        combo = FocusComboBox(self._body)
        combo.addItems([f.name for f in list_functions()])
        if current is None:
            combo.insertItem(0, placeholder)
            combo.setEnabled(False)
            combo.setCurrentIndex(0)
        else:
            combo.setCurrentText(current)
        return combo

    def _kwargs_form(self, function_name: str, kwargs: Mapping[str, Any], parent: QWidget) -> KwargsFormWidget:
        reg = get_function(function_name)
        form = KwargsFormWidget(reg.parameters, kwargs, docs=parameter_docs(reg.func.__doc__), parent=parent)
        form.form.errors_changed.connect(self._on_form_errors_changed)
        return form

    def _build_per_channel(self, layout: QVBoxLayout) -> None:
        for channel, entry in (self._entries() or {}).items():
            layout.addWidget(QLabel(f"<b>{channel_label(channel, self._channels.get(channel, ''))}</b>", self._body))
            if not (isinstance(entry, tuple) and callable(entry[0])):
                layout.addWidget(QLabel("(chain — edit in the pipeline file)", self._body))
                continue
            func, kwargs = entry
            combo = self._function_combo(name_of(func), "(unregistered function)")
            combo.currentTextChanged.connect(partial(self._on_channel_function_changed, channel))
            layout.addWidget(combo)
            self.channel_combos[channel] = combo
            name = name_of(func)
            if name is not None and get_function(name).parameters:
                form = self._kwargs_form(name, kwargs, self._body)  # type: ignore[arg-type]
                form.kwargs_changed.connect(partial(self._on_channel_kwargs_changed, channel))
                layout.addWidget(form)
                self.channel_forms[channel] = form

    def errors(self) -> dict[str, str]:
        """Invalid values shown in this form, keyed ``"<step> › <field>"``."""
        errors = dict(self.options.errors())
        for form in [self.kwargs_form, *self.channel_forms.values()]:
            if form is not None:
                errors.update(form.form.errors())
        return {f"{self.step.name} › {field}": message for field, message in errors.items()}

    def refresh_inherited(self) -> None:
        """Re-read the planner's backend for the *inherit* text."""
        self.options.refresh_inherited()

    # -- writing the step ----------------------------------------------------------
    def _write(self, change: Callable[[], None], rebuild: bool = True) -> None:
        self._writing += 1
        try:
            change()
        except (ValidationError, ValueError, OpenHCSError) as e:
            self.message.emit(f"Step {self.step.name!r}: {validation_message(e)}")
        finally:
            self._writing -= 1
        if rebuild:
            self._build()

    def _on_step_events(self, info: Any) -> None:
        """Re-read a step changed elsewhere (a script, napari's console): never show a value it does not hold.

        The output options follow the step by their own binding; several
        changes in one go are re-read once, on the next event-loop turn.
        """
        if self._writing or info.signal.name not in _BODY_FIELDS or self._reread_pending:
            return
        self._reread_pending = True
        QTimer.singleShot(0, self, self._reread_step)

    def _reread_step(self) -> None:
        self._reread_pending = False
        self._read_channel_mode()
        self._build()

    def _read_channel_mode(self) -> None:
        """Per-channel mode, and every channel the step names among the choices, from the step as it is."""
        entries = self._entries()
        for c in entries or ():
            self._channels.setdefault(c, "")
        self.per_channel_mode = entries is not None and _shared(entries) is None

    def _on_form_errors_changed(self, *_: object) -> None:
        self.errors_changed.emit(self.errors())

    def _on_channel_target_changed(self, chosen: list[int]) -> None:
        entries = self._entries()
        func, kwargs = self._callable_and_kwargs()
        if not self.per_channel_mode and func is not None and set(chosen) == set(self._channels):
            self._write(lambda: self._set_single(func, kwargs))
            return
        if self.per_channel_mode and entries:
            template = next(iter(entries.values()))
            new = {c: entries.get(c, template) for c in chosen}
        elif func is not None:
            new = {c: (func, dict(kwargs)) for c in chosen}
        else:
            return
        self._write(lambda: self._set_dict(new))

    def _set_single(self, func: Any, kwargs: dict[str, Any]) -> None:
        self.step.set_function(func, **kwargs)
        self.step.group_by = None

    def _set_dict(self, entries: dict[int, Any]) -> None:
        if Component.CHANNEL in self.step.variable_components:  # one call holds one channel now
            rest = tuple(c for c in self.step.variable_components if c is not Component.CHANNEL)
            self.step.variable_components = rest or (Component.SITE,)
        if isinstance(self.step.func, dict):
            self.step.func = entries
        else:
            self.step.set_function(entries)

    def _on_per_channel_toggled(self, on: bool) -> None:
        func, kwargs = self._callable_and_kwargs()
        if on:
            self.per_channel_mode = True
            if not isinstance(self.step.func, dict) and func is not None:
                self._write(lambda: self._set_dict({c: (func, dict(kwargs)) for c in self._channels}))
            else:
                self._build()
            return
        entries = self._entries() or {}
        first = next((e for e in entries.values() if isinstance(e, tuple)), None)
        self.per_channel_mode = False
        if first is None:
            self._build()
            return
        same = {c: (first[0], dict(first[1])) for c in entries}
        self._write(lambda: self._set_single(*first) if set(entries) == set(self._channels)
                    else self._set_dict(same))

    def _on_grouping_changed(self, components: tuple[Component, ...]) -> None:
        def change() -> None:
            self.step.variable_components = components
        self._write(change, rebuild=False)

    def _on_channel_function_changed(self, channel: int, function_name: str) -> None:
        reg = get_function(function_name)
        new = dict(self._entries() or {})
        new[channel] = (reg.func, reg.defaults())
        self._write(lambda: self._set_dict(new))

    def _on_channel_kwargs_changed(self, channel: int, kwargs: dict[str, Any]) -> None:
        new = dict(self._entries() or {})
        new[channel] = (new[channel][0], kwargs)
        self._write(lambda: self._set_dict(new), rebuild=False)

    def _on_function_combo_changed(self, function_name: str) -> None:
        old = self.step
        try:
            new = make_step(
                function_name,
                function_name if old.name == self._function_name() else old.name,
                force_disk_output=old.force_disk_output,
                backend=old.backend,
            )
            targeted = self.targeted()
            if targeted is not None:
                func, kwargs = new.func, dict(new.kwargs)
                new.variable_components = tuple(c for c in new.variable_components
                                                if c is not Component.CHANNEL) or (Component.SITE,)
                new.set_function({c: (func, dict(kwargs)) for c in targeted})
        except (OpenHCSError, ValueError) as e:
            self.message.emit(str(e))
            return
        self.function_changed.emit(old, new)

    def _on_kwargs_form_changed(self, kwargs: dict[str, Any]) -> None:
        self._writing += 1
        try:
            if isinstance(self.step.func, dict):
                func = self._callable_and_kwargs()[0]
                self.step.func = {c: (func, dict(kwargs)) for c in self.step.func}
            elif isinstance(self.step.func, tuple):
                self.step.func = (self.step.func[0], kwargs)
            else:
                self.step.kwargs = kwargs
        except (ValidationError, ValueError) as e:
            self.message.emit(f"Step {self.step.name!r}: {validation_message(e)}")
        finally:
            self._writing -= 1


#: Step fields the form's body shows (name and output options have their own binding).
_BODY_FIELDS = frozenset({"func", "kwargs", "variable_components", "group_by"})


def _shared(entries: Mapping[int, Any]) -> tuple[Any, dict[str, Any]] | None:
    """The one ``(func, kwargs)`` every channel of a dict step uses, or ``None`` when they differ."""
    values = list(entries.values())
    if not values or not all(isinstance(v, tuple) and len(v) == 2 and callable(v[0]) for v in values):
        return None
    first = values[0]
    if all(v[0] is first[0] and dict(v[1]) == dict(first[1]) for v in values):
        return first[0], dict(first[1])
    return None
