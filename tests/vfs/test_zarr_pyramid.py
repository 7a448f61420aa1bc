"""Multiscale pyramids, labels written once, and time-lapse arrays in the zarr backend (issue 12).

What a user sees: napari-ome-zarr opens a field (and its labels) as a list of
resolution levels, ome-zarr-models accepts the plate for NGFF 0.4 and 0.5, each
level's scale doubles the pixel size, a time-lapse plate stores ``(t, c, z, y, x)``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import zarr

from openhcs_gui.config import ZarrConfig
from openhcs_gui.metadata import PlateMetadata
from openhcs_gui.vfs._zarr_pyramid import downsample, level_count
from openhcs_gui.vfs.keys import ImageKey, parse_image_name
from openhcs_gui.vfs.zarr_store import ZarrBackend

META = PlateMetadata(pixel_size_x=0.65, pixel_size_y=0.65, unit="micrometer")


def _image(seed: int, shape: tuple[int, int] = (600, 1030)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 4000, shape).astype(np.uint16)


def _write(store: Path, version: str = "0.4", labels: bool = False, **cfg: object) -> dict:
    backend = ZarrBackend(ZarrConfig(ngff_version=version, **cfg), plate_metadata=META)
    planes = {ImageKey(w, 1, c): (_image(c).astype(np.int32) // 500 if labels else _image(c))
              for w in ("A01", "B02") for c in (1, 2)}
    for well in ("A01", "B02"):
        keys = [k for k in planes if k.well == well]
        backend.save_batch([planes[k] for k in keys],
                           [str(store / k.filename(labels=labels)) for k in keys])
    backend.close()
    return planes


def test_level_count_halves_until_128_by_default() -> None:
    assert level_count(ZarrConfig(), (2048, 2048)) == 5  # 2048 1024 512 256 128
    assert level_count(ZarrConfig(), (600, 1030)) == 5  # 1030 515 258 129 65
    assert level_count(ZarrConfig(), (256, 200)) == 2
    assert level_count(ZarrConfig(), (128, 100)) == 1
    assert level_count(ZarrConfig(pyramid_min_size=512), (2048, 2048)) == 3
    assert level_count(ZarrConfig(pyramid_levels=2), (2048, 2048)) == 2


def test_downsample_means_images_and_picks_labels() -> None:
    a = np.array([[0, 2, 10], [4, 6, 20], [7, 7, 30]], np.uint16)
    np.testing.assert_array_equal(downsample(a, labels=False), [[3, 15], [7, 30]])
    lab = np.array([[1, 2, 3], [4, 5, 6], [7, 8, 9]], np.int32)
    np.testing.assert_array_equal(downsample(lab, labels=True), [[1, 3], [7, 9]])


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_fields_have_a_validated_pyramid_with_physical_scales(tmp_path: Path, version: str) -> None:
    from ome_zarr_models import v04, v05

    models = v04 if version == "0.4" else v05
    fmt = 2 if version == "0.4" else 3
    store = tmp_path / "step1_blur" / "images.zarr"
    planes = _write(store, version)
    models.HCS.from_zarr(zarr.open_group(store, mode="r", zarr_format=fmt))
    field = zarr.open_group(store / "A" / "1" / "0", mode="r", zarr_format=fmt)
    image = models.Image.from_zarr(field)
    ms = image.attributes.model_dump(by_alias=True, exclude_none=True)
    ms = (ms.get("ome", ms))["multiscales"][0]
    assert [d["path"] for d in ms["datasets"]] == ["0", "1", "2", "3", "4"]
    scales = [d["coordinateTransformations"][0]["scale"] for d in ms["datasets"]]
    assert [s[-1] for s in scales] == pytest.approx([0.65, 1.3, 2.6, 5.2, 10.4])
    level0 = planes[ImageKey("A01", 1, 2)]
    expected = level0
    for i in range(5):
        arr = zarr.open_array(store / "A" / "1" / "0" / str(i), mode="r", zarr_format=fmt)
        assert arr.shape == (2, 1, *expected.shape)
        np.testing.assert_array_equal(arr[1, 0], expected)
        expected = downsample(expected, labels=False)


def test_pyramid_can_be_switched_off(tmp_path: Path) -> None:
    store = tmp_path / "images.zarr"
    _write(store, pyramid_levels=1)
    attrs = json.loads((store / "A" / "1" / "0" / ".zattrs").read_text())
    assert [d["path"] for d in attrs["multiscales"][0]["datasets"]] == ["0"]
    assert not (store / "A" / "1" / "0" / "1").exists()


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_labels_are_written_once_with_a_nearest_pyramid(tmp_path: Path, version: str) -> None:
    from ome_zarr_models import v04, v05

    models = v04 if version == "0.4" else v05
    fmt = 2 if version == "0.4" else 3
    store = tmp_path / "step3_count" / "images.zarr"
    planes = _write(store, version, labels=True)
    field = store / "B" / "2" / "0"
    group = zarr.open_group(field / "labels", mode="r", zarr_format=fmt)
    models.Labels.from_zarr(group)
    models.ImageLabel.from_zarr(group["count"])
    expected = planes[ImageKey("B02", 1, 1)]
    for i in range(5):
        arr = zarr.open_array(field / "labels" / "count" / str(i), mode="r", zarr_format=fmt)
        np.testing.assert_array_equal(arr[0, 0], expected)  # only values that exist
        expected = expected[::2, ::2]
        # one encoded file, two names: the label chunk is the image chunk
        chunk = next(p for p in (field / str(i)).rglob("*") if p.is_file()
                     and p.name not in (".zarray", ".zattrs", "zarr.json"))
        twin = field / "labels" / "count" / chunk.relative_to(field)
        assert os.path.samefile(chunk, twin)


def test_napari_ome_zarr_opens_field_and_labels_as_multiscale(tmp_path: Path) -> None:
    from napari_ome_zarr import napari_get_reader

    store = tmp_path / "step3_count" / "images.zarr"
    _write(store, labels=True)
    layers = napari_get_reader(str(store / "A" / "1" / "0"))(str(store / "A" / "1" / "0"))
    image = [ly for ly in layers if ly[2] == "image"][0]
    label = [ly for ly in layers if ly[2] == "labels"][0]
    assert isinstance(image[0], list) and len(image[0]) == 5
    assert [lvl.shape[-1] for lvl in label[0]] == [1030, 515, 258, 129, 65]
    assert image[1]["scale"][-1] == pytest.approx(0.65)


def test_close_repairs_a_killed_fields_pyramid_metadata(tmp_path: Path) -> None:
    from ome_zarr_models.v04 import HCS, Image

    store = tmp_path / "images.zarr"
    _write(store)
    (store / "A" / "1" / "0" / ".zattrs").unlink()
    resumed = ZarrBackend(plate_metadata=META)
    resumed.save(_image(9), str(store / "C03_s1_w1_z1.tif"))
    resumed.close()
    HCS.from_zarr(zarr.open_group(store, mode="r"))
    Image.from_zarr(zarr.open_group(store / "A" / "1" / "0", mode="r"))
    attrs = json.loads((store / "A" / "1" / "0" / ".zattrs").read_text())
    assert len(attrs["multiscales"][0]["datasets"]) == 5


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_time_lapse_plate_is_tczyx_and_reads_each_time_point(tmp_path: Path, version: str) -> None:
    from ome_zarr_models import v04, v05

    models = v04 if version == "0.4" else v05
    fmt = 2 if version == "0.4" else 3
    meta = META.with_(timepoints=(1, 2, 3), time_interval=30.0, time_unit="second")
    store = tmp_path / "images.zarr"
    backend = ZarrBackend(ZarrConfig(ngff_version=version), plate_metadata=meta)
    planes = {ImageKey("A01", 1, c, 1, t): _image(10 * t + c, (64, 48)) for t in (1, 2, 3)
              for c in (1, 2)}
    backend.save_batch(list(planes.values()),
                       [str(store / k.filename(with_time=True)) for k in planes])
    backend.close()
    models.HCS.from_zarr(zarr.open_group(store, mode="r", zarr_format=fmt))
    models.Image.from_zarr(zarr.open_group(store / "A" / "1" / "0", mode="r", zarr_format=fmt))
    arr = zarr.open_array(store / "A" / "1" / "0" / "0", mode="r", zarr_format=fmt)
    assert arr.shape == (3, 2, 1, 64, 48)
    np.testing.assert_array_equal(arr[1, 0, 0], planes[ImageKey("A01", 1, 1, 1, 2)])
    fresh = ZarrBackend(ZarrConfig(ngff_version=version), read_only=True)
    for key, data in planes.items():
        np.testing.assert_array_equal(fresh.load(str(store / key.filename(with_time=True))), data)
    attrs = json.loads((store / "A" / "1" / "0" / (".zattrs" if fmt == 2 else "zarr.json"))
                       .read_text())
    attrs = attrs.get("attributes", {}).get("ome", attrs)
    axis_t = attrs["multiscales"][0]["axes"][0]
    assert axis_t == {"name": "t", "type": "time", "unit": "second"}
    listed = [parse_image_name(n) for n in fresh.list_dir(str(store))]
    assert sorted(listed) == sorted(planes)


def test_field_written_before_its_later_time_points_gains_a_t_axis(tmp_path: Path) -> None:
    store = tmp_path / "images.zarr"
    backend = ZarrBackend()
    first, later = _image(1, (32, 32)), _image(2, (32, 32))
    backend.save(first, str(store / "A01_s1_w1_z1.tif"))
    backend.save(later, str(store / "A01_s1_w1_z1_t2.tif"))
    backend.close()
    arr = zarr.open_array(store / "A" / "1" / "0" / "0", mode="r")
    assert arr.shape == (2, 1, 1, 32, 32)
    np.testing.assert_array_equal(arr[0, 0, 0], first)
    np.testing.assert_array_equal(arr[1, 0, 0], later)


@pytest.mark.parametrize("strategy", ["single", "well"])
def test_levels_come_from_the_planes_being_written_not_from_the_store(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, strategy: str) -> None:
    """A run writing its wells never reads a chunk back to build the pyramid (issue 12 item 5)."""
    from openhcs_gui.constants import ZarrChunkStrategy
    from openhcs_gui.vfs import _zarr_array

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the store was read while writing")

    for name in ("read_chunk", "read_plane"):
        monkeypatch.setattr(_zarr_array.RawArray, name, refuse)
    monkeypatch.setattr(zarr, "open_array", refuse)
    monkeypatch.setattr(zarr, "open", refuse)
    store = tmp_path / "images.zarr"
    planes = _write(store, chunk_strategy=ZarrChunkStrategy(strategy))
    monkeypatch.undo()
    expected = planes[ImageKey("B02", 1, 2)]
    for i in range(5):
        arr = zarr.open_array(store / "B" / "2" / "0" / str(i), mode="r")
        np.testing.assert_array_equal(arr[1, 0], expected)
        expected = downsample(expected, labels=False)
