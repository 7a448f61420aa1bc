"""Physical plate metadata: what makes pixels science (sizes, units, channels, time).

One frozen, plain-data model on the bottom floor of the package: ``plates``
fills it from the instrument's own files, ``pipeline`` carries it through a run
(and into ``openhcs_metadata.json``), and ``vfs`` receives it when writing so the
OME-Zarr ``multiscales``/``omero`` blocks and the TIFF resolution tags say the
truth. Nothing here imports the rest of the package.

Unknown stays unknown: every field may be ``None`` (or empty) and writers must
then *omit* the information rather than invent a 1.0 µm pixel or a
"Channel 1" name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

__all__ = [
    "ChannelInfo",
    "PlateGeometry",
    "PlateMetadata",
    "STANDARD_PLATES",
    "geometry_for_wells",
    "row_name",
    "row_index",
]

#: Physical plate formats: well count -> (rows, columns).
STANDARD_PLATES: dict[int, tuple[int, int]] = {
    6: (2, 3),
    12: (3, 4),
    24: (4, 6),
    48: (6, 8),
    96: (8, 12),
    384: (16, 24),
    1536: (32, 48),
}


def row_name(index: int) -> str:
    """0-based row index -> plate row letters: 0 -> ``A``, 25 -> ``Z``, 26 -> ``AA``, 31 -> ``AF``.

    Spreadsheet-style (bijective base 26), so every index has exactly one name
    and :func:`row_index` inverts it.
    """
    if index < 0:
        raise ValueError(f"row index must be >= 0, got {index}")
    letters = ""
    n = index + 1
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(ord("A") + rem) + letters
    return letters


def row_index(name: str) -> int:
    """Plate row letters -> 0-based index (inverse of :func:`row_name`)."""
    if not name or not name.isascii() or not name.isalpha() or not name.isupper():
        raise ValueError(f"'{name}' is not a plate row name like A or AF")
    n = 0
    for ch in name:
        n = n * 26 + (ord(ch) - ord("A") + 1)
    return n - 1


@dataclass(frozen=True)
class PlateGeometry:
    """Rows × columns of the physical plate (not just the wells that were imaged)."""

    rows: int
    columns: int

    @property
    def row_names(self) -> list[str]:
        """``["A", "B", ...]`` for every physical row."""
        return [row_name(i) for i in range(self.rows)]

    @property
    def n_wells(self) -> int:
        """Wells on the physical plate."""
        return self.rows * self.columns


def geometry_for_wells(rows_used: int, columns_used: int) -> PlateGeometry:
    """Smallest standard plate that holds ``rows_used`` × ``columns_used`` wells.

    Used only when the instrument's files do not say; falls back to the used
    extent itself when no standard plate is large enough.
    """
    for rows, cols in sorted(STANDARD_PLATES.values()):
        if rows >= rows_used and cols >= columns_used:
            return PlateGeometry(rows, cols)
    return PlateGeometry(rows_used, columns_used)


@dataclass(frozen=True)
class ChannelInfo:
    """One acquisition channel. ``color`` is ``RRGGBB`` hex (no ``#``)."""

    name: str | None = None
    color: str | None = None
    excitation_nm: float | None = None
    emission_nm: float | None = None


@dataclass(frozen=True)
class PlateMetadata:
    """Everything physical a plate says about its pixels; ``None`` = not recorded.

    Attributes
    ----------
    plate_name
        The plate's own name (instrument barcode/name or input folder).
    pixel_size_x, pixel_size_y, z_spacing
        Physical size of one pixel / between planes, in :attr:`unit`.
    unit
        An OME-NGFF space unit name (``"micrometer"``); ``None`` when no size is known.
    time_interval, time_unit
        Time between time points (``"second"``) when known.
    channels
        Channel number (1-based, as in ``ImageKey.channel``) -> :class:`ChannelInfo`.
    timepoints
        Time point numbers present (1-based); ``(1,)`` for a single acquisition.
    geometry
        Physical plate layout, when known or derivable.
    """

    plate_name: str | None = None
    pixel_size_x: float | None = None
    pixel_size_y: float | None = None
    z_spacing: float | None = None
    unit: str | None = None
    time_interval: float | None = None
    time_unit: str | None = None
    channels: Mapping[int, ChannelInfo] = field(default_factory=dict)
    timepoints: tuple[int, ...] = (1,)
    geometry: PlateGeometry | None = None

    def channel_name(self, channel: int) -> str | None:
        """The recorded name of ``channel`` (1-based), or ``None``."""
        info = self.channels.get(channel)
        return info.name if info is not None else None

    @property
    def pixel_size_um(self) -> float | None:
        """X pixel size in micrometres, when the size and unit are known."""
        if self.pixel_size_x is None or self.unit is None:
            return None
        factor = _TO_UM.get(self.unit)
        return None if factor is None else self.pixel_size_x * factor

    def with_(self, **changes: Any) -> PlateMetadata:
        """A copy with ``changes`` applied (the model is frozen)."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready plain data (channel keys become strings)."""
        d = asdict(self)
        d["channels"] = {str(k): asdict(v) for k, v in self.channels.items()}
        d["timepoints"] = list(self.timepoints)
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> PlateMetadata:
        """Inverse of :meth:`to_dict`; missing keys mean unknown."""
        if not data:
            return cls()
        geo = data.get("geometry")
        return cls(
            plate_name=data.get("plate_name"),
            pixel_size_x=data.get("pixel_size_x"),
            pixel_size_y=data.get("pixel_size_y"),
            z_spacing=data.get("z_spacing"),
            unit=data.get("unit"),
            time_interval=data.get("time_interval"),
            time_unit=data.get("time_unit"),
            channels={int(k): ChannelInfo(**v) for k, v in (data.get("channels") or {}).items()},
            timepoints=tuple(int(t) for t in data.get("timepoints") or (1,)),
            geometry=PlateGeometry(**geo) if geo else None,
        )


#: NGFF space unit -> micrometres.
_TO_UM: dict[str, float] = {
    "nanometer": 1e-3,
    "micrometer": 1.0,
    "millimeter": 1e3,
    "centimeter": 1e4,
    "meter": 1e6,
}
