"""Pay napari's one-time start-up costs on a worker, before the first click needs them.

The first layer napari adds builds pint's unit registry (layer scales carry
units): pint parses its whole definitions file, 0.3–1 s of pure Python, and
it did so on the GUI thread, so the window froze when the first well of a
plate opened. Here the registry is built on a worker right after the window
appears and installed, on the GUI thread, as pint's application registry.

The first image and labels layers also import, lazily and on the GUI thread,
about 540 modules napari needs for them (pandas for layer features, parts of
scipy and scikit-image, PyOpenGL's array handlers): 0.8 s of the first well's
freeze on this machine. :func:`preload_layer_modules` imports them on the worker.

The import and the unit registry are made with the cyclic collector paused,
and what they made is frozen at once (:func:`prepare_napari`). Once all that
is loaded, :func:`freeze_startup_heap` puts the ~280 000 objects of napari,
Qt and numpy out of the garbage collector's sight: a full collection
walked them all, 135 ms with the GUI thread stopped, and one fell due while a
1536-well plate opened (its scan allocates ~170 000 objects). They live as long
as the process anyway.

A registry already in use is never replaced: units of two registries cannot
be compared, so the swap happens only while pint's default registry is still
the untouched lazy one (checked on the GUI thread, the only thread that makes
napari layers, so nothing can start using it between the check and the swap).
"""

from __future__ import annotations

import contextlib
import gc
import importlib
from typing import Any

__all__ = ["unit_registry_needed", "build_unit_registry", "install_unit_registry", "prepare_napari",
           "preload_layer_modules", "LAYER_MODULES"]

#: What napari imports lazily when its first image and labels layers are added and drawn
#: (found by diffing ``sys.modules`` around the first ``add_image`` / ``add_labels``; a
#: test repeats that diff so a napari upgrade that changes the list is noticed).
LAYER_MODULES: tuple[str, ...] = (
    "pandas",  # layer features tables
    "scipy.ndimage", "scipy.linalg",
    "skimage.exposure", "skimage.color", "skimage.color.colorconv", "skimage.util",
    "napari.components.histogram",
    "OpenGL.arrays.ctypesarrays", "OpenGL.arrays.ctypespointers", "OpenGL.arrays.nones",
    "OpenGL.arrays.strings",  # vispy's first draw
)


def unit_registry_needed() -> bool:
    """True while pint's application registry has not been built yet (nothing used it)."""
    import pint
    from pint.registry import LazyRegistry

    return type(pint.get_application_registry().get()) is LazyRegistry


def preload_layer_modules() -> None:
    """Import :data:`LAYER_MODULES` (worker thread): the first layer then imports nothing.

    A module missing from this install (another napari or PyOpenGL version) is
    skipped: it is only a head start, never a requirement.
    """
    for name in LAYER_MODULES:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)


def freeze_startup_heap() -> None:
    """Leave every object alive now out of future full collections (``gc.freeze``; GUI thread).

    Called when napari and its layer modules are loaded: those objects are
    never freed, and walking them is what made a full collection a 135 ms
    freeze. Objects made later (plates, layers, results) are collected as before;
    ``gc.freeze`` only moves lists, so calling it again costs nothing.
    """
    gc.freeze()


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

    # No cyclic collection during the import: with the heap growing by thousands of
    # objects per module, full collections walked it twice (44-104 ms with every
    # thread stopped, the window included); what the import makes lives as long as
    # the process, so it is frozen out of later walks instead of collected now.
    # The unit registry is made here too, so the viewer is then built on a frozen heap.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        import_napari()
        registry = build_unit_registry()
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()
    return registry
