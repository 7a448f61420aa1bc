"""Nothing silently wrong inside a well: shared output buffers, long calls and cancel, bad results."""

from __future__ import annotations

import json
import threading
import time
import weakref
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pipeline_helpers import SHAPE, SITES, WELLS, input_image, tree

from openhcs_gui.constants import Backend, RunStatus
from openhcs_gui.functions import register_function
from openhcs_gui.pipeline import CancelToken, FunctionStep, Pipeline, open_workspace
from openhcs_gui.vfs.keys import ImageKey

# ------------------------------------------------------------------ functions
_SHARED = np.zeros((SITES, *SHAPE), dtype=np.uint16)


@register_function("test_shared_buffer", category="test", overwrite=True)
def shared_buffer(stack: np.ndarray, add: int = 1) -> np.ndarray:
    """Write the result into one module-level buffer and return it (every call)."""
    np.add(stack, add, out=_SHARED[: len(stack)], casting="unsafe")
    return _SHARED[: len(stack)]


_FRESH: list[weakref.ref[np.ndarray]] = []


@register_function("test_fresh_plus_one", category="test", overwrite=True)
def fresh_plus_one(stack: np.ndarray) -> np.ndarray:
    """A new array per call; remembers it weakly so a test can see whether it was copied."""
    out = stack + np.uint16(1)
    _FRESH.append(weakref.ref(out))
    return out


_RELEASE = threading.Event()


@register_function("test_sleep_30s", category="test", overwrite=True)
def sleep_30s(stack: np.ndarray) -> np.ndarray:
    """Block for 30 s (or until the test releases it) without looking at any cancel token."""
    _RELEASE.wait(30)
    return stack.copy()


_calls = {"n": 0}
_BAD_RESULTS: dict[str, Any] = {
    "object dtype": lambda s: s.astype(object),
    "complex dtype": lambda s: s.astype(np.complex64),
    "no pixels": lambda s: np.zeros((len(s), 0, 5), np.uint16),
    "table as text": lambda s: (s.copy(), {"objects": "not rows"}),
    "row not a dict": lambda s: (s.copy(), {"objects": [1, 2]}),
    "array in a cell": lambda s: (s.copy(), {"objects": [{"index": 0, "area": np.zeros(3)}]}),
    "path in table name": lambda s: (s.copy(), {"../../escaped": [{"index": 0, "area": 1}]}),
    "number as column": lambda s: (s.copy(), {"objects": [{"index": 0, 7: 1}]}),
}
_EXPECTED_REASON = {
    "object dtype": "dtype object",
    "complex dtype": "dtype complex64",
    "no pixels": "empty stack of shape (2, 0, 5)",
    "table as text": "table 'objects' as str",
    "row not a dict": "row 0 of type int",
    "array in a cell": "a ndarray in row 0, column 'area'",
    "path in table name": "table named '../../escaped'",
    "number as column": "column name 7",
}


@register_function("test_bad_first_result", category="test", overwrite=True)
def bad_first_result(stack: np.ndarray, kind: str = "object dtype") -> Any:
    """Return a malformed result on the first call of a run, a good one afterwards."""
    _calls["n"] += 1
    if _calls["n"] == 1:
        return _BAD_RESULTS[kind](stack)
    return stack.copy(), {"objects": [{"index": i, "area": 1.0} for i in range(len(stack))]}


def _keys() -> list[ImageKey]:
    return [ImageKey(w, s, c) for w in WELLS for s in range(1, SITES + 1) for c in (1, 2)]


# ---------------------------------------------------------------------- tests
def test_a_function_returning_one_shared_buffer_still_gives_every_output(plate, cfg) -> None:
    cfg.num_workers = 1  # one buffer shared by concurrent calls is a race no engine can repair
    pipeline = Pipeline([
        FunctionStep(shared_buffer, name="plus_one", backend=Backend.MEMORY, add=1),
        FunctionStep(shared_buffer, name="plus_two", add=1),  # the same buffer again, written to disk
    ])
    result = pipeline.run(plate, cfg)
    assert result.status is RunStatus.COMPLETED
    for key in _keys():
        original = input_image(plate, key.well, key.site, key.channel)
        np.testing.assert_array_equal(result.get_image("plus_one", key), original + 1, err_msg=str(key))
        np.testing.assert_array_equal(result.get_image("plus_two", key), original + 2, err_msg=str(key))


