"""Can this process show windows? Asked by the CLI before starting the GUI, and by the smoke test.

Engine-side (no Qt import): Qt aborts the whole process without a useful
message when it has no display, so callers check first and say so in one line.
"""

from __future__ import annotations

import os
import sys

__all__ = ["has_display"]


def has_display() -> bool:
    """True if Qt can show (or offscreen-render) windows here.

    Returns
    -------
    bool
        ``QT_QPA_PLATFORM=offscreen*`` counts as a display; on Linux a
        ``DISPLAY`` or ``WAYLAND_DISPLAY`` is needed; elsewhere there always is one.
    """
    if os.environ.get("QT_QPA_PLATFORM", "").startswith("offscreen"):
        return True
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True
