"""Every NGFF attribute document the zarr writer can produce is valid to ome-zarr-models (issue 12 item 3).

The end-to-end tests validate the stores a few runs write. Here hypothesis draws
the plate metadata a reader may hand over (units in instrument spellings or
unknown, time or not, any standard plate geometry up to 1536 wells, named or
unnamed channels with or without colours, any pyramid depth, NGFF 0.4 / 0.5)
and every plate / well / image / label document is written exactly as the
backend writes it (:func:`write_group`), read back from the file and validated
with ome-zarr-models' attribute models. A viewer refuses an invalid document,
so the whole plate would not open.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openhcs_gui.metadata import (
    STANDARD_PLATES,
    ChannelInfo,
    PlateGeometry,
    PlateMetadata,
    row_name,
)
from openhcs_gui.vfs._zarr_labels import label_attrs
from openhcs_gui.vfs._zarr_meta import image_attrs, plate_attrs, well_attrs, write_group

LENGTH_UNITS = [None, "micrometer", "µm", "um", "micron", "nm", "mm", "pixel", "furlongs"]
TIME_UNITS = [None, "s", "second", "min", "h", "ms", "frame"]
COLORS = [None, "00FF00", "#ff0000", "0000ff"]


@st.composite
def metadata(draw: st.DrawFn) -> PlateMetadata:
    n_wells = draw(st.sampled_from(sorted(STANDARD_PLATES)))
    rows, cols = STANDARD_PLATES[n_wells]
    size = st.one_of(st.none(), st.floats(0.01, 50.0, allow_nan=False))
    channels = {c: ChannelInfo(name=draw(st.sampled_from([None, "DAPI", "Alexa 488", "µ-Tubulin"])),
                               color=draw(st.sampled_from(COLORS)))
                for c in range(1, draw(st.integers(1, 4)) + 1)}
    return PlateMetadata(
        plate_name=draw(st.sampled_from([None, "screen 1", "Plate-ß"])),
        pixel_size_x=draw(size), pixel_size_y=draw(size), z_spacing=draw(size),
        unit=draw(st.sampled_from(LENGTH_UNITS)),
        time_interval=draw(st.one_of(st.none(), st.floats(0.1, 3600.0))),
        time_unit=draw(st.sampled_from(TIME_UNITS)),
        channels=channels, geometry=PlateGeometry(rows, cols),
    )


def _validate(model_v04: Any, model_v05: Any, folder: Path, attrs: dict[str, Any], version: str) -> None:
    """Write ``attrs`` as the backend does, then validate what is in the file."""
    write_group(str(folder), attrs, 2 if version == "0.4" else 3)
    if version == "0.4":
        model_v04.model_validate(json.loads((folder / ".zattrs").read_text()))
    else:
        doc = json.loads((folder / "zarr.json").read_text())
        model_v05.model_validate(doc["attributes"]["ome"])


def _check_axes(axes: list[dict[str, Any]], meta: PlateMetadata, version: str) -> None:
    """Units are NGFF unit names (ome-zarr-models does not check them; ome-zarr-py's lists do)."""
    from ome_zarr.axes import KNOWN_SPATIAL_UNITS, KNOWN_TEMPORAL_UNITS, Axes
    from ome_zarr.format import FormatV04, FormatV05

    Axes(axes, fmt=FormatV04() if version == "0.4" else FormatV05()).validate()  # names, types, order
    for axis in axes:
        if "unit" in axis:
            known = KNOWN_TEMPORAL_UNITS if axis["type"] == "time" else KNOWN_SPATIAL_UNITS
            assert axis["unit"] in known, axis
    x_axis = axes[-1]
    if meta.pixel_size_x is None:  # an unknown size has no unit: the viewer shows pixels
        assert "unit" not in x_axis


@settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(meta=metadata(), version=st.sampled_from(["0.4", "0.5"]), data=st.data())
def test_every_document_the_writer_makes_validates(meta: PlateMetadata, version: str,
                                                    data: st.DataObject) -> None:
    from ome_zarr_models import v04, v05

    geometry = meta.geometry
    assert geometry is not None
    cells = data.draw(st.lists(st.tuples(st.integers(0, geometry.rows - 1), st.integers(0, geometry.columns - 1)),
                               min_size=1, max_size=6, unique=True))
    wells = [(r, c, f"{row_name(r)}/{c + 1}") for r, c in cells]
    n_channels = len(meta.channels)
    dtype = np.dtype(data.draw(st.sampled_from(["u1", "u2", "i4", "f4", "bool"])))
    levels = data.draw(st.integers(1, 6))
    timed = data.draw(st.booleans())
    ranges = {c: (float(c), float(10 * c + 5)) for c in range(n_channels) if data.draw(st.booleans())}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        plate = plate_attrs(meta.plate_name or "plate", wells, data.draw(st.integers(1, 9)), version, geometry)
        _validate(v04.hcs.HCSAttrs, v05.hcs.HCSAttrs, root / "plate", plate, version)
        body = plate["plate"]
        assert (len(body["rows"]), len(body["columns"])) == (geometry.rows, geometry.columns)
        _validate(v04.well.WellAttrs, v05.well.WellAttrs, root / "well",
                  well_attrs([str(f) for f in range(data.draw(st.integers(1, 4)))], version), version)
        image = image_attrs("A01_s1", n_channels, dtype, ranges, {}, version, meta=meta, levels=levels,
                            timed=timed)
        _validate(v04.image.ImageAttrs, v05.image.ImageAttrs, root / "image", image, version)
        multiscale = image["multiscales"][0]
        assert len(multiscale["datasets"]) == levels
        _check_axes(multiscale["axes"], meta, version)
        labels = label_attrs("count", version, meta, levels=levels, timed=timed)
        _validate(v04.image_label.ImageLabelAttrs, v05.image_label.ImageLabelAttrs, root / "label", labels,
                  version)
