"""The plate as a grid of wells (rows × columns), optionally coloured as a heatmap.

A read-only Qt table model over a ``PlateIndex``'s wells: row letters down,
column numbers across, as printed on a microplate. Present wells show their
name; gaps stay empty. Heatmap values (one number per well) colour the cells
with a viridis ramp and go in the tooltip.

:class:`WellGridView` shows the whole plate at once whatever its size (6 to
1536 wells): square cells shrink to fit the dock, text is left out of cells too
small to hold it, row and column labels thin out (every 2nd, 4th …), and
Ctrl+wheel zooms in (the scroll bars then pan) to read. :class:`ColourBar` is the
heatmap's legend: the viridis ramp between the lowest and highest value.
"""

from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRectF,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import (
    QBrush,
    QColor,
    QKeyEvent,
    QLinearGradient,
    QPainter,
    QPaintEvent,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QWidget,
)

from openhcs_gui.vfs.keys import split_well

__all__ = ["WellGridModel", "WellGridView", "ColourBar", "viridis", "FAILED_COLOUR"]

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
        self._label_steps = (1, 1)  # (rows, columns): label every n-th; the view thins them out
        # per-cell caches: a 1536-well grid is painted cell by cell, so nothing is computed per paint
        self._names: list[list[str | None]] = []
        self._colours: dict[str, QColor] = {}

    def set_wells(self, wells: list[str]) -> None:
        """Show these wells (grid from row A / column 1 up to the largest present)."""
        self.beginResetModel()
        self._wells = set(wells)
        parts = [split_well(w) for w in wells]
        self._rows = max((_row_number(r) for r, _ in parts), default=0)
        self._cols = max((c for _, c in parts), default=0)
        self._names = [[None] * self._cols for _ in range(self._rows)]
        for (row, col), well in zip(parts, wells, strict=True):
            self._names[_row_number(row) - 1][col - 1] = well
        self._values = {}
        self._colours = {}
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
        lo, hi = self._range
        self._colours = {w: viridis(0.5 if hi == lo else (v - lo) / (hi - lo))
                         for w, v in self._values.items() if v == v}
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
        row, col = index.row(), index.column()
        return self._names[row][col] if row < len(self._names) and col < self._cols else None

    def cell_colour(self, index: _Index) -> QColor | None:
        """Fill of a cell as the heatmap shows it: red if failed, its value's colour, else ``None``."""
        well = self.well_at(index)
        return None if well is None else self.fill_of(well)

    def fill_of(self, well: str) -> QColor | None:
        """Fill of ``well`` as the heatmap shows it: red if failed, its value's colour, else ``None``."""
        return FAILED_COLOUR if well in self._failed else self._colours.get(well)

    def wells_by_row(self) -> list[list[str | None]]:
        """The grid's wells, row by row (``None`` for a gap); read-only."""
        return self._names

    def index_of(self, well: str) -> QModelIndex:
        """The cell of ``well``."""
        row, col = split_well(well)
        return self.index(_row_number(row) - 1, col - 1)

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else self._rows

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else self._cols

    def set_label_steps(self, rows: int, cols: int) -> None:
        """Label only every ``rows``-th row and ``cols``-th column (and the first), for small cells."""
        if (rows, cols) == self._label_steps:
            return
        self._label_steps = (rows, cols)
        if self._rows:
            self.headerDataChanged.emit(Qt.Orientation.Vertical, 0, self._rows - 1)
        if self._cols:
            self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, self._cols - 1)

    def headerData(  # noqa: N802
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        horizontal = orientation == Qt.Orientation.Horizontal
        text = str(section + 1) if horizontal else _row_letters(section + 1)
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"Column {text}" if horizontal else f"Row {text}"
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        step = self._label_steps[1 if horizontal else 0]
        return text if section % step == 0 else ""

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
        colour = self._colours.get(well)
        if colour is None:
            return None
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


#: Label steps the headers thin out to (1536 wells: 48 columns, every 4th or 8th labelled).
_STEPS = (1, 2, 3, 4, 6, 8, 12, 16, 24)
#: Largest and smallest cell side (px) when the plate is fitted to the dock (zoom 1).
MAX_CELL, MIN_CELL = 64, 3
MAX_ZOOM = 16.0


class _CellDelegate(QStyledItemDelegate):
    """Draws a well's text only when the cell is large enough to read it.

    Cells too small for text (a fitted 384/1536-well plate) are painted as a
    plain coloured square: the styled path asks the model a dozen roles per
    cell and made a 1536-well repaint cost ~100 ms on the GUI thread. The view
    paints such grids itself in one pass (:meth:`WellGridView.paintEvent`);
    this path is what remains for a view that does not.
    """

    SMALL = 16
    PRESENT = QColor("#4a4f57")
    SELECTED = QColor("white")

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: _Index) -> None:  # noqa: D102
        rect = option.rect
        model = index.model()
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        if rect.width() >= self.SMALL and rect.height() >= self.SMALL:
            if selected and model.cell_colour(index) is not None:  # keep the heatmap colour, outline it
                plain = QStyleOptionViewItem(option)
                plain.state &= ~QStyle.StateFlag.State_Selected
                super().paint(painter, plain, index)
                painter.save()
                painter.setPen(self.SELECTED)
                painter.drawRect(rect.adjusted(1, 1, -2, -2))
                painter.restore()
            else:
                super().paint(painter, option, index)
            return
        if model.well_at(index) is None:
            return
        colour = model.cell_colour(index) or self.PRESENT
        painter.fillRect(rect.adjusted(0, 0, -1, -1) if rect.width() > 3 else rect, colour)
        if selected:
            painter.setPen(self.SELECTED)
            painter.drawRect(rect.adjusted(0, 0, -1, -1))

    def initStyleOption(self, option: QStyleOptionViewItem, index: _Index) -> None:  # noqa: N802
        super().initStyleOption(option, index)
        if option.fontMetrics.horizontalAdvance(option.text) + 4 > option.rect.width() \
                or option.fontMetrics.height() > option.rect.height():
            option.text = ""


