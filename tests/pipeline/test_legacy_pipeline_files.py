"""A pipeline saved by an earlier version opens and computes what it computed then.

``data_demo_pipeline_v0_1.json`` is the demo pipeline file as version 0.1
shipped it (``radius`` for the background, ``typical_diameter`` in pixels for
nuclei), byte for byte.
"""

from __future__ import annotations

import logging
from pathlib import Path

from openhcs_gui.functions.context import with_context
from openhcs_gui.functions.filters import background_radius
from openhcs_gui.metadata import PlateMetadata
from openhcs_gui.pipeline import load_pipeline

OLD_FILE = Path(__file__).with_name("data_demo_pipeline_v0_1.json")


def test_old_demo_pipeline_loads_with_its_pixel_lengths_kept(caplog) -> None:
    with caplog.at_level(logging.WARNING):
        pipeline = load_pipeline(OLD_FILE)
    background, count = pipeline.steps[1], pipeline.steps[2]
    assert background.kwargs["object_diameter_px"] == 14.0
    assert "radius" not in background.kwargs
    assert count.kwargs["diameter_px"] == 14.0
    assert "typical_diameter" not in count.kwargs
    warned = " ".join(r.getMessage() for r in caplog.records)
    assert "Step 2 'background': radius=28" in warned and "typical_diameter=14.0" in warned


def test_upgraded_background_uses_the_old_radius_even_on_a_calibrated_plate() -> None:
    pipeline = load_pipeline(OLD_FILE)
    background = pipeline.steps[1]
    calibrated = PlateMetadata(pixel_size_x=0.65, pixel_size_y=0.65, unit="micrometer")
    kwargs = with_context(background.func, dict(background.kwargs), calibrated)
    assert with_context(background.func, {}, calibrated)["pixel_size_um"] == 0.65  # a new step would use µm
    assert kwargs["pixel_size_um"] is None  # the file's pixel lengths win over the plate's µm
    radius = background_radius(kwargs.get("object_diameter_um", 9.0),
                               kwargs["object_diameter_px"], kwargs["pixel_size_um"])
    assert radius == 28


def test_saving_an_upgraded_pipeline_writes_todays_names(tmp_path: Path) -> None:
    from openhcs_gui.pipeline import save_pipeline

    target = save_pipeline(load_pipeline(OLD_FILE), tmp_path / "p.json")
    text = target.read_text()
    assert '"radius"' not in text and '"typical_diameter"' not in text
    again = load_pipeline(target)
    assert again.steps[1].kwargs == load_pipeline(OLD_FILE).steps[1].kwargs
