"""Issue 12 "Done when", end to end: three vendor plates through the demo pipeline, opened as a user would.

Input plates, each in the layout its instrument or library writes:

* Opera Phenix (Harmony export): ``Images/r01c01f01p01-ch1sk1fk1fl1.tiff`` + ``Images/Index.xml``
  with the channel table and ``ImageResolutionX/Y`` in metres (Harmony 5+ ``Index.idx.xml``
  layout, as read by Bio-Formats' ``OperettaReader``), written by :func:`make_synthetic_plate`.
* ImageXpress (MetaXpress) time-lapse with 3 time points: ``<plate>.HTD`` (``XWells``/``YWells``,
  ``WaveName<n>``, ``"TimePoints", 3``; cf. fmi-faim/faim-ipa
  ``resources/ImageXpress_exported/9987_Plate_3435/``) and ``TimePoint_<t>/A01_s1_w1.tif``
  images whose MetaSeries description carries ``spatial-calibration-x/y`` and units.
* OME-Zarr HCS plate written by ome-zarr-py itself (``write_plate_metadata`` /
  ``write_well_metadata`` / ``write_image`` with ``axes_units`` and ``scale``, a 2-level pyramid
  and ``omero`` channel labels beside it), holding the pixels of a synthetic plate.

Each goes through ``resources/demo_pipeline.json`` (its last step, the nucleus counts, to
OME-Zarr NGFF 0.4 and 0.5, and once to TIFF). A user then sees: the store validates with
ome-zarr-models; napari-ome-zarr's reader gives a µm scale, the plate's channel names, a
Labels layer whose objects are the nuclei (the ground-truth count), and a multiscale pyramid
for both; tifffile reads every TIFF's pixel size in µm (the ImageJ / TIFF-tag choice in
docs/contracts.md "Physical metadata in outputs").
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import tifffile
import zarr

from openhcs_gui.config import GlobalPipelineConfig
from openhcs_gui.pipeline import run_pipeline
from openhcs_gui.pipeline.demo import load_demo_pipeline
from openhcs_gui.plates import open_plate
from openhcs_gui.plates.synthetic import (
    CHANNEL_NAMES,
    PIXEL_SIZE_UM,
    make_synthetic_plate,
    read_ground_truth,
)

WELLS = ["A01", "B02"]
SITES = 2
SHAPE = (512, 512)  # the default pyramid halves until <= 128 px: 512, 256, 128
ZARR_NAMES = {1: "Hoechst 33342", 2: "Phalloidin"}  # only the OME-Zarr input says these


@dataclass(frozen=True)
class Plate:
    """An input plate and what a user knows about it."""

    path: Path
    truth: dict[tuple[str, int], int]
    channel_names: dict[int, str]
    timepoints: int


def _ome_zarr_py_plate(tmp: Path) -> Plate:
    """The pixels of a synthetic plate, written as an NGFF 0.4 HCS plate by ome-zarr-py."""
    from ome_zarr.format import FormatV04
    from ome_zarr.writer import write_image, write_plate_metadata, write_well_metadata

    src = make_synthetic_plate(tmp / "src", wells=WELLS, sites=SITES, channels=2, shape=SHAPE, seed=11)
    fmt = FormatV04()
    root = zarr.open_group(str(tmp / "screen.zarr"), mode="w", zarr_format=2)
    # a 96-well plate, as the instrument would say: rows A-H, columns 1-12
    write_plate_metadata(root, list("ABCDEFGH"), [str(c) for c in range(1, 13)],
                         [f"{w[0]}/{int(w[1:])}" for w in WELLS], name="screen", fmt=fmt)
    omero = {"channels": [{"label": n, "color": c, "window": {"start": 0, "end": 4095, "min": 0, "max": 65535}}
                          for n, c in zip(ZARR_NAMES.values(), ("0000FF", "FF0000"), strict=True)]}
    for well in WELLS:
        wg = root.require_group(f"{well[0]}/{int(well[1:])}")
        write_well_metadata(wg, [str(f) for f in range(SITES)], fmt=fmt)
        for site in range(1, SITES + 1):
            stack = np.stack([tifffile.imread(src / "TimePoint_1" / f"{well}_s{site}_w{c}.tif")[None]
                              for c in (1, 2)])
            image = wg.require_group(str(site - 1))
            write_image(stack, image, axes="czyx", fmt=fmt, scale_factors=[2], method="nearest",
                        axes_units={"z": "micrometer", "y": "micrometer", "x": "micrometer"},
                        scale={"c": 1.0, "z": 2.0, "y": PIXEL_SIZE_UM, "x": PIXEL_SIZE_UM})
            image.attrs["omero"] = omero  # write_image drops its omero metadata in ome-zarr 0.18
    return Plate(tmp / "screen.zarr", read_ground_truth(src), ZARR_NAMES, 1)


@pytest.fixture(scope="module", params=["opera", "imagexpress_3t", "ome_zarr"])
def plate(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Plate:
    tmp = tmp_path_factory.mktemp(request.param)
    if request.param == "ome_zarr":
        made = _ome_zarr_py_plate(tmp)
    else:
        layout, timepoints = ("opera", 1) if request.param == "opera" else ("imagexpress", 3)
        path = make_synthetic_plate(tmp / "plate", wells=WELLS, sites=SITES, channels=2, shape=SHAPE,
                                    seed=11, layout=layout, timepoints=timepoints)
        made = Plate(path, read_ground_truth(path), {c: CHANNEL_NAMES[c] for c in (1, 2)}, timepoints)
    index = open_plate(made.path)  # the reader found what the vendor files say
    assert index.warnings == [] and index.timepoints == list(range(1, made.timepoints + 1))
    assert index.metadata.pixel_size_um == pytest.approx(PIXEL_SIZE_UM)
    assert index.channel_names == made.channel_names
    assert (index.metadata.geometry.rows, index.metadata.geometry.columns) == (8, 12)
    return made


def _cfg(out: Path, version: str = "0.4") -> GlobalPipelineConfig:
    cfg = GlobalPipelineConfig(num_workers=2)
    cfg.materialization_defaults.output_path = out
    cfg.zarr.ngff_version = version  # default pyramid
    return cfg


@pytest.fixture(scope="module", params=["0.4", "0.5"])
def store(request: pytest.FixtureRequest, plate: Plate,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The demo pipeline's OME-Zarr output (the count step's store) for ``plate``."""
    result = run_pipeline(load_demo_pipeline(), plate.path, _cfg(tmp_path_factory.mktemp("out"), request.param))
    assert result.status.value == "completed", result.errors
    yield Path(result.step("count").image_dir)


