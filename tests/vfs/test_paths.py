"""normalize_path: the fast path for already-clean keys agrees with the full normalization.

The fast path (:func:`_is_canonical`) skips split/filter/join for keys that are
already canonical; it is only correct if it never accepts a string the full
path would change or refuse, so hypothesis compares the two on random paths
built from the characters that matter (``/``, ``.``, ``\\``, ``:``, NUL).
"""

from __future__ import annotations

import os
from pathlib import PurePosixPath

import hypothesis.strategies as st
import pytest
from hypothesis import given, settings

from openhcs_gui.errors import InvalidPathError
from openhcs_gui.vfs.base import _is_canonical, _normalize_slow, normalize_path

_ALPHABET = st.sampled_from(["/", ".", "..", "\\", ":", "\x00", "a", "Z", "é", " ", "_", "memory://",
                             "file://", "zarr", "//", "x.tif"])
_PATHS = st.lists(_ALPHABET, max_size=12).map("".join)


def _outcome(func: object, path: object) -> tuple[str, str]:
    try:
        return "ok", func(path)  # type: ignore[operator]
    except InvalidPathError:
        return "error", ""


@settings(max_examples=2000, deadline=None)
@given(_PATHS)
def test_fast_path_matches_full_normalization(path: str) -> None:
    assert _outcome(normalize_path, path) == _outcome(_normalize_slow, path)
    if _is_canonical(path):
        assert _normalize_slow(path) == path


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_fast_path_matches_on_any_text(path: str) -> None:
    assert _outcome(normalize_path, path) == _outcome(_normalize_slow, path)


@pytest.mark.parametrize(
    "path",
    ["tmp/ws/step1_blur/A01_s1_w1_z1.tif", "a", "", "a b/ü.tif", "x.zarr/A01_s1_w1_z1.tif"],
)
def test_clean_keys_take_the_fast_path(path: str) -> None:
    assert _is_canonical(path)
    assert normalize_path(path) is path


@pytest.mark.parametrize(
    ("path", "key"),
    [("/tmp/a.tif", "tmp/a.tif"), ("a//b/", "a/b"), ("./a/./b", "a/b"), ("a\\b", "a/b"),
     ("memory://x/y", "x/y"), (".hidden/a", ".hidden/a"), ("/", ""),
     (PurePosixPath("/tmp/a.tif"), "tmp/a.tif")],
)
def test_other_forms_still_normalize(path: str | os.PathLike[str], key: str) -> None:
    assert normalize_path(path) == key


@pytest.mark.parametrize("path", ["a/../b", "..", "a/..", "a\x00b", 3])
def test_bad_paths_still_refused(path: object) -> None:
    with pytest.raises(InvalidPathError):
        normalize_path(path)  # type: ignore[arg-type]


class _Str(str):
    """A str subclass must come back as a plain str, so it takes the full path."""


def test_str_subclass_returns_plain_str() -> None:
    out = normalize_path(_Str("a/b"))
    assert out == "a/b" and type(out) is str
