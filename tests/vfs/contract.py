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
The hypothesis state machine (:class:`BackendStateMachine`) runs random
save/delete/copy sequences against the backend and a plain dict and checks that
they agree (zarr's ``testing/stateful.py``).
"""

from __future__ import annotations

import itertools
import pickle
import posixpath
from collections.abc import Iterator
from typing import Any, ClassVar

import hypothesis.extra.numpy as hnp
import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
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
    "assert_same_array",
    "segment_names",
]

DTYPES = (np.uint8, np.uint16, np.float32)
_COUNTER = itertools.count()

#: One path segment a user might type: unicode, spaces, dots inside, never '.'/'..'.
segment_names = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs", "Cc", "Cn"), blacklist_characters="/\\\x00"
    ),
    min_size=1,
    max_size=10,
).filter(lambda s: s not in (".", "..") and not s.lower().endswith(".zarr") and "tmp" not in s)


def assert_same_array(actual: Any, expected: np.ndarray) -> None:
    """Exact equality: shape, dtype and every byte (so NaN payloads and -0.0 count)."""
    actual = np.asarray(actual)
    assert actual.shape == expected.shape
    assert actual.dtype == expected.dtype
    assert actual.tobytes() == expected.tobytes()


def make_image(dtype: Any = np.uint16, shape: tuple[int, ...] = (64, 64), seed: int = 0) -> np.ndarray:
    """Deterministic test image that uses the dtype's full range (not just zeros)."""
    rng = np.random.default_rng(seed)
    dt = np.dtype(dtype)
    if dt.kind == "f":
        return rng.standard_normal(shape).astype(dt)
    info = np.iinfo(dt)
    return rng.integers(info.min, info.max, size=shape, endpoint=True, dtype=dt)


def _children(keys: list[str], directory: str) -> list[str]:
    prefix = f"{directory}/" if directory else ""
    return sorted({k[len(prefix):].split("/", 1)[0] for k in keys if k.startswith(prefix)})


class BackendContract:
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
            assert backend.list_dir(directory) == _children(keys, directory), directory

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

    # ------------------------------------------------------------- hypothesis
    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(
        data=st.data(),
        folder=st.lists(segment_names, min_size=1, max_size=3),
        dtype=st.sampled_from(["uint8", "uint16", "int16", "int32", "float32", "float64"]),
        shape=hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=24),
    )
    def test_hypothesis_round_trip(
        self, backend: StorageBackend, data: Any, folder: list[str], dtype: str, shape: tuple[int, ...]
    ) -> None:
        image = data.draw(hnp.arrays(np.dtype(dtype), shape))
        base = f"h{next(_COUNTER)}/" + "/".join(folder)
        key = self.image_key(base, data.draw(st.integers(0, 3)))
        backend.save(image, key)
        assert_same_array(backend.load(key), image)
        assert_same_array(self.get_raw(backend, key), image)
        assert key in backend.list_files(self.image_dir(base))
        assert key in backend.list_prefix(base.split("/", 1)[0])

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(
        before=st.lists(segment_names, max_size=3),
        after=st.lists(segment_names, min_size=1, max_size=3),
        sep=st.sampled_from(["/", "\\"]),
        lead=st.sampled_from(["", "/", "file://", "memory://"]),
    )
    def test_hypothesis_escaping_paths_refused(
        self, backend: StorageBackend, before: list[str], after: list[str], sep: str, lead: str
    ) -> None:
        parts = before + [".."] * (len(before) + 1) + after
        bad = lead + sep.join(parts)
        with pytest.raises(InvalidPathError, match="escape"):
            backend.save(make_image(np.uint8, (4, 4)), bad + ".tif")
        with pytest.raises(InvalidPathError, match="escape"):
            backend.load(bad)
        with pytest.raises(InvalidPathError, match="escape"):
            backend.exists(bad)
        assert backend.is_empty()

    # -------------------------------------------------------------- stateful
    def test_stateful_against_dict(self, backend_kwargs: dict[str, Any]) -> None:
        contract = self

        class Machine(BackendStateMachine):
            def __init__(self) -> None:
                super().__init__(contract, contract.backend_cls(**backend_kwargs))

        run_state_machine_as_test(
            Machine, settings=settings(max_examples=20, stateful_step_count=12, deadline=None)
        )


