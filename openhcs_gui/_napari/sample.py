"""npe2 sample data: the demo plate (``openhcs-gui demo``'s), written once into a cache folder."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

__all__ = ["demo_plate_folder", "demo_plate"]


def demo_plate_folder() -> Path:
    """Where the demo plate is cached: ``$XDG_CACHE_HOME/openhcs-gui/demo_plate`` (``~/.cache`` by default).

    The plate is written on first use (about 16 MB, a second or two) and reused after.
    """
    from openhcs_gui.plates import make_demo_plate

    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "openhcs-gui"
    cache.mkdir(parents=True, exist_ok=True)
    return make_demo_plate(cache / "demo_plate")


def demo_plate() -> list[tuple[Any, dict[str, Any], str]]:
    """Layers of the demo plate's first well (napari's File → Open Sample → OpenHCS demo plate)."""
    from openhcs_gui._napari.reader import plate_layers

    return plate_layers(demo_plate_folder())
