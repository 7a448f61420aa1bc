"""FunctionStep: the grouping model, function specs, validation and events."""

from __future__ import annotations

import numpy as np
import pytest
from pipeline_helpers import create_final_dataset, preprocess
from pydantic import ValidationError

from openhcs_gui.constants import Backend, Component
from openhcs_gui.errors import PipelineError
from openhcs_gui.functions import gaussian_blur, max_projection
from openhcs_gui.pipeline import CancelToken, FunctionStep
from openhcs_gui.pipeline.well import run_step
from openhcs_gui.vfs.keys import ImageKey

KEYS = [ImageKey("A01", s, c, z) for s in (1, 2, 3) for c in (1, 2) for z in (1, 2)]


def _images() -> dict[ImageKey, np.ndarray]:
    """Each image is filled with a code of its key, so outputs show where they came from."""
    return {k: np.full((4, 4), k.site * 100 + k.channel * 10 + k.z, np.uint16) for k in KEYS}


@pytest.mark.parametrize(
    ("components", "n_groups", "stack_len", "first_group"),
    [
        ([Component.SITE], 4, 3, (1, 1, 1)),  # per (channel, z, time), stack over sites
        ([Component.Z], 6, 2, (1, 1, 1)),  # per (site, channel, time), stack over z
        ([Component.CHANNEL], 6, 2, (1, 1, 1)),  # per (site, z, time), stack over channels
        ([Component.SITE, Component.Z], 2, 6, (1, 1)),  # per (channel, time)
    ],
)
def test_grouping_model(components, n_groups, stack_len, first_group) -> None:
    step = FunctionStep(preprocess, variable_components=components)
    groups = step.groups(KEYS)
    assert len(groups) == n_groups
    assert all(len(g) == stack_len for g in groups.values())
    assert next(iter(groups)) == first_group
    for group in groups.values():  # the fixed components really are fixed
        for comp in step.fixed_components():
            assert len({getattr(k, comp.value) for k in group}) == 1


def test_collapsing_output_gets_index_one() -> None:
    step = FunctionStep(max_projection, variable_components=[Component.Z])
    out, _ = run_step(step, _images(), CancelToken())
    assert sorted(out) == sorted({ImageKey("A01", s, c, 1) for s in (1, 2, 3) for c in (1, 2)})
    assert int(out[ImageKey("A01", 2, 1, 1)][0, 0]) == 212  # max over z of 211, 212


def test_wrong_output_count_is_an_error() -> None:
    step = FunctionStep(lambda s: s[:2], name="bad")  # 3 sites in, 2 out
    with pytest.raises(PipelineError, match="'bad' returned 2 images for a group of 3"):
        run_step(step, _images(), CancelToken())


def test_dict_func_per_channel_and_passthrough() -> None:
    step = FunctionStep({1: (preprocess, {"offset": 10})}, name="per_channel")
    assert step.group_by is Component.CHANNEL
    out, _ = run_step(step, _images(), CancelToken())
    assert int(out[ImageKey("A01", 1, 1, 1)][0, 0]) == 111 - 10
    assert int(out[ImageKey("A01", 1, 2, 1)][0, 0]) == 121  # channel 2 passes through unchanged


def test_chain_runs_in_order_and_tables_get_identity() -> None:
    def table(stack: np.ndarray) -> tuple[np.ndarray, dict[str, list[dict[str, int]]]]:
        return stack, {"t": [{"index": i, "v": int(im.max())} for i, im in enumerate(stack)]}

    step = FunctionStep([(preprocess, {"offset": 1}), table], name="chain")
    out, tables = run_step(step, _images(), CancelToken())
    assert int(out[ImageKey("A01", 3, 2, 2)][0, 0]) == 322 - 1
    row = next(r for r in tables["t"] if (r["site"], r["channel"], r["z"]) == (3, 2, 2))
    assert row == {"well": "A01", "site": 3, "channel": 2, "z": 2, "v": 321}
    assert len(tables["t"]) == len(KEYS)


def test_function_gets_read_only_stack() -> None:
    def edit(stack: np.ndarray) -> np.ndarray:
        stack[0] = 0
        return stack

    with pytest.raises(ValueError, match="read-only"):
        run_step(FunctionStep(edit), _images(), CancelToken())


def test_cancel_stops_before_the_next_call() -> None:
    token = CancelToken()
    token.cancel()
    from openhcs_gui.errors import RunCancelledError

    with pytest.raises(RunCancelledError):
        run_step(FunctionStep(preprocess), _images(), token)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"func": preprocess, "sigma": 2}, "no parameter 'sigma'"),
        ({"func": preprocess, "offset": "lots"}, "parameter 'offset'"),
        ({"func": [], "name": "empty"}, "empty chain"),
        ({"func": 42, "name": "num"}, "must be a callable"),
        ({"func": preprocess, "variable_components": []}, "at least one"),
        ({"func": preprocess, "variable_components": [Component.WELL]}, "cannot contain 'well'"),
        ({"func": preprocess, "group_by": Component.SITE, "variable_components": [Component.Z]}, "only 'channel'"),
        ({"func": {"one": preprocess}, "name": "keys"}, "channel numbers"),
        ({"func": preprocess, "name": "a/b"}, "folder-safe"),
        ({"func": [preprocess, create_final_dataset], "offset": 3}, "single callable"),
    ],
)
def test_invalid_steps_name_the_step(kwargs: dict, match: str) -> None:
    with pytest.raises(PipelineError, match=match) as info:
        FunctionStep(**kwargs)
    assert "Step '" in str(info.value)


def test_default_name_and_kwargs() -> None:
    step = FunctionStep(gaussian_blur, sigma=3)
    assert step.name == "gaussian_blur"
    assert step.chain_for() == [(gaussian_blur, {"sigma": 3.0})]
    assert FunctionStep(preprocess).name == "seed_preprocess"


def test_edits_emit_events_and_bad_edits_are_rolled_back() -> None:
    step = FunctionStep(gaussian_blur, name="blur", sigma=1.0)
    seen: list[tuple[str, object]] = []
    for field in ("name", "kwargs", "force_disk_output", "backend", "func"):
        getattr(step.events, field).connect(lambda v, f=field: seen.append((f, v)))
    step.name = "smooth"
    step.kwargs = {"sigma": 2.0}
    step.force_disk_output = True
    step.backend = "zarr"
    assert step.backend is Backend.ZARR
    assert seen == [("name", "smooth"), ("kwargs", {"sigma": 2.0}), ("force_disk_output", True),
                    ("backend", Backend.ZARR)]
    with pytest.raises(ValidationError):
        step.kwargs = {"nope": 1}
    assert step.kwargs == {"sigma": 2.0}
    step.set_function(preprocess, offset=5)
    assert step.func is preprocess and step.kwargs == {"offset": 5}
