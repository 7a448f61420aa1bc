"""The one naming scheme for plate images: ``A01_s1_w1_z1.tif`` (``A01_s1_w1_z1_t2.tif``).

Well first (as in the seed's output tree), then site ``s``, channel ``w``
(wavelength, as ImageXpress names it), z-plane ``z`` and, on a plate with more
than one time point, time point ``t``; all 1-based. Disk
step folders use it as file names, the zarr backend maps it to
plate/row/column/field and ``(c, z)`` indices, and the plate readers map their
instrument's names onto it, so a step folder opens again as an input plate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from openhcs_gui.errors import InvalidPathError
from openhcs_gui.metadata import row_name

__all__ = [
    "ImageKey", "parse_image_name", "names_with_time", "is_labels_name", "split_well", "well_name", "WELL_RE", "LABELS_SUFFIX",
]

#: Name part marking a label image (``A01_s1_w1_z1_labels.tif``): a step whose
#: function declares ``outputs == "labels"`` writes its images under such names.
LABELS_SUFFIX = "_labels"

WELL_RE = re.compile(r"^(?P<row>[A-Z]{1,2})(?P<col>\d{1,3})$")
_NAME_RE = re.compile(
    r"^(?P<well>[A-Z]{1,2}\d{1,3})_s(?P<site>\d+)_w(?P<channel>\d+)(?:_z(?P<z>\d+))?(?:_t(?P<t>\d+))?"
    r"(?P<labels>_labels)?"
    r"(?P<ext>\.[A-Za-z0-9.]+)?$"
)


@dataclass(frozen=True, order=True)
class ImageKey:
    """Address of one 2-D image of a plate (all indices 1-based).

    ``t`` (time point) is the last field so ``ImageKey(well, site, channel, z)``
    still means time point 1.
    """

    well: str
    site: int
    channel: int
    z: int = 1
    t: int = 1

    def filename(self, ext: str = ".tif", *, labels: bool = False, with_time: bool = False) -> str:
        """``A01_s1_w1_z1.tif``-style name for this image.

        Parameters
        ----------
        ext
            File extension, with its dot (``""`` for a bare name).
        labels
            Name a label image: ``A01_s1_w1_z1_labels.tif``.
        with_time
            Write the ``_t<n>`` part even for time point 1. The planner sets it
            when the plate has more than one time point (:func:`names_with_time`),
            so every name of such a plate reads ``A01_s1_w1_z1_t1.tif`` ...
            ``_t3.tif``. A key with ``t > 1`` always gets its ``_t`` part, so no
            name ever loses its time point.
        """
        time = f"_t{self.t}" if with_time or self.t != 1 else ""
        tail = LABELS_SUFFIX if labels else ""
        return f"{self.well}_s{self.site}_w{self.channel}_z{self.z}{time}{tail}{ext}"

    @property
    def time(self) -> int:
        """The time point ``t`` under its ``Component.TIME`` name (``getattr(key, component.value)``)."""
        return self.t

    @property
    def row(self) -> str:
        """Plate row letters (``"A"``)."""
        return split_well(self.well)[0]

    @property
    def column(self) -> int:
        """Plate column number (1-based)."""
        return split_well(self.well)[1]


def split_well(well: str) -> tuple[str, int]:
    """``"B07"`` -> ``("B", 7)``; raises :class:`InvalidPathError` on anything else."""
    m = WELL_RE.match(well)
    if not m:
        raise InvalidPathError(f"'{well}' is not a well name like A01.")
    return m["row"], int(m["col"])


def well_name(row: str | int, column: int) -> str:
    """``("B", 7)`` or ``(1, 7)`` (0-based row index) -> ``"B07"``.

    Integer rows are named by :func:`openhcs_gui.metadata.row_name`
    (``26`` -> ``AA``, ``52`` -> ``BA``), the inverse of :func:`split_well`.
    """
    if isinstance(row, int):
        row = row_name(row)
    return f"{row}{column:02d}"


def names_with_time(time_points: int | None) -> bool:
    """True if image names of a plate with ``time_points`` time points carry ``_t<n>``.

    Only a plate with more than one time point names its time points; a
    single-time-point (or unknown, ``None``) plate keeps ``A01_s1_w1_z1.tif``.
    """
    return (time_points or 1) > 1


def parse_image_name(name: str) -> ImageKey:
    """Parse ``A01_s1_w1_z1_t1.tif`` (``_z`` and ``_t`` optional, default 1; a ``_labels`` part is allowed).

    Raises
    ------
    InvalidPathError
        When the name does not follow the scheme.
    """
    base = name.rsplit("/", 1)[-1]
    m = _NAME_RE.match(base)
    if not m:
        raise InvalidPathError(
            f"'{base}' is not an image name like A01_s1_w1_z1.tif (well_site_channel_z, optional _t<n>)."
        )
    return ImageKey(m["well"], int(m["site"]), int(m["channel"]), int(m["z"] or 1), int(m["t"] or 1))


def is_labels_name(name: str) -> bool:
    """True if ``name`` is a label image's name (``A01_s1_w1_z1_labels.tif``)."""
    m = _NAME_RE.match(name.rsplit("/", 1)[-1])
    return bool(m and m["labels"])
