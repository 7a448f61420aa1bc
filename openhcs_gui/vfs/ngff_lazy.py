"""Open one well of an OME-Zarr HCS plate as lazy dask arrays (used by the viewer).

The plate, well and multiscales metadata come from :mod:`openhcs_gui.vfs.ngff_read`
(a few small JSON reads); the pixels stay on disk until a viewer asks for the
plane it draws, so a well of a large plate opens instantly. Works for NGFF
0.4 (zarr v2) and 0.5 (zarr v3), whoever wrote the store. No Qt here: the
GUI only turns the arrays into layers.
"""

from __future__ import annotations

import os
from typing import Any

import dask.array as da
import numpy as np

from openhcs_gui.errors import PathNotFoundError
from openhcs_gui.vfs.ngff_read import read_image, read_plate, read_well_fields

__all__ = ["open_well_levels", "well_channel_stacks"]

_AXES = ("c", "z", "y", "x")


def _to_cz_yx(arr: Any, axes: tuple[str, ...]) -> Any:
    """View ``arr`` as ``(c, z, y, x)``: drop other axes (e.g. ``t``) at index 0, add missing ones."""
    index = tuple(slice(None) if name in _AXES else 0 for name in axes)
    kept = [name for name in axes if name in _AXES]
    arr = arr[index]
    for pos, name in enumerate(_AXES):
        if name not in kept:
            arr = da.expand_dims(arr, pos)
            kept.insert(pos, name)
    return arr


def open_well_levels(store: str | os.PathLike[str], well: str) -> list[list[Any]]:
    """Lazy arrays of one well: ``[field][level] -> dask (c, z, y, x)``.

    Raises
    ------
    PathNotFoundError
        If the store is no OME-Zarr plate or the well is not in it.
    """
    import zarr

    store = os.fspath(store)
    plate = read_plate(store)
    if plate is None:
        raise PathNotFoundError(f"No OME-Zarr plate at {store}.")
    entry = plate.well(well)
    if entry is None:
        raise PathNotFoundError(f"Well {well} is not in the OME-Zarr plate {store}.")
    well_dir = os.path.join(store, *entry.path.split("/"))
    fields = []
    for _site, fpath in read_well_fields(well_dir):
        image_dir = os.path.join(well_dir, *fpath.split("/"))
        meta = read_image(image_dir)
        paths = meta.multiscale.datasets if meta.multiscale and meta.multiscale.datasets else ("0",)
        levels = []
        for level in paths:
            arr = zarr.open_array(os.path.join(image_dir, *level.split("/")), mode="r")
            names = meta.multiscale.axis_names(arr.ndim) if meta.multiscale else \
                ("t", "c", "z", "y", "x")[-arr.ndim:]
            levels.append(_to_cz_yx(da.from_zarr(arr), names))
        fields.append(levels)
    return fields


def well_channel_stacks(
    store: str | os.PathLike[str], well: str
) -> list[tuple[int, list[Any], tuple[float, float], tuple[str, ...]]]:
    """Per channel: ``(channel index, levels, contrast, axis labels)``, fields and z stacked.

    Each level is a lazy ``(field, z, y, x)`` array with length-1 leading axes
    removed. The contrast range is computed from one plane of the smallest
    level, so this reads a few kilobytes however large the plate is.
    """
    fields = open_well_levels(store, well)
    if not fields:
        return []
    n_levels = min(len(f) for f in fields)
    stacked = [da.stack([f[level] for f in fields]) for level in range(n_levels)]  # (f, c, z, y, x)
    out = []
    n_fields, n_channels, n_z = stacked[0].shape[:3]
    drop = tuple(i for i, n in enumerate((n_fields, n_z)) if n == 1)
    labels = (*(name for name, n in (("site", n_fields), ("z", n_z)) if n > 1), "y", "x")
    for c in range(n_channels):
        levels = [s[:, c] for s in stacked]
        if drop:
            levels = [lvl.squeeze(axis=drop) for lvl in levels]
        sample = np.asarray(stacked[-1][0, c, n_z // 2])
        lo, hi = float(np.percentile(sample, 0.1)), float(np.percentile(sample, 99.9))
        out.append((c, levels, (lo, hi if hi > lo else lo + 1.0), labels))
    return out
