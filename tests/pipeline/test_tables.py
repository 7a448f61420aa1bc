"""Table helpers: µm columns from the pixel size, plate channel names, one value per well for heatmaps."""

from __future__ import annotations

import math

import numpy as np
import pytest

from openhcs_gui.errors import PipelineError
from openhcs_gui.functions import segment_cells
from openhcs_gui.metadata import ChannelInfo, PlateMetadata
from openhcs_gui.pipeline.tables import add_physical_units, name_channels, well_aggregate

NAN = float("nan")


def test_micrometre_columns_sit_next_to_pixel_columns() -> None:
    rows = [{"object_id": 1, "centroid_y_px": 10.0, "area_px2": 100.0, "mean_intensity": 5.0},
            {"object_id": 2, "centroid_y_px": "", "area_px2": NAN, "mean_intensity": 7.0}]
    out = add_physical_units(rows, 0.65)
    assert list(out[0]) == ["object_id", "centroid_y_px", "centroid_y_um", "area_px2", "area_um2", "mean_intensity"]
    assert out[0]["centroid_y_um"] == pytest.approx(6.5) and out[0]["area_um2"] == pytest.approx(42.25)
    assert out[1]["centroid_y_um"] == "" and math.isnan(out[1]["area_um2"])
    assert rows[0] == {"object_id": 1, "centroid_y_px": 10.0, "area_px2": 100.0, "mean_intensity": 5.0}
    assert add_physical_units(rows, None)[0] == rows[0]  # unknown size: no invented µm
    for bad in (0.0, -1.0, NAN):
        with pytest.raises(ValueError, match="pixel size must be a positive number"):
            add_physical_units(rows, bad)


def test_channel_names_replace_channel_suffixes_and_label_single_image_rows() -> None:
    meta = PlateMetadata(channels={1: ChannelInfo("DAPI"), 2: ChannelInfo("Texas Red"), 3: ChannelInfo(None)})
    names = {c: meta.channel_name(c) for c in meta.channels}
    field = [{"site": 1, "mean_intensity_ch1": 1.0, "mean_intensity_ch2": 2.0, "max_intensity_ch3": 3.0}]
    assert list(name_channels(field, names)[0]) == [
        "site", "mean_intensity_DAPI", "mean_intensity_Texas_Red", "max_intensity_ch3"]
    single = [{"well": "A01", "channel": 2, "mean_intensity": 4.0}, {"well": "A01", "channel": 3, "mean_intensity": 1.0}]
    out = name_channels(single, names)
    assert list(out[0]) == ["well", "channel", "channel_name", "mean_intensity"]
    assert [r["channel_name"] for r in out] == ["Texas Red", ""]
    # two channels with one name keep their numbers (no column collision)
    assert list(name_channels(field, {1: "GFP", 2: "gfp"})[0])[1:3] == ["mean_intensity_ch1", "mean_intensity_ch2"]


def test_well_aggregate_answers_the_three_heatmap_questions() -> None:
    field = np.zeros((2, 40, 40), np.uint16)
    field[0, 8:16, 8:16] = field[0, 24:32, 24:34] = 1000
    field[1, 4:20, 4:20] = 300
    field[1, 20:36, 20:38] = 500
    _, tables = segment_cells(field, diameter_px=8, smoothing=0)
    objects = [{"well": "A01", "site": 1, **tables["objects"][0]},
               {"well": "A01", "site": 2, **tables["objects"][0]},
               {"well": "B01", "site": 1, "object_count": 0, "mean_area_px2": NAN}]
    assert well_aggregate(objects, "object_count", statistic="sum") == {"A01": 4.0, "B01": 0.0}
    nuclei = add_physical_units([{"well": "A01", **r} for r in tables["nuclei"]], 0.5)
    assert well_aggregate(nuclei, "area_um2") == {"A01": pytest.approx((64 + 80) / 2 * 0.25)}
    cells = [{"well": "A01", **r} for r in tables["cells"]]
    by_number = well_aggregate(cells, "mean_intensity", channel=2)
    assert by_number["A01"] == pytest.approx(np.mean([r["mean_intensity_ch2"] for r in tables["cells"]]))
    named = name_channels(cells, {1: "DAPI", 2: "FITC"})
    assert well_aggregate(named, "mean_intensity", channel="FITC") == by_number
    # empty wells are NaN, not 0
    assert math.isnan(well_aggregate(objects, "mean_area_px2")["B01"])


def test_well_aggregate_filters_single_image_rows_by_channel() -> None:
    rows = [{"well": "A01", "channel": 1, "mean_intensity": 10.0}, {"well": "A01", "channel": 2, "mean_intensity": 30.0},
            {"well": "A02", "channel": 2, "mean_intensity": "nan"}]
    assert well_aggregate(rows, "mean_intensity", channel=2) == {"A01": 30.0, "A02": pytest.approx(NAN, nan_ok=True)}
    assert well_aggregate(rows, "mean_intensity", statistic="count") == {"A01": 2.0, "A02": 0.0}
    with pytest.raises(PipelineError, match=r"no measurement 'area_um2' \(measurements: mean_intensity\)"):
        well_aggregate(rows, "area_um2")
    with pytest.raises(PipelineError, match="Unknown statistic 'mode'"):
        well_aggregate(rows, "mean_intensity", statistic="mode")  # type: ignore[arg-type]
