"""``python -m openhcs_gui`` == the ``openhcs-gui`` command."""

from __future__ import annotations

import sys

from openhcs_gui.cli import main

if __name__ == "__main__":
    sys.exit(main())
