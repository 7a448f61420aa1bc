"""Synthetic time-lapse plates in the vendors' own layouts, and what the readers take from them.

ImageXpress: ``TimePoint_<n>/`` folders and ``"TimePoints", <n>`` in the ``.HTD``
(fmi-faim/faim-ipa ``resources/ImageXpress_exported/9987_Plate_3435/TimePoint_1/9987.HTD``).
Opera Phenix: ``sk<n>`` in the file names, ``<TimepointID>`` from 0 and
``<MeasurementTimeOffset>`` per image in ``Index.xml`` (Harmony 5+ export layout).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile

from openhcs_gui.errors import PlateError
from openhcs_gui.plates import make_synthetic_plate, open_plate
from openhcs_gui.plates._metaxpress import parse_htd
from openhcs_gui.plates._opera_xml import parse_index_xml
from openhcs_gui.vfs.keys import ImageKey


@pytest.mark.parametrize("layout", ["imagexpress", "opera"])
def test_time_point_one_is_the_single_time_point_plate(tmp_path: Path, layout: str) -> None:
    kw = {"wells": ["A01"], "sites": 1, "channels": 2, "shape": (48, 48), "seed": 7, "layout": layout}
    single = open_plate(make_synthetic_plate(tmp_path / "one", **kw))
    lapse = open_plate(make_synthetic_plate(tmp_path / "three", timepoints=3, **kw))
    assert single.timepoints == [1] and lapse.timepoints == [1, 2, 3]
    for key in single.images:
        np.testing.assert_array_equal(tifffile.imread(lapse.images[key]), tifffile.imread(single.images[key]))
    later = [tifffile.imread(lapse.images[ImageKey("A01", 1, 1, 1, t)]) for t in (2, 3)]
    assert not np.array_equal(later[0], later[1])  # fresh noise and moved cells per time point


def test_vendor_files_describe_the_time_points(tmp_path: Path) -> None:
    ix = make_synthetic_plate(tmp_path / "ix", wells=["A01"], sites=1, channels=1, shape=(32, 32), timepoints=4)
    assert parse_htd(ix / "ix.HTD").timepoints == 4
    assert sorted(p.name for p in ix.iterdir() if p.is_dir()) == [f"TimePoint_{t}" for t in (1, 2, 3, 4)]
    op = make_synthetic_plate(tmp_path / "op", wells=["A01"], sites=1, channels=1, shape=(32, 32),
                              timepoints=2, layout="opera")
    assert parse_index_xml(op / "Images" / "Index.xml").time_interval_s == 60.0
    assert sorted(p.name for p in (op / "Images").glob("*.tiff")) == [
        "r01c01f01p01-ch1sk1fk1fl1.tiff", "r01c01f01p01-ch1sk2fk1fl1.tiff"]
    with pytest.raises(PlateError, match="timepoints >= 1"):
        make_synthetic_plate(tmp_path / "bad", timepoints=0)
