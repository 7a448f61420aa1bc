"""What a napari user gets from ``pip install openhcs-gui``: run inside a fresh venv (test_wheel.sh).

The venv holds only the built wheel, its dependencies and the example function plugin
(``tests/napari_plugin/example_plugin``, installed from its own wheel). Under Xvfb this
script, like a user at a plain ``napari`` window:

1. checks ``openhcs_gui`` is imported from the venv's site-packages, not a checkout;
2. opens a plate folder as File -> Open Folder does (napari's reader dialog must offer
   "OpenHCS"; the script picks it): one well's fields as Image layers in µm;
3. docks "OpenHCS pipeline" from the Plugins menu's registry; the dock adopts the plate;
4. finds the plugin's napari-style functions in the dock's function list, builds a
   pipeline from them (built-in blur -> plugin invert twice, disk -> plugin labels, zarr) and runs it
   with the dock's Run button logic;
5. opens the run's workspace the same way: the labels come back as a Labels layer, on top;
6. writes ``wheel_report.json`` and ``napari.png`` (the whole window) to OUT.

Exit code 0 when every check passed, 1 with one sentence on stderr otherwise.
Usage: ``python check_wheel.py OUT`` (run from a directory outside the source tree).
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

PLUGIN_FUNCTIONS = ("example_invert", "example_threshold_labels")


class CheckFailed(Exception):
    """One user-visible expectation did not hold."""


def expect(condition: object, sentence: str) -> None:
    if not condition:
        raise CheckFailed(sentence)


def wait_until(app: Any, condition: Callable[[], object], seconds: float, what: str) -> None:
    """Spin the Qt event loop until ``condition()`` is true (workers report through signals)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise CheckFailed(f"{what} did not happen within {seconds:.0f} s.")
        app.processEvents()
        time.sleep(0.02)


def open_like_a_user(app: Any, viewer: Any, folder: Path, choice: str = "OpenHCS") -> list[str]:
    """Open ``folder`` through napari's GUI path and pick ``choice`` in its reader dialog.

    Returns the reader names the dialog offered ([] if napari asked nothing).
    """
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QRadioButton

    offered: list[str] = []
    returned = [False]  # _qt_open returned: stop looking (the dialog is modal, it runs inside it)

    def answer() -> None:
        if returned[0]:
            return
        dialog = app.activeModalWidget()
        if dialog is None or type(dialog).__name__ != "QtReaderDialog":
            QTimer.singleShot(50, answer)
            return
        buttons = dialog.findChildren(QRadioButton)
        offered.extend(b.text() for b in buttons)
        for button in buttons:
            button.setChecked(button.text() == choice)
        dialog.accept()

    QTimer.singleShot(0, answer)
    viewer.window._qt_viewer._qt_open([str(folder)], stack=False)
    returned[0] = True
    return offered


