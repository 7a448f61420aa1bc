"""Folder listing survives entries that cannot be followed (issue 11 item 7)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from openhcs_gui.errors import PlateError
from openhcs_gui.plates import open_plate
from tests.plates.conftest import ix_names


def test_self_referencing_symlinks_are_skipped_with_a_warning(tmp_path: Path, write_tiffs) -> None:
    write_tiffs(tmp_path, ix_names(["A01", "A02"], 2, 1, "TimePoint_1"))
    os.symlink("loop", tmp_path / "loop")  # a link to itself: stat() raises ELOOP
    os.symlink("self.tif", tmp_path / "TimePoint_1" / "self.tif")
    index = open_plate(tmp_path)
    assert index.n_images == 4
    assert index.warnings == [
        "ignored TimePoint_1/self.tif: a symbolic link that points to itself "
        "(Too many levels of symbolic links)",
        "ignored loop: a symbolic link that points to itself (Too many levels of symbolic links)",
    ]


def test_folder_link_to_an_ancestor_is_listed_once(tmp_path: Path, write_tiffs) -> None:
    write_tiffs(tmp_path, ix_names(["A01"], 1, 1, "TimePoint_1"))
    os.symlink(tmp_path, tmp_path / "TimePoint_1" / "up")
    index = open_plate(tmp_path)
    assert index.n_images == 1
    assert index.warnings == ["ignored TimePoint_1/up: a link back to a folder that holds it (a loop)"]


def test_plate_path_that_is_a_symlink_loop(tmp_path: Path) -> None:
    os.symlink("plate", tmp_path / "plate")
    with pytest.raises(PlateError, match=r"plate is a symbolic link to a missing target or to itself\.$"):
        open_plate(tmp_path / "plate")
