"""GUI stall while a 1536-well plate opens: ``python -m benchmarks._plate_open_child PLATE``.

Runs under the X server :mod:`benchmarks.gui` starts. Opens the real main
window at 1366×768 and, with the 5 ms heartbeat of :mod:`benchmarks._gui_child`
on the GUI thread, opens the plate the way File → Open plate does: scan (a
worker), grid of 32 × 48 wells fitted to the Plate dock, first well's images
in napari, then the plate coloured by a per-well measurement (1536 values).
The largest gap between ticks beyond the interval is the longest time the
window could not react. Prints one JSON line.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def main(plate: str) -> None:
    """Measure and print ``{"max_stall_ms", "p99_stall_ms", "open_s", "wells", ...}``."""
    from PySide6.QtCore import QCoreApplication, QEventLoop, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from benchmarks._gui_child import Heartbeat, _dump, _profiler
    from openhcs_gui.pipeline.measurements import WellMeasurement
    from openhcs_gui.ui.app import create_main_window

    app = QApplication.instance() or QApplication([])
    settings = QSettings(str(Path(plate).parent / "bench_settings.ini"), QSettings.Format.IniFormat)
    window = create_main_window(settings)
    window.resize(1366, 768)
    window.show()

    def wait(condition, timeout_s: float = 120) -> None:
        deadline = time.perf_counter() + timeout_s
        while not condition():
            if time.perf_counter() > deadline:
                raise TimeoutError("plate did not open in time")
            QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)

    wait(lambda: window.isVisible(), 30)
    idle = Heartbeat()
    idle.start()
    loop = QEventLoop()
    QTimer.singleShot(1000, loop.quit)
    loop.exec()
    idle_stats = idle.stop()

    shown: list[str] = []
    window.plate_panel.well_layers_ready.connect(lambda well, _layers: shown.append(well))
    beat = Heartbeat()
    beat.start()
    prof = _profiler("plate_open")
    t0 = time.perf_counter()
    window.open_plate(plate)
    wait(lambda: window.session.plate is not None and bool(shown) and len(window.viewer.layers) > 0)
    wells = list(window.session.plate.wells)
    m = WellMeasurement(label="Nuclei count", unit="", values={w: float(i % 97) for i, w in enumerate(wells)},
                        measurement="Nuclei count", step="count", table="objects", statistic="count")
    window.plate_panel._on_measurements_loaded([m])
    window.plate_panel.colour_by("Nuclei count")
    window.docks["Plate"].raise_()
    window.plate_panel.grid.viewport().repaint()
    opened = time.perf_counter() - t0
    loop = QEventLoop()
    QTimer.singleShot(300, loop.quit)  # paint and settle
    loop.exec()
    stats = beat.stop()
    _dump(prof, "plate_open")
    model = window.plate_panel.grid_model
    print(json.dumps({**stats, "open_s": opened, "wells": len(wells), "grid": [model.rowCount(), model.columnCount()],
                      "cell_px": window.plate_panel.grid.cell_size(), "idle": idle_stats}))
    window.close()
    app.processEvents()


if __name__ == "__main__":
    main(sys.argv[1])