def _fields(store: Path) -> list[tuple[str, int, Path]]:
    return [(w, s, store / w[0] / str(int(w[1:])) / str(s - 1)) for w in WELLS for s in range(1, SITES + 1)]


def test_zarr_output_validates_with_ome_zarr_models(store: Path) -> None:
    version = "0.5" if (store / "zarr.json").is_file() else "0.4"
    if version == "0.4":
        from ome_zarr_models.v04 import HCS, Image, ImageLabel, Labels, Well
    else:
        from ome_zarr_models.v05 import HCS, Image, ImageLabel, Labels, Well  # type: ignore[assignment]
    fmt = 2 if version == "0.4" else 3

    def group(path: Path) -> zarr.Group:
        return zarr.open_group(str(path), mode="r", zarr_format=fmt)

    hcs = HCS.from_zarr(group(store))
    plate = hcs.attributes.ome.plate if version == "0.5" else hcs.attributes.plate  # type: ignore[union-attr]
    assert plate is not None and (len(plate.rows), len(plate.columns)) == (8, 12)  # the physical plate
    assert sorted(w.path for w in plate.wells) == ["A/1", "B/2"]
    for well in WELLS:
        Well.from_zarr(group(store / well[0] / str(int(well[1:]))))
    for _well, _site, field in _fields(store):
        Image.from_zarr(group(field))
        Labels.from_zarr(group(field / "labels"))
        ImageLabel.from_zarr(group(field / "labels" / "count"))


def _layers(path: Path) -> list[tuple[object, dict, str]]:
    from napari_ome_zarr._reader import napari_get_reader

    reader = napari_get_reader(str(path))
    assert reader is not None, f"napari-ome-zarr does not open {path}"
    return list(reader(str(path)))


