"""NGFF label images: a field's ``labels/<name>`` group beside its intensity image.

A key named like ``<store>.zarr/A01_s1_w1_z1_labels.tif`` (see
:data:`openhcs_gui.vfs.keys.LABELS_SUFFIX`) is a plane of a label image. The
zarr backend writes it twice, in the layout napari-ome-zarr opens as a Labels
layer (NGFF 0.4 "labels" / "image-label", 0.5 the same under ``ome``):

* as the field's image ``<row>/<col>/<field>/0`` like any plane, so the store
  stays a valid plate that opens and reads like every other step output (a
  label-only step has no intensity image of its own);
* as ``<row>/<col>/<field>/labels/<name>/0``, an integer multiscales image with
  the same ``(c, z, y, x)`` axes and scale, ``image-label`` metadata
  (``source.image = "../../"``), listed in ``labels/.zattrs``.

``<name>`` is the step folder holding the store without its ``stepN_`` prefix
(``step3_count/images.zarr`` -> ``count``), else ``"labels"``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from openhcs_gui.config import ZarrConfig
from openhcs_gui.errors import UnsupportedFormatError
from openhcs_gui.metadata import PlateMetadata
from openhcs_gui.vfs._zarr_meta import image_attrs, read_group, write_group
from openhcs_gui.vfs._zarr_plate import FieldState, PlateState
from openhcs_gui.vfs._zarr_write import FieldWrite, prepare_field, run_chunk

__all__ = ["LabelWrite", "check_labels", "label_name", "label_attrs", "write_labels"]

Plane = tuple[int, int]
PMap = Callable[[Callable[[Any], Any], list[Any]], list[Any]]
_STEP = re.compile(r"^step\d+_(?P<name>.+)$")
_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass(eq=False)
class LabelWrite:
    """The label planes of one field in one batch."""

    plate: PlateState
    field: FieldState  #: the field whose ``labels/<name>`` group receives them
    planes: dict[Plane, np.ndarray]
    keys: dict[Plane, str]
    name: str


def label_name(store_fs: str) -> str:
    """Name of the label image of a store's fields (``.../step3_count/images.zarr`` -> ``count``)."""
    folder = os.path.basename(os.path.dirname(os.path.abspath(store_fs)))
    m = _STEP.match(folder)
    name = _SAFE.sub("_", m["name"] if m else "").strip("._")
    return name or "labels"


def label_attrs(name: str, version: str, meta: PlateMetadata | None) -> dict[str, Any]:
    """``multiscales`` + ``image-label`` attributes of a label image ``(c, z, y, x)``."""
    attrs = image_attrs(name, 1, np.dtype(np.int32), {}, {}, version, omero=False, meta=meta)
    # no ``colors``: napari colours every label itself; a partial table would hide the rest
    body: dict[str, Any] = {"source": {"image": "../../"}}
    attrs["image-label"] = {**body, "version": version} if version == "0.4" else body
    return attrs


def check_labels(planes: dict[Plane, np.ndarray], keys: dict[Plane, str]) -> None:
    """Refuse label planes that are not integers (before anything of the batch is written).

    Raises
    ------
    UnsupportedFormatError
        Naming the first non-integer plane.
    """
    for plane, data in planes.items():
        if not np.issubdtype(data.dtype, np.integer):
            raise UnsupportedFormatError(
                f"Label image '{keys[plane]}' must hold integers; got {data.dtype}.")


def write_labels(
    labels: list[LabelWrite], config: ZarrConfig, meta: PlateMetadata | None,
    overwrite: bool, pmap: PMap,
) -> None:
    """Write the label planes of several fields (chunks encoded on ``pmap``) and their groups.

    Raises
    ------
    UnsupportedFormatError
        A label plane is not of an integer dtype.
    """
    for lw in labels:
        check_labels(lw.planes, lw.keys)
    labels = sorted(labels, key=lambda lw: lw.field.path)  # the backend's lock order
    held: list[FieldState] = []
    try:
        jobs: list[FieldWrite] = []
        for lw in labels:
            if lw.field not in held:
                lw.field.lock.acquire()
                held.append(lw.field)
            if lw.field.labels is None:
                lw.field.labels = FieldState(os.path.join(lw.field.path, "labels", lw.name))
                lw.field.labels.planes = set()
            jobs.append(prepare_field(lw.field.labels, lw.planes, config, lw.plate.zarr_format,
                                      overwrite, lw.keys))
        for job in jobs:
            job.write_structure()
        chunks = [c for j in jobs for c in j.chunks]
        stats = pmap(run_chunk, chunks)
        for job in jobs:
            job.commit([s for c, s in zip(chunks, stats, strict=True) if c.owner is job])
        for lw in labels:
            _write_groups(lw, meta)
    finally:
        for state in held:
            state.lock.release()


def _write_groups(lw: LabelWrite, meta: PlateMetadata | None) -> None:
    fmt, version = lw.plate.zarr_format, lw.plate.version
    group = os.path.join(lw.field.path, "labels")
    write_group(os.path.join(group, lw.name), label_attrs(lw.name, version, meta), fmt)
    old = read_group(group)
    names = list(old[0].get("labels", [])) if old is not None else []
    if lw.name not in names:
        names.append(lw.name)
    write_group(group, {"labels": names}, fmt)
