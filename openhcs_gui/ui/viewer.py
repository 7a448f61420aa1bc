"""The embedded napari viewer and the only code that touches napari layers.

napari is embedded as a widget (``QtViewer`` over a ``ViewerModel``) instead
of running its own ``napari.Viewer`` window, so our main window owns the docks
and menus. Panels describe what to show as plain :class:`LayerSpec` objects,
prepared (read, contrast computed) in worker threads; the GUI thread only
adds the layers here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from napari.components import ViewerModel
from napari.layers import Image, Labels
from napari.qt import QtViewer, get_qapp
from PySide6.QtCore import QMimeData, Qt, Signal
from PySide6.QtWidgets import QDockWidget, QVBoxLayout, QWidget

__all__ = ["register_napari_resources", "LayerSpec", "ViewerWidget", "contrast_limits", "channel_colormap",
           "stack_axis_labels", "local_paths"]

#: Colormaps for channels shown together (additive blending); one channel stays gray.
_CHANNEL_COLORMAPS = ("cyan", "magenta", "yellow", "green", "red", "blue")

_WELCOME_TEXT = (
    "Drop a plate folder or a workspace here\n"
    "or File → Open plate… (Ctrl+O)\n\n"
    "Click a well to see its images\n"
    "Build a pipeline, then Run (F5)\n"
    "Double-click any output to view it"
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
    kind
        ``"image"`` or ``"labels"`` (a segmentation: shown as a napari Labels
        layer, one colour per object, over the images).
    """

    name: str
    data: Any
    contrast: tuple[float, float]
    colormap: str = "gray"
    multiscale: bool = False
    metadata: dict[str, Any] = field(default_factory=dict)
    axis_labels: tuple[str, ...] = ()
    kind: str = "image"


def local_paths(mime: QMimeData | None) -> list[Path]:
    """The local files and folders named by dropped ``mime`` data (web URLs are left out)."""
    if mime is None or not mime.hasUrls():
        return []
    return [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]


class _DropQtViewer(QtViewer):
    """napari's ``QtViewer`` whose drops go to OpenHCS, not to napari's file readers.

    A plate is a folder of many images: napari would try to read each as a
    layer on the GUI thread. ``dropEvent`` is Qt's public override point (napari's
    welcome screen forwards its drops to it too).
    """

    def __init__(self, model: ViewerModel, on_drop: Callable[[list[Path]], None], **kwargs: Any) -> None:
        super().__init__(model, **kwargs)
        self._on_drop = on_drop

    def dropEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        """Hand dropped local paths to OpenHCS (plate or workspace)."""
        if event is None:
            return
        paths = local_paths(event.mimeData())
        if paths:
            self._on_drop(paths)
            event.acceptProposedAction()
        else:
            event.ignore()


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

    Attributes
    ----------
    paths_dropped
        Local paths dropped on the canvas (a plate folder, a workspace).
    """

    paths_dropped = Signal(list)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # napari's widget gets a native child window of its own (below): otherwise
        # its OpenGL canvas makes Qt compose the *whole* main window through OpenGL
        # on every repaint of any widget (a progress tick cost ~26 ms with Mesa
        # llvmpipe, 40-90 ms under load). Native, only the viewer is composed with
        # GL and the docks are flushed as plain raster (~1 ms). Not on this widget
        # itself: a native central widget collapsed in QMainWindow's layout.
        register_napari_resources()
        self.model = ViewerModel(title="OpenHCS")
        # napari's welcome screen says "Drag file(s) here to open" and lists its own
        # shortcuts; ours is the text overlay (public model API), shown while empty.
        self.qt_viewer = _DropQtViewer(self.model, self.paths_dropped.emit, show_welcome_screen=False)
        overlay = self.model.canvas.overlays["text"]
        overlay.text = _WELCOME_TEXT
        overlay.position = "middle_center"
        overlay.font_size = 11
        overlay.color = (0.75, 0.78, 0.82, 1.0)
        overlay.visible = True
        self.model.layers.events.inserted.connect(self._on_layers_changed)
        self.model.layers.events.removed.connect(self._on_layers_changed)
        self.qt_viewer.setAttribute(Qt.WidgetAttribute.WA_NativeWindow)
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
            The shown napari layers (the same objects as before when reused).
        """
        if replace and self._same_structure(specs):
            return self._replace_data(specs)
        if replace and len(self.model.layers):
            self.model.layers.clear()
            # Draw the emptied scene before new layers arrive: replacing layers of
            # another dimensionality within one event-loop turn crashed Mesa's
            # glDrawArrays under Xvfb (napari 0.9 / vispy 0.17).
            self.qt_viewer.canvas.native.repaint()
        added = []
        for spec in specs:
            if spec.kind == "labels":
                added.append(self.model.add_labels(
                    spec.data, name=spec.name, multiscale=spec.multiscale, metadata=dict(spec.metadata),
                ))
                continue
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

    def _on_layers_changed(self, _event: Any = None) -> None:
        self.model.canvas.overlays["text"].visible = not len(self.model.layers)

    def _same_structure(self, specs: Sequence[LayerSpec]) -> bool:
        """True when ``specs`` match the shown layers one to one (count, ndim, dtype, pyramid).

        Then the layers can keep their objects and only swap data: clearing and
        re-adding costs ~0.3 s (napari's own ``gc.collect`` per clear) plus
        ~0.2 s per new layer's controls, all on the GUI thread.
        """
        layers = list(self.model.layers)
        if not specs or len(layers) != len(specs):
            return False
        for layer, spec in zip(layers, specs, strict=True):
            first = spec.data[0] if spec.multiscale else spec.data
            if isinstance(layer, Labels) != (spec.kind == "labels"):
                return False
            if spec.kind == "labels":
                if layer.multiscale != spec.multiscale or layer.ndim != len(first.shape):
                    return False
                continue
            if (not isinstance(layer, Image) or layer.multiscale != spec.multiscale or layer.rgb
                    or layer.ndim != len(first.shape) or layer.dtype != first.dtype):
                return False
        return True

    def _replace_data(self, specs: Sequence[LayerSpec]) -> list[Any]:
        """Show ``specs`` in the existing layers: new data, name, contrast, colormap."""
        layers = list(self.model.layers)
        old_extent = self.model.layers.extent.world.tolist()
        for layer, spec in zip(layers, specs, strict=True):
            layer.data = spec.data
            layer.name = spec.name
            layer.metadata = dict(spec.metadata)
            if spec.kind == "labels":
                continue
            layer.contrast_limits_range = list(spec.contrast)
            layer.contrast_limits = list(spec.contrast)
            layer.name = spec.name
            layer.colormap = spec.colormap
            layer.blending = "additive" if len(specs) > 1 else "translucent_no_depth"
            layer.metadata = dict(spec.metadata)
        labels = specs[0].axis_labels
        if len(labels) == self.model.dims.ndim:
            self.model.dims.axis_labels = labels
        if self.model.layers.extent.world.tolist() != old_extent:
            self.model.reset_view()
        return layers

    def clear(self) -> None:
        """Remove every layer."""
        self.model.layers.clear()

    def close_viewer(self) -> None:
        """Release napari's canvas and model (call once, when the window closes)."""
        self.model.layers.clear()
        self.qt_viewer.close()
