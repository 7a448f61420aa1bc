"""The npe2 napari plugin ``openhcs-gui`` (manifest: ``openhcs_gui/napari.yaml``).

- :mod:`openhcs_gui._napari.reader`: plate and workspace readers, Qt-free (they
  return napari layer-data tuples built from engine calls; pixels load lazily);
- :mod:`openhcs_gui._napari.sample`: the demo plate as sample data;
- :class:`openhcs_gui.ui.napari_dock.OpenHCSDock`: the dock widget (pipeline
  editor, run, plate grid) for a plain napari window.
"""

from __future__ import annotations

__all__: list[str] = []
