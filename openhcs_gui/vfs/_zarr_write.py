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
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from openhcs_gui.config import ZarrConfig
from openhcs_gui.constants import ZarrChunkStrategy
from openhcs_gui.errors import PathExistsError, UnsupportedFormatError
from openhcs_gui.vfs._zarr_array import RawArray
from openhcs_gui.vfs._zarr_plate import FieldState

__all__ = ["ChunkJob", "FieldWrite", "prepare_field", "run_chunk"]

Plane = tuple[int, int]
_CZYX = ("c", "z", "y", "x")


@dataclass(eq=False)
class ChunkJob:
    """One chunk to encode and write, plus the planes in it to measure."""

    owner: FieldWrite
    array: RawArray
    grid: tuple[int, ...]
    data: np.ndarray
    measure: list[tuple[int, tuple[int, int]]]


@dataclass(eq=False)
class FieldWrite:
    """The chunk jobs of one field and what to record once they are written."""

    state: FieldState
    planes: set[Plane]
    before: set[Plane]
    structure: bool = False
    chunks: list[ChunkJob] = field(default_factory=list)
    new_metadata: RawArray | None = None

    def write_structure(self) -> None:
        """Write the changed array metadata (safe beside the chunk writes).

        Chunk folders are left to the workers (``atomic_write`` makes them on
        the first failed open): made here as well, the caller's ``mkdir`` calls
        contended with the workers' and the plate write got slower, not faster.
        """
        arr = self.new_metadata
        if arr is None:
            return
        self.new_metadata = None
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


def run_chunk(job: ChunkJob) -> list[tuple[int, float, float]]:
    """Encode and write one chunk; return ``(channel, min, max)`` of its new planes."""
    job.array.write_chunk(job.grid, job.data)
    out = []
    for c, inner in job.measure:
        plane = job.data[inner]
        if plane.dtype.kind == "f":
            plane = plane[np.isfinite(plane)]
            if not plane.size:
                continue
        out.append((c, float(plane.min()), float(plane.max())))
    return out


def _compatible(state: FieldState, dtype: np.dtype[Any], yx: tuple[int, ...]) -> bool:
    arr = state.array
    return (
        isinstance(arr, RawArray)
        and state.axes == _CZYX
        and arr.dtype.newbyteorder("=") == dtype.newbyteorder("=")
        and arr.shape[-2:] == yx
    )


def prepare_field(
    state: FieldState,
    planes: dict[Plane, np.ndarray],
    config: ZarrConfig,
    zarr_format: int,
    overwrite: bool,
    keys: dict[Plane, str],
) -> FieldWrite:
    """Create/grow the field array for ``planes`` and cut them into chunk jobs.

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
        clash = sorted(p for p in planes if state.has_plane(*p))
        if clash:
            raise PathExistsError(
                f"'{keys[clash[0]]}' already exists in the zarr backend; it was not overwritten.")
    old = state.array
    before = set(state.plane_list()) if old is not None else set()
    keep = before - set(planes)
    arr = old if isinstance(old, RawArray) and _compatible(state, dtype, yx) else None
    if old is not None and arr is None:
        if keep:
            raise UnsupportedFormatError(
                f"{where} holds {old.dtype} {old.shape[-2:]} images; cannot add {dtype} {yx} "
                "beside them (delete the field first).")
        shutil.rmtree(old.path if isinstance(old, RawArray) else state.path + "/0",
                      ignore_errors=True)
        before = set()
        state.ranges.clear()
    n_c = max(c for c, _ in planes) + 1
    n_z = max(z for _, z in planes) + 1
    carry: dict[Plane, np.ndarray] = {}
    structure = False
    if arr is None:
        arr = RawArray.for_field(state.path + "/0", (n_c, n_z, *yx), dtype, config, zarr_format)
        state.array, state.axes, state.ours, structure = arr, _CZYX, True, True
    else:
        shape = (max(n_c, arr.shape[0]), max(n_z, arr.shape[1]), *yx)
        if shape != arr.shape:
            if arr.chunks[:2] == (1, 1):
                arr = arr.resized(shape, arr.chunks)
            else:  # one chunk spans planes: move the kept planes into the new grid
                for c, z in keep:
                    carry[(c, z)] = arr.read_plane((c, z))
                shutil.rmtree(arr.path, ignore_errors=True)
                well = config.chunk_strategy == ZarrChunkStrategy.WELL
                arr = arr.resized(shape, shape if well else (1, 1, *yx))
                keep = set()
            state.array, structure = arr, True
    job = FieldWrite(state, set(planes), before, structure)
    if structure:
        job.new_metadata = arr
    _cut_chunks(job, arr, {**carry, **planes}, keep)
    return job


def _cut_chunks(job: FieldWrite, arr: RawArray, todo: dict[Plane, np.ndarray],
                keep: set[Plane]) -> None:
    """Group planes by chunk; read-modify-write chunks that also hold kept planes."""
    cc, cz = arr.chunks[0], arr.chunks[1]
    by_grid: dict[tuple[int, ...], list[Plane]] = {}
    for c, z in todo:
        by_grid.setdefault((c // cc, z // cz, 0, 0), []).append((c, z))
    for grid, members in by_grid.items():
        if cc == cz == 1:
            (c, z), = members
            data = todo[(c, z)][None, None]
        else:
            kept = any((c // cc, z // cz) == grid[:2] for c, z in keep)
            data = arr.read_chunk(grid) if kept else np.zeros(arr.chunks, arr.dtype)
            for c, z in members:
                data[c % cc, z % cz] = todo[(c, z)]
        measure = [(c, (c % cc, z % cz)) for c, z in members if (c, z) in job.planes]
        job.chunks.append(ChunkJob(job, arr, grid, data, measure))
