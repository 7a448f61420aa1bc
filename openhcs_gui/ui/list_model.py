"""One Qt item model over any psygnal ``EventedList`` (napari's ``_base_item_model``).

The model keeps no copy of the list: Qt asks for rows and this class reads
the list. The list's ``inserting/inserted``, ``removing/removed`` and
``moving/moved`` events become Qt's begin/end row notifications, item field
events (``child_event``) refresh the rows, and a drag inside the view calls
``list.move`` — so reordering by drag and by buttons is the same engine call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from psygnal import EmissionInfo
from psygnal.containers import EventedList
from PySide6.QtCore import (
    QAbstractTableModel,
    QByteArray,
    QMimeData,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
)

from openhcs_gui.ui.binding import listen

__all__ = ["Column", "EventedListModel"]

_MIME = "application/x-openhcs-row"
_Index = QModelIndex | QPersistentModelIndex


@dataclass(frozen=True)
class Column:
    """How one column shows a list item: text, and optionally a tooltip."""

    header: str
    text: Callable[[int, Any], str]
    tooltip: Callable[[int, Any], str] | None = None


class EventedListModel(QAbstractTableModel):
    """Table view of an ``EventedList`` with drag-to-reorder.

    Parameters
    ----------
    items
        The list shown (its events keep the model in sync).
    columns
        Column definitions; each gets ``(row, item)``.
    parent
        Owning QObject; the list connections end when it is destroyed.
    """

    def __init__(
        self, items: EventedList[Any], columns: Sequence[Column], parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._items = items
        self._columns = list(columns)
        self._moving = False
        ev = items.events
        for signal, slot in (
            (ev.inserting, self._on_list_inserting),
            (ev.inserted, self._on_list_inserted),
            (ev.removing, self._on_list_removing),
            (ev.removed, self._on_list_removed),
            (ev.moving, self._on_list_moving),
            (ev.moved, self._on_list_moved),
            (ev.changed, self._on_list_changed),
            (ev.child_event, self._on_list_child_event),
        ):
            listen(self, signal, slot)

    # -- Qt model API ---------------------------------------------------------
    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._items)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._columns)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._items):
            return None
        column = self._columns[index.column()]
        item = self._items[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return column.text(index.row(), item)
        if role == Qt.ItemDataRole.ToolTipRole and column.tooltip is not None:
            return column.tooltip(index.row(), item)
        return None

    def headerData(  # noqa: N802
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return self._columns[section].header
        return str(section + 1)

    def flags(self, index: _Index) -> Qt.ItemFlag:
        base = Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEnabled
        if index.isValid():
            return base | Qt.ItemFlag.ItemIsDragEnabled
        return Qt.ItemFlag.ItemIsDropEnabled

    def supportedDropActions(self) -> Qt.DropAction:  # noqa: N802
        return Qt.DropAction.MoveAction

    def mimeTypes(self) -> list[str]:  # noqa: N802
        return [_MIME]

    def mimeData(self, indexes: Sequence[QModelIndex]) -> QMimeData:  # noqa: N802
        mime = QMimeData()
        rows = sorted({i.row() for i in indexes})
        mime.setData(_MIME, QByteArray(",".join(map(str, rows)).encode()))
        return mime

    def dropMimeData(  # noqa: N802
        self, data: QMimeData, action: Qt.DropAction, row: int, column: int, parent: _Index
    ) -> bool:
        if action == Qt.DropAction.IgnoreAction:
            return True
        if not data.hasFormat(_MIME):
            return False
        rows = [int(r) for r in bytes(data.data(_MIME).data()).decode().split(",") if r]
        if not rows:
            return False
        dest = row if row >= 0 else (parent.row() if parent.isValid() else len(self._items))
        self._items.move(rows[0], dest)
        return False  # the list moved the item itself; Qt must not remove the source row

    # -- list events ----------------------------------------------------------
    def _on_list_inserting(self, index: int) -> None:
        self.beginInsertRows(QModelIndex(), index, index)

    def _on_list_inserted(self, index: int, value: Any) -> None:
        self.endInsertRows()

    def _on_list_removing(self, index: int) -> None:
        self.beginRemoveRows(QModelIndex(), index, index)

    def _on_list_removed(self, index: int, value: Any) -> None:
        self.endRemoveRows()

    def _on_list_moving(self, src: int, dest: int) -> None:
        self._moving = self.beginMoveRows(QModelIndex(), src, src, QModelIndex(), dest)

    def _on_list_moved(self, src: int, dest: int, value: Any) -> None:
        if self._moving:
            self.endMoveRows()
        else:
            self._reset()
        self._moving = False

    def _on_list_changed(self, *_: Any) -> None:
        self._reset()

    def _on_list_child_event(self, info: EmissionInfo) -> None:
        self.refresh()

    def _reset(self) -> None:
        self.beginResetModel()
        self.endResetModel()

    def refresh(self) -> None:
        """Re-read every cell (e.g. after the planner column changed)."""
        if self._items:
            last = self.index(len(self._items) - 1, len(self._columns) - 1)
            self.dataChanged.emit(self.index(0, 0), last)
