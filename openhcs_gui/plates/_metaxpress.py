"""MetaXpress (ImageXpress) metadata: the plate's ``.HTD`` file and the MetaSeries TIFF description.

The ``.HTD`` ("HTSInfoFile") is a line-per-key text file of comma-separated
values with quoted keys, ``"HTSInfoFile", Version 1.0`` first and
``"EndFile"`` last. It says the physical plate (``XWells`` columns ×
``YWells`` rows), the wavelength names (``WaveName<n>``: the channel of
``_w<n>`` files) and the number of time points. MetaXpress writes it at the
plate root, exports put it in ``TimePoint_1/`` (layout of the public example
plates in fmi-faim/faim-ipa ``resources/ImageXpress_exported/*/TimePoint_1/9987.HTD``).

Every image's ImageDescription holds MetaSeries XML (``<MetaData>``, props
under ``<PlaneInfo>``) that tifffile parses: ``spatial-calibration-x/-y``
with ``spatial-calibration-units`` (``um``), ``_IllumSetting_`` (the
channel's setting name) and ``wavelength`` (the emission filter's centre, nm).
One header is read per plate. The writers make the same files for synthetic plates.
The description layout follows real MetaXpress/MetaMorph headers (``<MetaData>``
with ``Description``/``ApplicationName`` props, then ``<PlaneInfo>``), as
tifffile's ``metaseries_description_metadata`` reads them.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET
from xml.sax.saxutils import quoteattr

from openhcs_gui.metadata import ChannelInfo, PlateGeometry, PlateMetadata

__all__ = [
    "HtdInfo",
    "parse_htd",
    "pick_htd",
    "metaseries_props",
    "imagexpress_metadata",
    "write_htd",
    "metaseries_description",
]

#: MetaSeries ``spatial-calibration-units`` -> NGFF space unit.
_UNITS = {
    "um": "micrometer", "µm": "micrometer", "μm": "micrometer", "micron": "micrometer",
    "microns": "micrometer", "micrometer": "micrometer", "nm": "nanometer",
    "nanometer": "nanometer", "mm": "millimeter", "millimeter": "millimeter",
}
#: HTD ``PlateType`` codes seen in MetaXpress files (2 = 96 wells, 1 = 384 wells).
_PLATE_TYPE = {96: 2, 384: 1}


@dataclass
class HtdInfo:
    """What the plate index takes from a ``.HTD`` file."""

    plate_name: str | None = None
    geometry: PlateGeometry | None = None
    wave_names: dict[int, str] = field(default_factory=dict)
    timepoints: int | None = None


def _positive_int(values: Sequence[str]) -> int | None:
    try:
        n = int(values[0])
    except (IndexError, ValueError):
        return None
    return n if n > 0 else None


def parse_htd(path: str | os.PathLike[str]) -> HtdInfo:
    """Plate geometry, wavelength names and time points from a MetaXpress ``.HTD``.

    Raises
    ------
    ValueError
        When the file does not start with ``"HTSInfoFile"`` (the caller warns).
    OSError
        When it cannot be read.
    """
    raw = Path(path).read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:  # MetaXpress runs on Windows: cp1252 descriptions
        text = raw.decode("cp1252", errors="replace")
    rows = [r for r in csv.reader(text.splitlines(), skipinitialspace=True) if r]
    if not rows or rows[0][0].strip() != "HTSInfoFile":
        raise ValueError("not an HTD file (no \"HTSInfoFile\" header line)")
    values = {r[0].strip(): [v.strip() for v in r[1:]] for r in rows}
    info = HtdInfo(plate_name=Path(path).stem or None)
    cols, rws = _positive_int(values.get("XWells", [])), _positive_int(values.get("YWells", []))
    if cols and rws:
        info.geometry = PlateGeometry(rws, cols)
    for key, vals in values.items():
        if key.startswith("WaveName") and key[8:].isdigit() and vals and vals[0]:
            info.wave_names[int(key[8:])] = vals[0]
    info.timepoints = _positive_int(values.get("TimePoints", []))
    return info


def pick_htd(candidates: Sequence[str]) -> str | None:
    """The plate's own HTD: at the root or in a ``TimePoint_*``/``ZStep_*`` folder, shallowest first."""

    def ok(rel: str) -> bool:
        return all(f.lower().startswith(("timepoint_", "zstep_")) for f in rel.split("/")[:-1])

    usable = sorted((rel.count("/"), rel) for rel in candidates if ok(rel))
    return usable[0][1] if usable else None


def metaseries_props(description: str) -> dict[str, str] | None:
    """Flat ``{prop id: value}`` of a MetaSeries description (``<PlaneInfo>`` props included), or ``None``.

    Parsed here rather than with tifffile's ``metaseries_metadata``, which
    needs the ``Software`` tag to say ``MetaSeries`` and lives outside
    tifffile's public API; values stay strings.
    """
    text = description.strip()
    if not (text.startswith("<MetaData>") and text.endswith("</MetaData>")):
        return None
    try:
        root = ET.fromstring(text)
    except ET.ParseError:  # malformed XML in one header: metadata stays unknown
        return None
    props: dict[str, str] = {}
    for elem in root.iter("prop"):
        if "id" in elem.attrib:
            props.setdefault(elem.attrib["id"], elem.attrib.get("value", ""))
    return props


def _on(value: Any) -> bool:
    return value is True or str(value).strip().lower() in ("on", "true", "1")


def _float(value: Any) -> float | None:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if f > 0 else None


