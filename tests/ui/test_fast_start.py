"""The desktop app's start: a usable window before napari is imported, the viewer right after.

napari's imports are most of a start (~2 s of 4 here). ``openhcs-gui gui``
shows the window first (plate, pipeline, run panels work at once) and builds
the viewer when a worker has imported napari, or at once if something needs it
earlier (a well clicked before then).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.gui


def test_the_window_is_built_without_importing_napari(tmp_path: Path) -> None:
    """In a fresh process: main window made and shown before napari, numpy and the function library load."""
    code = textwrap.dedent(f"""
        import sys, threading, time
        from PySide6.QtCore import QSettings
        from openhcs_gui.ui import pipeline_editor
        from openhcs_gui.ui.app import create_main_window, start_app
        listed = threading.Event()  # hold the worker that lists the functions until the window is checked
        real_list = pipeline_editor.list_functions
        def held_list():
            assert threading.current_thread() is not threading.main_thread(), "functions listed on the GUI thread"
            listed.wait(60)
            return real_list()
        pipeline_editor.list_functions = held_list
        app = start_app()
        window = create_main_window(QSettings({str(tmp_path / "s.ini")!r}, QSettings.Format.IniFormat),
                                    defer_viewer=True)
        window.show()
        assert window.isVisible() and not window.viewer.is_loaded
        assert [m for m in sys.modules if m.split(".")[0] == "napari"] == [], "napari imported before the window"
        # numpy, tifffile and the function library are a fifth of the start: they load after the window shows
        early = [m for m in ("numpy", "tifffile", "openhcs_gui.functions.filters") if m in sys.modules]
        assert early == [], f"imported before the window: {{early}}"
        assert window.pipeline_editor.library.count() == 0
        listed.set()
        deadline = time.monotonic() + 60
        while window.pipeline_editor.library.count() == 0 and time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.01)
        assert window.pipeline_editor.library.count() >= 10, "the function list fills once the window is up"
        assert window.menus.actions["open_plate"].isEnabled()
        window.tasks.close()
        print("OK", window.windowTitle())
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("OK") and "OpenHCS" in done.stdout


def test_the_viewer_arrives_by_itself_with_the_layer_docks(make_main_window, qtbot) -> None:
    window = make_main_window(defer_viewer=True)  # no event loop turn yet: nothing deferred has run
    assert not window.viewer.is_loaded and "Loading" in window.docks["Layers"].widget().text()
    window.show()
    qtbot.waitUntil(lambda: window.viewer.is_loaded, timeout=60_000)
    layers_dock = window.docks["Layers"]
    assert type(layers_dock.widget()).__name__ != "QLabel"  # napari's layer list moved in
    assert window.styleSheet()  # napari's dark look applied once it is there
    assert len(window.viewer.model.layers) == 0


def test_a_well_opened_before_the_viewer_is_shown_when_it_arrives(make_main_window, small_plate: Path,
                                                                   qtbot) -> None:
    window = make_main_window(show=True, defer_viewer=True)
    shown: list[str] = []
    window.plate_panel.well_layers_ready.connect(lambda well, _layers: shown.append(well))
    with qtbot.waitSignal(window.plate_opened, timeout=60_000):
        window.open_plate(small_plate)  # at once, before the event loop has run the warm-up
    window.plate_panel.show_well("A01")  # a click, most likely before napari is there
    qtbot.waitUntil(lambda: shown == ["A01"], timeout=60_000)
    assert window.viewer.is_loaded
    assert sorted(layer.name for layer in window.viewer.model.layers) == ["A01 DAPI", "A01 FITC"]


def test_the_first_layers_import_nothing_heavy_after_the_warm_up() -> None:
    """After ``preload_layer_modules`` (a worker), napari's first image and labels layers import no
    pandas / scipy / scikit-image / PyOpenGL module on the GUI thread (they took 0.8 s of the first
    well's freeze). Fails when a napari upgrade imports something new: extend ``LAYER_MODULES``."""
    code = textwrap.dedent("""
        import sys, threading
        import numpy as np
        from openhcs_gui.ui import warmup
        from openhcs_gui.ui.viewer import import_napari
        import_napari()
        worker = threading.Thread(target=warmup.preload_layer_modules)
        worker.start(); worker.join()
        import napari
        from PySide6.QtWidgets import QApplication
        viewer = napari.Viewer(show=True)
        app = QApplication.instance(); app.processEvents()
        before = set(sys.modules)
        viewer.add_image(np.zeros((2, 16, 16), np.uint16), channel_axis=0, name=["DAPI", "FITC"], scale=(0.65, 0.65))
        viewer.add_labels(np.zeros((16, 16), np.int32), name="nuclei")
        app.processEvents()
        heavy = sorted(m for m in set(sys.modules) - before
                       if m.split(".")[0] in ("pandas", "scipy", "skimage", "OpenGL", "dateutil"))
        print("NEW", heavy)
        viewer.close()
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "NEW []" in done.stdout, done.stdout[-2000:]


@pytest.mark.parametrize("defer_viewer", [True, False])
def test_the_warm_up_preloads_layer_modules_then_freezes_the_start_up_heap(make_main_window, qtbot, monkeypatch,
                                                                            defer_viewer: bool) -> None:
    """Both start paths end the warm-up with ``gc.freeze``: a full collection walking napari's ~280 000
    objects froze the window for ~135 ms while a 1536-well plate opened."""
    from openhcs_gui.ui import warmup

    events: list[str] = []
    preload, freeze = warmup.preload_layer_modules, warmup.freeze_startup_heap
    monkeypatch.setattr(warmup, "preload_layer_modules", lambda: (preload(), events.append("preloaded")))
    monkeypatch.setattr(warmup, "freeze_startup_heap", lambda: (freeze(), events.append("frozen")))
    window = make_main_window(show=True, defer_viewer=defer_viewer)
    qtbot.waitUntil(lambda: window.viewer.is_loaded and "frozen" in events, timeout=60_000)
    assert events == ["preloaded", "frozen"]


def test_preparing_napari_leaves_the_garbage_collector_as_it_found_it(monkeypatch) -> None:
    """The import runs with collections paused; afterwards (or after a failed import) they run again."""
    import gc

    from openhcs_gui.ui import viewer, warmup

    assert gc.isenabled()
    warmup.prepare_napari()
    assert gc.isenabled()

    def broken() -> None:
        assert not gc.isenabled()  # paused during the import
        raise ImportError("napari is broken")

    monkeypatch.setattr(viewer, "import_napari", broken)
    with pytest.raises(ImportError):
        warmup.prepare_napari()
    assert gc.isenabled()
    gc.disable()
    try:
        monkeypatch.setattr(viewer, "import_napari", lambda: None)
        warmup.prepare_napari()
        assert not gc.isenabled()  # a caller's own pause is kept
    finally:
        gc.enable()
