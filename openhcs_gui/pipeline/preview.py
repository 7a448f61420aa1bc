"""Live preview (test mode): one site of one well through the pipeline, in memory.

A scientist tunes a pipeline by editing a parameter and looking at the result
at once (CellProfiler's test mode, napari-assistant's live re-run). A
:class:`Preview` holds the raw images of one ``(well, site)`` and every step's
output for them, computed with the runner's own :func:`~.well.run_step` (same
grouping, same function calls, same result checks) but stored nowhere: no
workspace, no file, no provenance.

Each cached output remembers the *signature* of the steps that produced it
(function, parameters, grouping of that step and of every step before it), so
:meth:`Preview.run_from` recomputes only from the first step whose signature
changed; the outputs of earlier steps are reused. A run is cancellable with a
:class:`~.events.CancelToken` (within one function call, see :mod:`.calls`), so
a newer edit can abandon a stale preview. Qt-free: ``ui/preview_panel.py`` only
shows what comes back.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from openhcs_gui._lazy import lazy_module
from openhcs_gui.errors import PipelineError, RunCancelledError
from openhcs_gui.pipeline.events import CancelToken
from openhcs_gui.pipeline.planner import output_kind
from openhcs_gui.pipeline.step import FunctionStep
from openhcs_gui.pipeline.well import run_step
from openhcs_gui.vfs.keys import ImageKey

np = lazy_module("numpy", globals())  # imported on first use: the desktop window shows before numpy loads

__all__ = ["Preview", "PreviewOutput", "step_signature", "display_range", "INPUT_INDEX"]

#: A step's groups (one per channel, usually) computed side by side in the preview.
PREVIEW_THREADS = min(os.cpu_count() or 1, 4)
#: ``PreviewOutput.index`` of the raw input images (before step 1).
INPUT_INDEX = -1

Rows = list[dict[str, Any]]


@dataclass(frozen=True)
class PreviewOutput:
    """The images (and tables) one step produced for the previewed site.

    Attributes
    ----------
    index
        0-based step index, or :data:`INPUT_INDEX` for the raw images.
    name
        Step name (``"input"`` for the raw images).
    images
        ``ImageKey`` -> 2-D array, read-only.
    tables
        Table name -> rows the step's function returned.
    kind
        ``"image"`` or ``"labels"`` (the function declares label outputs).
    seconds
        Time the step took (0 when it came from the cache).
    cached
        True when this output was reused, not recomputed, by the last run.
    ranges
        ``ImageKey`` -> display range (see :func:`display_range`), when the
        output was prepared for display where it was computed; else empty.
    """

    index: int
    name: str
    images: dict[ImageKey, np.ndarray]
    tables: dict[str, Rows] = field(default_factory=dict)
    kind: str = "image"
    seconds: float = 0.0
    cached: bool = False
    ranges: dict[ImageKey, tuple[float, float]] = field(default_factory=dict)


def display_range(data: Any) -> tuple[float, float]:
    """Robust display range (0.1–99.9 percentile) of an image, from at most ~1 M samples.

    A constant image gets a range of width 1 so it still displays.
    """
    arr = np.asarray(data)
    if arr.size == 0:
        return 0.0, 1.0
    sample = arr.ravel()[:: max(1, arr.size // 1_000_000)]
    lo, hi = (float(v) for v in np.percentile(sample, (0.1, 99.9)))
    if hi <= lo:
        lo, hi = float(sample.min()), float(sample.max())
    if hi <= lo:
        hi = lo + 1.0
    return lo, hi


def step_signature(step: FunctionStep) -> tuple[Any, ...]:
    """What decides a step's output: function spec, parameters and grouping (not its name or backend)."""
    kwargs = tuple(sorted((k, repr(v)) for k, v in step.kwargs.items()))
    return (repr(step.func), kwargs, tuple(step.variable_components), step.group_by)


