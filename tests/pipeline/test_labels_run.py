"""Issue 12 item 4: the demo pipeline's segmentation step is written as labels, not as a grey image.

The demo's last step (``segment_nuclei``, declared ``outputs == "labels"``)
goes to OME-Zarr; every field must carry an NGFF ``labels/<name>`` group that
ome-zarr-models validates and napari-ome-zarr opens as a Labels layer, with
the int32 pixels the function returned. Written to disk, the same step gives
``<...>_labels.tif`` files that read back through the run result.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import tifffile
import zarr

from openhcs_gui.config import GlobalPipelineConfig
from openhcs_gui.functions.segmentation import segment_nuclei
from openhcs_gui.pipeline import run_pipeline
from openhcs_gui.pipeline.demo import load_demo_pipeline
from openhcs_gui.pipeline.planner import ExecutionPlan, plan_pipeline
from openhcs_gui.plates import open_plate
from openhcs_gui.plates.synthetic import make_synthetic_plate
from openhcs_gui.vfs.keys import ImageKey

WELLS = ["A01", "A02"]


@pytest.fixture(scope="module")
def small_plate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("labels") / "plate"
    return make_synthetic_plate(root, wells=WELLS, sites=1, channels=2, shape=(64, 64))


def _cfg(tmp: Path) -> GlobalPipelineConfig:
    cfg = GlobalPipelineConfig(num_workers=1)
    cfg.materialization_defaults.output_path = tmp / "out"
    return cfg


def _expected(result, key: ImageKey) -> np.ndarray:
    """What segment_nuclei returns for the background step's image of ``key``."""
    step = load_demo_pipeline()[-1]
    kwargs = step.func[1] if isinstance(step.func, tuple) else step.kwargs
    image = result.get_image(1, key)  # kept in memory: the demo's background step
    return segment_nuclei(image[None], **kwargs)[0][0]


@pytest.fixture(scope="module")
def zarr_run(small_plate: Path, tmp_path_factory: pytest.TempPathFactory):
    cfg = _cfg(tmp_path_factory.mktemp("zarr_run"))
    cfg.keep_intermediates = True
    result = run_pipeline(load_demo_pipeline(), small_plate, cfg)
    assert result.status.value == "completed", result.errors
    return result


def test_plan_records_label_output(small_plate: Path, tmp_path: Path) -> None:
    plan = plan_pipeline(load_demo_pipeline(), small_plate, _cfg(tmp_path))
    assert [s.output_kind for s in plan.steps] == ["image", "image", "labels"]
    again = ExecutionPlan.from_dict(json.loads(json.dumps(plan.to_dict())))
    assert again.steps[-1].output_kind == "labels"
    old = plan.to_dict()
    for s in old["steps"]:
        s.pop("output_kind")  # a plan written before the field existed
    assert ExecutionPlan.from_dict(old).steps[-1].output_kind == "image"


def test_zarr_field_has_ngff_labels_group(zarr_run) -> None:
    out = zarr_run.step(2)
    field = Path(out.image_dir) / "A" / "1" / "0"
    labels = json.loads((field / "labels" / ".zattrs").read_text())
    assert labels == {"labels": ["count"]}
    attrs = json.loads((field / "labels" / "count" / ".zattrs").read_text())
    assert attrs["image-label"]["source"] == {"image": "../../"}
    assert attrs["image-label"]["version"] == "0.4"
    image_axes = json.loads((field / ".zattrs").read_text())["multiscales"][0]["axes"]
    assert attrs["multiscales"][0]["axes"] == image_axes


def test_zarr_labels_validate_with_ome_zarr_models(zarr_run) -> None:
    from ome_zarr_models.v04 import HCS, ImageLabel, Labels

    store = Path(zarr_run.step(2).image_dir)
    HCS.from_zarr(zarr.open_group(store, mode="r", zarr_format=2))
    for row_col in ("A/1", "A/2"):
        field = store / row_col / "0"
        Labels.from_zarr(zarr.open_group(field / "labels", mode="r", zarr_format=2))
        ImageLabel.from_zarr(zarr.open_group(field / "labels" / "count", mode="r", zarr_format=2))


def test_napari_ome_zarr_opens_a_labels_layer_with_the_function_output(zarr_run) -> None:
    from napari_ome_zarr._reader import napari_get_reader

    field = str(Path(zarr_run.step(2).image_dir) / "A" / "2" / "0")
    layers = napari_get_reader(field)(field)
    kinds = [kind for _data, _meta, kind in layers]
    assert "labels" in kinds
    data = next(d for d, _m, kind in layers if kind == "labels")
    full = np.asarray(data[0] if isinstance(data, list) else data)
    assert full.dtype == np.int32
    for channel in (1, 2):
        expected = _expected(zarr_run, ImageKey("A02", 1, channel))
        assert expected.max() > 0  # the synthetic field has nuclei
        np.testing.assert_array_equal(full[channel - 1, 0], expected)
        np.testing.assert_array_equal(zarr_run.get_image(2, ImageKey("A02", 1, channel)), expected)


def test_disk_output_writes_labels_tif(small_plate: Path, tmp_path: Path) -> None:
    pipeline = load_demo_pipeline()
    pipeline[-1].backend = "disk"
    cfg = _cfg(tmp_path)
    cfg.keep_intermediates = True
    result = run_pipeline(pipeline, small_plate, cfg)
    assert result.status.value == "completed", result.errors
    folder = Path(result.step(2).folder)
    names = sorted(p.name for p in folder.glob("*.tif"))
    assert names == [f"{w}_s1_w{c}_z1_labels.tif" for w in WELLS for c in (1, 2)]
    key = ImageKey("A01", 1, 2)
    on_disk = tifffile.imread(folder / "A01_s1_w2_z1_labels.tif")
    assert on_disk.dtype == np.int32
    np.testing.assert_array_equal(on_disk, _expected(result, key))
    np.testing.assert_array_equal(result.get_image(2, key), on_disk)
    again = open_plate(folder)  # the step folder still opens as a plate
    assert again.images[key] == str(folder / "A01_s1_w2_z1_labels.tif")
    assert len(again.images) == 4 and again.dtype == np.int32


def test_zarr_label_store_opens_as_a_plate(zarr_run) -> None:
    store = Path(zarr_run.step(2).image_dir)
    again = open_plate(store)
    assert sorted(again.images) == [ImageKey(w, 1, c) for w in WELLS for c in (1, 2)]
    assert again.dtype == np.int32
