"""Grain measurement every stage may use (render matches a plate's grain, relight the product's)."""

from __future__ import annotations

import cv2
import numpy as np

from ..imaging import linear_to_srgb, luminance


def estimate_noise(rgb_linear: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Grain level (standard deviation in sRGB units, 0..1) by Immerkaer's Laplacian method.

    The difference of two Laplacians cancels smooth image content and keeps sensor noise;
    ``mask`` (H x W bool) restricts the estimate to some pixels.
    """
    s = luminance(linear_to_srgb(rgb_linear)).astype(np.float32)
    kernel = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)
    response = np.abs(cv2.filter2D(s, -1, kernel, borderType=cv2.BORDER_REFLECT))
    if mask is not None:
        response = response[mask]
    if response.size == 0:
        return 0.0
    # The kernel's response to white noise of sigma s has a standard deviation of 6 s; the
    # median of its magnitude (0.6745 of that for a Gaussian) ignores the edges.
    return float(np.median(response) / (0.6745 * 6.0))


__all__ = ["estimate_noise"]