class Preview:
    """Per-step cached outputs of one ``(well, site)`` of a plate, computed in memory.

    Parameters
    ----------
    plate
        A ``PlateIndex`` (``images``, ``backend``, ``keys()``, ``metadata``).
    well
        Well name, e.g. ``"A01"``.
    site
        Site (field) number, 1-based.

    Raises
    ------
    PipelineError
        If the plate has no image of that well and site.
    """

    def __init__(self, plate: Any, well: str, site: int) -> None:
        self.plate = plate
        self.well = well
        self.site = int(site)
        self._keys: list[ImageKey] = list(plate.keys(well=well, site=self.site))
        if not self._keys:
            raise PipelineError(f"Preview: the plate {plate.name!r} has no image of well {well} site {site}.")
        self._inputs: dict[ImageKey, np.ndarray] | None = None
        self._lock = threading.Lock()
        #: cumulative signature (steps 0..k) -> output of step k
        self._cache: dict[tuple[Any, ...], PreviewOutput] = {}

    def __repr__(self) -> str:
        return f"Preview({getattr(self.plate, 'name', '?')!r}, well={self.well!r}, site={self.site})"

    @property
    def metadata(self) -> Any:
        """The plate's physical metadata (passed to functions that declare ``pixel_size_um``)."""
        return getattr(self.plate, "metadata", None)

    def inputs(self) -> PreviewOutput:
        """The raw images of the site, read once (worker thread) and kept.

        Raises
        ------
        PipelineError
            If an image cannot be read (names the file).
        """
        with self._lock:
            if self._inputs is None:
                self._inputs = self._read_inputs()
            return PreviewOutput(INPUT_INDEX, "input", dict(self._inputs), cached=True)

    def _read_inputs(self) -> dict[ImageKey, np.ndarray]:
        from openhcs_gui.vfs import FileManager

        fm = FileManager()
        images: dict[ImageKey, np.ndarray] = {}
        try:
            for key in self._keys:
                path = self.plate.images[key]
                try:
                    arr = np.asarray(fm.load(path, self.plate.backend))
                except Exception as e:
                    raise PipelineError(f"Preview: cannot read input image {path}: {e}") from e
                arr.flags.writeable = False
                images[key] = arr
        finally:
            fm.close()
        return images

    def cached(self, steps: Sequence[FunctionStep], index: int) -> PreviewOutput | None:
        """Output of step ``index`` for ``steps`` if it is cached and still valid, else ``None``."""
        if index == INPUT_INDEX:
            return self.inputs() if self._inputs is not None else None
        sig = _cumulative(steps)[index]
        with self._lock:
            return self._cache.get(sig)

    def first_stale(self, steps: Sequence[FunctionStep]) -> int:
        """Index of the first step whose output must be recomputed (``len(steps)``: none)."""
        sigs = _cumulative(steps)
        with self._lock:
            for i, sig in enumerate(sigs):
                if sig not in self._cache:
                    return i
        return len(sigs)

    def run_from(
        self,
        steps: Sequence[FunctionStep],
        step_index: int | None = None,
        *,
        cancel: CancelToken | None = None,
        on_step: Callable[[PreviewOutput], None] | None = None,
    ) -> list[PreviewOutput]:
        """Compute every step's output, recomputing from ``step_index`` (or an earlier stale step) on.

        Parameters
        ----------
        steps
            The pipeline's steps (a snapshot; they are only read).
        step_index
            First step to recompute even if cached; ``None`` recomputes only what
            changed (from the first step whose parameters differ from the cached
            run's). Steps before it reuse their cached outputs.
        cancel
            Set it to abandon the run (a newer edit); the run then raises.
        on_step
            Called (on this thread) with each step's output as soon as it is ready,
            cached ones included, so a viewer can update layer by layer.

        Returns
        -------
        list of PreviewOutput
            One per step, first to last.

        Raises
        ------
        RunCancelledError
            When ``cancel`` is set before the last step finished.
        PipelineError
            When a step fails (its message names the step and function).
        """
        token = cancel if cancel is not None else CancelToken()
        sigs = _cumulative(steps)
        stale = self.first_stale(steps)
        start = stale if step_index is None else min(max(0, step_index), stale)
        images = self.inputs().images
        outputs: list[PreviewOutput] = []
        for i, step in enumerate(steps):
            if token.cancelled:
                raise RunCancelledError("Preview cancelled.")
            out = None
            if i < start:
                with self._lock:
                    hit = self._cache.get(sigs[i])
                out = None if hit is None else PreviewOutput(hit.index, step.name, hit.images, hit.tables,
                                                              hit.kind, 0.0, True)
            if out is None:
                out = self._compute(i, step, images, token)
                with self._lock:
                    if not token.cancelled:
                        self._cache[sigs[i]] = out
            outputs.append(out)
            images = out.images
            if on_step is not None:
                on_step(out)
        with self._lock:  # keep only the outputs of this pipeline (bounded memory)
            if not token.cancelled:
                keep = set(sigs)
                self._cache = {s: o for s, o in self._cache.items() if s in keep}
        return outputs

    def _compute(self, i: int, step: FunctionStep, images: dict[ImageKey, np.ndarray],
                 cancel: CancelToken) -> PreviewOutput:
        t0 = time.perf_counter()
        try:
            # images only on screen: segmentation skips its per-object tables (half its time);
            # one site alone: its groups (channels) run side by side on the cores
            produced, tables = run_step(step, images, cancel, self.metadata, measure_objects=False,
                                        threads=PREVIEW_THREADS)
        except (RunCancelledError, PipelineError):
            raise
        except Exception as e:
            raise PipelineError(f"Preview of {self.well} site {self.site}, step {i + 1} {step.name!r}: "
                                f"{type(e).__name__}: {e}") from e
        for arr in produced.values():
            if arr.flags.writeable:
                arr.flags.writeable = False
        return PreviewOutput(i, step.name, produced, tables, output_kind(step.func),
                             time.perf_counter() - t0)


def _cumulative(steps: Sequence[FunctionStep]) -> list[tuple[Any, ...]]:
    """Signature of steps ``0..k`` for every ``k``."""
    out: list[tuple[Any, ...]] = []
    prev: tuple[Any, ...] = ()
    for step in steps:
        prev = (prev, step_signature(step))
        out.append(prev)
    return out
