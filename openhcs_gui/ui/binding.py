"""Connect a widget to engine (psygnal) signals for exactly as long as it lives.

psygnal keeps only a weak reference to a bound method, but a Qt widget can be
deleted on the C++ side while its Python wrapper lingers; a later emission
would then call into a dead widget. :func:`listen` ties the connection to the
widget's ``destroyed`` signal, the napari ``qt_widget_controls_base`` rule:
views disconnect from their models when they go away.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject

__all__ = ["listen"]


def listen(owner: QObject, signal: Any, slot: Callable[..., Any]) -> None:
    """Connect ``slot`` to the psygnal ``signal`` until ``owner`` is destroyed.

    Parameters
    ----------
    owner
        The Qt object whose lifetime bounds the connection.
    signal
        A psygnal ``SignalInstance`` or ``SignalGroup`` (group: any member fires).
    slot
        Called with the signal's arguments (an ``EmissionInfo`` for a group).
    """
    signal.connect(slot)

    def _disconnect(*_: Any) -> None:
        signal.disconnect(slot)

    owner.destroyed.connect(_disconnect)
