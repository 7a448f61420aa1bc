"""Writes that the file system refuses end in one sentence naming the path (issue 11 item 7).

A full disk is simulated by making the lowest write call raise ``ENOSPC``;
a name longer than the file system allows is real (ext4/tmpfs: 255 bytes).
"""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tifffile
from contract import make_image

from openhcs_gui.errors import OpenHCSError, StorageError
from openhcs_gui.vfs import _zarr_array
from openhcs_gui.vfs.disk import DiskBackend
from openhcs_gui.vfs.zarr_store import ZarrBackend

LONG = "x" * 300


def _full(*_: Any, **__: Any) -> Any:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def _one_line(e: BaseException) -> str:
    text = str(e)
    assert "\n" not in text and "Traceback" not in text
    return text


# ----------------------------------------------------------------- disk full
def test_tiff_write_on_a_full_disk_says_disk_full_and_where(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tifffile.FileHandle, "write", _full)
    monkeypatch.setattr(tifffile.FileHandle, "write_array", _full)
    b = DiskBackend(tmp_path)
    image = make_image(np.uint16, (512, 512))
    with pytest.raises(StorageError) as info:
        b.save(image, "step1/A01_s1_w1_z1.tif")
    text = _one_line(info.value)
    assert text.startswith("Disk full while writing ")
    assert str(tmp_path / "step1" / "A01_s1_w1_z1.tif") in text
    with pytest.raises(StorageError, match=r"Disk full while writing .*A0\d_s1_w1_z1\.tif"):
        b.save_batch([image] * 3, [f"step1/A0{i}_s1_w1_z1.tif" for i in (1, 2, 3)])
    assert os.listdir(tmp_path / "step1") == []  # no half-written file or temp file left


def test_zarr_write_on_a_full_disk_says_disk_full_and_where(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_zarr_array.os, "write", _full)
    b = ZarrBackend(root=tmp_path)
    with pytest.raises(StorageError) as info:
        b.save_batch([make_image(np.uint16, (32, 32))] * 2,
                     ["plate/images.zarr/A01_s1_w1_z1.tif", "plate/images.zarr/A01_s1_w2_z1.tif"])
    text = _one_line(info.value)
    assert text.startswith("Disk full while writing ") and "images.zarr" in text
    assert ".tmp" not in text  # names the file, not our temp name


def test_zarr_metadata_flush_on_a_full_disk_is_a_storage_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    b = ZarrBackend(root=tmp_path)
    b.save(make_image(np.uint16, (16, 16)), "plate/images.zarr/A01_s1_w1_z1.tif")
    monkeypatch.setattr(_zarr_array.os, "write", _full)
    with pytest.raises(StorageError, match=r"^Disk full while writing .*images\.zarr"):
        b.close()


# ------------------------------------------------------------ long names
def test_zarr_key_with_a_too_long_name_is_one_line(tmp_path: Path) -> None:
    b = ZarrBackend(root=tmp_path)
    for key in (f"{LONG}/images.zarr/A01_s1_w1_z1.tif", f"out/{LONG}.zarr/A01_s1_w1_z1.tif"):
        with pytest.raises(StorageError) as info:
            b.save(make_image(np.uint8, (8, 8)), key)
        text = _one_line(info.value)
        assert "xxxxxxxx..." in text and "allows at most 255" in text
        assert isinstance(info.value, OpenHCSError)
    assert not any(tmp_path.iterdir())


def test_disk_key_with_a_too_long_name_is_one_line(tmp_path: Path) -> None:
    b = DiskBackend(tmp_path)
    with pytest.raises(StorageError, match=r"'x{40}\.\.\.' is 30\d bytes long.*at most 255"):
        b.save(make_image(np.uint8, (8, 8)), f"step1/{LONG}.tif")
    near_limit = "y" * 240 + ".tif"  # fits; its temp name must fit too
    b.save(make_image(np.uint8, (8, 8)), f"step1/{near_limit}")
    assert b.is_file(f"step1/{near_limit}")
