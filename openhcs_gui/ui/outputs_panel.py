"""The Outputs dock: step → well → image of the current run, and opening them in napari.

Every output is listed whatever backend holds it — in-memory intermediates
included — with the backend in its own column. Double-clicking an image reads
it through the engine's ``RunResult.get_image`` (so memory, disk and zarr are
one call); double-clicking a well opens all its images, one layer per channel.
A zarr well opens lazily (dask over the store), so a large plate shows at
once. The same tree is filled from ``openhcs_metadata.json`` when a workspace
is opened from disk.
"""

from __future__ import annotations

from collections import defaultdict
from functools import partial
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from openhcs_gui._lazy import lazy_module
from openhcs_gui.constants import Backend
from openhcs_gui.ui.session import Session
from openhcs_gui.ui.viewer import (
    LayerSpec,
    channel_colormap,
    contrast_limits,
    plate_channel_colormap,
    stack_axis_labels,
)
from openhcs_gui.ui.workers import Task, TaskOwner

np = lazy_module("numpy", globals())  # imported on first use: the desktop window shows before numpy loads

__all__ = ["OutputsPanel", "load_output_layers", "RAW"]

_REF_ROLE = Qt.ItemDataRole.UserRole
_BACKEND_COLOURS = {Backend.MEMORY: "#2a9d8f", Backend.DISK: "#e9a03b", Backend.ZARR: "#7b68ee"}


def _channel_name(names: dict[int, str], channel: int) -> str:
    return names.get(channel) or f"channel {channel}"


#: ``base`` of :func:`load_output_layers`: the plate's raw images under the output.
RAW = "raw"


def load_output_layers(
    result: Any, step_index: int, well: str, key: Any = None, channel_names: dict[int, str] | None = None,
    *, plate: Any = None, base: str | int | None = None,
) -> list[LayerSpec]:
    """Layers for one output image (``key``) or a whole well of a step (worker thread).

    Parameters
    ----------
    result
        A ``RunResult`` (or a workspace opened from disk).
    step_index
        0-based step.
    well
        Well name.
    key
        One ``ImageKey``; ``None`` opens the whole well, one layer per channel.
    channel_names
        Channel number → name for layer names (default: the plate's).
    plate
        The open plate: supplies channel names, colours and the raw images.
    base
        What to show *under* the output: :data:`RAW` (the plate's raw images
        of the same well/site/channel), another step's index (its output), or
        ``None``. The base comes first in the list (bottom layers); under a
        label output it is visible, under an image output it starts hidden
        (one click in the layer list shows it), so it is never removed.

    Returns
    -------
    list of LayerSpec
        Base layers, then the output's, one per channel, each named after its
        channel and coloured like the plate's channel.
    """
    names = dict(channel_names or (getattr(plate, "channel_names", None) or {}))
    output = _step_layers(result, step_index, well, key, names, plate)
    if base is None or not output:
        return output
    under_labels = output[0].kind == "labels"
    if base == RAW:
        under = _raw_layers(plate, well, key, names) if plate is not None else []
    elif int(base) != step_index:
        under = _step_layers(result, int(base), well, key, names, plate)
    else:
        under = []
    for spec in under:
        spec.visible = under_labels
        spec.metadata["role"] = "base"
    return [*under, *output]


def _colour(plate: Any, channel: int, position: int, count: int) -> Any:
    return plate_channel_colormap(plate, channel) if plate is not None else channel_colormap(position, count)


