"""Reading just enough of a plate's images: one TIFF header, and warnings about time points.

A plate is indexed from names plus *one* image header (shape, dtype and the
ImageDescription that carries instrument metadata). That header is taken
from the first image that parses, so a corrupt file costs its well, not the
plate.
"""

from __future__ import annotations

import heapq
import os
from collections.abc import Callable, Mapping
from typing import TypeVar

import numpy as np

from openhcs_gui.errors import PlateError
from openhcs_gui.vfs.keys import ImageKey

__all__ = ["read_tiff_header", "read_tiff_page", "first_readable_header", "timepoints_warning",
           "MAX_HEADER_TRIES"]

#: Unreadable images tried in a row before a plate is refused as "no readable image".
MAX_HEADER_TRIES = 20

_H = TypeVar("_H")


def first_readable_header(
    images: Mapping[ImageKey, str],
    warnings: list[str],
    read: Callable[[str], _H] | None = None,
) -> tuple[ImageKey, _H]:
    """``(key, header)`` of the first image (in key order) whose header ``read`` can parse.

    One corrupt file must not refuse a whole plate: each image that fails is
    named in ``warnings`` (its well then fails when it is processed) and the
    next one is tried.

    Parameters
    ----------
    images
        ``ImageKey -> path``.
    warnings
        Receives one sentence per unreadable image tried.
    read
        Header reader raising :class:`PlateError`; default :func:`read_tiff_header`.

    Raises
    ------
    PlateError
        When no image (of the first :data:`MAX_HEADER_TRIES`) can be read.
    """
    reader = read if read is not None else read_tiff_header
    first_error: PlateError | None = None
    for key in heapq.nsmallest(MAX_HEADER_TRIES, images):
        try:
            return key, reader(images[key])  # type: ignore[return-value]
        except PlateError as e:
            first_error = first_error or e
            warnings.append(f"{str(e).rstrip('.')}; well {key.well} will fail when it is processed")
    if first_error is None:
        raise PlateError("No images to read a header from.")
    if len(images) == 1:
        raise first_error
    tried = min(len(images), MAX_HEADER_TRIES)
    raise PlateError(f"No image of the plate can be read ({tried} of {len(images)} tried); "
                     f"the first: {str(first_error).rstrip('.')}.")


def timepoints_warning(timepoints: list[int], first: str) -> str:
    """The one warning for a plate whose later time points are recorded but not indexed."""
    if timepoints == list(range(timepoints[0], timepoints[-1] + 1)):
        listing = f"{timepoints[0]}–{timepoints[-1]}"
    else:
        listing = ", ".join(map(str, timepoints))
    return (f"plate has {len(timepoints)} time points ({listing}, recorded in its metadata); "
            f"only {first} is indexed and processed")


def read_tiff_header(path: str | os.PathLike[str]) -> tuple[tuple[int, int], np.dtype]:
    """Shape ``(y, x)`` and dtype of a TIFF's first page, without decoding pixels.

    Raises
    ------
    PlateError
        Naming the file when it is not a readable TIFF or not a 2-D grayscale image.
    """
    shape, dtype, _ = read_tiff_page(path)
    return shape, dtype


def read_tiff_page(path: str | os.PathLike[str]) -> tuple[tuple[int, int], np.dtype, str]:
    """Shape ``(y, x)``, dtype and ImageDescription (``""`` if none) of a TIFF's first page.

    No pixel is decoded. The description carries instrument metadata (MetaXpress
    writes MetaSeries XML there).

    Raises
    ------
    PlateError
        Naming the file when it is not a readable TIFF or not a 2-D grayscale image.
    """
    import tifffile  # looked up on the module so tests can count opens

    try:
        with tifffile.TiffFile(path) as tif:
            page = tif.pages[0]
            shape, dtype = tuple(page.shape), np.dtype(page.dtype)
            description = str(getattr(page, "description", "") or "")
    except Exception as e:  # tifffile raises several types for corrupt files
        raise PlateError(f"Cannot read the TIFF header of {path}: {e}.") from e
    if len(shape) != 2:
        raise PlateError(
            f"{path} holds an image of shape {shape}; plates need 2-D grayscale images."
        )
    return (int(shape[0]), int(shape[1])), dtype, description
