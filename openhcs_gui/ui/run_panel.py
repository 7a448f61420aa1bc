"""The Run dock: Run / Resume / Cancel, progress per step and overall, log, speed.

The engine is driven through :class:`~openhcs_gui.ui.run_controller.RunController`
(worker pool, batched queued progress). Before a run the dock says what a
press of Run would do (wells × steps, or what is missing) and sizes its bars
to the open plate. When the plate's newest workspace holds a run that did not
complete (:mod:`~openhcs_gui.ui.resume_probe`, asked on a worker), "Resume"
continues it through the same controller, skipping the wells already done;
Run always starts a new workspace.
"""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from openhcs_gui.constants import Backend, RunStatus
from openhcs_gui.pipeline import (
    ImageWritten,
    ResumeError,
    RunFinished,
    RunStarted,
    RunWarning,
    StepFinished,
    WellFailed,
    WellFinished,
)
from openhcs_gui.ui.binding import listen
from openhcs_gui.ui.resume_probe import ResumableRun, ResumeOffer
from openhcs_gui.ui.run_controller import RunController
from openhcs_gui.ui.run_log import RunLogWidget, outcome_text, summary_details
from openhcs_gui.ui.run_target import RunTarget
from openhcs_gui.ui.session import Session
from openhcs_gui.ui.workers import Task, TaskOwner

__all__ = ["RunController", "RunPanel", "outcome_text"]

#: The engine's advice is for the command line; in the window Run is the way out.
_CLI_ADVICE = "; start a new run or use --overwrite."
_GUI_ADVICE = ". Press Run to start a new workspace instead."


