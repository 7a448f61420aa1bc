"""Turning planes of one field into chunk jobs, and running a job in a worker.

:func:`prepare_field` runs in the caller's thread with the field's lock held:
it creates, grows or re-chunks the field array (metadata only, or a
read-modify-write when a ``WELL`` chunk must grow) and assembles each chunk.
:func:`run_chunk` is what the worker pool executes: encode (GIL released by
Blosc/zlib), write atomically, and measure the plane's value range for the
omero display window. No lock is taken there, so wells encode in parallel.

Array metadata is not written by :func:`prepare_field` but by
:meth:`FieldWrite.write_structure`, which the backend calls *while* the pool
encodes: on a VM a file create or ``mkdir`` costs 0.1-0.3 ms, and a new field
needs several, which used to leave the codec pool idle (issue 7).

A job also writes the chunk's pyramid levels (:mod:`openhcs_gui.vfs._zarr_pyramid`),
downsampled from the chunk in the same worker, and - for a label image - the
same encoded bytes under the field's ``labels/<name>/<level>``: the file is
hard-linked (copied where links are refused), so a label plane is encoded and
written once.

Planes are 0-based ``(t, c, z)``; a field array is ``(c, z, y, x)``, or
``(t, c, z, y, x)`` on a plate with more than one time point.
"""

from __future__ import annotations

import os
import shutil
import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from openhcs_gui.config import ZarrConfig
from openhcs_gui.constants import ZarrChunkStrategy
from openhcs_gui.errors import PathExistsError, UnsupportedFormatError
from openhcs_gui.vfs._zarr_array import RawArray, atomic_write
from openhcs_gui.vfs._zarr_plate import FieldState
from openhcs_gui.vfs._zarr_pyramid import downsample, level_arrays, level_count

__all__ = ["ChunkJob", "FieldWrite", "prepare_field", "run_chunk", "field_axes"]

Plane = tuple[int, int, int]
_CZYX = ("c", "z", "y", "x")
_TCZYX = ("t", "c", "z", "y", "x")


def field_axes(timed: bool) -> tuple[str, ...]:
    """Axis names of a field array we write: ``t`` first on a time-lapse plate."""
    return _TCZYX if timed else _CZYX


def _lead(plane: Plane, ndim: int) -> tuple[int, ...]:
    """Index of plane ``(t, c, z)`` along the leading axes of an array of ``ndim`` axes."""
    return plane if ndim == 5 else plane[1:]


@dataclass(eq=False)
class ChunkJob:
    """One chunk to encode and write (with its pyramid levels), plus the planes in it to measure."""

    owner: FieldWrite
    array: RawArray
    grid: tuple[int, ...]
    data: np.ndarray
    measure: list[tuple[int, tuple[int, ...]]]


@dataclass(eq=False)
class FieldWrite:
    """The chunk jobs of one field and what to record once they are written."""

    state: FieldState
    planes: set[Plane]
    before: set[Plane]
    structure: bool = False
    chunks: list[ChunkJob] = field(default_factory=list)
    #: array documents to write beside the encoding (levels, label mirrors)
    new_metadata: list[RawArray] = field(default_factory=list)
    #: the lower pyramid levels of the field array
    levels: list[RawArray] = field(default_factory=list)
    #: label image arrays receiving the same chunks (one per level), or empty
    mirrors: list[RawArray] = field(default_factory=list)
    labels: bool = False

    def write_structure(self) -> None:
        """Write the changed array metadata (safe beside the chunk writes).

        Chunk folders are left to the workers (``atomic_write`` makes them on
        the first failed open): made here as well, the caller's ``mkdir`` calls
        contended with the workers' and the plate write got slower, not faster.
        """
        todo, self.new_metadata = self.new_metadata, []
        for arr in todo:
            arr.write_metadata()

    def commit(self, stats: list[list[tuple[int, float, float]]]) -> None:
        """Record written planes and value ranges (call with the field lock held)."""
        state = self.state
        if state.planes is None:
            state.planes = set(self.before)
        state.planes |= self.planes
        for per_chunk in stats:
            for c, lo, hi in per_chunk:
                old = state.ranges.get(c)
                state.ranges[c] = (lo, hi) if old is None else (min(old[0], lo), max(old[1], hi))
        state.dirty = True


