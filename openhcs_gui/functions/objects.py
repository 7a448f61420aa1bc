"""Per-object measurements from a label image, with scikit-image ``regionprops_table``.

One row per object: its id, its parent's id (cell -> nucleus), centroid, area,
perimeter, equivalent diameter, eccentricity, solidity, and mean / integrated /
maximum intensity in every channel given. Geometry is never computed here:
every value is a ``regionprops_table`` property (integrated intensity is its
``intensity_mean * area``).

Column names carry their unit: ``_px`` for lengths and positions in pixels,
``_px2`` for areas in pixels² (:func:`openhcs_gui.pipeline.tables.add_physical_units`
adds ``_um`` / ``_um2`` twins when the pixel size is known). Intensities of a
multi-channel field end in ``_ch<k>`` (k = 1-based position in the field's
stack); :func:`openhcs_gui.pipeline.tables.name_channels` swaps in the plate's
channel names. Intensities of a single image have no suffix: the engine's
``channel`` column says which channel it is.

A per-image summary (:func:`summary_row`) has the object count and the mean of
each measurement over the objects; with no objects the count is 0 and every
mean is NaN (an empty field has no mean area, not an area of 0).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["Rows", "object_rows", "summary_row", "count_column", "SHAPE_COLUMNS", "INTENSITY_COLUMNS",
           "intensity_columns"]

Rows = list[dict[str, Any]]

#: regionprops property -> our column name (geometry, in pixels).
SHAPE_COLUMNS: dict[str, str] = {
    "centroid-0": "centroid_y_px",
    "centroid-1": "centroid_x_px",
    "area": "area_px2",
    "perimeter": "perimeter_px",
    "equivalent_diameter_area": "equivalent_diameter_px",
    "eccentricity": "eccentricity",
    "solidity": "solidity",
}
#: Intensity measurements per channel (column stems).
INTENSITY_COLUMNS: tuple[str, ...] = ("mean_intensity", "integrated_intensity", "max_intensity")
_PROPS = ("label", "centroid", "area", "perimeter", "equivalent_diameter_area", "eccentricity",
          "solidity", "intensity_mean", "intensity_max")


def _suffixes(n_channels: int | None) -> list[str]:
    return [""] if n_channels is None else [f"_ch{k}" for k in range(1, n_channels + 1)]


def intensity_columns(n_channels: int | None) -> list[str]:
    """Intensity column names for one image (``None``) or an ``n``-channel field."""
    return [f"{stem}{s}" for s in _suffixes(n_channels) for stem in INTENSITY_COLUMNS]


def object_rows(
    labels: np.ndarray,
    intensity: np.ndarray,
    *,
    parent: np.ndarray | None = None,
    index: int | None = None,
) -> Rows:
    """One row per object of ``labels``, measured with ``regionprops_table``.

    Parameters
    ----------
    labels
        2-D int label image (0 = background).
    intensity
        The image ``(y, x)`` the objects were found in, or a field's channels
        ``(c, y, x)``: intensities are then measured in every channel.
    parent
        Parent label image (nuclei for cells): ``parent_id`` is the parent id
        inside each object (the largest, if several overlap it).
    index
        Position of the image in the function's stack (an ``index`` column
        the engine replaces by well / site / channel / z).

    Returns
    -------
    list of dict
        Rows in object-id order; empty when there are no objects.
    """
    from skimage.measure import regionprops_table

    labels = np.asarray(labels)
    image = np.asarray(intensity)
    multi = image.ndim == 3
    intensity_image = np.moveaxis(image, 0, -1) if multi else image
    props = regionprops_table(labels, intensity_image, properties=_PROPS)  # type: ignore[no-untyped-call]
    n = len(props["label"])
    if n == 0:
        return []
    columns: dict[str, np.ndarray] = {"object_id": props["label"]}
    if parent is not None:
        parents = regionprops_table(labels, np.asarray(parent), properties=("intensity_max",))  # type: ignore[no-untyped-call]
        columns["parent_id"] = parents["intensity_max"]
    columns.update({ours: props[theirs] for theirs, ours in SHAPE_COLUMNS.items()})
    for k, suffix in enumerate(_suffixes(image.shape[0] if multi else None)):
        key = f"-{k}" if multi else ""
        mean = np.asarray(props[f"intensity_mean{key}"], np.float64)
        columns[f"mean_intensity{suffix}"] = mean
        columns[f"integrated_intensity{suffix}"] = mean * np.asarray(props["area"], np.float64)
        columns[f"max_intensity{suffix}"] = np.asarray(props[f"intensity_max{key}"], np.float64)
    head = {} if index is None else {"index": index}
    ints = {"object_id", "parent_id"}
    return [
        {**head, **{c: (int(v[i]) if c in ints else float(v[i])) for c, v in columns.items()}}
        for i in range(n)
    ]


def count_column(prefix: str = "") -> str:
    """Name of the per-image object count: ``object_count``, or ``<prefix>count`` (``cell_count``)."""
    return f"{prefix}count" if prefix else "object_count"


def _mean(rows: Rows, column: str) -> float:
    return float(np.mean([r[column] for r in rows])) if rows else float("nan")


def summary_row(rows: Rows, n_channels: int | None = None, *, prefix: str = "") -> dict[str, Any]:
    """Per-image summary of the object rows of one image: count and means.

    Parameters
    ----------
    rows
        :func:`object_rows` of one image (may be empty).
    n_channels
        Number of channels the rows were measured in (``None``: one image),
        so an empty image still gets every column (as NaN).
    prefix
        Column prefix (``"cell_"`` gives ``cell_count``, ``cell_mean_area_px2``...).

    Returns
    -------
    dict
        ``object_count`` (or ``<prefix>count``), ``mean_area_px2``,
        ``mean_equivalent_diameter_px`` and ``mean_<intensity column>`` for every
        intensity column; NaN means when there are no objects.
    """
    out: dict[str, Any] = {count_column(prefix): len(rows)}
    for column in ("area_px2", "equivalent_diameter_px", *intensity_columns(n_channels)):
        name = column if column.startswith("mean_") else f"mean_{column}"
        out[f"{prefix}{name}"] = _mean(rows, column)
    return out
