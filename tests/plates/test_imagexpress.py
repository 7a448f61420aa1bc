"""ImageXpress folders and workspace step folders index into the right keys."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile

from openhcs_gui.constants import Backend
from openhcs_gui.plates import make_synthetic_plate, open_plate
from openhcs_gui.plates.imagexpress import parse_imagexpress_name
from openhcs_gui.vfs.keys import ImageKey
from tests.plates.conftest import ix_names


@pytest.mark.parametrize(
    ("rel", "expected"),
    [
        ("A01_s1_w1.tif", (ImageKey("A01", 1, 1, 1), 1)),
        ("Plate_7_B12_s3_w2.TIF", (ImageKey("B12", 3, 2, 1), 1)),
        ("C03_s2_w4_z007.tif", (ImageKey("C03", 2, 4, 7), 1)),
        ("TimePoint_2/ZStep_5/D04_s1_w1.tif", (ImageKey("D04", 1, 1, 5, 2), 2)),
        ("A01_s1_w1_z1_t3.tif", (ImageKey("A01", 1, 1, 1, 3), 3)),  # our own time-lapse output
        ("E05_w3.tif", (ImageKey("E05", 1, 3, 1), 1)),
        ("F06_s9.tiff", (ImageKey("F06", 9, 1, 1), 1)),
        ("A01_s1_w1_z1.tif", (ImageKey("A01", 1, 1, 1), 1)),
        ("A01_s1_w16A8B3C2D-1111-2222-3333-444455556666.tif", (ImageKey("A01", 1, 1, 1), 1)),
        ("A01_s1_w1_thumb6A8B3C2D-1111-2222-3333-444455556666.tif", None),
        ("A01_s1_w1_thumb.tif", None),
        ("A01.tif", None),
        ("notes_s1.tif", None),
        ("r01c01f01p01-ch1sk1fk1fl1.tiff", None),
        ("A01_s1_w1.png", None),
    ],
)
def test_parse_names(rel: str, expected: tuple[ImageKey, int] | None) -> None:
    assert parse_imagexpress_name(rel) == expected


def test_synthetic_plate_indexes(tmp_path: Path) -> None:
    plate = make_synthetic_plate(
        tmp_path / "plate1", wells=["A01", "A02", "B01"], sites=3, channels=2, z=1,
        shape=(64, 96), seed=1,
    )
    index = open_plate(plate)
    assert index.format == "imagexpress"
    assert index.name == "plate1"
    assert index.wells == ["A01", "A02", "B01"]
    assert (index.sites, index.channels, index.z_planes) == ([1, 2, 3], [1, 2], [1])
    assert index.shape == (64, 96) and index.dtype == np.uint16
    assert index.backend is Backend.DISK
    assert index.n_images == 18 and index.warnings == []
    path = index.images[ImageKey("B01", 2, 2)]
    assert path == str(plate / "TimePoint_1" / "B01_s2_w2.tif")
    assert index.summary() == "imagexpress · 3 wells × 3 sites × 2 channels × 1 z · 96×64 uint16"


def test_zstep_folders_and_z_suffix_agree(tmp_path: Path, write_tiffs) -> None:
    write_tiffs(tmp_path / "zstep", [f"TimePoint_1/ZStep_{z}/A01_s1_w1.tif" for z in (1, 2, 3)])
    write_tiffs(tmp_path / "zsuffix", [f"A01_s1_w1_z{z:03d}.tif" for z in (1, 2, 3)])
    a, b = open_plate(tmp_path / "zstep"), open_plate(tmp_path / "zsuffix")
    assert a.z_planes == b.z_planes == [1, 2, 3]
    assert list(a.images) == list(b.images)


def test_missing_site_is_a_warning(tmp_path: Path, write_tiffs) -> None:
    names = [n for n in ix_names(["A01", "B02"], 3, 2) if n != "B02_s3_w2.tif"]
    write_tiffs(tmp_path, names)
    index = open_plate(tmp_path)
    assert index.warnings == ["site s3 missing for well B02 channel 2"]
    assert index.n_images == 11
    assert index.keys(well="B02", site=3) == [ImageKey("B02", 3, 1)]
    assert "1 warning" in index.summary()


def test_many_missing_images_are_summarized(tmp_path: Path, write_tiffs) -> None:
    names = [f"A01_s{s}_w1.tif" for s in range(1, 11)] + [f"A{c:02d}_s1_w1.tif" for c in range(2, 11)]
    write_tiffs(tmp_path, names)
    index = open_plate(tmp_path)
    assert len(index.warnings) == 21
    assert index.warnings[0] == "site s2 missing for well A02 channel 1"
    assert index.warnings[-1] == "… and 61 more missing images (81 in total)"


def test_thumbnails_hidden_and_odd_files_are_ignored(tmp_path: Path, write_tiffs) -> None:
    write_tiffs(tmp_path, ix_names(["A01"], 2, 1, folder="TimePoint_1"))
    write_tiffs(tmp_path, [
        "TimePoint_1/A01_s1_w1_thumbAB12CD34-1111-2222-3333-444455556666.tif",
        "TimePoint_1/A01_s2_w1_thumb.tif",
        "TimePoint_1/._A01_s1_w1.tif",
        "overview.tif",
    ])
    (tmp_path / "TimePoint_1" / "notes.txt").write_text("hello")
    (tmp_path / "plate.HTD").write_text('"HTSInfoFile", Version 1.0')
    (tmp_path / "TimePoint_1" / "A01_s3_w1.tif").write_bytes(b"")
    index = open_plate(tmp_path)
    assert index.n_images == 2 and index.sites == [1, 2]
    assert index.warnings == [
        "ignored 1 empty TIFF file(s): TimePoint_1/A01_s3_w1.tif",
        "ignored 1 TIFF file(s) whose names fit no known plate layout: overview.tif",
    ]


def test_every_timepoint_is_indexed(tmp_path: Path, write_tiffs) -> None:
    """MetaXpress time-lapse layout: ``TimePoint_1/`` ... ``TimePoint_<n>/`` beside each other
    (fmi-faim/faim-ipa ``resources/ImageXpress_exported/9987_Plate_3435/TimePoint_1..``)."""
    write_tiffs(tmp_path, [n for t in (1, 2, 3) for n in ix_names(["A01"], 1, 1, f"TimePoint_{t}")])
    index = open_plate(tmp_path)
    assert index.n_images == 3
    for t in (1, 2, 3):
        assert index.images[ImageKey("A01", 1, 1, 1, t)].endswith(f"TimePoint_{t}/A01_s1_w1.tif")
    assert index.timepoints == [1, 2, 3] and index.metadata.timepoints == (1, 2, 3)
    assert index.warnings == []
    assert "3 time points" in index.summary()
    assert index.keys(well="A01", t=2) == [ImageKey("A01", 1, 1, 1, 2)]


def test_missing_timepoint_image_warns(tmp_path: Path, write_tiffs) -> None:
    names = [n for t in (1, 2) for n in ix_names(["A01"], 2, 1, f"TimePoint_{t}")]
    write_tiffs(tmp_path, [n for n in names if n != "TimePoint_2/A01_s2_w1.tif"])
    assert open_plate(tmp_path).warnings == ["site s2 missing for well A01 channel 1 time point 2"]


def test_duplicate_names_warn_and_keep_one(tmp_path: Path, write_tiffs) -> None:
    write_tiffs(tmp_path, ["PlateA_A01_s1_w1.tif", "PlateB_A01_s1_w1.tif"])
    index = open_plate(tmp_path)
    assert index.n_images == 1
    assert index.images[ImageKey("A01", 1, 1)].endswith("PlateA_A01_s1_w1.tif")
    assert index.warnings == [
        "PlateB_A01_s1_w1.tif ignored: PlateA_A01_s1_w1.tif is already well A01 site s1 channel 1 z 1"
    ]


def test_workspace_step_folder_opens_again(tmp_path: Path) -> None:
    step = tmp_path / "demo_workspace" / "step2_blur"
    step.mkdir(parents=True)
    expected = {}
    for key in [ImageKey(w, s, c, z) for w in ("A01", "B03") for s in (1, 2) for c in (1,) for z in (1, 2)]:
        data = np.full((5, 7), key.site * 10 + key.z, dtype=np.float32)
        tifffile.imwrite(step / key.filename(), data)
        expected[key] = data
    (step / "A01_objects.csv").write_text("index,object_count\n0,3\n")
    index = open_plate(step)
    assert index.format == "workspace"
    assert index.name == "demo_step2_blur"
    assert set(index.images) == set(expected)
    assert index.shape == (5, 7) and index.dtype == np.float32
    key = ImageKey("B03", 2, 1, 2)
    assert np.array_equal(tifffile.imread(index.images[key]), expected[key])


def test_pixels_load_through_filemanager(tmp_path: Path) -> None:
    from openhcs_gui.vfs import FileManager

    plate = make_synthetic_plate(tmp_path / "p", wells=1, sites=1, channels=1, shape=(32, 32))
    index = open_plate(plate)
    key = index.keys()[0]
    data = FileManager().load(index.images[key], index.backend)
    assert np.array_equal(np.asarray(data), tifffile.imread(index.images[key]))
