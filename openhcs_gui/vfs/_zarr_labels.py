"""NGFF label images: a field's ``labels/<name>`` group beside its intensity image.

A key named like ``<store>.zarr/A01_s1_w1_z1_labels.tif`` (see
:data:`openhcs_gui.vfs.keys.LABELS_SUFFIX`) is a plane of a label image. The
zarr backend stores it in the layout napari-ome-zarr opens as a Labels layer
(NGFF 0.4 "labels" / "image-label", 0.5 the same under ``ome``):

* as the field's image ``<row>/<col>/<field>/<level>`` like any plane, so the
  store stays a valid plate that opens and reads like every other step output
  (a label-only step has no intensity image of its own);
* as ``<row>/<col>/<field>/labels/<name>/<level>``, an integer multiscales
  image with the same axes and scale, ``image-label`` metadata
  (``source.image = "../../"``), listed in ``labels/.zattrs``.

Both are written in one pass: each chunk (and each pyramid level, nearest
neighbour) is encoded once and its file hard-linked under ``labels/``
(:func:`openhcs_gui.vfs._zarr_write.run_chunk`); this module only names the
label image, checks its planes and writes its group metadata.

``<name>`` is the step folder holding the store without its ``stepN_`` prefix
(``step3_count/images.zarr`` -> ``count``), else ``"labels"``.
"""

from __future__ import annotations

import os
import re
from typing import Any

import numpy as np

from openhcs_gui.errors import UnsupportedFormatError
from openhcs_gui.metadata import PlateMetadata
from openhcs_gui.vfs._zarr_meta import image_attrs, read_group, write_group

__all__ = ["check_labels", "label_name", "label_attrs", "write_label_groups"]

_STEP = re.compile(r"^step\d+_(?P<name>.+)$")
_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def label_name(store_fs: str) -> str:
    """Name of the label image of a store's fields (``.../step3_count/images.zarr`` -> ``count``)."""
    folder = os.path.basename(os.path.dirname(os.path.abspath(store_fs)))
    m = _STEP.match(folder)
    name = _SAFE.sub("_", m["name"] if m else "").strip("._")
    return name or "labels"


def label_attrs(name: str, version: str, meta: PlateMetadata | None, levels: int = 1,
                timed: bool = False) -> dict[str, Any]:
    """``multiscales`` + ``image-label`` attributes of a label image ``([t,] c, z, y, x)``."""
    attrs = image_attrs(name, 1, np.dtype(np.int32), {}, {}, version, omero=False, meta=meta,
                        levels=levels, timed=timed, method="nearest")
    # no ``colors``: napari colours every label itself; a partial table would hide the rest
    body: dict[str, Any] = {"source": {"image": "../../"}}
    attrs["image-label"] = {**body, "version": version} if version == "0.4" else body
    return attrs


def check_labels(planes: dict[Any, np.ndarray], keys: dict[Any, str]) -> None:
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


def write_label_groups(field_path: str, name: str, zarr_format: int, version: str,
                       meta: PlateMetadata | None, levels: int, timed: bool) -> None:
    """Write ``labels/<name>`` (image-label) and list ``name`` in ``labels``' metadata."""
    group = os.path.join(field_path, "labels")
    write_group(os.path.join(group, name), label_attrs(name, version, meta, levels, timed),
                zarr_format)
    old = read_group(group)
    names = list(old[0].get("labels", [])) if old is not None else []
    if name not in names or old is None:
        if name not in names:
            names.append(name)
        write_group(group, {"labels": names}, zarr_format)