class _ThinHeader(QHeaderView):
    """Row/column labels that may spill over neighbouring (unlabelled) sections.

    A 1536-well plate fitted to a dock has 5 px columns: "24" does not fit in
    one, so only every n-th section has a label (the model thins them) and it is
    drawn centred on its section, across its empty neighbours, not clipped to it.
    """

    def paintSection(self, painter: QPainter, rect: Any, logical: int) -> None:  # noqa: N802
        model = self.model()
        text = model.headerData(logical, self.orientation()) if model is not None else None
        if not text:
            return
        horizontal = self.orientation() == Qt.Orientation.Horizontal
        painter.save()
        painter.setPen(self.palette().windowText().color())
        area = rect.adjusted(-24, 0, 24, 0) if horizontal else rect.adjusted(0, -8, 0, 8)
        if area.top() < 0:  # the first row's label stays inside the header
            area.translate(0, -area.top())
        painter.drawText(area, Qt.AlignmentFlag.AlignCenter, str(text))
        painter.restore()


class WellGridView(QTableView):
    """The whole plate at once: square cells fitted to the view, Ctrl+wheel to zoom.

    Parameters
    ----------
    parent
        Owning widget.

    Attributes
    ----------
    zoom
        1 fits the whole plate; up to :data:`MAX_ZOOM` enlarges the cells (scroll bars pan).
    keyed
        The keyboard (arrows, Home/End, Page Up/Down) moved to another cell.
    """

    keyed = Signal(QModelIndex)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.zoom = 1.0
        self.setItemDelegate(_CellDelegate(self))
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setMouseTracking(True)  # tooltips (well, value) on hover
        self.setMinimumSize(120, 90)  # a small laptop screen can still fit the dock
        self.setHorizontalHeader(_ThinHeader(Qt.Orientation.Horizontal, self))
        self.setVerticalHeader(_ThinHeader(Qt.Orientation.Vertical, self))
        for header in (self.horizontalHeader(), self.verticalHeader()):
            header.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
            header.setMinimumSectionSize(1)
            header.setHighlightSections(False)

    def setModel(self, model: Any) -> None:  # noqa: N802 - Qt override
        super().setModel(model)
        model.modelReset.connect(self.fit)
        self.fit()

    def sizeHint(self) -> QSize:  # noqa: D102 - Qt override
        return QSize(300, 220)

    def cell_size(self) -> int:
        """Side (px) of one well's square at the current zoom."""
        model = self.model()
        rows, cols = (model.rowCount(), model.columnCount()) if model is not None else (0, 0)
        if not rows or not cols:
            return MAX_CELL
        frame = 2 * self.frameWidth()
        width = self.width() - frame - self._row_header_width()
        height = self.height() - frame - self.horizontalHeader().height()
        fitted = max(MIN_CELL, min(MAX_CELL, math.floor(min(width / cols, height / rows))))
        return round(fitted * self.zoom)

    def _row_header_width(self) -> int:
        return self.fontMetrics().horizontalAdvance("WW") + 8

    def fit(self) -> None:
        """Size cells so the plate fills the view at zoom 1; thin out labels to what fits."""
        model = self.model()
        if model is None:
            return
        header = self.horizontalHeader()
        header.setFixedHeight(header.fontMetrics().height() + 6)  # the header's own (styled) font
        self.verticalHeader().setFixedWidth(self._row_header_width())
        cell = self.cell_size()
        self.horizontalHeader().setDefaultSectionSize(cell)
        self.verticalHeader().setDefaultSectionSize(cell)
        fm = self.fontMetrics()
        col_text = fm.horizontalAdvance(str(max(model.columnCount(), 1))) + 4
        row_text = fm.height()
        col_step = next((s for s in _STEPS if s * cell >= col_text), _STEPS[-1])
        row_step = next((s for s in _STEPS if s * cell >= row_text), _STEPS[-1])
        if hasattr(model, "set_label_steps"):
            model.set_label_steps(row_step, col_step)
        self.setShowGrid(cell >= 6)  # grid lines would cover tiny cells
        needed = self.zoom > 1.0
        policy = Qt.ScrollBarPolicy.ScrollBarAsNeeded if needed else Qt.ScrollBarPolicy.ScrollBarAlwaysOff
        self.setHorizontalScrollBarPolicy(policy)
        self.setVerticalScrollBarPolicy(policy)
        self.updateGeometries()  # scroll ranges now, so a zoom can keep the point under the pointer

    def set_zoom(self, zoom: float) -> None:
        """Zoom to ``zoom`` (clamped to 1 … :data:`MAX_ZOOM`) and refit."""
        self.zoom = min(MAX_ZOOM, max(1.0, zoom))
        self.fit()

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 - Qt override
        """Ctrl+wheel zooms about the pointer; the plain wheel scrolls (pans) as usual."""
        if not event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            super().wheelEvent(event)
            return
        pos = event.position()
        old = self.cell_size()
        fx = (self.horizontalScrollBar().value() + pos.x()) / max(old, 1)
        fy = (self.verticalScrollBar().value() + pos.y()) / max(old, 1)
        self.set_zoom(self.zoom * 1.25 ** (event.angleDelta().y() / 120))
        new = self.cell_size()
        self.horizontalScrollBar().setValue(round(fx * new - pos.x()))
        self.verticalScrollBar().setValue(round(fy * new - pos.y()))
        event.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        """Move as a table does; say so when the keyboard reached another cell (``keyed``)."""
        before = QPersistentModelIndex(self.currentIndex())
        super().keyPressEvent(event)
        now = self.currentIndex()
        if now.isValid() and QModelIndex(before) != now:
            self.keyed.emit(now)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self.fit()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        """Cells too small for text are filled in one pass over the model's rows.

        Qt's item painting calls the delegate once per cell (1536 Python calls
        and option set-ups: a 1536-well repaint took 31-45 ms of the GUI thread,
        most of the time the window froze while such a plate opened); filling
        the same squares from one loop takes a few milliseconds.
        """
        model = self.model()
        cell = self.cell_size()
        if cell >= _CellDelegate.SMALL or not hasattr(model, "wells_by_row"):
            super().paintEvent(event)
            return
        painter = QPainter(self.viewport())
        area = event.rect()
        first_row, last_row = self._visible(self.rowAt(area.top()), self.rowAt(area.bottom()), model.rowCount())
        first_col, last_col = self._visible(self.columnAt(area.left()), self.columnAt(area.right()),
                                            model.columnCount())
        xs = [self.columnViewportPosition(c) for c in range(first_col, last_col + 1)]
        gap = 1 if cell > 3 else 0
        selected = {(i.row(), i.column()) for i in self.selectionModel().selectedIndexes()} \
            if self.selectionModel() is not None else set()
        present = _CellDelegate.PRESENT
        rows = model.wells_by_row()
        for r in range(first_row, last_row + 1):
            y = self.rowViewportPosition(r)
            names = rows[r]
            for x, c in zip(xs, range(first_col, last_col + 1), strict=True):
                well = names[c]
                if well is not None:
                    painter.fillRect(x, y, cell - gap, cell - gap, model.fill_of(well) or present)
        painter.setPen(_CellDelegate.SELECTED)
        for r, c in selected:
            painter.drawRect(self.columnViewportPosition(c), self.rowViewportPosition(r), cell - 1, cell - 1)
        painter.end()

    @staticmethod
    def _visible(first: int, last: int, count: int) -> tuple[int, int]:
        """Index range of rows/columns under a rectangle (-1 from Qt means beyond the last one)."""
        return max(first, 0), (count - 1 if last < 0 else last)


