"""Self-test of an installed app: ``openhcs-gui --smoke-test OUTPUT_DIR``.

An installer is only proven by running what it installed, with the user's own
clicks replaced by the same public calls the buttons make. This module drives
the real main window through a whole session and reports on it:

1. open the main window (the one ``openhcs-gui`` shows) with throw-away settings;
2. write a small synthetic plate (worker thread, like every engine call);
3. ``open_plate`` → wait for ``plate_opened``, click the first well → its raw images in napari;
4. ``load_pipeline(demo_pipeline.json)`` (its last step writes OME-Zarr);
5. ``start_run()`` — what the Run button calls — and wait for ``run_finished``;
6. ``show_output(last step, first well)`` → the zarr output opens in napari;
7. let napari draw, then save ``screenshot.png`` (``QWidget.grab()`` of the
   window) and ``canvas.png`` (napari's own canvas render);
8. write ``smoke_report.json`` (status, reason, timings, workspace, layers, versions).

Exit codes: 0 passed, 1 a check failed (the reason is in the report and on
stderr), 2 a stage timed out, 3 the hard timeout fired (the event loop hung;
the process is ended with ``os._exit`` because a hung loop cannot clean up).
"""

from __future__ import annotations

import json
import os
import platform
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEventLoop, QObject, QPoint, QSettings, QTimer, Signal

from openhcs_gui._atomic import write_text_atomic

__all__ = ["run_smoke_test", "SmokeFailure", "REPORT_NAME", "SCREENSHOT_NAME"]

REPORT_NAME = "smoke_report.json"
SCREENSHOT_NAME = "screenshot.png"
CANVAS_NAME = "canvas.png"
EXIT_OK, EXIT_FAILED, EXIT_STAGE_TIMEOUT, EXIT_HARD_TIMEOUT = 0, 1, 2, 3
#: Small enough to run in seconds on a laptop, big enough to exercise every step.
SMOKE_PLATE = {"wells": ["A01", "A02", "B01", "B02"], "sites": 2, "channels": 2, "z": 1,
               "shape": (512, 512), "seed": 0}
WINDOW_SIZE = (1440, 900)


class SmokeFailure(RuntimeError):
    """A smoke-test check failed; ``exit_code`` says how (failed check or timeout)."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class _Relay(QObject):
    """Carries a worker task's outcome to :func:`_wait` as two stable signals.

    A :class:`~openhcs_gui.ui.workers.Task` is created by the very call being
    waited for, so its own signals cannot be connected before the call; these can.
    """

    fired = Signal(object)
    failed = Signal(str)

    def submit(self, tasks: Any, fn: Callable[..., Any], *args: Any, name: str, **kwargs: Any) -> Any:
        """Run ``fn`` on the window's workers (``tasks``) and relay its outcome."""
        return tasks.submit(fn, *args, name=name, on_finished=self.fired,
                            on_failed=self._on_task_failed, **kwargs)

    def watch(self, task: Any) -> Any:
        """Relay the failure of a task started elsewhere (its success has its own signal)."""
        if task is not None:
            task.failed.connect(self._on_task_failed)
        return task

    def _on_task_failed(self, error: BaseException, tb: str) -> None:
        self.failed.emit(f"{type(error).__name__}: {error}\n{tb}")


class _Report:
    """The JSON report, rewritten after every stage so a crash still leaves evidence."""

    def __init__(self, output_dir: Path) -> None:
        self.path = output_dir / REPORT_NAME
        self.t0 = time.perf_counter()
        self.data: dict[str, Any] = {
            "status": "running", "reason": None, "stage": None, "timings_s": {},
            "output_dir": str(output_dir), "frozen": bool(getattr(sys, "frozen", False)),
            "executable": sys.executable, "argv": sys.argv,
        }
        self._lock = threading.Lock()

    def stage(self, name: str) -> _Stage:
        """Context manager timing one stage under ``timings_s[name]``."""
        return _Stage(self, name)

    def write(self, **fields: Any) -> None:
        """Merge ``fields`` and write the file atomically (temp file + rename)."""
        with self._lock:
            self.data.update(fields)
            self.data["total_s"] = round(time.perf_counter() - self.t0, 3)
            write_text_atomic(self.path, json.dumps(self.data, indent=2, default=str))


