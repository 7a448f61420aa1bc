"""The form generator: FieldSpec and the type map as tables, then live two-way forms."""

from __future__ import annotations

import enum
import inspect
from pathlib import Path
from typing import Literal

import pytest
from psygnal import EventedModel
from pydantic import BaseModel, ConfigDict, Field, field_validator
from PySide6.QtCore import Qt

from openhcs_gui.config import GlobalPipelineConfig, ZarrConfig, effective_value, save_config
from openhcs_gui.constants import Backend, MaterializationBackend, ZarrCompressor
from openhcs_gui.ui.editors import (
    TYPE_MAP,
    CheckEditor,
    ComboEditor,
    FloatEditor,
    IntEditor,
    PathEditor,
    StrEditor,
    ValueEditor,
)
from openhcs_gui.ui.fields import FieldSpec, UnsupportedTypeError, specs_for_model
from openhcs_gui.ui.forms import KwargsFormWidget, ModelFormWidget

pytestmark = pytest.mark.gui


# -- a model the generator has never seen -------------------------------------------
class Colour(enum.Enum):
    RED = "red"
    GREEN = "green"


class Optics(EventedModel):
    model_config = ConfigDict(validate_assignment=True)
    magnification: Literal["10x", "20x", "40x"] = "20x"
    numerical_aperture: float = Field(0.75, gt=0, le=1.5)


class Acquisition(EventedModel):
    model_config = ConfigDict(validate_assignment=True)
    operator: str = Field("anna", description="Who acquired the plate.")
    colour: Colour = Colour.RED
    live: bool = False
    exposure_ms: int = Field(100, ge=1, le=5000)
    gain: float = 1.5
    folder: Path = Path("/data")
    binning: int | None = None
    optics: Optics = Field(default_factory=Optics)

    @field_validator("operator")
    @classmethod
    def _no_digits(cls, v: str) -> str:
        if any(ch.isdigit() for ch in v):
            raise ValueError("operator names contain no digits")
        return v


def _editor(form: ModelFormWidget, *path: str) -> ValueEditor:
    for name in path[:-1]:
        form = form.children_forms[name]
    return form.editors[path[-1]]


# -- step one: FieldSpec (no Qt) ----------------------------------------------------
def test_fieldspec_from_config_fields() -> None:
    specs = {s.name: s for s in specs_for_model(GlobalPipelineConfig)}
    assert (specs["num_workers"].minimum, specs["num_workers"].maximum) == (1, 256)
    assert specs["vfs"].is_model and not specs["num_workers"].is_model
    mat = {s.name: s for s in specs_for_model(type(GlobalPipelineConfig().materialization_defaults),
                                             ("materialization_defaults",))}
    backend = mat["backend"]
    assert backend.nullable and backend.annotation is Backend
    assert backend.choices == tuple(Backend)
    assert backend.path == ("materialization_defaults", "backend")
    assert mat["compression_level"].nullable and mat["compression_level"].minimum == 1
    assert "inherit" not in backend.tooltip or backend.tooltip  # description becomes the tooltip


def test_fieldspec_from_parameter_and_exclusive_bounds() -> None:
    def f(stack: object, sigma: float = 2.0, n: int | None = None, mode="reflect") -> None: ...

    params = inspect.signature(f, eval_str=True).parameters
    assert FieldSpec.from_parameter(params["sigma"]).annotation is float
    n = FieldSpec.from_parameter(params["n"])
    assert n.nullable and n.annotation is int
    assert FieldSpec.from_parameter(params["mode"]).annotation is str
    optics = {s.name: s for s in specs_for_model(Optics)}
    assert optics["numerical_aperture"].minimum == 0  # gt on a float stays the bound
    assert optics["magnification"].choices == ("10x", "20x", "40x")


@pytest.mark.parametrize(
    ("model", "field", "editor"),
    [
        (Acquisition, "operator", StrEditor),
        (Acquisition, "colour", ComboEditor),
        (Acquisition, "live", CheckEditor),
        (Acquisition, "exposure_ms", IntEditor),
        (Acquisition, "gain", FloatEditor),
        (Acquisition, "folder", PathEditor),
        (Acquisition, "binning", IntEditor),
        (Optics, "magnification", ComboEditor),
        (ZarrConfig, "compressor", ComboEditor),
        (ZarrConfig, "ngff_version", ComboEditor),
    ],
)
def test_type_map_table(model: type[BaseModel], field: str, editor: type) -> None:
    spec = FieldSpec.from_field_info(field, model.model_fields[field])
    assert TYPE_MAP.editor_class(spec) is editor


def test_type_map_unknown_type_names_field_and_type() -> None:
    class Odd(BaseModel):
        pair: tuple[int, int] = (1, 2)

    spec = FieldSpec.from_field_info("pair", Odd.model_fields["pair"])
    with pytest.raises(UnsupportedTypeError, match=r"pair.*tuple\[int, int\]"):
        TYPE_MAP.editor_class(spec)


