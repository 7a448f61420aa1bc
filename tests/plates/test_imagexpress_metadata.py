"""ImageXpress plate metadata from the .HTD file and one MetaSeries TIFF description (issue 12).

Layouts are copied from real MetaXpress output:

- HTD_3435 is the .HTD of the public example plate fmi-faim/faim-ipa
  ``resources/ImageXpress_exported/9987_Plate_3435/TimePoint_1/9987.HTD`` (ImageXpress at
  the ZMB: 6 time points, wells B02/B03, 2 sites, 4 wavelengths), verbatim except the
  Description's odd bytes. That export keeps the HTD in ``TimePoint_1/`` beside images named
  ``9987_B02_s1_w1.TIF``; MetaXpress itself writes it at the plate root.
- The MetaSeries description follows the plane headers MetaXpress writes (``<MetaData>``
  with Description/MetaDataVersion/ApplicationName props, then ``<PlaneInfo>``), as parsed
  by tifffile's ``metaseries_description_metadata``; the values (0.3417 um, DAPI,
  wavelength 447, 20X Plan Apo Lambda) are those of the ImageXpress test images in
  fmi-faim/faim-hcs ``tests/`` (``MIP-2P-2sub``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile

from openhcs_gui.metadata import ChannelInfo, PlateGeometry
from openhcs_gui.plates import make_demo_plate, open_plate
from openhcs_gui.vfs.keys import ImageKey

HTD_3435 = "\r\n".join([
    '"HTSInfoFile", Version 1.0',
    '"Description", "6t-2w-2s-4c-1z mixed DAPI: at all TPs FITC: at first TP"',
    '"PlateType", 2',
    '"TimePoints", 6',
    '"ZSeries", FALSE',
    '"ZSteps", 0',
    '"ZProjection", TRUE',
    '"XWells", 12',
    '"YWells", 8',
    '"WellsSelection1", FALSE, FALSE, FALSE, FALSE, FALSE, FALSE, FALSE, FALSE, FALSE, FALSE, FALSE, FALSE',
    '"WellsSelection2", FALSE, TRUE, TRUE, FALSE, FALSE, FALSE, FALSE, FALSE, FALSE, FALSE, FALSE, FALSE',
    *(f'"WellsSelection{r}", ' + ", ".join(["FALSE"] * 12) for r in range(3, 9)),
    '"Sites", TRUE',
    '"XSites", 2',
    '"YSites", 1',
    '"SiteSelection1", TRUE, TRUE',
    '"Waves", TRUE',
    '"NWavelengths", 4',
    '"WaveName1", "DAPI"',
    '"WaveName2", "FITC"',
    '"WaveName3", "Texas Red"',
    '"WaveName4", "Cy5"',
    '"WaveCollect1", 1',
    '"WaveCollect2", 1',
    '"WaveCollect3", 1',
    '"WaveCollect4", 1',
    '"UniquePlateIdentifier", "fe477428-69e1-4edb-94d1-4098a0f3a611"',
    '"EndFile"',
]) + "\r\n"


def metaseries(illum: str = "DAPI", *, x: str = "0.3417", units: str = "um", state: str = "on",
               wavelength: str = "447") -> str:
    return "\r\n".join([
        "<MetaData>",
        '<prop id="Description" type="string" value="Exposure: 20 ms&#13;&#10;Binning: 1 x 1"/>',
        '<prop id="MetaDataVersion" type="float" value="1"/>',
        '<prop id="ApplicationName" type="string" value="MetaXpress"/>',
        '<prop id="ApplicationVersion" type="string" value="6.7.2.290"/>',
        "<PlaneInfo>",
        '<prop id="plane-type" type="string" value="plane"/>',
        '<prop id="pixel-size-x" type="int" value="6"/>',
        '<prop id="pixel-size-y" type="int" value="8"/>',
        '<prop id="bits-per-pixel" type="int" value="16"/>',
        f'<prop id="spatial-calibration-state" type="bool" value="{state}"/>',
        f'<prop id="spatial-calibration-x" type="float" value="{x}"/>',
        f'<prop id="spatial-calibration-y" type="float" value="{x}"/>',
        f'<prop id="spatial-calibration-units" type="string" value="{units}"/>',
        f'<prop id="image-name" type="string" value="{illum}"/>',
        '<prop id="stage-label" type="string" value="B02 : Site 1"/>',
        '<prop id="z-position" type="float" value="9910.26"/>',
        f'<prop id="wavelength" type="float" value="{wavelength}"/>',
        f'<prop id="_IllumSetting_" type="string" value="{illum}"/>',
        '<prop id="_MagNA_" type="float" value="0.75"/>',
        '<prop id="_MagSetting_" type="string" value="20X Plan Apo Lambda"/>',
        '<custom-prop id="Exposure Time" type="string" value="20 ms"/>',
        "</PlaneInfo>",
        "</MetaData>",
    ])


def write_metaxpress(root: Path, names: list[str], description: str | None) -> None:
    """TIFFs as MetaXpress writes them: Software 'MetaSeries', the plane XML as ImageDescription."""
    for i, name in enumerate(names):
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        extra = {"description": description, "software": "MetaSeries", "metadata": None} if description else {}
        tifffile.imwrite(target, np.full((8, 6), i, np.uint16), photometric="minisblack", **extra)


# The files of 9987_Plate_3435 (faim-ipa) in its first three time points.
PLATE_3435 = [
    "TimePoint_1/9987_B02_s1_w1.TIF", "TimePoint_1/9987_B03_s1_w1.TIF", "TimePoint_1/9987_B03_s2_w4.TIF",
    "TimePoint_2/9987_B02_s1_w1.TIF", "TimePoint_2/9987_B02_s2_w2.TIF",
    "TimePoint_3/9987_B03_s1_w2.TIF",
]


def test_htd_and_metaseries_description_fill_the_metadata(tmp_path: Path) -> None:
    write_metaxpress(tmp_path, PLATE_3435, metaseries("DAPI"))
    (tmp_path / "TimePoint_1" / "9987.HTD").write_bytes(HTD_3435.encode())
    index = open_plate(tmp_path)
    md = index.metadata
    assert md.geometry == PlateGeometry(8, 12)
    assert (md.pixel_size_x, md.pixel_size_y, md.unit) == (0.3417, 0.3417, "micrometer")
    assert index.pixel_size_um == pytest.approx(0.3417)
    # every time point is indexed, so TimePoint_2's w2 (FITC) is a channel of the plate
    assert md.channels == {1: ChannelInfo(name="DAPI", emission_nm=447.0), 2: ChannelInfo(name="FITC"),
                           4: ChannelInfo(name="Cy5")}
    assert index.channel_names == {1: "DAPI", 2: "FITC", 4: "Cy5"}
    assert md.timepoints == (1, 2, 3) and md.plate_name == "9987"
    assert md.z_spacing is None and md.time_interval is None  # one header cannot say
    assert index.timepoints == [1, 2, 3] and index.images[ImageKey("B02", 2, 2, 1, 2)].endswith(
        "TimePoint_2/9987_B02_s2_w2.TIF")
    assert not any("time points" in w for w in index.warnings)


def test_illum_setting_names_the_channel_when_there_is_no_htd(tmp_path: Path) -> None:
    write_metaxpress(tmp_path, ["A01_s1_w1.tif", "A01_s1_w2.tif"], metaseries("FITC", wavelength="536"))
    index = open_plate(tmp_path)
    assert index.metadata.channels == {1: ChannelInfo(name="FITC", emission_nm=536.0)}
    assert index.metadata.geometry is None and index.metadata.plate_name == tmp_path.name


@pytest.mark.parametrize(("state", "units"), [("off", "um"), ("on", "pixel"), ("on", "")])
def test_uncalibrated_images_have_no_pixel_size(tmp_path: Path, state: str, units: str) -> None:
    write_metaxpress(tmp_path, ["A01_s1_w1.tif"], metaseries(state=state, units=units))
    md = open_plate(tmp_path).metadata
    assert md.pixel_size_x is None and md.unit is None and md.pixel_size_um is None


def test_plain_tiffs_leave_everything_unknown(tmp_path: Path) -> None:
    write_metaxpress(tmp_path, ["A01_s1_w1.tif", "A01_s1_w2.tif"], None)
    md = open_plate(tmp_path).metadata
    assert md.pixel_size_x is None and md.unit is None and md.channels == {}
    assert md.geometry is None and md.timepoints == (1,) and md.plate_name == tmp_path.name


def test_unreadable_or_foreign_htd_is_a_warning(tmp_path: Path) -> None:
    write_metaxpress(tmp_path, ["A01_s1_w1.tif"], metaseries())
    (tmp_path / "plate.HTD").write_text("NDInfoFile, Version 2.0\r\n")
    index = open_plate(tmp_path)
    assert index.warnings == ['plate.HTD could not be read (not an HTD file (no "HTSInfoFile" header '
                              'line)); plate geometry and channel names are unknown']
    assert index.metadata.geometry is None and index.pixel_size_um == pytest.approx(0.3417)


def test_htd_geometry_that_cannot_hold_the_wells_is_dropped(tmp_path: Path) -> None:
    write_metaxpress(tmp_path, ["H12_s1_w1.tif"], None)
    (tmp_path / "p.HTD").write_text(HTD_3435.replace('"YWells", 8', '"YWells", 4'))
    index = open_plate(tmp_path)
    assert index.metadata.geometry is None
    assert index.warnings == ["well H12 lies outside the 4×12 plate its metadata describes; "
                              "the plate geometry is unknown"]


def test_only_one_header_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_metaxpress(tmp_path, [f"A{c:02d}_s1_w1.tif" for c in range(1, 13)], metaseries())
    opened: list[str] = []
    real = tifffile.TiffFile

    def counting(path, *a, **k):
        opened.append(str(path))
        return real(path, *a, **k)

    monkeypatch.setattr(tifffile, "TiffFile", counting)
    assert open_plate(tmp_path).pixel_size_um == pytest.approx(0.3417)
    assert opened == [str(tmp_path / "A01_s1_w1.tif")]


def test_demo_plate_carries_micrometres_channel_names_and_96_wells(tmp_path: Path) -> None:
    index = open_plate(make_demo_plate(tmp_path / "demo"))
    md = index.metadata
    assert (md.pixel_size_x, md.pixel_size_y, md.unit) == (0.65, 0.65, "micrometer")
    assert index.channel_names == {1: "DAPI", 2: "FITC"}
    assert md.geometry == PlateGeometry(8, 12) and md.plate_name == "demo"
    assert index.warnings == []
    with tifffile.TiffFile(index.images[index.keys()[0]]) as tif:  # tifffile agrees on the format
        assert tif.is_metaseries and tif.metaseries_metadata["PlaneInfo"]["_IllumSetting_"] == "DAPI"