def run_checks(out: Path, report: dict[str, Any]) -> None:
    import openhcs_gui

    where = Path(openhcs_gui.__file__).resolve()
    report["openhcs_gui_file"] = str(where)
    expect("site-packages" in where.parts,
           f"openhcs_gui was imported from {where}, not from the installed wheel.")

    from openhcs_gui.functions import list_functions, plugin_errors

    expect(not plugin_errors(), f"function plugins failed to load: {plugin_errors()}")
    registered = {f.name: f for f in list_functions()}
    missing = [n for n in PLUGIN_FUNCTIONS if n not in registered]
    expect(not missing, f"the example plugin's functions {missing} are not registered.")
    report["plugin_sources"] = {n: registered[n].source for n in PLUGIN_FUNCTIONS}

    import napari
    import numpy as np
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    from openhcs_gui import Backend, FunctionStep, Pipeline
    from openhcs_gui.plates import make_synthetic_plate

    report["versions"] = {"napari": napari.__version__, "openhcs_gui": openhcs_gui.__version__,
                          "python": sys.version.split()[0]}
    plate = make_synthetic_plate(out / "plate", wells=["A01", "B02"], sites=2, channels=2,
                                 shape=(128, 128), seed=3)
    viewer = napari.Viewer(title="openhcs-gui wheel check")
    app = QApplication.instance()
    try:
        # 2. the plate as File -> Open Folder / drag-and-drop opens it: napari offers its
        #    readers for folders in a dialog; the user picks ours
        offered = open_like_a_user(app, viewer, plate)
        expect("OpenHCS" in offered, f"napari's reader dialog offered {offered}, not OpenHCS.")
        report["reader_dialog_offered"] = offered
        layers = list(viewer.layers)
        kinds = [type(layer).__name__ for layer in layers]
        expect(kinds == ["Image", "Image"], f"opening the plate gave layers {kinds}, not two Image layers.")
        px = float(layers[0].scale[-1])
        expect(0 < px < 1.0, f"the plate's layers have a pixel size of {px}, not micrometres.")
        report["plate_layers"] = [layer.name for layer in layers]

        # 3. the dock widget, as Plugins -> OpenHCS pipeline adds it
        _dock, widget = viewer.window.add_plugin_dock_widget("openhcs-gui", "OpenHCS pipeline")
        expect(type(widget).__name__ == "OpenHCSDock", f"the dock is a {type(widget).__name__}.")
        wait_until(app, lambda: widget.session.plate is not None, 60, "the dock adopting the opened plate")
        expect(Path(widget.session.plate.path) == plate, "the dock shows another plate than the one opened.")

        # 4. the plugin's functions in the dock's function list, run in a pipeline
        library = widget.pipeline_editor.library
        listed = [library.item(i).data(Qt.ItemDataRole.UserRole) for i in range(library.count())]
        missing = [n for n in PLUGIN_FUNCTIONS if n not in listed]
        expect(not missing, f"the dock's function list lacks {missing}.")
        report["functions_listed"] = len(listed)
        expect(widget.pipeline_editor.add_function("example_invert") is not None,
               "adding example_invert from the function list failed.")
        added = list(widget.session.pipeline)
        widget.session.replace_pipeline(Pipeline([
            FunctionStep(func=("gaussian_blur", {"sigma": 1.0}), name="blur"),
            FunctionStep(func=added[-1].func, name="invert"),
            FunctionStep(func=("example_invert", {}), name="invert back", backend=Backend.DISK),
            FunctionStep(func=("example_threshold_labels", {"fraction": 0.5}), name="nuclei",
                         backend=Backend.ZARR),
        ]))
        finished: list[Any] = []
        widget.run_panel.run_finished.connect(finished.append)
        t0 = time.monotonic()
        expect(widget.run_panel.start_run(), f"the dock refused to run: {widget.run_panel.blocked_reason()}")
        wait_until(app, lambda: finished, 180, "the pipeline run finishing")
        result = finished[0]
        report["run_seconds"] = round(time.monotonic() - t0, 1)
        expect(result.status.value == "completed", f"the run ended {result.status.value}: {result.summary()}")
        report["workspace"] = str(result.workspace)

        # 5. the workspace through our reader: the plugin's labels as a Labels layer
        viewer.layers.clear()
        offered = open_like_a_user(app, viewer, result.workspace)
        expect("OpenHCS" in offered, f"napari's reader dialog offered {offered} for the workspace.")
        layers = list(viewer.layers)
        kinds = sorted({type(layer).__name__ for layer in layers})
        expect(kinds == ["Image", "Labels"], f"opening the workspace gave layer kinds {kinds}.")
        top = viewer.layers[-1]
        expect(type(top).__name__ == "Labels", "the workspace's labels are not on top.")
        n_labels = int(np.asarray(top.data).max())
        expect(n_labels >= 2, f"the plugin's labels found {n_labels} objects; the plate's nuclei give several.")
        report["workspace_layers"] = [f"{type(layer).__name__}: {layer.name}" for layer in layers]
        report["labels_found"] = n_labels

        # 6. evidence: the whole window with the dock
        viewer.window._qt_window.resize(1400, 900)
        for _ in range(25):  # let the resize and the dock's layout settle
            app.processEvents()
            time.sleep(0.02)
        from PIL import Image

        shot = viewer.screenshot(canvas_only=False, flash=False)
        Image.fromarray(shot).save(out / "napari.png")
        expect(shot.std() > 0, "the napari window screenshot is blank.")
    finally:
        viewer.close()


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: check_wheel.py OUT", file=sys.stderr)
        return 2
    out = Path(argv[0]).resolve()
    out.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"status": "failed"}
    t0 = time.monotonic()
    try:
        run_checks(out, report)
        report["status"] = "passed"
    except CheckFailed as e:
        report["reason"] = str(e)
    except Exception as e:  # a crash is a failed check too, with its traceback in the report
        report["reason"] = f"{type(e).__name__}: {e}"
        report["traceback"] = traceback.format_exc()
    report["seconds"] = round(time.monotonic() - t0, 1)
    (out / "wheel_report.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    if report["status"] != "passed":
        print(f"wheel check failed: {report['reason']}", file=sys.stderr)
        print(report.get("traceback", ""), file=sys.stderr)
        return 1
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
