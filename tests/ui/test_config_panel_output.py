"""The Config dock says where results will really go, also for a plate opened on an instrument sub-folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from openhcs_gui.plates import make_synthetic_plate

pytestmark = pytest.mark.gui


def test_inherited_output_folder_is_beside_the_plate_root(make_main_window, tmp_path: Path, qtbot) -> None:
    root = make_synthetic_plate(tmp_path / "P7", wells=["A01"], sites=1, channels=1, shape=(64, 64),
                                layout="opera")
    window = make_main_window()
    with qtbot.waitSignal(window.plate_opened, timeout=30000):
        window.open_plate(root / "Images")  # the Opera folder users often pick
    editor = window.config_panel.form.children_forms["materialization_defaults"].editors["output_path"]
    # beside P7/, where the run writes P7_workspace — not P7/ itself (the parent of Images/)
    assert editor._inherited == f"default: {tmp_path}"
