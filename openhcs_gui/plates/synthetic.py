"""Deterministic synthetic plates with known answers, for tests, demos and benchmarks.

Each field of view is rendered the way a widefield screen looks: a smooth,
uneven illumination (vignetting plus a tilt) multiplies everything, nuclei
are Gaussian blobs in channel 1, cytoplasm is a larger, dimmer, elongated blob
around the same centre in channel 2 (and further channels reuse it with a
per-cell marker intensity), and shot noise (Poisson, drawn through its normal
approximation) plus a camera offset is added last. Nuclei sit on a jittered
grid so they never touch: counting them is then a well-posed problem whose
answer is written to ``ground_truth.csv``. ``touching_pairs`` adds pairs of
touching nuclei (counted as two each) to test splitting. Counts follow a dose-response
curve across the wells so a plate heatmap has something to show.

Everything is vectorized: cells are splatted as sub-pixel deltas (one
``np.bincount``) and shaped by one Gaussian filter per channel, so the
8-well × 4-site × 2-channel 512² demo plate costs about 1.5 s of CPU,
file writes included.
"""

from __future__ import annotations

import csv
import math
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np
import tifffile

from openhcs_gui._lazy import lazy_module
from openhcs_gui.errors import PlateError
from openhcs_gui.metadata import STANDARD_PLATES, ChannelInfo, PlateGeometry, row_index
from openhcs_gui.plates._metaxpress import metaseries_description, write_htd
from openhcs_gui.plates._opera_xml import write_index_xml
from openhcs_gui.vfs.keys import split_well, well_name

ndi = lazy_module("scipy.ndimage", globals())  # imported on first use: listing the functions stays quick

__all__ = [
    "make_synthetic_plate",
    "make_demo_plate",
    "read_ground_truth",
    "DEMO_WELLS",
    "NUCLEUS_SIGMA",
    "PIXEL_SIZE_UM",
    "CHANNEL_NAMES",
    "plate_geometry",
]

#: Wells of the demo plate: two rows of four, a visible dose gradient.
DEMO_WELLS: tuple[str, ...] = ("A01", "A02", "A03", "A04", "B01", "B02", "B03", "B04")
#: Nucleus blob sigma in pixels (about 14 px diameter, a 20x objective look).
NUCLEUS_SIGMA = 3.0
#: Grid cell holding at most one nucleus; jitter keeps centres >= 0.5 cell apart.
_CELL = int(round(9 * NUCLEUS_SIGMA))
_JITTER = 0.25
#: Centre distance of a touching pair, in nucleus sigmas (10.5 px: the blobs merge under a threshold).
PAIR_DISTANCE = 3.5
#: Pixel size written to the plate's metadata (Index.xml, MetaSeries descriptions).
PIXEL_SIZE_UM = 0.65
#: Distance between z-planes written to an Opera Index.xml.
Z_STEP_UM = 2.0
#: Time between time points written to an Opera Index.xml (``MeasurementTimeOffset``).
TIME_INTERVAL_S = 60.0
#: Rightward drift of every cell per time point, in pixels.
DRIFT_PX = 2.0
#: Channel names written to the plate's metadata (``.HTD`` WaveName, Index.xml ChannelName):
#: nuclei, cell body, markers, named after the ImageXpress filter sets that image them.
CHANNEL_NAMES: dict[int, str] = {1: "DAPI", 2: "FITC", 3: "Texas Red", 4: "Cy5"}
#: (excitation, emission) centres in nm of those filter sets.
CHANNEL_WAVELENGTHS: dict[int, tuple[float, float]] = {
    1: (377, 447), 2: (482, 536), 3: (562, 624), 4: (628, 692)
}

Layout = Literal["imagexpress", "opera"]


@dataclass(frozen=True)
class _Cells:
    y: np.ndarray
    x: np.ndarray
    amplitude: np.ndarray  # relative nucleus brightness
    marker: np.ndarray  # relative brightness of channels >= 3
    angle: np.ndarray
    elong: np.ndarray


