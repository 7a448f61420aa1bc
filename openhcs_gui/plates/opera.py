"""Opera Phenix / Operetta (Harmony export) folders.

Images are ``Images/r01c01f01p01-ch1sk1fk1fl1.tiff``: row, column, field
(site), plane (z), channel, then time point (``sk``, 1-based; ``ImageKey.t``)
and two flim indices. Every time point is indexed.
``Index.xml`` beside them (or at the plate root) gives the plate metadata
(pixel size, z spacing, channel names and wavelengths, plate geometry and
ID); without it the plate still opens, with metadata unknown.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path

from openhcs_gui.plates._headers import first_readable_header
from openhcs_gui.plates._opera_xml import INDEX_XML_NAMES, IndexXml, parse_index_xml
from openhcs_gui.plates.model import PlateIndex
from openhcs_gui.vfs.keys import ImageKey, well_name

__all__ = ["parse_opera_name", "find_index_xml", "index_opera"]

_NAME = re.compile(
    r"^r(?P<row>\d{2,3})c(?P<col>\d{2,3})f(?P<field>\d{1,4})p(?P<plane>\d{1,4})"
    r"-ch(?P<ch>\d+)sk(?P<sk>\d+)fk\d+fl\d+\.tiff?$",
    re.IGNORECASE,
)


def parse_opera_name(rel: str) -> tuple[ImageKey, int] | None:
    """``(key, time point)`` for an Opera image name, or ``None``.

    ``r02c03f04p01-ch2sk3fk1fl1.tiff`` -> ``(ImageKey("B03", 4, 2, 1, 3), 3)``.
    """
    m = _NAME.match(rel.rsplit("/", 1)[-1])
    if m is None:
        return None
    row, col = int(m["row"]), int(m["col"])
    site, z, ch, t = int(m["field"]), int(m["plane"]), int(m["ch"]), int(m["sk"])
    if min(row, col, site, z, ch, t) < 1 or row > 52:
        return None
    return ImageKey(well_name(row - 1, col), site, ch, z, t), t


def find_index_xml(root: Path, image_dirs: set[Path]) -> Path | None:
    """The Harmony index file in an image folder or at the plate root, if any."""
    for folder in [*sorted(image_dirs), root]:
        for name in INDEX_XML_NAMES:
            if (folder / name).is_file():
                return folder / name
    return None


def index_opera(
    root: Path, matches: Mapping[str, tuple[ImageKey, int]], warnings: list[str]
) -> PlateIndex:
    """Build the index from parsed names (see :func:`parse_opera_name`).

    Reads ``Index.xml`` (if present) and one TIFF header; nothing else is opened.
    """
    timepoints = sorted({t for _, t in matches.values()})
    images: dict[ImageKey, str] = {}
    for rel in sorted(matches):
        key, _ = matches[rel]
        if key in images:
            when = f" time point {key.t}" if len(timepoints) > 1 else ""
            warnings.append(f"{rel} ignored: another file is already well {key.well} "
                            f"site s{key.site} channel {key.channel} z {key.z}{when}")
            continue
        images[key] = str(root / rel)
    info = IndexXml()
    xml_path = find_index_xml(root, {Path(p).parent for p in images.values()})
    if xml_path is not None:
        try:
            info = parse_index_xml(xml_path)
        except (ET.ParseError, OSError, LookupError, ValueError) as e:  # LookupError: encoding=
            warnings.append(f"{xml_path} could not be read ({e}); channel names and "
                            "pixel size are unknown")
    _, (shape, dtype) = first_readable_header(images, warnings)
    return PlateIndex.build(
        root,
        "opera",
        images,
        shape,
        dtype,
        name=root.parent.name if root.name.lower() == "images" else root.name,
        metadata=info.to_metadata(sorted({k.channel for k in images}), timepoints),
        warnings=warnings,
    )
