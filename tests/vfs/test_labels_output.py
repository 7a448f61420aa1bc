"""Label images in the storage layer (issue 12 item 4).

A key named ``A01_s1_w1_z1_labels.tif`` is a plane of a label image: the zarr
backend writes it as the field image *and* as an NGFF ``labels/<name>`` group
(valid for ome-zarr-models 0.4 and 0.5), the disk backend keeps the name and
reads it back under the plain image name.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import zarr

from openhcs_gui.config import ZarrConfig
from openhcs_gui.errors import PathNotFoundError, UnsupportedFormatError
from openhcs_gui.vfs.disk import DiskBackend
from openhcs_gui.vfs.keys import ImageKey, is_labels_name, parse_image_name
from openhcs_gui.vfs.zarr_store import ZarrBackend


def _labels(seed: int, shape: tuple[int, int] = (48, 40)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 300, shape).astype(np.int32)


def test_label_names_round_trip() -> None:
    key = ImageKey("B12", 3, 2, 4)
    name = key.filename(labels=True)
    assert name == "B12_s3_w2_z4_labels.tif"
    assert parse_image_name(name) == key
    assert is_labels_name(f"x/images.zarr/{name}")
    assert not is_labels_name(key.filename())


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_zarr_labels_group_validates_and_reads_back(tmp_path: Path, version: str) -> None:
    from ome_zarr_models import v04, v05

    models = v04 if version == "0.4" else v05
    fmt = 2 if version == "0.4" else 3
    backend = ZarrBackend(ZarrConfig(ngff_version=version))
    store = tmp_path / "step2_nuclei" / "images.zarr"
    planes = {ImageKey(w, s, c): _labels(hash((w, s, c)) % 1000) for w in ("A01", "B03")
              for s in (1, 2) for c in (1, 2)}
    for well in ("A01", "B03"):  # one batch per well, as a run writes them
        keys = [k for k in planes if k.well == well]
        backend.save_batch([planes[k] for k in keys],
                           [str(store / k.filename(labels=True)) for k in keys])
    backend.close()

    models.HCS.from_zarr(zarr.open_group(store, mode="r", zarr_format=fmt))
    for key, data in planes.items():
        field = store / key.row / str(key.column) / str(key.site - 1)
        group = zarr.open_group(field / "labels", mode="r", zarr_format=fmt)
        models.Labels.from_zarr(group)
        label = models.ImageLabel.from_zarr(group["nuclei"])
        assert label.attributes.model_dump(by_alias=True, exclude_none=True)
        arr = zarr.open_array(field / "labels" / "nuclei" / "0", mode="r", zarr_format=fmt)
        assert arr.dtype == np.int32
        np.testing.assert_array_equal(arr[key.channel - 1, 0], data)
        # the field image holds the same planes, under either name
        np.testing.assert_array_equal(backend.load(str(store / key.filename())), data)
        np.testing.assert_array_equal(backend.load(str(store / key.filename(labels=True))), data)


def test_zarr_labels_group_lists_its_name_once(tmp_path: Path) -> None:
    backend = ZarrBackend()
    store = tmp_path / "step5_cells" / "out.zarr"
    key = ImageKey("A01", 1, 1)
    for seed in (1, 2):  # overwritten: still one label image
        backend.save(_labels(seed), str(store / key.filename(labels=True)))
    backend.close()
    field = store / "A" / "1" / "0"
    assert json.loads((field / "labels" / ".zattrs").read_text()) == {"labels": ["cells"]}
    attrs = json.loads((field / "labels" / "cells" / ".zattrs").read_text())
    assert attrs["image-label"] == {"source": {"image": "../../"}, "version": "0.4"}
    arr = zarr.open_array(field / "labels" / "cells" / "0", mode="r", zarr_format=2)
    np.testing.assert_array_equal(arr[0, 0], _labels(2))


def test_plain_images_get_no_labels_group(tmp_path: Path) -> None:
    backend = ZarrBackend()
    store = tmp_path / "step1_blur" / "images.zarr"
    backend.save(np.ones((8, 8), np.uint16), str(store / "A01_s1_w1_z1.tif"))
    backend.close()
    assert not (store / "A" / "1" / "0" / "labels").exists()


def test_zarr_rejects_float_labels(tmp_path: Path) -> None:
    backend = ZarrBackend()
    path = tmp_path / "s.zarr" / "A01_s1_w1_z1_labels.tif"
    with pytest.raises(UnsupportedFormatError, match="A01_s1_w1_z1_labels.tif.*integers"):
        backend.save(np.ones((8, 8), np.float32), str(path))
    backend.close()
    assert not (path.parent / "A").exists()  # nothing of the refused batch was written


def test_disk_reads_a_label_image_under_its_plain_name(tmp_path: Path) -> None:
    disk = DiskBackend()
    data = _labels(7)
    disk.save(data, str(tmp_path / "A01_s1_w1_z1_labels.tif"))
    np.testing.assert_array_equal(disk.load(str(tmp_path / "A01_s1_w1_z1.tif")), data)
    loaded = disk.load(str(tmp_path / "A01_s1_w1_z1_labels.tif"))
    assert loaded.dtype == np.int32
    with pytest.raises(PathNotFoundError, match="A01_s1_w2_z1.tif"):
        disk.load(str(tmp_path / "A01_s1_w2_z1.tif"))
