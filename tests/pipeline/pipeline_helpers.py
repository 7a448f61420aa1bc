"""Registered test functions (the seed's names) and helpers for the pipeline tests.

Each function is simple enough that a test can compute the expected pixels
itself; they are registered so pipelines using them can be saved and loaded.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import tifffile

from openhcs_gui.functions import count_objects, register_function

WELLS = ["A01", "A02", "B01", "B02"]
SITES, CHANNELS, SHAPE = 2, 2, (128, 128)
OFFSET = 100


@register_function("seed_preprocess", category="test", overwrite=True)
def preprocess(stack: np.ndarray, offset: int = OFFSET) -> np.ndarray:
    """Subtract a camera offset, clipping at zero (uint16 in, uint16 out)."""
    return np.clip(stack.astype(np.int32) - offset, 0, None).astype(np.uint16)


@register_function("seed_detailed_analysis", category="test", overwrite=True)
def detailed_analysis(stack: np.ndarray, min_size: int = 20) -> tuple[np.ndarray, dict[str, Any]]:
    """Label nuclei (uint16 label images) and report one count per image."""
    labels, tables = count_objects(stack, smooth_sigma=1.0, min_size=min_size)
    rows = [{"index": r["index"], "count": r["object_count"]} for r in tables["objects"]]
    return labels.astype(np.uint16), {"counts": rows}


@register_function("seed_create_final_dataset", category="test", overwrite=True)
def create_final_dataset(stack: np.ndarray) -> np.ndarray:
    """Binary mask of labelled pixels (uint8 0/255)."""
    return np.where(stack > 0, 255, 0).astype(np.uint8)


@register_function("seed_must_vary", category="test", overwrite=True)
def must_vary(stack: np.ndarray) -> np.ndarray:
    """Raise on a constant image (the test plate plants one in well A02)."""
    if float(stack.min()) == float(stack.max()):
        raise ValueError("constant image: the camera returned no signal")
    return stack


@register_function("seed_slow_copy", category="test", overwrite=True)
def slow_copy(stack: np.ndarray, delay: float = 0.05) -> np.ndarray:
    """Sleep, then return a copy (gives a cancel test time to act)."""
    time.sleep(delay)
    return stack.copy()


def input_image(plate: Path, well: str, site: int, channel: int) -> np.ndarray:
    """Read one input image of the ImageXpress test plate directly with tifffile."""
    return tifffile.imread(plate / "TimePoint_1" / f"{well}_s{site}_w{channel}.tif")


def tree(root: Path) -> set[str]:
    """Relative paths of all files under ``root``, zarr stores reduced to their folder."""
    out: set[str] = set()
    for path in root.rglob("*"):
        rel = path.relative_to(root).as_posix()
        if ".zarr" in rel:
            out.add(rel.split(".zarr")[0] + ".zarr/")
        elif path.is_file():
            out.add(rel)
    return out


class HardStop(BaseException):
    """Stands in for a kill: not an ``Exception``, so no per-well error handling catches it."""


#: ``{"at": n}``: the n-th call of :func:`counted_copy` (1-based, counted in its log) raises HardStop.
STOP: dict[str, int] = {"at": 0}


@register_function("seed_counted_copy", category="test", overwrite=True)
def counted_copy(stack: np.ndarray, log: str = "") -> np.ndarray:
    """Return a copy and append one line to ``log`` per call (so tests can count recomputation)."""
    if log:
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(f"{int(stack.sum())}\n")
        calls = len(Path(log).read_text(encoding="utf-8").splitlines())
        if STOP["at"] and calls == STOP["at"]:
            raise HardStop(f"hard stop at call {calls}")
    return stack.copy()


#: Weak references to every array :func:`remember` returned, in call order.
REMEMBERED: list[Any] = []


@register_function("seed_remember", category="test", overwrite=True)
def remember(stack: np.ndarray) -> np.ndarray:
    """Return a new array and keep only a weak reference to it (leak tests)."""
    import weakref

    out = stack.astype(np.float32) + 1.0
    REMEMBERED.append(weakref.ref(out))
    return out
