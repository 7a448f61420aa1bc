"""open_plate: format detection, clear errors, laziness, and the model's plain-data round trip."""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import tifffile

from openhcs_gui.errors import PlateError
from openhcs_gui.metadata import ChannelInfo, PlateGeometry, PlateMetadata
from openhcs_gui.plates import PlateIndex, open_plate
from openhcs_gui.vfs.keys import ImageKey, well_name
from tests.plates.conftest import ix_names


def test_missing_path_and_file(tmp_path: Path) -> None:
    with pytest.raises(PlateError, match="does not exist"):
        open_plate(tmp_path / "nope")
    (tmp_path / "a.tif").write_bytes(b"x")
    with pytest.raises(PlateError, match="is a file"):
        open_plate(tmp_path / "a.tif")


def test_empty_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PlateError, match=r"No images found in .*: expected ImageXpress names"):
        open_plate(tmp_path)


def test_folder_of_odd_tiffs_names_one(tmp_path: Path, write_tiffs) -> None:
    write_tiffs(tmp_path, ["scan_001.tif", "scan_002.tif"])
    with pytest.raises(PlateError, match=r"2 TIFF file\(s\) with other names, e.g. scan_001.tif"):
        open_plate(tmp_path)


def test_mixed_formats_are_refused(tmp_path: Path, write_tiffs) -> None:
    write_tiffs(tmp_path, ["A01_s1_w1.tif", "Images/r01c01f01p01-ch1sk1fk1fl1.tiff"])
    with pytest.raises(PlateError, match="mixes ImageXpress and Opera file names"):
        open_plate(tmp_path)


def test_plate_with_no_readable_image_names_the_first(tmp_path: Path) -> None:
    for name in ("A01_s1_w1.tif", "A01_s2_w1.tif"):
        (tmp_path / name).write_bytes(b"II*\x00garbage-not-a-tiff")
    with pytest.raises(PlateError, match=r"No image of the plate can be read \(2 of 2 tried\); "
                       r"the first: Cannot read the TIFF header of .*A01_s1_w1\.tif"):
        open_plate(tmp_path)


def test_a_folder_of_broken_tiffs_gives_up_after_a_bounded_number(tmp_path: Path) -> None:
    for c in range(1, 26):
        (tmp_path / f"A{c:02d}_s1_w1.tif").write_bytes(b"MM\x00*broken")
    with pytest.raises(PlateError, match=r"No image of the plate can be read \(20 of 25 tried\)"):
        open_plate(tmp_path)


def test_corrupt_first_image_is_a_warning_not_a_refusal(tmp_path: Path, write_tiffs) -> None:
    # Issue 11 item 8: the plate is indexed from the first header that parses.
    write_tiffs(tmp_path, ix_names(["A01", "A02", "B01", "B02"], 2, 2))
    (tmp_path / "A01_s1_w1.tif").write_bytes(b"II*\x00garbage-not-a-tiff" * 4)
    index = open_plate(tmp_path)
    assert index.n_images == 16 and index.shape == (8, 6) and index.dtype == np.uint16
    [warning] = index.warnings
    assert warning.startswith(f"Cannot read the TIFF header of {tmp_path / 'A01_s1_w1.tif'}: ")
    assert warning.endswith("; well A01 will fail when it is processed")


def test_rgb_image_is_refused(tmp_path: Path) -> None:
    tifffile.imwrite(tmp_path / "A01_s1_w1.tif", np.zeros((8, 8, 3), np.uint8), photometric="rgb")
    with pytest.raises(PlateError, match="plates need 2-D grayscale images"):
        open_plate(tmp_path)


