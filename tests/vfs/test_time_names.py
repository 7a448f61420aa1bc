"""Time points in image keys and names (issue 12, item 2).

A plate with more than one time point names every image ``A01_s1_w1_z1_t<n>.tif``;
a single-time-point plate keeps the seed's ``A01_s1_w1_z1.tif``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from openhcs_gui.errors import InvalidPathError
from openhcs_gui.vfs.disk import DiskBackend
from openhcs_gui.vfs.keys import ImageKey, is_labels_name, names_with_time, parse_image_name


def test_positional_key_is_time_point_one() -> None:
    assert ImageKey("A01", 1, 2, 3) == ImageKey("A01", 1, 2, 3, 1)
    assert ImageKey("A01", 1, 2, 3).t == 1
    assert sorted([ImageKey("A01", 1, 1, 1, 2), ImageKey("A01", 1, 1, 1, 1)])[0].t == 1


@pytest.mark.parametrize(("name", "key"), [
    ("A01_s1_w2_z3_t4.tif", ImageKey("A01", 1, 2, 3, 4)),
    ("B12_s3_w2_z1_t1.tif", ImageKey("B12", 3, 2, 1, 1)),
    ("B12_s3_w2_z1.tif", ImageKey("B12", 3, 2, 1, 1)),
    ("AF48_s1_w1_z2_t10_labels.tif", ImageKey("AF48", 1, 1, 2, 10)),
])
def test_names_with_time_parse(name: str, key: ImageKey) -> None:
    assert parse_image_name(f"ws/step1_blur/{name}") == key


def test_time_name_form() -> None:
    key = ImageKey("A01", 1, 2, 3, 2)
    assert key.filename() == "A01_s1_w2_z3_t2.tif"
    assert key.filename(labels=True) == "A01_s1_w2_z3_t2_labels.tif"
    assert is_labels_name(key.filename(labels=True))
    # time point 1 of a multi-time-point plate names its time; of a single one it does not
    assert ImageKey("A01", 1, 2, 3).filename(with_time=True) == "A01_s1_w2_z3_t1.tif"
    assert ImageKey("A01", 1, 2, 3).filename() == "A01_s1_w2_z3.tif"
    assert names_with_time(3) and not names_with_time(1) and not names_with_time(None)


def test_bad_time_part_is_rejected() -> None:
    with pytest.raises(InvalidPathError, match="A01_s1_w1_z1_tx.tif"):
        parse_image_name("A01_s1_w1_z1_tx.tif")


def test_disk_labels_twin_keeps_time(tmp_path: Path) -> None:
    """Loading ``..._t1.tif`` of a label step falls back to ``..._t1_labels.tif``."""
    backend = DiskBackend()
    data = np.arange(12, dtype=np.int32).reshape(3, 4)
    key = ImageKey("A01", 1, 1, 1, 1)
    backend.save(data, str(tmp_path / key.filename(labels=True, with_time=True)))
    np.testing.assert_array_equal(backend.load(str(tmp_path / key.filename(with_time=True))), data)
