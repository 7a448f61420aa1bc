"""The Preview dock: live test mode on one site of one well, shown in napari as you edit.

The engine part is :class:`openhcs_gui.pipeline.preview.Preview` (Qt-free, one
``(well, site)``, per-step cached outputs). This panel only decides *when* to
run it and *what* to show:

* the well comes from the plate grid (the main window passes each clicked
  well to :meth:`PreviewPanel.set_well`), the site from the spin box;
* any edit of the session's pipeline (a parameter, a step added, moved or
  removed — psygnal events of the evented pipeline) re-runs it from the first
  changed step on; earlier steps come from the cache;
* the computation happens in a process of its own
  (:class:`~openhcs_gui.pipeline.preview_server.PreviewServer`; in this
  panel's worker thread only when a step's function is not registered), so
  the GUI thread never waits for the segmentation's Python loops; a newer
  edit cancels the stale run before the next one starts, and each step's
  layers are sent as soon as that step is done (``layers_ready``), so the
  edited step's result appears before the slower steps after it finish;
  outputs reused from the cache come back as the same arrays, so napari
  does not draw an unchanged layer again;
* the step list ticks which outputs are shown (raw images and any step);
  label outputs show as napari Labels above the images. The main window puts
  these layers in the viewer with ``ViewerWidget.put_layers`` (``layer.data =``,
  never remove/add while the structure is unchanged).

Nothing is written: "Run plate" (the Run dock) stays the separate action.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from openhcs_gui._lazy import lazy_module
from openhcs_gui.errors import RunCancelledError
from openhcs_gui.pipeline.events import CancelToken
from openhcs_gui.pipeline.preview import INPUT_INDEX, Preview, PreviewOutput
from openhcs_gui.pipeline.preview_server import NotSendable, PreviewServer
from openhcs_gui.ui.binding import listen
from openhcs_gui.ui.session import Session, copy_step
from openhcs_gui.ui.viewer import LayerSpec, contrast_limits, plate_channel_colormap
from openhcs_gui.ui.workers import Task, TaskOwner, main_thread_caller

np = lazy_module("numpy", globals())  # imported on first use: the desktop window shows before numpy loads

__all__ = ["PreviewPanel", "preview_layers", "PREVIEW_GROUP"]

#: ``ViewerWidget.put_layers`` group of the preview's layers.
PREVIEW_GROUP = "preview"
_STEP_ROLE = Qt.ItemDataRole.UserRole


def preview_layers(output: PreviewOutput, plate: Any, well: str, site: int,
                   contrast_memo: dict[int, tuple[Any, tuple[float, float]]] | None = None) -> list[LayerSpec]:
    """One layer per channel for a step's preview output (worker thread: computes contrast).

    Several z planes (or time points) of a channel are stacked along the first axis.
    ``contrast_memo`` (``id(array) -> (array, range)``) keeps the display range
    of outputs reused from the cache, so only recomputed steps pay for it.
    """
    by_channel: dict[int, list[Any]] = {}
    for key in sorted(output.images):
        by_channel.setdefault(key.channel, []).append(key)
    names = dict(getattr(plate, "channel_names", {}) or {})
    step = "raw" if output.index == INPUT_INDEX else f"{output.index + 1}.{output.name}"
    specs = []
    for channel, keys in by_channel.items():
        planes = [output.images[k] for k in keys]
        data = planes[0] if len(planes) == 1 else np.stack(planes)
        channel_name = names.get(channel) or f"channel {channel}"
        levels = _pyramid(data)
        specs.append(LayerSpec(
            name=f"preview {step} {channel_name}",
            data=levels if len(levels) > 1 else data,
            multiscale=len(levels) > 1,
            contrast=output.ranges[keys[0]] if len(keys) == 1 and keys[0] in output.ranges
            else _contrast(data, output.kind, contrast_memo),
            colormap=plate_channel_colormap(plate, channel),
            metadata={"source": "preview", "step": output.index, "well": well, "site": site, "channel": channel},
            axis_labels=("z", "y", "x") if data.ndim == 3 else ("y", "x"),
            kind=output.kind,
        ))
    return specs


#: Images larger than this (pixels along x) are shown as a pyramid of strided views.
_PYRAMID_ABOVE = 512


def _pyramid(data: Any) -> list[Any]:
    """``[full, 1/2, 1/4 ...]`` strided views (no copy) down to ``_PYRAMID_ABOVE`` pixels.

    napari then draws the level that fits the canvas: a 1024² preview uploads a
    512² texture on each update, a quarter of the GUI thread's work.
    """
    levels = [data]
    while levels[-1].shape[-1] > _PYRAMID_ABOVE:
        levels.append(data[..., :: 2 ** len(levels), :: 2 ** len(levels)])
    return levels


def _contrast(data: Any, kind: str, memo: dict[int, tuple[Any, tuple[float, float]]] | None) -> tuple[float, float]:
    if kind == "labels":
        return 0.0, 1.0
    if memo is None:
        return contrast_limits(data)
    hit = memo.get(id(data))
    if hit is None or hit[0] is not data:
        if len(memo) > 64:
            memo.clear()
        hit = memo[id(data)] = (data, contrast_limits(data))
    return hit[1]


class PreviewPanel(QWidget):
    """Live preview (test mode): one site, re-run on every edit, any step's output shown.

    Parameters
    ----------
    session
        Supplies the plate and the pipeline (whose events trigger re-runs).
    parent
        Owning widget.

    Attributes
    ----------
    layers_ready
        ``[LayerSpec]``: every shown layer of the preview (group :data:`PREVIEW_GROUP`).
    toggled
        ``bool``: live preview switched on or off.
    preview_finished
        ``[PreviewOutput]`` of a run that was not superseded.
    message
        A user-facing note or problem for the status bar.
    """

    layers_ready = Signal(list)
    toggled = Signal(bool)
    preview_finished = Signal(list)
    message = Signal(str)

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._session = session
        self._tasks = TaskOwner(self, max_workers=1)  # one run at a time; a stale one gives way
        self._server = PreviewServer()  # its process starts with the first preview
        self._preview: Preview | None = None
        self._well: str | None = None
        self._token: CancelToken | None = None
        self._generation = 0
        self._specs: dict[int, list[LayerSpec]] = {}
        self._contrast_memo: dict[int, tuple[Any, tuple[float, float]]] = {}
        self.task: Task | None = None
        self.live_box = QCheckBox("Live preview (test mode)", self)
        self.live_box.setToolTip("Run the pipeline on one site, in memory, each time a parameter changes. "
                                 "Nothing is written; Run (F5) processes the plate.")
        self.live_box.toggled.connect(self._on_live_box_toggled)
        self.well_label = QLabel("Well: click one in the plate grid", self)
        self.site_spin = QSpinBox(self)
        self.site_spin.setPrefix("site ")
        self.site_spin.setRange(1, 1)
        self.site_spin.valueChanged.connect(self._on_site_spin_changed)
        self.step_list = QListWidget(self)
        self.step_list.setToolTip("Tick the outputs to show; labels are drawn over the images.")
        self.step_list.itemChanged.connect(self._on_step_list_item_changed)
        self.status = QLabel("Off.", self)
        self.status.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.well_label, 1)
        row.addWidget(self.site_spin)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.live_box)
        layout.addLayout(row)
        layout.addWidget(QLabel("Show", self))
        layout.addWidget(self.step_list, 1)
        layout.addWidget(self.status)
        self._rerun = QTimer(self)  # one re-run for the several field events of one edit
        self._rerun.setSingleShot(True)
        self._rerun.setInterval(0)
        self._rerun.timeout.connect(self.refresh)
        self._deliver_step = main_thread_caller(self._on_step_output)
        listen(self, session.pipeline.events, self._on_pipeline_event)
        session.plate_changed.connect(self._on_session_plate_changed)
        self._fill_step_list()

    # -- state -------------------------------------------------------------------
    @property
    def active(self) -> bool:
        """True while live preview is on."""
        return self.live_box.isChecked()

    @property
    def well(self) -> str | None:
        """The previewed well."""
        return self._well

    @property
    def site(self) -> int:
        """The previewed site."""
        return self.site_spin.value()

    def set_active(self, on: bool) -> None:
        """Switch live preview on or off (as the check box does)."""
        self.live_box.setChecked(on)

    def set_well(self, well: str) -> None:
        """Preview ``well`` (the plate grid's click); runs at once when live preview is on."""
        if well == self._well:
            return
        self._well = well
        self._preview = None
        self.well_label.setText(f"Well: <b>{well}</b>")
        self._request()

    def set_site(self, site: int) -> None:
        """Preview another site of the well (as the spin box does)."""
        self.site_spin.setValue(site)

    def show_step(self, index: int, shown: bool = True) -> None:
        """Tick (or untick) the output of step ``index`` (``-1``: raw images) in the step list."""
        for i in range(self.step_list.count()):
            item = self.step_list.item(i)
            if item.data(_STEP_ROLE) == index:
                item.setCheckState(Qt.CheckState.Checked if shown else Qt.CheckState.Unchecked)
                return
        raise ValueError(f"Preview: no step {index + 1} in the step list.")

    def shown_steps(self) -> list[int]:
        """Indices ticked in the step list (``-1``: raw images)."""
        return [self.step_list.item(i).data(_STEP_ROLE) for i in range(self.step_list.count())
                if self.step_list.item(i).checkState() == Qt.CheckState.Checked]

    # -- handlers ----------------------------------------------------------------
    def _on_live_box_toggled(self, on: bool) -> None:
        self.toggled.emit(on)
        if on:
            self._server.start()
            self._request()
        else:
            self._cancel()
            self._specs.clear()
            self.status.setText("Off.")
            self.layers_ready.emit([])

    def _on_site_spin_changed(self, _site: int) -> None:
        self._preview = None
        self._request()

    def _on_session_plate_changed(self, plate: Any) -> None:
        self._cancel()
        self._preview, self._well = None, None
        self._specs.clear()
        self.site_spin.blockSignals(True)
        sites = list(getattr(plate, "sites", []) or [1])
        self.site_spin.setRange(min(sites), max(sites))
        self.site_spin.setValue(min(sites))
        self.site_spin.blockSignals(False)
        self.well_label.setText("Well: click one in the plate grid")
        if self.active:
            self.layers_ready.emit([])

    def _on_pipeline_event(self, *_: Any) -> None:
        self._fill_step_list()
        self._rerun.start()

    def _on_step_list_item_changed(self, _item: QListWidgetItem) -> None:
        self._emit_layers()

    # -- running -----------------------------------------------------------------
    def _fill_step_list(self) -> None:
        shown = set(self.shown_steps()) if self.step_list.count() else None
        n = len(self._session.pipeline)
        labels = ["raw images", *(f"{i + 1}. {s.name}" for i, s in enumerate(self._session.pipeline))]
        current = [self.step_list.item(i).text() for i in range(self.step_list.count())]
        if current == labels:
            return
        self.step_list.blockSignals(True)
        self.step_list.clear()
        for index, text in zip(range(INPUT_INDEX, n), labels, strict=True):
            item = QListWidgetItem(text, self.step_list)
            item.setData(_STEP_ROLE, index)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            on = index in shown if shown is not None and len(current) == len(labels) else index in (-1, n - 1)
            item.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)
        self.step_list.blockSignals(False)
        for index in [i for i in self._specs if i >= n]:
            del self._specs[index]

    def _request(self) -> None:
        if self.active:
            self._rerun.start()

    def refresh(self) -> Task | None:
        """Re-run the preview now (from the first changed step); ``None`` if nothing to preview."""
        plate = self._session.plate
        if not self.active or plate is None or self._well is None:
            if self.active:
                self.status.setText("Click a well in the plate grid to preview it.")
            return None
        try:
            if self._preview is None:
                self._preview = Preview(plate, self._well, self.site)
        except Exception as e:  # PipelineError: no such site in this well
            self.status.setText(str(e))
            return None
        self._cancel()
        self._generation += 1
        self._token = token = CancelToken()
        steps = [copy_step(s) for s in self._session.pipeline]  # the worker never sees later edits
        self.status.setText(f"Previewing {self._well} site {self.site}…")
        self.task = self._tasks.submit(
            _run_preview, self._preview, steps, token, self._generation, plate, self._deliver_step,
            self._contrast_memo, self._server,
            name=f"preview {self._well}", on_finished=self._on_preview_done, on_failed=self._on_preview_failed,
        )
        return self.task

    def _cancel(self) -> None:
        if self._token is not None:
            self._token.cancel()
            self._token = None

    def _on_step_output(self, generation: int, index: int, specs: list[LayerSpec]) -> None:
        if generation != self._generation:
            return  # a stale run's step
        self._specs[index] = specs
        self._emit_layers()

    def _emit_layers(self) -> None:
        if not self.active:
            return
        shown = self.shown_steps()
        ordered = sorted(shown, key=lambda i: (self._kind(i) == "labels", i))
        self.layers_ready.emit([spec for i in ordered for spec in self._specs.get(i, [])])

    def _kind(self, index: int) -> str:
        specs = self._specs.get(index)
        return specs[0].kind if specs else "image"

    def _on_preview_done(self, outcome: tuple[int, list[PreviewOutput], float]) -> None:
        generation, outputs, seconds = outcome
        if generation != self._generation:
            return
        recomputed = [o for o in outputs if not o.cached]
        start = recomputed[0].index + 1 if recomputed else None
        how = f"re-ran from step {start}" if start else "all steps from the cache"
        self.status.setText(f"{self._well} site {self.site}: {len(outputs)} steps, {how}, "
                            f"{seconds * 1000:.0f} ms. Nothing written.")
        self.preview_finished.emit(outputs)

    def _on_preview_failed(self, error: BaseException, _tb: str) -> None:
        if isinstance(error, RunCancelledError):
            return  # superseded by a newer edit
        self.status.setText(f"Preview failed: {error}")
        self.message.emit(f"Preview failed: {error}")

    def shutdown(self) -> None:
        """Cancel a running preview and drop its results, without waiting (the window's ``closeEvent``)."""
        self._cancel()
        self._tasks.close()
        self._server.close()


def _run_preview(preview: Preview, steps: list[Any], token: CancelToken, generation: int, plate: Any,
                 deliver: Any, memo: dict[int, Any], server: PreviewServer) -> tuple[int, list[PreviewOutput], float]:
    """Worker: raw layers, then each step's layers as soon as it is done (in the preview process if it can)."""
    import time

    t0 = time.perf_counter()
    well, site = preview.well, preview.site

    def on_step(output: PreviewOutput) -> None:
        if not token.cancelled:
            deliver(generation, output.index, preview_layers(output, plate, well, site, memo))

    try:
        outputs = server.run(plate, well, site, steps, token, on_step)
    except NotSendable:  # an unregistered function: run it here, in this worker thread
        on_step(preview.inputs())
        outputs = preview.run_from(steps, cancel=token, on_step=on_step)
    return generation, outputs, time.perf_counter() - t0
