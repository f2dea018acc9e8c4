"""Light colour of the embedded scenes; the neutral scene geometry is re-exported for render's modules.

Shadow projection, support surfaces, coverage shapes (:mod:`packshot.ops.geometry`) and blurs
(:mod:`packshot.ops.filters`) are neutral operations every stage may use; they live in
:mod:`packshot.ops`.
"""

from __future__ import annotations

import numpy as np

from ..condition import kelvin_to_rgb
from ..imaging import LUMINANCE_WEIGHTS
from ..ops.filters import blur, fast_blur  # noqa: F401 (render's modules)
from ..ops.geometry import (FLOOR_FORESHORTENING, MAX_SHADOW_LENGTH, ellipse_coverage,  # noqa: F401
                            polygon_coverage, shadow_matrix, smoothstep, support_mask)

NEUTRAL_KELVIN = 5600.0
"""Colour temperature the camera is white-balanced for: a light at this temperature looks neutral."""


def light_tint(kelvin: float, strength: float = 0.5) -> np.ndarray:
    """Linear RGB gains of the key light's colour relative to :data:`NEUTRAL_KELVIN`.

    ``strength`` < 1 models a camera white-balanced part of the way toward the light.
    """
    g = kelvin_to_rgb(kelvin, NEUTRAL_KELVIN).astype(np.float64) ** strength
    return (g / (g @ LUMINANCE_WEIGHTS)).astype(np.float32)
