"""Read and write the ``Index.xml`` an Opera Phenix (Harmony) export puts beside its images.

What the plate metadata needs is read: the pixel size (``ImageResolutionX/Y``,
in metres), channel names and main excitation/emission wavelengths (from the
``Maps/Map/Entry`` channel table or, failing that, from the per-image
records), the plate (``PlateID``/``Name``, ``PlateRows`` × ``PlateColumns``),
the z spacing (``AbsPositionZ`` between planes) and the time interval
(``MeasurementTimeOffset`` between time points). Harmony versions differ in
their XML namespace (``.../HarmonyV5``, ``V6``, a GUID path in V7), so tags
are matched by local name. The writer makes a small but structurally faithful
file for synthetic plates and tests.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from openhcs_gui.metadata import ChannelInfo, PlateGeometry, PlateMetadata, row_index
from openhcs_gui.vfs.keys import split_well

__all__ = ["IndexXml", "parse_index_xml", "write_index_xml", "INDEX_XML_NAMES"]

#: File names Harmony uses for the index, in order of preference.
INDEX_XML_NAMES = ("Index.xml", "Index.idx.xml", "Index.ref.xml")
_NS = "http://www.perkinelmer.com/PEHH/HarmonyV5"
_UNIT_TO_UM = {"m": 1e6, "mm": 1e3, "um": 1.0, "µm": 1.0, "nm": 1e-3}
_UNIT_TO_NM = {"nm": 1.0, "m": 1e9, "um": 1e3, "µm": 1e3}
_UNIT_TO_S = {"s": 1.0, "ms": 1e-3, "min": 60.0, "h": 3600.0}


@dataclass
class IndexXml:
    """What the plate index takes from ``Index.xml`` (sizes in µm, time in seconds)."""

    pixel_size_um: float | None = None
    pixel_size_y_um: float | None = None
    z_spacing_um: float | None = None
    time_interval_s: float | None = None
    channels: dict[int, ChannelInfo] = field(default_factory=dict)
    plate_name: str | None = None
    geometry: PlateGeometry | None = None

    @property
    def channel_names(self) -> dict[int, str]:
        """Channel number -> ``ChannelName``."""
        return {c: i.name for c, i in sorted(self.channels.items()) if i.name}

    def to_metadata(self, channels: Iterable[int], timepoints: Iterable[int]) -> PlateMetadata:
        """The plate metadata for the ``channels`` and ``timepoints`` (``sk``) found on disk."""
        size = self.pixel_size_um
        known = size is not None or self.z_spacing_um is not None
        return PlateMetadata(
            plate_name=self.plate_name,
            pixel_size_x=size,
            pixel_size_y=self.pixel_size_y_um or size,
            z_spacing=self.z_spacing_um,
            unit="micrometer" if known else None,
            time_interval=self.time_interval_s,
            time_unit="second" if self.time_interval_s is not None else None,
            channels={c: self.channels[c] for c in channels if c in self.channels},
            timepoints=tuple(timepoints) or (1,),
            geometry=self.geometry,
        )


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


_Fields = dict[str, ET.Element]


def _fields(elem: ET.Element) -> _Fields:
    """Child elements by local tag name (first of each)."""
    out: _Fields = {}
    for child in elem:
        out.setdefault(_local(child.tag), child)
    return out


def _text(f: _Fields, name: str) -> str | None:
    node = f.get(name)
    return (node.text or "").strip() or None if node is not None else None


def _quantity(f: _Fields, name: str, units: dict[str, float], default: str) -> float | None:
    """``<name Unit="...">value</name>`` converted by ``units`` (``None`` if absent or unknown)."""
    node, text = f.get(name), _text(f, name)
    if node is None or text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    factor = units.get(node.get("Unit", default).strip())
    return value * factor if factor is not None else None


def _positive(value: float | None) -> float | None:
    return value if value is not None and value > 0 else None


def _int(f: _Fields, name: str) -> int | None:
    text = _text(f, name)
    return int(text) if text and text.lstrip("-").isdigit() else None


def _median_step(values: list[float]) -> float | None:
    steps = sorted(abs(b - a) for a, b in zip(values, values[1:], strict=False) if b != a)
    return steps[len(steps) // 2] if steps else None


def _channel(f: _Fields, known: ChannelInfo | None) -> ChannelInfo:
    known = known or ChannelInfo()
    return ChannelInfo(
        name=known.name or _text(f, "ChannelName"),
        color=known.color,
        excitation_nm=known.excitation_nm
        or _positive(_quantity(f, "MainExcitationWavelength", _UNIT_TO_NM, "nm")),
        emission_nm=known.emission_nm
        or _positive(_quantity(f, "MainEmissionWavelength", _UNIT_TO_NM, "nm")),
    )


def _plate(root: ET.Element, info: IndexXml) -> None:
    plate = next((e for e in root.iter() if _local(e.tag) == "Plate"), None)
    if plate is None:
        return
    f = _fields(plate)
    info.plate_name = _text(f, "Name") or _text(f, "PlateID")
    rows, cols = _int(f, "PlateRows"), _int(f, "PlateColumns")
    if rows and cols and rows > 0 and cols > 0:
        info.geometry = PlateGeometry(rows, cols)


def parse_index_xml(path: str | os.PathLike[str]) -> IndexXml:
    """Pixel size, z spacing, time interval, channels and plate from a Harmony ``Index.xml``.

    Channels come from the ``Maps/Map/Entry`` channel table (Harmony 5+;
    several ``Map`` blocks, only some naming channels), then from per-image
    records (Harmony 4). The z spacing is the ``AbsPositionZ`` (or
    ``PositionZ``) step between the planes of one field; the time interval
    the ``MeasurementTimeOffset`` step between time points.

    Raises
    ------
    xml.etree.ElementTree.ParseError, LookupError
        When the file is not well-formed XML or names an unknown encoding
        (the caller turns both into a warning).
    """
    root = ET.parse(path).getroot()
    info = IndexXml()
    _plate(root, info)
    entries = [(e, _fields(e)) for e in root.iter() if _local(e.tag) == "Entry" and e.get("ChannelID")]
    images = [(e, _fields(e)) for e in root.iter() if _local(e.tag) == "Image" and len(e)]
    planes: dict[tuple[int | None, ...], dict[int, float]] = {}
    offsets: dict[int, list[float]] = {}
    for elem, f in [*entries, *images]:
        cid = elem.get("ChannelID") or _text(f, "ChannelID")
        if cid and cid.isdigit():
            info.channels[int(cid)] = _channel(f, info.channels.get(int(cid)))
        if info.pixel_size_um is None:
            info.pixel_size_um = _positive(_quantity(f, "ImageResolutionX", _UNIT_TO_UM, "m"))
            info.pixel_size_y_um = _positive(_quantity(f, "ImageResolutionY", _UNIT_TO_UM, "m"))
    for _, f in images:
        where = tuple(_int(f, t) for t in ("Row", "Col", "FieldID", "ChannelID", "TimepointID"))
        plane = _int(f, "PlaneID")
        z = _quantity(f, "AbsPositionZ", _UNIT_TO_UM, "m")
        z = z if z is not None else _quantity(f, "PositionZ", _UNIT_TO_UM, "m")
        if plane is not None and z is not None:
            planes.setdefault(where, {})[plane] = z
        t, offset = where[4], _quantity(f, "MeasurementTimeOffset", _UNIT_TO_S, "s")
        if t is not None and offset is not None:
            offsets.setdefault(t, []).append(offset)
    stack = next((p for p in planes.values() if len(p) > 1), None)
    if stack:
        info.z_spacing_um = _median_step([stack[k] for k in sorted(stack)])
    if len(offsets) > 1:
        info.time_interval_s = _median_step([min(offsets[t]) for t in sorted(offsets)])
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
    z: int,
    shape: tuple[int, int],
    pixel_size_um: float,
    channels: Mapping[int, ChannelInfo],
    geometry: PlateGeometry,
    plate_id: str = "synthetic",
    z_step_um: float = 2.0,
    timepoints: int = 1,
    time_interval_s: float = 60.0,
) -> Path:
    """Write a Harmony-style ``Index.xml`` describing a plate's images; return its path.

    Layout as Harmony 5+ writes it: plate block (``PlateID``, ``PlateRows``,
    ``PlateColumns``), a ``Maps/Map/Entry`` channel table (name, resolution in
    metres, excitation/emission in nm) and one ``Image`` record per file with
    ``TimepointID`` counted from 0 (files ``sk1`` ... ``sk<timepoints>``, record ids
    ``...K<n>...``), ``MeasurementTimeOffset`` ``time_interval_s`` apart and
    ``AbsPositionZ`` in metres.
    """
    ET.register_namespace("", _NS)
    root = ET.Element(f"{{{_NS}}}EvaluationInputData", {"Version": "2"})

    def q(tag: str) -> str:
        return f"{{{_NS}}}{tag}"

    _sub(root, q("User"), "openhcs-gui")
    _sub(root, q("InstrumentType"), "Phenix")
    plate = _sub(_sub(root, q("Plates")), q("Plate"))
    _sub(plate, q("PlateID"), plate_id)
    _sub(plate, q("PlateTypeName"), f"{geometry.n_wells}well")
    _sub(plate, q("PlateRows"), geometry.rows)
    _sub(plate, q("PlateColumns"), geometry.columns)
    rc = {w: (row_index(split_well(w)[0]) + 1, split_well(w)[1]) for w in wells}
    for w in wells:
        _sub(plate, q("Well"), id=f"{rc[w][0]:02d}{rc[w][1]:02d}")
    maps = _sub(_sub(root, q("Maps")), q("Map"))
    res = f"{pixel_size_um * 1e-6:.17G}"
    for ch, info in sorted(channels.items()):
        entry = _sub(maps, q("Entry"), ChannelID=str(ch))
        _sub(entry, q("ChannelName"), info.name or f"Channel {ch}")
        _sub(entry, q("ImageType"), "Signal")
        _sub(entry, q("AcquisitionType"), "NipkowConfocal")
        _sub(entry, q("ImageResolutionX"), res, Unit="m")
        _sub(entry, q("ImageResolutionY"), res, Unit="m")
        _sub(entry, q("ImageSizeX"), shape[1])
        _sub(entry, q("ImageSizeY"), shape[0])
        if info.excitation_nm:
            _sub(entry, q("MainExcitationWavelength"), f"{info.excitation_nm:g}", Unit="nm")
        if info.emission_nm:
            _sub(entry, q("MainEmissionWavelength"), f"{info.emission_nm:g}", Unit="nm")
        _sub(entry, q("ObjectiveMagnification"), 20, Unit="")
    images = _sub(root, q("Images"))
    records = ((w, f, p, t, ch, info) for w in wells for t in range(1, timepoints + 1)
               for f in range(1, sites + 1) for p in range(1, z + 1) for ch, info in sorted(channels.items()))
    for w, f, p, t, ch, info in records:
        r, c = rc[w]
        img = _sub(images, q("Image"), Version="1")
        _sub(img, q("id"), f"{r:02d}{c:02d}K{t}F{f}P{p}R{ch}")
        _sub(img, q("State"), "Ok")
        _sub(img, q("URL"), f"r{r:02d}c{c:02d}f{f:02d}p{p:02d}-ch{ch}sk{t}fk1fl1.tiff")
        for tag, val in (("Row", r), ("Col", c), ("FieldID", f), ("PlaneID", p),
                         ("TimepointID", t - 1), ("ChannelID", ch)):
            _sub(img, q(tag), val)
        _sub(img, q("ChannelName"), info.name or f"Channel {ch}")
        z_m = (p - 1) * z_step_um * 1e-6
        _sub(img, q("PositionZ"), f"{z_m:.17G}", Unit="m")
        _sub(img, q("AbsPositionZ"), f"{0.135 + z_m:.17G}", Unit="m")
        _sub(img, q("MeasurementTimeOffset"), f"{(t - 1) * time_interval_s:g}", Unit="s")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    ET.indent(root)
    ET.ElementTree(root).write(target, encoding="utf-8", xml_declaration=True)
    return target
