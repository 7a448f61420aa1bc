"""The Qt binding must not leak or steal references to Python's singletons.

PySide6/shiboken6 6.12.0 on CPython 3.11 drops one reference to ``None`` on
every Qt call that returns nothing (``QLabel.setText``, ``processEvents``...).
A window that updates labels and progress bars makes that call many thousand
times an hour, and when ``None``'s count reaches zero the interpreter aborts
("Fatal Python error: none_dealloc"); our 20-run GUI test loop died of it at
exit, after about 550 tests. pyproject excludes that release; this test keeps
any future release with the same bug out.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QLabel, QProgressBar


def test_void_qt_calls_keep_the_reference_counts_of_none_true_and_false(qapp) -> None:
    label, bar = QLabel(), QProgressBar()
    before = (sys.getrefcount(None), sys.getrefcount(True), sys.getrefcount(False))
    for i in range(5000):
        label.setText(f"{i} of 5000 wells done")
        label.setVisible(i % 2 == 0)
        bar.setValue(i % 100)
        QCoreApplication.processEvents()
    after = (sys.getrefcount(None), sys.getrefcount(True), sys.getrefcount(False))
    drift = [a - b for a, b in zip(after, before, strict=True)]
    assert all(abs(d) < 100 for d in drift), f"reference counts of None/True/False moved by {drift}"
