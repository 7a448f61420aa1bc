"""Per-well heatmap measurements: nuclei count, mean nuclear area (µm²), mean cell intensity by channel name."""

from __future__ import annotations

import math
import statistics
from importlib.resources import as_file, files
from pathlib import Path

import pytest

from openhcs_gui import FunctionStep, GlobalPipelineConfig, Pipeline
from openhcs_gui.functions import gaussian_blur
from openhcs_gui.pipeline import load_pipeline
from openhcs_gui.pipeline.measurements import WellMeasurement, well_measurements
from openhcs_gui.plates import make_synthetic_plate, read_ground_truth

CELLS_DEMO = files("openhcs_gui").joinpath("resources", "demo_cells_pipeline.json")


@pytest.fixture(scope="module")
def cells_run(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The shipped cells demo pipeline on a synthetic plate with touching nuclei."""
    root = tmp_path_factory.mktemp("heat")
    plate = make_synthetic_plate(root / "plate", wells=["A01", "A02", "B01"], sites=2, channels=2,
                                 shape=(256, 256), touching_pairs=3)
    cfg = GlobalPipelineConfig(num_workers=2)
    cfg.materialization_defaults.output_path = root / "out"
    with as_file(CELLS_DEMO) as path:
        pipeline = load_pipeline(path)
    assert [s.name for s in pipeline] == ["blur", "background", "cells"]
    result = pipeline.run(plate, cfg)
    assert result.status.value == "completed", result.errors
    return result, read_ground_truth(plate)


def test_cells_demo_counts_every_field_within_5_percent(cells_run) -> None:  # type: ignore[no-untyped-def]
    result, truth = cells_run
    rows = result.get_table("cells", "objects")
    assert len(rows) == len(truth) == 6  # one summary row per field (nuclei in DAPI only)
    for row in rows:
        expected = truth[(row["well"], row["site"])]
        assert abs(row["object_count"] - expected) <= 0.05 * expected, (row["well"], row["site"])
        assert row["cell_count"] == row["object_count"]


def _by_label(result) -> dict[str, WellMeasurement]:  # type: ignore[no-untyped-def]
    return {m.title: m for m in result.well_measurements()}


def test_heatmap_choices_are_named_in_a_scientists_words(cells_run) -> None:  # type: ignore[no-untyped-def]
    result, _ = cells_run
    titles = list(_by_label(result))
    assert titles[:8] == [
        "Nuclei count", "Mean nuclear area (µm²)", "Mean nuclear intensity (DAPI)", "Mean nuclear intensity (FITC)",
        "Cell count", "Mean cell area (µm²)", "Mean cell intensity (DAPI)", "Mean cell intensity (FITC)",
    ]
    fitc = _by_label(result)["Mean cell intensity (FITC)"]
    assert (fitc.measurement, fitc.channel, fitc.unit) == ("Mean cell intensity", "FITC", "")
    assert (fitc.step, fitc.table, fitc.column) == ("cells", "cells", "mean_intensity_FITC")


def test_nuclei_count_per_well_is_within_5_percent_of_the_ground_truth(cells_run) -> None:  # type: ignore[no-untyped-def]
    result, truth = cells_run
    counts = _by_label(result)["Nuclei count"].values
    assert sorted(counts) == ["A01", "A02", "B01"]
    for well, found in counts.items():
        expected = sum(n for (w, _site), n in truth.items() if w == well)
        assert abs(found - expected) <= 0.05 * expected, (well, found, expected)


def test_means_are_the_means_of_the_per_object_table(cells_run) -> None:  # type: ignore[no-untyped-def]
    result, _ = cells_run
    nuclei, cells = result.get_table("cells", "nuclei"), result.get_table("cells", "cells")
    chosen = _by_label(result)
    for well in ("A01", "A02", "B01"):
        area = statistics.fmean(r["area_um2"] for r in nuclei if r["well"] == well)
        fitc = statistics.fmean(r["mean_intensity_FITC"] for r in cells if r["well"] == well)
        assert chosen["Mean nuclear area (µm²)"].values[well] == pytest.approx(area)
        assert chosen["Mean cell intensity (FITC)"].values[well] == pytest.approx(fitc)
    only = result.well_measurements("cells")
    assert [m.title for m in only] == list(chosen)  # the only step with tables


def test_a_well_without_objects_counts_zero_and_has_no_mean() -> None:
    nuclei = [{"well": "A01", "site": 1, "z": 1, "object_id": 1, "area_px2": 100.0, "mean_intensity_ch2": 7.0},
              {"well": "A01", "site": 2, "z": 1, "object_id": 1, "area_px2": 120.0, "mean_intensity_ch2": 9.0}]
    chosen = {m.title: m for m in well_measurements("seg", {"nuclei": nuclei}, ["A01", "A02"])}
    assert chosen["Nuclei count"].values == {"A01": 2.0, "A02": 0.0}
    area = chosen["Mean nuclear area (px²)"]  # no pixel size: the area stays in px²
    assert area.values["A01"] == 110.0 and math.isnan(area.values["A02"])  # NaN, never 0
    assert chosen["Mean nuclear intensity (2)"].channel == "2"  # an unnamed channel by its number


def test_rows_of_single_images_give_one_choice_per_channel() -> None:
    rows = [{"well": "A01", "site": 1, "channel": c, "channel_name": n, "z": 1, "object_id": i,
             "area_um2": 50.0, "mean_intensity": 10.0 * c}
            for c, n in ((1, "DAPI"), (2, "FITC")) for i in range(1, 3 + c)]
    quality = [{"well": "A01", "site": 1, "channel": 1, "z": 1, "focus_score": 0.5, "object_count": 3}]
    chosen = {m.title: m for m in well_measurements("seg", {"nuclei": rows, "quality": quality}, ["A01"])}
    assert chosen["Nuclei count (DAPI)"].values == {"A01": 3.0}
    assert chosen["Nuclei count (FITC)"].values == {"A01": 4.0}
    assert chosen["Mean nuclear intensity (FITC)"].values == {"A01": 20.0}
    assert chosen["Focus score (quality)"].values == {"A01": 0.5}
    assert "Object count (quality)" not in chosen  # per-image object summaries: the object rows say it per well


def test_a_run_without_tables_has_no_choices(tmp_path: Path) -> None:
    plate = make_synthetic_plate(tmp_path / "p", wells=["A01"], sites=1, channels=1, shape=(64, 64))
    cfg = GlobalPipelineConfig(num_workers=1)
    cfg.materialization_defaults.output_path = tmp_path / "o"
    result = Pipeline([FunctionStep(gaussian_blur, name="blur", backend="disk")]).run(plate, cfg)
    assert result.well_measurements() == []
