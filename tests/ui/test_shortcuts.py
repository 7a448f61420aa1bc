"""Keyboard shortcuts as a user presses them: one action per key, Ctrl+S saves the project."""

from __future__ import annotations

from collections import Counter

import pytest
from PySide6.QtGui import QAction, QKeySequence

pytestmark = pytest.mark.gui


def _menu_actions(window) -> list[QAction]:
    """Every action reachable from the menu bar (submenus included)."""
    found: list[QAction] = []
    stack = list(window.menuBar().actions())
    while stack:
        action = stack.pop()
        if action.menu() is not None:
            stack.extend(action.menu().actions())
        elif not action.isSeparator():
            found.append(action)
    return found


def test_no_two_menu_actions_share_a_shortcut(make_main_window) -> None:
    window = make_main_window()
    keys = Counter(s.toString() for a in _menu_actions(window) for s in a.shortcuts() if not s.isEmpty())
    assert keys, "the menus have shortcuts"
    assert [k for k, n in keys.items() if n > 1] == []


def test_ctrl_s_saves_the_project_and_ctrl_shift_s_asks_where(make_main_window) -> None:
    window = make_main_window()
    actions = window.menus.actions
    assert actions["save_project"].shortcut() == QKeySequence(QKeySequence.StandardKey.Save)
    assert actions["save_project"].shortcut().toString() == "Ctrl+S"
    assert actions["save_project_as"].shortcut().toString() == "Ctrl+Shift+S"
    assert actions["save_pipeline"].shortcut().toString() == "Ctrl+Alt+S"
    assert actions["save_project"].text().replace("&", "") == "Save project"