class RunPanel(QWidget):
    """Run / Resume / Cancel buttons, progress bars, statistics and the run log.

    Parameters
    ----------
    session
        Supplies plate, pipeline and config; receives the result.
    parent
        Owning widget.
    tasks
        The window's background calls (default: the panel's own).

    Attributes
    ----------
    run_finished
        The ``RunResult`` (after ``session.result`` was set).
    run_failed
        A one-sentence message for the user (the run could not start).
    resumable_changed
        The :class:`~openhcs_gui.ui.resume_probe.ResumableRun` Resume would
        continue, or ``None`` (after every check of the plate's workspaces).
    """

    run_finished = Signal(object)
    run_failed = Signal(str)
    resumable_changed = Signal(object)

    def __init__(self, session: Session, parent: QWidget | None = None, *,
                 tasks: TaskOwner | None = None) -> None:
        super().__init__(parent)
        self._session = session
        tasks = tasks if tasks is not None else TaskOwner(self)
        self.controller = RunController(self, tasks=tasks)
        self.controller.events_received.connect(self._on_controller_events)
        self.controller.finished.connect(self._on_controller_finished)
        self.controller.failed.connect(self._on_controller_failed)
        self.run_target = RunTarget(self, tasks=tasks, settings=getattr(parent, "settings", None))
        self.run_target.attach(self.controller)  # "Run on": threads, processes or a dask cluster
        self._t0 = 0.0
        self._total_wells = 0
        self._wells_done = 0
        self._failed: dict[str, str] = {}  # well -> message
        self._cancelled: set[str] = set()
        self._ended_cancelled = False
        self._images = 0
        self._bytes = 0
        self._in_memory = 0
        self._step_done: list[int] = []
        self._ran = False  # a run of this plate was started: the stats show it, not the hint

        self.run_button = QPushButton("▶ Run", self)
        self.run_button.setToolTip("Run the pipeline on the open plate (F5)")
        self.run_button.clicked.connect(self.start_run)
        self.resume_offer = ResumeOffer(self, tasks=tasks)
        self.resume_offer.changed.connect(self._on_resume_offer_changed)
        self.resume_button = self.resume_offer.button
        self.resume_button.clicked.connect(self.resume_run)
        self.cancel_button = QPushButton("■ Cancel", self)
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self._on_cancel_clicked)
        self.overall = QProgressBar(self)
        self.overall.setRange(0, 1)
        self.overall.setValue(0)
        self.overall.setFormat("no run yet")
        self.stats = QLabel(self)
        self.stats.setWordWrap(True)
        # Room for the longest statistics line wrapped twice: a label whose height
        # changes re-lays out the whole window (and resizes the napari canvas).
        self.stats.setFixedHeight(3 * self.stats.fontMetrics().lineSpacing() + 10)
        self.stats.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.steps_box = QWidget(self)
        self.steps_layout = QFormLayout(self.steps_box)
        self.steps_layout.setContentsMargins(0, 0, 0, 0)
        self.step_bars: list[QProgressBar] = []
        self.run_log = RunLogWidget(self)
        self.log, self.details = self.run_log.log, self.run_log.details
        self.run_target.message.connect(self._log)
        self._timer = QTimer(self)
        self._timer.setInterval(250)
        self._timer.timeout.connect(self._update_stats)

        left = self._progress_box = QWidget(self)
        grid = QGridLayout(left)
        grid.setContentsMargins(0, 0, 0, 0)
        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.resume_button)
        buttons.addWidget(self.cancel_button)
        top = QVBoxLayout()
        top.addWidget(self.run_target)
        top.addLayout(buttons)
        grid.addLayout(top, 0, 0)
        grid.addWidget(self.overall, 1, 0)
        grid.addWidget(self.stats, 2, 0)
        grid.addWidget(self.steps_box, 3, 0)
        grid.setRowStretch(4, 1)
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(left)
        splitter.addWidget(self.run_log)
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
        session.plate_changed.connect(self._on_session_plate_changed)
        session.failure_requested.connect(self.show_failure)
        session.form_errors_changed.connect(self._on_session_form_errors_changed)
        self._show_ready()

    def _on_pipeline_changed(self, *_args: Any) -> None:
        # Build the step rows while the user edits, so pressing Run creates no
        # widgets: new rows re-lay out the window and repaint the canvas.
        if not self.running:
            self._sync_step_rows([s.name for s in self._session.pipeline])
            self._show_ready()

    def _on_session_plate_changed(self, _plate: Any) -> None:
        self._ran = False
        self._show_ready()
        self.check_resumable()

    def _on_session_form_errors_changed(self, _errors: dict[str, str]) -> None:
        self.run_button.setEnabled(not self.running and not self.blocked_reason())
        self._ran = False  # the hint (or the reason Run is off) replaces the last run's statistics
        self._show_ready()

    def blocked_reason(self) -> str:
        """Why Run is off although nothing runs: the invalid values the forms show (``""``: none)."""
        errors = self._session.form_errors
        if not errors:
            return ""
        field, message = next(iter(errors.items()))
        first = message.splitlines()[0] if message else "invalid"
        more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
        return f"Cannot run: {first.rstrip('.')} ({field}){more}."

    def _show_ready(self) -> None:
        """Before a run: bars sized to the open plate, and what pressing Run would do."""
        if self.running:
            return
        blocked = self.blocked_reason()
        self.run_button.setToolTip(blocked or "Run the pipeline on the open plate (F5)")
        if blocked:
            self.stats.setText(f"<span style='color:#e0443e'>⚠ {blocked}</span>")
            return
        if self._ran:
            return
        plate, steps = self._session.plate, len(self._session.pipeline)
        wells = len(plate.wells) if plate is not None else 0
        for bar in (self.overall, *self.step_bars):
            bar.setRange(0, max(1, wells))
            bar.setValue(0)
        if plate is None:
            text = "Open a plate (File → Open plate…, Ctrl+O), then press Run (F5)."
        elif not steps:
            text = f"{plate.name}: {wells} wells. Add steps in the Pipeline panel, then press Run (F5)."
        else:
            text = f"Ready: {wells} wells × {steps} step{'s' if steps != 1 else ''}. Press Run (F5)."
        resumable = self.resume_offer.found
        if resumable is not None and plate is not None and steps:
            text += (f" Resume finishes the {resumable.status} run "
                     f"({resumable.wells_done} of {resumable.wells_total} wells done).")
        self.stats.setText(text)

    # -- resuming ------------------------------------------------------------------
    def check_resumable(self) -> Task | None:
        """Look (on a worker) for an unfinished run of the open plate; ``resumable_changed`` follows."""
        if self.running:
            return None
        return self.resume_offer.check(self._session.plate, self._session.cfg)

    def _on_resume_offer_changed(self, found: ResumableRun | None) -> None:
        self._show_ready()
        self.resumable_changed.emit(found)

    @property
    def resumable(self) -> ResumableRun | None:
        """The unfinished run Resume would continue (``None``: Resume is hidden)."""
        return self.resume_offer.found

    def resume_run(self) -> bool:
        """Continue the unfinished run in its workspace (what the Resume button does).

        Returns
        -------
        bool
            False (with ``run_failed`` emitted) when there is nothing to resume.
        """
        found = self.resume_offer.found
        if found is None:
            if not self.running:
                self.run_failed.emit("There is no unfinished run of this plate to resume.")
            return False
        return self.start_run(resume=found.workspace)

    @property
    def running(self) -> bool:
        """True while a run is in progress."""
        return self.controller.running

    # -- starting and stopping -----------------------------------------------------
    def start_run(self, resume: Any = False) -> bool:
        """Run the session's pipeline on its plate (what the Run button does).

        Parameters
        ----------
        resume
            ``False``: a new workspace. A workspace path: continue the run
            there (what :meth:`resume_run` passes).

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
        if self.blocked_reason():
            self.run_failed.emit(self.blocked_reason())
            return False
        pipeline, cfg = session.snapshot()
        self._reset([s.name for s in pipeline])
        verb = f"Resuming {resume}" if resume else "Run started"
        self._log(f"{verb} on {session.plate.name} ({len(session.plate.wells)} wells).")
        session.running = True
        self._ran = True
        self.controller.start(pipeline, session.plate, cfg, resume=resume)
        self.run_button.setEnabled(False)
        self.resume_button.setEnabled(False)
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
        self._wells_done = self._images = self._bytes = self._in_memory = 0
        self._failed, self._cancelled = {}, set()
        self._ended_cancelled = False
        self._step_done = [0] * len(step_names)
        self.run_log.clear()
        self._sync_step_rows(step_names)
        for bar in (self.overall, *self.step_bars):
            bar.setRange(0, max(1, self._total_wells))
            bar.setValue(0)
        self.overall.setFormat(self._overall_text())

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
        self.run_button.setEnabled(not self.blocked_reason())
        self.resume_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.check_resumable()

    # -- progress --------------------------------------------------------------
    def _on_controller_events(self, events: list[Any]) -> None:
        for event in events:
            if isinstance(event, ImageWritten):
                # Count as the run summary does: images saved; memory ones apart; tables not.
                if event.backend is Backend.MEMORY:
                    self._in_memory += 1
                elif event.nbytes:
                    self._images += 1
                    self._bytes += event.nbytes
            elif isinstance(event, StepFinished):
                if event.step_index < len(self._step_done):
                    self._step_done[event.step_index] += 1
            elif isinstance(event, WellFinished):
                if event.ok:
                    self._wells_done += 1
                elif event.well not in self._failed:
                    self._cancelled.add(event.well)
            elif isinstance(event, WellFailed):
                self._failed[event.well] = event.message
                self._log(f"✖ {event.well} failed at '{event.step_name}': {event.message}",
                          "#e0443e", event.traceback)
            elif isinstance(event, RunWarning):
                self._log(f"⚠ {event.message}", "#d08000")
            elif isinstance(event, RunStarted):
                self._on_run_started(event)
            elif isinstance(event, RunFinished):
                pass  # the result's headline says it once (see _on_controller_finished)

    def _on_run_started(self, event: RunStarted) -> None:
        if event.workspace:
            self._log(f"Workspace: {event.workspace}")
        if event.skipped:
            # Skipped wells are done: the bars start there and still end full.
            self._wells_done += event.skipped
            self._step_done = [n + event.skipped for n in self._step_done]
            self._log(f"Resumed: {event.skipped} wells already completed are skipped; "
                      f"{event.total_wells} wells run now.")

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

    def _overall_text(self) -> str:
        """The overall bar's words: wells done, and apart from them failed and cancelled ones."""
        text = f"{self._wells_done} of {self._total_wells} wells done"
        if self._failed:
            text += f" · {len(self._failed)} failed"
        cancelled = len(self._cancelled)
        if self._ended_cancelled:  # queued wells that never started were cancelled too
            cancelled = max(cancelled, self._total_wells - self._wells_done - len(self._failed))
        if cancelled:
            text += f" · {cancelled} cancelled"
        return text

    def _apply_progress(self) -> None:
        if self.overall.value() != self._wells_done:
            self.overall.setValue(self._wells_done)
        overall_text = self._overall_text()
        if self.overall.format() != overall_text:
            self.overall.setFormat(overall_text)
        for bar, done in zip(self.step_bars, self._step_done, strict=False):
            if bar.value() != done:
                bar.setValue(done)
        elapsed = time.perf_counter() - self._t0 if self._t0 else 0.0
        rate = self._images / elapsed if elapsed > 0 else 0.0
        mbps = self._bytes / 1e6 / elapsed if elapsed > 0 else 0.0
        memory = f" + {self._in_memory} in memory" if self._in_memory else ""
        text = (f"Elapsed {elapsed:.1f} s · {self._images} images written "
                f"({self._bytes / 1e6:.1f} MB){memory} · {rate:.1f} images/s · {mbps:.1f} MB/s")
        if self.stats.text() != text:
            self.stats.setText(text)

    def _log(self, text: str, colour: str | None = None, traceback: str = "") -> None:
        self.run_log.add(text, colour, traceback)

    def _on_controller_finished(self, result: Any) -> None:
        for err in result.errors:
            self._failed.setdefault(err.well, err.message)
        self._ended_cancelled = result.status is RunStatus.CANCELLED
        self._finish()
        for err in result.errors:
            if not self.run_log.has_traceback(err.traceback):
                self._log(f"✖ {err.well} failed at '{err.step}': {err.message}", "#e0443e", err.traceback)
        headline = outcome_text(result, self._wells_done)
        self.overall.setFormat(self._overall_text())
        self.stats.setText(f"<b>{headline}</b><br>{self.stats.text()}")
        colour = "#e0443e" if result.errors and len(result.errors) >= len(result.wells) else (
            "#d08000" if result.errors or result.status is RunStatus.CANCELLED else None)
        self._log(f"{headline} in {result.seconds:.1f} s.", colour)
        self._log(summary_details(result))
        self._session.set_result(result)
        self.run_finished.emit(result)

    def show_failure(self, well: str) -> bool:
        """Select ``well``'s error in the log and show its traceback (a failed well clicked in the grid).

        Returns
        -------
        bool
            False when the current result has no failure of ``well``.
        """
        errors = [e for e in getattr(self._session.result, "errors", []) if e.well == well]
        if not errors:
            return False
        err = errors[0]
        if not self.run_log.select_traceback(err.traceback):
            self._log(f"✖ {err.well} failed at '{err.step}': {err.message}", "#e0443e", err.traceback)
            self.run_log.select_traceback(err.traceback)
        if not err.traceback:
            self.details.setPlainText(f"{err.well} failed at '{err.step}': {err.message}")
        return True

    def _on_controller_failed(self, error: BaseException, tb: str) -> None:
        self._finish()
        if isinstance(error, ResumeError):
            text = str(error).replace(_CLI_ADVICE, _GUI_ADVICE)
            message = text if text.startswith("Cannot resume") else f"Cannot resume: {text}"
        else:
            message = f"The run could not start: {error}"
        self._log(f"✖ {message}", "#e0443e", tb)
        self.run_failed.emit(message)
