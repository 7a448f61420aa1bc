"""The desktop application (PySide6 + embedded napari); the only package that imports Qt.

Import :mod:`openhcs_gui.ui.app` to start it; the engine never imports this package.
"""

from __future__ import annotations

__all__ = ["main", "create_main_window"]


def __getattr__(name: str) -> object:
    if name in __all__:
        from openhcs_gui.ui import app

        return getattr(app, name)
    raise AttributeError(f"module 'openhcs_gui.ui' has no attribute {name!r}")
