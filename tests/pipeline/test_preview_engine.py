"""Live preview engine: one site through the pipeline in memory, re-run from the edited step (no Qt)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from openhcs_gui.errors import PipelineError, RunCancelledError
from openhcs_gui.pipeline import FunctionStep
from openhcs_gui.pipeline.events import CancelToken
from openhcs_gui.pipeline.preview import INPUT_INDEX, Preview
from openhcs_gui.pipeline.well import run_step
from openhcs_gui.plates import open_plate

CALLS: dict[str, int] = {}


def _counted(name: str) -> None:
    CALLS[name] = CALLS.get(name, 0) + 1


def add(stack: np.ndarray, value: int = 1) -> np.ndarray:
    """Add ``value`` (int32 out), counting calls."""
    _counted("add")
    return stack.astype(np.int32) + value


def double(stack: np.ndarray, factor: int = 2) -> np.ndarray:
    """Multiply by ``factor``, counting calls."""
    _counted("double")
    return stack * factor


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*")}


@pytest.fixture
def steps() -> list[FunctionStep]:
    CALLS.clear()
    return [FunctionStep(add, "add", value=1), FunctionStep(double, "double", factor=2)]


def test_preview_runs_one_site_in_memory_and_writes_nothing(plate: Path, steps: list[FunctionStep]) -> None:
    index = open_plate(plate)
    before = _files(plate.parent)
    preview = Preview(index, "A02", 2)
    outputs = preview.run_from(steps)
    assert [o.name for o in outputs] == ["add", "double"]
    raw = preview.inputs().images
    assert sorted({(k.well, k.site) for k in raw}) == [("A02", 2)]
    assert sorted(k.channel for k in raw) == [1, 2]
    for key, image in raw.items():
        np.testing.assert_array_equal(outputs[1].images[key], (image.astype(np.int32) + 1) * 2)
    assert _files(plate.parent) == before  # no workspace, no file


def test_preview_matches_the_runner_step_function(plate: Path) -> None:
    index = open_plate(plate)
    step = FunctionStep("gaussian_blur", "blur", sigma=1.5)
    preview = Preview(index, "A01", 1)
    (out,) = preview.run_from([step])
    expected, _ = run_step(step, preview.inputs().images, CancelToken(), index.metadata)
    assert out.images.keys() == expected.keys()
    for key in expected:
        np.testing.assert_array_equal(out.images[key], expected[key])


def test_editing_a_parameter_reruns_from_that_step_only(plate: Path, steps: list[FunctionStep]) -> None:
    preview = Preview(open_plate(plate), "A01", 1)
    first = preview.run_from(steps)
    assert CALLS == {"add": 2, "double": 2}  # one call per channel
    steps[1].kwargs = {"factor": 3}
    assert preview.first_stale(steps) == 1
    second = preview.run_from(steps)
    assert CALLS == {"add": 2, "double": 4}  # step 1 reused from the cache
    assert second[0].cached and not second[1].cached
    assert second[0].images is first[0].images
    key = next(iter(first[0].images))
    np.testing.assert_array_equal(second[1].images[key], first[0].images[key] * 3)
    steps[0].kwargs = {"value": 5}  # an earlier edit invalidates everything after it
    assert preview.first_stale(steps) == 0
    preview.run_from(steps)
    assert CALLS == {"add": 4, "double": 6}


def test_run_from_an_explicit_step_recomputes_it_and_reports_each_step(plate: Path,
                                                                      steps: list[FunctionStep]) -> None:
    preview = Preview(open_plate(plate), "A01", 1)
    preview.run_from(steps)
    seen: list[tuple[int, bool]] = []
    preview.run_from(steps, 1, on_step=lambda o: seen.append((o.index, o.cached)))
    assert seen == [(0, True), (1, False)]
    assert CALLS == {"add": 2, "double": 4}
    assert preview.cached(steps, 1) is not None
    assert preview.cached(steps, INPUT_INDEX) is not None


def test_a_cancelled_preview_raises_and_caches_nothing(plate: Path) -> None:
    started, release = threading.Event(), threading.Event()

    def slow(stack: np.ndarray) -> np.ndarray:
        started.set()
        release.wait(5)
        return stack

    preview = Preview(open_plate(plate), "A01", 1)
    token = CancelToken()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            preview.run_from([FunctionStep(slow, "slow")], cancel=token)
        except BaseException as e:
            errors.append(e)

    thread = threading.Thread(target=run)
    thread.start()
    assert started.wait(5)
    token.cancel()
    thread.join(2)  # gives up within one poll, the function still running
    release.set()
    assert not thread.is_alive()
    assert len(errors) == 1 and isinstance(errors[0], RunCancelledError)
    assert preview.first_stale([FunctionStep(slow, "slow")]) == 0


def test_label_steps_are_reported_as_labels(plate: Path) -> None:
    preview = Preview(open_plate(plate), "A01", 1)
    (blur, seg) = preview.run_from([FunctionStep("gaussian_blur", "blur", sigma=1.0),
                                    FunctionStep("segment_nuclei", "nuclei")])
    assert blur.kind == "image"
    assert seg.kind == "labels"
    assert all(np.issubdtype(a.dtype, np.integer) for a in seg.images.values())
    assert max(int(a.max()) for a in seg.images.values()) > 0


def test_unknown_site_and_failing_step_name_what_and_where(plate: Path) -> None:
    index = open_plate(plate)
    with pytest.raises(PipelineError, match="no image of well A01 site 9"):
        Preview(index, "A01", 9)

    def broken(stack: np.ndarray, **_: Any) -> np.ndarray:
        raise ValueError("boom")

    with pytest.raises(PipelineError, match="step 1 'broken'.*boom"):
        Preview(index, "A01", 1).run_from([FunctionStep(broken, "broken")])


# -- the preview process (PreviewServer): what the Preview dock uses ---------------------------
@pytest.fixture
def server():
    from openhcs_gui.pipeline.preview_server import PreviewServer

    srv = PreviewServer()
    yield srv
    srv.close()


def _demo_steps(split: bool = True) -> list[FunctionStep]:
    return [FunctionStep("gaussian_blur", "blur", sigma=1.0),
            FunctionStep("segment_nuclei", "nuclei", split_touching=split)]


def test_preview_process_shows_what_the_in_process_preview_computes(plate: Path, server) -> None:
    index = open_plate(plate)
    got: list[Any] = []
    outputs = server.run(index, "A01", 1, _demo_steps(), CancelToken(), got.append)
    assert [o.index for o in got] == [INPUT_INDEX, 0, 1]  # raw first, then each step as it ends
    assert [(o.name, o.kind) for o in outputs] == [("blur", "image"), ("nuclei", "labels")]
    here = Preview(index, "A01", 1).run_from(_demo_steps())
    for sent, local in zip(got[1:], here, strict=True):
        assert sent.images.keys() == local.images.keys()
        for key, arr in local.images.items():
            np.testing.assert_array_equal(sent.images[key], arr)
    labels = got[2].images
    assert all(a.dtype == np.uint16 for a in labels.values())  # napari shows uint16 labels without hashing
    assert max(int(a.max()) for a in labels.values()) > 0
    lo, hi = got[1].ranges[next(iter(got[1].images))]
    assert lo < hi  # display range computed in the preview process

    # edit the last step: the earlier outputs come back as the very same arrays (napari keeps its textures)
    again: list[Any] = []
    outputs = server.run(index, "A01", 1, _demo_steps(split=False), CancelToken(), again.append)
    assert [o.cached for o in outputs] == [True, False]
    assert again[0] is got[0] and again[1] is got[1]
    assert again[2] is not got[2]


def test_preview_process_cancel_errors_and_unregistered_functions(plate: Path, server) -> None:
    from openhcs_gui.pipeline.preview_server import NotSendable

    index = open_plate(plate)
    token = CancelToken()
    got: list[Any] = []

    def cancel_after_raw(output: Any) -> None:
        got.append(output.index)
        token.cancel()  # a newer edit arrives while step 1 runs

    with pytest.raises(RunCancelledError):
        server.run(index, "A01", 1, _demo_steps(), token, cancel_after_raw)
    assert got == [INPUT_INDEX]
    outputs = server.run(index, "A01", 1, _demo_steps(), CancelToken())  # the next edit runs normally
    assert [o.name for o in outputs] == ["blur", "nuclei"]

    with pytest.raises(PipelineError, match="'blur'.*sigma.*greater than or equal to 0") as bad:
        server.run(index, "A01", 1, [FunctionStep("gaussian_blur", "blur", sigma=-1.0)], CancelToken())
    assert type(bad.value) is PipelineError, bad.value
    with pytest.raises(NotSendable, match="not registered"):  # the dock runs these in its own process
        server.run(index, "A01", 1, [FunctionStep(add, "add")], CancelToken())


def test_a_superseded_request_still_hands_over_its_plate(plate: Path, tmp_path: Path, server) -> None:
    """A request carrying a new plate can be superseded before the preview process takes it up;
    the next request (sent without the plate) must still run on that new plate, not the old one.
    (The Preview dock's first preview hung, or showed the previous plate, when a well was
    clicked while the process was busy or still starting.)"""
    from openhcs_gui.plates import make_synthetic_plate

    big = open_plate(make_synthetic_plate(tmp_path / "big", wells=["A01"], sites=1, channels=1,
                                          shape=(1024, 1024), seed=5))
    small = open_plate(plate)
    busy = threading.Event()
    first = CancelToken()

    def long_preview() -> None:
        with pytest.raises(RunCancelledError):
            server.run(big, "A01", 1, _demo_steps(), first, lambda _o: busy.set())

    worker = threading.Thread(target=long_preview)
    worker.start()
    assert busy.wait(60)  # the process is segmenting the big plate
    stale = CancelToken()
    stale.cancel()  # a newer edit supersedes this one at once: the process never takes it up
    with pytest.raises(RunCancelledError):
        server.run(small, "A01", 1, _demo_steps(), stale)
    first.cancel()
    worker.join(60)
    got: list[Any] = []
    server.run(small, "A01", 1, _demo_steps(), CancelToken(), got.append)
    raw = got[0].images
    here = Preview(small, "A01", 1).inputs().images
    assert raw.keys() == here.keys()
    for key, arr in here.items():
        np.testing.assert_array_equal(raw[key], arr)  # the small plate's pixels, not the big one's


def test_the_preview_skips_per_object_tables_but_shows_the_same_labels(plate: Path) -> None:
    """Images only on screen: segmentation in the preview leaves out its per-object table (half its time)."""
    index = open_plate(plate)
    preview = Preview(index, "A01", 1)
    step = FunctionStep("segment_nuclei", "nuclei")
    (seg,) = preview.run_from([step])
    images = preview.inputs().images
    produced, tables = run_step(step, images, CancelToken(), preview.metadata)
    assert set(seg.images) == set(produced)
    assert all(np.array_equal(seg.images[k], produced[k]) for k in produced)
    assert "nuclei" in tables and "nuclei" not in seg.tables
    assert [r["object_count"] for r in seg.tables["objects"]] == [r["object_count"] for r in tables["objects"]]