def test_register_type_on_a_copy_leaves_default_map_alone() -> None:
    class Tag(str):
        pass

    class Tagged(BaseModel):
        model_config = ConfigDict(arbitrary_types_allowed=True)
        tag: Tag = Tag("x")

    spec = FieldSpec.from_field_info("tag", Tagged.model_fields["tag"])
    custom = TYPE_MAP.copy()
    custom.register_type(Tag, PathEditor)
    assert custom.editor_class(spec) is PathEditor
    assert TYPE_MAP.editor_class(spec) is StrEditor


# -- step two: live forms -----------------------------------------------------------
def test_config_form_each_widget_edits_the_model(qtbot) -> None:
    cfg = GlobalPipelineConfig(num_workers=2)
    form = ModelFormWidget(cfg, inherited=lambda p: effective_value(cfg, p))
    qtbot.addWidget(form)

    workers = _editor(form, "num_workers")
    assert isinstance(workers, IntEditor) and workers.inner.bounds[1] == 256
    workers.inner.setValue(3)
    assert cfg.num_workers == 3

    _editor(form, "vfs", "materialization_backend").inner.setCurrentText("OME-Zarr")
    assert cfg.vfs.materialization_backend is MaterializationBackend.ZARR

    _editor(form, "zarr", "compressor").inner.setCurrentText("LZ4 (fastest)")
    assert cfg.zarr.compressor is ZarrCompressor.LZ4

    shuffle = _editor(form, "zarr", "shuffle")
    shuffle.inner.click()  # QAbstractButton.click(): a user's click, wherever the box is drawn
    assert cfg.zarr.shuffle is False

    path = _editor(form, "materialization_defaults", "output_path")
    assert isinstance(path, PathEditor)
    path.inner.setText("/tmp/results")
    path.inner.editingFinished.emit()
    assert cfg.materialization_defaults.output_path == Path("/tmp/results")


def test_config_form_inherit_placeholder_and_reset(qtbot) -> None:
    cfg = GlobalPipelineConfig()
    form = ModelFormWidget(cfg, inherited=lambda p: effective_value(cfg, p))
    qtbot.addWidget(form)
    backend = _editor(form, "materialization_defaults", "backend")
    assert backend.value is None
    assert backend.inner.currentText() == "default: TIFF files"
    cfg.vfs.materialization_backend = MaterializationBackend.ZARR  # the inherited value moves
    assert backend.inner.currentText() == "default: OME-Zarr"
    # one compression setting is shown: the override of saved results stays in the model only
    assert "compression_level" not in form.children_forms["materialization_defaults"].editors

    levels = _editor(form, "zarr", "pyramid_levels")
    assert levels.inner.text() == "default"
    levels.inner.setValue(3)
    assert cfg.zarr.pyramid_levels == 3
    reset = form.children_forms["zarr"].reset_buttons["pyramid_levels"]
    assert reset.isEnabled()
    qtbot.mouseClick(reset, Qt.MouseButton.LeftButton)
    assert cfg.zarr.pyramid_levels is None
    assert levels.inner.text() == "default" and not reset.isEnabled()


def test_config_form_invalid_value_is_shown_not_raised(qtbot) -> None:
    cfg = GlobalPipelineConfig()
    form = ModelFormWidget(cfg)
    qtbot.addWidget(form)
    name = _editor(form, "zarr", "store_name")
    with qtbot.waitSignal(form.validation_failed) as blocker:
        name.inner.setText("bad/name.zarr")
        name.inner.editingFinished.emit()
    assert blocker.args[0] == ("zarr", "store_name")
    assert cfg.zarr.store_name == "images.zarr"  # model unchanged
    assert "pattern" in name.error and name.inner.toolTip() == name.error
    assert "border" in name.inner.styleSheet()
    name.inner.setText("ok.zarr")
    name.inner.editingFinished.emit()
    assert cfg.zarr.store_name == "ok.zarr" and name.error is None and name.inner.styleSheet() == ""


def test_loading_a_config_file_updates_the_widgets(qtbot, tmp_path: Path) -> None:
    from openhcs_gui.config import load_config

    cfg = GlobalPipelineConfig(num_workers=2)
    form = ModelFormWidget(cfg, inherited=lambda p: effective_value(cfg, p))
    qtbot.addWidget(form)
    changed: list[tuple[str, ...]] = []
    form.value_changed.connect(lambda path, _v: changed.append(path))
    other = GlobalPipelineConfig(num_workers=5)
    other.zarr.compression_level = 7
    other.vfs.intermediate_backend = Backend.DISK
    other.materialization_defaults.backend = Backend.ZARR
    save_config(other, tmp_path / "cfg.json")

    cfg.update(load_config(tmp_path / "cfg.json"))
    assert _editor(form, "num_workers").value == 5
    assert _editor(form, "zarr", "compression_level").inner.value() == 7
    assert _editor(form, "vfs", "intermediate_backend").inner.currentText() == "TIFF files"
    assert _editor(form, "materialization_defaults", "backend").inner.currentText() == "OME-Zarr"
    assert ("zarr", "compression_level") in changed
    assert cfg.num_workers == 5  # no echo loop wrote an old value back


