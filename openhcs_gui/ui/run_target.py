"""Where a run's wells go: "Run on: this computer (threads / processes) / a dask cluster at …".

:class:`RunTarget` is the Run dock's choice. It hands the
:class:`~openhcs_gui.ui.run_controller.RunController` an executor for each run
(``None`` for threads) and keeps one ``DaskExecutor`` between runs, so a local
cluster of worker processes starts once: on the run's worker thread (the
executor connects on first use, never on the GUI thread), and is closed on a
background thread when the choice changes or the window goes. While a
distributed run goes it asks the scheduler every second, on a worker, how many
workers are busy and how much memory they use. The choice is remembered in
``QSettings`` (key ``run/target``) and :meth:`RunTarget.get_state` /
:meth:`RunTarget.set_state` give it to a project file.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from PySide6.QtCore import QCoreApplication, QSettings, QTimer, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from openhcs_gui.constants import Backend
from openhcs_gui.errors import ClusterError
from openhcs_gui.ui.workers import TaskOwner

__all__ = ["RunTarget", "THREADS", "PROCESSES", "CLUSTER", "check_address"]

THREADS, PROCESSES, CLUSTER = "threads", "processes", "cluster"
_LABELS = {THREADS: "this computer (threads)", PROCESSES: "this computer (processes)",
           CLUSTER: "a dask cluster at"}
_SETTINGS_KEY = "run/target"
_ADDRESS = re.compile(r"^(tcp|tls|inproc|ucx)://[^\s/:]+(:\d{1,5})?/?$")
_MEMORY_HINT = "Results kept only in memory stay in the worker processes: preview a well to see them."


def check_address(address: str) -> str:
    """The scheduler address, stripped.

    Raises
    ------
    ClusterError
        Empty, or not ``tcp://HOST:PORT``-like; one sentence saying what to type.
    """
    address = address.strip()
    if not address:
        raise ClusterError("Type the address of the dask scheduler next to 'Run on', e.g. tcp://192.168.1.5:8786.")
    if not _ADDRESS.match(address):
        raise ClusterError(f"'{address}' is not a dask scheduler address; it looks like tcp://HOST:8786.")
    return address


class _Cluster:
    """Qt-free holder of the one ``DaskExecutor`` kept between runs (closed off the GUI thread)."""

    def __init__(self) -> None:
        self.key: tuple[Any, ...] | None = None
        self.executor: Any = None

    def get(self, key: tuple[Any, ...]) -> Any:
        """The executor for ``key`` (``(kind, target, workers, budget)``); another one is closed first."""
        if key != self.key:
            self.close()
            from openhcs_gui.pipeline.executors import DaskExecutor  # distributed only when chosen

            _kind, target, workers, budget = key
            self.executor = DaskExecutor(target, n_workers=workers, memory_budget_gb=budget)
            self.key = key
        return self.executor

    def close(self, *_args: Any) -> None:
        """Close the executor (and a local cluster) on a background thread: it can take seconds."""
        executor, self.executor, self.key = self.executor, None, None
        if executor is not None:
            threading.Thread(target=executor.close, name="openhcs-close-cluster", daemon=True).start()


class RunTarget(QWidget):
    """"Run on" combo box, scheduler address, and the cluster's state while a run goes.

    Attributes
    ----------
    changed
        The choice or the address changed (also after :meth:`set_state`).
    message
        ``(text, colour)`` for the run log (memory-only steps after a distributed run).
    """

    changed = Signal()
    message = Signal(str, str)

    def __init__(self, parent: QWidget | None = None, *, tasks: TaskOwner | None = None,
                 settings: QSettings | None = None) -> None:
        super().__init__(parent)
        self._tasks = tasks if tasks is not None else TaskOwner(self)
        self._settings = settings
        self._cluster = _Cluster()
        self._polling = False
        self.combo = QComboBox(self)
        for key, label in _LABELS.items():
            self.combo.addItem(label, key)
        self.combo.setToolTip("Threads: the usual way. Processes: worker processes on this computer "
                              "(dask). Cluster: a running dask scheduler whose workers see the same files.")
        self.address = QLineEdit(self)
        self.address.setPlaceholderText("tcp://HOST:8786")
        self.address.setToolTip("Address of a running dask scheduler (dask scheduler prints it)")
        self.info = QLabel(self)
        self.info.setWordWrap(True)
        self.info.setStyleSheet("color: gray")
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Run on:", self))
        row.addWidget(self.combo)
        row.addWidget(self.address, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(row)
        layout.addWidget(self.info)
        self._timer = QTimer(self)
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self._poll)
        self.set_state(self._load())
        self.combo.currentIndexChanged.connect(self._on_choice_changed)
        self.address.editingFinished.connect(self._on_choice_changed)
        self.destroyed.connect(self._cluster.close)  # the window goes: its cluster too
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self._cluster.close)

    # -- state ------------------------------------------------------------------
    @property
    def choice(self) -> str:
        """``"threads"``, ``"processes"`` or ``"cluster"``."""
        return str(self.combo.currentData())

    def get_state(self) -> dict[str, str]:
        """The choice as plain data (for QSettings and project files)."""
        return {"on": self.choice, "address": self.address.text().strip()}

    def set_state(self, state: dict[str, Any]) -> None:
        """Apply :meth:`get_state` data; unknown values fall back to threads."""
        index = self.combo.findData(str(state.get("on", THREADS)))
        self.combo.blockSignals(True)
        self.combo.setCurrentIndex(max(0, index))
        self.combo.blockSignals(False)
        self.address.setText(str(state.get("address", "") or ""))
        self._on_choice_changed()

    def _load(self) -> dict[str, Any]:
        value = self._settings.value(_SETTINGS_KEY) if self._settings is not None else None
        return value if isinstance(value, dict) else {}

    def _on_choice_changed(self, *_args: Any) -> None:
        self.address.setVisible(self.choice == CLUSTER)
        self.info.setText("" if self.choice == THREADS else _MEMORY_HINT)
        self.info.setVisible(self.choice != THREADS)
        if self._cluster.key is not None and self._cluster.key[0] != self.choice:
            self._cluster.close()  # e.g. processes -> threads: the local cluster goes now
        if self._settings is not None:
            self._settings.setValue(_SETTINGS_KEY, self.get_state())
        self.changed.emit()

    # -- runs -------------------------------------------------------------------
    def executor_for(self, cfg: Any) -> Any:
        """The executor of a run with ``cfg`` (``None``: threads). Cheap: nothing connects here.

        Raises
        ------
        ClusterError
            The scheduler address is empty or malformed.
        """
        budget = getattr(cfg, "memory_budget_gb", None)
        if self.choice == PROCESSES:
            return self._cluster.get((PROCESSES, "local", cfg.num_workers, budget))
        if self.choice == CLUSTER:
            return self._cluster.get((CLUSTER, check_address(self.address.text()), None, None))
        return None

    def attach(self, controller: Any) -> None:
        """Give ``controller`` this target and follow its runs (cluster state, memory-only note)."""
        controller.target = self
        controller.started.connect(self._on_run_started)
        controller.finished.connect(self._on_run_finished)
        controller.failed.connect(self._on_run_failed)

    def _on_run_started(self) -> None:
        self.combo.setEnabled(False)
        self.address.setEnabled(False)
        if self.choice != THREADS:
            self.info.setText("Connecting to the cluster…" if self.choice == CLUSTER
                              else "Starting worker processes…")
            self._timer.start()

    def _on_run_ended(self) -> None:
        self._timer.stop()
        self.combo.setEnabled(True)
        self.address.setEnabled(True)
        self.info.setText("" if self.choice == THREADS else _MEMORY_HINT)

    def _on_run_failed(self, *_args: Any) -> None:
        self._on_run_ended()

    def _on_run_finished(self, result: Any) -> None:
        self._on_run_ended()
        if getattr(result, "remote_memory", False):
            names = [s.name for s in result.steps if s.backend is Backend.MEMORY]
            if names:
                self.message.emit(f"In memory only: {', '.join(names)}. After a run on worker processes "
                                  "these are not in Outputs; preview a well to see them.", "#d08000")

    def _poll(self) -> None:
        executor = self._cluster.executor
        if executor is None or self._polling:
            return
        self._polling = True
        self._tasks.submit(executor.status, name="cluster status", on_finished=self._on_status,
                           on_failed=self._on_status_failed)

    def _on_status_failed(self, *_args: Any) -> None:
        self._polling = False

    def _on_status(self, status: Any) -> None:
        self._polling = False
        if status is None or not self._timer.isActive():
            return
        limit = f" of {status.memory_limit / 1e9:.1f} GB" if status.memory_limit else " GB"
        self.info.setText(f"{status.workers} worker{'s' if status.workers != 1 else ''}, {status.busy} busy · "
                          f"memory {status.memory / 1e9:.1f}{limit}")
