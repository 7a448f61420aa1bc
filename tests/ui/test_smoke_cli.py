"""`openhcs-gui --smoke-test DIR` (what bench scientists run to check an install) works from source."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image


@pytest.mark.gui
def test_smoke_test_flag_runs_the_real_app(tmp_path: Path) -> None:
    out = tmp_path / "check"
    env = {**os.environ, "HOME": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-m", "openhcs_gui", "--smoke-test", str(out)],
        capture_output=True, text=True, timeout=240, env=env,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads((out / "smoke_report.json").read_text())
    assert report["status"] == "passed"
    shot = np.asarray(Image.open(out / "screenshot.png").convert("L"), dtype=float)
    assert shot.shape[0] > 400 and shot.std() > 5  # a real window, not a blank frame
    assert (out / "smoke_plate_workspace" / "openhcs_metadata.json").is_file()
