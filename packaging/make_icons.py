"""Draw the application icon (a 96-well plate) as SVG and render the PNG sizes.

The icon is generated rather than hand-drawn so the well grid is exact and the
small sizes can use a simplified plate: at 16-32 px a 8 x 12 grid of wells turns
into grey mush, so those sizes are rendered from a 4 x 6 plate with the same
colours. The outputs are committed in ``openhcs_gui/resources/`` (the app and the
installers read them from there); run this script again only to change the design::

    .venv/bin/python packaging/make_icons.py

PNGs are rendered with Qt's own ``QSvgRenderer`` (PySide6 is already a dependency),
so what the desktop shows is what Qt draws for the window icon.
"""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path

RESOURCES = Path(__file__).resolve().parent.parent / "openhcs_gui" / "resources"
PNG_SIZES = (16, 32, 48, 64, 128, 256)
SMALL_LIMIT = 32  # sizes up to this use the simplified plate

_PLATE = "#22313f"
_RIM = "#5c7a93"
_EMPTY = "#0f1822"


def _well_colour(row: int, col: int, rows: int, cols: int) -> str:
    """Colour a well like a dose-response screen: green rises across the columns.

    Two "hits" are magenta, as a fluorescence plate would look in napari. The
    pattern is a pure function of the position, so the icon is reproducible.
    """
    if (row, col) in {(rows // 4, cols - 3), (rows - 2, cols // 3)}:
        return "#ff3dc8"
    dose = col / max(cols - 1, 1)
    wobble = 0.12 * math.sin(1.7 * row + 0.9 * col)
    level = min(max(0.15 + 0.85 * dose + wobble, 0.0), 1.0)
    if level < 0.2:
        return _EMPTY
    g = int(60 + 195 * level)
    b = int(40 + 90 * level)
    return f"#{20:02x}{g:02x}{b:02x}"


def plate_svg(rows: int, cols: int) -> str:
    """Return the SVG text of a plate with ``rows`` x ``cols`` wells on a 256 px canvas.

    Parameters
    ----------
    rows, cols
        Well grid size (8 x 12 is a 96-well plate).

    Returns
    -------
    str
        A standalone SVG document.
    """
    x0, y0, w, h = 8.0, 44.0, 240.0, 168.0
    margin_x, margin_y = 22.0, 20.0
    pitch = min((w - 2 * margin_x) / cols, (h - 2 * margin_y) / rows)
    radius = pitch * 0.40
    gx = x0 + (w - pitch * cols) / 2 + pitch / 2
    gy = y0 + (h - pitch * rows) / 2 + pitch / 2
    chamfer = 18.0  # the A1 corner of a real plate is cut off
    body = (
        f"M{x0 + chamfer},{y0} H{x0 + w - 12} Q{x0 + w},{y0} {x0 + w},{y0 + 12} "
        f"V{y0 + h - 12} Q{x0 + w},{y0 + h} {x0 + w - 12},{y0 + h} "
        f"H{x0 + 12} Q{x0},{y0 + h} {x0},{y0 + h - 12} V{y0 + chamfer} Z"
    )
    wells = []
    for r in range(rows):
        for c in range(cols):
            cx, cy = gx + c * pitch, gy + r * pitch
            wells.append(
                f'<circle cx="{cx:.2f}" cy="{cy:.2f}" r="{radius:.2f}" '
                f'fill="{_well_colour(r, c, rows, cols)}"/>'
            )
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="256" height="256" '
        'viewBox="0 0 256 256">\n'
        f"  <title>OpenHCS GUI: a {rows * cols}-well plate</title>\n"
        f'  <path d="{body}" fill="{_PLATE}" stroke="{_RIM}" stroke-width="6" '
        'stroke-linejoin="round"/>\n'
        "  " + "\n  ".join(wells) + "\n</svg>\n"
    )


def render_png(svg_path: Path, png_path: Path, size: int) -> None:
    """Render ``svg_path`` to a square RGBA PNG of ``size`` pixels with QSvgRenderer."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(svg_path))
    if not renderer.isValid():
        raise ValueError(f"{svg_path}: Qt cannot parse this SVG")
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    if not image.save(str(png_path), "PNG"):
        raise OSError(f"{png_path}: could not write PNG")


def main() -> int:
    """Write icon.svg, icon-small.svg and icon-<size>.png into the resources folder."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    _app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    RESOURCES.mkdir(parents=True, exist_ok=True)
    big = RESOURCES / "icon.svg"
    small = RESOURCES / "icon-small.svg"
    big.write_text(plate_svg(8, 12), encoding="utf-8")
    small.write_text(plate_svg(4, 6), encoding="utf-8")
    for size in PNG_SIZES:
        source = small if size <= SMALL_LIMIT else big
        render_png(source, RESOURCES / f"icon-{size}.png", size)
    print(f"icons written to {RESOURCES}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