def _step_layers(result: Any, step_index: int, well: str, key: Any, names: dict[int, str],
                 plate: Any) -> list[LayerSpec]:
    step = result.step(step_index)
    kind = _output_kind(result, step_index)
    meta = {"source": "output", "step": step_index, "well": well, "backend": step.backend.value}
    prefix = f"{step.index + 1}.{step.name} {well}"
    if key is not None:
        data = result.get_image(step_index, key)
        return [LayerSpec(f"{step.index + 1}.{step.name} {key.filename('')} {_channel_name(names, key.channel)}",
                          data, contrast_limits(data), _colour(plate, key.channel, 0, 1),
                          metadata={**meta, "key": key, "channel": key.channel}, kind=kind)]
    if step.backend is Backend.ZARR:
        from openhcs_gui.ui.lazy_zarr import well_channel_stacks

        stacks = well_channel_stacks(step.image_dir, well)
        return [
            LayerSpec(f"{prefix} {_channel_name(names, c + 1)}", levels if len(levels) > 1 else levels[0],
                      contrast, _colour(plate, c + 1, c, len(stacks)), multiscale=len(levels) > 1,
                      metadata={**meta, "channel": c + 1, "lazy": True}, axis_labels=labels, kind=kind)
            for c, levels, contrast, labels in stacks
        ]
    by_channel: dict[int, dict[tuple[int, int], Any]] = defaultdict(dict)
    for k in step.keys:
        if k.well == well:
            by_channel[k.channel][(k.site, k.z)] = k
    layers = []
    for pos, channel in enumerate(sorted(by_channel)):
        planes = by_channel[channel]
        sites = sorted({s for s, _ in planes})
        zs = sorted({z for _, z in planes})
        data = np.stack([
            np.stack([result.get_image(step_index, planes[(s, z)]) for z in zs]) for s in sites
        ])
        sizes = {"site": data.shape[0], "z": data.shape[1]}
        data = np.squeeze(data, axis=tuple(i for i, n in enumerate(data.shape[:2]) if n == 1))
        layers.append(LayerSpec(f"{prefix} {_channel_name(names, channel)}", data, contrast_limits(data),
                                _colour(plate, channel, pos, len(by_channel)), metadata={**meta, "channel": channel},
                                axis_labels=stack_axis_labels(sizes), kind=kind))
    return layers


def _raw_layers(plate: Any, well: str, key: Any, names: dict[int, str]) -> list[LayerSpec]:
    """The plate's raw images under an output: the same image for a key, else the well per channel."""
    if key is None:
        from openhcs_gui.ui.plate_panel import load_well_layers

        layers = load_well_layers(plate, well)
        for spec in layers:
            spec.colormap = plate_channel_colormap(plate, spec.metadata.get("channel", 1))
        return layers
    from openhcs_gui.vfs import FileManager
    from openhcs_gui.vfs.keys import ImageKey

    raw_key = ImageKey(key.well, key.site, key.channel, key.z, key.t)
    path = plate.images.get(raw_key)
    if path is None:  # e.g. a z projection's z1 of a plate without z1
        return []
    fm = FileManager()
    try:
        data = np.asarray(fm.load(path, plate.backend))
    finally:
        fm.close()
    return [LayerSpec(f"{well} {raw_key.filename('')} {_channel_name(names, key.channel)} raw", data,
                      contrast_limits(data), plate_channel_colormap(plate, key.channel),
                      metadata={"source": "plate", "well": well, "channel": key.channel, "key": raw_key})]


def _output_kind(result: Any, step_index: int) -> str:
    """``"labels"`` for a segmentation step (the plan records what its function returns)."""
    plan = getattr(result, "plan", None)
    try:
        return str(plan.step(step_index).output_kind) if plan is not None else "image"
    except (AttributeError, KeyError, IndexError):
        return "image"


