"""ImageXpress (MetaXpress) folders, and step folders our disk backend writes.

Names look like ``[Plate_]A01_s1_w1[_z001][<GUID>].tif``; ``_s`` is absent on
single-site plates and ``_w`` on single-channel ones. Z-stacks are either a
``_z`` suffix or ``ZStep_<n>/`` folders, time series ``TimePoint_<n>/`` folders
(every time point is indexed: ``ImageKey.t`` is the folder's number). The ``.HTD`` beside the images
and the MetaSeries description of one image give the plate's physical
metadata (see :mod:`openhcs_gui.plates._metaxpress`).
MetaXpress also writes ``_thumb`` thumbnails beside the images; they are not
data and are skipped. Our own ``A01_s1_w1_z1[_t2].tif`` names are the same pattern,
so a workspace step folder (``<plate>_workspace/step2_blur/``) opens as a
plate with format ``"workspace"``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from openhcs_gui.plates._headers import first_readable_header, read_tiff_page
from openhcs_gui.plates._metaxpress import (
    imagexpress_metadata,
    metaseries_props,
    parse_htd,
    pick_htd,
)
from openhcs_gui.plates.model import PlateIndex
from openhcs_gui.vfs.keys import ImageKey

__all__ = ["parse_imagexpress_name", "is_thumbnail", "is_workspace_step", "index_imagexpress"]

_GUID = r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
_NAME = re.compile(
    r"^(?:(?P<prefix>.*?)_)?(?P<well>[A-Z]{1,2}\d{2,3})"
    r"(?:_s(?P<site>\d+))?(?:_w(?P<channel>\d+))?(?:_z(?P<z>\d+))?(?:_t(?P<t>\d+))?"
    rf"(?:{_GUID}|_labels)?\.(?i:tiff?)$"  # _labels: a label step's output folder read back
)
_ZSTEP = re.compile(r"^ZStep_(\d+)$", re.IGNORECASE)
_TIMEPOINT = re.compile(r"^TimePoint_(\d+)$", re.IGNORECASE)
_STEP_FOLDER = re.compile(r"^step\d+_.+")


def is_thumbnail(rel: str) -> bool:
    """True for the ``_thumb`` preview files MetaXpress writes beside images."""
    return "_thumb" in rel.rsplit("/", 1)[-1].lower()


def parse_imagexpress_name(rel: str) -> tuple[ImageKey, int] | None:
    """``(key, time point)`` of a plate-relative path, or ``None`` if it is no ImageXpress image.

    ``TimePoint_2/ZStep_3/A01_s1_w2.tif`` -> ``(ImageKey("A01", 1, 2, 3, 2), 2)``; the
    time point comes from the ``TimePoint_<n>`` folder or our own ``_t<n>`` name part.
    A bare well name (``A01.tif``) is not enough: ``_s`` or ``_w`` must be present.
    """
    *folders, base = rel.split("/")
    if is_thumbnail(base):
        return None
    m = _NAME.match(base)
    if m is None or (m["site"] is None and m["channel"] is None):
        return None
    well = m["well"]
    z, timepoint = int(m["z"]) if m["z"] else None, int(m["t"]) if m["t"] else 1
    for folder in folders:
        if zs := _ZSTEP.match(folder):
            z = int(zs[1]) if z is None else z
        elif tp := _TIMEPOINT.match(folder):
            timepoint = int(tp[1])
    key = ImageKey(well, int(m["site"] or 1), int(m["channel"] or 1), z or 1, timepoint)
    if key.site < 1 or key.channel < 1 or key.z < 1 or key.t < 1:
        return None
    return key, timepoint


def is_workspace_step(root: Path) -> bool:
    """True when ``root`` is a ``step<N>_<name>`` folder inside a ``*_workspace`` folder."""
    return bool(_STEP_FOLDER.match(root.name)) and root.parent.name.endswith("_workspace")


def index_imagexpress(
    root: Path,
    matches: Mapping[str, tuple[ImageKey, int]],
    warnings: list[str],
    htd: Sequence[str] = (),
) -> PlateIndex:
    """Build the index from parsed names (see :func:`parse_imagexpress_name`).

    Reads the plate's ``.HTD`` (one of ``htd``, plate-relative) and one TIFF
    header (shape, dtype, MetaSeries pixel size and channel); every other
    file is only listed. Every time point is indexed.
    """
    timepoints = sorted({t for _, t in matches.values()})
    images: dict[ImageKey, str] = {}
    for rel in sorted(matches):
        key, _ = matches[rel]
        if key in images:
            kept = Path(images[key]).relative_to(root).as_posix()
            when = f" time point {key.t}" if len(timepoints) > 1 else ""
            warnings.append(
                f"{rel} ignored: {kept} is already well {key.well} site s{key.site} "
                f"channel {key.channel} z {key.z}{when}"
            )
            continue
        images[key] = str(root / rel)
    header_key, (shape, dtype, description) = first_readable_header(images, warnings, read_tiff_page)
    info = None
    if (rel := pick_htd(htd)) is not None:
        try:
            info = parse_htd(root / rel)
        except (OSError, ValueError) as e:
            warnings.append(f"{rel} could not be read ({e}); plate geometry and channel names "
                            "are unknown")
    metadata = imagexpress_metadata(
        info, metaseries_props(description), header_key.channel,
        sorted({k.channel for k in images}), timepoints,
    )
    workspace = is_workspace_step(root)
    name = f"{root.parent.name.removesuffix('_workspace')}_{root.name}" if workspace else None
    return PlateIndex.build(
        root,
        "workspace" if workspace else "imagexpress",
        images,
        shape,
        dtype,
        name=name,
        metadata=metadata,
        warnings=warnings,
    )

