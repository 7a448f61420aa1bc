"""In-memory registry of one OME-Zarr HCS plate: wells, fields, opened arrays.

The zarr backend keeps one :class:`PlateState` per store. It is filled from
what the backend writes, or - for a store written by someone else
(ome-zarr-py, a previous run) - lazily from the plate, well and multiscales
metadata the first time a well or field is asked for. Every later call is a
dict lookup: nothing lists or rescans the store per call, which is what made
the seed's storage layer slow (issue 3, "Speed").
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass, field

from openhcs_gui.vfs._zarr_array import RawArray, ZarrPyArray, open_plane_array
from openhcs_gui.vfs._zarr_meta import row_index
from openhcs_gui.vfs.keys import ImageKey, well_name
from openhcs_gui.vfs.ngff_read import (
    Multiscale,
    group_attrs,
    read_image,
    read_plate,
    read_well_fields,
)

__all__ = ["FieldState", "WellState", "PlateState", "open_plate_state"]

_DIGITS = re.compile(r"^\d+$")
_ROW = re.compile(r"^[A-Z]{1,2}$")


@dataclass(eq=False)
class FieldState:
    """One field (site) of a well: its image group and its ``([t,] c, z, y, x)``-like array.

    ``planes`` is the set of 0-based ``(t, c, z)`` this backend wrote; ``None``
    means "every plane of the array" (a store opened from disk).
    """

    path: str
    array: RawArray | ZarrPyArray | None = None
    axes: tuple[str, ...] = ("c", "z", "y", "x")
    planes: set[tuple[int, int, int]] | None = None
    ranges: dict[int, tuple[float, float]] = field(default_factory=dict)
    ours: bool = False
    dirty: bool = False
    #: the display ranges its omero metadata was last written with
    shown: dict[int, tuple[float, float]] | None = None
    #: resolution levels of the field's pyramid (``0``, ``1``, ...) this backend wrote
    levels: int = 1
    #: name of the field's NGFF label image (``labels/<name>``) this backend wrote, if any
    label_name: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def index(self, channel: int, z: int, t: int = 0) -> tuple[int, ...] | None:
        """Array index of the 0-based plane ``(channel, z, t)``, or ``None`` if outside."""
        if self.array is None:
            return None
        shape = self.array.shape
        out: list[int] = []
        for name, size in zip(self.axes[:-2], shape[:-2], strict=False):
            value = {"c": channel, "z": z, "t": t}.get(name, 0)
            if value >= size:
                return None
            out.append(value)
        if ("c" not in self.axes and channel) or ("z" not in self.axes and z) or \
                ("t" not in self.axes and t):
            return None
        return tuple(out)

    def has_plane(self, channel: int, z: int, t: int = 0) -> bool:
        """True if the 0-based plane ``(channel, z, t)`` holds an image."""
        if self.planes is not None:
            return (t, channel, z) in self.planes
        return self.index(channel, z, t) is not None

    def plane_list(self) -> list[tuple[int, int, int]]:
        """Sorted 0-based ``(t, c, z)`` of every image in this field."""
        if self.planes is not None:
            return sorted(self.planes)
        if self.array is None:
            return []
        sizes = dict(zip(self.axes, self.array.shape, strict=False))
        return [(t, c, z) for t in range(sizes.get("t", 1)) for c in range(sizes.get("c", 1))
                for z in range(sizes.get("z", 1))]


@dataclass(eq=False)
class WellState:
    """One well: its group path inside the store and its fields by 1-based site."""

    path: str
    row: int
    column: int
    fields: dict[int, FieldState] = field(default_factory=dict)
    loaded: bool = True
    dirty: bool = False

    def load(self, store_path: str) -> None:
        """Read the well metadata once and register its fields (arrays open lazily)."""
        if self.loaded:
            return
        well_dir = os.path.join(store_path, *self.path.split("/"))
        for site, p in read_well_fields(well_dir):
            self.fields.setdefault(site, FieldState(os.path.join(well_dir, p)))
        self.loaded = True


def open_field(state: FieldState) -> None:
    """Open a field's full-resolution array from its multiscales metadata (once)."""
    if state.array is not None:
        return
    meta = read_image(state.path)
    array = open_plane_array(os.path.join(state.path, *meta.dataset.split("/")))
    if array is None:
        return
    ms = meta.multiscale or Multiscale((), (), ())
    axes = ms.axis_names(len(array.shape), array.dimension_names)
    state.array, state.axes = array, tuple(axes)


