"""napari/magicgui-style functions as steps, and a real plugin package registering them by entry point."""

from __future__ import annotations

import importlib.util
import json
import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from openhcs_gui import FunctionStep
from openhcs_gui.functions import get_function
from openhcs_gui.functions.external import PlaneFunction, adapt, register_annotated

EXAMPLE = Path(__file__).with_name("example_plugin")


def napari_style_sobel(image: "napari.types.ImageData", scale: float = 2.0) -> "napari.types.ImageData":  # noqa: F821, UP037
    """Edges of one plane, times ``scale``."""
    from skimage.filters import sobel

    return sobel(np.asarray(image, dtype=np.float32)) * scale


def test_an_annotated_function_runs_per_plane_and_keeps_its_form_parameters() -> None:
    adapted = adapt(napari_style_sobel)
    assert isinstance(adapted, PlaneFunction) and adapted.outputs == "image"
    stack = np.random.default_rng(0).random((3, 16, 16)).astype(np.float32)
    out = adapted(stack, scale=3.0)
    assert out.shape == (3, 16, 16)
    np.testing.assert_allclose(out[1], napari_style_sobel(stack[1], scale=3.0))
    assert pickle.loads(pickle.dumps(adapted)).func is napari_style_sobel  # runs on dask workers too
    entry = register_annotated(napari_style_sobel, "test_napari_sobel", overwrite=True)
    registered = get_function("test_napari_sobel")
    assert registered.func is entry and list(registered.parameters) == ["scale"]
    assert registered.parameters["scale"].annotation is float and registered.defaults() == {"scale": 2.0}


def test_a_stack_function_is_left_alone() -> None:
    def stack_fn(stack: np.ndarray, sigma: float = 1.0) -> np.ndarray:  # our own contract: whole stack
        return stack

    def plain(stack, sigma=1.0):  # noqa: ANN001, ANN202
        return stack

    assert adapt(stack_fn) is stack_fn and adapt(plain) is plain


def test_labels_data_in_or_out_is_recognised_by_name_without_napari() -> None:
    def spots(image: "LabelsData", fraction: float = 0.5) -> "LabelsData":  # noqa: F821, UP037
        return (np.asarray(image) > fraction).astype(float)

    adapted = adapt(spots)
    assert isinstance(adapted, PlaneFunction) and adapted.outputs == "labels"
    out = adapted(np.ones((2, 4, 4)))
    assert out.dtype == np.int32 and out.shape == (2, 4, 4)


def _install_example(target: Path) -> None:
    """pip-install the example plugin (no dependencies) into ``target``, as a user would."""
    import shutil

    source = shutil.copytree(EXAMPLE, target.with_name("example_src"))  # the build writes egg-info there
    isolation = [] if importlib.util.find_spec("wheel") is None else ["--no-build-isolation"]
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", *isolation,
                    "--target", str(target), str(source)], check=True, capture_output=True, timeout=240)


_SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    from openhcs_gui import Backend, FunctionStep, GlobalPipelineConfig, Pipeline
    from openhcs_gui.functions import list_functions, plugin_errors
    from openhcs_gui.pipeline import load_pipeline, save_pipeline
    names = {f.name: f for f in list_functions()}
    pipeline = Pipeline([
        FunctionStep(func=("example_invert", {"offset": 5.0}), name="invert"),
        FunctionStep(func=("example_threshold_labels", {"fraction": 0.8}), name="spots",
                     backend=Backend.DISK),
    ])
    save_pipeline(pipeline, sys.argv[2])  # named by string, as any registered function
    result = load_pipeline(sys.argv[2]).run(sys.argv[1], GlobalPipelineConfig(num_workers=1))
    step = result.step("spots")
    key = step.keys[0]
    labels = result.get_image("spots", key)
    print(json.dumps({
        "errors": plugin_errors(),
        "sources": {n: names[n].source for n in names if n.startswith("example_")},
        "params": list(names["example_invert"].parameters),
        "status": result.status.value,
        "kind": result.plan.step(1).output_kind,
        "labels_dtype": str(labels.dtype), "n_labels": int(labels.max()),
        "label_file": key.filename(),
    }))
""")


@pytest.mark.slow
def test_a_plugin_package_registers_functions_that_run_in_a_pipeline(tmp_path: Path, small_plate: Path) -> None:
    site = tmp_path / "site"
    _install_example(site)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    import shutil

    plate = shutil.copytree(small_plate, tmp_path / "plate")
    done = subprocess.run([sys.executable, "-c", _SCRIPT, str(plate), str(tmp_path / "p.json")],
                          env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["errors"] == []
    assert set(report["sources"]) == {"example_invert", "example_threshold_labels"}
    assert all("entry point openhcs_example_plugin:" in s for s in report["sources"].values())
    assert report["params"] == ["offset"]
    assert report["status"] == "completed"
    assert report["kind"] == "labels"  # LabelsData out -> a labels output
    assert report["n_labels"] > 0 and report["labels_dtype"].startswith(("int", "uint"))


def test_without_the_plugin_its_names_are_unknown() -> None:
    # the plugin went into a temporary folder, not into this interpreter's environment
    with pytest.raises(ValueError, match="example_invert"):
        FunctionStep(func="example_invert")
