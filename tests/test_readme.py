"""The README's Python example runs as printed (with /tmp redirected to a temp folder)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_example_runs(tmp_path: Path) -> None:
    text = README.read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks, "README lost its Python example"
    code = blocks[0].replace('"/tmp/', f'"{tmp_path}/')
    namespace: dict[str, object] = {}
    exec(compile(code, str(README), "exec"), namespace)  # noqa: S102 - our own README
    result = namespace["result"]
    assert str(result.status) == "completed"
    assert result.workspace == tmp_path / "plate_workspace"
    assert (result.workspace / "step2_background" / "A01_s1_w1_z1.tif").is_file()
    assert (result.workspace / "step3_count" / "images.zarr" / ".zattrs").is_file()
    assert not (result.workspace / "step1_blur").exists()   # memory only
    blurred = namespace["blurred"]
    assert isinstance(blurred, np.ndarray) and blurred.shape == (256, 256)
