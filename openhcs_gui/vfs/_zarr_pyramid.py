"""Multiscale pyramids of field arrays: level count, level arrays, 2x downsampling.

Levels are computed from the chunk data in the worker that encodes the
full-resolution chunk (:func:`openhcs_gui.vfs._zarr_write.run_chunk`), never by
reading the store back: a level-0 chunk always spans whole ``y, x`` planes, so
level ``i + 1`` of a chunk is :func:`downsample` of level ``i`` of the same
chunk, and lands in the chunk with the same grid index of array ``i + 1``.

Each level halves ``y`` and ``x`` (rounding up, so an odd edge row is kept).
Intensity images use the mean of each 2x2 block (area averaging; the edge of an
odd side repeats its last row/column); label images use nearest neighbour (the
top-left pixel of each block), so a label value is never averaged into one that
does not exist.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from openhcs_gui.config import ZarrConfig

__all__ = ["level_count", "level_shape", "level_arrays", "downsample"]


def level_count(config: ZarrConfig, yx: tuple[int, ...]) -> int:
    """Resolution levels (full resolution included) for planes of size ``yx``.

    ``config.pyramid_levels`` wins; otherwise halve until the longest side is at
    most ``config.pyramid_min_size``. A level is never smaller than 1 px.
    """
    h, w = int(yx[0]), int(yx[1])
    if config.pyramid_levels is not None:
        n = 1
        while n < config.pyramid_levels and max(h, w) > 1:
            h, w, n = -(-h // 2), -(-w // 2), n + 1
        return n
    n = 1
    while max(h, w) > config.pyramid_min_size:
        h, w, n = -(-h // 2), -(-w // 2), n + 1
    return n


def level_shape(shape: tuple[int, ...], level: int) -> tuple[int, ...]:
    """Array shape of ``level`` (leading axes kept, ``y, x`` halved ``level`` times)."""
    h, w = shape[-2:]
    for _ in range(level):
        h, w = -(-h // 2), -(-w // 2)
    return (*shape[:-2], h, w)


def level_arrays(array: Any, levels: int) -> list[Any]:
    """``RawArray`` of every level below ``array`` (level 0), beside it as ``1``, ``2``...

    Same codec, dtype and leading chunking; each level's chunks span its whole planes.
    """
    base = os.path.dirname(array.path)
    out = []
    for i in range(1, levels):
        shape = level_shape(array.shape, i)
        chunks = (*array.chunks[:-2], *shape[-2:])
        lvl = array.resized(shape, chunks)
        lvl.path = os.path.join(base, str(i))
        out.append(lvl)
    return out


def downsample(data: np.ndarray, labels: bool) -> np.ndarray:
    """Halve the last two axes of ``data``: 2x2 mean for images, nearest for labels."""
    if labels or data.dtype == np.bool_:
        return np.ascontiguousarray(data[..., ::2, ::2])
    h, w = data.shape[-2:]
    if h % 2 or w % 2:
        pad = [(0, 0)] * (data.ndim - 2) + [(0, h % 2), (0, w % 2)]
        data = np.pad(data, pad, mode="edge")
    kind, size = data.dtype.kind, data.dtype.itemsize
    if kind in "ui" and size <= 2:
        acc_t: Any = np.uint32 if kind == "u" else np.int32
        acc = data[..., 0::2, 0::2].astype(acc_t)
        acc += data[..., 1::2, 0::2]
        acc += data[..., 0::2, 1::2]
        acc += data[..., 1::2, 1::2]
        acc += 2  # round half up, in integers (no float pass)
        acc >>= 2
        return acc.astype(data.dtype)
    work = np.float64 if kind in "ui" or size > 4 else np.float32
    acc = data[..., 0::2, 0::2].astype(work)
    acc += data[..., 1::2, 0::2]
    acc += data[..., 0::2, 1::2]
    acc += data[..., 1::2, 1::2]
    acc *= 0.25
    if kind in "ui":
        np.rint(acc, out=acc)
    return acc.astype(data.dtype)
