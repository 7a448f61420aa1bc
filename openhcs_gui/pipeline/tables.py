"""Pure helpers for measurement tables: physical units, channel names, per-well values.

Tables are lists of dict rows as functions return them (see
:mod:`openhcs_gui.functions.objects` for the column conventions). Nothing here
reads or writes files; the run applies :func:`add_physical_units` and
:func:`name_channels` with the plate's :class:`~openhcs_gui.metadata.PlateMetadata`
before a table is written, and the plate heatmap asks :func:`well_aggregate`
for one value per well.

Column conventions
------------------
* ``<stem>_px`` is a length or position in pixels, ``<stem>_px2`` an area in
  pixels². :func:`add_physical_units` puts ``<stem>_um`` / ``<stem>_um2`` right
  after each (the pixel columns stay, so nothing that read them breaks).
* ``<stem>_ch<k>`` is a measurement in channel *k* of a field (k = 1-based
  channel number). :func:`name_channels` **renames** these to
  ``<stem>_<channel name>`` (``mean_intensity_ch2`` -> ``mean_intensity_FITC``),
  because a field's row holds every channel at once and the name is what a
  scientist reads; a row describing one image (it has a ``channel`` column)
  instead gets a ``channel_name`` column after ``channel``. Names are made
  column-safe (``Texas Red`` -> ``Texas_Red``); a channel without a recorded
  name, or whose name two channels share, keeps its ``_ch<k>`` suffix.
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from openhcs_gui.errors import PipelineError

__all__ = [
    "Rows",
    "add_physical_units",
    "name_channels",
    "well_aggregate",
    "channel_column",
    "column_safe",
    "STATISTICS",
]

Rows = list[dict[str, Any]]
Statistic = Literal["mean", "median", "sum", "min", "max", "count"]
_CHANNEL_SUFFIX = re.compile(r"^(?P<stem>.+)_ch(?P<channel>\d+)$")


def _number(value: Any) -> float | None:
    """``value`` as a float, or ``None`` when it is missing (``""``, ``None``) or not a number."""
    if isinstance(value, bool) or value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _scaled(value: Any, factor: float) -> Any:
    number = _number(value)
    return value if number is None else number * factor


def add_physical_units(rows: Sequence[Mapping[str, Any]], pixel_size_um: float | None) -> Rows:
    """Add a micrometre column after every pixel column: ``_px`` -> ``_um``, ``_px2`` -> ``_um2``.

    Parameters
    ----------
    rows
        Table rows (not modified).
    pixel_size_um
        Size of one (square) pixel in µm; ``None`` (unknown) returns plain copies,
        never a guessed 1 µm.

    Returns
    -------
    list of dict
        New rows. Missing values (``""``, NaN) stay missing.

    Raises
    ------
    ValueError
        If ``pixel_size_um`` is not a positive finite number.
    """
    if pixel_size_um is None:
        return [dict(r) for r in rows]
    if not (isinstance(pixel_size_um, int | float) and math.isfinite(pixel_size_um) and pixel_size_um > 0):
        raise ValueError(f"add_physical_units: pixel size must be a positive number of µm, got {pixel_size_um!r}.")
    out: Rows = []
    for row in rows:
        new: dict[str, Any] = {}
        for column, value in row.items():
            new[column] = value
            if column.endswith("_px2"):
                new[column[:-4] + "_um2"] = _scaled(value, pixel_size_um**2)
            elif column.endswith("_px"):
                new[column[:-3] + "_um"] = _scaled(value, pixel_size_um)
        out.append(new)
    return out


def column_safe(name: str) -> str:
    """A channel name as a column suffix: runs of non-alphanumerics become ``_``."""
    return re.sub(r"[^0-9A-Za-z]+", "_", name).strip("_")


def _suffixes(channel_names: Mapping[int, str | None]) -> dict[int, str]:
    safe = {c: column_safe(n) for c, n in channel_names.items() if n and column_safe(n)}
    taken = [s.lower() for s in safe.values()]
    return {c: s for c, s in safe.items() if taken.count(s.lower()) == 1 and not re.fullmatch(r"ch\d+", s)}


def name_channels(rows: Sequence[Mapping[str, Any]], channel_names: Mapping[int, str | None]) -> Rows:
    """Put the plate's channel names into a table (see the module docstring for the rules).

    Parameters
    ----------
    rows
        Table rows (not modified).
    channel_names
        Channel number (1-based) -> name, e.g. ``{1: "DAPI", 2: "FITC"}``
        (``PlateMetadata.channels`` gives them); ``None`` = unknown.

    Returns
    -------
    list of dict
        New rows with ``_ch<k>`` columns renamed and ``channel_name`` added
        after ``channel`` where rows have one (empty when unknown).
    """
    suffix = _suffixes(channel_names)
    out: Rows = []
    for row in rows:
        new: dict[str, Any] = {}
        for column, value in row.items():
            match = _CHANNEL_SUFFIX.match(column)
            renamed = None
            if match and int(match["channel"]) in suffix:
                renamed = f"{match['stem']}_{suffix[int(match['channel'])]}"
            new[renamed if renamed and renamed not in row else column] = value
            if column == "channel" and "channel_name" not in row:
                number = _number(value)
                name = channel_names.get(int(number)) if number is not None and number.is_integer() else None
                new["channel_name"] = name or ""
        out.append(new)
    return out


def channel_column(rows: Sequence[Mapping[str, Any]], measurement: str, channel: int | str | None) -> str | None:
    """The column holding ``measurement`` in ``channel`` as its own column, if the table has one.

    ``mean_intensity`` in channel 2 is ``mean_intensity_ch2``, or
    ``mean_intensity_<name>`` once :func:`name_channels` ran (``channel`` given by
    name). ``None`` when rows hold one image each (filter on ``channel`` instead).
    """
    columns = {c for r in rows for c in r}
    if channel is None:
        return measurement if measurement in columns else None
    for candidate in (f"{measurement}_ch{channel}", f"{measurement}_{column_safe(str(channel))}"):
        if candidate in columns:
            return candidate
    return None


STATISTICS: dict[str, Callable[[list[float]], float]] = {
    "mean": statistics.fmean,
    "median": statistics.median,
    "sum": math.fsum,
    "min": min,
    "max": max,
    "count": lambda values: float(len(values)),
}


def _row_channel_matches(row: Mapping[str, Any], channel: int | str) -> bool:
    if isinstance(channel, str) and not channel.isdigit():
        return str(row.get("channel_name", "")) == channel
    return _number(row.get("channel")) == float(channel)


def well_aggregate(
    rows: Sequence[Mapping[str, Any]],
    measurement: str,
    channel: int | str | None = None,
    statistic: Statistic = "mean",
) -> dict[str, float]:
    """One value per well for a plate heatmap: ``statistic`` of a measurement over the well's rows.

    Parameters
    ----------
    rows
        A table with a ``well`` column (per object or per image).
    measurement
        Column stem, e.g. ``"object_count"``, ``"area_um2"``, ``"mean_intensity"``.
    channel
        Channel number or name for per-channel measurements: picks the
        ``<measurement>_ch<k>`` (or named) column of a field's rows, or the
        rows of that channel when each row is one image. ``None``: the
        measurement column itself, all rows.
    statistic
        ``mean`` (default), ``median``, ``sum``, ``min``, ``max`` or ``count``
        (number of values). Missing and NaN values are left out; a well whose
        values are all missing gets NaN (never 0).

    Returns
    -------
    dict
        Well name -> value, for every well that has rows.

    Raises
    ------
    PipelineError
        If the table has no such measurement (the message lists those it has)
        or the statistic is unknown.
    """
    if statistic not in STATISTICS:
        raise PipelineError(f"Unknown statistic {statistic!r}; choose one of {', '.join(STATISTICS)}.")
    column = channel_column(rows, measurement, channel)
    selected = list(rows)
    if column is None and channel is not None and measurement in {c for r in rows for c in r}:
        column = measurement
        selected = [r for r in rows if _row_channel_matches(r, channel)]
    if column is None:
        known = sorted({c for r in rows for c in r} - {"well", "site", "channel", "z", "time", "channel_name"})
        where = f" in channel {channel}" if channel is not None else ""
        raise PipelineError(
            f"The table has no measurement {measurement!r}{where} (measurements: {', '.join(known) or 'none'})."
        )
    values: dict[str, list[float]] = {}
    for row in selected:
        number = _number(row.get(column))
        bucket = values.setdefault(str(row["well"]), [])
        if number is not None and not math.isnan(number):
            bucket.append(number)
    reduce = STATISTICS[statistic]
    return {
        well: (reduce(vals) if vals or statistic == "count" else math.nan)
        for well, vals in sorted(values.items())
    }