class _Stage:
    def __init__(self, report: _Report, name: str) -> None:
        self.report, self.name = report, name

    def __enter__(self) -> None:
        self.start = time.perf_counter()
        self.report.write(stage=self.name)

    def __exit__(self, *exc: object) -> None:
        self.report.data["timings_s"][self.name] = round(time.perf_counter() - self.start, 3)
        self.report.write()


def _wait(trigger: Callable[[], Any], signal: Any, what: str, timeout_s: float,
          fail_signals: tuple[Any, ...] = ()) -> tuple[Any, ...]:
    """Call ``trigger`` and run the event loop until ``signal`` fires (pytest-qt's waitSignal).

    The slots are connected *before* ``trigger`` runs, so a signal emitted at once
    is not missed. Any of ``fail_signals`` firing (e.g. ``error_reported``) fails
    the stage with the arguments it carried.

    Returns
    -------
    tuple
        The arguments ``signal`` was emitted with.

    Raises
    ------
    SmokeFailure
        On a failure signal, a false/None trigger result, or after ``timeout_s``.
    """
    loop = QEventLoop()
    box: dict[str, tuple[Any, ...]] = {}

    def _ok(*args: Any) -> None:
        box.setdefault("ok", args)
        loop.quit()

    def _bad(*args: Any) -> None:
        box.setdefault("bad", args)
        loop.quit()

    signal.connect(_ok)
    for s in fail_signals:
        s.connect(_bad)
    timer = QTimer()
    timer.setSingleShot(True)
    timer.timeout.connect(loop.quit)
    try:
        started = trigger()
        if started is False or started is None:
            raise SmokeFailure(f"{what}: the action did not start (returned {started!r})")
        if not box:
            timer.start(int(timeout_s * 1000))
            loop.exec()
    finally:
        timer.stop()
        signal.disconnect(_ok)
        for s in fail_signals:
            s.disconnect(_bad)
    if "bad" in box:
        raise SmokeFailure(f"{what}: {' '.join(str(a) for a in box['bad'])}")
    if "ok" not in box:
        raise SmokeFailure(f"{what}: no result after {timeout_s:.0f} s", EXIT_STAGE_TIMEOUT)
    return box["ok"]


def _wait_until(condition: Callable[[], bool], what: str, timeout_s: float) -> None:
    """Process events until ``condition()`` is true; fail the stage after ``timeout_s``."""
    deadline = time.perf_counter() + timeout_s
    while not condition():
        if time.perf_counter() > deadline:
            raise SmokeFailure(f"{what}: not done after {timeout_s:.0f} s", EXIT_STAGE_TIMEOUT)
        _pump(0.05)


def _pump(seconds: float) -> None:
    """Process events for ``seconds`` so napari/vispy can lay out and paint."""
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


