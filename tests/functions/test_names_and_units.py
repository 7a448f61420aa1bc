"""Functions in a biologist's words: display names, search, lengths in µm with a px fallback."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from pydantic import Field, create_model
from test_segmentation import touching_field

from openhcs_gui import FunctionStep, GlobalPipelineConfig, Pipeline
from openhcs_gui.errors import PipelineError
from openhcs_gui.functions import (
    get_function,
    list_functions,
    register_function,
    search,
    segment_cells,
    segment_nuclei,
    subtract_background,
)
from openhcs_gui.functions.filters import background_radius
from openhcs_gui.metadata import PlateMetadata
from openhcs_gui.plates import make_synthetic_plate, open_plate
from openhcs_gui.plates.synthetic import PIXEL_SIZE_UM

BUILTINS = ["count_objects", "gaussian_blur", "max_projection", "mean_projection", "measure_quality",
            "normalize_percentile", "segment_cells", "segment_nuclei", "stitch_sites", "subtract_background",
            "threshold_and_measure"]


# ----------------------------------------------------------------- names and search
def test_search_finds_functions_by_the_words_a_biologist_types() -> None:
    assert search("nuclei")[0].name == "segment_nuclei"
    assert {f.name for f in search("segment")[:2]} == {"segment_nuclei", "segment_cells"}
    assert search("background")[0].name == "subtract_background"
    assert {"segment_nuclei", "segment_cells", "count_objects"} <= {f.name for f in search("count")}
    assert search("Find NUCLEI")[0].name == "segment_nuclei"  # the display name, any case
    assert search("grow cells")[0].name == "segment_cells"
    assert [f.name for f in search("subtract background")] == ["subtract_background"]
    assert search("z-stack")[0].name in {"max_projection", "mean_projection"}
    assert search("no such thing") == []
    assert [f.name for f in search("  ")] == [f.name for f in list_functions()]


@pytest.mark.parametrize("name", BUILTINS)
def test_every_builtin_has_a_display_name_category_keywords_and_a_readable_paragraph(name: str) -> None:
    entry = get_function(name)
    assert entry.display_name != name and "_" not in entry.display_name and entry.display_name[0].isupper()
    assert entry.category in {"filter", "projection", "measure", "assemble", "segmentation", "quality"}
    assert len(entry.keywords) >= 4
    assert len(entry.description) >= 150, entry.description  # a paragraph, not a line
    assert "``" not in entry.description and ":func:" not in entry.description and "\n" not in entry.description


def test_display_names_read_as_tasks() -> None:
    names = {f.name: f.display_name for f in list_functions()}
    assert names["segment_nuclei"] == "Find nuclei"
    assert names["segment_cells"] == "Grow cells from nuclei"
    assert names["subtract_background"] == "Subtract background"


def test_a_plugin_gives_its_own_display_name_and_keywords(clean_registry: None) -> None:
    @register_function("test_speckles", category="test", display_name="Find speckles", keywords=("foci", "PML"))
    def speckles(stack: np.ndarray) -> np.ndarray:
        """Find nuclear speckles."""
        return stack

    assert search("pml")[0].display_name == "Find speckles"
    assert search("foci")[0].name == "test_speckles"

    @register_function("test_plain", category="test")
    def plain(stack: np.ndarray) -> np.ndarray:
        """No display name given."""
        return stack

    assert get_function("test_plain").display_name == "Test plain"
    with pytest.raises(TypeError, match="keywords must be a list of words"):
        register_function("test_bad", keywords="foci")(plain)


# ------------------------------------------------------------------ lengths in µm
LENGTHS = {
    "segment_nuclei": ("diameter_um", "diameter_px"),
    "segment_cells": ("diameter_um", "diameter_px"),
    "subtract_background": ("object_diameter_um", "object_diameter_px"),
}


@pytest.mark.parametrize("name", sorted(LENGTHS))
def test_lengths_show_their_unit_in_the_form_and_the_pixel_size_is_no_form_field(name: str) -> None:
    entry = get_function(name)
    assert "pixel_size_um" not in entry.parameters and "pixel_size_um" in entry.context
    # the form builder turns the parameters into a pydantic model (ui/forms.py): the titles carry the unit
    model = create_model("Form", **{k: (p.annotation, Field(p.default)) for k, p in entry.parameters.items()})
    um, px = LENGTHS[name]
    assert model.model_fields[um].title.endswith("(µm)")
    assert "(px, when the plate has no pixel size)" in model.model_fields[px].title


def test_diameter_in_um_uses_the_pixel_size_and_px_is_the_fallback() -> None:
    image, _, count = touching_field(0, 16.0)
    by_px = segment_nuclei(image[np.newaxis], diameter_px=16.0)[0]
    by_um = segment_nuclei(image[np.newaxis], diameter_um=8.0, diameter_px=40.0, pixel_size_um=0.5)[0]
    np.testing.assert_array_equal(by_um, by_px)
    assert abs(int(by_um.max()) - count) <= 0.05 * count
    no_size = segment_nuclei(image[np.newaxis], diameter_um=100.0, diameter_px=16.0)[0]
    np.testing.assert_array_equal(no_size, by_px)  # µm ignored without a pixel size
    field = np.stack([image, image])
    a = segment_cells(field, diameter_um=8.0, pixel_size_um=0.5)[0]
    np.testing.assert_array_equal(a, segment_cells(field, diameter_px=16.0)[0])


@pytest.mark.parametrize("func", [segment_nuclei, segment_cells])
def test_a_um_diameter_too_small_in_pixels_is_one_sentence_naming_the_parameter(func) -> None:  # type: ignore[no-untyped-def]
    stack = np.zeros((2, 16, 16), np.uint16)
    with pytest.raises(ValueError) as info:
        func(stack, diameter_um=1.0, pixel_size_um=0.65)
    assert str(info.value) == (f"{func.__name__}: parameter diameter_um=1 µm is 1.5 px at 0.65 µm per pixel; "
                               "it must come to 3 to 500 px.")


def test_background_radius_is_sized_from_the_object_diameter() -> None:
    assert background_radius(9.0, 14.0, PIXEL_SIZE_UM) == 28  # 9 µm = 13.8 px; radius 2x
    assert background_radius(9.0, 14.0, None) == 28
    assert background_radius(9.0, 5.0, None) == 10
    with pytest.raises(ValueError, match=r"parameter object_diameter_um=200 µm is 307.7 px .* 1 to 125 px"):
        background_radius(200.0, 14.0, PIXEL_SIZE_UM)


def test_background_subtraction_never_erodes_objects_of_the_given_diameter() -> None:
    yy, xx = np.mgrid[:320, :320]
    tilt = 200 + 1.0 * xx  # uneven illumination: 320 counts from left to right
    disc = ((yy - 160) ** 2 + (xx - 160) ** 2 <= 20**2) * 1000.0  # a 40 px object
    image = (tilt + disc).astype(np.uint16)[np.newaxis]
    out = subtract_background(image, object_diameter_px=40)[0].astype(float)
    inside = disc > 0
    assert out[inside].mean() == pytest.approx(1000, rel=0.05)  # the object keeps its brightness
    assert np.percentile(out[~inside], 50) < 5 and np.percentile(out[~inside], 95) < 80  # the tilt is gone
    # what the old demo default did: a radius (20 px) no larger than the object wipes it out
    small = subtract_background(image, object_diameter_px=10)[0].astype(float)
    assert small[inside].mean() < 0.1 * 1000


# --------------------------------------------------- the engine passes the pixel size
@register_function("test_records_pixel_size", category="test", overwrite=True)
def records_pixel_size(stack: np.ndarray, pixel_size_um: float | None = None) -> tuple[np.ndarray, dict]:
    """Write the pixel size the engine passed into a table."""
    return stack, {"seen": [{"index": 0, "pixel_size_um": "" if pixel_size_um is None else pixel_size_um}]}


@pytest.fixture(scope="module")
def one_well(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hook") / "plate"
    return make_synthetic_plate(root, wells=["A01"], sites=1, channels=1, shape=(64, 64))


def _seen(plate, tmp_path: Path, **kwargs) -> object:  # type: ignore[no-untyped-def]
    cfg = GlobalPipelineConfig(num_workers=1)
    cfg.materialization_defaults.output_path = tmp_path
    result = Pipeline([FunctionStep(records_pixel_size, name="seen", backend="disk", **kwargs)]).run(plate, cfg)
    assert result.status.value == "completed", result.errors
    return result.get_table(0, "seen")[0]["pixel_size_um"]


def test_the_engine_passes_the_plates_pixel_size_to_functions_that_declare_it(one_well: Path, tmp_path: Path) -> None:
    index = open_plate(one_well)
    assert index.metadata.pixel_size_um == pytest.approx(PIXEL_SIZE_UM)
    assert _seen(index, tmp_path / "a") == pytest.approx(PIXEL_SIZE_UM)
    unknown = dataclasses.replace(index, metadata=PlateMetadata())
    assert _seen(unknown, tmp_path / "b") == ""  # unknown stays unknown: None, never 1 µm
    assert _seen(index, tmp_path / "c", pixel_size_um=2.0) == 2.0  # a step's own value wins


# ------------------------------------------------------- every declared bound is enforced
BOUNDS = [(name, param, lo, hi) for name in BUILTINS
          for param, (lo, hi) in get_function(name).bounds().items()]


def test_every_length_and_new_parameter_declares_a_range() -> None:
    declared = {(n, p) for n, p, *_ in BOUNDS}
    assert {("segment_nuclei", "diameter_um"), ("segment_cells", "diameter_um"),
            ("subtract_background", "object_diameter_um"), ("subtract_background", "object_diameter_px"),
            ("measure_quality", "background_percentile")} <= declared


@pytest.mark.parametrize(("name", "param", "lo", "hi"), BOUNDS, ids=[f"{n}.{p}" for n, p, *_ in BOUNDS])
def test_a_value_outside_a_declared_range_is_one_line_naming_the_parameter(name: str, param: str, lo, hi) -> None:  # type: ignore[no-untyped-def]
    func = get_function(name).func
    integer = isinstance(get_function(name).defaults()[param], int)
    for bad, word in ((lo, "greater than"), (hi, "less than")):
        if bad is None:
            continue
        value = (bad - 1 if bad is lo else bad + 1) if integer else (bad - 0.01 if bad is lo else bad + 0.01)
        with pytest.raises(PipelineError) as info:
            FunctionStep(func, name="s", **{param: value})
        message = str(info.value)
        assert "\n" not in message and f"{name}() parameter '{param}'={value!r}" in message and word in message
