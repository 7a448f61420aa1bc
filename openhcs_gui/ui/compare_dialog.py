"""Compare side by side: two wells, or one well before/after a step, in napari's grid mode.

A positive and a negative control (A01 vs B03), or the input and output of one
step, are shown as two viewboxes of napari's grid with one camera (pan or zoom
one side and the other follows) and, per channel, the same contrast limits on
both sides (``ViewerWidget.show_side_by_side``), so equal intensities look equal.

The images come from the live-preview engine (:class:`~openhcs_gui.pipeline.preview.Preview`):
one site, computed in memory up to the chosen step, so comparing needs no run
and writes nothing. :func:`compare_layers` is the worker function; the
:class:`CompareDialog` only asks what to compare (a modal question, STYLE rule 11).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QRadioButton,
    QSpinBox,
    QWidget,
)

from openhcs_gui.pipeline.preview import INPUT_INDEX, Preview, PreviewOutput
from openhcs_gui.ui.preview_panel import preview_layers
from openhcs_gui.ui.viewer import LayerSpec

__all__ = ["CompareDialog", "compare_layers", "WELLS", "BEFORE_AFTER"]

#: Compare two wells at the same step.
WELLS = "wells"
#: Compare one well's input and output of a step.
BEFORE_AFTER = "before_after"


def _output(preview: Preview, steps: Sequence[Any], index: int) -> PreviewOutput:
    if index == INPUT_INDEX:
        return preview.inputs()
    return preview.run_from(list(steps[: index + 1]))[index]


def _named(specs: list[LayerSpec], title: str, plate: Any) -> list[LayerSpec]:
    names = dict(getattr(plate, "channel_names", {}) or {})
    for spec in specs:
        channel = spec.metadata["channel"]
        spec.name = f"{title} {names.get(channel) or f'channel {channel}'}"
        spec.metadata["source"] = "compare"
    return specs


def _step_title(steps: Sequence[Any], index: int) -> str:
    return "raw" if index == INPUT_INDEX else f"{index + 1}.{steps[index].name}"


def compare_layers(
    plate: Any, steps: Sequence[Any], mode: str, wells: tuple[str, str], step_index: int, site: int = 1,
) -> tuple[list[LayerSpec], list[LayerSpec]]:
    """Left and right layers to compare (worker thread; computes in memory, writes nothing).

    Parameters
    ----------
    plate
        The open ``PlateIndex``.
    steps
        The pipeline's steps (a snapshot).
    mode
        :data:`WELLS`: ``wells[0]`` vs ``wells[1]`` at ``step_index``;
        :data:`BEFORE_AFTER`: ``wells[0]`` before (the step's input) vs after ``step_index``.
    step_index
        ``-1`` for the raw images, else a 0-based step.
    site
        The site compared.

    Returns
    -------
    tuple of list of LayerSpec
        ``(left, right)``, one layer per channel each, named ``"<well> <step> <channel>"``.

    Raises
    ------
    ValueError
        For an unknown mode or a ``BEFORE_AFTER`` of the raw images (nothing before them).
    """
    if mode == WELLS:
        sides = [(w, step_index) for w in wells]
    elif mode == BEFORE_AFTER:
        if step_index == INPUT_INDEX:
            raise ValueError("Compare before/after: choose a step (the raw images have no 'before').")
        sides = [(wells[0], step_index - 1), (wells[0], step_index)]
    else:
        raise ValueError(f"Compare: unknown mode {mode!r} (use {WELLS!r} or {BEFORE_AFTER!r}).")
    previews: dict[str, Preview] = {}
    out = []
    for well, index in sides:
        preview = previews.setdefault(well, Preview(plate, well, site))
        layers = preview_layers(_output(preview, steps, index), plate, well, site)
        out.append(_named(layers, f"{well} {_step_title(steps, index)}", plate))
    return out[0], out[1]


class CompareDialog(QDialog):
    """Ask what to compare: two wells at a step, or one well before/after a step.

    Parameters
    ----------
    wells
        The plate's wells.
    steps
        Step names, first to last.
    sites
        The plate's sites.
    parent
        The main window.
    """

    def __init__(self, wells: Sequence[str], steps: Sequence[str], sites: Sequence[int],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Compare side by side")
        self.wells_radio = QRadioButton("Two wells", self)
        self.before_after_radio = QRadioButton("One well, before / after a step", self)
        self.wells_radio.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.wells_radio)
        group.addButton(self.before_after_radio)
        self.well_a = QComboBox(self)
        self.well_b = QComboBox(self)
        for combo in (self.well_a, self.well_b):
            combo.addItems(list(wells))
        if len(wells) > 1:
            self.well_b.setCurrentIndex(len(wells) - 1)
        self.step = QComboBox(self)
        self.step.addItem("raw images", INPUT_INDEX)
        for i, name in enumerate(steps):
            self.step.addItem(f"{i + 1}. {name}", i)
        self.site = QSpinBox(self)
        self.site.setRange(min(sites, default=1), max(sites, default=1))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel,
                                   parent=self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.before_after_radio.toggled.connect(self._on_mode_toggled)
        form = QFormLayout(self)
        form.addRow(self.wells_radio)
        form.addRow(self.before_after_radio)
        form.addRow("Well", self.well_a)
        form.addRow("Against well", self.well_b)
        form.addRow("Step", self.step)
        form.addRow("Site", self.site)
        form.addRow(buttons)

    def _on_mode_toggled(self, before_after: bool) -> None:
        self.well_b.setEnabled(not before_after)
        if before_after and self.step.currentData() == INPUT_INDEX and self.step.count() > 1:
            self.step.setCurrentIndex(1)

    def choice(self) -> dict[str, Any]:
        """Keyword arguments for :func:`compare_layers` (besides plate and steps)."""
        return {
            "mode": BEFORE_AFTER if self.before_after_radio.isChecked() else WELLS,
            "wells": (self.well_a.currentText(), self.well_b.currentText()),
            "step_index": int(self.step.currentData()),
            "site": self.site.value(),
        }
