"""Entry script of the PyInstaller bundle (``dist/openhcs-gui/openhcs-gui``).

The bundle must behave exactly like the ``openhcs-gui`` console script, so this
file only adds what a frozen app needs before handing over to ``openhcs_gui.cli``:

* ``multiprocessing.freeze_support()``: a frozen executable re-launches itself
  for worker processes (always on Windows/macOS "spawn"); without this call a
  child would start a second GUI instead of the worker.
* ``--smoke-test OUTPUT_DIR``: the installer's self-check, handled here directly
  so the bundle can be verified even if the CLI's argument parser changes.
"""

from __future__ import annotations

import multiprocessing
import sys

SMOKE_FLAG = "--smoke-test"


def _smoke_output_dir(argv: list[str]) -> str | None:
    """Return the ``--smoke-test`` directory from ``argv`` or ``None`` if absent.

    Raises
    ------
    SystemExit
        With a usage message when the flag is given without a directory.
    """
    for i, arg in enumerate(argv):
        if arg.startswith(SMOKE_FLAG + "="):
            return arg.split("=", 1)[1]
        if arg == SMOKE_FLAG:
            if i + 1 >= len(argv) or argv[i + 1].startswith("-"):
                raise SystemExit(f"usage: openhcs-gui {SMOKE_FLAG} OUTPUT_DIR")
            return argv[i + 1]
    return None


def main(argv: list[str] | None = None) -> int:
    """Run the smoke test or the normal command line; return the exit code."""
    argv = sys.argv[1:] if argv is None else argv
    output_dir = _smoke_output_dir(argv)
    if output_dir is not None:
        from openhcs_gui.ui.smoke import run_smoke_test

        return run_smoke_test(output_dir)
    from openhcs_gui.cli import main as cli_main

    return int(cli_main(argv) or 0)


if __name__ == "__main__":
    multiprocessing.freeze_support()
    sys.exit(main())
