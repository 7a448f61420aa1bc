"""The Pipeline dock: function library, step list with planned outputs, step form.

The step list is :class:`~openhcs_gui.ui.list_model.EventedListModel` over the
session's ``Pipeline``; add / remove / move / duplicate are ``Pipeline`` list
calls, and the view follows the list's events. The *Output* column is the
engine planner's answer (``pipeline.plan(plate, cfg)``), recomputed whenever a
step or the config changes — the GUI never guesses where data will go.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from PySide6.QtCore import QItemSelectionModel, Qt, QTimer, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from openhcs_gui.errors import OpenHCSError
from openhcs_gui.functions import list_functions
from openhcs_gui.functions import search as search_functions
from openhcs_gui.pipeline import FunctionStep
from openhcs_gui.ui.binding import listen
from openhcs_gui.ui.list_model import Column, EventedListModel
from openhcs_gui.ui.session import Session, copy_step
from openhcs_gui.ui.step_channels import channel_choices
from openhcs_gui.ui.step_form import StepFormWidget, make_step

__all__ = ["PipelineEditor", "output_text", "next_free_workspace", "carry_parameters"]


def next_free_workspace(base: str | Path) -> str:
    """The folder a new run will really write: ``base``, or ``base_2``, ``base_3``… if taken.

    Mirrors the engine's ``prepare_workspace`` naming (a few ``stat`` calls).
    """
    path, n = Path(base), 1
    candidate = path
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.name}_{n}")
    return candidate.as_posix()


def output_text(step_plan: Any, workspace: str) -> str:
    """Short description of where a planned step output goes (the *Output* column)."""
    backend = step_plan.backend.value
    if backend == "memory":
        return "memory (kept)" if step_plan.drop_after is None else "memory (freed after use)"
    rel = step_plan.image_dir[len(workspace):].lstrip("/")
    return f"{_OUTPUT_WORDS.get(backend, backend)}: {rel}"


#: The Output column's words for a persistent backend (what a scientist finds on disk).
_OUTPUT_WORDS = {"disk": "TIFF", "zarr": "OME-Zarr"}


def _connect_tree(owner: QWidget, model: BaseModel, callback: Any) -> None:
    """Connect ``callback`` to the events of ``model`` and every nested model."""
    events = getattr(model, "events", None)
    if events is not None:
        listen(owner, events, callback)
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            _connect_tree(owner, value, callback)


class PipelineEditor(QWidget):
    """Build and edit the session's pipeline.

    Parameters
    ----------
    session
        Supplies the pipeline (edited in place), the config and the plate the
        planner column uses.
    parent
        Owning widget.
    tasks
        The window's workers: the function library is imported on one of them
        (numpy, scikit-image wrappers: a few hundred ms), so the window is up
        and responsive meanwhile. Without it the list fills on the next turn of
        the event loop.

    Attributes
    ----------
    open_requested, save_requested
        The Open… / Save… buttons; the main window runs the file dialog.
    message
        A user-facing problem to show in the status bar.
    """

    open_requested = Signal()
    save_requested = Signal()
    message = Signal(str)

    def __init__(self, session: Session, parent: QWidget | None = None, tasks: Any = None) -> None:
        super().__init__(parent)
        self._session = session
        self.plan: Any = None
        self.plan_error = ""
        self.step_form: StepFormWidget | None = None

        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search functions…")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._on_search_changed)
        self.library = QListWidget(self)
        self._library_filled = False
        # Listing the functions imports the function library (and numpy): a tenth of the
        # app's start. It is imported on a worker and the list fills when it is done, or
        # at once if something needs it sooner (typing a search, Add step).
        if tasks is not None:
            tasks.submit(list_functions, name="list functions", on_finished=self.fill_library)
        else:
            QTimer.singleShot(0, self, self.fill_library)
        self._fit_library_rows()
        self.library.itemDoubleClicked.connect(self._on_library_double_clicked)
        self.add_button = QPushButton("Add step", self)
        self.add_button.clicked.connect(self._on_add_clicked)

        self.model = EventedListModel(
            session.pipeline,
            [
                Column("Step", lambda _r, s: s.name),
                Column("Function", self._function_text),
                Column("Output", self._output_text, self._output_tooltip),
            ],
            self,
        )
        self.table = QTableView(self)
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.table.setDragEnabled(True)
        self.table.setAcceptDrops(True)
        self.table.setDropIndicatorShown(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.selectionModel().currentRowChanged.connect(self._on_table_row_changed)

        self.buttons: dict[str, QPushButton] = {}
        row_buttons = QHBoxLayout()
        for key, text, tip, slot in (
            ("up", "▲", "Move the step up", self._on_up_clicked),
            ("down", "▼", "Move the step down", self._on_down_clicked),
            ("duplicate", "Duplicate", "Copy the step below itself", self._on_duplicate_clicked),
            ("remove", "Remove", "Remove the step", self._on_remove_clicked),
            ("open", "Open…", "Open a pipeline file", self.open_requested.emit),
            ("save", "Save…", "Save the pipeline to a file", self.save_requested.emit),
        ):
            button = QPushButton(text, self)
            button.setToolTip(tip)
            button.clicked.connect(slot)
            row_buttons.addWidget(button)
            self.buttons[key] = button
        self.plan_label = QLabel(self)
        self.plan_label.setWordWrap(True)
        self.plan_label.setStyleSheet("color: #9aa0a6;")

        self.form_area = QScrollArea(self)
        self.form_area.setWidgetResizable(True)
        self._show_form(None)

        top = QWidget(self)
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        add_row = QHBoxLayout()
        add_row.addWidget(self.search, 1)
        add_row.addWidget(self.add_button)
        top_layout.addLayout(add_row)
        top_layout.addWidget(self.library)
        top_layout.addWidget(self.table, 1)
        top_layout.addLayout(row_buttons)
        top_layout.addWidget(self.plan_label)
        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.addWidget(top)
        splitter.addWidget(self.form_area)
        # the step's parameters get the height; the table needs a few rows (1366×768 laptops)
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([250, 600])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(splitter)

        pipeline = session.pipeline
        for signal in (pipeline.events.inserted, pipeline.events.removed, pipeline.events.moved,
                       pipeline.events.changed, pipeline.events.child_event):
            listen(self, signal, self._on_pipeline_event)
        _connect_tree(self, session.cfg, self._on_pipeline_event)
        session.plate_changed.connect(self._on_pipeline_event)
        session.plate_changed.connect(self._on_session_plate_changed)
        session.result_changed.connect(self._on_pipeline_event)  # a run took the planned folder
        self.refresh_plan()

    # -- planner ---------------------------------------------------------------
    def refresh_plan(self) -> None:
        """Ask the engine's planner where each step's output goes and redraw the column."""
        session = self._session
        plate = session.plate if session.plate is not None else Path("plate")
        try:
            self.plan = session.pipeline.plan(plate, session.cfg) if len(session.pipeline) else None
            self.plan_error = ""
        except (OpenHCSError, ValueError, KeyError) as e:
            self.plan, self.plan_error = None, str(e)
        if self.plan_error:
            self.plan_label.setText(f"Cannot plan: {self.plan_error}")
        elif self.plan is None:
            self.plan_label.setText("Add steps from the function library above.")
        else:
            where = next_free_workspace(self.plan.workspace) if session.plate is not None else "<plate>_workspace"
            warn = "".join(f"\n⚠ {w}" for w in self.plan.warnings)
            self.plan_label.setText(f"Results go to {where}{warn}")
        self.model.refresh()
        if self.step_form is not None:
            self.step_form.refresh_inherited()

    def _step_plan(self, row: int) -> Any:
        if self.plan is None or row >= len(self.plan.steps):
            return None
        return self.plan.steps[row]

    def _output_text(self, row: int, _step: FunctionStep) -> str:
        sp = self._step_plan(row)
        return "?" if sp is None else output_text(sp, self.plan.workspace)

    def _output_tooltip(self, row: int, _step: FunctionStep) -> str:
        sp = self._step_plan(row)
        if sp is None:
            return self.plan_error
        return f"{sp.backend.value} ({sp.rule})\n{sp.image_dir}"

    def _function_text(self, row: int, step: FunctionStep) -> str:
        sp = self._step_plan(row)
        return sp.function if sp is not None else str(getattr(step.func, "__name__", "chain"))

    def _inherited_backend(self) -> Any:
        sp = self._step_plan(self.current_row())
        return sp.backend if sp is not None else None

    # -- selection and form ----------------------------------------------------
    def current_row(self) -> int:
        """Index of the selected step, or -1."""
        index = self.table.selectionModel().currentIndex()
        return index.row() if index.isValid() else -1

    def select_row(self, row: int) -> None:
        """Select step ``row`` (and show its form)."""
        if 0 <= row < len(self._session.pipeline):
            self.table.selectionModel().setCurrentIndex(
                self.model.index(row, 0),
                QItemSelectionModel.SelectionFlag.ClearAndSelect
                | QItemSelectionModel.SelectionFlag.Rows,
            )

    def _show_form(self, step: FunctionStep | None) -> None:
        self._session.set_form_errors("step form", {})  # a form that is gone shows no invalid value
        if step is None:
            self.step_form = None
            placeholder = QLabel("Select a step to edit its parameters.", self)
            placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
            self.form_area.setWidget(placeholder)
            return
        self.step_form = StepFormWidget(step, self._inherited_backend, self,
                                        channels=channel_choices(self._session.plate))
        self.step_form.function_changed.connect(self._on_step_form_function_changed)
        self.step_form.message.connect(self.message)
        self.step_form.errors_changed.connect(self._on_step_form_errors_changed)
        self.form_area.setWidget(self.step_form)

    def _on_session_plate_changed(self, _plate: Any) -> None:
        if self.step_form is not None:  # the channel choices are the new plate's
            self._show_form(self.step_form.step)

    def _on_step_form_errors_changed(self, errors: dict[str, str]) -> None:
        self._session.set_form_errors("step form", errors)

    def _on_table_row_changed(self, current: Any, _previous: Any) -> None:
        row = current.row() if current.isValid() else -1
        pipeline = self._session.pipeline
        step = pipeline[row] if 0 <= row < len(pipeline) else None
        if self.step_form is None or step is not self.step_form.step:
            self._show_form(step)

    def _on_pipeline_event(self, *_: Any) -> None:
        self.refresh_plan()
        row = self.current_row()
        pipeline = self._session.pipeline
        step = pipeline[row] if 0 <= row < len(pipeline) else None
        if self.step_form is not None and step is not self.step_form.step:
            self._show_form(step)

    # -- actions ---------------------------------------------------------------
    def add_function(self, function_name: str) -> FunctionStep | None:
        """Append a step for a registered function and select it."""
        try:
            step = make_step(function_name)
        except (OpenHCSError, ValueError) as e:
            self.message.emit(str(e))
            return None
        self._session.pipeline.append(step)
        self.select_row(len(self._session.pipeline) - 1)
        return step

    def fill_library(self, functions: list[Any] | None = None) -> None:
        """List the registered functions in the library, once (``functions``: already listed)."""
        if self._library_filled:
            return
        self._library_filled = True
        for reg in sorted(list_functions() if functions is None else functions, key=lambda r: (r.category, r.name)):
            item = QListWidgetItem(f"{reg.display_name}   ({reg.category})", self.library)
            item.setData(Qt.ItemDataRole.UserRole, reg.name)
            item.setToolTip(reg.doc)
        self._fit_library_rows()

    def _fit_library_rows(self, rows: int = 5) -> None:
        """Size the function list to whole rows: a half-visible last row reads as a glitch.

        Called again on show, because the napari stylesheet (row padding) is
        applied after construction and changes the row height.
        """
        lib = self.library
        first = lib.item(0)
        rect_height = lib.visualItemRect(first).height() if first is not None else 0
        row_height = rect_height or max(lib.sizeHintForRow(0), lib.fontMetrics().height() + 2)
        chrome = lib.height() - lib.viewport().height() if lib.isVisible() else 2 * lib.frameWidth()
        lib.setFixedHeight(rows * row_height + chrome)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        QTimer.singleShot(0, self._fit_library_rows)  # after the stylesheet and layout settle

    def _on_search_changed(self, text: str) -> None:
        # the engine's search: names, descriptions and keywords ("nuclei", "count"), best match first
        self.fill_library()
        ranked = [r.name for r in search_functions(text)]
        items = [self.library.item(i) for i in range(self.library.count())]
        for item in items:
            item.setHidden(item.data(Qt.ItemDataRole.UserRole) not in ranked)
        best = next((i for i in items if ranked and i.data(Qt.ItemDataRole.UserRole) == ranked[0]), None)
        if best is not None:
            self.library.setCurrentItem(best)

    def _on_library_double_clicked(self, item: QListWidgetItem) -> None:
        self.add_function(item.data(Qt.ItemDataRole.UserRole))

    def _on_add_clicked(self) -> None:
        self.fill_library()
        item = self.library.currentItem()
        if item is None or item.isHidden():
            self.message.emit("Pick a function in the library list first.")
            return
        self.add_function(item.data(Qt.ItemDataRole.UserRole))

    def _move(self, delta: int) -> None:
        row = self.current_row()
        target = row + delta
        if row < 0 or not 0 <= target < len(self._session.pipeline):
            return
        self._session.pipeline.move(row, target + 1 if delta > 0 else target)
        self.select_row(target)

    def _on_up_clicked(self) -> None:
        self._move(-1)

    def _on_down_clicked(self) -> None:
        self._move(1)

    def _on_duplicate_clicked(self) -> None:
        row = self.current_row()
        if row < 0:
            return
        copy = copy_step(self._session.pipeline[row])
        copy.name = f"{copy.name}_copy"
        self._session.pipeline.insert(row + 1, copy)
        self.select_row(row + 1)

    def _on_remove_clicked(self) -> None:
        row = self.current_row()
        if row < 0:
            return
        name = self._session.pipeline[row].name
        del self._session.pipeline[row]
        self.select_row(min(row, len(self._session.pipeline) - 1))
        self.message.emit(f"Removed step “{name}” — Edit → Undo (Ctrl+Z) to restore it.")

    def _on_step_form_function_changed(self, old: FunctionStep, new: FunctionStep) -> None:
        pipeline = self._session.pipeline
        row = pipeline.index(old)
        kept = carry_parameters(old, new)
        pipeline[row] = new
        self.select_row(row)
        if kept:
            self.message.emit(f"Kept {', '.join(kept)} from the previous function.")

    def show_step(self, step: FunctionStep) -> None:
        """Select ``step`` and rebuild its form from the step as it is now (after undo/redo)."""
        pipeline = self._session.pipeline
        if step not in pipeline:
            return
        self.select_row(pipeline.index(step))
        self._show_form(step)


def _func_kwargs(step: FunctionStep) -> tuple[Any, dict[str, Any]]:
    """The step's one function and its parameters (``(None, {})`` for chains and differing channels)."""
    func = step.func
    if isinstance(func, dict):
        entries = {c: step.chain_for(c) for c in func}
        firsts = [chain[0] for chain in entries.values() if chain is not None and len(chain) == 1]
        if len(firsts) == len(func) and all(f[0] is firsts[0][0] for f in firsts):
            return firsts[0][0], dict(firsts[0][1])
        return None, {}
    if isinstance(func, tuple):
        return func[0], dict(func[1])
    return (func, dict(step.kwargs)) if callable(func) else (None, {})


def carry_parameters(old: FunctionStep, new: FunctionStep) -> list[str]:
    """Give ``new`` the parameters of ``old`` whose names exist in its function and whose values fit.

    A value fits when the new function's signature accepts it (same
    validation as a pipeline file). Returns the names that were kept.
    """
    from openhcs_gui.pipeline.step import check_kwargs

    _old_func, old_kwargs = _func_kwargs(old)
    new_func, new_kwargs = _func_kwargs(new)
    if new_func is None or not old_kwargs:
        return []
    try:
        names = set(list(inspect.signature(new_func).parameters)[1:])
    except (TypeError, ValueError):
        return []
    kept: dict[str, Any] = {}
    for key, value in old_kwargs.items():
        if key in names and new_kwargs.get(key) != value:
            try:
                kept.update(check_kwargs(new_func, {key: value}))
            except (ValueError, TypeError):
                continue
    if not kept:
        return []
    merged = {**new_kwargs, **kept}
    try:
        if isinstance(new.func, dict):
            new.func = {c: (new_func, dict(merged)) for c in new.func}
        else:
            new.kwargs = merged
    except (ValueError, OpenHCSError):
        return []
    return sorted(kept)
