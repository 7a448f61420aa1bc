"""The Config dock: the generated form for ``GlobalPipelineConfig``.

Inherited (``None``) fields show the value they resolve to, computed by the
engine's :func:`~openhcs_gui.config.effective_value` — and, for the output
folder, by :func:`~openhcs_gui.config.effective_materialization` with the open
plate, so the placeholder reads the real folder results will go to.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QScrollArea, QVBoxLayout, QWidget

from openhcs_gui.config import effective_materialization, effective_value
from openhcs_gui.errors import OpenHCSError
from openhcs_gui.pipeline.workspace import workspace_base
from openhcs_gui.ui.forms import ModelFormWidget
from openhcs_gui.ui.session import Session

__all__ = ["ConfigPanel"]

_OUTPUT_PATH = ("materialization_defaults", "output_path")
#: What a scientist sets most, first; storage details follow under "Advanced" (field hints).
_ORDER = ("num_workers", "keep_intermediates", "vfs", "materialization_defaults", "zarr")


class ConfigPanel(QWidget):
    """Scrollable, two-way bound form over the session's config.

    Parameters
    ----------
    session
        Supplies the config (edited in place) and the open plate.
    parent
        Owning widget.

    Attributes
    ----------
    config_changed
        ``(field path, value)`` after any accepted change.
    """

    config_changed = Signal(tuple, object)

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._session = session
        self.form = ModelFormWidget(session.cfg, inherited=self._resolve_inherited, fields=_ORDER, parent=self)
        self.form.value_changed.connect(self.config_changed)
        hint = QLabel(
            "Grey values are defaults; ↺ puts a field back to its default. "
            "Storage details are under Advanced.", self
        )
        hint.setWordWrap(True)
        hint.setStyleSheet("color: #9aa0a6;")
        self.scroll = scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(self.form)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(hint)
        layout.addWidget(scroll, 1)
        session.plate_changed.connect(self._on_session_plate_changed)

    def _resolve_inherited(self, path: tuple[str, ...]) -> Any:
        cfg = self._session.cfg
        if path == _OUTPUT_PATH:
            plate = self._session.plate
            if plate is None:
                root = effective_materialization(cfg, None)
                return root.output_root if root.output_root is not None else "next to the plate"
            try:  # the folder the run will really use (beside the plate's root, not its Images/ folder)
                return workspace_base(plate, cfg).parent
            except OpenHCSError as e:
                return str(e)
        return effective_value(cfg, path)

    def _on_session_plate_changed(self, _plate: Any) -> None:
        self.form.refresh_inherited()
