"""Opera Phenix (Harmony export) folders, with and without Index.xml."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from openhcs_gui.metadata import ChannelInfo, PlateGeometry
from openhcs_gui.plates import make_synthetic_plate, open_plate
from openhcs_gui.plates.opera import parse_opera_name
from openhcs_gui.vfs.keys import ImageKey

# Trimmed from a Harmony 4.9 export: namespace V6, a channel table in Maps and
# per-image records; resolution in metres.
INDEX_XML = """<?xml version="1.0" encoding="utf-8"?>
<EvaluationInputData xmlns:xsd="http://www.w3.org/2001/XMLSchema"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" Version="2"
    xmlns="http://www.perkinelmer.com/PEHH/HarmonyV6">
  <User>ANALYST</User>
  <InstrumentType>Phenix</InstrumentType>
  <Plates>
    <Plate>
      <PlateID>PLATE-0042</PlateID>
      <MeasurementID>7f3c2a10-6a1e-4b9e-9a55-2b1f4c7d8e90</MeasurementID>
      <PlateTypeName>384 PerkinElmer CellCarrier Ultra</PlateTypeName>
      <PlateRows>16</PlateRows>
      <PlateColumns>24</PlateColumns>
      <Well id="0101" />
      <Well id="0203" />
    </Plate>
  </Plates>
  <Maps>
    <Map>
      <Entry ChannelID="1">
        <ChannelName>HOECHST 33342</ChannelName>
        <ImageType>Signal</ImageType>
        <AcquisitionType>NipkowConfocal</AcquisitionType>
        <ImageResolutionX Unit="m">2.9899999999999998E-07</ImageResolutionX>
        <ImageResolutionY Unit="m">2.9899999999999998E-07</ImageResolutionY>
        <ImageSizeX>1080</ImageSizeX>
        <ImageSizeY>1080</ImageSizeY>
        <MainExcitationWavelength Unit="nm">375</MainExcitationWavelength>
        <MainEmissionWavelength Unit="nm">456</MainEmissionWavelength>
        <ObjectiveMagnification Unit="">40</ObjectiveMagnification>
        <ObjectiveNA Unit="">1.1</ObjectiveNA>
        <ExposureTime Unit="s">0.1</ExposureTime>
      </Entry>
      <Entry ChannelID="2">
        <ChannelName>Alexa 488</ChannelName>
        <ImageResolutionX Unit="m">2.9899999999999998E-07</ImageResolutionX>
      </Entry>
    </Map>
  </Maps>
  <Images>
    <Image Version="1">
      <id>0101K1F1P1R1</id>
      <State>Ok</State>
      <URL>r01c01f01p01-ch1sk1fk1fl1.tiff</URL>
      <Row>1</Row><Col>1</Col><FieldID>1</FieldID><PlaneID>1</PlaneID>
      <TimepointID>0</TimepointID><FlimID>1</FlimID><ChannelID>1</ChannelID>
      <ChannelName>HOECHST 33342</ChannelName>
    </Image>
  </Images>
