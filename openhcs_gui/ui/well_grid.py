"""The plate as a grid of wells (rows × columns), optionally coloured as a heatmap.

A read-only Qt table model over a ``PlateIndex``'s wells: row letters down,
column numbers across, as printed on a microplate. Present wells show their
name; gaps stay empty. Heatmap values (one number per well) colour the cells
with a viridis ramp and go in the tooltip.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor

from openhcs_gui.vfs.keys import split_well, well_name

__all__ = ["WellGridModel", "viridis", "FAILED_COLOUR"]

_Index = QModelIndex | QPersistentModelIndex
#: Background of a well whose run failed: never a heatmap colour, never the plain "unmeasured" look.
FAILED_COLOUR = QColor("#e0443e")
_VIRIDIS = ((68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37))


def _row_number(row: str) -> int:
    n = 0
    for ch in row:
        n = n * 26 + (ord(ch) - ord("A") + 1)
    return n


def _row_letters(n: int) -> str:
    out = ""
    while n:
        n, rem = divmod(n - 1, 26)
        out = chr(ord("A") + rem) + out
    return out


def viridis(t: float) -> QColor:
    """Colour of ``t`` in [0, 1] on a five-stop viridis ramp."""
    t = min(1.0, max(0.0, t)) * (len(_VIRIDIS) - 1)
    i = min(int(t), len(_VIRIDIS) - 2)
    f = t - i
    a, b = _VIRIDIS[i], _VIRIDIS[i + 1]
    return QColor(*(round(a[k] + (b[k] - a[k]) * f) for k in range(3)))


class WellGridModel(QAbstractTableModel):
    """Rows × columns of one plate's wells.

    Parameters
    ----------
    parent
        Owning QObject.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._wells: set[str] = set()
        self._rows = 0
        self._cols = 0
        self._values: dict[str, float] = {}
        self._range = (0.0, 1.0)
        self._label = ""
        self._failed: dict[str, str] = {}

    def set_wells(self, wells: list[str]) -> None:
        """Show these wells (grid from row A / column 1 up to the largest present)."""
        self.beginResetModel()
        self._wells = set(wells)
        parts = [split_well(w) for w in wells]
        self._rows = max((_row_number(r) for r, _ in parts), default=0)
        self._cols = max((c for _, c in parts), default=0)
        self._values = {}
        self._failed = {}
        self.endResetModel()

    def set_failed(self, failed: dict[str, str]) -> None:
        """Mark wells whose run failed (well -> message); they show ✖, red, whatever the heatmap."""
        self._failed = dict(failed)
        if self._rows and self._cols:
            self.dataChanged.emit(self.index(0, 0), self.index(self._rows - 1, self._cols - 1))

    def failure(self, well: str) -> str | None:
        """The failure message of ``well``, or ``None`` when it did not fail."""
        return self._failed.get(well)

    def set_values(self, values: dict[str, float], label: str = "") -> None:
        """Colour wells by ``values`` (empty dict: no colouring)."""
        self._values = dict(values)
        self._label = label
        finite = [v for v in values.values() if v == v]
        self._range = (min(finite), max(finite)) if finite else (0.0, 1.0)
        if self._rows and self._cols:
            self.dataChanged.emit(self.index(0, 0), self.index(self._rows - 1, self._cols - 1))

    @property
    def value_range(self) -> tuple[float, float]:
        """(min, max) of the heatmap values."""
        return self._range

    def well_at(self, index: _Index) -> str | None:
        """The well at a cell, or ``None`` for a gap."""
        if not index.isValid():
            return None
        name = well_name(_row_letters(index.row() + 1), index.column() + 1)
        return name if name in self._wells else None

    def index_of(self, well: str) -> QModelIndex:
        """The cell of ``well``."""
        row, col = split_well(well)
        return self.index(_row_number(row) - 1, col - 1)

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else self._rows

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else self._cols

    def headerData(  # noqa: N802
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        return str(section + 1) if orientation == Qt.Orientation.Horizontal else _row_letters(section + 1)

    def flags(self, index: _Index) -> Qt.ItemFlag:
        if self.well_at(index) is None:
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEnabled

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        well = self.well_at(index)
        if well is None:
            return None
        value = self._values.get(well)
        if well in self._failed:
            return self._failed_data(well, role)
        if role == Qt.ItemDataRole.DisplayRole:
            return well if value is None else f"{value:.3g}"
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            if value is None:
                return f"{well} — click to view its images"
            return f"{well}: {self._label} = {value:.4g}"
        if value is None or value != value:
            return None
        lo, hi = self._range
        colour = viridis(0.5 if hi == lo else (value - lo) / (hi - lo))
        if role == Qt.ItemDataRole.BackgroundRole:
            return QBrush(colour)
        if role == Qt.ItemDataRole.ForegroundRole:
            return QBrush(QColor("black") if colour.lightness() > 120 else QColor("white"))
        return None

    def _failed_data(self, well: str, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            return f"✖ {well}"
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{well} failed: {self._failed[well]} — click to see the traceback"
        if role == Qt.ItemDataRole.BackgroundRole:
            return QBrush(FAILED_COLOUR)
        if role == Qt.ItemDataRole.ForegroundRole:
            return QBrush(QColor("white"))
        return None
