"""Read and write the ``Index.xml`` an Opera Phenix (Harmony) export puts beside its images.

Only what the plate index needs is read: the pixel size (``ImageResolutionX``,
in metres) and the channel names, from the ``Maps/Map/Entry`` channel table
or, failing that, from the per-image records. Harmony versions differ in
their XML namespace (``.../HarmonyV5``, ``V6``...), so tags are matched by
local name. The writer makes a small but structurally faithful file for
synthetic plates and tests.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from openhcs_gui.vfs.keys import split_well

__all__ = ["IndexXml", "parse_index_xml", "write_index_xml", "INDEX_XML_NAMES"]

#: File names Harmony uses for the index, in order of preference.
INDEX_XML_NAMES = ("Index.xml", "Index.idx.xml", "Index.ref.xml")
_NS = "http://www.perkinelmer.com/PEHH/HarmonyV5"
_UNIT_TO_UM = {"m": 1e6, "mm": 1e3, "um": 1.0, "µm": 1.0, "nm": 1e-3}


@dataclass
class IndexXml:
    """What the plate index takes from ``Index.xml``."""

    pixel_size_um: float | None = None
    channel_names: dict[int, str] = field(default_factory=dict)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child_text(elem: ET.Element, name: str) -> tuple[str | None, ET.Element | None]:
    for child in elem:
        if _local(child.tag) == name:
            return (child.text or "").strip(), child
    return None, None


def _pixel_size(elem: ET.Element) -> float | None:
    text, node = _child_text(elem, "ImageResolutionX")
    if not text or node is None:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    unit = node.get("Unit", "m").strip()
    factor = _UNIT_TO_UM.get(unit)
    return value * factor if factor is not None and value > 0 else None


def parse_index_xml(path: str | os.PathLike[str]) -> IndexXml:
    """Pixel size (µm) and channel names from a Harmony ``Index.xml``.

    Raises
    ------
    xml.etree.ElementTree.ParseError
        When the file is not well-formed XML (the caller turns it into a warning).
    """
    root = ET.parse(path).getroot()
    info = IndexXml()
    # Channel table (Maps/Map/Entry ChannelID=...) first, then image records.
    candidates = [e for e in root.iter() if _local(e.tag) == "Entry" and e.get("ChannelID")]
    candidates += [e for e in root.iter() if _local(e.tag) == "Image"]
    for elem in candidates:
        cid = elem.get("ChannelID") or _child_text(elem, "ChannelID")[0]
        name = _child_text(elem, "ChannelName")[0]
        if cid and cid.isdigit() and name and int(cid) not in info.channel_names:
            info.channel_names[int(cid)] = name
        if info.pixel_size_um is None:
            info.pixel_size_um = _pixel_size(elem)
    return info


def _sub(parent: ET.Element, tag: str, text: object = None, **attrs: str) -> ET.Element:
    elem = ET.SubElement(parent, tag, attrs)
    if text is not None:
        elem.text = str(text)
    return elem


def write_index_xml(
    path: str | os.PathLike[str],
    *,
    wells: Sequence[str],
    sites: int,
    channels: int,
    z: int,
    shape: tuple[int, int],
    pixel_size_um: float,
    channel_names: dict[int, str],
) -> Path:
    """Write a Harmony-style ``Index.xml`` describing a plate's images; return its path."""
    ET.register_namespace("", _NS)
    root = ET.Element(f"{{{_NS}}}EvaluationInputData", {"Version": "2"})

    def q(tag: str) -> str:
        return f"{{{_NS}}}{tag}"

    _sub(root, q("User"), "openhcs-gui")
    _sub(root, q("InstrumentType"), "Phenix")
    plate = _sub(_sub(root, q("Plates")), q("Plate"))
    _sub(plate, q("PlateID"), "synthetic")
    _sub(plate, q("PlateTypeName"), "96well")
    _sub(plate, q("PlateRows"), 8)
    _sub(plate, q("PlateColumns"), 12)
    rc = {w: (ord(split_well(w)[0][-1]) - 64, split_well(w)[1]) for w in wells}
    for w in wells:
        _sub(plate, q("Well"), id=f"{rc[w][0]:02d}{rc[w][1]:02d}")
    maps = _sub(_sub(root, q("Maps")), q("Map"))
    res = f"{pixel_size_um * 1e-6:.17G}"
    for ch in range(1, channels + 1):
        entry = _sub(maps, q("Entry"), ChannelID=str(ch))
        _sub(entry, q("ChannelName"), channel_names.get(ch, f"Channel {ch}"))
        _sub(entry, q("ImageType"), "Signal")
        _sub(entry, q("AcquisitionType"), "NipkowConfocal")
        _sub(entry, q("ImageResolutionX"), res, Unit="m")
        _sub(entry, q("ImageResolutionY"), res, Unit="m")
        _sub(entry, q("ImageSizeX"), shape[1])
        _sub(entry, q("ImageSizeY"), shape[0])
        _sub(entry, q("ObjectiveMagnification"), 20, Unit="")
    images = _sub(root, q("Images"))
    for w in wells:
        r, c = rc[w]
        for f in range(1, sites + 1):
            for p in range(1, z + 1):
                for ch in range(1, channels + 1):
                    img = _sub(images, q("Image"), Version="1")
                    _sub(img, q("id"), f"{r:02d}{c:02d}K1F{f}P{p}R{ch}")
                    _sub(img, q("State"), "Ok")
                    _sub(img, q("URL"), f"r{r:02d}c{c:02d}f{f:02d}p{p:02d}-ch{ch}sk1fk1fl1.tiff")
                    for tag, val in (("Row", r), ("Col", c), ("FieldID", f), ("PlaneID", p),
                                     ("TimepointID", 0), ("ChannelID", ch)):
                        _sub(img, q(tag), val)
                    _sub(img, q("ChannelName"), channel_names.get(ch, f"Channel {ch}"))
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    ET.indent(root)
    ET.ElementTree(root).write(target, encoding="utf-8", xml_declaration=True)
    return target
