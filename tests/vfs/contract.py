"""The storage contract every backend must pass (zarr-python's ``StoreTests`` shape).

A backend's test module subclasses :class:`BackendContract` and supplies:

- ``backend_cls``: the class under test;
- a ``backend_kwargs`` fixture: keyword arguments that build an empty backend;
- ``put_raw(backend, key, array)`` / ``get_raw(backend, key)``: write and read one
  image *without* the backend's own methods, so save/load/list/delete are checked
  against the real stored data rather than against each other.

Image keys come from one hook, :meth:`BackendContract.image_key`. With
``image_key_style = "plain"`` an image is ``<folder>/img<i>.tif``; with
``"zarr"`` it is ``<folder>/images.zarr/A01_s<i+1>_w1_z1.tif`` (an image of the
OME-Zarr plate store in ``<folder>``). Every test builds its keys through that
hook, so the same tests run on memory, disk and zarr.

:class:`ObjectStoreContract` adds the tests for non-image objects (tables, text,
JSON-like dicts) that only memory and disk store; mix it in beside the contract.
The hypothesis state machine (:class:`BackendStateMachine`) runs random
save/delete/copy sequences against the backend and a plain dict and checks that
they agree (zarr's ``testing/stateful.py``). Helpers, the property tests and the
machine live in ``contract_support.py`` (re-exported here).

Import it as ``from contract import BackendContract`` (pytest's default
``prepend`` import mode puts ``tests/vfs`` on ``sys.path``; there is no
``tests/__init__.py``)::

    class TestZarrBackend(BackendContract):
        backend_cls = ZarrBackend
        image_key_style = "zarr"

        @pytest.fixture
        def backend_kwargs(self, tmp_path):
            return {"root": str(tmp_path)}

        def put_raw(self, backend, key, array): ...   # write with zarr directly
        def get_raw(self, backend, key): ...          # read with zarr directly
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from typing import Any, ClassVar

import numpy as np
import pytest
from contract_support import (
    DTYPES,
    BackendStateMachine,
    ObjectStoreContract,
    PropertyContract,
    assert_same_array,
    children,
    make_image,
    segment_names,
)

from openhcs_gui.errors import (
    InvalidPathError,
    PathExistsError,
    PathNotFoundError,
    ReadOnlyBackendError,
)
from openhcs_gui.vfs.base import StorageBackend
from openhcs_gui.vfs.keys import ImageKey

__all__ = [
    "BackendContract",
    "ObjectStoreContract",
    "BackendStateMachine",
    "PropertyContract",
    "assert_same_array",
    "make_image",
    "segment_names",
]


class BackendContract(PropertyContract):
    """Generic tests every :class:`StorageBackend` passes; subclass per backend."""

    backend_cls: ClassVar[type[StorageBackend]]
    #: ``"plain"`` -> ``dir/img0.tif``; ``"zarr"`` -> ``dir/images.zarr/A01_s1_w1_z1.tif``.
    image_key_style: ClassVar[str] = "plain"
    #: Name of the zarr store folder used by the ``"zarr"`` key style.
    store_name: ClassVar[str] = "images.zarr"
    #: True if a folder outlives its last file (disk); prefix-only backends say False.
    supports_empty_directories: ClassVar[bool] = False

    # ------------------------------------------------------------- hooks
    @pytest.fixture
    def backend_kwargs(self, tmp_path: Any) -> dict[str, Any]:
        """Keyword arguments building an empty backend (override per backend)."""
        raise NotImplementedError("BackendContract subclasses define backend_kwargs")

    def put_raw(self, backend: StorageBackend, key: str, array: np.ndarray) -> None:
        """Store ``array`` at ``key`` without calling the backend's own methods."""
        raise NotImplementedError

    def get_raw(self, backend: StorageBackend, key: str) -> np.ndarray:
        """Read ``key`` without the backend's methods; raise ``KeyError``/``OSError`` if absent."""
        raise NotImplementedError

    def image_dir(self, folder: str) -> str:
        """Directory that directly holds the images saved under ``folder``."""
        return f"{folder}/{self.store_name}" if self.image_key_style == "zarr" else folder

    def image_key(self, folder: str = "dir", index: int = 0) -> str:
        """Key of the ``index``-th test image under ``folder``."""
        if self.image_key_style == "zarr":
            return f"{self.image_dir(folder)}/{ImageKey('A01', index + 1, 1).filename('.tif')}"
        return f"{folder}/img{index}.tif"

    # ----------------------------------------------------------- fixtures
    @pytest.fixture
    def backend(self, backend_kwargs: dict[str, Any]) -> Iterator[StorageBackend]:
        b = self.backend_cls(**backend_kwargs)
        yield b
        b.close()

    @pytest.fixture
    def read_only_backend(self, backend_kwargs: dict[str, Any]) -> Iterator[StorageBackend]:
        b = self.backend_cls(**{**backend_kwargs, "read_only": True})
        yield b
        b.close()

    def _raw_missing(self, backend: StorageBackend, key: str) -> bool:
        try:
            self.get_raw(backend, key)
        except (KeyError, OSError, ValueError):
            return True
        return False

    # ------------------------------------------------------- type, eq, repr
    def test_is_storage_backend(self, backend: StorageBackend) -> None:
        assert isinstance(backend, StorageBackend)
        assert isinstance(backend, self.backend_cls)
        assert backend.read_only is False

    def test_repr_names_class_and_scheme(self, backend: StorageBackend) -> None:
        text = repr(backend)
        assert text.startswith(f"{self.backend_cls.__name__}('{backend.scheme}://")
        assert text.endswith("')")

    def test_eq(self, backend: StorageBackend, backend_kwargs: dict[str, Any]) -> None:
        assert backend == backend
        assert backend == self.backend_cls(**backend_kwargs)
        assert backend != self.backend_cls(**{**backend_kwargs, "read_only": True})
        assert backend != object()

    def test_pickle_round_trip(self, backend: StorageBackend) -> None:
        key = self.image_key()
        image = make_image()
        backend.save(image, key)
        clone = pickle.loads(pickle.dumps(backend))
        assert clone == backend
        assert clone.read_only == backend.read_only
        assert_same_array(clone.load(key), image)
        other = self.image_key(index=1)
        clone.save(image, other)  # the clone is a working backend, not a husk
        assert_same_array(clone.load(other), image)

    # ----------------------------------------------------------- round trip
    @pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
    def test_save_then_raw(self, backend: StorageBackend, dtype: Any) -> None:
        key, image = self.image_key(), make_image(dtype, seed=1)
        backend.save(image, key)
        assert_same_array(self.get_raw(backend, key), image)

    @pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
    def test_raw_then_load(self, backend: StorageBackend, dtype: Any) -> None:
        key, image = self.image_key(), make_image(dtype, seed=2)
        self.put_raw(backend, key, image)
        assert_same_array(backend.load(key), image)

    def test_overwrite(self, backend: StorageBackend) -> None:
        key = self.image_key()
        backend.save(make_image(seed=3), key)
        second = make_image(seed=4)
        backend.save(second, key)
        assert_same_array(backend.load(key), second)

    def test_overwrite_false_refuses_existing(self, backend: StorageBackend) -> None:
        key, first = self.image_key(), make_image(seed=5)
        backend.save(first, key)
        with pytest.raises(PathExistsError, match="img0|A01_s1"):
            backend.save(make_image(seed=6), key, overwrite=False)
        assert_same_array(backend.load(key), first)

    def test_accepts_pathlike_slashes_and_protocols(self, backend: StorageBackend) -> None:
        from pathlib import PurePosixPath

        key, image = self.image_key("a/b"), make_image(seed=7)
        backend.save(image, PurePosixPath("/" + key))
        assert_same_array(backend.load("//" + key.replace("/", "//")), image)
        assert backend.is_file(f"{backend.scheme}://{key}")

    # ------------------------------------------------------------ existence
    def test_exists_is_file_is_dir(self, backend: StorageBackend) -> None:
        key = self.image_key("plate")
        assert not backend.exists(key)
        self.put_raw(backend, key, make_image())
        assert backend.exists(key) and backend.is_file(key) and not backend.is_dir(key)
        folder = self.image_dir("plate")
        assert backend.is_dir(folder) and backend.is_dir("plate") and backend.is_dir("")
        assert not backend.is_file(folder)
        assert not backend.is_dir("pla") and not backend.exists("pla")  # a string prefix is no folder
        missing = self.image_key("plate", index=5)
        assert not backend.exists(missing) and not backend.is_file(missing)

    # --------------------------------------------------------------- listing
    def _populate(self, backend: StorageBackend) -> list[str]:
        keys = [
            self.image_key("p", 0),
            self.image_key("p", 1),
            self.image_key("p/sub", 0),
            self.image_key("p2", 0),  # sibling sharing the string prefix "p"
        ]
        for i, key in enumerate(keys):
            self.put_raw(backend, key, make_image(np.uint8, (8, 8), seed=i))
        return keys

    def test_list_dir(self, backend: StorageBackend) -> None:
        keys = self._populate(backend)
        for directory in ("", "p", self.image_dir("p"), "p/sub"):
            assert backend.list_dir(directory) == children(keys, directory), directory

    def test_list_files_flat_and_recursive(self, backend: StorageBackend) -> None:
        keys = self._populate(backend)
        assert backend.list_files(self.image_dir("p")) == [keys[0], keys[1]]
        assert backend.list_files("p", recursive=True) == sorted(keys[:3])
        assert backend.list_prefix("p") == sorted(keys[:3])
        assert backend.list_prefix("missing") == []

    def test_list_files_extensions(self, backend: StorageBackend) -> None:
        keys = self._populate(backend)
        folder = self.image_dir("p")
        assert backend.list_files(folder, extensions=[".tif"]) == keys[:2]
        assert backend.list_files(folder, extensions={"TIF", ".tiff"}) == keys[:2]
        assert backend.list_files(folder, extensions=[".png"]) == []

    def test_list_missing_directory(self, backend: StorageBackend) -> None:
        with pytest.raises(PathNotFoundError, match="nowhere"):
            backend.list_files("nowhere")
        with pytest.raises(PathNotFoundError, match="nowhere"):
            backend.list_dir("nowhere")

    # ---------------------------------------------------------------- delete
    def test_delete_file(self, backend: StorageBackend) -> None:
        keys = self._populate(backend)
        backend.delete(keys[0])
        assert not backend.exists(keys[0]) and self._raw_missing(backend, keys[0])
        assert_same_array(self.get_raw(backend, keys[1]), make_image(np.uint8, (8, 8), seed=1))

    def test_delete_tree_keeps_prefix_sibling(self, backend: StorageBackend) -> None:
        keys = self._populate(backend)
        backend.delete("p")
        assert not backend.exists("p")
        assert backend.list_prefix("p") == []
        assert all(self._raw_missing(backend, k) for k in keys[:3])
        assert backend.list_prefix("p2") == [keys[3]]
        assert not backend.is_empty()

    def test_delete_missing(self, backend: StorageBackend) -> None:
        with pytest.raises(PathNotFoundError, match="ghost") as info:
            backend.delete(self.image_key("ghost"))
        assert isinstance(info.value, FileNotFoundError)

    # ---------------------------------------------------------------- errors
    def test_load_missing_is_file_not_found(self, backend: StorageBackend) -> None:
        key = self.image_key("nothing")
        with pytest.raises(FileNotFoundError, match="nothing") as info:
            backend.load(key)
        assert isinstance(info.value, PathNotFoundError)

    @pytest.mark.parametrize(
        "bad", ["../x.tif", "a/../../x.tif", "a\\..\\x.tif", "/../etc/x.tif", "a/b/../c.tif"]
    )
    def test_dotdot_is_refused(self, backend: StorageBackend, bad: str) -> None:
        for call in (backend.load, backend.exists, backend.is_file, backend.delete, backend.list_files):
            with pytest.raises(InvalidPathError, match=r"\.\."):
                call(bad)
        with pytest.raises(InvalidPathError):
            backend.save(make_image(), bad)

    # ----------------------------------------------------------------- batch
    def test_batch_round_trip(self, backend: StorageBackend) -> None:
        keys = [self.image_key("batch", i) for i in range(4)]
        images = [make_image(np.uint16, (16, 16), seed=i) for i in range(4)]
        backend.save_batch(images, keys)
        for key, image in zip(keys, images, strict=True):
            assert_same_array(self.get_raw(backend, key), image)
        loaded = backend.load_batch(list(reversed(keys)))
        for got, image in zip(loaded, reversed(images), strict=True):
            assert_same_array(got, image)

    def test_batch_length_mismatch(self, backend: StorageBackend) -> None:
        with pytest.raises(ValueError, match="2 objects for 1 paths"):
            backend.save_batch([make_image(), make_image()], [self.image_key()])

    def test_load_batch_missing(self, backend: StorageBackend) -> None:
        self.put_raw(backend, self.image_key(), make_image())
        with pytest.raises(PathNotFoundError):
            backend.load_batch([self.image_key(), self.image_key(index=3)])

    # ------------------------------------------------- copy / move scenarios
    def test_copy_file_to_new_file(self, backend: StorageBackend) -> None:
        src, dst, image = self.image_key("src"), self.image_key("dst", 1), make_image(seed=8)
        self.put_raw(backend, src, image)
        backend.copy(src, dst)
        assert_same_array(self.get_raw(backend, dst), image)
        assert_same_array(self.get_raw(backend, src), image)

    def test_copy_no_overwrite(self, backend: StorageBackend) -> None:
        src, dst = self.image_key("src"), self.image_key("dst")
        self.put_raw(backend, src, make_image(seed=9))
        self.put_raw(backend, dst, make_image(seed=10))
        with pytest.raises(PathExistsError, match="dst"):
            backend.copy(src, dst)
        assert_same_array(self.get_raw(backend, dst), make_image(seed=10))
        backend.copy(src, dst, overwrite=True)
        assert_same_array(self.get_raw(backend, dst), make_image(seed=9))

    def test_copy_directory_to_new_directory(self, backend: StorageBackend) -> None:
        keys = self._populate(backend)
        backend.copy("p", "q/new")
        expected = sorted("q/new" + k[1:] for k in keys[:3])
        assert backend.list_prefix("q/new") == expected
        for src, dst in zip(sorted(keys[:3]), expected, strict=True):
            assert_same_array(self.get_raw(backend, dst), self.get_raw(backend, src))
        assert backend.list_prefix("p") == sorted(keys[:3])

    def test_copy_into_itself_and_missing(self, backend: StorageBackend) -> None:
        self._populate(backend)
        with pytest.raises(InvalidPathError):
            backend.copy("p", "p/inside")
        with pytest.raises(PathNotFoundError):
            backend.copy("ghost", "elsewhere")

    def test_move_file(self, backend: StorageBackend) -> None:
        src, dst, image = self.image_key("src"), self.image_key("moved"), make_image(seed=11)
        self.put_raw(backend, src, image)
        backend.move(src, dst)
        assert not backend.exists(src) and self._raw_missing(backend, src)
        assert_same_array(self.get_raw(backend, dst), image)

    def test_move_directory(self, backend: StorageBackend) -> None:
        keys = self._populate(backend)
        backend.move("p", "moved")
        assert backend.list_prefix("p") == []
        assert backend.list_prefix("moved") == sorted("moved" + k[1:] for k in keys[:3])
        assert backend.list_prefix("p2") == [keys[3]]

    def test_move_no_overwrite_keeps_source(self, backend: StorageBackend) -> None:
        src, dst = self.image_key("src"), self.image_key("dst")
        self.put_raw(backend, src, make_image(seed=12))
        self.put_raw(backend, dst, make_image(seed=13))
        with pytest.raises(PathExistsError):
            backend.move(src, dst)
        assert_same_array(self.get_raw(backend, src), make_image(seed=12))
        assert_same_array(self.get_raw(backend, dst), make_image(seed=13))

    # ------------------------------------------------------------- read-only
    def test_read_only_refuses_every_writer(self, read_only_backend: StorageBackend) -> None:
        b = read_only_backend
        key, other, image = self.image_key("ro"), self.image_key("ro", 1), make_image(seed=14)
        self.put_raw(b, key, image)
        writers = {
            "save": lambda: b.save(image, other),
            "save_batch": lambda: b.save_batch([image], [other]),
            "delete": lambda: b.delete(key),
            "delete_tree": lambda: b.delete_tree("ro"),
            "copy": lambda: b.copy(key, other),
            "move": lambda: b.move(key, other),
            "ensure_directory": lambda: b.ensure_directory("ro/new"),
        }
        for name, call in writers.items():
            with pytest.raises(ReadOnlyBackendError, match="read-only") as info:
                call()
            assert isinstance(info.value, PermissionError), name
        assert b.read_only
        assert_same_array(b.load(key), image)  # reading still works
        assert not b.exists(other) and self._raw_missing(b, other)
