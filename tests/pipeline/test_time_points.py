"""Time points through the whole engine (issue 12 item 2): read, grouped, processed, named, resumed.

Vendor layouts written by :func:`make_synthetic_plate` ``timepoints=``:

* ImageXpress (MetaXpress) time-lapse: ``TimePoint_1/`` ... ``TimePoint_<n>/`` folders of
  ``A01_s1_w1.tif`` images and ``"TimePoints", <n>`` in the ``.HTD``, as in
  fmi-faim/faim-ipa ``resources/ImageXpress_exported/9987_Plate_3435/`` (``TimePoint_1/9987.HTD``
  says ``"TimePoints", 6``).
* Opera Phenix (Harmony export): ``Images/r01c01f01p01-ch1sk<n>fk1fl1.tiff``, ``sk`` the
  1-based time point, and per-image ``<TimepointID>`` (0-based) with
  ``<MeasurementTimeOffset>`` in ``Images/Index.xml`` (Harmony 5+ ``Index.idx.xml`` layout,
  e.g. the Phenix exports read by BioFormats' ``OperettaReader``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import tifffile
from pipeline_helpers import STOP, HardStop, counted_copy

from openhcs_gui.config import GlobalPipelineConfig
from openhcs_gui.constants import Backend, Component, RunStatus
from openhcs_gui.pipeline import FunctionStep, Pipeline, open_workspace
from openhcs_gui.pipeline.demo import load_demo_pipeline
from openhcs_gui.plates import make_synthetic_plate, open_plate, read_ground_truth
from openhcs_gui.plates.synthetic import DRIFT_PX, TIME_INTERVAL_S
from openhcs_gui.vfs.keys import ImageKey

WELLS = ["A01", "B02"]


def _cfg(tmp_path: Path, workers: int = 2) -> GlobalPipelineConfig:
    cfg = GlobalPipelineConfig(num_workers=workers)
    cfg.materialization_defaults.output_path = tmp_path / "out"
    return cfg


def _demo_on_disk() -> Pipeline:
    pipe = load_demo_pipeline()
    pipe.steps[-1].backend = Backend.DISK
    return pipe


def _check_demo_run(plate: Path, tmp_path: Path, timepoints: int) -> None:
    """The demo pipeline gives every time point its outputs, names and table rows."""
    result = _demo_on_disk().run(plate, _cfg(tmp_path))
    assert result.status is RunStatus.COMPLETED, result.errors
    folder = result.workspace / "step3_count"
    names = {p.name for p in folder.glob("*.tif")}
    assert names == {f"{w}_s{s}_w{c}_z1_t{t}_labels.tif" for w in WELLS for s in (1, 2) for c in (1, 2)
                     for t in range(1, timepoints + 1)}
    # every time point counted right, and the cells' drift between time points is seen
    truth = read_ground_truth(plate)
    counts = {(r["well"], r["site"], r["time"]): r["object_count"]
              for r in result.get_table("count", "objects") if r["channel"] == 1}
    assert counts == {(w, s, t): truth[(w, s)] for (w, s) in truth for t in range(1, timepoints + 1)}
    nuclei = result.get_table("count", "nuclei")
    mean_x = [np.mean([n["centroid_x_px"] for n in nuclei if n["time"] == t and n["channel"] == 1])
              for t in range(1, timepoints + 1)]
    np.testing.assert_allclose(np.diff(mean_x), DRIFT_PX, atol=0.3)
    # any time point's image can be read back, also from the reopened workspace
    last = ImageKey("B02", 2, 1, 1, timepoints)
    labels = tifffile.imread(folder / last.filename(labels=True))
    np.testing.assert_array_equal(result.get_image("count", last), labels)
    np.testing.assert_array_equal(open_workspace(result.workspace).get_image("count", last), labels)
    assert not np.array_equal(result.get_image("count", ImageKey("B02", 2, 1, 1, 1)), labels)
    # the step folder opens again as a plate with its time points
    again = open_plate(folder)
    assert again.timepoints == list(range(1, timepoints + 1)) and again.n_images == len(names)


def test_demo_pipeline_on_a_3_time_point_imagexpress_plate(tmp_path: Path) -> None:
    plate = make_synthetic_plate(tmp_path / "timelapse", wells=WELLS, sites=2, channels=2,
                                 shape=(128, 128), timepoints=3, seed=5)
    assert (plate / "TimePoint_3" / "B02_s2_w2.tif").is_file()
    assert '"TimePoints", 3' in (plate / "timelapse.HTD").read_text()
    index = open_plate(plate)
    assert index.timepoints == [1, 2, 3] and index.n_images == 2 * 2 * 2 * 3 and index.warnings == []
    _check_demo_run(plate, tmp_path, 3)


def test_demo_pipeline_on_an_opera_plate_with_2_timepoints(tmp_path: Path) -> None:
    plate = make_synthetic_plate(tmp_path / "phenix", wells=WELLS, sites=2, channels=2,
                                 shape=(128, 128), timepoints=2, seed=5, layout="opera")
    assert (plate / "Images" / "r02c02f02p01-ch2sk2fk1fl1.tiff").is_file()
    xml = (plate / "Images" / "Index.xml").read_text()
    assert set(re.findall(r"<TimepointID>(\d+)</TimepointID>", xml)) == {"0", "1"}
    index = open_plate(plate)
    assert index.timepoints == [1, 2] and index.n_images == 2 * 2 * 2 * 2 and index.warnings == []
    assert (index.metadata.timepoints, index.metadata.time_interval) == ((1, 2), TIME_INTERVAL_S)
    _check_demo_run(plate, tmp_path, 2)


def test_time_is_a_grouping_component(tmp_path: Path) -> None:
    """``variable_components: ["time"]`` stacks a field's time points (here: max over time)."""
    plate = make_synthetic_plate(tmp_path / "tl", wells=["A01"], sites=1, channels=1,
                                 shape=(32, 32), timepoints=3, seed=2)
    doc = {"format": "openhcs-pipeline", "version": 1, "name": "t", "steps": [
        {"name": "tmax", "func": {"function": "max_projection", "kwargs": {}},
         "variable_components": ["time"], "backend": "disk"}]}
    pipe = Pipeline.from_dict(doc)
    assert pipe.steps[0].variable_components == (Component.TIME,)
    assert FunctionStep(counted_copy, variable_components=["t"]).variable_components == (Component.TIME,)
    result = pipe.run(plate, _cfg(tmp_path))
    assert result.status is RunStatus.COMPLETED, result.errors
    assert sorted(p.name for p in (result.workspace / "step1_tmax").glob("*.tif")) == ["A01_s1_w1_z1_t1.tif"]
    frames = [tifffile.imread(plate / f"TimePoint_{t}" / "A01_s1_w1.tif") for t in (1, 2, 3)]
    np.testing.assert_array_equal(result.get_image("tmax", ImageKey("A01", 1, 1)), np.max(frames, axis=0))


