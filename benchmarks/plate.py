"""The one synthetic plate every figure of a run is measured on.

Sizes follow ``benchmarks/zarr_write.py`` (its ``SIZES`` table), so the zarr
figures that module measures and the figures measured here describe the same
plate: ``default`` is 24 wells x 4 sites x 2 channels x 1024² uint16 = 384 MiB.
The plate is written once (ImageXpress TIFFs, nuclei + cytoplasm + Poisson
noise, see :mod:`openhcs_gui.plates.synthetic`) and its planes are loaded into
memory once, so storage figures time storage, not plate generation.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.zarr_write import SIZES

__all__ = ["BenchPlate", "SIZES", "make_bench_plate", "subset_plate"]


@dataclass
class BenchPlate:
    """A synthetic plate on disk plus its pixels in memory.

    Attributes
    ----------
    path
        Plate folder (ImageXpress layout).
    index
        The opened ``PlateIndex``.
    planes
        ``ImageKey -> array`` for every image, in plate order.
    size, params
        Size name and its ``SIZES`` entry.
    seconds
        Time it took to generate the plate (reported, not a figure).
    """

    path: Path
    index: Any
    planes: dict[Any, np.ndarray]
    size: str
    params: dict[str, Any]
    seconds: float
    by_well: dict[str, list[Any]] = field(default_factory=dict)

    @property
    def nbytes(self) -> int:
        """Raw pixel bytes of the whole plate."""
        return sum(a.nbytes for a in self.planes.values())

    @property
    def mb(self) -> float:
        """Raw pixel megabytes (1e6 bytes), the unit of every MB/s figure."""
        return self.nbytes / 1e6

    @property
    def repeats(self) -> int:
        """Repetitions per figure: at least 3 (the median is reported)."""
        return max(3, int(self.params.get("repeats", 3)))

    def describe(self) -> dict[str, Any]:
        """Plain-data description for the results JSON."""
        idx = self.index
        return {
            "size": self.size, "wells": len(idx.wells), "sites": len(idx.sites),
            "channels": len(idx.channels), "z": len(idx.z_planes), "shape": list(idx.shape),
            "dtype": str(idx.dtype), "images": len(self.planes), "raw_MB": round(self.mb, 1),
            "generated_s": round(self.seconds, 2), "layout": "imagexpress (TIFF)",
        }


def make_bench_plate(root: Path, size: str) -> BenchPlate:
    """Write the synthetic plate for ``size`` under ``root`` and load its planes."""
    from openhcs_gui.plates import open_plate
    from openhcs_gui.plates.synthetic import make_synthetic_plate
    from openhcs_gui.vfs.keys import well_name

    p = SIZES[size]
    wells = [well_name(r, c + 1) for r in range(p["rows"]) for c in range(p["cols"])]
    t0 = time.perf_counter()
    path = make_synthetic_plate(root / f"bench_{size}", wells=wells, sites=p["sites"],
                                channels=p["channels"], z=1, shape=tuple(p["shape"]),
                                dtype=np.uint16, seed=0)
    seconds = time.perf_counter() - t0
    index = open_plate(path)
    import tifffile

    ordered = index.keys()  # PlateIndex.keys(): every ImageKey, plate order
    planes = {k: tifffile.imread(index.images[k]) for k in ordered}
    by_well = {w: index.keys(well=w) for w in index.wells}
    return BenchPlate(path, index, planes, size, p, seconds, by_well)


def subset_plate(index: Any, n_wells: int) -> Any:
    """The first ``n_wells`` wells of an opened plate, as a ``PlateIndex``."""
    wells = list(index.wells)[:n_wells]
    keep = set(wells)
    return replace(index, wells=wells,
                   images={k: v for k, v in index.images.items() if k.well in keep})
