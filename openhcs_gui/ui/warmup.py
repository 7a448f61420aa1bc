"""Pay napari's one-time start-up costs on a worker, before the first click needs them.

The first layer napari adds builds pint's unit registry (layer scales carry
units): pint parses its whole definitions file, 0.3–1 s of pure Python, and
it did so on the GUI thread, so the window froze when the first well of a
plate opened. Here the registry is built on a worker right after the window
appears and installed, on the GUI thread, as pint's application registry.

A registry already in use is never replaced: units of two registries cannot
be compared, so the swap happens only while pint's default registry is still
the untouched lazy one (checked on the GUI thread, the only thread that makes
napari layers, so nothing can start using it between the check and the swap).
"""

from __future__ import annotations

from typing import Any

__all__ = ["unit_registry_needed", "build_unit_registry", "install_unit_registry", "prepare_napari"]


def unit_registry_needed() -> bool:
    """True while pint's application registry has not been built yet (nothing used it)."""
    import pint
    from pint.registry import LazyRegistry

    return type(pint.get_application_registry().get()) is LazyRegistry


def build_unit_registry() -> Any:
    """A fully built ``pint.UnitRegistry`` like pint's default (worker thread; touches no Qt)."""
    import pint

    registry = pint.UnitRegistry()
    registry.pixel  # noqa: B018 - resolves the unit napari asks for first
    return registry


def install_unit_registry(registry: Any) -> bool:
    """Make ``registry`` pint's application registry unless the default is already in use (GUI thread)."""
    import pint

    if not unit_registry_needed():
        return False
    pint.set_application_registry(registry)
    return True


def prepare_napari() -> Any:
    """Import napari and build the unit registry (worker thread): the desktop app's start.

    The window is shown before napari is imported (2-3 s of imports); the GUI
    thread then only builds the viewer. Returns the registry for
    :func:`install_unit_registry`.
    """
    from openhcs_gui.ui.viewer import import_napari

    import_napari()
    return build_unit_registry()
