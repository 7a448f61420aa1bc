"""Check the evidence a ``--smoke-test`` run left behind (used by ``make package-test``).

The bundled app judges itself in its report; this script re-checks the two
things a person would look at, independently of the app's own code: the report
says ``passed`` with the zarr output shown in napari, and the window screenshot
is a real picture whose napari canvas area is not blank (pixel spread and a
share of lit pixels inside the canvas rectangle the report gives).

    python packaging/check_smoke.py OUTPUT_DIR [--label NAME]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image

MIN_CANVAS_STD = 2.0  # grey levels; an empty canvas is one flat colour (std 0)
MIN_LIT_FRACTION = 0.002  # share of canvas pixels clearly above the background


def check(output_dir: Path) -> list[str]:
    """Return the problems found in ``output_dir`` (empty list = pass)."""
    problems: list[str] = []
    report_path = output_dir / "smoke_report.json"
    if not report_path.is_file():
        return [f"{report_path} is missing"]
    report = json.loads(report_path.read_text(encoding="utf-8"))
    if report.get("status") != "passed":
        problems.append(f"report status {report.get('status')!r}: {report.get('reason')}")
    if not report.get("frozen"):
        problems.append("the report was not written by a frozen (bundled) app")
    layers = report.get("layers_shown") or []
    # outputs open over the raw images: the raw layers stay, the final step's come from zarr
    final = (report.get("final_step") or {}).get("name") or "\0"
    shown = [layer for layer in layers if final in str(layer.get("name", ""))]
    if not shown or any(layer.get("backend") != "zarr" for layer in shown):
        problems.append(f"napari did not show the zarr output: {layers}")
    shot = output_dir / "screenshot.png"
    if not shot.is_file():
        return [*problems, f"{shot} is missing"]
    image = np.asarray(Image.open(shot).convert("RGB"), dtype=np.float32)
    if image.shape[0] < 400 or image.shape[1] < 600:
        problems.append(f"screenshot is only {image.shape[1]}x{image.shape[0]} px")
    rect = report.get("canvas_rect_xywh")
    if not rect:
        return [*problems, "the report gives no canvas rectangle"]
    x, y, w, h = rect
    canvas = image[y:y + h, x:x + w]
    if canvas.size == 0:
        return [*problems, f"canvas rectangle {rect} lies outside the screenshot"]
    background = np.median(canvas.reshape(-1, 3), axis=0)
    lit = (np.abs(canvas - background).max(axis=-1) > 24).mean()
    std = float(canvas.std())
    if std < MIN_CANVAS_STD or lit < MIN_LIT_FRACTION:
        problems.append(f"napari canvas looks blank (std {std:.2f}, lit {lit:.4f})")
    print(f"  canvas {w}x{h} at ({x},{y}): pixel std {std:.1f}, lit fraction {lit:.4f}; "
          f"layers: {', '.join(layer['name'] for layer in layers)}")
    return problems


def main(argv: list[str] | None = None) -> int:
    """Print the verdict for one smoke-test folder; exit 1 if anything is wrong."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output_dir", type=Path)
    parser.add_argument("--label", default="smoke test")
    args = parser.parse_args(argv)
    problems = check(args.output_dir)
    for p in problems:
        print(f"  FAIL ({args.label}): {p}", file=sys.stderr)
    if not problems:
        print(f"  ok ({args.label}): report passed, screenshot shows an image in napari")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
