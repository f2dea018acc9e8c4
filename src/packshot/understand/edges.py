"""A ControlNet-ready edge image: Canny on the product plus its silhouette contour."""

from __future__ import annotations

import numpy as np

from ..imaging import linear_to_srgb8, luminance


def product_edges(rgb_linear: np.ndarray, alpha: np.ndarray, sigma: float = 0.33,
                  contour_width: int = 2) -> np.ndarray:
    """Edges of the product: Canny inside it and its outline.

    Parameters
    ----------
    rgb_linear : ndarray
        float32 H x W x 3 linear light in [0, 1].
    alpha : ndarray
        float32 H x W product alpha in [0, 1].
    sigma : float
        Canny thresholds are ``(1 -+ sigma) x`` the median grey level of the product
        (the usual automatic choice), so dark and bright products both get their detail.
    contour_width : int
        Thickness in pixels of the silhouette line.

    Returns
    -------
    ndarray
        float32 H x W in {0, 1}: 1 on an edge (white lines on black, as ControlNet expects).
    """
    import cv2

    a = np.asarray(alpha, np.float32)
    mask = (a > 0.5).astype(np.uint8)
    edges = np.zeros(a.shape, np.float32)
    if not mask.any():
        return edges
    # work on the product's box only (a packshot is mostly backdrop), on sRGB-encoded luminance
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    y0, y1 = max(rows[0] - 2, 0), min(rows[-1] + 3, a.shape[0])
    x0, x1 = max(cols[0] - 2, 0), min(cols[-1] + 3, a.shape[1])
    box = (slice(y0, y1), slice(x0, x1))
    grey_full = np.zeros(a.shape, np.uint8)
    grey_full[box] = linear_to_srgb8(luminance(np.asarray(rgb_linear)[box]), dither=False)
    grey = cv2.GaussianBlur(grey_full, (3, 3), 0)
    median = float(np.median(grey[box][mask[box] > 0]))
    lo = int(max(0, (1.0 - sigma) * median))
    hi = int(min(255, (1.0 + sigma) * median))
    # very dark or very flat products: keep a floor so sensor noise is not drawn
    lo, hi = max(lo, 20), max(hi, 50)
    canny = cv2.Canny(grey, lo, hi, L2gradient=True)
    # Edges of the old backdrop are not the product's: keep Canny off the outline band.
    inner = cv2.erode(mask, np.ones((3, 3), np.uint8), iterations=max(contour_width, 1))
    edges[(canny > 0) & (inner > 0)] = 1.0
    contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    outline = np.zeros(a.shape, np.uint8)
    cv2.drawContours(outline, contours, -1, 255, thickness=max(int(contour_width), 1))
    edges[outline > 0] = 1.0
    return edges