</EvaluationInputData>
"""


def _names(wells: list[tuple[int, int]], fields: int, channels: int) -> list[str]:
    return [
        f"Images/r{r:02d}c{c:02d}f{f:02d}p01-ch{ch}sk1fk1fl1.tiff"
        for r, c in wells
        for f in range(1, fields + 1)
        for ch in range(1, channels + 1)
    ]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("r01c01f01p01-ch1sk1fk1fl1.tiff", (ImageKey("A01", 1, 1, 1), 1)),
        ("Images/r02c03f04p05-ch2sk3fk1fl1.tiff", (ImageKey("B03", 4, 2, 5, 3), 3)),
        ("r16c24f12p01-ch4sk1fk1fl1.TIFF", (ImageKey("P24", 12, 4, 1), 1)),
        ("r00c01f01p01-ch1sk1fk1fl1.tiff", None),
        ("r01c01f01p01-ch1.tiff", None),
        ("A01_s1_w1.tif", None),
    ],
)
def test_parse_names(name: str, expected: tuple[ImageKey, int] | None) -> None:
    assert parse_opera_name(name) == expected


def test_index_xml_gives_channel_names_and_pixel_size(tmp_path: Path, write_tiffs) -> None:
    write_tiffs(tmp_path, _names([(1, 1), (2, 3)], 2, 2))
    (tmp_path / "Images" / "Index.idx.xml").write_text(INDEX_XML, encoding="utf-8")
    index = open_plate(tmp_path)
    assert index.format == "opera"
    assert index.wells == ["A01", "B03"] and index.sites == [1, 2] and index.channels == [1, 2]
    assert index.channel_names == {1: "HOECHST 33342", 2: "Alexa 488"}
    assert index.pixel_size_um == pytest.approx(0.299)
    md = index.metadata
    assert md.unit == "micrometer" and md.pixel_size_y == pytest.approx(0.299)
    assert md.channels[1] == ChannelInfo("HOECHST 33342", excitation_nm=375.0, emission_nm=456.0)
    assert md.channels[2] == ChannelInfo("Alexa 488")
    assert md.geometry == PlateGeometry(16, 24) and md.plate_name == "PLATE-0042"
    assert md.timepoints == (1,) and md.z_spacing is None
    assert index.images[ImageKey("B03", 2, 2)] == str(
        tmp_path / "Images" / "r02c03f02p01-ch2sk1fk1fl1.tiff"
    )
    assert index.warnings == []


def test_works_without_index_xml(tmp_path: Path, write_tiffs) -> None:
    write_tiffs(tmp_path, _names([(1, 1)], 3, 1))
    index = open_plate(tmp_path)
    assert index.channel_names == {} and index.pixel_size_um is None
    assert index.metadata.geometry is None and index.metadata.plate_name == tmp_path.name
    assert index.n_images == 3 and index.shape == (8, 6)


def test_broken_index_xml_is_a_warning(tmp_path: Path, write_tiffs) -> None:
    write_tiffs(tmp_path, _names([(1, 1)], 1, 1))
    (tmp_path / "Images" / "Index.xml").write_text("<EvaluationInputData><Maps>", encoding="utf-8")
    index = open_plate(tmp_path)
    assert index.n_images == 1
    assert len(index.warnings) == 1 and "Index.xml could not be read" in index.warnings[0]


def test_missing_field_and_timepoint_warn(tmp_path: Path, write_tiffs) -> None:
    names = [n for n in _names([(1, 1), (1, 2)], 2, 1) if "r01c02f02" not in n]
    write_tiffs(tmp_path, [*names, "Images/r01c01f01p01-ch1sk2fk1fl1.tiff"])
    index = open_plate(tmp_path)
    assert index.images[ImageKey("A01", 1, 1, 1, 2)].endswith("r01c01f01p01-ch1sk2fk1fl1.tiff")
    assert index.warnings[0] == "site s2 missing for well A01 channel 1 time point 2"
    assert "site s2 missing for well A02 channel 1 time point 1" in index.warnings
    assert index.metadata.timepoints == (1, 2) and index.timepoints == [1, 2]


def test_synthetic_opera_plate_and_images_folder(tmp_path: Path) -> None:
    plate = make_synthetic_plate(
        tmp_path / "phenix", wells=["A01", "B02"], sites=2, channels=3, z=2,
        shape=(48, 48), layout="opera", dtype=np.uint8,
    )
    index = open_plate(plate)
    assert index.summary() == "opera · 2 wells × 2 sites × 3 channels × 2 z · 48×48 uint8"
    assert index.channel_names == {1: "DAPI", 2: "FITC", 3: "Texas Red"}
    assert index.pixel_size_um == pytest.approx(0.65)
    assert index.metadata.z_spacing == pytest.approx(2.0)
    assert index.metadata.geometry == PlateGeometry(8, 12) and index.metadata.plate_name == "phenix"
    assert index.metadata.channels[2].emission_nm == 536.0
    inner = open_plate(plate / "Images")
    assert inner.name == "phenix"
    assert inner.images == index.images


def test_index_xml_with_unknown_encoding_is_a_warning(tmp_path: Path, write_tiffs) -> None:
    # Issue 11 item 7: expat raises LookupError (not ParseError) for an encoding it does not know.
    write_tiffs(tmp_path, _names([(1, 1)], 2, 1))
    (tmp_path / "Images" / "Index.xml").write_text(
        INDEX_XML.replace('encoding="utf-8"', 'encoding="x-harmony-42"'), encoding="utf-8"
    )
    index = open_plate(tmp_path)
    assert index.n_images == 2 and index.channel_names == {}
    assert len(index.warnings) == 1
    assert "Index.xml could not be read (unknown encoding: x-harmony-42)" in index.warnings[0]


# Harmony 4 (Operetta) style: no channel table, everything in the per-image records, a
# z-stack of 3 planes 1.5 um apart (AbsPositionZ) and 2 time points 30 s apart
# (MeasurementTimeOffset); TimepointID counts from 0 while file names count sk from 1.
# Field names and units as Bio-Formats reads them (ome/bioformats OperettaReader.java:
# ImageResolutionX/Y and AbsPositionZ in metres, MeasurementTimeOffset in seconds).
HARMONY4_IMAGE = """<Image Version="1"><id>{r:02d}{c:02d}K{t}F1P{p}R{ch}</id><State>Ok</State>
<URL>r{r:02d}c{c:02d}f01p{p:02d}-ch{ch}sk{sk}fk1fl1.tiff</URL><Row>{r}</Row><Col>{c}</Col>
<FieldID>1</FieldID><PlaneID>{p}</PlaneID><TimepointID>{t}</TimepointID><FlimID>1</FlimID>
<ChannelID>{ch}</ChannelID><ChannelName>{name}</ChannelName><ImageType>Signal</ImageType>
<ImageResolutionX Unit="m">6.4999999999999994E-07</ImageResolutionX>
<ImageResolutionY Unit="m">6.4999999999999994E-07</ImageResolutionY>
<ImageSizeX>6</ImageSizeX><ImageSizeY>8</ImageSizeY>
<PositionX Unit="m">0.00032</PositionX><PositionY Unit="m">-0.00017</PositionY>
<PositionZ Unit="m">{z_rel:.6E}</PositionZ><AbsPositionZ Unit="m">{z_abs:.9E}</AbsPositionZ>
<MeasurementTimeOffset Unit="s">{offset}</MeasurementTimeOffset>
<AbsTime>2019-05-02T11:{minute:02d}:00.10+02:00</AbsTime>
<MainExcitationWavelength Unit="nm">{ex}</MainExcitationWavelength>
<MainEmissionWavelength Unit="nm">{em}</MainEmissionWavelength>
<ObjectiveMagnification Unit="">20</ObjectiveMagnification><ObjectiveNA Unit="">0.4</ObjectiveNA>
<ExposureTime Unit="s">0.2</ExposureTime></Image>"""


def test_harmony4_records_give_z_spacing_time_interval_and_wavelengths(tmp_path: Path, write_tiffs) -> None:
    channels = {1: ("DAPI", 365, 456), 2: ("Alexa 647", 650, 706)}
    records, names = [], []
    for t in (0, 1):
        for p in (1, 2, 3):
            for ch, (name, ex, em) in channels.items():
                records.append(HARMONY4_IMAGE.format(
                    r=2, c=5, t=t, sk=t + 1, p=p, ch=ch, name=name, ex=ex, em=em,
                    z_rel=(p - 2) * 1.5e-6, z_abs=0.0123 + (p - 1) * 1.5e-6,
                    offset=30 * t + 0.1 * ch, minute=t))
                names.append(f"Images/r02c05f01p{p:02d}-ch{ch}sk{t + 1}fk1fl1.tiff")
    write_tiffs(tmp_path, names)
    (tmp_path / "Images" / "Index.idx.xml").write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n<EvaluationInputData Version="1" '
        'xmlns="http://www.perkinelmer.com/PEHH/HarmonyV5"><User>u</User>'
        "<Plates><Plate><PlateID>OP-17</PlateID><Name>Screen 3</Name><PlateRows>8</PlateRows>"
        "<PlateColumns>12</PlateColumns></Plate></Plates><Images>"
        + "".join(records) + "</Images></EvaluationInputData>", encoding="utf-8")
    index = open_plate(tmp_path)
    md = index.metadata
    assert index.z_planes == [1, 2, 3] and md.timepoints == (1, 2)
    assert md.z_spacing == pytest.approx(1.5) and md.unit == "micrometer"
    assert md.pixel_size_x == pytest.approx(0.65)
    assert (md.time_interval, md.time_unit) == (pytest.approx(30.0), "second")
    assert md.channels == {1: ChannelInfo("DAPI", None, 365.0, 456.0),
                           2: ChannelInfo("Alexa 647", None, 650.0, 706.0)}
    assert md.plate_name == "Screen 3" and md.geometry == PlateGeometry(8, 12)
