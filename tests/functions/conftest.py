"""Fixtures for the function library: a small synthetic plate and a clean registry."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from openhcs_gui.functions import registry
from openhcs_gui.plates import PlateIndex, make_synthetic_plate, open_plate


@pytest.fixture(scope="module")
def small_plate(tmp_path_factory: pytest.TempPathFactory) -> PlateIndex:
    """6 wells × 3 sites × 2 channels × 3 z, 192² uint16 (counts span the dose curve)."""
    root = tmp_path_factory.mktemp("functions") / "plate"
    make_synthetic_plate(
        root, wells=["A01", "A02", "A03", "B01", "B02", "B03"], sites=3, channels=2, z=3,
        shape=(192, 192), seed=11,
    )
    return open_plate(root)


@pytest.fixture
def clean_registry() -> Iterator[None]:
    """Snapshot the registry so a test can register or reload plugins freely."""
    registry._ensure_loaded()
    saved = dict(registry._registry)
    errors = list(registry._plugin_errors)
    yield
    registry._registry.clear()
    registry._registry.update(saved)
    registry._plugin_errors[:] = errors
    registry._loaded = True