def _link_or_write(src: str, dst: str, data: bytes | memoryview) -> None:
    """Make ``dst`` hold the bytes of ``src`` (just written): a hard link, else a copy."""
    tmp = f"{dst}.{os.getpid()}-{threading.get_ident()}.tmp"
    try:
        try:
            os.link(src, tmp)
        except FileNotFoundError:
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            os.link(src, tmp)
        os.replace(tmp, dst)
    except OSError:  # links refused (some network/FAT file systems): write the bytes
        atomic_write(dst, data)


def run_chunk(job: ChunkJob) -> list[tuple[int, float, float]]:
    """Encode and write one chunk and its pyramid levels; ``(channel, min, max)`` of its new planes."""
    owner = job.owner
    data = job.data
    for i, arr in enumerate((job.array, *owner.levels)):
        if i:
            data = downsample(data, owner.labels)
        encoded = arr.encode(data)
        path = arr.chunk_path(job.grid)
        atomic_write(path, encoded)
        if owner.mirrors:
            _link_or_write(path, owner.mirrors[i].chunk_path(job.grid), encoded)
    out = []
    for c, inner in job.measure:
        plane = job.data[inner]
        if plane.dtype.kind == "f":
            plane = plane[np.isfinite(plane)]
            if not plane.size:
                continue
        out.append((c, float(plane.min()), float(plane.max())))
    return out


def _same_pixels(arr: Any, dtype: np.dtype[Any], yx: tuple[int, ...]) -> bool:
    return (isinstance(arr, RawArray) and arr.dtype.newbyteorder("=") == dtype.newbyteorder("=")
            and arr.shape[-2:] == yx)


def _remove_levels(state: FieldState, old: Any) -> None:
    """Delete an array being replaced and its pyramid levels (``1``, ``2``...)."""
    shutil.rmtree(old.path if isinstance(old, RawArray) else state.path + "/0", ignore_errors=True)
    for i in range(1, max(state.levels, 1)):
        shutil.rmtree(os.path.join(state.path, str(i)), ignore_errors=True)


