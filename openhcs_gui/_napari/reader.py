"""npe2 readers: a plate folder (one well's fields) and a workspace (each step's outputs).

Qt-free and napari-free: a reader returns napari layer-data tuples
``(data, kwargs, layer_type)`` built from engine calls
(:func:`openhcs_gui.plates.open_plate`, :func:`openhcs_gui.pipeline.open_workspace`).
Pixel data is lazy: a dask array whose planes are read on demand, or the
zarr store's own dask view. Layers carry the plate's µm scale, channel names
and colours; a segmentation step's output is a ``labels`` layer.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from openhcs_gui.errors import OpenHCSError
from openhcs_gui.pipeline._provenance_io import METADATA_NAME

__all__ = ["get_plate_reader", "get_workspace_reader", "plate_layers", "workspace_layers"]

LayerData = tuple[Any, dict[str, Any], str]


def _folder(path: Any) -> Path | None:
    """The one folder npe2 offers (a path or a one-element list), else ``None``."""
    if isinstance(path, list | tuple):
        if len(path) != 1:
            return None
        path = path[0]
    if not isinstance(path, str | os.PathLike):
        return None
    p = Path(path)
    return p if p.is_dir() else None


def _is_workspace(folder: Path) -> bool:
    return (folder / METADATA_NAME).is_file()


def get_plate_reader(path: Any) -> Callable[[Any], list[LayerData]] | None:
    """npe2 ``get_reader`` for plate folders (ImageXpress, Opera, OME-Zarr); ``None`` if not a plate."""
    folder = _folder(path)
    if folder is None or _is_workspace(folder):
        return None
    from openhcs_gui.plates import open_plate

    try:
        plate = open_plate(folder)
    except (OpenHCSError, OSError, ValueError):
        return None
    return lambda _path: plate_layers(plate)


def get_workspace_reader(path: Any) -> Callable[[Any], list[LayerData]] | None:
    """npe2 ``get_reader`` for ``<plate>_workspace`` folders (with ``openhcs_metadata.json``)."""
    folder = _folder(path)
    if folder is None or not _is_workspace(folder):
        return None
    return lambda _path: workspace_layers(folder)


def _scale(px: float | None, ndim: int) -> tuple[float, ...]:
    p = float(px) if px else 1.0
    return (1.0,) * (ndim - 2) + (p, p)


def _colormap(plate: Any, channel: int, position: int, count: int) -> Any:
    """The channel's recorded colour as a napari colormap dict, else a stock name by position."""
    info = plate.metadata.channels.get(channel) if plate is not None else None
    colour = getattr(info, "color", None)
    if colour:
        rgb = [int(colour[i:i + 2], 16) / 255 for i in (0, 2, 4)]
        return {"colors": [[0, 0, 0, 1], [*rgb, 1]], "name": f"#{colour.lower()}"}
    stock = ("blue", "green", "magenta", "red", "cyan", "yellow")
    return "gray" if count <= 1 else stock[position % len(stock)]


def _channel_name(plate: Any, channel: int) -> str:
    name = plate.metadata.channel_name(channel) if plate is not None else None
    return name or f"channel {channel}"


def _lazy_stack(loads: Sequence[Sequence[Callable[[], Any]]]) -> Any:
    """A dask ``(site, z, y, x)`` array (length-1 axes dropped) whose planes load on demand.

    The first plane is read to learn shape and dtype; the rest are read when shown.
    """
    import dask
    import dask.array as da

    first = np.asarray(loads[0][0]())
    rows = [
        da.stack([da.from_delayed(dask.delayed(fn)(), first.shape, first.dtype) for fn in row])
        for row in loads
    ]
    data = da.stack(rows)
    drop = tuple(i for i, n in enumerate(data.shape[:2]) if n == 1)
    return data.squeeze(axis=drop) if drop else data


def _load_raw(path: str, backend: Any) -> np.ndarray:
    from openhcs_gui.vfs import FileManager

    fm = FileManager()
    try:
        return np.asarray(fm.load(path, backend))
    finally:
        fm.close()


def _contrast(data: Any) -> list[float]:
    sample = np.asarray(data[(0,) * (data.ndim - 2)])
    lo, hi = (float(v) for v in np.percentile(sample, (0.1, 99.9)))
    return [lo, hi if hi > lo else lo + 1.0]


