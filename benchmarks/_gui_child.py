"""GUI responsiveness and viewer-open child: ``python -m benchmarks._gui_child PLATE OUT``.

Runs under the X server :mod:`benchmarks.gui` starts. Opens the real main
window, loads the bench plate and pipeline, then:

* responsiveness: a 5 ms ``QTimer`` heartbeat on the GUI thread records every
  gap between ticks while the pipeline runs (Run button path); the largest
  gap beyond the interval is the longest time the window could not react.
  The same heartbeat on the idle window for 2 s gives the noise floor of
  this (loaded, 2-core) machine.
* viewer open: ``MainWindow.show_output(last step, well)`` (what a double
  click on a zarr well does) until its napari layers are added and the
  window has processed the resulting paint events; median over wells.

Prints one JSON line. With ``OPENHCS_BENCH_PROFILE=/path/prefix`` the GUI
thread is profiled (cProfile) during the run and the viewer opens, written to
``prefix.run.prof`` and ``prefix.viewer.prof``. With
``OPENHCS_BENCH_STALLS=/path/file.txt`` a thread samples the GUI thread's
Python stack every 2 ms while a :class:`Heartbeat` runs and writes, for every
stall over 50 ms, the stacks seen during it (cProfile gives totals, not the
one long call that makes a stall).
"""

from __future__ import annotations

import cProfile
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any


class Heartbeat:
    """Records the gaps between ticks of a precise timer on the GUI thread."""

    def __init__(self, interval_ms: int = 5) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.interval = interval_ms / 1000
        self.gaps: list[float] = []
        self._stall_windows: list[tuple[float, float]] = []
        self._last = 0.0
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._tick)

    def start(self) -> None:
        """Start recording (forgets earlier gaps)."""
        self.gaps = []
        self._stall_windows: list[tuple[float, float]] = []
        self._last = time.perf_counter()
        self.timer.start()
        self._sampler = _StallSampler.maybe()

    def stop(self) -> dict[str, float]:
        """Stop and summarise: max / p99 stall in ms, ticks, stalls over 50 ms."""
        self.timer.stop()
        if self._sampler is not None:
            self._sampler.stop(self._stall_windows)
        stalls = sorted(max(0.0, g - self.interval) * 1000 for g in self.gaps) or [0.0]
        return {"max_stall_ms": stalls[-1],
                "p99_stall_ms": stalls[min(len(stalls) - 1, int(0.99 * len(stalls)))],
                "ticks": len(self.gaps), "stalls_over_50ms": sum(s > 50 for s in stalls)}

    def _tick(self) -> None:
        now = time.perf_counter()
        self.gaps.append(now - self._last)
        if now - self._last > 0.05 + self.interval:
            self._stall_windows.append((self._last, now))
        self._last = now

    _sampler: _StallSampler | None = None