@dataclass(eq=False)
class PlateState:
    """Everything the backend knows about one store; ``lock`` guards metadata only."""

    path: str
    zarr_format: int
    version: str
    wells: dict[str, WellState] = field(default_factory=dict)
    channel_names: dict[int, str] = field(default_factory=dict)
    dirty: bool = False
    #: this backend wrote into the store (so it rebuilds its metadata at close)
    written: bool = False
    #: well paths this backend deleted (left out when merging other writers' wells)
    deleted: set[str] = field(default_factory=set)
    #: well paths this backend wrote into (restated in every merged plate listing)
    written_wells: set[str] = field(default_factory=set)
    #: 0-based channel -> (min, max) of all data this backend wrote (the display window)
    ranges: dict[int, tuple[float, float]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _ranges_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add_ranges(self, ranges: dict[int, tuple[float, float]]) -> None:
        """Widen the plate-wide value range by one field's ranges."""
        with self._ranges_lock:
            for c, (lo, hi) in ranges.items():
                old = self.ranges.get(c)
                self.ranges[c] = (lo, hi) if old is None else (min(old[0], lo), max(old[1], hi))

    def window(self, field_ranges: dict[int, tuple[float, float]]) -> dict[int, tuple[float, float]]:
        """Display ranges for a field: the whole plate's so far, widened by the field's own."""
        with self._ranges_lock:
            out = dict(self.ranges)
        for c, (lo, hi) in field_ranges.items():
            old = out.get(c)
            out[c] = (lo, hi) if old is None else (min(old[0], lo), max(old[1], hi))
        return out

    def field_state(self, key: ImageKey, *, load: bool = True) -> FieldState | None:
        """The field holding ``key`` (array opened), or ``None`` if the plate lacks it."""
        well = self.wells.get(key.well)
        if well is None:
            return None
        if not well.loaded:
            with self.lock:
                well.load(self.path)
        state = well.fields.get(key.site)
        if state is not None and load and state.array is None:
            open_field(state)  # idempotent; a race only opens the same array twice
        return state

    def image_keys(self) -> list[ImageKey]:
        """Every image in the plate (opens all arrays once; used for listing)."""
        out: list[ImageKey] = []
        for name, well in list(self.wells.items()):
            for site in list(self.fields_of(well)):
                state = self.field_state(ImageKey(name, site, 1))
                if state is None:
                    continue
                out.extend(ImageKey(name, site, c + 1, z + 1, t + 1)
                           for t, c, z in state.plane_list())
        return sorted(out)

    def fields_of(self, well: WellState) -> list[int]:
        """Sites of ``well`` after its metadata is read."""
        if not well.loaded:
            with self.lock:
                well.load(self.path)
        return sorted(well.fields)


def open_plate_state(path: str, zarr_format: int, version: str) -> PlateState:
    """Registry for the store folder ``path``: read its plate metadata if it exists.

    Rows and columns are resolved through the plate's ``rows``/``columns``
    names, so ``B03`` finds ``B/3`` (ome-zarr-py) or ``B/03``. A store without
    plate metadata is read from its ``row/column`` folders instead.
    """
    group = group_attrs(path)
    if group is None:
        return PlateState(path, zarr_format, version)
    fmt = group[1]
    state = PlateState(path, fmt, "0.4" if fmt == 2 else "0.5")
    plate = read_plate(path)
    if plate is not None:
        for w in plate.wells:
            state.wells[w.name] = WellState(w.path, row_index(w.row), w.column - 1, loaded=False)
        return state
    for r_name in sorted(os.listdir(path)):
        row_dir = os.path.join(path, r_name)
        if not (_ROW.match(r_name) and os.path.isdir(row_dir)):
            continue
        for c_name in os.listdir(row_dir):
            if _DIGITS.match(c_name) and os.path.isdir(os.path.join(row_dir, c_name)):
                state.wells[well_name(r_name, int(c_name))] = WellState(
                    f"{r_name}/{c_name}", row_index(r_name), int(c_name) - 1, loaded=False)
    return state
