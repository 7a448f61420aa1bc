"""DiskBackend: the contract plus formats, atomic writes under a simulated crash, errors."""

from __future__ import annotations

import errno
import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tifffile
from contract import BackendContract, ObjectStoreContract, assert_same_array, make_image

from openhcs_gui.errors import (
    InvalidPathError,
    NotWritableError,
    PathExistsError,
    PathNotFoundError,
    StorageError,
    UnsupportedFormatError,
)
from openhcs_gui.vfs.disk import DiskBackend


class TestDiskBackend(BackendContract, ObjectStoreContract):
    backend_cls = DiskBackend
    supports_empty_directories = True

    @pytest.fixture
    def backend_kwargs(self, tmp_path: Path) -> dict[str, Any]:
        return {"root": str(tmp_path / "root")}

    def put_raw(self, backend: DiskBackend, key: str, array: np.ndarray) -> None:
        path = Path(backend.root, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tifffile.imwrite(path, array, photometric="minisblack")

    def get_raw(self, backend: DiskBackend, key: str) -> np.ndarray:
        return tifffile.imread(Path(backend.root, key))


@pytest.fixture
def disk(tmp_path: Path) -> DiskBackend:
    return DiskBackend(tmp_path)


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize("shape", [(64, 64), (3, 32, 32), (1, 16, 16), (16, 16, 3)])
@pytest.mark.parametrize("ext", [".tif", ".tiff", ".TIF", ".npy"])
def test_array_formats_exact(disk: DiskBackend, shape: tuple[int, ...], ext: str) -> None:
    image = make_image(np.uint16, shape, seed=len(shape))
    disk.save(image, f"imgs/a{ext}")
    assert_same_array(disk.load(f"imgs/a{ext}"), image)


def test_tiff_is_a_real_tiff(disk: DiskBackend, tmp_path: Path) -> None:
    image = make_image(np.uint8, (3, 8, 8))
    disk.save(image, "x/A01_s1_w1_z1.tif")
    with tifffile.TiffFile(tmp_path / "x" / "A01_s1_w1_z1.tif") as tif:
        assert len(tif.pages) == 3 and tif.pages[0].shape == (8, 8)


def test_csv_parses_numbers_back(disk: DiskBackend, tmp_path: Path) -> None:
    rows = [
        {"well": "A01", "n": 3, "area": 1.25, "id": "007", "note": "a, b"},
        {"well": "A02", "n": -4, "area": 1e-3, "id": "x1", "extra": "only here"},
    ]
    disk.save(rows, "t/A01_cells.csv")
    text = (tmp_path / "t" / "A01_cells.csv").read_text()
    assert text.splitlines()[0] == "well,n,area,id,note,extra"
    loaded = disk.load("t/A01_cells.csv")
    assert loaded[0] == {"well": "A01", "n": 3, "area": 1.25, "id": 7, "note": "a, b", "extra": ""}
    assert loaded[1]["area"] == 1e-3 and loaded[1]["n"] == -4 and loaded[1]["extra"] == "only here"


def test_csv_from_dataframe_and_empty(disk: DiskBackend) -> None:
    import pandas as pd

    frame = pd.DataFrame({"label": np.arange(3, dtype=np.int64), "mean": np.float32([0.5, 1.5, 2.5])})
    disk.save(frame, "t/f.csv")
    assert disk.load("t/f.csv") == [
        {"label": 0, "mean": 0.5},
        {"label": 1, "mean": 1.5},
        {"label": 2, "mean": 2.5},
    ]
    disk.save([], "t/empty.csv")
    disk.save(frame.iloc[:0], "t/header_only.csv")
    assert disk.load("t/empty.csv") == [] and disk.load("t/header_only.csv") == []


def test_json_accepts_numpy_values(disk: DiskBackend) -> None:
    disk.save({"n": np.int64(3), "v": np.arange(3), "p": Path("/x")}, "meta.json")
    assert disk.load("meta.json") == {"n": 3, "v": [0, 1, 2], "p": "/x"}


def test_wrong_data_for_format(disk: DiskBackend, tmp_path: Path) -> None:
    with pytest.raises(UnsupportedFormatError, match="numpy array"):
        disk.save([{"a": 1}], "x.tif")
    with pytest.raises(UnsupportedFormatError, match="table"):
        disk.save(np.ones(3), "x.csv")
    with pytest.raises(UnsupportedFormatError, match="str"):
        disk.save(b"bytes", "x.txt")
    assert not list(tmp_path.iterdir())  # nothing left behind, not even temp files


def test_unknown_extension(disk: DiskBackend) -> None:
    with pytest.raises(UnsupportedFormatError, match=r"'plate/a\.png'.*'\.png'.*\.tif"):
        disk.save(np.ones((2, 2)), "plate/a.png")
    with pytest.raises(UnsupportedFormatError, match="none"):
        disk.load("plate/noext")


def test_missing_file_names_path(disk: DiskBackend, tmp_path: Path) -> None:
    with pytest.raises(PathNotFoundError, match=str(tmp_path / "no" / "such.tif")):
        disk.load("no/such.tif")
    disk.ensure_directory("folder.tif")
    with pytest.raises(PathNotFoundError):
        disk.load("folder.tif")


def test_corrupt_file_is_storage_error(disk: DiskBackend, tmp_path: Path) -> None:
    (tmp_path / "bad.tif").write_bytes(b"not a tiff at all")
    with pytest.raises(StorageError, match="bad.tif"):
        disk.load("bad.tif")


def _crashing_imwrite(real: Any) -> Any:
    def imwrite(fh: Any, data: Any, **kwargs: Any) -> None:
        real(fh, data[: data.shape[0] // 2], **kwargs)  # half the data reaches the file...
        raise RuntimeError("power cut")  # ...then the process dies

    return imwrite


def test_atomic_write_survives_crash(disk: DiskBackend, tmp_path: Path, monkeypatch: Any) -> None:
    old = make_image(np.uint16, (32, 32), seed=1)
    disk.save(old, "s/A01_s1_w1_z1.tif")
    monkeypatch.setattr(tifffile, "imwrite", _crashing_imwrite(tifffile.imwrite))
    with pytest.raises(RuntimeError, match="power cut"):
        disk.save(make_image(np.uint16, (32, 32), seed=2), "s/A01_s1_w1_z1.tif")
    with pytest.raises(RuntimeError, match="power cut"):
        disk.save(make_image(np.uint16, (32, 32), seed=3), "s/A01_s2_w1_z1.tif")
    assert _names(tmp_path / "s") == ["A01_s1_w1_z1.tif"]  # no half file, no temp file
    assert_same_array(disk.load("s/A01_s1_w1_z1.tif"), old)  # the old file is intact


def test_disk_full_is_storage_error(disk: DiskBackend, tmp_path: Path, monkeypatch: Any) -> None:
    def full(*args: Any, **kwargs: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(tifffile, "imwrite", full)
    with pytest.raises(StorageError, match=r"Disk full.*out/a\.tif") as info:
        disk.save(np.ones((4, 4), np.uint8), "out/a.tif")
    assert info.value.__cause__ is not None and info.value.__cause__.errno == errno.ENOSPC
    assert _names(tmp_path / "out") == []


def test_parent_is_a_file_is_not_writable(disk: DiskBackend, tmp_path: Path) -> None:
    (tmp_path / "blocker").write_text("I am a file")  # fails even for root
    with pytest.raises(NotWritableError, match=str(tmp_path / "blocker" / "a.tif")) as info:
        disk.save(np.ones((2, 2)), "blocker/a.tif")
    assert isinstance(info.value, PermissionError)
    with pytest.raises(NotWritableError, match="blocker"):
        disk.ensure_directory("blocker/sub")


def test_permission_denied_is_not_writable(disk: DiskBackend, tmp_path: Path, monkeypatch: Any) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    real_open = open

    def deny(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        # What the kernel does for a non-root user in a 0o555 folder (tests run as root).
        if "x" in mode and os.path.dirname(os.fspath(file)) == str(locked):
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(file))
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr("builtins.open", deny)
    try:
        with pytest.raises(NotWritableError, match=rf"{locked}/a\.tif.*not writable"):
            disk.save(np.ones((2, 2)), "locked/a.tif")
    finally:
        locked.chmod(0o755)
    assert _names(locked) == []


def test_temp_files_are_invisible(disk: DiskBackend, tmp_path: Path) -> None:
    disk.save(np.ones((2, 2)), "d/a.tif")
    (tmp_path / "d" / ".a.tif.0123456789ab.openhcs-tmp").write_bytes(b"in flight")
    assert disk.list_dir("d") == ["a.tif"]
    assert disk.list_files("d", recursive=True) == ["d/a.tif"]


def test_empty_directories(disk: DiskBackend) -> None:
    assert disk.ensure_directory("/ws/step1_blur/") == "ws/step1_blur"
    assert disk.is_dir("ws/step1_blur") and disk.list_files("ws/step1_blur") == []
    disk.save(np.ones((2, 2)), "ws/step1_blur/a.tif")
    disk.delete("ws/step1_blur/a.tif")
    assert disk.is_dir("ws/step1_blur")  # folders outlive their last file on disk


def test_root_refuses_escape_and_root_delete(tmp_path: Path) -> None:
    disk = DiskBackend(f"file://{tmp_path}/r")
    assert disk.root == str(tmp_path / "r")
    with pytest.raises(InvalidPathError, match="escape"):
        disk.save("x", "../outside.txt")
    with pytest.raises(InvalidPathError, match="root"):
        disk.delete_tree("/")
    assert not (tmp_path / "outside.txt").exists()


def test_default_root_maps_absolute_paths(tmp_path: Path) -> None:
    disk = DiskBackend()
    target = tmp_path / "ws" / "A01_s1_w1_z1.tif"
    disk.save(np.ones((2, 2), np.uint8), str(target))
    assert target.is_file()
    assert disk.list_files(tmp_path / "ws") == [str(target).lstrip("/")]
    assert repr(disk) == "DiskBackend('file:///')"


def test_batch_uses_threads_and_checks_first(tmp_path: Path) -> None:
    disk = DiskBackend(tmp_path, max_workers=4)
    keys = [f"b/A01_s{i}_w1_z1.tif" for i in range(1, 9)]
    images = [make_image(np.uint16, (32, 32), seed=i) for i in range(8)]
    disk.save_batch(images, keys)
    for got, image in zip(disk.load_batch(keys), images, strict=True):
        assert_same_array(got, image)
    with pytest.raises(UnsupportedFormatError):
        disk.save_batch(images[:2], ["c/a.tif", "c/b.png"])
    assert not (tmp_path / "c").exists()  # nothing written when one path is bad


def test_move_renames_file_and_folder(disk: DiskBackend, tmp_path: Path) -> None:
    disk.save(np.ones((2, 2)), "m/a.tif")
    inode = (tmp_path / "m" / "a.tif").stat().st_ino
    disk.move("m/a.tif", "n/b.tif")
    assert (tmp_path / "n" / "b.tif").stat().st_ino == inode  # renamed, not copied
    disk.move("n", "o/p")
    assert disk.list_prefix("o") == ["o/p/b.tif"] and not disk.exists("n")


def test_batch_pool_is_kept_closed_and_survives_pickling(tmp_path: Path) -> None:
    disk = DiskBackend(tmp_path, max_workers=2)
    keys = [f"p/A01_s{i}_w1_z1.tif" for i in range(1, 5)]
    images = [make_image(np.uint16, (8, 8), seed=i) for i in range(4)]
    disk.save_batch(images, keys)
    pool = disk._pool
    assert pool is not None
    disk.load_batch(keys)
    assert disk._pool is pool  # one pool per backend, not one per call
    clone = pickle.loads(pickle.dumps(disk))
    assert clone == disk and clone._pool is None  # threads do not travel
    for got, image in zip(clone.load_batch(keys), images, strict=True):
        assert_same_array(got, image)
    assert clone._pool is not None and clone._pool is not pool
    disk.close()
    assert disk._pool is None
    disk.save_batch(images, keys)  # a batch after close starts a new pool
    disk.close()
    clone.close()


def test_batch_runs_every_item_then_raises_the_first_error(tmp_path: Path) -> None:
    disk = DiskBackend(tmp_path, max_workers=2)
    (tmp_path / "q" / "b.tif").mkdir(parents=True)  # a folder where the 2nd file should go
    good = make_image(np.uint8, (4, 4))
    with pytest.raises(PathExistsError, match="b.tif"):
        disk.save_batch([good, good, good], ["q/a.tif", "q/b.tif", "q/c.tif"])
    assert disk.is_file("q/a.tif") and disk.is_file("q/c.tif")
    disk.close()


def test_missing_folders_are_made_on_first_write_only(tmp_path: Path) -> None:
    disk = DiskBackend(tmp_path, max_workers=4)
    keys = [f"deep/er/A01_s{i}_w1_z1.tif" for i in range(1, 9)]  # 8 threads race to make it
    disk.save_batch([make_image(np.uint8, (4, 4))] * 8, keys)
    assert disk.list_files("deep/er") == keys
    (tmp_path / "x").write_text("a file")
    with pytest.raises(NotWritableError):
        disk.save(make_image(np.uint8, (4, 4)), "x/y/z.tif")
    disk.close()