class ObjectStoreContract:
    """Non-image objects (tables, text, dicts); for backends that store them (memory, disk).

    Mix in beside :class:`BackendContract`; keys use extensions both backends understand.
    """

    def test_table_rows_round_trip(self, backend: StorageBackend) -> None:
        rows = [{"well": "A01", "count": 3, "area": 1.5}, {"well": "B02", "count": 0, "area": 2.25}]
        backend.save(rows, "tables/A01_cells.csv")
        assert backend.load("tables/A01_cells.csv") == rows

    def test_dataframe_round_trip(self, backend: StorageBackend) -> None:
        import pandas as pd

        frame = pd.DataFrame({"well": ["A01", "A02"], "count": [1, 2]})
        backend.save(frame, "tables/frame.csv")
        loaded = backend.load("tables/frame.csv")
        rows = loaded.to_dict("records") if hasattr(loaded, "to_dict") else loaded
        assert rows == [{"well": "A01", "count": 1}, {"well": "A02", "count": 2}]

    def test_text_and_json(self, backend: StorageBackend) -> None:
        backend.save("hello wörld\n", "notes/readme.txt")
        backend.save({"a": [1, 2], "b": {"c": "d"}}, "notes/meta.json")
        assert backend.load("notes/readme.txt") == "hello wörld\n"
        assert backend.load("notes/meta.json") == {"a": [1, 2], "b": {"c": "d"}}
        assert backend.list_files("notes", extensions=[".txt"]) == ["notes/readme.txt"]
        assert backend.list_files("notes") == ["notes/meta.json", "notes/readme.txt"]

    def test_save_under_a_file_is_refused(self, backend: StorageBackend) -> None:
        from openhcs_gui.errors import NotWritableError

        backend.save("x", "a/file.txt")
        with pytest.raises(NotWritableError, match="file.txt"):
            backend.save("y", "a/file.txt/inner.txt")
        assert backend.load("a/file.txt") == "x"


class BackendStateMachine(RuleBasedStateMachine):
    """Random save/delete/copy/list sequences checked against a plain dict model.

    Each run works under a fresh prefix so a persistent backend (disk) shared
    across runs still starts empty from the machine's point of view.
    """

    keys = Bundle("keys")

    def __init__(self, contract: BackendContract, backend: StorageBackend) -> None:
        super().__init__()
        self.contract = contract
        self.backend = backend
        self.prefix = f"run{next(_COUNTER)}"
        self.model: dict[str, np.ndarray] = {}

    @rule(target=keys, folder=st.sampled_from(["a", "a/b", "c"]), index=st.integers(0, 2))
    def make_key(self, folder: str, index: int) -> str:
        return self.contract.image_key(f"{self.prefix}/{folder}", index)

    @rule(key=keys, seed=st.integers(0, 2**16))
    def save(self, key: str, seed: int) -> None:
        image = make_image(np.uint16, (8, 8), seed=seed)
        self.backend.save(image, key)
        self.model[key] = image

    @rule(key=keys)
    def delete(self, key: str) -> None:
        if key in self.model:
            self.backend.delete(key)
            del self.model[key]
        else:
            with pytest.raises(PathNotFoundError):
                self.backend.delete(key)

    @rule(folder=st.sampled_from(["a", "a/b", "c"]))
    def delete_folder(self, folder: str) -> None:
        directory = f"{self.prefix}/{folder}"
        doomed = [k for k in self.model if k.startswith(directory + "/")]
        if doomed:
            self.backend.delete(directory)
            for k in doomed:
                del self.model[k]

    @rule(src=keys, dst=keys)
    def copy(self, src: str, dst: str) -> None:
        if src not in self.model or src == dst:
            return
        self.backend.copy(src, dst, overwrite=True)
        self.model[dst] = self.model[src]

    @rule(key=keys)
    def load(self, key: str) -> None:
        if key in self.model:
            assert_same_array(self.backend.load(key), self.model[key])
        else:
            with pytest.raises(PathNotFoundError):
                self.backend.load(key)

    @invariant()
    def listing_matches_model(self) -> None:
        assert self.backend.list_prefix(self.prefix) == sorted(self.model)
        for directory in {posixpath.dirname(k) for k in self.model}:
            assert self.backend.is_dir(directory)
            listed = self.backend.list_dir(directory)
            expected = _children(sorted(self.model), directory)
            if self.contract.supports_empty_directories:  # emptied folders may remain
                assert set(expected) <= set(listed)
            else:
                assert listed == expected

    def teardown(self) -> None:
        self.backend.close()