def test_unseen_model_round_trip(qtbot) -> None:
    acq = Acquisition()
    form = ModelFormWidget(acq)
    qtbot.addWidget(form)
    assert set(form.editors) == {"operator", "colour", "live", "exposure_ms", "gain", "folder", "binning"}
    assert "optics" in form.children_forms and "optics" in form.groups
    assert _editor(form, "operator").inner.toolTip() == "Who acquired the plate."

    _editor(form, "colour").inner.setCurrentText("green")
    assert acq.colour is Colour.GREEN
    _editor(form, "live").inner.click()
    assert acq.live is True
    exposure = _editor(form, "exposure_ms")
    assert exposure.inner.bounds == (1, 5000)
    exposure.inner.setValue(250)
    assert acq.exposure_ms == 250
    _editor(form, "gain").inner.setValue(2.25)
    assert acq.gain == pytest.approx(2.25)
    binning = _editor(form, "binning")
    assert binning.value is None and binning.inner.text() == "default"
    binning.inner.setValue(2)
    assert acq.binning == 2
    _editor(form, "optics", "magnification").inner.setCurrentText("40x")
    assert acq.optics.magnification == "40x"

    # model -> widgets (events), including a replaced nested model
    acq.exposure_ms = 900
    acq.optics = Optics(magnification="10x")
    acq.folder = Path("/elsewhere")
    assert exposure.value == 900
    assert _editor(form, "optics", "magnification").inner.currentText() == "10x"
    assert _editor(form, "folder").inner.text() == "/elsewhere"

    # invalid (custom validator) -> red field, model unchanged
    operator = _editor(form, "operator")
    operator.inner.setText("r2d2")
    operator.inner.editingFinished.emit()
    assert acq.operator == "anna" and "no digits" in operator.error


def test_plain_pydantic_model_is_written_and_refreshable(qtbot) -> None:
    class Plain(BaseModel):
        model_config = ConfigDict(validate_assignment=True)
        count: int = Field(3, ge=0)
        label: str = "x"

    plain = Plain()
    form = ModelFormWidget(plain)
    qtbot.addWidget(form)
    form.editors["count"].inner.setValue(8)
    assert plain.count == 8
    plain.label = "changed in code"  # no events: refresh() shows it
    form.refresh()
    assert form.editors["label"].inner.text() == "changed in code"


def test_kwargs_form_from_signature(qtbot) -> None:
    def blur(stack: object, sigma: float = 2.0, iterations: int = 1, mode: Literal["a", "b"] = "a",
             preserve: bool = True, weights: tuple[int, int] = (1, 1)) -> None: ...

    params = dict(list(inspect.signature(blur, eval_str=True).parameters.items())[1:])
    form = KwargsFormWidget(params, {"sigma": 3.0})
    qtbot.addWidget(form)
    editors = form.form.editors
    assert isinstance(editors["sigma"], FloatEditor) and editors["sigma"].value == 3.0
    assert isinstance(editors["mode"], ComboEditor) and isinstance(editors["preserve"], CheckEditor)
    assert "weights" not in editors  # unsupported type: shown read-only, value kept
    with qtbot.waitSignal(form.kwargs_changed) as blocker:
        editors["iterations"].inner.setValue(4)
    assert blocker.args[0]["iterations"] == 4 and blocker.args[0]["sigma"] == 3.0


def test_step_form_takes_min_and_max_from_the_registered_bounds(qtbot) -> None:
    from openhcs_gui.ui.step_form import StepFormWidget, make_step

    step = make_step("gaussian_blur", "blur")
    form = StepFormWidget(step, inherited_backend=lambda: None)
    qtbot.addWidget(form)
    assert form.kwargs_form is not None
    sigma = form.kwargs_form.form.editors["sigma"]
    assert (sigma.spec.minimum, sigma.spec.maximum) == (0, 200)
    assert sigma.inner.bounds == (0, 200)  # the arrows step within them
    sigma.inner.setValue(3e6)  # out of range: never clamped silently; the model refuses it, the field says why
    assert step.kwargs["sigma"] != 3e6 and "less than or equal to 200" in sigma.error
    radius = StepFormWidget(make_step("subtract_background"), inherited_backend=lambda: None)
    qtbot.addWidget(radius)
    assert radius.kwargs_form is not None
    assert radius.kwargs_form.form.editors["object_diameter_px"].inner.bounds[0] == 1
