"""Plain words: the config form, the function library and Help speak a bench scientist's language."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractSpinBox, QComboBox, QLabel, QLineEdit, QTextBrowser

from openhcs_gui.constants import MaterializationBackend
from openhcs_gui.ui.editors import ValueEditor

pytestmark = pytest.mark.gui

#: Developer vocabulary the issue found in the forms; none may reach a label, choice or tooltip.
JARGON = ("VFS", "Materialization", "materialization", "NGFF", "inherit", "Chunk strategy", "backend",
          "Backend", "Codec", "omero", "multiscales")


def _form_words(form) -> list[str]:
    """Every label text, tooltip and combo choice a user can see in a (nested) config form."""
    words = []
    for label in form.findChildren(QLabel):
        words += [label.text(), label.toolTip()]
    for editor in form.findChildren(ValueEditor):
        words.append(editor.inner.toolTip())
        if isinstance(editor.inner, QComboBox):
            words += [editor.inner.itemText(i) for i in range(editor.inner.count())]
        if isinstance(editor.inner, QLineEdit | QAbstractSpinBox):
            words.append(getattr(editor.inner, "placeholderText", lambda: "")())
            words.append(getattr(editor.inner, "specialValueText", lambda: "")())
    return [w for w in words if w]


def test_config_form_has_no_jargon_and_one_compression_setting(make_main_window, qtbot, screenshot_dir: Path) -> None:
    window = make_main_window(show=True, size=(1366, 768))
    window.docks["Config"].raise_()
    form = window.config_panel.form
    words = _form_words(form)
    offenders = [w for w in words if any(j in w for j in JARGON)]
    assert not offenders, offenders
    labels = [lb.text() for lb in form.findChildren(QLabel)]
    assert "Keep intermediate results in memory" in labels
    assert "Final results format" in labels
    assert sum(t.startswith("Compression (") for t in labels) == 1  # one setting, not two
    final = form.children_forms["vfs"].editors["materialization_backend"]
    assert [final.inner.itemText(i) for i in range(final.inner.count())] == ["TIFF files", "OME-Zarr"]
    final.inner.setCurrentIndex(1)  # the words still drive the real value
    assert window.session.cfg.vfs.materialization_backend is MaterializationBackend.ZARR

    # storage internals are under one collapsed "Advanced" section, the common settings are not
    advanced = form.advanced_group
    assert advanced is not None and not advanced.isExpanded()
    level = form.children_forms["zarr"].editors["compression_level"]
    between = form.children_forms["vfs"].editors["intermediate_backend"]
    assert level.visibleRegion().isEmpty() and between.visibleRegion().isEmpty()
    assert final.isVisible() and form.editors["keep_intermediates"].isVisible()
    qtbot.wait(200)
    assert window.docks["Config"].grab().save(str(screenshot_dir / "plain_words_config.png"))
    advanced.expand(animate=False)
    qtbot.wait(100)
    window.config_panel.scroll.ensureWidgetVisible(level)  # the form scrolls in a small dock
    qtbot.waitUntil(lambda: not level.visibleRegion().isEmpty(), timeout=5000)
    qtbot.wait(200)
    assert window.docks["Config"].grab().save(str(screenshot_dir / "plain_words_config_advanced.png"))


@pytest.mark.parametrize(("typed", "expected"), [
    ("segment", "segment_nuclei"),
    ("nuclei", "segment_nuclei"),
    ("background", "subtract_background"),
    ("count", "count_objects"),
])
def test_function_library_finds_by_meaning(make_main_window, typed: str, expected: str) -> None:
    editor = make_main_window().pipeline_editor
    editor.search.setText(typed)
    lib = editor.library
    shown = [lib.item(i).data(Qt.ItemDataRole.UserRole) for i in range(lib.count()) if not lib.item(i).isHidden()]
    assert expected in shown
    assert lib.currentItem().data(Qt.ItemDataRole.UserRole) == shown_first(shown, typed)
    if typed == "nuclei":  # the counting and segmentation functions, not every function
        assert {"segment_nuclei", "count_objects"} <= set(shown) and "max_projection" not in shown


def shown_first(shown: list[str], typed: str) -> str:
    """The engine's best match for ``typed`` among those shown."""
    from openhcs_gui.functions import search

    return next(r.name for r in search(typed) if r.name in shown)


def test_help_getting_started_opens_inside_the_app(make_main_window, qtbot, screenshot_dir: Path) -> None:
    window = make_main_window(show=True)
    action = window.menus.actions["getting_started"]
    action.trigger()
    dialog = window.findChild(QTextBrowser, "GettingStarted").window()
    qtbot.waitExposed(dialog)
    text = window.findChild(QTextBrowser, "GettingStarted").toPlainText()
    for words in ("Open plate", "pipeline", "Run", "heatmap"):
        assert words in text
    assert not any(j in text for j in ("VFS", "Materialization", "NGFF"))
    assert dialog.grab().save(str(screenshot_dir / "getting_started.png"))
    dialog.close()
