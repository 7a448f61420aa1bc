"""Make this interpreter behave as if the GUI packages were not installed.

Put this folder on ``PYTHONPATH``: Python imports ``sitecustomize`` at start-up
(also in every dask worker process, which inherits the environment), and the
finder below answers every import of a GUI package with the same
``ModuleNotFoundError`` an environment without them gives.
"""

import importlib.abc
import sys

BLOCKED = ("PySide6", "shiboken6", "qtpy", "superqt", "napari", "vispy", "magicgui", "pytestqt")


class _NotInstalled(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        if fullname.split(".", 1)[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named '{fullname}'", name=fullname)
        return None


sys.meta_path.insert(0, _NotInstalled())
