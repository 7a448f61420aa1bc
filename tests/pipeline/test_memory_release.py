"""The runner lets go of a well's arrays as soon as the well is done (flat memory over a plate)."""

from __future__ import annotations

import gc

from pipeline_helpers import REMEMBERED, WELLS, remember

from openhcs_gui.constants import Backend, RunStatus
from openhcs_gui.pipeline import FunctionStep, Pipeline, StepStarted


def test_finished_wells_arrays_are_released_before_the_run_ends(plate, cfg) -> None:
    cfg.num_workers = 1
    cfg.keep_intermediates = False
    REMEMBERED.clear()
    alive_at_start: dict[str, int] = {}

    def on_event(event: object) -> None:  # runs in the worker, before the next well's first call
        if isinstance(event, StepStarted) and event.step_index == 0 and event.well != WELLS[0]:
            gc.collect()
            alive_at_start[event.well] = sum(ref() is not None for ref in REMEMBERED)

    pipeline = Pipeline([
        FunctionStep(remember, name="first"),
        FunctionStep(remember, name="second", force_disk_output=True),
        FunctionStep(remember, name="last", backend=Backend.ZARR),
    ])
    result = pipeline.run(plate, cfg, progress=on_event)
    assert result.status is RunStatus.COMPLETED
    assert len(REMEMBERED) == len(WELLS) * 3 * 2  # 3 steps x 2 channel groups per well
    assert alive_at_start == dict.fromkeys(WELLS[1:], 0)
