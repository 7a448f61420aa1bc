"""The embedded napari viewer and the only code that touches napari layers.

napari is embedded as a widget (``QtViewer`` over a ``ViewerModel``) instead
of running its own ``napari.Viewer`` window, so our main window owns the docks
and menus. Panels describe what to show as plain :class:`LayerSpec` objects,
prepared (read, contrast computed) in worker threads; the GUI thread only
adds the layers here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from napari.components import ViewerModel
from napari.qt import QtViewer, get_qapp
from PySide6.QtWidgets import QDockWidget, QVBoxLayout, QWidget

__all__ = ["register_napari_resources", "LayerSpec", "ViewerWidget", "contrast_limits", "channel_colormap", "stack_axis_labels"]

#: Colormaps for channels shown together (additive blending); one channel stays gray.
_CHANNEL_COLORMAPS = ("cyan", "magenta", "yellow", "green", "red", "blue")

_WELCOME_TIPS = (
    "File → Open plate… (Ctrl+O), then click a well to see its images here.",
    "Build a pipeline in the Pipeline panel, then press Run (F5).",
    "Double-click any output in the Outputs panel — memory, disk or zarr — to view it.",
)


def contrast_limits(data: Any) -> tuple[float, float]:
    """Robust display range (0.1–99.9 percentile) of an in-memory array.

    Computed in worker threads so napari never scans a large array on the GUI
    thread. A constant image gets a range of width 1 so it still displays.
    """
    arr = np.asarray(data)
    if arr.size == 0:
        return 0.0, 1.0
    sample = arr.ravel()[:: max(1, arr.size // 1_000_000)]
    lo, hi = (float(v) for v in np.percentile(sample, (0.1, 99.9)))
    if hi <= lo:
        lo, hi = float(sample.min()), float(sample.max())
    if hi <= lo:
        hi = lo + 1.0
    return lo, hi


def stack_axis_labels(sizes: dict[str, int]) -> tuple[str, ...]:
    """Labels of a stack whose leading axes of length 1 were dropped, plus ``y``, ``x``."""
    return (*(name for name, n in sizes.items() if n > 1), "y", "x")


def channel_colormap(position: int, count: int) -> str:
    """Colormap for the ``position``-th of ``count`` channels shown together."""
    return "gray" if count <= 1 else _CHANNEL_COLORMAPS[position % len(_CHANNEL_COLORMAPS)]


@dataclass
class LayerSpec:
    """An image layer ready to add: data (numpy, dask or a multiscale list) and display.

    Attributes
    ----------
    name
        Layer name shown in the layer list (channel name, step, well).
    data
        Array, or a list of arrays from full to lowest resolution when ``multiscale``.
    contrast
        Display range computed off the GUI thread.
    colormap
        napari colormap name.
    multiscale
        ``data`` is a resolution pyramid.
    metadata
        Where the data came from (step, well, key, backend), kept on the layer.
    axis_labels
        Names of the axes (``("site", "y", "x")``), shown on napari's sliders.
    """

    name: str
    data: Any
    contrast: tuple[float, float]
    colormap: str = "gray"
    multiscale: bool = False
    metadata: dict[str, Any] = field(default_factory=dict)
    axis_labels: tuple[str, ...] = ()


def register_napari_resources() -> None:
    """Register napari's icon and theme search paths on the running application.

    napari's stylesheets name icons as ``theme_dark:/…``; ``get_qapp`` sets those
    paths up (once) even when the application was created by someone else.
    """
    get_qapp()


class ViewerWidget(QWidget):
    """napari's canvas, dims sliders, layer list and layer controls, embedded.

    Parameters
    ----------
    parent
        Owning widget (the main window's central area).
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        register_napari_resources()
        self.model = ViewerModel(title="OpenHCS")
        self.qt_viewer = QtViewer(self.model, show_welcome_screen=True, tips=_WELCOME_TIPS)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.qt_viewer)

    @property
    def layer_list_dock(self) -> QDockWidget:
        """napari's layer list, as a dock for the main window."""
        return self.qt_viewer.dockLayerList

    @property
    def layer_controls_dock(self) -> QDockWidget:
        """napari's controls of the selected layer, as a dock for the main window."""
        return self.qt_viewer.dockLayerControls

    @property
    def layers(self) -> Any:
        """The viewer's layer list (read it; add through :meth:`show_layers`)."""
        return self.model.layers

    def show_layers(self, specs: Sequence[LayerSpec], *, replace: bool = True) -> list[Any]:
        """Add ``specs`` as image layers (replacing what is shown) and fit the view.

        Parameters
        ----------
        specs
            Layers to add, in order (first at the bottom).
        replace
            Remove existing layers first, so a new well or output is not hidden
            under the previous one.

        Returns
        -------
        list
            The new napari layers.
        """
        if replace and len(self.model.layers):
            self.model.layers.clear()
            # Draw the emptied scene before new layers arrive: replacing layers of
            # another dimensionality within one event-loop turn crashed Mesa's
            # glDrawArrays under Xvfb (napari 0.9 / vispy 0.17).
            self.qt_viewer.canvas.native.repaint()
        added = []
        for spec in specs:
            layer = self.model.add_image(
                spec.data,
                name=spec.name,
                contrast_limits=list(spec.contrast),
                colormap=spec.colormap,
                blending="additive" if len(specs) > 1 else "translucent_no_depth",
                multiscale=spec.multiscale,
                metadata=dict(spec.metadata),
            )
            added.append(layer)
        labels = specs[0].axis_labels if specs else ()
        if added and len(labels) == self.model.dims.ndim:
            self.model.dims.axis_labels = labels
        if added:
            self.model.reset_view()
        return added

    def clear(self) -> None:
        """Remove every layer."""
        self.model.layers.clear()

    def close_viewer(self) -> None:
        """Release napari's canvas and model (call once, when the window closes)."""
        self.model.layers.clear()
        self.qt_viewer.close()
