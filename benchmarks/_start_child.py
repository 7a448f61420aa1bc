"""The desktop start seen from inside: ``python -m benchmarks._start_child SETTINGS_FILE``.

Starts the app as ``openhcs-gui gui`` does (window first, napari imported by a
worker, then the viewer built) and prints one JSON line: seconds from process
start to the window shown and to napari's viewer ready, and the longest GUI
thread stall (5 ms heartbeat) while napari loads behind the window.
"""

from __future__ import annotations

import json
import sys
import time


def main(settings_file: str) -> None:
    """Measure and print ``{"shown_s", "viewer_s", "max_stall_ms", ...}``."""
    import psutil

    started = psutil.Process().create_time()
    from PySide6.QtCore import QCoreApplication, QSettings

    from benchmarks._gui_child import Heartbeat
    from openhcs_gui.ui.app import create_main_window, start_app

    app = start_app()
    window = create_main_window(QSettings(settings_file, QSettings.Format.IniFormat), defer_viewer=True)
    window.show()
    beat = Heartbeat()
    beat.start()
    while not window.isVisible():
        QCoreApplication.processEvents()
    QCoreApplication.processEvents()
    shown = time.time() - started
    while not window.viewer.is_loaded:
        QCoreApplication.processEvents()
        time.sleep(0.001)
    viewer = time.time() - started
    stats = beat.stop()
    print(json.dumps({"shown_s": shown, "viewer_s": viewer, **stats}))
    window.close()
    app.processEvents()


if __name__ == "__main__":
    main(sys.argv[1])
