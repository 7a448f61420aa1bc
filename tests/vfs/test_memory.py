"""MemoryBackend: the contract plus zero-copy, read-only views, memory control, threads."""

from __future__ import annotations

import threading
from typing import Any

import hypothesis.strategies as st
import numpy as np
import pytest
from contract import (
    BackendContract,
    ObjectStoreContract,
    assert_same_array,
    make_image,
)
from hypothesis import given, settings

from openhcs_gui.errors import NotWritableError, PathExistsError
from openhcs_gui.vfs.memory import MemoryBackend


class TestMemoryBackend(BackendContract, ObjectStoreContract):
    backend_cls = MemoryBackend

    @pytest.fixture
    def backend_kwargs(self) -> dict[str, Any]:
        return {}

    def put_raw(self, backend: MemoryBackend, key: str, array: np.ndarray) -> None:
        backend._data[key] = array

    def get_raw(self, backend: MemoryBackend, key: str) -> np.ndarray:
        return backend._data[key]


@pytest.fixture
def mem() -> MemoryBackend:
    return MemoryBackend()


def test_load_is_zero_copy(mem: MemoryBackend) -> None:
    image = make_image(np.uint16, (64, 64))
    mem.save(image, "w/A01_s1_w1_z1.tif")
    loaded = mem.load("w/A01_s1_w1_z1.tif")
    assert np.shares_memory(image, loaded)
    assert loaded is not image and loaded.base is image  # a view, not a copy
    assert mem.load_batch(["w/A01_s1_w1_z1.tif"])[0].flags.writeable is False


def test_loaded_view_is_read_only(mem: MemoryBackend) -> None:
    image = make_image(np.float32, (8, 8))
    mem.save(image, "a.tif")
    loaded = mem.load("a.tif")
    assert not loaded.flags.writeable

    def edits_input(stack: np.ndarray) -> np.ndarray:
        stack += 1  # an in-place step function
        return stack

    with pytest.raises(ValueError, match="read-only"):
        edits_input(loaded)
    assert_same_array(mem.load("a.tif"), image)
    assert image.flags.writeable  # the caller's own array is left alone


def test_copy_shares_storage_and_stays_read_only(mem: MemoryBackend) -> None:
    image = make_image(np.uint8, (8, 8))
    mem.save(image, "a/x.tif")
    mem.copy("a/x.tif", "b/x.tif")
    copied = mem.load("b/x.tif")
    assert np.shares_memory(copied, image) and not copied.flags.writeable


def test_objects_are_stored_as_is(mem: MemoryBackend) -> None:
    rows = [{"well": "A01", "count": 3}]
    mem.save(rows, "t/A01_cells.csv")
    mem.save({"k": 1}, "meta")
    assert mem.load("t/A01_cells.csv") is rows
    assert mem.load("meta") == {"k": 1}


def test_nbytes_drop_clear(mem: MemoryBackend) -> None:
    a, b, c = (np.zeros((64, 64), np.uint16) for _ in range(3))
    mem.save(a, "s1/a.tif")
    mem.save(b, "s1/sub/b.tif")
    mem.save(c, "s10/c.tif")  # shares the string prefix "s1"
    mem.save([{"x": 1}], "s1/t.csv")  # tables are not counted
    assert mem.nbytes == 3 * 64 * 64 * 2
    assert mem.drop("s1") == 2 * 64 * 64 * 2
    assert mem.list_prefix("") == ["s10/c.tif"]
    assert mem.drop("s1") == 0  # idempotent
    assert mem.drop("s10/c.tif") == 64 * 64 * 2
    mem.save(a, "x.tif")
    mem.clear()
    assert mem.nbytes == 0 and mem.is_empty()


def test_own_store_per_instance() -> None:
    one, two = MemoryBackend(), MemoryBackend()
    one.save(np.ones(3), "a.npy")
    assert not two.exists("a.npy")
    assert repr(one) != repr(two)
    assert repr(one).startswith("MemoryBackend('memory://")