class ColourBar(QWidget):
    """The heatmap's legend: the viridis ramp with the lowest and highest value at its ends."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.range: tuple[float, float] | None = None
        self.setMinimumHeight(self.fontMetrics().height() + 14)
        self.setToolTip("Colour of a well: its value between the lowest and the highest on the plate")

    def set_range(self, value_range: tuple[float, float] | None) -> None:
        """Show the ramp for ``(low, high)``; ``None`` hides the bar (no heatmap)."""
        self.range = value_range
        self.setVisible(value_range is not None)
        self.update()

    def paintEvent(self, _event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        if self.range is None:
            return
        painter = QPainter(self)
        fm = self.fontMetrics()
        low, high = (f"{v:.3g}" for v in self.range)
        left, right = fm.horizontalAdvance(low) + 6, fm.horizontalAdvance(high) + 6
        bar = QRectF(left, 3, max(10, self.width() - left - right), self.height() - 6)
        gradient = QLinearGradient(bar.topLeft(), bar.topRight())
        for i in range(len(_VIRIDIS)):
            t = i / (len(_VIRIDIS) - 1)
            gradient.setColorAt(t, viridis(t))
        painter.fillRect(bar, gradient)
        painter.setPen(self.palette().windowText().color())
        flags = Qt.AlignmentFlag.AlignVCenter
        painter.drawText(QRectF(0, 0, left - 4, self.height()), flags | Qt.AlignmentFlag.AlignRight, low)
        painter.drawText(QRectF(bar.right() + 4, 0, right, self.height()), flags | Qt.AlignmentFlag.AlignLeft, high)
        painter.end()
