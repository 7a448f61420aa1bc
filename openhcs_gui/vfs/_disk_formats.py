"""File formats of the disk backend, chosen by extension.

Each format is a (writer, reader) pair: the writer streams into an open binary
file (the disk backend's atomic temp file), the reader takes a path. Kept apart
from :mod:`openhcs_gui.vfs.disk` so adding a format never touches the
atomic-write and error-mapping code.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from typing import IO, Any

from openhcs_gui._lazy import lazy_module
from openhcs_gui.errors import InvalidPathError
from openhcs_gui.metadata import PlateMetadata
from openhcs_gui.vfs._physical import imagej_unit, space_unit, to_micrometre
from openhcs_gui.vfs.keys import parse_image_name

np = lazy_module("numpy", globals())  # imported on first use: the desktop window shows before numpy loads

tifffile = lazy_module("tifffile", globals())  # imported on the first TIFF read or write, not at the app's start

__all__ = ["FORMATS", "SUPPORTED_EXTENSIONS", "Reader", "Writer", "tiff_writer"]

_INT_RE = re.compile(r"^[-+]?\d+$")
_FLOAT_RE = re.compile(r"^[-+]?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?$|^[-+]?(nan|inf|infinity)$", re.I)


def _write_tiff(fh: IO[bytes], data: Any) -> None:
    if not isinstance(data, np.ndarray):
        raise TypeError(f"a TIFF file holds a numpy array, got {type(data).__name__}")
    # minisblack: planes are never reinterpreted as RGB, so the shape round-trips.
    tifffile.imwrite(fh, data, photometric="minisblack")


#: dtypes an ImageJ hyperstack can hold (uint8, uint16, int16, float32).
_IMAGEJ_DTYPES = "BHhf"


def tiff_writer(meta: PlateMetadata | None, key: str) -> Writer:
    """The TIFF writer for ``key``, carrying pixel size, unit and channel name from ``meta``.

    Why ImageJ hyperstack metadata rather than OME-TIFF: Fiji opens an ImageJ
    TIFF directly (no Bio-Formats dialog) with its calibration in µm and the
    channel name as the slice label, and tifffile writes it with one call; a
    2-D plane needs nothing OME-XML adds. dtypes ImageJ cannot hold (float64,
    int32, bool, ...) get the same size as standard TIFF resolution tags in
    pixels per centimetre, with unit and channel in the JSON description.
    Unknown sizes and names are left out, never invented.
    """
    if meta is None:
        return _write_tiff
    unit = space_unit(meta)
    px = meta.pixel_size_x if unit is not None else None
    py = (meta.pixel_size_y or px) if px is not None else None
    try:
        label = meta.channel_name(parse_image_name(key).channel)
    except InvalidPathError:
        label = None
    if not (px and py) and not label:
        return _write_tiff

    def write(fh: IO[bytes], data: Any) -> None:
        if not isinstance(data, np.ndarray):
            raise TypeError(f"a TIFF file holds a numpy array, got {type(data).__name__}")
        if data.ndim == 2 and data.dtype.char in _IMAGEJ_DTYPES:
            md: dict[str, Any] = {"Labels": [label]} if label else {}
            if px and py:
                md["unit"] = imagej_unit(unit) or unit
                tifffile.imwrite(fh, data, imagej=True, resolution=(1 / px, 1 / py), metadata=md)
            else:
                tifffile.imwrite(fh, data, imagej=True, metadata=md)
            return
        extra: dict[str, Any] = {}
        md = {"channel": label} if label else {}
        um = to_micrometre(unit)
        if px and py and um:
            extra = {"resolution": (1e4 / (px * um), 1e4 / (py * um)),
                     "resolutionunit": "CENTIMETER"}
            md["unit"] = unit
        tifffile.imwrite(fh, data, photometric="minisblack", metadata=md, **extra)

    return write


def _read_tiff(path: str) -> np.ndarray:
    return np.asarray(tifffile.imread(path))


def _write_npy(fh: IO[bytes], data: Any) -> None:
    np.save(fh, np.asarray(data), allow_pickle=False)


def _read_npy(path: str) -> np.ndarray:
    return np.asarray(np.load(path, allow_pickle=False))


def _table_rows(data: Any) -> tuple[list[str], list[Mapping[str, Any]]]:
    if hasattr(data, "to_dict") and hasattr(data, "columns"):  # pandas DataFrame
        return [str(c) for c in data.columns], data.to_dict(orient="records")
    if isinstance(data, Sequence) and not isinstance(data, str | bytes) and all(
        isinstance(r, Mapping) for r in data
    ):
        fields = list(dict.fromkeys(str(k) for row in data for k in row))
        return fields, list(data)
    raise TypeError(f"a CSV file holds a table (list of dict rows or a DataFrame), got {type(data).__name__}")


def _write_csv(fh: IO[bytes], data: Any) -> None:
    fields, rows = _table_rows(data)
    text = io.TextIOWrapper(fh, encoding="utf-8", newline="")
    if fields:
        writer = csv.DictWriter(text, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    text.flush()
    text.detach()


def _parse_cell(value: str) -> Any:
    if _INT_RE.match(value):
        return int(value)
    if _FLOAT_RE.match(value):
        return float(value)
    return value


def _read_csv(path: str) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return [{k: _parse_cell(v) for k, v in row.items()} for row in csv.DictReader(fh)]


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _write_json(fh: IO[bytes], data: Any) -> None:
    fh.write(json.dumps(data, indent=2, default=_json_default).encode("utf-8"))


def _read_json(path: str) -> Any:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def _write_txt(fh: IO[bytes], data: Any) -> None:
    if not isinstance(data, str):
        raise TypeError(f"a .txt file holds a str, got {type(data).__name__}")
    fh.write(data.encode("utf-8"))


def _read_txt(path: str) -> str:
    with open(path, encoding="utf-8", newline="") as fh:
        return fh.read()


Writer = Callable[[IO[bytes], Any], None]
Reader = Callable[[str], Any]
FORMATS: dict[str, tuple[Writer, Reader]] = {
    ".tif": (_write_tiff, _read_tiff),
    ".tiff": (_write_tiff, _read_tiff),
    ".npy": (_write_npy, _read_npy),
    ".csv": (_write_csv, _read_csv),
    ".json": (_write_json, _read_json),
    ".txt": (_write_txt, _read_txt),
}
#: Extensions the disk backend reads and writes.
SUPPORTED_EXTENSIONS = tuple(FORMATS)