def test_a_fresh_output_is_stored_in_memory_without_a_copy(plate, cfg) -> None:
    _FRESH.clear()
    result = Pipeline([FunctionStep(fresh_plus_one, name="fresh", backend=Backend.MEMORY)]).run(plate, cfg)
    assert result.status is RunStatus.COMPLETED
    alive = [r() for r in _FRESH]
    assert len(alive) == len(WELLS) * 2 and all(a is not None for a in alive)  # still held by the store
    for key in _keys():
        stored = result.get_image("fresh", key)
        np.testing.assert_array_equal(stored, input_image(plate, key.well, key.site, key.channel) + 1)
        assert sum(np.shares_memory(stored, a) for a in alive) == 1, f"{key} was copied"


def test_cancel_stops_a_run_within_a_second_while_a_function_runs(plate, cfg) -> None:
    _RELEASE.clear()
    token = CancelToken()
    timer = threading.Timer(0.3, token.cancel)
    pipeline = Pipeline([FunctionStep(sleep_30s, name="sleepy", force_disk_output=True)])
    t0 = time.perf_counter()
    timer.start()
    try:
        result = pipeline.run(plate, cfg, cancel=token)
        elapsed = time.perf_counter() - t0
    finally:
        timer.cancel()
        _RELEASE.set()  # let the abandoned calls finish in the background
    assert result.status is RunStatus.CANCELLED
    assert elapsed < 1.5, f"cancel took {elapsed:.2f} s"
    assert not result.errors
    assert tree(result.workspace) == {"openhcs_metadata.json"}  # the abandoned calls wrote nothing
    doc = json.loads((result.workspace / "openhcs_metadata.json").read_text())
    assert doc["status"] == "cancelled"
    assert {w["status"] for w in doc["wells"].values()} <= {"cancelled", "pending"}
    assert open_workspace(result.workspace).status is RunStatus.CANCELLED


@pytest.mark.parametrize("kind", list(_BAD_RESULTS))
def test_a_malformed_result_fails_only_its_well_with_one_line(plate, cfg, kind: str) -> None:
    cfg.num_workers = 1  # the first call is well A01's
    _calls["n"] = 0
    pipeline = Pipeline([FunctionStep(bad_first_result, name="measure", kind=kind)])
    result = pipeline.run(plate, cfg)
    assert result.status is RunStatus.FAILED
    [error] = result.errors
    assert error.well == "A01" and error.step == "measure"
    assert "\n" not in error.message
    assert error.message.startswith("Step 'measure': test_bad_first_result() returned ")
    assert _EXPECTED_REASON[kind] in error.message
    files = tree(result.workspace)
    assert not any("A01" in f for f in files) and not any("escaped" in f for f in files)
    assert {r["well"] for r in result.get_table("measure", "objects")} == {"B02", "A02", "B01"}
    assert not list(Path(result.workspace).parent.glob("**/escaped*"))


def test_parameter_edited_in_place_after_building_stops_the_run_before_any_work(tmp_path) -> None:
    """A GUI/script edit of ``step.kwargs`` bypasses the model validator; the run still refuses it."""
    import pytest

    from openhcs_gui import FunctionStep, GlobalPipelineConfig, Pipeline
    from openhcs_gui.errors import PipelineError
    from openhcs_gui.functions import get_function
    from openhcs_gui.plates.synthetic import make_synthetic_plate

    plate = make_synthetic_plate(tmp_path / "p", wells=["A01"], sites=1, channels=1, shape=(32, 32))
    step = FunctionStep(func=get_function("gaussian_blur"), name="blur", sigma=1.0)
    step.kwargs["sigma"] = float("nan")
    cfg = GlobalPipelineConfig(num_workers=1)
    with pytest.raises(PipelineError, match="blur.*sigma"):
        Pipeline([step]).run(plate, cfg)
    assert not list(tmp_path.glob("*_workspace*")), "nothing may be written for a refused run"
