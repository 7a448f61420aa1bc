"""Shared pytest set-up. Room-specific fixtures live in each tests/<room>/conftest.py."""

from __future__ import annotations

import os

# Qt must find a display: pytest-xvfb starts Xvfb and sets DISPLAY before tests run.
# Keep napari from writing settings into the user's real home during tests.
os.environ.setdefault("NAPARI_CONFIG", os.path.join(os.path.dirname(__file__), ".napari_test_settings.yaml"))
