"""Morphology every stage may use, and the one definition of the product's interior.

The **product interior** is where a stage judges the product's own colour: pixels whose alpha
is above :data:`INTERIOR_ALPHA` (fully product, no backdrop mixed in), eroded by a disc so the
outermost pixels (edge grain, light wrap, resampling) are left out. relight bounds its change
on it and qa measures colour on it: both call :func:`product_interior`.
"""

from __future__ import annotations

import cv2
import numpy as np

INTERIOR_ALPHA = 0.99
"""Alpha above which a pixel is all product (no backdrop mixed into its colour)."""
INTERIOR_MIN_PIXELS = 64
"""Fewest interior pixels a measurement needs: with fewer, :func:`product_interior` (when asked
to fall back) erodes less."""


def disc(radius: int) -> np.ndarray:
    """uint8 elliptical structuring element of ``2 radius + 1`` pixels across."""
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def erode(mask: np.ndarray, radius: int) -> np.ndarray:
    """uint8 ``mask`` eroded by a disc of ``radius`` pixels (``radius`` 0: unchanged)."""
    return cv2.erode(mask, disc(radius)) if radius > 0 else mask


def product_interior(alpha: np.ndarray, erode_px: int, fallback: bool = False) -> np.ndarray:
    """The product's interior (bool H x W): ``alpha > INTERIOR_ALPHA`` eroded by ``erode_px``.

    With ``fallback`` a product too small to keep :data:`INTERIOR_MIN_PIXELS` pixels at that
    erosion is eroded less (``erode_px // 2``, then 1, then 0): a tiny product is still measured.
    """
    solid = (np.asarray(alpha) > INTERIOR_ALPHA).astype(np.uint8)
    if not fallback:
        return erode(solid, erode_px) > 0
    for r in (erode_px, erode_px // 2, 1, 0):
        m = erode(solid, r)
        if m.sum() >= INTERIOR_MIN_PIXELS:
            return m > 0
    return solid > 0


__all__ = ["INTERIOR_ALPHA", "INTERIOR_MIN_PIXELS", "disc", "erode", "product_interior"]
