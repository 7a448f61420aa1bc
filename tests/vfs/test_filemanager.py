"""FileManager: routing by Backend or string, lazy creation, registry, errors, close."""

from __future__ import annotations

import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from contract import assert_same_array, make_image

from openhcs_gui.constants import Backend
from openhcs_gui.errors import PathExistsError, PathNotFoundError
from openhcs_gui.vfs import DiskBackend, FileManager, MemoryBackend, StorageBackend
from openhcs_gui.vfs.filemanager import (
    UnknownBackendError,
    register_backend,
    registered_backends,
)


@pytest.fixture
def fm(tmp_path: Path) -> FileManager:
    return FileManager({Backend.DISK: DiskBackend(tmp_path)})


@pytest.mark.parametrize("name", [Backend.MEMORY, "memory", Backend.DISK, "disk"])
def test_routes_every_operation(fm: FileManager, name: Backend | str) -> None:
    image = make_image(np.uint16, (16, 16))
    fm.save(image, "ws/step1/A01_s1_w1_z1.tif", name)
    assert fm.exists("ws/step1/A01_s1_w1_z1.tif", name) and fm.is_file("ws/step1/A01_s1_w1_z1.tif", name)
    assert fm.is_dir("ws/step1", name)
    assert_same_array(fm.load("ws/step1/A01_s1_w1_z1.tif", name), image)
    fm.save_batch([image, image], ["ws/step1/A01_s2_w1_z1.tif", "ws/step1/sub/A02_s1_w1_z1.tif"], name)
    assert fm.list_files("ws/step1", name) == ["ws/step1/A01_s1_w1_z1.tif", "ws/step1/A01_s2_w1_z1.tif"]
    assert fm.list_files("ws", name, extensions=[".tif"], recursive=True) == [
        "ws/step1/A01_s1_w1_z1.tif",
        "ws/step1/A01_s2_w1_z1.tif",
        "ws/step1/sub/A02_s1_w1_z1.tif",
    ]
    assert fm.list_dir("ws/step1", name) == ["A01_s1_w1_z1.tif", "A01_s2_w1_z1.tif", "sub"]
    assert len(fm.load_batch(["ws/step1/A01_s1_w1_z1.tif", "ws/step1/A01_s2_w1_z1.tif"], name)) == 2
    fm.copy("ws/step1", "ws/copy", name)
    with pytest.raises(PathExistsError):
        fm.copy("ws/step1", "ws/copy", name)
    fm.move("ws/copy", "ws/moved", name)
    assert not fm.exists("ws/copy", name) and fm.is_file("ws/moved/sub/A02_s1_w1_z1.tif", name)
    fm.delete("ws/moved", name)
    with pytest.raises(PathNotFoundError):
        fm.load("ws/moved/A01_s1_w1_z1.tif", name)
    assert fm.ensure_directory("/ws/new/", name) == "ws/new"


def test_same_instance_for_enum_and_string(fm: FileManager) -> None:
    assert fm.backend("memory") is fm.backend(Backend.MEMORY)
    assert isinstance(fm.backend(Backend.MEMORY), MemoryBackend)
    assert fm.backend("disk") is fm.active_backends["disk"]


def test_each_manager_owns_its_memory() -> None:
    one, two = FileManager(), FileManager()
    one.save(np.ones(2), "a.npy", Backend.MEMORY)
    assert not two.exists("a.npy", Backend.MEMORY)
    assert one.backend(Backend.MEMORY) is not two.backend(Backend.MEMORY)


def test_default_disk_backend_uses_absolute_paths(tmp_path: Path) -> None:
    fm = FileManager()
    fm.save("hi", tmp_path / "x.txt", "disk")
    assert (tmp_path / "x.txt").read_text() == "hi"


def test_unknown_backend_lists_valid_names(fm: FileManager) -> None:
    with pytest.raises(UnknownBackendError, match=r"'s3'.*disk, memory, zarr") as info:
        fm.save(np.ones(2), "a.npy", "s3")
    assert isinstance(info.value, ValueError)
    with pytest.raises(UnknownBackendError, match="MEMORY"):
        fm.backend("MEMORY")  # values are lowercase; no guessing
    with pytest.raises(UnknownBackendError):
        FileManager({"tape": MemoryBackend()})


def test_backends_are_created_lazily() -> None:
    fm = FileManager()
    assert fm.active_backends == {}
    fm.exists("x", "memory")
    assert list(fm.active_backends) == ["memory"]


def test_lazy_creation_is_thread_safe() -> None:
    fm = FileManager()
    seen: list[StorageBackend] = []
    barrier = threading.Barrier(8)

    def grab() -> None:
        barrier.wait()
        seen.append(fm.backend(Backend.MEMORY))

    threads = [threading.Thread(target=grab) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len({id(b) for b in seen}) == 1


class _Recording(MemoryBackend):
    closed = 0

    def close(self) -> None:
        type(self).closed += 1


def test_registry_plugin_and_close() -> None:
    made: list[Mapping[str, Any]] = []

    def factory(options: Mapping[str, Any]) -> StorageBackend:
        made.append(options)
        return _Recording()

    register_backend("recording", factory)
    try:
        assert "recording" in registered_backends()
        with pytest.raises(ValueError, match="already registered"):
            register_backend("recording", factory)
        with FileManager(zarr_config=None) as fm:
            fm.save("x", "a.txt", "recording")
            fm.backend("recording")
            assert len(made) == 1 and made[0] == {"zarr_config": None, "plate_metadata": None}
        assert _Recording.closed == 1
    finally:
        from openhcs_gui.vfs import filemanager

        filemanager._REGISTRY.pop("recording")


def test_zarr_is_not_imported_until_used() -> None:
    import subprocess

    code = (
        "import sys; from openhcs_gui.vfs import FileManager; fm = FileManager();"
        "fm.save(b'', 'a', 'memory'); fm.exists('/tmp', 'disk');"
        "assert 'zarr' not in sys.modules, 'zarr imported eagerly'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[2])


def test_zarr_backend_built_lazily_from_config() -> None:
    import openhcs_gui.vfs as vfs
    from openhcs_gui.config import ZarrConfig
    from openhcs_gui.vfs.zarr_store import ZarrBackend

    assert vfs.ZarrBackend is ZarrBackend  # module __getattr__
    fm = FileManager(zarr_config=ZarrConfig(compression_level=5))
    backend = fm.backend("zarr")
    assert isinstance(backend, ZarrBackend) and backend is fm.backend(Backend.ZARR)
    assert backend.config.compression_level == 5
    fm.close()
