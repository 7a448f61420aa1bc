"""``PlateIndex``: what a plate holds and where each image lives, as plain data.

Readers turn an instrument's folder into this one model; the planner, the
runner and the GUI only ever see the model. It holds paths, never pixels or
open files, so it pickles, round-trips through JSON (:meth:`PlateIndex.to_dict`)
and can be sent to a worker process of a future dask executor.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from openhcs_gui.constants import Backend
from openhcs_gui.errors import PlateError
from openhcs_gui.metadata import ChannelInfo, PlateMetadata, row_index
from openhcs_gui.plates._headers import read_tiff_header  # noqa: F401  (public here since 0.1)
from openhcs_gui.vfs.keys import ImageKey, split_well

__all__ = ["PlateIndex", "well_sort_key", "missing_image_warnings", "read_tiff_header"]

#: Missing images listed one by one before the rest are summarized.
MAX_LISTED_MISSING = 20


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
    wells, sites, channels, z_planes, timepoints
        Sorted values present in the plate (wells in plate order); time
        points are ``ImageKey.t`` values (``[1]`` for a single acquisition).
    shape, dtype
        Size ``(y, x)`` and pixel type of every image (read from one header).
    images
        ``ImageKey -> path`` in :attr:`backend`; load with
        ``FileManager.load(path, backend)``.
    backend
        Where the paths in :attr:`images` live (``DISK`` or ``ZARR``).
    metadata
        What the instrument's own files say about the pixels: pixel size and
        unit, channel names/wavelengths/colours, time points, plate geometry
        and name (:class:`~openhcs_gui.metadata.PlateMetadata`; ``None`` =
        not recorded). :attr:`channel_names` and :attr:`pixel_size_um` are
        views of it.
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
    metadata: PlateMetadata = field(default_factory=PlateMetadata)
    warnings: list[str] = field(default_factory=list)
    timepoints: list[int] = field(default_factory=lambda: [1])
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
        metadata: PlateMetadata | None = None,
        channel_names: Mapping[int, str] | None = None,
        pixel_size_um: float | None = None,
        warnings: Iterable[str] = (),
    ) -> PlateIndex:
        """Make an index from its image map, deriving the axes and missing-image warnings.

        ``channel_names`` and ``pixel_size_um`` (µm), when given, are merged
        into ``metadata``; its ``plate_name`` defaults to the index name.

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
            timepoints=sorted({k.t for k in keys}),
            shape=(int(shape[0]), int(shape[1])),
            dtype=np.dtype(dtype),
            images={k: images[k] for k in keys},
            backend=Backend(backend),
            metadata=metadata or PlateMetadata(),
            warnings=list(warnings),
        )
        if channel_names:
            index.channel_names = channel_names
        if pixel_size_um is not None:
            index.pixel_size_um = pixel_size_um
        if index.metadata.timepoints == (1,) and index.timepoints != [1]:  # names carry _t<n>
            index.metadata = index.metadata.with_(timepoints=tuple(index.timepoints))
        if index.metadata.plate_name is None:
            index.metadata = index.metadata.with_(plate_name=index.name)
        geo = index.metadata.geometry
        outside = [w for w in index.wells if geo and not _on_plate(w, geo.rows, geo.columns)]
        if geo and outside:
            index.warnings.append(f"well {outside[0]} lies outside the {geo.rows}×{geo.columns} "
                                  "plate its metadata describes; the plate geometry is unknown")
            index.metadata = index.metadata.with_(geometry=None)
        index.warnings.extend(missing_image_warnings(index))
        return index

    @property
    def channel_names(self) -> Mapping[int, str]:
        """Channel number -> name, when the instrument records it (read-only view of :attr:`metadata`)."""
        return MappingProxyType(
            {c: info.name for c, info in sorted(self.metadata.channels.items()) if info.name}
        )

    @channel_names.setter
    def channel_names(self, names: Mapping[int, str]) -> None:
        channels = dict(self.metadata.channels)
        for c, info in channels.items():
            channels[c] = replace(info, name=None)
        for c, name in names.items():
            channels[int(c)] = replace(channels.get(int(c), ChannelInfo()), name=str(name))
        self.metadata = self.metadata.with_(channels=channels)

    @property
    def pixel_size_um(self) -> float | None:
        """X pixel size in micrometres, when known (a view of :attr:`metadata`)."""
        return self.metadata.pixel_size_um

    @pixel_size_um.setter
    def pixel_size_um(self, size: float | None) -> None:
        md = self.metadata
        if size is None:
            unit = md.unit if md.z_spacing is not None else None
            self.metadata = md.with_(pixel_size_x=None, pixel_size_y=None, unit=unit)
            return
        z = md.z_spacing
        if z is not None and md.unit not in (None, "micrometer"):
            factor = _to_um(md.unit)
            z = z * factor if factor is not None else None
        self.metadata = md.with_(pixel_size_x=float(size), pixel_size_y=float(size), z_spacing=z,
                                 unit="micrometer")

    def keys(
        self,
        well: str | None = None,
        site: int | None = None,
        channel: int | None = None,
        z: int | None = None,
        t: int | None = None,
    ) -> list[ImageKey]:
        """Sorted keys of the images matching every given component (``None`` = any).

        ``keys(well=...)`` looks the well up in an index built once (the runner
        asks for every well, so scanning all images per call would cost
        wells × images).
        """
        candidates: Iterable[ImageKey]
        if well is not None:
            candidates = self._well_keys().get(well, [])
            if site is None and channel is None and z is None and t is None:
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
            and (t is None or k.t == t)
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
        times = f" × {_plural(len(self.timepoints), 'time point')}" if len(self.timepoints) > 1 else ""
        return (
            f"{self.format} · {_plural(len(self.wells), 'well')} × "
            f"{_plural(len(self.sites), 'site')} × {_plural(len(self.channels), 'channel')} × "
            f"{len(self.z_planes)} z{times} · {self.shape[1]}×{self.shape[0]} {self.dtype}{tail}"
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
            "timepoints": list(self.timepoints),
            "shape": list(self.shape),
            "dtype": self.dtype.str,
            "backend": self.backend.value,
            "metadata": self.metadata.to_dict(),
            "channel_names": {str(k): v for k, v in self.channel_names.items()},
            "pixel_size_um": self.pixel_size_um,
            "warnings": list(self.warnings),
            "images": [[k.well, k.site, k.channel, k.z, k.t, p] for k, p in self.images.items()],
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
            images = dict(_image_entry(row) for row in data["images"])
            if isinstance(data.get("metadata"), Mapping):
                metadata = PlateMetadata.from_dict(data["metadata"])
            else:  # written before the metadata model: names and µm only
                size = data.get("pixel_size_um")
                metadata = PlateMetadata(
                    pixel_size_x=size, pixel_size_y=size, unit="micrometer" if size else None,
                    channels={int(k): ChannelInfo(name=str(v))
                              for k, v in (data.get("channel_names") or {}).items()},
                )
            return cls(
                path=Path(data["path"]),
                format=str(data["format"]),
                name=str(data["name"]),
                wells=[str(w) for w in data["wells"]],
                sites=[int(s) for s in data["sites"]],
                channels=[int(c) for c in data["channels"]],
                z_planes=[int(z) for z in data["z_planes"]],
                timepoints=[int(t) for t in data.get("timepoints", [1])],
                shape=(int(data["shape"][0]), int(data["shape"][1])),
                dtype=np.dtype(data["dtype"]),
                images=images,
                backend=Backend(data.get("backend", "disk")),
                metadata=metadata,
                warnings=[str(w) for w in data.get("warnings", [])],
            )
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise PlateError(f"Plate index data is malformed: {type(e).__name__}: {e}.") from e


def _image_entry(row: Sequence[Any]) -> tuple[ImageKey, str]:
    """``[well, site, channel, z, t, path]`` (or the older ``[well, site, channel, z, path]``)."""
    *parts, path = row
    if len(parts) not in (4, 5):
        raise ValueError(f"image entry {list(row)!r} is not [well, site, channel, z, t, path]")
    well, *numbers = parts
    return ImageKey(str(well), *(int(n) for n in numbers)), str(path)


def _on_plate(well: str, rows: int, columns: int) -> bool:
    row, col = split_well(well)
    return row_index(row) < rows and 1 <= col <= columns


def _to_um(unit: str | None) -> float | None:
    """Micrometres per ``unit`` (an NGFF space unit name), or ``None`` if unknown."""
    return PlateMetadata(pixel_size_x=1.0, unit=unit).pixel_size_um if unit else None


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def missing_image_warnings(index: PlateIndex) -> list[str]:
    """One sentence per image missing from the full wells × sites × channels × z × time grid."""
    messages: list[str] = []
    missing = 0
    multi_z = len(index.z_planes) > 1
    multi_t = len(index.timepoints) > 1
    for well in index.wells:
        for site in index.sites:
            for channel in index.channels:
                for z in index.z_planes:
                    for t in index.timepoints:
                        if ImageKey(well, site, channel, z, t) in index.images:
                            continue
                        missing += 1
                        if missing <= MAX_LISTED_MISSING:
                            where = (f" z {z}" if multi_z else "") + (f" time point {t}" if multi_t else "")
                            messages.append(
                                f"site s{site} missing for well {well} channel {channel}{where}"
                            )
    if missing > MAX_LISTED_MISSING:
        messages.append(f"… and {missing - MAX_LISTED_MISSING} more missing images "
                        f"({missing} in total)")
    return messages