def _wells(wells: Sequence[str] | int) -> list[str]:
    if isinstance(wells, int):
        if not 1 <= wells <= 1536:
            raise PlateError(f"A synthetic plate needs 1..1536 wells, got {wells}.")
        per_row = 12 if wells <= 96 else 24 if wells <= 384 else 48
        return [well_name(i // per_row, i % per_row + 1) for i in range(wells)]
    names = list(wells)
    for w in names:
        split_well(w)  # raises on names like "A1x"
    if len(set(names)) != len(names) or not names:
        raise PlateError(f"Synthetic plate wells must be unique and non-empty, got {names}.")
    return names


def plate_geometry(wells: Sequence[str]) -> PlateGeometry:
    """The smallest 96-, 384- or 1536-well plate that holds ``wells``."""
    rows = max(row_index(split_well(w)[0]) for w in wells) + 1
    cols = max(split_well(w)[1] for w in wells)
    for n in (96, 384, 1536):
        geo = PlateGeometry(*STANDARD_PLATES[n])
        if rows <= geo.rows and cols <= geo.columns:
            return geo
    return PlateGeometry(rows, cols)


def _channel_info(channels: int) -> dict[int, ChannelInfo]:
    out = {}
    for c in range(1, channels + 1):
        ex, em = CHANNEL_WAVELENGTHS.get(c, (None, None))
        out[c] = ChannelInfo(name=CHANNEL_NAMES.get(c, f"Channel {c}"), excitation_nm=ex, emission_nm=em)
    return out


def _capacity(shape: tuple[int, int]) -> tuple[int, int]:
    return max(shape[0] // _CELL, 1), max(shape[1] // _CELL, 1)


def _dose_counts(n_wells: int, capacity: int) -> np.ndarray:
    """Mean nuclei per site for each well: a sigmoid from 15% to 85% of capacity."""
    dose = np.linspace(-4.0, 4.0, n_wells) if n_wells > 1 else np.zeros(1)
    frac = 0.15 + 0.7 / (1.0 + np.exp(-1.5 * dose))
    return frac * capacity


def _place_cells(rng: np.random.Generator, count: int, shape: tuple[int, int]) -> _Cells:
    gy, gx = _capacity(shape)
    cells = rng.choice(gy * gx, size=count, replace=False)
    cy, cx = np.divmod(cells, gx)
    # Centre the grid in the image, then jitter within the cell.
    off_y = (shape[0] - gy * _CELL) / 2
    off_x = (shape[1] - gx * _CELL) / 2
    jit = rng.uniform(-_JITTER, _JITTER, size=(2, count)) * _CELL
    return _Cells(
        y=off_y + (cy + 0.5) * _CELL + jit[0],
        x=off_x + (cx + 0.5) * _CELL + jit[1],
        amplitude=rng.uniform(0.75, 1.25, count),
        marker=rng.gamma(2.0, 0.5, count),
        angle=rng.uniform(0, np.pi, count),
        elong=rng.uniform(1.0, 1.6, count),
    )


def _add_pairs(rng: np.random.Generator, cells: _Cells, pairs: int, shape: tuple[int, int]) -> _Cells:
    """Add ``pairs`` touching nuclei pairs, each centred in a grid cell no nucleus occupies.

    The two nuclei of a pair sit :data:`PAIR_DISTANCE` nucleus sigmas apart
    (their blobs merge under a plain threshold; a split must separate them).
    Pairs stay inside their grid cell, so they never touch a third nucleus.
    """
    gy, gx = _capacity(shape)
    off_y = (shape[0] - gy * _CELL) / 2
    off_x = (shape[1] - gx * _CELL) / 2
    used = np.zeros(gy * gx, bool)
    iy = np.clip(((cells.y - off_y) // _CELL).astype(int), 0, gy - 1)
    ix = np.clip(((cells.x - off_x) // _CELL).astype(int), 0, gx - 1)
    used[iy * gx + ix] = True
    free = np.flatnonzero(~used)
    chosen = rng.choice(free, size=min(pairs, free.size), replace=False)
    cy, cx = np.divmod(chosen, gx)
    centre_y, centre_x = off_y + (cy + 0.5) * _CELL, off_x + (cx + 0.5) * _CELL
    angle = rng.uniform(0, np.pi, chosen.size)
    half = PAIR_DISTANCE * NUCLEUS_SIGMA / 2
    dy, dx = half * np.sin(angle), half * np.cos(angle)
    n = 2 * chosen.size
    return _Cells(
        y=np.concatenate([cells.y, centre_y + dy, centre_y - dy]),
        x=np.concatenate([cells.x, centre_x + dx, centre_x - dx]),
        amplitude=np.concatenate([cells.amplitude, rng.uniform(0.75, 1.25, n)]),
        marker=np.concatenate([cells.marker, rng.gamma(2.0, 0.5, n)]),
        angle=np.concatenate([cells.angle, rng.uniform(0, np.pi, n)]),
        elong=np.concatenate([cells.elong, rng.uniform(1.0, 1.6, n)]),
    )


def _splat(shape: tuple[int, int], y: np.ndarray, x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Deltas at sub-pixel positions, spread bilinearly over their 4 neighbours."""
    h, wd = shape
    y0, x0 = np.floor(y).astype(int), np.floor(x).astype(int)
    fy, fx = y - y0, x - x0
    idx, vals = [], []
    for dy, wy in ((0, 1 - fy), (1, fy)):
        for dx, wx in ((0, 1 - fx), (1, fx)):
            yy, xx = y0 + dy, x0 + dx
            ok = (yy >= 0) & (yy < h) & (xx >= 0) & (xx < wd)
            idx.append((yy * wd + xx)[ok])
            vals.append((w * wy * wx)[ok])
    flat = np.bincount(np.concatenate(idx), weights=np.concatenate(vals), minlength=h * wd)
    return flat.reshape(shape)


def _render_blobs(
    shape: tuple[int, int], cells: _Cells, sigma: float, weights: np.ndarray, elongated: bool
) -> np.ndarray:
    """Sum of Gaussian blobs of peak ``weights``: splatted deltas + one Gaussian filter.

    Elongated blobs (cytoplasm) are two deltas offset along a random angle,
    which the filter merges into one oblong cell body.
    """
    norm = 2 * np.pi * sigma**2  # a unit delta filtered by the Gaussian peaks at 1/norm
    if elongated:
        off = (cells.elong - 1.0) * 1.2 * sigma
        dy, dx = off * np.sin(cells.angle), off * np.cos(cells.angle)
        y = np.concatenate([cells.y + dy, cells.y - dy])
        x = np.concatenate([cells.x + dx, cells.x - dx])
        w = np.concatenate([weights, weights]) * (norm / 2)
    else:
        y, x, w = cells.y, cells.x, weights * norm
    deltas = _splat(shape, y, x, w).astype(np.float32)
    return np.asarray(ndi.gaussian_filter(deltas, sigma, mode="constant", truncate=3.5))


def _illumination(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Smooth multiplicative field in about [0.4, 1.15]: off-centre vignetting plus a tilt."""
    h, w = shape
    yy = ((np.arange(h, dtype=np.float32)[:, None] - h / 2) / (h / 2)).astype(np.float32)
    xx = ((np.arange(w, dtype=np.float32)[None, :] - w / 2) / (w / 2)).astype(np.float32)
    cy, cx = rng.uniform(-0.3, 0.3, 2)
    vignette = 1.0 - 0.25 * ((yy - cy) ** 2 + (xx - cx) ** 2) / 2.0
    ty, tx = rng.uniform(-0.1, 0.1, 2)
    return np.asarray(vignette * (1.0 + ty * yy + tx * xx) - 0.05, dtype=np.float32)


def _field(
    rng: np.random.Generator,
    cells: _Cells,
    shape: tuple[int, int],
    channels: int,
    z_planes: int,
    dtype: np.dtype,
) -> np.ndarray:
    """Render one field as ``(channels, z, y, x)`` in ``dtype``."""
    full = 255.0 if dtype == np.uint8 else 4095.0  # a 12-bit camera for uint16 / floats
    offset, background = 0.025 * full, 0.06 * full
    illum = _illumination(rng, shape)
    mid = (z_planes + 1) / 2
    out = np.empty((channels, z_planes, *shape), dtype=dtype)
    for z in range(1, z_planes + 1):
        blur = math.sqrt(1.0 + (0.8 * (z - mid)) ** 2)  # defocus widens and dims blobs
        nuclei = _render_blobs(shape, cells, NUCLEUS_SIGMA * blur, cells.amplitude / blur**2, False)
        for ch in range(1, channels + 1):
            if ch == 1:
                blobs, level = nuclei, 0.55
            else:  # cell body around the nucleus, dimmer where the nucleus sits
                weights = cells.amplitude * (cells.marker if ch >= 3 else 1.0)
                body = _render_blobs(shape, cells, 2.2 * NUCLEUS_SIGMA * blur, weights / blur**2, True)
                blobs, level = np.maximum(body - 0.35 * nuclei, 0.0), 0.22
            expected = blobs * np.float32(level * full)
            expected += np.float32(background)
            expected *= illum
            expected += np.float32(offset)
            # Shot noise: the normal approximation of Poisson(expected), accurate
            # at these photon counts (>= 10) and several times faster to draw.
            noise = rng.standard_normal(shape, dtype=np.float32)
            noise *= np.sqrt(expected)
            expected += noise
            photons = np.maximum(np.rint(expected), 0.0)
            if np.issubdtype(dtype, np.integer):
                out[ch - 1, z - 1] = np.minimum(photons, np.iinfo(dtype).max)
            else:
                out[ch - 1, z - 1] = photons / np.float32(full)
    return out


def _image_path(
    root: Path, layout: Layout, well: str, site: int, ch: int, z: int, z_planes: int, t: int = 1
) -> Path:
    if layout == "opera":
        row, col = split_well(well)
        r = ord(row[-1]) - ord("A") + 1 + 26 * (len(row) - 1)
        name = f"r{r:02d}c{col:02d}f{site:02d}p{z:02d}-ch{ch}sk{t}fk1fl1.tiff"
        return root / "Images" / name
    folder = root / f"TimePoint_{t}"
    if z_planes > 1:
        folder = folder / f"ZStep_{z}"
    return folder / f"{well}_s{site}_w{ch}.tif"


def make_synthetic_plate(
    path: str | os.PathLike[str],
    wells: Sequence[str] | int = DEMO_WELLS,
    sites: int = 4,
    channels: int = 2,
    z: int = 1,
    shape: tuple[int, int] = (1024, 1024),
    dtype: type | np.dtype = np.uint16,
    seed: int = 0,
    layout: Layout = "imagexpress",
    touching_pairs: int = 0,
    timepoints: int = 1,
) -> Path:
    """Write a synthetic HCS plate with known nucleus counts and return its folder.

    Parameters
    ----------
    path
        Plate folder to create (its name becomes the plate name); it must be
        empty or absent so a real plate is never overwritten.
    wells
        Well names (``["A01", "B03"]``) or a number of wells filled row by row.
    sites, channels, z
        Fields per well, channels (1 = nuclei, 2 = cytoplasm, 3+ = marker) and
        z-planes (the middle one is in focus).
    shape
        Image size ``(y, x)`` in pixels.
    dtype
        ``uint16`` (12-bit range), ``uint8`` or a float type (0–1 range).
    seed
        Same seed, same pixels: every field draws from its own stream seeded
        by ``(seed, row, column, site)``.
    layout
        ``"imagexpress"`` (``<plate>.HTD`` + ``TimePoint_1/[ZStep_n/]A01_s1_w1.tif``
        with MetaSeries descriptions) or ``"opera"``
        (``Images/r01c01f01p01-ch1sk1fk1fl1.tiff`` + ``Index.xml``). Either
        way the plate records a :data:`PIXEL_SIZE_UM` pixel size, the
        :data:`CHANNEL_NAMES` and the smallest 96/384/1536-well plate that
        holds ``wells``, as the instrument would.
    touching_pairs
        Pairs of touching nuclei added to every field (in empty grid cells, as
        many as fit), each counted as two in the ground truth, so splitting
        touching nuclei can be tested. 0 (default) leaves every nucleus alone and
        the pixels exactly as without the option.
    timepoints
        Time points of a time-lapse plate, in the instrument's own layout:
        ``TimePoint_1/`` ... ``TimePoint_<n>/`` folders (and ``"TimePoints", n``
        in the ``.HTD``) for ImageXpress, ``sk1`` ... ``sk<n>`` names (and
        ``TimepointID`` 0 ... n-1, :data:`TIME_INTERVAL_S` apart, in
        ``Index.xml``) for Opera. The same cells drift
        :data:`DRIFT_PX` pixels to the right per time point under fresh noise,
        so the ground-truth count of a site holds at every time point; time
        point 1 has exactly the pixels of a single-time-point plate.

    Returns
    -------
    pathlib.Path
        The plate folder, which also holds ``ground_truth.csv`` (well, site, count).

    Raises
    ------
    PlateError
        On invalid arguments or a non-empty target folder.
    """
    root = Path(path)
    dt = np.dtype(dtype)
    if layout not in ("imagexpress", "opera"):
        raise PlateError(f"Unknown synthetic plate layout {layout!r}; use 'imagexpress' or 'opera'.")
    if touching_pairs < 0:
        raise PlateError(f"touching_pairs must be >= 0, got {touching_pairs}.")
    if min(sites, channels, z, timepoints) < 1 or min(shape) < 16:
        raise PlateError("Synthetic plates need sites, channels, z, timepoints >= 1 and images of at least 16x16.")
    if not (dt in (np.uint8, np.uint16) or np.issubdtype(dt, np.floating)):
        raise PlateError(f"Synthetic plates support uint8, uint16 and float dtypes, not {dt}.")
    if root.exists() and any(root.iterdir()):
        raise PlateError(f"Cannot write a synthetic plate into {root}: the folder is not empty.")
    well_list = _wells(wells)
    shape = (int(shape[0]), int(shape[1]))
    geometry = plate_geometry(well_list)
    info = _channel_info(channels)
    gy, gx = _capacity(shape)
    means = _dose_counts(len(well_list), gy * gx)
    truth: list[tuple[str, int, int]] = []
    for wi, well in enumerate(well_list):
        row, col = split_well(well)
        row_num = sum((ord(c) - 64) * 26**i for i, c in enumerate(reversed(row)))
        for site in range(1, sites + 1):
            rng = np.random.default_rng([seed, row_num, col, site])
            count = int(np.clip(rng.poisson(means[wi]), 1, gy * gx))
            cells = _place_cells(rng, count, shape)
            if touching_pairs:
                cells = _add_pairs(rng, cells, touching_pairs, shape)
                count = len(cells.y)
            for t in range(1, timepoints + 1):
                moved = replace(cells, x=cells.x + DRIFT_PX * (t - 1))
                t_rng = rng if t == 1 else np.random.default_rng([seed, row_num, col, site, t])
                _write_field(root, layout, well, site, t, _field(t_rng, moved, shape, channels, z, dt), info)
            truth.append((well, site, count))
    _write_plate_metadata(root, layout, well_list, sites, z, shape, info, geometry, seed, timepoints)
    with open(root / "ground_truth.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["well", "site", "count"])
        writer.writerows(truth)
    return root


def _write_field(
    root: Path, layout: Layout, well: str, site: int, t: int, stack: np.ndarray, info: dict[int, ChannelInfo]
) -> None:
    """Write one field's ``(channels, z, y, x)`` stack at time point ``t`` in the instrument's layout."""
    channels, z, *shape = stack.shape
    bits = stack.dtype.itemsize * 8
    for ch in range(channels):
        for zi in range(z):
            target = _image_path(root, layout, well, site, ch + 1, zi + 1, z, t)
            target.parent.mkdir(parents=True, exist_ok=True)
            if layout == "opera":  # Phenix TIFFs carry no description; Index.xml does
                tifffile.imwrite(target, stack[ch, zi], photometric="minisblack")
                continue
            c_info = info[ch + 1]
            description = metaseries_description(
                shape=(shape[0], shape[1]), bits=bits, pixel_size_um=PIXEL_SIZE_UM,
                illum=c_info.name or "", wavelength_nm=c_info.emission_nm or 0,
                stage_label=f"{well} : Site {site}", z_um=zi * Z_STEP_UM,
            )
            tifffile.imwrite(target, stack[ch, zi], photometric="minisblack",
                             description=description, software="MetaSeries", metadata=None)


def _write_plate_metadata(
    root: Path, layout: Layout, wells: list[str], sites: int, z: int, shape: tuple[int, int],
    info: dict[int, ChannelInfo], geometry: PlateGeometry, seed: int, timepoints: int,
) -> None:
    """``Images/Index.xml`` (Opera) or ``<plate>.HTD`` (ImageXpress) for the whole plate."""
    if layout == "opera":
        write_index_xml(
            root / "Images" / "Index.xml",
            wells=wells, sites=sites, z=z, shape=shape, pixel_size_um=PIXEL_SIZE_UM,
            channels=info, geometry=geometry, plate_id=root.name, z_step_um=Z_STEP_UM,
            timepoints=timepoints, time_interval_s=TIME_INTERVAL_S,
        )
    else:
        write_htd(
            root / f"{root.name}.HTD", geometry=geometry, wells=wells, sites=sites, z=z,
            wave_names=[info[c].name or f"Channel {c}" for c in sorted(info)],
            plate_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"openhcs-gui-synthetic/{seed}/{root.name}")),
            description=f"OpenHCS synthetic plate, seed {seed}", timepoints=timepoints,
        )


def read_ground_truth(plate: str | os.PathLike[str]) -> dict[tuple[str, int], int]:
    """``{(well, site): count}`` from a synthetic plate's ``ground_truth.csv``."""
    with open(Path(plate) / "ground_truth.csv", newline="", encoding="utf-8") as fh:
        return {(r["well"], int(r["site"])): int(r["count"]) for r in csv.DictReader(fh)}


def make_demo_plate(path: str | os.PathLike[str]) -> Path:
    """Write the demo plate used by ``openhcs-gui demo`` and ``make run``; return its folder.

    Eight wells (A01–A04, B01–B04) × 4 sites × 2 channels × 1 z of 512×512
    uint16 images in ImageXpress layout, seed 0: about 16 MB, written in a
    second or two. An existing synthetic plate at ``path`` is reused; any
    other non-empty folder gets the plate in ``path/demo_plate`` (reused
    too if already there), so user data is never overwritten.
    """
    root = Path(path)
    if (root / "ground_truth.csv").is_file():
        return root  # already a synthetic plate: reuse it
    if root.exists() and any(root.iterdir()):
        root = root / "demo_plate"
        if (root / "ground_truth.csv").is_file():
            return root
    return make_synthetic_plate(
        root, wells=DEMO_WELLS, sites=4, channels=2, z=1, shape=(512, 512), seed=0
    )
