"""Open one well of an OME-Zarr HCS plate as lazy dask arrays, for the viewer.

Reading the plate, well and multiscales metadata is a few small JSON reads;
the pixels stay on disk until napari asks for the plane it draws, so a well
of a large plate opens instantly. Works for NGFF 0.4 (zarr v2, attributes at
the top level) and 0.5 (zarr v3, attributes under ``"ome"``), whoever wrote it.
"""

from __future__ import annotations

from typing import Any

import dask.array as da
import numpy as np
import zarr

from openhcs_gui.errors import PathNotFoundError
from openhcs_gui.vfs.keys import split_well

__all__ = ["open_well_levels", "well_channel_stacks"]

_AXES = ("c", "z", "y", "x")


def _ome(group: Any) -> dict[str, Any]:
    attrs = dict(group.attrs)
    return dict(attrs.get("ome", attrs))


def _well_path(plate_group: Any, well: str) -> str:
    row, col = split_well(well)
    for entry in _ome(plate_group).get("plate", {}).get("wells", []):
        parts = str(entry["path"]).split("/")
        if len(parts) == 2 and parts[0] == row and parts[1].isdigit() and int(parts[1]) == col:
            return str(entry["path"])
    raise PathNotFoundError(f"Well {well} is not in the OME-Zarr plate {plate_group.store}.")


def _to_cz_yx(arr: Any, axes: list[str]) -> Any:
    """View ``arr`` as ``(c, z, y, x)``: drop other axes at index 0, add missing ones."""
    index = tuple(slice(None) if name in _AXES else 0 for name in axes)
    kept = [name for name in axes if name in _AXES]
    arr = arr[index]
    for pos, name in enumerate(_AXES):
        if name not in kept:
            arr = da.expand_dims(arr, pos)
            kept.insert(pos, name)
    return arr


def open_well_levels(store: str, well: str) -> list[list[Any]]:
    """Lazy arrays of one well: ``[field][level] -> dask (c, z, y, x)``.

    Raises
    ------
    PathNotFoundError
        If the store or the well is missing.
    """
    try:
        plate_group = zarr.open_group(store, mode="r")
    except (FileNotFoundError, zarr.errors.GroupNotFoundError) as e:  # type: ignore[attr-defined]
        raise PathNotFoundError(f"No OME-Zarr plate at {store}.") from e
    well_group = plate_group[_well_path(plate_group, well)]
    fields = []
    for image in _ome(well_group).get("well", {}).get("images", []):
        image_group = well_group[str(image["path"])]
        multiscale = _ome(image_group)["multiscales"][0]
        axes = [a["name"] if isinstance(a, dict) else str(a) for a in multiscale.get("axes", _AXES)]
        levels = [
            _to_cz_yx(da.from_zarr(image_group[str(d["path"])]), axes)
            for d in multiscale["datasets"]
        ]
        fields.append(levels)
    return fields


def well_channel_stacks(
    store: str, well: str
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
