"""What the napari viewer shows, as a project's :class:`~openhcs_gui.project.ViewerState`, and back.

Saving reads the layers (name, visibility, contrast, gamma, colormap,
opacity) and the camera. Reopening cannot set them at once: the layers
arrive later, when the plate's well has been read in a worker. So the state
waits for layers of the saved names to be inserted and applies to each as it
appears (after the viewer's own fit-to-view, on the next event-loop turn);
the camera follows the first of them.
"""

from __future__ import annotations

import contextlib
from typing import Any

from PySide6.QtCore import QTimer

from openhcs_gui.project import CameraState, LayerState, ViewerState

__all__ = ["capture_viewer_state", "apply_viewer_state"]


def capture_viewer_state(viewer: Any, well: str | None) -> ViewerState:
    """The viewer's layers and camera now (``viewer`` is the window's ``ViewerWidget``)."""
    layers = []
    for layer in viewer.layers:
        limits = getattr(layer, "contrast_limits", None)
        colormap = getattr(layer, "colormap", None)
        layers.append(LayerState(
            name=layer.name, visible=bool(layer.visible), opacity=float(layer.opacity),
            contrast_limits=(float(limits[0]), float(limits[1])) if limits is not None else None,
            gamma=float(layer.gamma) if hasattr(layer, "gamma") else None,
            colormap=getattr(colormap, "name", None) if hasattr(layer, "gamma") else None,
        ))
    camera = _camera(viewer)
    state = CameraState(center=tuple(float(v) for v in camera.center), zoom=float(camera.zoom)) if layers else None
    return ViewerState(well=well, layers=layers, camera=state)


def _camera(viewer: Any) -> Any:
    """napari's camera (``viewer.scene.camera`` since 0.9; ``viewer.camera`` before)."""
    scene = getattr(viewer.model, "scene", None)
    return scene.camera if scene is not None else viewer.model.camera


def _apply_layer(layer: Any, state: LayerState) -> None:
    layer.visible = state.visible
    layer.opacity = state.opacity
    if state.contrast_limits is not None and hasattr(layer, "contrast_limits"):
        lo, hi = layer.contrast_limits_range
        layer.contrast_limits_range = [min(lo, state.contrast_limits[0]), max(hi, state.contrast_limits[1])]
        layer.contrast_limits = list(state.contrast_limits)
    if state.gamma is not None and hasattr(layer, "gamma"):
        layer.gamma = state.gamma
    if state.colormap and hasattr(layer, "colormap"):
        with contextlib.suppress(KeyError, ValueError):  # another session's custom colormap: keep ours
            layer.colormap = state.colormap


def apply_viewer_state(viewer: Any, state: ViewerState) -> None:
    """Apply ``state`` to layers of the saved names as they are added (see the module docstring)."""
    pending = {layer.name: layer for layer in state.layers}
    if not pending:
        return
    camera: list[CameraState | None] = [state.camera]
    events = viewer.model.layers.events.inserted

    def _apply() -> None:
        matched = False
        for layer in list(viewer.layers):
            saved = pending.pop(layer.name, None)
            if saved is not None:
                matched = True
                _apply_layer(layer, saved)
                cam = camera[0]
                if cam is not None:
                    camera[0] = None
                    target = _camera(viewer)
                    if len(cam.center) == len(target.center):
                        target.center = cam.center
                    target.zoom = cam.zoom
        if matched:  # once: a well opened later by the user keeps its own look
            events.disconnect(_on_inserted)

    def _on_inserted(_event: Any = None) -> None:
        QTimer.singleShot(0, viewer, _apply)

    events.connect(_on_inserted)
