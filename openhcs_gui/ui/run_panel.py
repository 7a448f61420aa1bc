"""The Run dock: Run / Cancel, progress per step and overall, log, speed.

:class:`RunController` is the thin adapter between the engine and Qt: it calls
the engine's public ``run_pipeline`` on the worker pool, and the engine's
progress callback (called on engine threads) only appends to a queue and, at
most once per batch, emits a queued Qt signal. The GUI thread then handles the
whole batch, so a run writing thousands of images cannot flood the event loop
and the window stays responsive. Cancel sets the engine's ``CancelToken``.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from openhcs_gui.pipeline import (
    CancelToken,
    ImageWritten,
    RunFinished,
    RunStarted,
    RunWarning,
    StepFinished,
    WellFailed,
    WellFinished,
    run_pipeline,  # imported with the panel, not on the first click of Run (~20 ms)
)
from openhcs_gui.ui import workers
from openhcs_gui.ui.binding import listen
from openhcs_gui.ui.session import Session

__all__ = ["RunController", "RunPanel"]

_TRACEBACK_ROLE = Qt.ItemDataRole.UserRole


class RunController(QObject):
    """Runs a pipeline on a worker and re-emits its progress on the GUI thread.

    Attributes
    ----------
    events_received
        A list of progress events, in order (batched).
    finished
        The ``RunResult``.
    failed
        ``(exception, traceback)`` when the run could not start or crashed.
    """

    events_received = Signal(list)
    finished = Signal(object)
    failed = Signal(object, str)
    _flush_requested = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._lock = threading.Lock()
        self._queue: list[Any] = []
        self._pending = False
        self.token: CancelToken | None = None
        self.task: workers.Task | None = None
        self._flush_requested.connect(self._on_flush_requested, Qt.ConnectionType.QueuedConnection)

    @property
    def running(self) -> bool:
        """True from :meth:`start` until ``finished``/``failed`` was emitted."""
        return self.task is not None

    def start(self, pipeline: Any, plate: Any, cfg: Any) -> None:
        """Start ``run_pipeline(pipeline, plate, cfg)`` in the background."""
        self.token = CancelToken()
        self.task = workers.submit(
            run_pipeline,
            pipeline,
            plate,
            cfg,
            progress=self._on_engine_event,
            cancel=self.token,
            name="run",
            on_finished=self._on_task_finished,
            on_failed=self._on_task_failed,
        )

    def cancel(self) -> None:
        """Ask the engine to stop after the function calls in progress."""
        if self.token is not None:
            self.token.cancel()

    def _on_engine_event(self, event: Any) -> None:  # engine thread
        with self._lock:
            self._queue.append(event)
            if self._pending:
                return
            self._pending = True
        self._flush_requested.emit()

    def _on_flush_requested(self) -> None:
        with self._lock:
            batch, self._queue = self._queue, []
            self._pending = False
        if batch:
            self.events_received.emit(batch)

    def _on_task_finished(self, result: Any) -> None:
        self._on_flush_requested()
        self.task = None
        self.finished.emit(result)

    def _on_task_failed(self, error: BaseException, tb: str) -> None:
        self._on_flush_requested()
        self.task = None
        self.failed.emit(error, tb)


class RunPanel(QWidget):
    """Run / Cancel buttons, progress bars, statistics and the run log.

    Parameters
    ----------
    session
        Supplies plate, pipeline and config; receives the result.
    parent
        Owning widget.

    Attributes
    ----------
    run_finished
        The ``RunResult`` (after ``session.result`` was set).
    run_failed
        A one-sentence message for the user (the run could not start).
    """

    run_finished = Signal(object)
    run_failed = Signal(str)

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._session = session
        self.controller = RunController(self)
        self.controller.events_received.connect(self._on_controller_events)
        self.controller.finished.connect(self._on_controller_finished)
        self.controller.failed.connect(self._on_controller_failed)
        self._t0 = 0.0
        self._total_wells = 0
        self._wells_done = 0
        self._images = 0
        self._bytes = 0
        self._step_done: list[int] = []

        self.run_button = QPushButton("▶ Run", self)
        self.run_button.setToolTip("Run the pipeline on the open plate (F5)")
        self.run_button.clicked.connect(self.start_run)
        self.cancel_button = QPushButton("■ Cancel", self)
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self._on_cancel_clicked)
        self.overall = QProgressBar(self)
        self.overall.setRange(0, 1)
        self.overall.setValue(0)
        self.overall.setFormat("no run yet")
        self.stats = QLabel("Open a plate and build a pipeline, then press Run (F5).", self)
        self.stats.setWordWrap(True)
        # Room for the longest statistics line wrapped once: a label whose height
        # changes re-lays out the whole window (and resizes the napari canvas).
        self.stats.setFixedHeight(2 * self.stats.fontMetrics().lineSpacing() + 10)
        self.stats.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.steps_box = QWidget(self)
        self.steps_layout = QFormLayout(self.steps_box)
        self.steps_layout.setContentsMargins(0, 0, 0, 0)
        self.step_bars: list[QProgressBar] = []
        self.log = QListWidget(self)
        self.log.setWordWrap(True)
        self.log.currentItemChanged.connect(self._on_log_current_changed)
        self.details = QPlainTextEdit(self)
        self.details.setReadOnly(True)
        self.details.setPlaceholderText("Click an error in the log to see its traceback here.")
        self._timer = QTimer(self)
        self._timer.setInterval(250)
        self._timer.timeout.connect(self._update_stats)

        left = self._progress_box = QWidget(self)
        grid = QGridLayout(left)
        grid.setContentsMargins(0, 0, 0, 0)
        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.cancel_button)
        grid.addLayout(buttons, 0, 0)
        grid.addWidget(self.overall, 1, 0)
        grid.addWidget(self.stats, 2, 0)
        grid.addWidget(self.steps_box, 3, 0)
        grid.setRowStretch(4, 1)
        logs = QSplitter(Qt.Orientation.Horizontal, self)
        logs.addWidget(self.log)
        logs.addWidget(self.details)
        logs.setSizes([520, 260])
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(left)
        splitter.addWidget(logs)
        splitter.setSizes([400, 780])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(splitter)
        self._step_names: list[str] = []
        pipeline = session.pipeline
        for signal in (pipeline.events.inserted, pipeline.events.removed, pipeline.events.moved,
                       pipeline.events.changed, pipeline.events.child_event):
            listen(self, signal, self._on_pipeline_changed)
        self._sync_step_rows([s.name for s in pipeline])

    def _on_pipeline_changed(self, *_args: Any) -> None:
        # Build the step rows while the user edits, so pressing Run creates no
        # widgets: new rows re-lay out the window and repaint the canvas.
        if not self.running:
            self._sync_step_rows([s.name for s in self._session.pipeline])

    @property
    def running(self) -> bool:
        """True while a run is in progress."""
        return self.controller.running

    # -- starting and stopping -----------------------------------------------------
    def start_run(self) -> bool:
        """Run the session's pipeline on its plate (what the Run button does).

        Returns
        -------
        bool
            False (with ``run_failed`` emitted) when there is nothing to run yet.
        """
        session = self._session
        if self.running:
            return False
        if session.plate is None:
            self.run_failed.emit("Open a plate first (File → Open plate…).")
            return False
        if not len(session.pipeline):
            self.run_failed.emit("The pipeline is empty: add a step in the Pipeline panel.")
            return False
        pipeline, cfg = session.snapshot()
        self._reset([s.name for s in pipeline])
        self._log(f"Run started on {session.plate.name} ({len(session.plate.wells)} wells).")
        session.running = True
        self.controller.start(pipeline, session.plate, cfg)
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self._timer.start()
        return True

    def cancel_run(self) -> None:
        """Ask the run to stop (running function calls finish first)."""
        if self.running:
            self.controller.cancel()
            self.cancel_button.setEnabled(False)
            self._log("Cancelling… running function calls finish first.", "#d08000")

    def _on_cancel_clicked(self) -> None:
        self.cancel_run()

    def _reset(self, step_names: list[str]) -> None:
        self._t0 = time.perf_counter()
        self._total_wells = len(self._session.plate.wells)
        self._wells_done = self._images = self._bytes = 0
        self._step_done = [0] * len(step_names)
        self.log.clear()
        self.details.clear()
        self._sync_step_rows(step_names)
        for bar in (self.overall, *self.step_bars):
            bar.setRange(0, max(1, self._total_wells))
            bar.setValue(0)
        self.overall.setFormat("wells %v / %m")

    def _sync_step_rows(self, step_names: list[str]) -> None:
        """One labelled progress bar per step; existing rows are reused, not rebuilt."""
        if step_names == self._step_names:
            return
        while len(self.step_bars) > len(step_names):
            self.steps_layout.removeRow(len(self.step_bars) - 1)
            self.step_bars.pop()
        for i, name in enumerate(step_names):
            text = f"{i + 1}. {name}"
            if i < len(self.step_bars):
                label = self.steps_layout.labelForField(self.step_bars[i])
                if isinstance(label, QLabel) and label.text() != text:
                    label.setText(text)
                continue
            bar = QProgressBar(self.steps_box)
            bar.setRange(0, 1)
            bar.setValue(0)
            bar.setFormat("%v / %m wells")
            self.steps_layout.addRow(text, bar)
            self.step_bars.append(bar)
        self._step_names = list(step_names)

    def _finish(self) -> None:
        self._timer.stop()
        self._update_stats()
        self._session.running = False
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)

    # -- progress --------------------------------------------------------------
    def _on_controller_events(self, events: list[Any]) -> None:
        for event in events:
            if isinstance(event, ImageWritten):
                self._images += 1
                self._bytes += event.nbytes
            elif isinstance(event, StepFinished):
                if event.step_index < len(self._step_done):
                    self._step_done[event.step_index] += 1
            elif isinstance(event, WellFinished):
                self._wells_done += 1
            elif isinstance(event, WellFailed):
                self._log(f"✖ {event.well} failed at '{event.step_name}': {event.message}",
                          "#e0443e", event.traceback)
            elif isinstance(event, RunWarning):
                self._log(f"⚠ {event.message}", "#d08000")
            elif isinstance(event, RunStarted) and event.workspace:
                self._log(f"Workspace: {event.workspace}")
            elif isinstance(event, RunFinished):
                self._log(f"Run {event.status.value} in {event.seconds:.1f} s.")

    def _update_stats(self) -> None:
        # Progress is drawn here, at the timer's pace, not per event, and with
        # the progress box's updates suspended: QProgressBar.setValue repaints
        # (and flushes) synchronously; suspended, every change of this tick is
        # painted in one deferred update of the box only (not the log).
        box = self._progress_box
        box.setUpdatesEnabled(False)
        try:
            self._apply_progress()
        finally:
            box.setUpdatesEnabled(True)

    def _apply_progress(self) -> None:
        if self.overall.value() != self._wells_done:
            self.overall.setValue(self._wells_done)
        for bar, done in zip(self.step_bars, self._step_done, strict=False):
            if bar.value() != done:
                bar.setValue(done)
        elapsed = time.perf_counter() - self._t0 if self._t0 else 0.0
        rate = self._images / elapsed if elapsed > 0 else 0.0
        mbps = self._bytes / 1e6 / elapsed if elapsed > 0 else 0.0
        text = (f"Elapsed {elapsed:.1f} s · {self._images} images written "
                f"({self._bytes / 1e6:.1f} MB) · {rate:.1f} images/s · {mbps:.1f} MB/s")
        if self.stats.text() != text:
            self.stats.setText(text)

    def _log(self, text: str, colour: str | None = None, traceback: str = "") -> None:
        item = QListWidgetItem(text, self.log)
        if colour:
            item.setForeground(QColor(colour))
        if traceback:
            item.setData(_TRACEBACK_ROLE, traceback)
            item.setToolTip("Click to see the traceback")
        self.log.scrollToBottom()

    def _on_log_current_changed(self, item: QListWidgetItem | None, _previous: Any) -> None:
        tb = item.data(_TRACEBACK_ROLE) if item is not None else None
        self.details.setPlainText(tb or (item.text() if item is not None else ""))

    def _on_controller_finished(self, result: Any) -> None:
        self._finish()
        for err in result.errors:
            if not any(self.log.item(i).data(_TRACEBACK_ROLE) == err.traceback for i in range(self.log.count())):
                self._log(f"✖ {err.well} failed at '{err.step}': {err.message}", "#e0443e", err.traceback)
        self._log(result.summary())
        self._session.set_result(result)
        self.run_finished.emit(result)

    def _on_controller_failed(self, error: BaseException, tb: str) -> None:
        self._finish()
        self._log(f"✖ The run could not start: {error}", "#e0443e", tb)
        self.run_failed.emit(f"The run could not start: {error}")
