"""GUI stall while a 1536-well plate opens: ``python -m benchmarks._plate_open_child PLATE``.

Runs under the X server :mod:`benchmarks.gui` starts. Opens the real main
window at 1366×768, waits until napari's viewer is loaded and the start-up
work is done (that stall is ``gui.viewer_ready``'s), then, with the 5 ms
heartbeat of :mod:`benchmarks._gui_child` on the GUI thread:

1. **plate open**, the way File → Open plate does: scan (a worker), grid of
   32 × 48 wells fitted to the Plate dock, the plate coloured by a per-well
   measurement (1536 values), painted;
2. **first well**: a click on well A01 until its images are painted in napari
   (napari builds its first layer: Qt controls, vispy visual, first draw);
   baseline: napari alone adding a layer of the same data to an empty viewer
   and drawing it (what any first layer costs here).

The largest gap between ticks beyond the interval is the longest time the
window could not react. Prints one JSON line.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any


def main(plate: str) -> None:
    """Measure and print ``{"max_stall_ms", "p99_stall_ms", "open_s", "wells", "first_well", ...}``."""
    from PySide6.QtCore import QCoreApplication, QEventLoop, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from benchmarks._gui_child import Heartbeat, _dump, _profiler
    from openhcs_gui.pipeline.measurements import WellMeasurement
    from openhcs_gui.ui import workers
    from openhcs_gui.ui.app import create_main_window

    app = QApplication.instance() or QApplication([])
    settings = QSettings(str(Path(plate).parent / "bench_settings.ini"), QSettings.Format.IniFormat)
    window = create_main_window(settings)
    window.resize(1366, 768)
    window.show()

    def wait(condition: Any, timeout_s: float = 120) -> None:
        deadline = time.perf_counter() + timeout_s
        while not condition():
            if time.perf_counter() > deadline:
                raise TimeoutError("plate did not open in time")
            QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)

    def settle(ms: int) -> None:
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    wait(lambda: window.isVisible() and window.viewer.is_loaded, 120)
    workers.wait_idle(timeout=120)
    settle(1000)
    idle = Heartbeat()
    idle.start()
    settle(1000)
    idle_stats = idle.stop()

    opened: list[Any] = []
    window.plate_opened.connect(opened.append)
    beat = Heartbeat()
    beat.start()
    prof = _profiler("plate_open")
    t0 = time.perf_counter()
    window.open_plate(plate)
    wait(lambda: bool(opened))
    wells = list(window.session.plate.wells)
    m = WellMeasurement(label="Nuclei count", unit="", values={w: float(i % 97) for i, w in enumerate(wells)},
                        measurement="Nuclei count", step="count", table="objects", statistic="count")
    window.plate_panel._on_measurements_loaded([m])
    window.plate_panel.colour_by("Nuclei count")
    window.docks["Plate"].raise_()
    window.plate_panel.grid.viewport().update()
    settle(300)  # paint and settle
    opened_s = time.perf_counter() - t0
    stats = beat.stop()
    _dump(prof, "plate_open")

    shown: list[str] = []
    window.plate_panel.well_layers_ready.connect(lambda well, _layers: shown.append(well))
    beat.start()
    t1 = time.perf_counter()
    window.plate_panel.show_well(wells[0])  # what a click on the well does
    wait(lambda: bool(shown) and len(window.viewer.layers) > 0)
    settle(300)
    first_well_s = time.perf_counter() - t1
    first = beat.stop()
    data = [layer.data for layer in window.viewer.layers]
    napari_alone = _napari_alone(app, data, beat, settle)

    model = window.plate_panel.grid_model
    print(json.dumps({**stats, "open_s": opened_s, "wells": len(wells), "grid": [model.rowCount(), model.columnCount()],
                      "cell_px": window.plate_panel.grid.cell_size(), "idle": idle_stats,
                      "first_well": {**first, "seconds": first_well_s}, "napari_alone": napari_alone}))
    window.close()
    app.processEvents()


def _napari_alone(app: Any, data: list[Any], beat: Any, settle: Any) -> dict[str, float]:
    """The floor of the first-well figure: a fresh napari window adding the same arrays as its first layers."""
    import napari

    viewer = napari.Viewer(show=True)
    viewer.window._qt_window.resize(1366, 768)
    settle(1500)
    beat.start()
    for array in data:
        viewer.add_image(array)
    settle(300)
    stats = beat.stop()
    viewer.close()
    app.processEvents()
    return stats


if __name__ == "__main__":
    main(sys.argv[1])
