"""Live preview figures: a parameter edit -> updated napari layer, and GUI stalls meanwhile.

``python -m benchmarks --only preview``. The parent writes a one-well plate
with one 1024² site (2 channels, the synthetic nuclei + cytoplasm images) and
runs the child ``python -m benchmarks.preview_bench PLATE OUT`` under a private
Xvfb (see :mod:`benchmarks.gui`). The child opens the real main window,
loads the demo pipeline, switches Live preview on for A01 site 1 with the raw
images, step 1 and the last step ticked, and waits for the first preview.
Then, with the 5 ms GUI heartbeat of :mod:`benchmarks._gui_child` running:

* ``preview.edit_last_step``: edit a parameter of the last (segmentation)
  step, as the step form does (``step.kwargs = ...``) -> the last step's
  Labels layer shows its new data (``layer.events.set_data``: napari has
  sliced it for display); earlier steps come from the cache. The edit toggles
  splitting of touching nuclei, so half the repeats split and half do not
  (each kind's median is in the note);
* ``preview.edit_first_step``: edit the blur sigma -> the blur layer has its
  new data (the edited step's own result, shown before the steps after it end);
* ``preview.edit_first_step_full``: the same edit -> the last step's layer is
  updated (the whole demo pipeline re-ran on the site);
* ``preview.gui_max_stall``: the longest GUI-thread stall over all those edits;
  its baseline is napari alone giving the same layers new arrays the standard
  way (``layer.data = ...``: the redraw floor of this machine's software
  OpenGL, no engine and no panel involved; the preview refills its layers in place).

Each edit waits for the previous one to finish; medians over the repeats.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._core import Figure

__all__ = ["preview_figures"]

REPEATS = 5
SHAPE = (1024, 1024)


def preview_figures(workdir: Path) -> list[Figure]:
    """Edit -> layer latencies of the live preview and the GUI stall meanwhile (SkipGroup without Xvfb)."""
    from benchmarks import gui
    from openhcs_gui.plates.synthetic import make_synthetic_plate

    gui._need_qt()
    home = Path(tempfile.mkdtemp(prefix="preview-", dir=workdir))
    plate = make_synthetic_plate(home / "plate", wells=["A01"], sites=1, channels=2, shape=SHAPE)
    with gui.xvfb() as display:
        proc = subprocess.run([sys.executable, "-m", "benchmarks.preview_bench", str(plate), str(home)],
                              env=gui._env(display, home), capture_output=True, text=True, timeout=3600,
                              cwd=Path(__file__).resolve().parent.parent, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"preview child failed:\n{proc.stderr[-3000:]}")
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    load = f"load average {r['load'][0]:.1f} / {r['load'][1]:.1f} (start / end) on {os.cpu_count()} CPUs"

    def each(key: str) -> str:
        return ", ".join(f"{v:.0f}" for v in r[key]) + " ms"

    last, first, full = (statistics.median(r[k]) for k in ("last_ms", "first_ms", "full_ms"))
    by_value = {value: statistics.median(ms for ms, v in zip(r["last_ms"], r["last_values"], strict=True) if v == value)
                for value in set(r["last_values"])}
    kinds = "; ".join(f"{r['last_param']}={value}: median {ms:.0f} ms" for value, ms in sorted(by_value.items(), key=str))
    return [
        Figure("preview.edit_last_step", "preview: edit last step -> its labels layer updated (1024² site)",
               last, None, "ms", last, "< 300", "median ms",
               note=f"{r['last_param']} of step {r['steps']} toggled; {kinds}; each: {each('last_ms')}; {load}",
               extra={"each_ms": r["last_ms"], "values": r["last_values"], "median_by_value": by_value}),
        Figure("preview.edit_first_step", "preview: edit blur sigma -> blur layer updated (1024² site)",
               first, None, "ms", first, "< 300", "median ms",
               note=f"each: {each('first_ms')}; {load}", extra={"each_ms": r["first_ms"]}),
        Figure("preview.edit_first_step_full", "preview: edit blur sigma -> last step's layer updated",
               full, None, "ms", None, "report", "median ms",
               note=f"the whole demo pipeline re-runs on the site; each: {each('full_ms')}; "
                    f"step seconds (last full run): {r['step_seconds']}; {load}",
               extra={"each_ms": r["full_ms"], "step_seconds": r["step_seconds"]}),
        Figure("preview.gui_max_stall", "preview: GUI max main-thread stall while previews run",
               r["stall"]["max_stall_ms"], r["napari_only"]["max_stall_ms"], "ms", r["stall"]["max_stall_ms"],
               "< 50", "max stall in ms (baseline: napari alone redrawing the same layers)",
               note=f"5 ms heartbeat over {3 * REPEATS} edits; p99 {r['stall']['p99_stall_ms']:.1f} ms, "
                    f"{r['stall']['stalls_over_50ms']} stalls > 50 ms of {r['stall']['ticks']} ticks; "
                    f"napari alone giving the same layers new arrays: max {r['napari_only']['max_stall_ms']:.0f} ms, "
                    f"p99 {r['napari_only']['p99_stall_ms']:.1f} ms; idle window max "
                    f"{r['idle']['max_stall_ms']:.1f} ms; {load}",
               extra={"stall": r["stall"], "idle": r["idle"], "napari_only": r["napari_only"]}),
    ]


# -- child (runs under Xvfb) ---------------------------------------------------------
class _DataEvents:
    """Time of the latest ``events.set_data`` of named layers: napari has sliced the new data for display.

    Fired both when ``layer.data`` is replaced and when a layer's buffer is
    refilled in place and refreshed (how the preview updates its layers).
    """

    def __init__(self) -> None:
        self.at: dict[str, float] = {}

    def watch(self, layer: Any) -> None:
        layer.events.set_data.connect(lambda _e, name=layer.name: self.at.__setitem__(name, time.perf_counter()))


def _last_step_edit(step: Any, i: int) -> tuple[str, dict[str, Any]]:
    """A parameter of the segmentation step to change: a bool toggled, else a number nudged."""
    kwargs = dict(step.kwargs)
    for name, value in kwargs.items():
        if isinstance(value, bool):
            return name, {**kwargs, name: not value}
    for name, value in kwargs.items():
        if isinstance(value, float):
            return name, {**kwargs, name: value * (1.02 if i % 2 else 0.98)}
    raise RuntimeError(f"no bool or float parameter to edit on step {step.name!r}: {kwargs}")


def _napari_only_stall(app: Any, window: Any, beat: Any) -> dict[str, float]:
    """The floor: napari alone repainting the same preview layers with new arrays, no engine, no panel.

    Each repeat gives every preview layer a fresh copy of its data, one step's
    layers at a time with the event loop running in between (as step outputs
    arrive), so napari re-uploads and redraws exactly what an edit makes it redraw.
    """
    from benchmarks._gui_child import _wait

    layers = [la for la in window.viewer.layers if la.name.startswith("preview ")]
    steps = sorted({la.name.split(".")[0] for la in layers})
    _wait(app, lambda: False, 1.0)
    beat.start()
    for _ in range(REPEATS):
        for step in steps:
            for layer in (la for la in layers if la.name.split(".")[0] == step):
                layer.data = ([np.array(level) for level in layer.data] if layer.multiscale
                              else np.array(layer.data))
            _wait(app, lambda: False, 0.3)
    return beat.stop()


def _child(argv: list[str]) -> int:
    plate_path, out = Path(argv[0]), Path(argv[1])
    from PySide6.QtCore import QSettings

    from benchmarks._gui_child import Heartbeat, _dump, _profiler, _wait
    from openhcs_gui.pipeline.demo import load_demo_pipeline
    from openhcs_gui.ui import workers
    from openhcs_gui.ui.app import create_main_window, ensure_app

    load0 = os.getloadavg()[0]
    app = ensure_app()
    window = create_main_window(settings=QSettings(str(out / "settings.ini"), QSettings.Format.IniFormat))
    window.show()
    state: dict[str, Any] = {}
    window.plate_opened.connect(lambda p: state.__setitem__("plate", p))
    window.preview_panel.preview_finished.connect(lambda o: state.__setitem__("outputs", o))
    window.open_plate(plate_path)
    if not _wait(app, lambda: "plate" in state, 120):
        raise RuntimeError("the plate did not open within 120 s")
    window.session.replace_pipeline(load_demo_pipeline())
    steps = window.session.pipeline
    panel = window.preview_panel
    panel.set_active(True)
    panel.show_step(0)
    window.plate_panel.show_well("A01")  # a click on the well
    if not _wait(app, lambda: "outputs" in state and panel.well == "A01", 600):
        raise RuntimeError("the first preview did not finish within 600 s")
    workers.wait_idle(timeout=60)
    _wait(app, lambda: False, 1.0)
    names = {la.name: la for la in window.viewer.layers}
    blur_name = next(n for n in names if n.startswith("preview 1."))
    last_name = next(n for n in names if n.startswith(f"preview {len(steps)}."))
    events = _DataEvents()
    for name in (blur_name, last_name):
        events.watch(names[name])

    beat = Heartbeat()
    beat.start()
    _wait(app, lambda: False, 2.0)
    idle = beat.stop()

    def edit(index: int, kwargs: dict[str, Any], *layer_names: str) -> list[float]:
        state.pop("outputs", None)
        t0 = time.perf_counter()
        steps[index].kwargs = kwargs
        if not _wait(app, lambda: "outputs" in state and all(events.at.get(n, 0) > t0 for n in layer_names), 600):
            raise RuntimeError(f"no updated layer within 600 s after editing step {index + 1}")
        return [(events.at[n] - t0) * 1000 for n in layer_names]

    result: dict[str, Any] = {"last_ms": [], "first_ms": [], "full_ms": [], "steps": len(steps)}
    beat.start()
    prof = _profiler("preview")
    for i in range(REPEATS):
        param, kwargs = _last_step_edit(steps[-1], i)
        result["last_param"] = param
        result.setdefault("last_values", []).append(kwargs[param])
        result["last_ms"] += edit(len(steps) - 1, kwargs, last_name)
        sigma = float(steps[0].kwargs.get("sigma", 1.0))
        first, full = edit(0, {**steps[0].kwargs, "sigma": round(sigma + (0.25 if i % 2 == 0 else -0.25), 3)},
                           blur_name, last_name)
        result["first_ms"].append(first)
        result["full_ms"].append(full)
    result["stall"] = beat.stop()
    _dump(prof, "preview")
    result["napari_only"] = _napari_only_stall(app, window, beat)
    result["idle"] = idle
    result["step_seconds"] = {o.name: round(o.seconds, 3) for o in state["outputs"]}
    result["load"] = [load0, os.getloadavg()[0]]
    window.close()
    workers.shutdown()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(_child(sys.argv[1:]))
