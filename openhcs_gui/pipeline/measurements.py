"""Per-well measurements a plate heatmap can colour by, named the way a scientist says them.

A run's tables are per object (``nuclei``, ``cells``: one row per object, an
``object_id`` column) or per image (``objects``, ``quality``: one row per image
or field). :func:`well_measurements` turns them into a short list of
:class:`WellMeasurement` choices, each with a human label, a unit and one value
per well, e.g. for a step that found nuclei and cells on a plate with pixel
size and channel names:

* ``Nuclei count`` (number of nuclei in the well, all its fields; 0 when none),
* ``Mean nuclear area`` in ``µm²`` (``px²`` when the plate has no pixel size),
* ``Mean nuclear intensity`` / ``Mean cell intensity`` in each channel, the
  channel given by its name (``FITC``) or number when unnamed,
* ``Cell count``, ``Mean cell area``, and the mean of every other numeric
  column of a per-image table (``Focus score (quality)``, ``Threshold (objects)``).

Means are over the well's objects (or images); objects or images without a
value are left out and a well without any gets NaN, never 0. Values are
computed by :func:`~openhcs_gui.pipeline.tables.well_aggregate`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from openhcs_gui.pipeline.tables import well_aggregate

__all__ = ["WellMeasurement", "well_measurements", "OBJECT_NOUNS"]

Rows = list[dict[str, Any]]

#: Per-object table name -> (plural noun, adjective) used in labels.
OBJECT_NOUNS: dict[str, tuple[str, str]] = {
    "nuclei": ("Nuclei", "nuclear"),
    "cells": ("Cell", "cell"),
}
#: Columns that identify an image or object rather than measure it.
_IDENTITY = {"well", "site", "channel", "z", "t", "time", "timepoint", "index", "channel_name",
             "object_id", "parent_id"}
_INTENSITY = re.compile(r"^mean_intensity(?:_(?P<channel>.+))?$")


@dataclass(frozen=True)
class WellMeasurement:
    """One heatmap choice: a named measurement with one value per well.

    Attributes
    ----------
    label
        What the user reads: ``"Nuclei count"``, ``"Mean nuclear area"``,
        ``"Mean cell intensity (FITC)"`` (the channel, when any, is in brackets).
    unit
        ``"µm²"``, ``"px²"``, ``"µm"``, ``"px"`` or ``""`` (counts, intensities, scores).
    values
        Well name -> value; NaN where the well has no value (no objects).
    measurement
        The label without the channel (``"Mean cell intensity"``), for a
        measurement chooser beside a channel chooser.
    channel
        Channel name (or number as text when unnamed) the value is measured in; ``None`` if none.
    step, table, column, statistic
        Where it comes from: step name, table name, column (``""`` for counts) and
        the per-well statistic (``"mean"``, ``"sum"``, ``"count"``).
    """

    label: str
    unit: str
    values: dict[str, float]
    measurement: str = ""
    channel: str | None = None
    step: str = ""
    table: str = ""
    column: str = ""
    statistic: str = "mean"

    @property
    def title(self) -> str:
        """Label with its unit: ``"Mean nuclear area (µm²)"``."""
        return f"{self.label} ({self.unit})" if self.unit else self.label


def _columns(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    seen: dict[str, None] = {}
    for row in rows:
        seen.update(dict.fromkeys(row))
    return list(seen)


def _numeric(rows: Sequence[Mapping[str, Any]], column: str) -> bool:
    return any(isinstance(r.get(column), int | float) and not isinstance(r.get(column), bool) for r in rows)


def _channels(rows: Sequence[Mapping[str, Any]]) -> list[tuple[Any, str]]:
    """``(value to select, shown name)`` of each channel the rows hold (per-image rows)."""
    out: dict[Any, str] = {}
    for row in rows:
        if "channel" in row and row["channel"] != "":
            name = str(row.get("channel_name") or "") or str(row["channel"])
            out.setdefault(row["channel"], name)
    return sorted(out.items(), key=lambda kv: str(kv[0]))


def _every_well(values: dict[str, float], wells: Iterable[str], missing: float) -> dict[str, float]:
    """``values`` for every well the step ran on: ``missing`` (0 for a count, NaN for a mean) where it has no rows."""
    return {w: values.get(w, missing) for w in sorted({*wells, *values})}


def _object_measurements(step: str, table: str, rows: Rows, wells: Sequence[str]) -> list[WellMeasurement]:
    noun, adjective = OBJECT_NOUNS.get(table, (table.replace("_", " ").capitalize(), table))
    columns = _columns(rows)
    # rows of single images (a ``channel`` column): one set of measurements per channel
    per_channel: list[tuple[Any, str | None]] = _channels(rows) if "channel" in columns else [(None, None)]
    out: list[WellMeasurement] = []
    area = next((c for c in ("area_um2", "area_px2") if c in columns), None)
    for selector, name in per_channel:
        rows_c = rows if selector is None else [r for r in rows if r.get("channel") == selector]
        suffix = f" ({name})" if name else ""
        counts = well_aggregate(rows_c, "object_id", statistic="count") if "object_id" in columns else {}
        out.append(WellMeasurement(f"{noun} count{suffix}", "", _every_well(counts, wells, 0.0), f"{noun} count",
                                   name, step, table, "", "count"))
        if area:
            unit = "µm²" if area.endswith("um2") else "px²"
            out.append(WellMeasurement(f"Mean {adjective} area{suffix}", unit, _every_well(well_aggregate(rows_c, area), wells, math.nan),
                                       f"Mean {adjective} area", name, step, table, area))
        for column in columns:
            match = _INTENSITY.match(column)
            if not match or not _numeric(rows_c, column):
                continue
            channel = match["channel"] if match["channel"] else name
            if channel is not None and channel.startswith("ch") and channel[2:].isdigit():
                channel = channel[2:]
            shown = f" ({channel})" if channel else ""
            out.append(WellMeasurement(f"Mean {adjective} intensity{shown}", "", _every_well(well_aggregate(rows_c, column), wells, math.nan),
                                       f"Mean {adjective} intensity", channel, step, table, column))
    return out


_SUMMARY = re.compile(r"^(cell_)?(object_count|count|mean_.+)$")
_UNITS = (("_um2", "µm²"), ("_px2", "px²"), ("_um", "µm"), ("_px", "px"))


def _image_measurements(step: str, table: str, rows: Rows, has_objects: bool) -> list[WellMeasurement]:
    """Mean per well of each numeric column of a per-image table.

    When the step also wrote per-object tables, the per-image summaries of
    those objects (counts, ``mean_*``) are left out: the object measurements
    already give them, per well. A pixel column is left out when its µm twin exists.
    """
    out: list[WellMeasurement] = []
    columns = _columns(rows)
    for column in columns:
        if column in _IDENTITY or not _numeric(rows, column) or (has_objects and _SUMMARY.match(column)):
            continue
        unit, stem = "", column
        for ending, name in _UNITS:
            if column.endswith(ending):
                unit, stem = name, column[: -len(ending)]
                break
        if unit.startswith("px") and f"{stem}_um{unit[2:].replace('²', '2')}" in columns:
            continue
        words = stem.replace("_", " ")
        label = f"{words[:1].upper()}{words[1:]} ({table})"
        out.append(WellMeasurement(label, unit, well_aggregate(rows, column), label, None, step, table, column))
    return out


def well_measurements(
    step: str, tables: Mapping[str, Rows], wells: Sequence[str] = ()
) -> list[WellMeasurement]:
    """The heatmap choices of one step's tables (see the module docstring).

    Parameters
    ----------
    step
        Step name (recorded in each choice).
    tables
        Table name -> rows of the whole plate (a ``well`` column in every row).
    wells
        Wells the step ran on: a per-object count is 0 for those without a row.

    Returns
    -------
    list of WellMeasurement
        Per-object measurements first (count, mean area, mean intensity per
        channel), then per-image ones; tables without a ``well`` column are skipped.
    """
    objects: list[WellMeasurement] = []
    per_image: list[tuple[str, Rows]] = []
    for table, rows in tables.items():
        columns = _columns(rows)
        if "well" not in columns and rows:
            continue
        if "object_id" in columns or (not rows and table in OBJECT_NOUNS):
            objects.extend(_object_measurements(step, table, rows, wells))
        elif rows:
            per_image.append((table, rows))
    images = [m for table, rows in per_image for m in _image_measurements(step, table, rows, bool(objects))]
    return objects + images


def finite(values: Mapping[str, float]) -> dict[str, float]:
    """The wells of ``values`` that have a number (NaN left out), e.g. for a colour scale."""
    return {w: v for w, v in values.items() if not math.isnan(v)}
