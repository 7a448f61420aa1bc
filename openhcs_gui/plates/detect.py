"""``open_plate``: find out what a folder holds and index it with the right reader.

The folder is listed once. Every TIFF name is offered to the ImageXpress and
the Opera parsers; names neither understands are reported as a warning, a
plate whose names fit both instruments is refused (two plates copied into one
folder would otherwise be mixed silently), and a folder with no images says
which names were looked for. A ``.zarr`` HCS store - given directly or as the
only store in a folder without TIFFs (a zarr step folder) - is indexed from
its metadata.
"""

from __future__ import annotations

import os
from pathlib import Path

from openhcs_gui.errors import PlateError
from openhcs_gui.plates._scan import scan_folder
from openhcs_gui.plates.imagexpress import index_imagexpress, is_thumbnail, parse_imagexpress_name
from openhcs_gui.plates.model import PlateIndex
from openhcs_gui.plates.omezarr import index_omezarr, is_zarr_store, read_plate_attrs
from openhcs_gui.plates.opera import index_opera, parse_opera_name
from openhcs_gui.vfs.keys import ImageKey

__all__ = ["open_plate", "detect_format"]

#: Odd file names listed in a warning before the rest are counted.
_MAX_LISTED = 5


def _listing(names: list[str]) -> str:
    shown = ", ".join(names[:_MAX_LISTED])
    return shown + (f" and {len(names) - _MAX_LISTED} more" if len(names) > _MAX_LISTED else "")


def _zarr_plate(root: Path, stores: list[str]) -> Path | None:
    if is_zarr_store(root) and (root.name.lower().endswith(".zarr") or not stores):
        return root
    plates = [root / s for s in stores if "/" not in s and is_zarr_store(root / s)]
    plates = [p for p in plates if read_plate_attrs(p) is not None]
    return plates[0] if len(plates) == 1 else None


def detect_format(path: str | os.PathLike[str]) -> str:
    """Format name ``open_plate`` would report for ``path`` (indexes the plate to know)."""
    return open_plate(path).format


def open_plate(path: str | os.PathLike[str]) -> PlateIndex:
    """Index the plate at ``path``: ImageXpress, Opera Phenix, OME-Zarr or a workspace step folder.

    Lazy: file names are listed and one image header is read for shape and
    dtype; no pixel data is loaded.

    Parameters
    ----------
    path
        Plate folder, Opera ``Images`` folder, ``.zarr`` store, or a step
        folder of a previous run.

    Returns
    -------
    PlateIndex
        With ``warnings`` for problems that leave the plate usable (missing
        sites, ignored files, extra time points).

    Raises
    ------
    PlateError
        When the path is missing, holds no images, mixes instrument naming
        schemes, or its first image header cannot be read.
    """
    root = Path(path).expanduser().absolute()
    if not root.exists():
        if root.is_symlink():
            raise PlateError(f"Plate folder {root} is a symbolic link to a missing target or to itself.")
        raise PlateError(f"Plate folder {root} does not exist.")
    if not root.is_dir():
        raise PlateError(f"{root} is a file; open the plate folder that contains it instead.")
    if is_zarr_store(root) and root.name.lower().endswith(".zarr"):
        return index_omezarr(root)
    scan = scan_folder(root)
    warnings: list[str] = list(scan.warnings)
    if scan.empty:
        warnings.append(f"ignored {len(scan.empty)} empty TIFF file(s): {_listing(scan.empty)}")
    ix: dict[str, tuple[ImageKey, int]] = {}
    op: dict[str, tuple[ImageKey, int]] = {}
    odd: list[str] = []
    for rel in scan.tiffs:
        if (m := parse_imagexpress_name(rel)) is not None:
            ix[rel] = m
        elif (m := parse_opera_name(rel)) is not None:
            op[rel] = m
        elif not is_thumbnail(rel):
            odd.append(rel)
    if ix and op:
        raise PlateError(
            f"{root} mixes ImageXpress and Opera file names ({len(ix)} like "
            f"{next(iter(ix))}, {len(op)} like {next(iter(op))}); put each plate in its own folder."
        )
    if odd and (ix or op):
        warnings.append(
            f"ignored {len(odd)} TIFF file(s) whose names fit no known plate layout: {_listing(odd)}"
        )
    if ix:
        return index_imagexpress(root, ix, warnings, scan.htd)
    if op:
        return index_opera(root, op, warnings)
    store = _zarr_plate(root, scan.stores)
    if store is not None:
        return index_omezarr(store, warnings)
    hint = f" ({len(odd)} TIFF file(s) with other names, e.g. {odd[0]})" if odd else ""
    raise PlateError(
        f"No images found in {root}{hint}: expected ImageXpress names like A01_s1_w1.tif, "
        "Opera names like Images/r01c01f01p01-ch1sk1fk1fl1.tiff, or an OME-Zarr HCS plate."
    )
