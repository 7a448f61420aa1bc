"""Executors run the wells of a run: :class:`ThreadExecutor` (this process) and :class:`DaskExecutor`.

``DaskExecutor`` is imported on first use, so a thread run never imports
``distributed``.
"""

from __future__ import annotations

from openhcs_gui._lazy import lazy_exports
from openhcs_gui.pipeline.executors.base import Executor, WellTask, context_from_spec, make_spec
from openhcs_gui.pipeline.executors.threads import ThreadExecutor

_LAZY: dict[str, str] = {"DaskExecutor": "openhcs_gui.pipeline.executors.dask"}

__all__ = ["Executor", "ThreadExecutor", "WellTask", "make_spec", "context_from_spec", *_LAZY]

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals(), __all__)
