"""``PlateIndex``: what a plate holds and where each image lives, as plain data.

Readers turn an instrument's folder into this one model; the planner, the
runner and the GUI only ever see the model. It holds paths, never pixels or
open files, so it pickles, round-trips through JSON (:meth:`PlateIndex.to_dict`)
and can be sent to a worker process of a future dask executor.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from openhcs_gui.constants import Backend
from openhcs_gui.errors import PlateError
from openhcs_gui.vfs.keys import ImageKey, split_well

__all__ = [
    "PlateIndex",
    "well_sort_key",
    "missing_image_warnings",
    "read_tiff_header",
    "first_readable_header",
]

_H = TypeVar("_H")

#: Missing images listed one by one before the rest are summarized.
MAX_LISTED_MISSING = 20
#: Unreadable images tried in a row before a plate is refused as "no readable image".
MAX_HEADER_TRIES = 20


def well_sort_key(well: str) -> tuple[int, str, int]:
    """Plate order: A01, A02, ..., B01, ..., Z.., AA01 (short row names first)."""
    row, col = split_well(well)
    return len(row), row, col


@dataclass
class PlateIndex:
    """Index of one plate: its dimensions and a path for every ``ImageKey``.

    Attributes
    ----------
    path
        Folder (or ``.zarr`` store) the plate was read from.
    format
        ``"imagexpress"``, ``"opera"``, ``"omezarr"`` or ``"workspace"``.
    name
        Plate name, used for the ``<name>_workspace`` output folder.
    wells, sites, channels, z_planes
        Sorted values present in the plate (wells in plate order).
    shape, dtype
        Size ``(y, x)`` and pixel type of every image (read from one header).
    images
        ``ImageKey -> path`` in :attr:`backend`; load with
        ``FileManager.load(path, backend)``.
    backend
        Where the paths in :attr:`images` live (``DISK`` or ``ZARR``).
    channel_names
        Channel number -> name, when the instrument records it.
    pixel_size_um
        Pixel size in micrometres, when known.
    warnings
        Problems that leave the plate usable (missing sites, ignored files).
    """

    path: Path
    format: str
    name: str
    wells: list[str]
    sites: list[int]
    channels: list[int]
    z_planes: list[int]
    shape: tuple[int, int]
    dtype: np.dtype
    images: dict[ImageKey, str]
    backend: Backend = Backend.DISK
    channel_names: dict[int, str] = field(default_factory=dict)
    pixel_size_um: float | None = None
    warnings: list[str] = field(default_factory=list)
    _by_well: dict[str, list[ImageKey]] | None = field(
        default=None, init=False, repr=False, compare=False
    )
    _by_well_of: tuple[int, int] = field(default=(0, -1), init=False, repr=False, compare=False)

    @classmethod
    def build(
        cls,
        path: str | os.PathLike[str],
        format: str,
        images: Mapping[ImageKey, str],
        shape: tuple[int, int],
        dtype: np.dtype | str,
        *,
        name: str | None = None,
        backend: Backend = Backend.DISK,
        channel_names: Mapping[int, str] | None = None,
        pixel_size_um: float | None = None,
        warnings: Iterable[str] = (),
    ) -> PlateIndex:
        """Make an index from its image map, deriving the axes and missing-image warnings.

        Raises
        ------
        PlateError
            When ``images`` is empty.
        """
        root = Path(path)
        if not images:
            raise PlateError(f"No images found in {root}.")
        keys = sorted(images)
        index = cls(
            path=root,
            format=format,
            name=name or root.name,
            wells=sorted({k.well for k in keys}, key=well_sort_key),
            sites=sorted({k.site for k in keys}),
            channels=sorted({k.channel for k in keys}),
            z_planes=sorted({k.z for k in keys}),
            shape=(int(shape[0]), int(shape[1])),
            dtype=np.dtype(dtype),
            images={k: images[k] for k in keys},
            backend=Backend(backend),
            channel_names=dict(channel_names or {}),
            pixel_size_um=pixel_size_um,
            warnings=list(warnings),
        )
        index.warnings.extend(missing_image_warnings(index))
        return index

    def keys(
        self,
        well: str | None = None,
        site: int | None = None,
        channel: int | None = None,
        z: int | None = None,
    ) -> list[ImageKey]:
        """Sorted keys of the images matching every given component (``None`` = any).

        ``keys(well=...)`` looks the well up in an index built once (the runner
        asks for every well, so scanning all images per call would cost
        wells × images).
        """
        candidates: Iterable[ImageKey]
        if well is not None:
            candidates = self._well_keys().get(well, [])
            if site is None and channel is None and z is None:
                return list(candidates)
        else:
            candidates = self.images
        return sorted(
            k
            for k in candidates
            if (well is None or k.well == well)
            and (site is None or k.site == site)
            and (channel is None or k.channel == channel)
            and (z is None or k.z == z)
        )

    def _well_keys(self) -> dict[str, list[ImageKey]]:
        """Well -> sorted keys, rebuilt only when :attr:`images` was replaced or resized."""
        source = (id(self.images), len(self.images))
        if self._by_well is None or self._by_well_of != source:
            by_well: dict[str, list[ImageKey]] = {}
            for key in sorted(self.images):
                by_well.setdefault(key.well, []).append(key)
            self._by_well, self._by_well_of = by_well, source
        return self._by_well

    @property
    def n_images(self) -> int:
        """Number of images indexed."""
        return len(self.images)

    def summary(self) -> str:
        """One line for a status bar or ``openhcs-gui info``."""
        n = len(self.warnings)
        tail = f" · {n} warning{'s' if n != 1 else ''}" if n else ""
        return (
            f"{self.format} · {_plural(len(self.wells), 'well')} × "
            f"{_plural(len(self.sites), 'site')} × {_plural(len(self.channels), 'channel')} × "
            f"{len(self.z_planes)} z · {self.shape[1]}×{self.shape[0]} {self.dtype}{tail}"
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (provenance files, worker messages)."""
        return {
            "path": str(self.path),
            "format": self.format,
            "name": self.name,
            "wells": list(self.wells),
            "sites": list(self.sites),
            "channels": list(self.channels),
            "z_planes": list(self.z_planes),
            "shape": list(self.shape),
            "dtype": self.dtype.str,
            "backend": self.backend.value,
            "channel_names": {str(k): v for k, v in self.channel_names.items()},
            "pixel_size_um": self.pixel_size_um,
            "warnings": list(self.warnings),
            "images": [[k.well, k.site, k.channel, k.z, p] for k, p in self.images.items()],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PlateIndex:
        """Rebuild an index written by :meth:`to_dict` (no file is read).

        Raises
        ------
        PlateError
            When a field is missing or malformed.
        """
        try:
            images = {
                ImageKey(str(w), int(s), int(c), int(z)): str(p) for w, s, c, z, p in data["images"]
            }
            return cls(
                path=Path(data["path"]),
                format=str(data["format"]),
                name=str(data["name"]),
                wells=[str(w) for w in data["wells"]],
                sites=[int(s) for s in data["sites"]],
                channels=[int(c) for c in data["channels"]],
                z_planes=[int(z) for z in data["z_planes"]],
                shape=(int(data["shape"][0]), int(data["shape"][1])),
                dtype=np.dtype(data["dtype"]),
                images=images,
                backend=Backend(data.get("backend", "disk")),
                channel_names={int(k): str(v) for k, v in data.get("channel_names", {}).items()},
                pixel_size_um=data.get("pixel_size_um"),
                warnings=[str(w) for w in data.get("warnings", [])],
            )
        except (KeyError, TypeError, ValueError) as e:
            raise PlateError(f"Plate index data is malformed: {type(e).__name__}: {e}.") from e


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def missing_image_warnings(index: PlateIndex) -> list[str]:
    """One sentence per image missing from the full wells × sites × channels × z grid."""
    messages: list[str] = []
    missing = 0
    multi_z = len(index.z_planes) > 1
    for well in index.wells:
        for site in index.sites:
            for channel in index.channels:
                for z in index.z_planes:
                    if ImageKey(well, site, channel, z) in index.images:
                        continue
                    missing += 1
                    if missing <= MAX_LISTED_MISSING:
                        where = f" z {z}" if multi_z else ""
                        messages.append(
                            f"site s{site} missing for well {well} channel {channel}{where}"
                        )
    if missing > MAX_LISTED_MISSING:
        messages.append(f"… and {missing - MAX_LISTED_MISSING} more missing images "
                        f"({missing} in total)")
    return messages


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
    for n, key in enumerate(sorted(images)):
        if n >= MAX_HEADER_TRIES:
            break
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


def read_tiff_header(path: str | os.PathLike[str]) -> tuple[tuple[int, int], np.dtype]:
    """Shape ``(y, x)`` and dtype of a TIFF's first page, without decoding pixels.

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
    except Exception as e:  # tifffile raises several types for corrupt files
        raise PlateError(f"Cannot read the TIFF header of {path}: {e}.") from e
    if len(shape) != 2:
        raise PlateError(
            f"{path} holds an image of shape {shape}; plates need 2-D grayscale images."
        )
    return (int(shape[0]), int(shape[1])), dtype
