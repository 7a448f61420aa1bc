"""Which channels a step applies to, and what varies inside one function call, as plain choices.

Two small editors the step form puts above a step's parameters:

* :class:`ChannelTargetWidget` — one check box per channel of the open plate,
  labelled with the plate's channel names (``1 · DAPI``). All checked means
  the step's function runs on every channel; a subset turns the step into the
  engine's per-channel form (``func = {channel: (function, kwargs)}``,
  ``group_by="channel"``): unchecked channels pass through unchanged.
* :class:`GroupingWidget` — the step's ``variable_components`` as check boxes
  ("sites", "channels", "z-planes", "time points") and one sentence that says
  what a call then receives.

Both only display and report choices; the step form writes them to the step.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QGridLayout, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from openhcs_gui.constants import Component
from openhcs_gui.pipeline.step import GROUP_AXES

__all__ = ["ChannelTargetWidget", "GroupingWidget", "channel_choices", "channel_label", "grouping_sentence"]

#: Plain words for each axis a call can stack over (plural, as in "a stack of its sites").
AXIS_WORDS: dict[Component, str] = {
    Component.SITE: "sites",
    Component.CHANNEL: "channels",
    Component.Z: "z-planes",
    Component.TIME: "time points",
}


def channel_choices(plate: Any, known: Iterable[int] = ()) -> dict[int, str]:
    """Channel number -> name for the check boxes: the plate's channels (named where it knows),
    plus any channel a step already names (``known``) that the plate lacks."""
    names: Mapping[int, str] = getattr(plate, "channel_names", {}) or {}
    channels = list(getattr(plate, "channels", []) or [])
    out = {int(c): names.get(c) or "" for c in channels}
    for c in known:
        out.setdefault(int(c), "")
    return dict(sorted(out.items()))


def channel_label(channel: int, name: str) -> str:
    """``1 · DAPI`` (or ``channel 1`` when the plate records no name)."""
    return f"{channel} · {name}" if name else f"channel {channel}"


def grouping_sentence(components: Iterable[Component]) -> str:
    """What one call receives, e.g. "One call per well × channel × z-plane; each call gets a stack of its sites"."""
    varying = [c for c in GROUP_AXES if c in set(components)]
    fixed = [c for c in GROUP_AXES if c not in varying]
    per = " × ".join(["well", *(AXIS_WORDS[c].removesuffix("s")
                                for c in fixed)])
    stack = " × ".join(AXIS_WORDS[c] for c in varying) or "images"
    return f"One call per {per}; each call gets a stack of its {stack}."


class ChannelTargetWidget(QWidget):
    """A check box per channel; ``changed`` gives the checked channel numbers.

    Parameters
    ----------
    channels
        Channel number -> name (:func:`channel_choices`).
    checked
        Channels the step applies to now (``None``: all).
    parent
        Owning widget.
    """

    changed = Signal(list)

    def __init__(self, channels: Mapping[int, str], checked: Iterable[int] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        chosen = set(channels) if checked is None else set(checked)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.boxes: dict[int, QCheckBox] = {}
        for channel, name in channels.items():
            box = QCheckBox(channel_label(channel, name), self)
            box.setChecked(channel in chosen)
            box.setToolTip(f"Apply this step to {channel_label(channel, name)}; unchecked channels pass "
                           "through unchanged.")
            box.toggled.connect(self._on_box_toggled)
            layout.addWidget(box)
            self.boxes[channel] = box
        if not channels:
            layout.addWidget(QLabel("all channels (open a plate to choose)", self))
        layout.addStretch(1)

    def checked(self) -> list[int]:
        """Checked channel numbers, ascending."""
        return [c for c, box in self.boxes.items() if box.isChecked()]

    def _on_box_toggled(self, _on: bool) -> None:
        chosen = self.checked()
        if not chosen:  # a step applies to at least one channel: keep the last box on
            sender = self.sender()
            if isinstance(sender, QCheckBox):
                sender.blockSignals(True)
                sender.setChecked(True)
                sender.blockSignals(False)
            return
        self.changed.emit(chosen)


class GroupingWidget(QWidget):
    """``variable_components`` as check boxes plus the sentence that explains them.

    Parameters
    ----------
    components
        The step's ``variable_components``.
    disabled
        Axes that cannot vary inside a call here (the channel, when the step
        picks its function by channel); shown but not checkable.
    parent
        Owning widget.
    """

    changed = Signal(tuple)

    def __init__(self, components: Iterable[Component], disabled: Iterable[Component] = (),
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        current = set(components)
        off = set(disabled)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        row = QGridLayout()  # two per row: the step form is a narrow dock
        row.setContentsMargins(0, 0, 0, 0)
        self.boxes: dict[Component, QCheckBox] = {}
        for i, axis in enumerate(GROUP_AXES):
            box = QCheckBox(AXIS_WORDS[axis], self)
            box.setChecked(axis in current)
            box.setEnabled(axis not in off)
            if axis in off:
                box.setToolTip("The step picks its function per channel, so one call holds one channel.")
            box.toggled.connect(self._on_box_toggled)
            row.addWidget(box, i // 2, i % 2)
            self.boxes[axis] = box
        outer.addLayout(row)
        self.sentence = QLabel(grouping_sentence(current), self)
        self.sentence.setWordWrap(True)
        self.sentence.setStyleSheet("color: #9aa0a6;")
        outer.addWidget(self.sentence)

    def components(self) -> tuple[Component, ...]:
        """Checked axes in key order."""
        return tuple(a for a, box in self.boxes.items() if box.isChecked())

    def _on_box_toggled(self, _on: bool) -> None:
        chosen = self.components()
        if not chosen:  # at least one axis varies inside a call
            sender = self.sender()
            if isinstance(sender, QCheckBox):
                sender.blockSignals(True)
                sender.setChecked(True)
                sender.blockSignals(False)
            return
        self.sentence.setText(grouping_sentence(chosen))
        self.changed.emit(chosen)