def _versions() -> dict[str, str]:
    """Versions of the pieces a bug report needs (read at runtime, not at build time)."""
    from importlib.metadata import PackageNotFoundError, version

    import PySide6
    from PySide6.QtCore import qVersion

    out = {"python": platform.python_version(), "platform": platform.platform(),
           "qt": qVersion(), "pyside6": PySide6.__version__}
    for dist in ("openhcs-gui", "napari", "numpy", "zarr", "vispy", "scikit-image", "dask"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = "not installed"
    return out


def _layer_info(layer: Any) -> dict[str, Any]:
    data = layer.data[0] if getattr(layer, "multiscale", False) else layer.data
    return {"name": layer.name, "shape": list(data.shape), "dtype": str(data.dtype),
            "array_type": f"{type(data).__module__}.{type(data).__name__}",
            "kind": type(layer).__name__.lower(),  # image | labels
            "contrast_limits": ([float(v) for v in layer.contrast_limits]
                                if hasattr(layer, "contrast_limits") else None),
            "multiscale": bool(getattr(layer, "multiscale", False)),
            "backend": layer.metadata.get("backend"), "visible": bool(layer.visible)}


def _capture(window: Any, output_dir: Path) -> dict[str, Any]:
    """Save the window and canvas images; return paths, canvas geometry and pixel spread."""
    import numpy as np
    from PIL import Image

    pixmap = window.grab()
    shot = output_dir / SCREENSHOT_NAME
    if not pixmap.save(str(shot), "PNG"):
        raise SmokeFailure(f"could not write {shot}")
    canvas = window.viewer.qt_viewer.canvas.native
    top_left = canvas.mapTo(window, QPoint(0, 0))
    ratio = pixmap.devicePixelRatio()
    rect = [int(top_left.x() * ratio), int(top_left.y() * ratio),
            int(canvas.width() * ratio), int(canvas.height() * ratio)]
    rendered = np.asarray(window.viewer.qt_viewer.screenshot(flash=False))
    Image.fromarray(rendered).save(output_dir / CANVAS_NAME)
    rgb = rendered[..., :3].astype(np.float32)
    return {"screenshot": str(shot), "canvas_png": str(output_dir / CANVAS_NAME),
            "screenshot_size": [pixmap.width(), pixmap.height()], "canvas_rect_xywh": rect,
            "canvas_pixel_std": round(float(rgb.std()), 3),
            "canvas_nonblack_fraction": round(float((rgb.max(axis=-1) > 8).mean()), 4)}


def _session(report: _Report, output_dir: Path) -> None:
    """Drive the window through plate → pipeline → run → zarr output in napari."""
    from openhcs_gui.constants import Backend, RunStatus
    from openhcs_gui.pipeline import demo_pipeline_path
    from openhcs_gui.plates import make_synthetic_plate
    from openhcs_gui.ui import workers
    from openhcs_gui.ui.app import create_main_window, start_app

    with report.stage("start_app"):  # as `openhcs-gui gui` starts: window first, napari behind it
        start_app()
        settings = QSettings(str(output_dir / "settings.ini"), QSettings.Format.IniFormat)
        window = create_main_window(settings=settings, defer_viewer=True)
        window.resize(*WINDOW_SIZE)
        window.show()
        _pump(0.5)
    with report.stage("load_viewer"):
        _wait_until(lambda: window.viewer.is_loaded, "napari's viewer to load", 120)
    try:
        relay = _Relay()
        plate_dir = output_dir / "smoke_plate"
        with report.stage("make_plate"):
            _wait(lambda: relay.submit(window.tasks, make_synthetic_plate, plate_dir,
                                       name="smoke plate", **SMOKE_PLATE),
                  relay.fired, "writing the demo plate", 120, (relay.failed,))
        with report.stage("open_plate"):
            raw_wells: list[str] = []  # connected first: the raw images may come at once
            window.plate_panel.well_layers_ready.connect(lambda w, _layers: raw_wells.append(w))
            (plate,) = _wait(lambda: window.open_plate(plate_dir), window.plate_opened,
                             "opening the plate", 120, (window.error_reported,))
            window.plate_panel.show_well(plate.wells[0])  # what a click on the well does
            _wait_until(lambda: bool(raw_wells), "showing the first well's raw images", 60)
        report.write(plate={"path": str(plate_dir), "format": plate.format, "wells": plate.wells,
                            "sites": plate.sites, "channels": plate.channels})
        with report.stage("load_pipeline"):
            (pipeline,) = _wait(lambda: window.load_pipeline(demo_pipeline_path()),
                                window.pipeline_loaded, "loading the demo pipeline", 60,
                                (window.error_reported,))
        last = list(pipeline)[-1]
        if last.backend is not Backend.ZARR:
            raise SmokeFailure(f"the demo pipeline's last step writes to {last.backend}, not zarr")
        report.write(pipeline=[s.name for s in pipeline])
        with report.stage("run"):
            (result,) = _wait(window.start_run, window.run_finished, "running the pipeline",
                              300, (window.error_reported,))
        final = result.steps[-1]
        report.write(workspace=str(result.workspace), run_status=result.status.value,
                     final_step={"name": final.name, "backend": final.backend.value,
                                 "location": final.image_dir, "images": len(final.keys)},
                     run_errors=[f"{e.well}/{e.step}: {e.message}" for e in result.errors])
        if result.status is not RunStatus.COMPLETED:
            raise SmokeFailure(f"run {result.status.value}: {result.errors[:3]}")
        if final.backend is not Backend.ZARR or not Path(final.image_dir).is_dir():
            raise SmokeFailure(f"no zarr store at {final.image_dir} ({final.backend.value})")
        well = final.keys[0].well
        with report.stage("show_output"):
            _wait(lambda: relay.watch(window.show_output(final.index, well)),
                  window.outputs_panel.layers_ready, f"opening the zarr output of {well}", 60,
                  (window.error_reported, relay.failed))
            _pump(1.5)
        layers = [_layer_info(layer) for layer in window.viewer.layers]
        report.write(layers_shown=layers)
        # Outputs open over the raw images they came from: the raw layers stay, and every
        # layer of the final step must be read from its zarr store.
        shown = [layer for layer in layers if final.name in layer["name"]]
        if not shown or any(layer["backend"] != "zarr" for layer in shown):
            raise SmokeFailure(f"napari does not show the zarr output: {layers}")
        with report.stage("screenshot"):
            capture = _capture(window, output_dir)
        report.write(**capture)
        if capture["canvas_pixel_std"] < 1.0:
            raise SmokeFailure(f"the napari canvas is blank (pixel std {capture['canvas_pixel_std']})")
    finally:
        if report.data.get("screenshot") is None:
            try:  # a picture of the failure is the most useful evidence
                window.grab().save(str(output_dir / SCREENSHOT_NAME), "PNG")
                report.write(screenshot=str(output_dir / SCREENSHOT_NAME))
            except Exception as e:  # reported, never hides the original failure
                report.write(screenshot_error=repr(e))
        with report.stage("close"):
            window.close()
            workers.shutdown()


def _watchdog(report: _Report, timeout_s: float) -> threading.Timer:
    """End the process if the whole test exceeds ``timeout_s`` (a hung event loop)."""

    def _fire() -> None:
        report.write(status="timeout", reason=f"hard timeout after {timeout_s:.0f} s in stage "
                     f"{report.data.get('stage')!r}")
        print(f"openhcs-gui smoke test: TIMEOUT after {timeout_s:.0f} s "
              f"(stage {report.data.get('stage')})", file=sys.stderr, flush=True)
        os._exit(EXIT_HARD_TIMEOUT)

    timer = threading.Timer(timeout_s, _fire)
    timer.daemon = True
    timer.start()
    return timer


def run_smoke_test(output_dir: str | os.PathLike[str], timeout_s: float = 600.0) -> int:
    """Run the GUI self-test and write its evidence into ``output_dir``.

    Parameters
    ----------
    output_dir
        Created if missing; receives the plate, its workspace, ``screenshot.png``,
        ``canvas.png`` and ``smoke_report.json``.
    timeout_s
        Hard limit for the whole test (the ``OPENHCS_SMOKE_TIMEOUT`` environment
        variable overrides it).

    Returns
    -------
    int
        0 passed, 1 a check failed, 2 a stage timed out (3 is used by the hard
        timeout, which ends the process itself).
    """
    out = Path(output_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    # Keep the user's napari preferences untouched by the test.
    os.environ.setdefault("NAPARI_CONFIG", str(out / "napari_settings.yaml"))
    timeout_s = float(os.environ.get("OPENHCS_SMOKE_TIMEOUT", timeout_s))
    report = _Report(out)
    report.write()
    from openhcs_gui.display import has_display

    if not has_display():  # Qt would abort the process without a useful message
        why = ("no display: run under a desktop session or xvfb-run "
                  "(DISPLAY/WAYLAND_DISPLAY unset, QT_QPA_PLATFORM not offscreen)")
        report.write(status="failed", reason=why, exit_code=EXIT_FAILED)
        print(f"openhcs-gui smoke test: FAILED: {why}", file=sys.stderr, flush=True)
        return EXIT_FAILED
    watchdog = _watchdog(report, timeout_s)
    code, reason = EXIT_OK, None
    try:
        _session(report, out)
    except SmokeFailure as e:
        code, reason = e.exit_code, str(e)
    except Exception as e:  # any crash is a failed test with its traceback in the report
        code, reason = EXIT_FAILED, f"{type(e).__name__}: {e}\n{traceback.format_exc()}"
    finally:
        watchdog.cancel()
    try:
        versions = _versions()
    except Exception as e:  # versions are evidence, not a check
        versions = {"error": repr(e)}
    status = "passed" if code == EXIT_OK else ("timeout" if code == EXIT_STAGE_TIMEOUT else "failed")
    report.write(status=status, reason=reason, exit_code=code, versions=versions)
    line = f"openhcs-gui smoke test: {status.upper()} in {report.data['total_s']:.1f} s"
    print(line + (f": {reason}" if reason else f" (report: {report.path})"),
          file=sys.stderr if code else sys.stdout, flush=True)
    return code