class OutputsPanel(QWidget):
    """Tree of the current run's outputs; double-click to view.

    Parameters
    ----------
    session
        Supplies the run result and the plate's channel names.
    parent
        Owning widget.
    tasks
        The window's background calls (default: the panel's own).

    Attributes
    ----------
    layers_ready
        ``[LayerSpec]`` to show in the viewer.
    message
        A user-facing problem or note for the status bar.
    """

    layers_ready = Signal(list)
    message = Signal(str)

    def __init__(self, session: Session, parent: QWidget | None = None, *,
                 tasks: TaskOwner | None = None) -> None:
        super().__init__(parent)
        self._session = session
        self._tasks = tasks if tasks is not None else TaskOwner(self)
        self.header = QLabel("No run yet. Run the pipeline, or File → Open workspace…", self)
        self.header.setWordWrap(True)
        self.tree = QTreeWidget(self)
        self.tree.setColumnCount(3)
        self.tree.setHeaderLabels(["Output", "Backend", "Images"])
        self.tree.setUniformRowHeights(True)
        self.tree.itemDoubleClicked.connect(self._on_tree_item_double_clicked)
        self.base_combo = QComboBox(self)
        self.base_combo.setToolTip("What an opened output is laid over: labels show on top of it; "
                                   "under an image output it is kept, hidden (tick it in the layer list).")
        self._fill_base_combo(None)
        base_row = QHBoxLayout()
        base_row.addWidget(QLabel("Show over", self))
        base_row.addWidget(self.base_combo, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.header)
        layout.addWidget(self.tree, 1)
        layout.addLayout(base_row)
        session.result_changed.connect(self._on_session_result_changed)

    def _fill_base_combo(self, result: Any) -> None:
        self.base_combo.clear()
        self.base_combo.addItem("raw images", RAW)
        for step in getattr(result, "steps", []) or []:
            self.base_combo.addItem(f"output of {step.index + 1}. {step.name}", step.index)
        self.base_combo.addItem("nothing", None)

    @property
    def base(self) -> str | int | None:
        """What outputs open over: :data:`RAW`, a step index or ``None`` (the "Show over" choice)."""
        return self.base_combo.currentData()

    def set_base(self, base: str | int | None) -> None:
        """Choose what outputs open over (as the "Show over" box does)."""
        index = self.base_combo.findData(base)
        if index < 0:
            raise ValueError(f"Outputs panel: no 'Show over' choice {base!r}.")
        self.base_combo.setCurrentIndex(index)

    def _on_session_result_changed(self, result: Any) -> None:
        self.tree.clear()
        self._fill_base_combo(result)
        if result is None:
            self.header.setText("No run yet.")
            return
        self.header.setText(
            f"<b>{result.status.value}</b> · {result.workspace}<br>"
            "Double-click an image, or a well for all its channels."
        )
        self.header.setToolTip(str(result.workspace))
        for step in result.steps:
            self._add_step(step)
        self.tree.resizeColumnToContents(0)

    def _add_step(self, step: Any) -> None:
        colour = QColor(_BACKEND_COLOURS.get(step.backend, "#888888"))
        available = step.backend is not Backend.MEMORY or step.kept_in_memory
        item = QTreeWidgetItem(self.tree, [f"{step.index + 1}. {step.name}", step.backend.value,
                                           str(len(step.keys))])
        item.setForeground(1, colour)
        item.setToolTip(0, step.image_dir if step.backend is not Backend.MEMORY else "in memory")
        item.setData(0, _REF_ROLE, (step.index, None, None))
        if not available:
            item.setText(2, f"{len(step.keys)} (not kept)")
            item.setToolTip(0, "In-memory output of another process or dropped after use; "
                               "it cannot be shown.")
        wells: dict[str, list[Any]] = defaultdict(list)
        for key in step.keys:
            wells[key.well].append(key)
        for well, keys in wells.items():
            well_item = QTreeWidgetItem(item, [well, step.backend.value, str(len(keys))])
            well_item.setForeground(1, colour)
            well_item.setData(0, _REF_ROLE, (step.index, well, None))
            for key in keys:
                leaf = QTreeWidgetItem(well_item, [key.filename(""), step.backend.value, ""])
                leaf.setForeground(1, colour)
                leaf.setData(0, _REF_ROLE, (step.index, well, key))
        if step.tables:
            item.setText(2, f"{item.text(2)} + {len(step.tables)} table(s)")

    def items(self) -> list[QTreeWidgetItem]:
        """Every item of the tree (steps, wells, images), depth first."""
        out: list[QTreeWidgetItem] = []
        stack = [self.tree.topLevelItem(i) for i in range(self.tree.topLevelItemCount())][::-1]
        while stack:
            item = stack.pop()
            out.append(item)
            stack.extend(item.child(i) for i in reversed(range(item.childCount())))
        return out

    def _on_tree_item_double_clicked(self, item: QTreeWidgetItem, _column: int) -> None:
        step_index, well, key = item.data(0, _REF_ROLE)
        if well is None:
            result = self._session.result
            keys = result.step(step_index).keys if result is not None else []
            if not keys:
                return
            well = keys[0].well
        self.show_output(step_index, well, key)

    def show_output(self, step_index: int, well: str, key: Any = None) -> Task | None:
        """Open a step's output for ``well`` (one image if ``key`` is given) in a worker.

        Returns
        -------
        Task or None
            The background read; ``layers_ready`` follows. ``None`` without a result.
        """
        result = self._session.result
        if result is None:
            self.message.emit("No run result to show yet.")
            return None
        plate = self._session.plate
        names = dict(plate.channel_names) if plate is not None else {}
        what = f"step {step_index + 1} {key.filename('') if key is not None else well}"
        self.message.emit(f"Opening {what}…")
        return self._tasks.submit(
            load_output_layers,
            result,
            step_index,
            well,
            key,
            names,
            plate=plate,
            base=self.base,
            name=f"open {what}",
            on_finished=partial(self._on_layers_read, result),
            on_failed=partial(self._on_task_failed, f"Cannot open {what}"),
        )

    def _on_layers_read(self, result: Any, layers: list[LayerSpec]) -> None:
        if result is not self._session.result:  # that run's result was let go meanwhile
            return
        self.layers_ready.emit(layers)

    def _on_task_failed(self, what: str, error: BaseException, _tb: str) -> None:
        self.message.emit(f"{what}: {error}")
