"""Undo/redo over the session's evented models: pipeline steps, step settings, global config.

The history is recorded at the model level, not in the form widgets: every
psygnal event of the ``Pipeline`` list (insert / remove / move / replace), of
its steps (``child_event``) and of the config tree becomes a :class:`Change`
with its old and new value. The models' events carry only the new value, so
a shallow snapshot per model supplies the old one. Changes made within one
turn of the event loop form one undo step (a function change sets ``kwargs``,
``func`` and ``kwargs`` again; loading a file replaces every step), pushed as
one ``QUndoCommand`` on a ``QUndoStack``. Consecutive edits of one field
merge (typing ``1``, ``2``, ``3`` is one undo step). While undo/redo writes
to the models, a guard flag keeps those writes out of the history.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Any

from psygnal import EmissionInfo
from pydantic import BaseModel
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from openhcs_gui.pipeline import FunctionStep
from openhcs_gui.ui.session import Session

__all__ = ["Change", "EditCommand", "History", "MERGE_SECONDS"]

#: Edits of one field closer together than this merge into one undo step.
MERGE_SECONDS = 3.0
_FIELD_EDIT_ID = 0x0E17


def _copy(value: Any) -> Any:
    """A copy safe to keep as an old value (dicts/lists are edited by replacement, not in place)."""
    if isinstance(value, dict | list):
        try:
            return copy.deepcopy(value)
        except Exception:  # an un-copyable parameter value: keep a shallow copy
            return copy.copy(value)
    return value


def _equal(a: Any, b: Any) -> bool:
    """``a == b``, False when the comparison is not a plain bool (numpy arrays in parameters)."""
    try:
        return bool(a == b)
    except Exception:
        return False


def _title(model: BaseModel, name: str) -> str:
    info = type(model).model_fields.get(name)
    title = info.title if info is not None and info.title else name.replace("_", " ")
    return title[:1].upper() + title[1:]


@dataclass
class Change:
    """One reversible model change.

    ``kind`` is ``"set"`` (``target.<name>`` from ``old`` to ``new``) or a
    list operation on the pipeline ``target``: ``"insert"`` / ``"remove"``
    (``item`` at ``index``), ``"move"`` (``item`` from ``index`` to ``dest``),
    ``"replace"`` (``old`` by ``new`` at ``index``).
    """

    kind: str
    target: Any
    name: str = ""
    old: Any = None
    new: Any = None
    index: int = 0
    dest: int = 0
    item: Any = None
    text: str = ""
    key: tuple[Any, ...] | None = None
    step: FunctionStep | None = None

    def apply(self, forward: bool) -> None:
        """Redo (``forward``) or undo the change on its model."""
        t = self.target
        if self.kind == "set":
            setattr(t, self.name, _copy(self.new if forward else self.old))
        elif self.kind in ("insert", "remove"):
            if (self.kind == "insert") == forward:
                t.insert(self.index, self.item)
            else:
                del t[self.index]
        elif self.kind == "move":
            src, final = (self.index, self.dest) if forward else (self.dest, self.index)
            t.move(src, final if final < src else final + 1)
        elif self.kind == "replace":
            t[self.index] = self.new if forward else self.old


@dataclass
class _Batch:
    changes: list[Change] = field(default_factory=list)
    text: str = ""


class EditCommand(QUndoCommand):
    """One undo step: the changes of one user action, applied in order (undone in reverse)."""

    def __init__(self, history: History, changes: list[Change], text: str) -> None:
        super().__init__(text)
        self.history = history
        self.changes = changes
        self.stamp = time.monotonic()
        self._done = True  # the models already hold the new values when it is pushed

    def id(self) -> int:
        """Single field edits can merge (Qt merges only commands with the same id)."""
        return _FIELD_EDIT_ID if len(self.changes) == 1 and self.changes[0].key is not None else -1

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 - Qt override
        """Fold ``other`` into this command when it edits the same field soon after."""
        if not isinstance(other, EditCommand) or other.id() != self.id():
            return False
        mine, theirs = self.changes[0], other.changes[0]
        if mine.key != theirs.key or other.stamp - self.stamp > MERGE_SECONDS:
            return False
        mine.new = theirs.new
        self.stamp = other.stamp
        self.setText(theirs.text)
        if _equal(mine.new, mine.old):  # typed back to where it started: nothing left to undo
            self.setObsolete(True)
        return True

    def redo(self) -> None:
        if self._done:
            self._done = False
            return
        self.history.apply(self.changes, forward=True)

    def undo(self) -> None:
        self.history.apply(self.changes, forward=False)


class History(QObject):
    """The undo history of one window's session (a ``QUndoStack`` fed by model events).

    Parameters
    ----------
    session
        Its pipeline list, the pipeline's steps and its config tree are recorded.
    parent
        Owning QObject; the model connections end with it.

    Attributes
    ----------
    stack
        The ``QUndoStack`` (for ``QUndoView``, actions and the clean state).
    applied
        After an undo/redo: the step it changed (or ``None``), so the editor can show it.
    """

    applied = Signal(object)

    def __init__(self, session: Session, parent: QObject | None = None) -> None:
        super().__init__(parent)
        from openhcs_gui.ui.binding import listen

        self.session = session
        self.stack = QUndoStack(self)
        self._applying = False
        self._pending = _Batch()
        self._snap: dict[int, dict[str, Any]] = {}
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self.flush)
        pipeline = session.pipeline
        listen(self, pipeline.events.inserted, self._on_inserted)
        listen(self, pipeline.events.removed, self._on_removed)
        listen(self, pipeline.events.moved, self._on_moved)
        listen(self, pipeline.events.changed, self._on_replaced)
        listen(self, pipeline.events.child_event, self._on_step_event)
        for step in pipeline:
            self._snapshot(step)
        self._watch_config(session.cfg)

    # -- recording -------------------------------------------------------------
    def _snapshot(self, model: BaseModel) -> None:
        self._snap[id(model)] = {n: _copy(getattr(model, n)) for n in type(model).model_fields}

    def _watch_config(self, model: BaseModel) -> None:
        from openhcs_gui.ui.binding import listen

        self._snapshot(model)
        listen(self, model.events, lambda info, m=model: self._on_config_event(m, info))  # type: ignore[attr-defined]
        for name in type(model).model_fields:
            value = getattr(model, name)
            if isinstance(value, BaseModel) and hasattr(value, "events"):
                self._watch_config(value)

    def _field_change(self, model: BaseModel, name: str) -> Change | None:
        snap = self._snap.setdefault(id(model), {})
        old, new = snap.get(name), getattr(model, name)
        snap[name] = _copy(new)
        if self._applying or _equal(old, new):
            return None
        return Change("set", model, name, old, _copy(new))

    def _on_config_event(self, model: BaseModel, info: EmissionInfo) -> None:
        change = self._field_change(model, info.signal.name)
        if change is None:
            return
        if isinstance(change.new, BaseModel) and hasattr(change.new, "events"):
            self._watch_config(change.new)
        change.text = f"Change “{_title(model, change.name)}”"
        change.key = (id(model), change.name)
        self._record(change)

    def _on_step_event(self, info: EmissionInfo) -> None:
        step = self.session.pipeline[int(info.path[0].index or 0)]
        change = self._field_change(step, info.signal.name)
        if change is None:
            return
        change.step = step
        change.text, change.key = _describe_step_change(step, change)
        self._record(change)

    def _on_inserted(self, index: int, step: FunctionStep) -> None:
        self._snapshot(step)
        if not self._applying:
            self._record(Change("insert", self.session.pipeline, index=index, item=step, step=step,
                                text=f"Add step “{step.name}”"))

    def _on_removed(self, index: int, step: FunctionStep) -> None:
        if not self._applying:
            self._record(Change("remove", self.session.pipeline, index=index, item=step, step=step,
                                text=f"Remove step “{step.name}”"))

    def _on_moved(self, src: int, dest: int, step: FunctionStep) -> None:
        if not self._applying:
            self._record(Change("move", self.session.pipeline, index=src, dest=dest, item=step, step=step,
                                text=f"Move step “{step.name}”"))

    def _on_replaced(self, index: Any, old: Any, new: Any) -> None:
        if isinstance(new, FunctionStep):
            self._snapshot(new)
        if not self._applying and isinstance(index, int):
            self._record(Change("replace", self.session.pipeline, index=index, old=old, new=new, step=new,
                                text=f"Change the function of step “{new.name}”"))

    def _record(self, change: Change) -> None:
        self._pending.changes.append(change)
        if not self._timer.isActive():
            self._timer.start()

    # -- public ----------------------------------------------------------------
    def describe_next(self, text: str) -> None:
        """Name the undo step the changes of this event-loop turn will form ("New pipeline")."""
        self._pending.text = text

    def flush(self) -> None:
        """Push the changes recorded so far as one undo step (normally done on the next loop turn)."""
        self._timer.stop()
        batch, self._pending = self._pending, _Batch()
        if not batch.changes:
            return
        text = batch.text or _batch_text(batch.changes)
        self.stack.push(EditCommand(self, batch.changes, text))

    def undo(self) -> None:
        """Undo the last step (after recording anything still pending)."""
        self.flush()
        self.stack.undo()

    def redo(self) -> None:
        """Redo the last undone step."""
        self.flush()
        self.stack.redo()

    def clear(self) -> None:
        """Forget the history (a project was opened or started); the state is clean."""
        self._timer.stop()
        self._pending = _Batch()
        self.stack.clear()
        self.stack.setClean()

    def apply(self, changes: list[Change], *, forward: bool) -> None:
        """Replay (``forward``) or reverse ``changes`` without recording them."""
        self._applying = True
        try:
            for change in changes if forward else reversed(changes):
                change.apply(forward)
        finally:
            self._applying = False
        shown = [(c.new if forward else c.old) if c.kind == "replace" else c.step for c in changes]
        steps = [s for s in shown if s is not None and s in self.session.pipeline]
        self.applied.emit(steps[-1] if steps else None)


def _changed_keys(old: Any, new: Any) -> list[str]:
    if not isinstance(old, dict) or not isinstance(new, dict):
        return []
    return sorted(k for k in set(old) | set(new) if not _equal(old.get(k, object()), new.get(k, object())))


def _describe_step_change(step: FunctionStep, change: Change) -> tuple[str, tuple[Any, ...] | None]:
    """Menu text and merge key of a step field change."""
    name = change.name
    if name == "kwargs":
        keys = _changed_keys(change.old, change.new)
        if len(keys) == 1:
            return f"Change {keys[0].replace('_', ' ')} of step “{step.name}”", (id(step), name, keys[0])
        return f"Change the parameters of step “{step.name}”", None
    if name == "name":
        return f"Rename step “{change.old}” to “{change.new}”", (id(step), name)
    if name == "func":
        same = (isinstance(change.old, dict) and isinstance(change.new, dict) and set(change.old) == set(change.new)
                and all(_callable(change.old[c]) is _callable(change.new[c]) for c in change.old))
        if same:  # a per-channel parameter edit
            return f"Change the parameters of step “{step.name}”", (id(step), name)
        return f"Change the function of step “{step.name}”", None
    return f"Change “{_title(step, name)}” of step “{step.name}”", (id(step), name)


def _callable(entry: Any) -> Any:
    return entry[0] if isinstance(entry, tuple) else entry


def _batch_text(changes: list[Change]) -> str:
    if len(changes) == 1:
        return changes[0].text
    steps = {id(c.step) for c in changes if c.step is not None}
    structural = [c for c in changes if c.kind != "set"]
    if not structural and len(steps) == 1:
        return next(c.text for c in changes)
    if structural and len({c.kind for c in structural}) > 1 and len(structural) > 2:
        return "Replace the pipeline"
    if not structural:
        return f"Change {len(changes)} settings"
    return structural[-1].text if len(structural) == 1 else f"{len(structural)} pipeline changes"