def imagexpress_metadata(
    htd: HtdInfo | None,
    props: Mapping[str, Any] | None,
    header_channel: int,
    channels: Sequence[int],
    timepoints: Sequence[int],
) -> PlateMetadata:
    """Merge the HTD and one image's MetaSeries props into a :class:`PlateMetadata`.

    ``header_channel`` is the channel of the image the props came from (its
    ``_IllumSetting_`` names that channel when the HTD does not, and its
    ``wavelength`` is that channel's emission). Only ``channels`` present in
    the plate are recorded.
    """
    names = dict(htd.wave_names) if htd else {}
    info: dict[int, ChannelInfo] = {c: ChannelInfo(name=names.get(c)) for c in channels}
    md = PlateMetadata(
        plate_name=htd.plate_name if htd else None,
        geometry=htd.geometry if htd else None,
        timepoints=tuple(timepoints) or (1,),
    )
    if props:
        unit = _UNITS.get(str(props.get("spatial-calibration-units", "")).strip().lower())
        x = _float(props.get("spatial-calibration-x"))
        y = _float(props.get("spatial-calibration-y")) or x
        if _on(props.get("spatial-calibration-state", "on")) and unit and x:
            md = md.with_(pixel_size_x=x, pixel_size_y=y, unit=unit)
        if header_channel in info:
            ch = info[header_channel]
            illum = str(props.get("_IllumSetting_") or "").strip() or None
            info[header_channel] = ChannelInfo(
                name=ch.name or illum, emission_nm=_float(props.get("wavelength"))
            )
    channel_info = {c: i for c, i in info.items() if i != ChannelInfo()}
    return md.with_(channels=channel_info)


def write_htd(
    path: str | os.PathLike[str],
    *,
    geometry: PlateGeometry,
    wells: Sequence[str],
    sites: int,
    z: int,
    wave_names: Sequence[str],
    plate_id: str,
    description: str = "",
    timepoints: int = 1,
) -> Path:
    """Write a MetaXpress-style ``.HTD`` (CRLF lines, as MetaXpress writes) and return its path.

    ``timepoints`` is the ``"TimePoints"`` count of a time-lapse plate, whose
    images MetaXpress writes into ``TimePoint_1/`` ... ``TimePoint_<n>/``.
    """
    from openhcs_gui.metadata import row_index
    from openhcs_gui.vfs.keys import split_well

    used = {(row_index(r), c) for r, c in map(split_well, wells)}

    def flags(n: int, on: Any) -> str:
        return ", ".join("TRUE" if on(i) else "FALSE" for i in range(n))

    lines = [
        '"HTSInfoFile", Version 1.0',
        f'"Description", "{description}"',
        *([f'"PlateType", {_PLATE_TYPE[geometry.n_wells]}'] if geometry.n_wells in _PLATE_TYPE else []),
        f'"TimePoints", {timepoints}',
        f'"ZSeries", {"TRUE" if z > 1 else "FALSE"}',
        f'"ZSteps", {z if z > 1 else 0}',
        '"ZProjection", FALSE',
        f'"XWells", {geometry.columns}',
        f'"YWells", {geometry.rows}',
        *(f'"WellsSelection{r + 1}", {flags(geometry.columns, lambda c, r=r: (r, c + 1) in used)}'
          for r in range(geometry.rows)),
        '"Sites", TRUE' if sites > 1 else '"Sites", FALSE',
        *([f'"XSites", {sites}', '"YSites", 1', f'"SiteSelection1", {flags(sites, lambda i: True)}']
          if sites > 1 else []),
        '"Waves", TRUE',
        f'"NWavelengths", {len(wave_names)}',
        *(f'"WaveName{i}", "{n}"' for i, n in enumerate(wave_names, 1)),
        *(f'"WaveCollect{i}", 1' for i in range(1, len(wave_names) + 1)),
        f'"UniquePlateIdentifier", "{plate_id}"',
        '"EndFile"',
    ]
    target = Path(path)
    target.write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-8"))
    return target


def metaseries_description(
    *,
    shape: tuple[int, int],
    bits: int,
    pixel_size_um: float,
    illum: str,
    wavelength_nm: float,
    stage_label: str,
    z_um: float,
) -> str:
    """A MetaSeries ``<MetaData>`` description as MetaXpress writes one per image plane."""

    def prop(pid: str, ptype: str, value: object) -> str:
        return f"<prop id={quoteattr(pid)} type={quoteattr(ptype)} value={quoteattr(str(value))}/>"

    lines = [
        "<MetaData>",
        prop("Description", "string", "OpenHCS synthetic plate\r\nBinning: 1 x 1"),
        prop("MetaDataVersion", "float", 1),
        prop("ApplicationName", "string", "MetaXpress"),
        prop("ApplicationVersion", "string", "openhcs-gui synthetic"),
        "<PlaneInfo>",
        prop("plane-type", "string", "plane"),
        prop("pixel-size-x", "int", shape[1]),
        prop("pixel-size-y", "int", shape[0]),
        prop("bits-per-pixel", "int", bits),
        prop("spatial-calibration-state", "bool", "on"),
        prop("spatial-calibration-x", "float", pixel_size_um),
        prop("spatial-calibration-y", "float", pixel_size_um),
        prop("spatial-calibration-units", "string", "um"),
        prop("image-name", "string", illum),
        prop("stage-label", "string", stage_label),
        prop("z-position", "float", f"{z_um:g}"),
        prop("wavelength", "float", f"{wavelength_nm:g}"),
        prop("camera-binning-x", "int", 1),
        prop("camera-binning-y", "int", 1),
        prop("_IllumSetting_", "string", illum),
        prop("_MagSetting_", "string", "20X Plan Apo Lambda"),
        "</PlaneInfo>",
        "</MetaData>",
    ]
    return "\r\n".join(lines)