class _StallSampler:
    """Samples the GUI thread's Python stack every 2 ms (``OPENHCS_BENCH_STALLS``)."""

    def __init__(self, path: str) -> None:
        import threading

        self.path = path
        self.gui = threading.get_ident()
        self.samples: list[tuple[float, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="stall-sampler")
        self._thread.start()

    @classmethod
    def maybe(cls) -> _StallSampler | None:
        path = os.environ.get("OPENHCS_BENCH_STALLS")
        return cls(path) if path else None

    def _run(self) -> None:
        import traceback

        while not self._stop.wait(0.002):
            frame = sys._current_frames().get(self.gui)
            if frame is not None:
                stack = traceback.extract_stack(frame)[-14:]
                self.samples.append((time.perf_counter(),
                                     " <- ".join(f"{Path(f.filename).name}:{f.lineno}:{f.name}" for f in reversed(stack))))

    def stop(self, windows: list[tuple[float, float]]) -> None:
        from collections import Counter

        self._stop.set()
        self._thread.join()
        with open(self.path, "a", encoding="utf-8") as out:
            for start, end in sorted(windows, key=lambda w: w[0] - w[1])[:20]:
                seen = Counter(s for t, s in self.samples if start <= t <= end)
                out.write(f"stall {1000 * (end - start):.0f} ms, {sum(seen.values())} samples\n")
                for stack, n in seen.most_common(int(os.environ.get("OPENHCS_BENCH_STALL_STACKS", "4"))):
                    out.write(f"  {n:4d}x {stack}\n")


def _profiler(phase: str) -> cProfile.Profile | None:
    """A GUI-thread profiler when ``OPENHCS_BENCH_PROFILE`` names an output prefix.

    cProfile sees only the thread that enabled it, here the GUI thread: the
    one whose stalls the responsiveness figure measures.
    """
    if not os.environ.get("OPENHCS_BENCH_PROFILE"):
        return None
    prof = cProfile.Profile()
    prof.enable()
    return prof


def _dump(prof: cProfile.Profile | None, phase: str) -> None:
    if prof is not None:
        prof.disable()
        prof.dump_stats(f"{os.environ['OPENHCS_BENCH_PROFILE']}.{phase}.prof")


def _wait(app: Any, predicate: Any, timeout: float) -> bool:
    deadline = time.perf_counter() + timeout
    while not predicate():
        if time.perf_counter() > deadline:
            return False
        app.processEvents()
        time.sleep(0.001)
    return True


def main(argv: list[str]) -> int:
    """Measure and print ``{"run": {...}, "idle": {...}, "viewer_open_ms": [...]}``."""
    plate_path, out = Path(argv[0]), Path(argv[1])
    from PySide6.QtCore import QSettings

    from benchmarks.pipeline_bench import build_pipeline
    from openhcs_gui.ui.app import create_main_window, ensure_app

    app = ensure_app()
    window = create_main_window(settings=QSettings(str(out / "settings.ini"),
                                                   QSettings.Format.IniFormat))
    window.show()
    state: dict[str, Any] = {}
    window.plate_opened.connect(lambda p: state.__setitem__("plate", p))
    window.run_finished.connect(lambda r: state.__setitem__("result", r))
    window.open_plate(plate_path)
    if not _wait(app, lambda: "plate" in state, 120):
        raise RuntimeError("the plate did not open within 120 s")
    window.plate_panel.show_well(state["plate"].wells[0])  # a click: its raw images, as a user looks first
    window.session.replace_pipeline(build_pipeline())
    window.session.cfg.materialization_defaults.output_path = out / "runs"
    from openhcs_gui.ui import workers

    _wait(app, lambda: False, 0.5)
    workers.wait_idle(timeout=120)  # the first well's raw images, read in a worker...
    _wait(app, lambda: False, 1.5)  # ...then added to napari on this thread: let it settle

    beat = Heartbeat()
    beat.start()
    _wait(app, lambda: False, 2.0)
    idle = beat.stop()

    prof = _profiler("run")
    beat.start()
    t0 = time.perf_counter()
    if not window.start_run():
        raise RuntimeError("the Run button path refused to start")
    if not _wait(app, lambda: "result" in state, 1800):
        raise RuntimeError("the run did not finish within 30 min")
    run = {**beat.stop(), "run_s": time.perf_counter() - t0,
           "status": state["result"].status.value}
    _dump(prof, "run")

    result = state["result"]
    last = len(result.steps) - 1
    wells = list(result.wells)[-3:]
    opened: list[float] = []
    prof = _profiler("viewer")
    for well in wells:
        shown: list[Any] = []
        window.outputs_panel.layers_ready.connect(shown.append)  # after viewer.show_layers
        t0 = time.perf_counter()
        window.show_output(last, well)
        ok = _wait(app, lambda shown=shown: bool(shown), 60)
        app.processEvents()  # the paint that shows the new layers
        opened.append((time.perf_counter() - t0) * 1000)
        window.outputs_panel.layers_ready.disconnect(shown.append)
        if not ok:
            raise RuntimeError(f"well {well} did not open in the viewer within 60 s")
    _dump(prof, "viewer")
    layers = [layer.name for layer in window.viewer.layers]
    print(json.dumps({"run": run, "idle": idle, "viewer_open_ms": opened,
                      "viewer_open_median_ms": statistics.median(opened),
                      "viewer_layers": layers, "backend": result.steps[last].backend.value}))
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
