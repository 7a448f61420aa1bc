"""Channel targeting in the step form (issue 14 item 2): channels, per-channel functions, what varies per call."""

from __future__ import annotations

from pathlib import Path

import pytest
from ui_helpers import open_plate_and_wait

from openhcs_gui.constants import Component
from openhcs_gui.functions import get_function
from openhcs_gui.pipeline import demo_pipeline_path

pytestmark = pytest.mark.gui


def _demo(window, qtbot, small_plate: Path):
    open_plate_and_wait(window, qtbot, small_plate)
    with qtbot.waitSignal(window.pipeline_loaded, timeout=10000):
        window.load_pipeline(demo_pipeline_path())
    window.pipeline_editor.select_row(2)
    return window.session.pipeline[2], window.pipeline_editor.step_form


def test_restricting_the_nuclei_step_to_dapi(make_main_window, small_plate: Path, qtbot) -> None:
    window = make_main_window()
    step, form = _demo(window, qtbot, small_plate)
    boxes = form.channel_target.boxes
    assert {c: b.text() for c, b in boxes.items()} == {1: "1 · DAPI", 2: "2 · FITC"}  # the plate's names
    assert all(b.isChecked() for b in boxes.values())
    assert form.function_combo.currentText() == "segment_nuclei"

    boxes[2].click()  # the user unchecks FITC
    assert isinstance(step.func, dict) and sorted(step.func) == [1]
    assert step.group_by is Component.CHANNEL
    form = window.pipeline_editor.step_form
    assert form.step is step and [c for c, b in form.channel_target.boxes.items() if b.isChecked()] == [1]
    assert form.function_combo.currentText() == "segment_nuclei" and form.function_combo.isEnabled()
    smoothing = form.kwargs_form.form.editors["smoothing"]
    smoothing.inner.setValue(1.5)  # parameters are still edited in the form, for DAPI
    assert step.chain_for(1)[0][1]["smoothing"] == 1.5
    assert step.chain_for(2) is None  # FITC passes through
    assert form.grouping.boxes[Component.CHANNEL].isEnabled() is False

    window.session.cfg.num_workers = 2
    with qtbot.waitSignal(window.run_finished, timeout=120000) as blocker:
        assert window.start_run()
    result = blocker.args[0]
    rows = result.get_table(2, "objects")
    assert {r["channel"] for r in rows} == {1}  # nuclei segmented in DAPI only
    nuclei = result.get_table(2, "nuclei")
    panel = window.plate_panel
    qtbot.waitUntil(panel.heatmap_combo.isEnabled, timeout=20000)
    assert panel.measurement_choices["Nuclei count"] == ["DAPI"]  # nothing counted in FITC to average in
    panel.colour_by("Nuclei count")
    assert [panel.channel_combo.itemText(i) for i in range(panel.channel_combo.count())] == ["in DAPI"]
    assert panel.grid_model._values["A01"] == sum(r["well"] == "A01" for r in nuclei)

    # all channels again: a plain step
    window.pipeline_editor.step_form.channel_target.boxes[2].click()
    assert not isinstance(step.func, dict) and step.group_by is None
    assert step.kwargs["smoothing"] == 1.5


def test_per_channel_functions_and_grouping_without_json(make_main_window, small_plate: Path, qtbot) -> None:
    window = make_main_window()
    _demo(window, qtbot, small_plate)
    window.pipeline_editor.select_row(0)
    step, form = window.session.pipeline[0], window.pipeline_editor.step_form
    assert form.grouping.boxes[Component.SITE].isChecked()
    assert form.grouping.sentence.text() == (
        "One call per well × channel × z-plane × time point; each call gets a stack of its sites.")
    form.grouping.boxes[Component.Z].click()
    assert step.variable_components == (Component.SITE, Component.Z)
    assert form.grouping.sentence.text().endswith("each call gets a stack of its sites × z-planes.")

    form.per_channel_box.click()
    form = window.pipeline_editor.step_form
    assert sorted(step.func) == [1, 2] and form.per_channel_mode
    assert form.function_combo.currentText() == "(different per channel)" and not form.function_combo.isEnabled()
    assert set(form.channel_combos) == {1, 2}
    form.channel_combos[2].setCurrentText("normalize_percentile")
    assert step.chain_for(2)[0][0] is get_function("normalize_percentile").func
    assert step.chain_for(1)[0][0] is get_function("gaussian_blur").func
    form = window.pipeline_editor.step_form
    form.channel_forms[1].form.editors["sigma"].inner.setValue(3.0)
    assert step.chain_for(1)[0][1]["sigma"] == 3.0
    # a reopened form shows the per-channel step as it is (no "(chain — edit in the pipeline file)")
    window.pipeline_editor.select_row(1)
    window.pipeline_editor.select_row(0)
    form = window.pipeline_editor.step_form
    assert form.per_channel_mode and form.channel_combos[2].currentText() == "normalize_percentile"
    assert form.channel_forms[1].form.editors["sigma"].value == 3.0


def test_the_form_follows_a_step_changed_elsewhere(make_main_window, small_plate: Path, qtbot) -> None:
    """A change made outside the form (napari's console, a script) is shown: never a value the step lacks."""
    window = make_main_window()
    step, form = _demo(window, qtbot, small_plate)
    split = form.kwargs_form.form.editors["split_touching"].inner
    assert split.isChecked()
    step.kwargs = {**step.kwargs, "split_touching": False, "smoothing": 2.5}
    qtbot.waitUntil(lambda: not window.pipeline_editor.step_form.kwargs_form.form.editors[
        "split_touching"].inner.isChecked(), timeout=5000)
    form = window.pipeline_editor.step_form
    assert form.kwargs_form.form.editors["smoothing"].inner.value() == 2.5
    shown = form.kwargs_form.kwargs()
    assert {name: shown[name] for name in step.kwargs} == step.kwargs

    step.set_function({1: (get_function("segment_nuclei").func, dict(step.kwargs))})  # DAPI only, elsewhere
    step.group_by = Component.CHANNEL
    qtbot.waitUntil(lambda: [c for c, b in form.channel_target.boxes.items() if b.isChecked()] == [1],
                    timeout=5000)

    # the form's own edits are not re-read (the widget being edited stays)
    editor = form.kwargs_form.form.editors["smoothing"].inner
    editor.setValue(1.25)
    qtbot.wait(50)
    assert form.kwargs_form.form.editors["smoothing"].inner is editor
    assert step.chain_for(1)[0][1]["smoothing"] == 1.25
