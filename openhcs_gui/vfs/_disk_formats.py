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

import numpy as np
import tifffile

__all__ = ["FORMATS", "SUPPORTED_EXTENSIONS", "Reader", "Writer"]

_INT_RE = re.compile(r"^[-+]?\d+$")
_FLOAT_RE = re.compile(r"^[-+]?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?$|^[-+]?(nan|inf|infinity)$", re.I)


def _write_tiff(fh: IO[bytes], data: Any) -> None:
    if not isinstance(data, np.ndarray):
        raise TypeError(f"a TIFF file holds a numpy array, got {type(data).__name__}")
    # minisblack: planes are never reinterpreted as RGB, so the shape round-trips.
    tifffile.imwrite(fh, data, photometric="minisblack")


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
