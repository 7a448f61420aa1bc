"""Two napari/magicgui-style functions; the package knows nothing about OpenHCS GUI."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from skimage.measure import label

if TYPE_CHECKING:  # napari is not needed to run these
    from napari.types import ImageData, LabelsData


def invert(image: ImageData, offset: float = 0.0) -> ImageData:
    """Invert intensities: max - pixel + offset."""
    image = np.asarray(image, dtype=np.float32)
    return image.max() - image + offset


def threshold_labels(image: ImageData, fraction: float = 0.5) -> LabelsData:
    """Label connected regions brighter than ``fraction`` of the plane's maximum."""
    image = np.asarray(image)
    return label(image > fraction * image.max())
