"""Support for the storage contract: data helpers, property tests, the state machine.

Split out of :mod:`contract` to keep modules small; import everything from
``contract``. :class:`PropertyContract` is a mixin of
:class:`contract.BackendContract` and relies on its hooks (``backend``,
``backend_kwargs``, ``image_key``, ``image_dir``, ``get_raw``).
"""

from __future__ import annotations

import itertools
import posixpath
from typing import TYPE_CHECKING, Any

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

from openhcs_gui.errors import InvalidPathError, NotWritableError, PathNotFoundError
from openhcs_gui.vfs.base import StorageBackend

if TYPE_CHECKING:
    from contract import BackendContract

__all__ = [
    "DTYPES",
    "PropertyContract",
    "ObjectStoreContract",
    "BackendStateMachine",
    "assert_same_array",
    "make_image",
    "children",
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


def children(keys: list[str], directory: str) -> list[str]:
    """Names of the direct children of ``directory`` implied by file ``keys``."""
    prefix = f"{directory}/" if directory else ""
    return sorted({k[len(prefix):].split("/", 1)[0] for k in keys if k.startswith(prefix)})


#: The same inherited test method runs once per backend class; hypothesis sees
#: several "executors" of one function. Each run is independent, so that is safe.
_PER_BACKEND = [HealthCheck.function_scoped_fixture, HealthCheck.differing_executors]


class PropertyContract:
    """Hypothesis tests of the contract: random data and names, escaping paths, stateful."""

    @settings(max_examples=25, deadline=None, suppress_health_check=_PER_BACKEND)
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

    @settings(max_examples=40, deadline=None, suppress_health_check=_PER_BACKEND)
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
            Machine,
            settings=settings(
                max_examples=20, stateful_step_count=12, deadline=None,
                suppress_health_check=_PER_BACKEND,
            ),
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
            expected = children(sorted(self.model), directory)
            if self.contract.supports_empty_directories:  # emptied folders may remain
                assert set(expected) <= set(listed)
            else:
                assert listed == expected

    def teardown(self) -> None:
        self.backend.close()
