"""The first well of a plate must not freeze the window while napari builds its unit registry.

napari's first layer used to build pint's unit registry on the GUI thread
(0.3–1 s; the longest single stall when a 1536-well plate opened). The main
window builds it on a worker as soon as it is shown.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pint
import pytest
from pint.registry import LazyRegistry

from openhcs_gui.ui import warmup

pytestmark = pytest.mark.gui


@pytest.fixture
def untouched_pint() -> Iterator[None]:
    """pint's default state of a fresh process: a lazy registry nothing has used."""
    before = pint.get_application_registry().get()
    pint.set_application_registry(LazyRegistry())
    yield
    pint.set_application_registry(before)


def test_the_window_builds_the_unit_registry_before_any_layer(untouched_pint, make_main_window, qtbot) -> None:
    assert warmup.unit_registry_needed()
    window = make_main_window(show=True)
    qtbot.waitUntil(lambda: not warmup.unit_registry_needed(), timeout=30_000)
    assert len(window.viewer.model.layers) == 0  # built by the warm-up, not by a layer
    registry = pint.get_application_registry().get()
    assert isinstance(registry, pint.UnitRegistry)
    layer = window.viewer.model.add_image(np.zeros((8, 8), np.uint16), name="first")
    assert pint.get_application_registry().get() is registry  # napari's layer uses the built one
    assert layer.units[0] == registry.pixel


def test_a_registry_in_use_is_never_replaced(untouched_pint) -> None:
    in_use = pint.get_application_registry().get()
    in_use.micrometer  # noqa: B018 - napari (or anyone) used the default registry
    assert not warmup.unit_registry_needed()
    assert warmup.install_unit_registry(warmup.build_unit_registry()) is False
    assert pint.get_application_registry().get() is in_use