def test_napari_ome_zarr_shows_micrometres_channel_names_labels_and_a_pyramid(store: Path, plate: Plate) -> None:
    for well, site, field in _fields(store):
        layers = _layers(field)
        kinds = sorted(kind for _d, _m, kind in layers)
        assert kinds == ["image", "labels"], kinds
        image_data, image_meta, _ = next(x for x in layers if x[2] == "image")
        labels_data, labels_meta, _ = next(x for x in layers if x[2] == "labels")
        # µm scale on y/x, on the image and on the labels
        for meta in (image_meta, labels_meta):
            assert list(meta["units"][-2:]) == ["micrometer", "micrometer"]
            assert meta["scale"][-2:] == pytest.approx([PIXEL_SIZE_UM, PIXEL_SIZE_UM])
        # the plate's channel names
        assert [name.split(": ")[-1] for name in image_meta["name"]] == list(plate.channel_names.values())
        # a multiscale pyramid for both, each level half the size of the one above
        for data in (image_data, labels_data):
            assert isinstance(data, list) and [lvl.shape[-2:] for lvl in data] == [SHAPE, (256, 256), (128, 128)]
        # the labels are the nuclei: one label per nucleus of the ground truth, at every time point
        full = np.asarray(labels_data[0])
        assert np.issubdtype(full.dtype, np.integer)
        t_axis = "t" in labels_meta["axis_labels"]
        assert t_axis == (plate.timepoints > 1)
        per_time = full if t_axis else full[None]
        assert per_time.shape[:3] == (plate.timepoints, 2, 1)
        for t in range(plate.timepoints):
            dapi = per_time[t, 0, 0]
            assert len(np.unique(dapi[dapi > 0])) == plate.truth[(well, site)], (well, site, t)


def test_napari_ome_zarr_plate_view_has_channel_names_and_labels(store: Path, plate: Plate) -> None:
    layers = _layers(store)
    kinds = sorted(kind for _d, _m, kind in layers)
    assert kinds == ["image", "labels"], kinds
    _data, meta, _ = next(x for x in layers if x[2] == "image")
    assert [name.split(": ")[-1] for name in meta["name"]] == list(plate.channel_names.values())
    assert meta["scale"][-2:] == pytest.approx([PIXEL_SIZE_UM, PIXEL_SIZE_UM])


def _pixel_size_um(path: Path) -> float:
    """The x pixel size in µm as a TIFF reader gets it (docs/contracts.md, "Physical metadata")."""
    with tifffile.TiffFile(path) as tif:
        page = tif.pages[0]
        num, den = page.tags["XResolution"].value
        if tif.is_imagej:  # ImageJ: pixels per `unit`, the unit in the ImageJ description
            assert tif.imagej_metadata["unit"] == "um"
            return den / num
        assert page.tags["ResolutionUnit"].value == tifffile.RESUNIT.CENTIMETER
        return den / num * 1e4


def test_tiff_output_reads_in_micrometres_with_channel_names(plate: Plate, tmp_path: Path) -> None:
    pipeline = load_demo_pipeline()
    pipeline[-1].backend = "disk"
    pipeline[1].force_disk_output = True  # the background-subtracted intensity images too
    result = run_pipeline(pipeline, plate.path, _cfg(tmp_path))
    assert result.status.value == "completed", result.errors
    n_images = len(WELLS) * SITES * 2 * plate.timepoints
    for step, suffix in (("background", ".tif"), ("count", "_labels.tif")):
        files = sorted(Path(result.step(step).folder).glob(f"*{suffix}"))
        files = [f for f in files if suffix != ".tif" or not f.name.endswith("_labels.tif")]
        assert len(files) == n_images, (step, [f.name for f in files])
        for f in files:
            assert _pixel_size_um(f) == pytest.approx(PIXEL_SIZE_UM, rel=1e-6), f.name
    intensity = sorted(Path(result.step("background").folder).glob("*_w2_*.tif"))[0]
    with tifffile.TiffFile(intensity) as tif:  # Fiji's slice label: the plate's channel name
        assert tif.is_imagej and tif.imagej_metadata["Labels"] == plate.channel_names[2]
