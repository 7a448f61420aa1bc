"""GUI figures: cold start, responsiveness during a run, viewer open.

Everything runs in child processes on a private Xvfb server (started here, so
a developer's own desktop is never touched and the numbers do not depend on a
window manager). "Shown" means the X server reports the top-level window as
viewable (mapped), which is what a user sees as the window appearing; it is
read from the X server with Xlib through :mod:`ctypes`, from outside the
process, so the measured process is not instrumented at all.

Cold start: the ``openhcs-gui`` console script (no plate) vs a bare
``python -c 'import PySide6.QtWidgets'`` + empty ``QMainWindow``, each from
process spawn to window viewable, median of the repeats. Both start with a
warm page cache (the first, unmeasured launch of each warms it). The window
is shown before napari is imported; ``gui.viewer_ready`` reports when napari's
viewer is there too (from inside the process, :mod:`benchmarks._start_child`).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks._core import Figure, SkipGroup
from benchmarks.plate import BenchPlate

__all__ = ["cold_start_figures", "plate_open_figures", "run_figures", "xvfb", "wait_for_window"]

_BASELINE = ("import PySide6.QtWidgets as w; a = w.QApplication([]); m = w.QMainWindow(); "
             "m.setWindowTitle('bench-baseline'); m.resize(1600, 1000); m.show(); a.exec()")


class _Attrs(ctypes.Structure):
    """Xlib ``XWindowAttributes`` (only ``map_state`` is read)."""

    _fields_ = [("x", ctypes.c_int), ("y", ctypes.c_int), ("width", ctypes.c_int),
                ("height", ctypes.c_int), ("border_width", ctypes.c_int), ("depth", ctypes.c_int),
                ("visual", ctypes.c_void_p), ("root", ctypes.c_ulong), ("c_class", ctypes.c_int),
                ("bit_gravity", ctypes.c_int), ("win_gravity", ctypes.c_int),
                ("backing_store", ctypes.c_int), ("backing_planes", ctypes.c_ulong),
                ("backing_pixel", ctypes.c_ulong), ("save_under", ctypes.c_int),
                ("colormap", ctypes.c_ulong), ("map_installed", ctypes.c_int),
                ("map_state", ctypes.c_int), ("all_event_masks", ctypes.c_long),
                ("your_event_mask", ctypes.c_long), ("do_not_propagate_mask", ctypes.c_long),
                ("override_redirect", ctypes.c_int), ("screen", ctypes.c_void_p)]


_ERROR_HANDLER = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)(lambda d, e: 0)


class _X:
    """Just enough Xlib to ask "is a top-level window titled X viewable?"."""

    IS_VIEWABLE = 2

    def __init__(self, display: str) -> None:
        name = ctypes.util.find_library("X11")
        if name is None:
            raise SkipGroup("libX11 not found (install libx11-6)")
        x = ctypes.cdll.LoadLibrary(name)
        x.XOpenDisplay.restype = ctypes.c_void_p
        x.XOpenDisplay.argtypes = [ctypes.c_char_p]
        x.XDefaultRootWindow.restype = ctypes.c_ulong
        x.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
        x.XQueryTree.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.POINTER(ctypes.c_ulong),
                                 ctypes.POINTER(ctypes.c_ulong),
                                 ctypes.POINTER(ctypes.POINTER(ctypes.c_ulong)),
                                 ctypes.POINTER(ctypes.c_uint)]
        x.XFetchName.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.POINTER(ctypes.c_char_p)]
        x.XGetWindowAttributes.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.POINTER(_Attrs)]
        x.XFree.argtypes = [ctypes.c_void_p]
        x.XCloseDisplay.argtypes = [ctypes.c_void_p]
        x.XInternAtom.restype = ctypes.c_ulong
        x.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
        x.XGetWindowProperty.argtypes = [
            ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_long, ctypes.c_long, ctypes.c_int,
            ctypes.c_ulong, ctypes.POINTER(ctypes.c_ulong), ctypes.POINTER(ctypes.c_int),
            ctypes.POINTER(ctypes.c_ulong), ctypes.POINTER(ctypes.c_ulong),
            ctypes.POINTER(ctypes.POINTER(ctypes.c_ubyte))]
        x.XSetErrorHandler(_ERROR_HANDLER)  # a window vanishing mid-query must not exit us
        self.x = x
        self.dpy = x.XOpenDisplay(display.encode())
        if not self.dpy:
            raise SkipGroup(f"cannot open X display {display}")
        self.root = x.XDefaultRootWindow(self.dpy)
        self.net_wm_name = x.XInternAtom(self.dpy, b"_NET_WM_NAME", 0)

    def _utf8_title(self, window: int) -> str | None:
        """``_NET_WM_NAME`` (UTF-8): a title outside Latin-1 ("Untitled — OpenHCS") is not in WM_NAME."""
        kind, fmt = ctypes.c_ulong(), ctypes.c_int()
        n, after = ctypes.c_ulong(), ctypes.c_ulong()
        data = ctypes.POINTER(ctypes.c_ubyte)()
        if self.x.XGetWindowProperty(self.dpy, window, self.net_wm_name, 0, 1024, 0, 0, ctypes.byref(kind),
                                     ctypes.byref(fmt), ctypes.byref(n), ctypes.byref(after),
                                     ctypes.byref(data)) != 0 or not data:
            return None
        try:
            return bytes(data[: n.value]).decode("utf-8", errors="replace") if fmt.value == 8 else None
        finally:
            self.x.XFree(data)

    def viewable_titles(self) -> list[str]:
        """Titles of the viewable top-level windows (no window manager: root's children)."""
        x, dpy = self.x, self.dpy
        root, parent = ctypes.c_ulong(), ctypes.c_ulong()
        children, n = ctypes.POINTER(ctypes.c_ulong)(), ctypes.c_uint()
        if not x.XQueryTree(dpy, self.root, ctypes.byref(root), ctypes.byref(parent),
                            ctypes.byref(children), ctypes.byref(n)):
            return []
        titles = []
        try:
            for i in range(n.value):
                attrs = _Attrs()
                if not x.XGetWindowAttributes(dpy, children[i], ctypes.byref(attrs)):
                    continue
                if attrs.map_state != self.IS_VIEWABLE:
                    continue
                utf8 = self._utf8_title(children[i])
                if utf8:
                    titles.append(utf8)
                    continue
                name = ctypes.c_char_p()
                if x.XFetchName(dpy, children[i], ctypes.byref(name)) and name.value:
                    titles.append(name.value.decode(errors="replace"))
                    x.XFree(name)
        finally:
            if children:
                x.XFree(children)
        return titles

    def close(self) -> None:
        """Close the connection to the X server."""
        self.x.XCloseDisplay(self.dpy)


@contextmanager
def xvfb() -> Iterator[str]:
    """Start a private Xvfb and yield its DISPLAY (``:N``); stop it afterwards."""
    binary = shutil.which("Xvfb")
    if binary is None:
        raise SkipGroup("Xvfb is not installed (scripts/system_deps.sh --test installs it)")
    for n in range(142, 200):
        if not os.path.exists(f"/tmp/.X{n}-lock") and not os.path.exists(f"/tmp/.X11-unix/X{n}"):
            break
    else:
        raise SkipGroup("no free X display number in :142-:199")
    # -noreset: otherwise the server resets when its last client leaves and refuses the next.
    proc = subprocess.Popen([binary, f":{n}", "-screen", "0", "1920x1200x24", "-nolisten", "tcp",
                             "-noreset"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.perf_counter() + 10
        while True:  # the socket appears before the server accepts: wait for a connection
            if proc.poll() is not None or time.perf_counter() > deadline:
                raise SkipGroup(f"Xvfb :{n} did not start")
            try:
                _X(f":{n}").close()
                break
            except SkipGroup:
                time.sleep(0.05)
        yield f":{n}"
    finally:
        proc.terminate()
        proc.wait(10)


def _env(display: str, home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(DISPLAY=display, QT_QPA_PLATFORM="xcb", XDG_CONFIG_HOME=str(home / "config"),
               XDG_CACHE_HOME=str(home / "cache"), NAPARI_CONFIG=str(home / "napari.yaml"))
    env.pop("WAYLAND_DISPLAY", None)
    # as on a user's machine, compiled bytecode is cached (the unmeasured warm-up launch writes it)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def wait_for_window(cmd: list[str], title: str, display: str, env: dict[str, str],
                    timeout: float = 120) -> float:
    """Seconds from spawning ``cmd`` until a viewable window whose title contains ``title``.

    Contains, not starts with: the main window is titled after its project
    ("Untitled — OpenHCS").
    """
    x = _X(display)
    try:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            while True:
                if any(title in t for t in x.viewable_titles()):
                    return time.perf_counter() - t0
                if proc.poll() is not None:
                    err = proc.stderr.read().decode(errors="replace")[-2000:] if proc.stderr else ""
                    raise RuntimeError(f"{cmd[0]} exited ({proc.returncode}) before its window "
                                       f"appeared:\n{err}")
                if time.perf_counter() - t0 > timeout:
                    raise RuntimeError(f"no '{title}' window after {timeout} s")
                time.sleep(0.005)
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    finally:
        x.close()


def _gui_command() -> list[str]:
    script = Path(sys.executable).parent / "openhcs-gui"
    return [str(script)] if script.exists() else [sys.executable, "-m", "openhcs_gui"]


def _cold_start(display: str, home: Path, repeats: int) -> Figure:
    env = _env(display, home)
    ours_cmd, base_cmd = _gui_command(), [sys.executable, "-c", _BASELINE]
    wait_for_window(ours_cmd, "OpenHCS", display, env)  # warm the page cache, unmeasured
    wait_for_window(base_cmd, "bench-baseline", display, env)
    ours = statistics.median(wait_for_window(ours_cmd, "OpenHCS", display, env)
                             for _ in range(repeats))
    base = statistics.median(wait_for_window(base_cmd, "bench-baseline", display, env)
                             for _ in range(repeats))
    return Figure("gui.cold_start", "GUI cold start (launch -> window shown)", ours, base, "s",
                  ours, "< 1", "s from launch to the window shown (target: a usable window within 1 s)",
                  note=f"`{' '.join(Path(c).name for c in ours_cmd)}` vs python -c "
                       "'import PySide6.QtWidgets' + empty QMainWindow (baseline); private Xvfb, "
                       f"warm page cache; ours / bare window = {ours / base:.1f}x")


def _run_child(plate: BenchPlate, display: str, home: Path) -> dict[str, Any]:
    out = home / "gui_run"
    out.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run([sys.executable, "-m", "benchmarks._gui_child", str(plate.path), str(out)],
                          env=_env(display, home), capture_output=True, text=True, timeout=3600,
                          cwd=Path(__file__).resolve().parent.parent, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"GUI child failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _need_qt() -> None:
    try:
        import PySide6  # noqa: F401
    except ImportError as e:
        raise SkipGroup(f"PySide6 is not importable: {e}") from e


def _viewer_ready(display: str, home: Path, repeats: int) -> Figure:
    """Launch -> napari viewer ready, and the GUI stall while napari loads behind the window."""
    runs = []
    for i in range(repeats):
        proc = subprocess.run([sys.executable, "-m", "benchmarks._start_child", str(home / f"start{i}.ini")],
                              env=_env(display, home), capture_output=True, text=True, timeout=600,
                              cwd=Path(__file__).resolve().parent.parent, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"start child failed:\n{proc.stderr[-3000:]}")
        runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    viewer = statistics.median(r["viewer_s"] for r in runs)
    return Figure("gui.viewer_ready", "GUI start: launch -> napari viewer ready (the window is usable before)",
                  viewer, None, "s", None, "report",
                  note=f"median of {repeats}: window shown at {statistics.median(r['shown_s'] for r in runs):.2f} s "
                       f"(in-process), viewer at {viewer:.2f} s; longest GUI stall while napari loads "
                       f"{max(r['max_stall_ms'] for r in runs):.0f} ms",
                  extra={"runs": runs})


def cold_start_figures(plate: BenchPlate, workdir: Path) -> list[Figure]:
    """GUI cold start vs a bare PySide6 window, and when napari's viewer is ready (SkipGroup without Xvfb)."""
    _need_qt()
    home = Path(tempfile.mkdtemp(prefix="gui-", dir=workdir))
    with xvfb() as display:
        return [_cold_start(display, home, plate.repeats), _viewer_ready(display, home, plate.repeats)]


def plate_open_figures(workdir: Path) -> list[Figure]:
    """GUI main-thread max stall while a 1536-well plate opens (SkipGroup without Xvfb)."""
    _need_qt()
    from openhcs_gui.plates import make_synthetic_plate

    home = Path(tempfile.mkdtemp(prefix="gui-plate-", dir=workdir))
    plate = make_synthetic_plate(home / "plate_1536", wells=1536, sites=2, channels=1, shape=(16, 16))
    with xvfb() as display:
        proc = subprocess.run([sys.executable, "-m", "benchmarks._plate_open_child", str(plate)],
                              env=_env(display, home), capture_output=True, text=True, timeout=1800,
                              cwd=Path(__file__).resolve().parent.parent, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"plate-open child failed:\n{proc.stderr[-3000:]}")
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    first, alone = r["first_well"], r["napari_alone"]
    return [_stall_figure("gui.plate_open_stall", "GUI max main-thread stall while a 1536-well plate opens",
                          r, r["idle"], "same heartbeat on the idle window", "< 50",
                          f"1366×768 window, napari loaded; scan + {r['grid'][0]}×{r['grid'][1]} grid "
                          f"({r['cell_px']} px cells) + 1536-value heatmap, painted, in {r['open_s']:.2f} s",
                          extra=r),
            _stall_figure("gui.first_well_stall", "GUI max main-thread stall: click a well -> its images in napari",
                          first, alone, "napari alone adding the same arrays as its first layers", "report",
                          f"well A01 of the 1536-well plate (1 channel, 2 sites), {first['seconds']:.2f} s to "
                          f"painted; napari alone: max {alone['max_stall_ms']:.0f} ms, "
                          f"p99 {alone['p99_stall_ms']:.1f} ms",
                          extra={"first_well": first, "napari_alone": alone})]


def _stall_figure(key: str, title: str, ours: dict[str, Any], baseline: dict[str, Any], baseline_is: str,
                  target: str, what: str, extra: dict[str, Any]) -> Figure:
    """A GUI-stall figure: max stall of ``ours`` against ``baseline``'s, p99 and count in the note."""
    return Figure(key, title, ours["max_stall_ms"], baseline["max_stall_ms"], "ms", ours["max_stall_ms"], target,
                  f"max stall in ms (baseline: {baseline_is})",
                  note=f"{what}; p99 stall {ours['p99_stall_ms']:.1f} ms, {ours['stalls_over_50ms']} stalls > 50 ms",
                  extra=extra)


def run_figures(plate: BenchPlate, workdir: Path) -> list[Figure]:
    """Responsiveness during a run and viewer-open figures (SkipGroup without Xvfb)."""
    _need_qt()
    home = Path(tempfile.mkdtemp(prefix="gui-", dir=workdir))
    with xvfb() as display:
        r = _run_child(plate, display, home)
    run, idle = r["run"], r["idle"]
    return [
        Figure("gui.responsiveness", "GUI max main-thread stall during a run",
               run["max_stall_ms"], idle["max_stall_ms"], "ms", run["max_stall_ms"], "< 50",
               "max stall in ms (baseline: same heartbeat on the idle window)",
               note=f"5 ms QTimer heartbeat; run {run['run_s']:.1f} s ({run['status']}), "
                    f"p99 stall {run['p99_stall_ms']:.1f} ms, "
                    f"{run['stalls_over_50ms']} stalls > 50 ms of {run['ticks']} ticks",
               extra={"run": run, "idle": idle}),
        Figure("gui.viewer_open", f"viewer open ({r['backend']} well -> napari layers shown)",
               r["viewer_open_median_ms"], None, "ms", None, "report",
               note=f"median of {len(r['viewer_open_ms'])} wells: "
                    + ", ".join(f"{v:.0f}" for v in r["viewer_open_ms"]) + " ms",
               extra={"each_ms": r["viewer_open_ms"], "layers": r["viewer_layers"]}),
    ]