def test_384_well_plate_indexes_lazily(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wells = [well_name(r, c) for r in range(16) for c in range(1, 25)]
    tifffile.imwrite(tmp_path / "seed.tif", np.zeros((4, 4), np.uint16))
    folder = tmp_path / "plate384" / "TimePoint_1"
    folder.mkdir(parents=True)
    for name in ix_names(wells, 2, 2):
        shutil.copyfile(tmp_path / "seed.tif", folder / name)
    opened: list[str] = []
    real = tifffile.TiffFile

    def counting(path, *args, **kwargs):  # type: ignore[no-untyped-def]
        opened.append(str(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(tifffile, "TiffFile", counting)
    monkeypatch.setattr(tifffile, "imread", lambda *a, **k: pytest.fail("pixels were read"))
    index = open_plate(tmp_path / "plate384")
    assert len(index.wells) == 384 and index.n_images == 384 * 4
    assert index.wells[:2] == ["A01", "A02"] and index.wells[-1] == "P24"
    assert len(opened) == 1 and opened[0].endswith("A01_s1_w1.tif")


def _index(tmp_path: Path, write_tiffs) -> PlateIndex:
    write_tiffs(tmp_path, ix_names(["A01", "A02", "B10"], 2, 2))
    return open_plate(tmp_path)


def test_keys_filter_and_sort(tmp_path: Path, write_tiffs) -> None:
    index = _index(tmp_path, write_tiffs)
    assert index.wells == ["A01", "A02", "B10"]
    assert index.keys(well="A02", channel=2) == [ImageKey("A02", 1, 2), ImageKey("A02", 2, 2)]
    assert index.keys(site=2, channel=1, z=1) == [
        ImageKey("A01", 2, 1), ImageKey("A02", 2, 1), ImageKey("B10", 2, 1)
    ]
    assert index.keys(z=2) == []
    assert len(index.keys()) == 12


class _CountingDict(dict):
    iterations = 0

    def __iter__(self):
        type(self).iterations += 1
        return super().__iter__()


def test_keys_per_well_do_not_rescan_the_plate(tmp_path: Path, write_tiffs) -> None:
    # Issue 11 item 10: the runner asks keys(well=...) once per well; a scan per call is wells x images.
    wells = [well_name(r, c) for r in range(8) for c in range(1, 13)]
    write_tiffs(tmp_path, ix_names(wells[:2], 1, 1))
    index = open_plate(tmp_path)
    images = {ImageKey(w, s, 1): f"/p/{w}_s{s}.tif" for w in reversed(wells) for s in (2, 1)}
    expected = {w: [ImageKey(w, 1, 1), ImageKey(w, 2, 1)] for w in wells}
    index.images = _CountingDict(images)
    assert {w: index.keys(well=w) for w in wells} == expected
    assert index.keys(well="H12", site=2) == [ImageKey("H12", 2, 1)]
    assert index.keys(well="Z99") == []
    assert _CountingDict.iterations <= 1
    index.images = {ImageKey("A01", 3, 1): "/p/x.tif"}  # a replaced image map is seen
    assert index.keys(well="A01") == [ImageKey("A01", 3, 1)]


def test_plain_data_round_trip(tmp_path: Path, write_tiffs) -> None:
    index = _index(tmp_path, write_tiffs)
    index.metadata = PlateMetadata(
        plate_name="P-7", pixel_size_x=0.65, pixel_size_y=0.7, z_spacing=2.0, unit="micrometer",
        time_interval=30.0, time_unit="second", timepoints=(1, 2, 3), geometry=PlateGeometry(8, 12),
        channels={1: ChannelInfo("DAPI", "0000FF", 377.0, 447.0), 2: ChannelInfo(emission_nm=536.0)},
    )
    index.warnings.append("a note")
    data = json.loads(json.dumps(index.to_dict()))
    again = PlateIndex.from_dict(data)
    assert again == index and again.metadata == index.metadata
    assert (again.channel_names, again.pixel_size_um) == ({1: "DAPI"}, 0.65)
    assert pickle.loads(pickle.dumps(index)) == index
    with pytest.raises(PlateError, match="malformed"):
        PlateIndex.from_dict({"path": "/x"})


def test_channel_names_and_pixel_size_are_views_of_the_metadata(tmp_path: Path, write_tiffs) -> None:
    index = _index(tmp_path, write_tiffs)
    index.metadata = index.metadata.with_(channels={1: ChannelInfo("DAPI", emission_nm=447.0)})
    index.channel_names = {1: "Hoechst", 2: "GFP"}  # renaming keeps the wavelength
    assert index.metadata.channels == {1: ChannelInfo("Hoechst", emission_nm=447.0), 2: ChannelInfo("GFP")}
    with pytest.raises(TypeError):
        index.channel_names[3] = "lost"  # a read-only view, not a copy that drops edits
    index.pixel_size_um = 0.5
    assert (index.metadata.pixel_size_x, index.metadata.pixel_size_y, index.metadata.unit) == (
        0.5, 0.5, "micrometer")
    index.pixel_size_um = None
    assert index.metadata.pixel_size_x is None and index.metadata.unit is None


def test_index_written_before_the_metadata_model_still_loads(tmp_path: Path, write_tiffs) -> None:
    data = _index(tmp_path, write_tiffs).to_dict()
    del data["metadata"]
    data.update(channel_names={"1": "DAPI"}, pixel_size_um=0.65)
    old = PlateIndex.from_dict(json.loads(json.dumps(data)))
    assert old.channel_names == {1: "DAPI"} and old.pixel_size_um == 0.65
    assert old.metadata.unit == "micrometer" and old.metadata.geometry is None


def test_summary_pluralizes(tmp_path: Path, write_tiffs) -> None:
    write_tiffs(tmp_path, ["A01_s1_w1.tif"])
    assert open_plate(tmp_path).summary() == "imagexpress · 1 well × 1 site × 1 channel × 1 z · 6×8 uint16"