def prepare_field(
    state: FieldState,
    planes: dict[Plane, np.ndarray],
    config: ZarrConfig,
    zarr_format: int,
    overwrite: bool,
    keys: dict[Plane, str],
    *,
    timed: bool = False,
    label_name: str | None = None,
) -> FieldWrite:
    """Create/grow the field array (and its levels) for ``planes`` and cut them into chunk jobs.

    ``timed`` asks for a ``t`` axis; a field written before without one is
    rewritten with it. ``label_name`` makes the planes a label image: levels
    use nearest neighbour and every chunk is also linked under
    ``labels/<label_name>``.

    Raises
    ------
    PathExistsError
        A plane exists and ``overwrite`` is False.
    UnsupportedFormatError
        The field already holds images of another dtype/shape that this
        write does not replace, or an array layout this backend cannot write.
    """
    first = next(iter(planes.values()))
    yx, dtype = first.shape, first.dtype
    where = f"the field of '{next(iter(keys.values()))}'"
    for p in planes.values():
        if p.shape != yx or p.dtype != dtype:
            raise UnsupportedFormatError(
                f"Images of {where} must share one dtype and shape; got {dtype} {yx} "
                f"and {p.dtype} {p.shape}.")
    if not overwrite:
        clash = sorted(p for p in planes if state.has_plane(p[1], p[2], p[0]))
        if clash:
            raise PathExistsError(
                f"'{keys[clash[0]]}' already exists in the zarr backend; it was not overwritten.")
    old = state.array
    first_write = state.planes is None  # opened from disk: restate every level's metadata
    before = set(state.plane_list()) if old is not None else set()
    keep = before - set(planes)
    timed = timed or (old is not None and "t" in state.axes and state.ours)
    axes = field_axes(timed)
    carry: dict[Plane, np.ndarray] = {}
    arr = old if _same_pixels(old, dtype, yx) and state.axes == axes else None
    if old is not None and arr is None:
        if keep and not (_same_pixels(old, dtype, yx) and state.ours):
            raise UnsupportedFormatError(
                f"{where} holds {old.dtype} {old.shape[-2:]} images; cannot add {dtype} {yx} "
                "beside them (delete the field first).")
        for p in keep:  # a field gaining a t axis keeps its planes at t = 1
            index = state.index(p[1], p[2], p[0])
            assert index is not None
            carry[p] = old.read_plane(index)
        _remove_levels(state, old)
        if not carry:
            state.ranges.clear()
        before, keep = set(carry), set()
    todo = {**carry, **planes}
    extent = [max(p[i] for p in todo) + 1 for i in range(3)]
    structure = first_write
    if arr is None:
        shape = tuple(_lead(tuple(extent), len(axes)) + yx)  # type: ignore[arg-type]
        arr = RawArray.for_field(state.path + "/0", shape, dtype, config, zarr_format, axes)
        state.array, state.axes, state.ours, structure = arr, axes, True, True
    else:
        lead = tuple(max(a, b) for a, b in zip(_lead(tuple(extent), len(arr.shape)),  # type: ignore[arg-type]
                                                arr.shape[:-2], strict=True))
        shape = (*lead, *yx)
        if shape != arr.shape:
            if all(c == 1 for c in arr.chunks[:-2]):
                arr = arr.resized(shape, arr.chunks)
            else:  # one chunk spans planes: move the kept planes into the new grid
                for p in keep:
                    carry[p] = todo[p] = arr.read_plane(_lead(p, len(arr.shape)))
                shutil.rmtree(arr.path, ignore_errors=True)
                well = config.chunk_strategy == ZarrChunkStrategy.WELL
                arr = arr.resized(shape, shape if well else (*(1,) * len(lead), *yx))
                keep = set()
            state.array, structure = arr, True
    state.ours = True  # a RawArray is only ever one of ours
    n_levels = level_count(config, yx)
    job = FieldWrite(state, set(planes), before, structure, labels=label_name is not None)
    job.levels = level_arrays(arr, n_levels)
    state.levels = n_levels
    if label_name is not None:
        base = os.path.join(state.path, "labels", label_name)
        job.mirrors = [a.resized(a.shape, a.chunks) for a in (arr, *job.levels)]
        for i, m in enumerate(job.mirrors):
            m.path = os.path.join(base, str(i))
        if structure or state.label_name != label_name:
            job.new_metadata.extend(job.mirrors)
        state.label_name = label_name
    if structure:
        job.new_metadata[:0] = [arr, *job.levels]
    _cut_chunks(job, arr, todo, keep)
    return job


def _cut_chunks(job: FieldWrite, arr: RawArray, todo: dict[Plane, np.ndarray],
                keep: set[Plane]) -> None:
    """Group planes by chunk; read-modify-write chunks that also hold kept planes."""
    lead_chunks = arr.chunks[:-2]
    ndim = len(arr.shape)
    single = all(c == 1 for c in lead_chunks)
    by_grid: dict[tuple[int, ...], list[Plane]] = {}
    for p in todo:
        grid = tuple(i // c for i, c in zip(_lead(p, ndim), lead_chunks, strict=True))
        by_grid.setdefault((*grid, 0, 0), []).append(p)
    kept_grids = {tuple(i // c for i, c in zip(_lead(p, ndim), lead_chunks, strict=True))
                  for p in keep}
    for grid, members in by_grid.items():
        if single:
            p, = members
            data = todo[p][(None,) * len(lead_chunks)]
        else:
            data = arr.read_chunk(grid) if grid[:-2] in kept_grids else np.zeros(arr.chunks, arr.dtype)
            for p in members:
                inner = tuple(i % c for i, c in zip(_lead(p, ndim), lead_chunks, strict=True))
                data[inner] = todo[p]
        measure = [(p[1], tuple(i % c for i, c in zip(_lead(p, ndim), lead_chunks, strict=True)))
                   for p in members if p in job.planes]
        job.chunks.append(ChunkJob(job, arr, grid, data, measure))
