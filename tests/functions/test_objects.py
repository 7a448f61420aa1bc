"""Per-object tables: equal to a plain ``regionprops_table`` on the same labels; NaN, not 0, when empty."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from skimage.measure import regionprops_table
from test_segmentation import two_channel_field

from openhcs_gui.config import GlobalPipelineConfig, MaterializationConfig
from openhcs_gui.constants import Component
from openhcs_gui.functions import segment_cells, segment_nuclei
from openhcs_gui.functions.objects import object_rows, summary_row
from openhcs_gui.pipeline import FunctionStep, Pipeline
from openhcs_gui.plates import make_synthetic_plate, read_ground_truth
from openhcs_gui.vfs.keys import ImageKey

#: our column -> regionprops_table column, for a 2-channel intensity image
REFERENCE = {
    "object_id": "label", "centroid_y_px": "centroid-0", "centroid_x_px": "centroid-1", "area_px2": "area",
    "perimeter_px": "perimeter", "equivalent_diameter_px": "equivalent_diameter_area",
    "eccentricity": "eccentricity", "solidity": "solidity",
    "mean_intensity_ch1": "intensity_mean-0", "mean_intensity_ch2": "intensity_mean-1",
    "max_intensity_ch1": "intensity_max-0", "max_intensity_ch2": "intensity_max-1",
}


def test_object_tables_equal_a_plain_regionprops_table_on_the_same_labels() -> None:
    field, _ = two_channel_field()
    labels, tables = segment_cells(field)
    for objects, table in ((labels[0], tables["nuclei"]), (labels[1], tables["cells"])):
        ref = regionprops_table(objects, np.moveaxis(field, 0, -1), properties=list(
            {"label", "centroid", "area", "perimeter", "equivalent_diameter_area", "eccentricity",
             "solidity", "intensity_mean", "intensity_max"}))
        assert len(table) == len(ref["label"]) == objects.max() > 20
        for ours, theirs in REFERENCE.items():
            assert [r[ours] for r in table] == list(ref[theirs]), ours
        for ch in (1, 2):  # integrated intensity is the plain sum of the object's pixels
            sums = np.bincount(objects.ravel(), weights=field[ch - 1].ravel().astype(np.float64))[1:]
            np.testing.assert_allclose([r[f"integrated_intensity_ch{ch}"] for r in table], sums, rtol=1e-12)
    nucleus_at = [int(labels[0][int(r["centroid_y_px"]), int(r["centroid_x_px"])]) for r in tables["nuclei"]]
    assert nucleus_at.count(0) < 3  # centroids of (convex) nuclei lie on the nucleus


def test_single_image_rows_carry_the_stack_index_and_no_channel_suffix() -> None:
    field, _ = two_channel_field()
    labels, tables = segment_nuclei(field[:1], diameter_px=12)
    rows = tables["nuclei"]
    ref = regionprops_table(labels[0], field[0], properties=("label", "intensity_mean", "area"))
    assert [r["mean_intensity"] for r in rows] == list(ref["intensity_mean"])
    assert {r["index"] for r in rows} == {0} and "mean_intensity_ch1" not in rows[0]


def test_summary_is_the_mean_of_the_object_rows() -> None:
    field, _ = two_channel_field()
    labels, tables = segment_cells(field)
    summary = tables["objects"][0]
    for column in ("area_px2", "mean_intensity_ch2", "integrated_intensity_ch1"):
        name = column if column.startswith("mean_") else f"mean_{column}"
        assert summary[name] == pytest.approx(np.mean([r[column] for r in tables["nuclei"]]), rel=1e-12)
        assert summary[f"cell_{name}"] == pytest.approx(np.mean([r[column] for r in tables["cells"]]), rel=1e-12)


@pytest.mark.parametrize("n_channels", [None, 3])
def test_no_objects_means_nan_not_zero(n_channels: int | None) -> None:
    shape = (3, 20, 20) if n_channels else (20, 20)
    assert object_rows(np.zeros((20, 20), np.int32), np.ones(shape)) == []
    row = summary_row([], n_channels, prefix="cell_")
    assert row.pop("cell_count") == 0
    assert len(row) == 2 + 3 * (n_channels or 1) and all(math.isnan(v) for v in row.values())
    assert ("cell_mean_intensity_ch3" in row) == bool(n_channels)


def test_cells_through_the_engine_give_per_object_tables_per_field(tmp_path: Path) -> None:
    plate = make_synthetic_plate(tmp_path / "plate", wells=["A01", "B02"], sites=2, channels=2,
                                 shape=(192, 192), seed=5)
    cfg = GlobalPipelineConfig(num_workers=1, materialization_defaults=MaterializationConfig(
        output_path=tmp_path / "out"))
    step = FunctionStep("segment_cells", name="cells", variable_components=[Component.CHANNEL])
    result = Pipeline([step]).run(plate, cfg)
    assert result.status.value == "completed", result.errors
    summary = result.get_table("cells", "objects")
    truth = read_ground_truth(plate)
    assert {(r["well"], r["site"]): r["object_count"] for r in summary} == truth
    assert "channel" not in summary[0]  # a field's row: well, site, z
    cells = result.get_table("cells", "cells")
    assert len(cells) == sum(truth.values())
    assert list(cells[0])[:6] == ["well", "site", "z", "object_id", "parent_id", "centroid_y_px"]
    nuclei_img = result.get_image("cells", ImageKey("A01", 1, 1))
    cells_img = result.get_image("cells", ImageKey("A01", 1, 2))
    assert nuclei_img.dtype == np.int32 and nuclei_img.max() == truth[("A01", 1)] == cells_img.max()