def test_file_and_folder_cannot_share_a_name(mem: MemoryBackend) -> None:
    mem.save(np.ones(2), "d/f.tif")
    with pytest.raises(PathExistsError, match="directory"):
        mem.save(np.ones(2), "d")


def test_eight_threads_save_load_delete(mem: MemoryBackend) -> None:
    n_threads, per_thread = 8, 200
    errors: list[BaseException] = []
    barrier = threading.Barrier(n_threads)

    def work(t: int) -> None:
        try:
            barrier.wait()
            for i in range(per_thread):
                key = f"w{t}/img{i}.tif"
                image = np.full((4, 4), t * 1000 + i, np.uint16)
                mem.save(image, key)
                assert mem.load(key)[0, 0] == t * 1000 + i
                mem.list_dir(f"w{t}")
                if i % 2:
                    mem.delete(key)
        except BaseException as e:  # collected and re-raised in the main thread
            errors.append(e)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(n_threads)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors[0]
    assert len(mem.list_prefix("")) == n_threads * per_thread // 2
    assert mem.nbytes == n_threads * per_thread // 2 * 4 * 4 * 2


def test_save_batch_is_all_or_nothing(mem: MemoryBackend) -> None:
    old = np.zeros(2)
    mem.save(old, "b/a.npy")
    with pytest.raises(NotWritableError, match="a.npy/x"):  # the 3rd clashes with the 2nd
        mem.save_batch([np.ones(2), np.ones(2), np.ones(2)], ["b/new.npy", "b/a.npy", "b/a.npy/x"])
    assert mem.list_prefix("") == ["b/a.npy"]
    assert_same_array(mem.load("b/a.npy"), old)
    assert not mem.is_dir("b/a.npy")  # the directory index was rolled back too


def test_directory_index_follows_raw_and_api_writes(mem: MemoryBackend) -> None:
    mem._data["x/y/z.tif"] = np.ones(1)  # raw, like the contract's put_raw
    mem.save(np.ones(1), "x/w.tif")
    assert mem.is_dir("x") and mem.is_dir("x/y") and not mem.is_dir("x/y/z.tif")
    mem.delete("x/y/z.tif")
    assert not mem.is_dir("x/y") and mem.is_dir("x")
    mem.drop("x")
    assert not mem.is_dir("x") and mem._data.dirs == {}


def _expected_dirs(keys: set[str]) -> dict[str, int]:
    """Direct-children count of every folder implied by ``keys`` (the index's definition)."""
    children: dict[str, set[str]] = {}
    for key in keys:
        parts = key.split("/")
        for i in range(1, len(parts)):
            children.setdefault("/".join(parts[:i]), set()).add(parts[i])
    return {d: len(c) for d, c in children.items()}


_SEGMENT = st.sampled_from(["a", "b", "c"])
_KEY = st.lists(_SEGMENT, min_size=1, max_size=4).map(lambda p: "/".join(p) + ".npy")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), _KEY), max_size=30))
def test_directory_index_matches_keys_after_random_saves_and_deletes(
    ops: list[tuple[bool, str]],
) -> None:
    mem = MemoryBackend()
    for save, key in ops:
        if save:
            mem.save(np.zeros(1), key)
        elif mem.is_file(key):
            mem.delete(key)
        assert mem._data.dirs == _expected_dirs(set(mem._data))
    mem.drop("a")
    assert mem._data.dirs == _expected_dirs(set(mem._data))


def test_file_parent_refused_in_new_and_known_folders(mem: MemoryBackend) -> None:
    mem.save(np.ones(1), "d/f.npy")
    with pytest.raises(NotWritableError, match="'d/f.npy' is a file"):
        mem.save(np.ones(1), "d/f.npy/x/y.npy")  # new folder: the parent walk runs
    mem.save(np.ones(1), "d/g.npy")  # known folder: no walk needed
    assert mem.list_prefix("d") == ["d/f.npy", "d/g.npy"]
    with pytest.raises(PathExistsError, match="directory"):
        mem.save(np.ones(1), "d")
