"""The demo pipeline shipped with the package (``resources/demo_pipeline.json``).

Blur -> background subtraction -> object counting, the last step written as
an OME-Zarr plate; used by ``openhcs-gui demo``/``gui`` and the GUI's
"Load demo" action.
"""

from __future__ import annotations

from importlib.resources import as_file, files
from pathlib import Path

from openhcs_gui.pipeline.pipeline import Pipeline, load_pipeline

__all__ = ["demo_pipeline_path", "load_demo_pipeline"]


def demo_pipeline_path() -> Path:
    """Path of the installed ``demo_pipeline.json`` (package data)."""
    with as_file(files("openhcs_gui").joinpath("resources", "demo_pipeline.json")) as path:
        return Path(path)


def load_demo_pipeline() -> Pipeline:
    """The demo pipeline, loaded and validated like any pipeline file."""
    return load_pipeline(demo_pipeline_path())