def plate_layers(plate: Any, well: str | None = None) -> list[LayerData]:
    """One layer per channel of one well: its fields (and z planes) stacked, lazily.

    Parameters
    ----------
    plate
        A :class:`~openhcs_gui.plates.PlateIndex`, or a plate folder to index.
    well
        Well to show (default: the plate's first well).

    Returns
    -------
    list of (data, kwargs, "image")
        ``data`` is a dask ``(site, z, y, x)`` array with length-1 axes dropped;
        ``scale`` is the plate's pixel size in µm, ``name`` and ``colormap`` the
        channel's; ``metadata`` names the plate, well and channel.

    Raises
    ------
    PlateError
        If ``plate`` is a folder that holds no readable plate.
    KeyError
        If ``well`` is not on the plate.
    """
    if not hasattr(plate, "images"):
        from openhcs_gui.plates import open_plate

        plate = open_plate(plate)
    well = well or plate.wells[0]
    if well not in plate.wells:
        raise KeyError(f"Well {well} is not on plate {plate.name} (wells {plate.wells[0]}–{plate.wells[-1]}).")
    t = plate.timepoints[0]
    layers: list[LayerData] = []
    for pos, channel in enumerate(plate.channels):
        loads = [
            [partial(_load_raw, plate.images[k], plate.backend) for k in keys]
            for s in plate.sites
            if (keys := plate.keys(well=well, site=s, channel=channel, t=t))
        ]
        if not loads:
            continue
        data = _lazy_stack(loads)
        layers.append((data, {
            "name": f"{well} {_channel_name(plate, channel)}",
            "scale": _scale(plate.pixel_size_um, data.ndim),
            "colormap": _colormap(plate, channel, pos, len(plate.channels)),
            "blending": "additive",
            "contrast_limits": _contrast(data),
            "metadata": {"source": "plate", "plate": str(plate.path), "well": well, "channel": channel},
        }, "image"))
    return layers


def _source_plate(result: Any) -> Any:
    """The run's input plate, for channel names, colours and pixel size (``None`` if gone)."""
    from openhcs_gui.plates import open_plate

    try:
        return open_plate(result.plan.plate_path)
    except (OpenHCSError, OSError, ValueError):
        return None


def _step_layers(result: Any, step: Any, well: str, plate: Any) -> list[LayerData]:
    try:
        kind = str(result.plan.step(step.index).output_kind)
    except (KeyError, IndexError, AttributeError):
        kind = "image"
    px = plate.pixel_size_um if plate is not None else None
    prefix = f"{step.index + 1}.{step.name} {well}"
    meta = {"source": "output", "workspace": str(result.workspace), "step": step.index, "well": well,
            "backend": step.backend.value}
    stacks: list[tuple[int, Any]] = []
    if step.backend.value == "zarr":
        from openhcs_gui.vfs.ngff_lazy import well_channel_stacks

        stacks = [(c + 1, levels[0]) for c, levels, _contrast, _labels in well_channel_stacks(step.image_dir, well)]
    else:
        by_channel: dict[int, dict[tuple[int, int], Any]] = {}
        for k in step.keys:
            if k.well == well:
                by_channel.setdefault(k.channel, {})[(k.site, k.z)] = k
        for channel, planes in sorted(by_channel.items()):
            sites, zs = sorted({s for s, _ in planes}), sorted({z for _, z in planes})
            loads = [[partial(result.get_image, step.index, planes[(s, z)]) for z in zs if (s, z) in planes]
                     for s in sites]
            stacks.append((channel, _lazy_stack(loads)))
    layers: list[LayerData] = []
    for pos, (channel, data) in enumerate(stacks):
        kwargs: dict[str, Any] = {"name": f"{prefix} {_channel_name(plate, channel)}",
                                  "scale": _scale(px, data.ndim), "metadata": {**meta, "channel": channel}}
        if kind == "labels":
            layers.append((data, {**kwargs, "opacity": 0.6}, "labels"))
        else:
            kwargs.update(colormap=_colormap(plate, channel, pos, len(stacks)), blending="additive",
                          contrast_limits=_contrast(data), visible=False)
            layers.append((data, kwargs, "image"))
    return layers


def workspace_layers(workspace: str | os.PathLike[str], well: str | None = None) -> list[LayerData]:
    """Every persisted step output of one well of a workspace, one layer per channel.

    Image outputs start hidden except the last step's; label outputs
    (segmentation steps) are ``labels`` layers, listed last so they sit on top.
    In-memory intermediates of a finished run are gone and are skipped.

    Parameters
    ----------
    workspace
        A ``<plate>_workspace`` folder holding ``openhcs_metadata.json``.
    well
        Well to show (default: the first well the run processed).

    Raises
    ------
    PipelineError
        If the folder has no readable provenance file.
    """
    from openhcs_gui.pipeline import open_workspace

    result = open_workspace(workspace)
    plate = _source_plate(result)
    wells = result.wells or sorted({k.well for s in result.steps for k in s.keys})
    well = well or (wells[0] if wells else None)
    if well is None:
        return []
    images: list[LayerData] = []
    labels: list[LayerData] = []
    for step in result.steps:
        if step.backend.value == "memory":
            continue
        for layer in _step_layers(result, step, well, plate):
            (labels if layer[2] == "labels" else images).append(layer)
    if images:  # the newest image output is the one shown
        last = images[-1][1]["metadata"]["step"]
        for _data, kwargs, _kind in images:
            kwargs["visible"] = kwargs["metadata"]["step"] == last
    return images + labels
