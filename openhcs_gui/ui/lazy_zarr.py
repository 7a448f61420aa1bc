"""Lazy OME-Zarr well arrays for the viewer: moved to :mod:`openhcs_gui.vfs.ngff_lazy`.

Engine code (no Qt) lives outside ``ui/``; this module keeps the old import
path working.
"""

from openhcs_gui.vfs.ngff_lazy import open_well_levels, well_channel_stacks

__all__ = ["open_well_levels", "well_channel_stacks"]