def test_default_grouping_keeps_time_points_apart() -> None:
    keys = [ImageKey("A01", s, 1, 1, t) for s in (1, 2) for t in (1, 2, 3)]
    groups = FunctionStep(counted_copy).groups(keys)  # variable: site
    assert list(groups) == [(1, 1, 1), (1, 1, 2), (1, 1, 3)]  # (channel, z, time)
    assert groups[(1, 1, 2)] == [ImageKey("A01", 1, 1, 1, 2), ImageKey("A01", 2, 1, 1, 2)]
    step = FunctionStep(counted_copy, variable_components=[Component.SITE])
    assert step.output_keys(groups[(1, 1, 3)], 1) == [ImageKey("A01", 1, 1, 1, 3)]  # time survives


def test_resume_on_a_time_lapse_plate(tmp_path: Path) -> None:
    """A run killed in the second well resumes it; every time point's file ends up written once."""
    plate = make_synthetic_plate(tmp_path / "tl", wells=["A01", "A02", "B01"], sites=1, channels=2,
                                 shape=(32, 32), timepoints=3, seed=4)
    log = tmp_path / "calls.log"
    pipe = Pipeline([FunctionStep(counted_copy, name="copy", log=str(log)),
                     FunctionStep("gaussian_blur", name="blur", sigma=1.0, backend=Backend.DISK)])
    cfg = _cfg(tmp_path, workers=1)
    per_well = 2 * 3  # one call per (channel, time point)
    STOP["at"] = per_well + 3
    try:
        with pytest.raises(HardStop):
            pipe.run(plate, cfg)
    finally:
        STOP["at"] = 0
    ws = tmp_path / "out" / "tl_workspace"
    assert json.loads((ws / "openhcs_metadata.json").read_text())["wells"]["A01"]["status"] == "completed"
    result = pipe.run(plate, cfg, resume=True)
    assert result.status is RunStatus.COMPLETED and result.skipped_wells == ["A01"]
    assert len(log.read_text().splitlines()) == per_well + 3 + 2 * per_well
    names = sorted(p.name for p in (ws / "step2_blur").glob("*.tif"))
    assert names == sorted(f"{w}_s1_w{c}_z1_t{t}.tif" for w in ("A01", "A02", "B01") for c in (1, 2)
                           for t in (1, 2, 3))
    keys = result.step("blur").keys
    assert len(keys) == 18 and {k.t for k in keys} == {1, 2, 3}
    for key in (ImageKey("A01", 1, 2, 1, 3), ImageKey("B01", 1, 1, 1, 2)):
        np.testing.assert_array_equal(result.get_image("blur", key), tifffile.imread(ws / "step2_blur" / key.filename()))
