"""A model of a studio backdrop: its colour and smooth gradient, fitted on known-background pixels.

A studio sweep is one colour lit unevenly: a smooth (quadratic) field of colour explains it to
within sensor noise. The field is fitted robustly on the border of the photo (or on the ring
around a box prompt), where the product is not, then extrapolated under the product. How well
it explains those pixels says whether the photo is a clean-backdrop packshot at all.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class BackdropModel:
    """A fitted backdrop.

    Attributes
    ----------
    field : ndarray
        float32 H x W x 3 backdrop colour (sRGB-encoded values in [0, 1]) at every pixel.
    noise : float
        Robust spread (sRGB units) of the known-background pixels around the field.
    inlier_share : float
        Share of the known-background pixels within tolerance of the field.
    mean_colour : tuple
        Mean backdrop colour, sRGB-encoded.
    clean : bool
        Whether this looks like a clean studio backdrop.
    """

    field: np.ndarray
    noise: float
    inlier_share: float
    mean_colour: tuple[float, float, float]
    clean: bool


def _design(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    return np.stack([np.ones_like(xs), xs, ys, xs * xs, xs * ys, ys * ys], axis=1)


def border_mask(shape: tuple[int, int], share: float = 0.025, min_px: int = 3) -> np.ndarray:
    """Boolean mask of the outer strip of an image of ``shape`` (H, W)."""
    h, w = shape
    t = max(min_px, int(round(share * min(h, w))))
    m = np.zeros((h, w), bool)
    m[:t] = m[-t:] = True
    m[:, :t] = m[:, -t:] = True
    return m


def fit_backdrop(
    srgb: np.ndarray,
    known: np.ndarray,
    tolerance: float = 0.035,
    min_inliers: float = 0.8,
    max_noise: float = 0.03,
    iterations: int = 4,
) -> BackdropModel:
    """Fit a quadratic colour field to the known-background pixels, robustly.

    Parameters
    ----------
    srgb : ndarray
        float32 H x W x 3 sRGB-encoded image in [0, 1] (small: the coarse pass).
    known : ndarray
        bool H x W, pixels believed to be backdrop (the border strip).
    tolerance : float
        Distance (sRGB units, on top of 3 x noise) within which a pixel counts as explained.
    min_inliers, max_noise : float
        A backdrop is "clean" when at least ``min_inliers`` of the known pixels are explained
        and their spread is at most ``max_noise``.
    """
    h, w = srgb.shape[:2]
    ys, xs = np.nonzero(known)
    if ys.size < 12:
        field = np.broadcast_to(np.median(srgb.reshape(-1, 3), axis=0), srgb.shape).astype(np.float32)
        return BackdropModel(field, 1.0, 0.0, tuple(float(c) for c in field[0, 0]), False)
    # sub-sample the border for speed (the fit has 6 unknowns per channel)
    if ys.size > 20000:
        step = ys.size // 20000 + 1
        ys, xs = ys[::step], xs[::step]
    nx = (xs.astype(np.float32) / max(w - 1, 1)) * 2 - 1
    ny = (ys.astype(np.float32) / max(h - 1, 1)) * 2 - 1
    a = _design(nx, ny)
    values = srgb[ys, xs].astype(np.float32)
    # start from the pixels near the median colour: objects touching the border are outliers
    med = np.median(values, axis=0)
    dist = np.linalg.norm(values - med, axis=1)
    mad = float(np.median(dist)) + 1e-4
    weights = (dist <= max(3 * 1.4826 * mad, tolerance)).astype(np.float32)
    if weights.sum() < 12:
        weights[:] = 1.0
    coef = np.zeros((6, 3), np.float32)
    noise = 1.0
    for _ in range(iterations):
        sw = np.sqrt(weights)[:, None]
        coef, *_ = np.linalg.lstsq(a * sw, values * sw, rcond=None)
        resid = np.linalg.norm(values - a @ coef, axis=1)
        noise = float(1.4826 * np.median(resid[weights > 0])) if (weights > 0).any() else 1.0
        cut = 3.0 * noise + tolerance
        weights = (resid <= cut).astype(np.float32)
        if weights.sum() < 12:
            break
    resid = np.linalg.norm(values - a @ coef, axis=1)
    inlier_share = float((resid <= 3.0 * noise + tolerance).mean())
    # evaluate the quadratic by broadcasting rows and columns (no h*w x 6 design matrix)
    gx = ((np.arange(w, dtype=np.float32) / max(w - 1, 1)) * 2 - 1)[None, :, None]
    gy = ((np.arange(h, dtype=np.float32) / max(h - 1, 1)) * 2 - 1)[:, None, None]
    c = coef.astype(np.float32)
    field = (c[0] + c[1] * gx + c[3] * gx * gx) + (c[2] * gy + c[5] * gy * gy) + c[4] * (gx * gy)
    field = np.clip(field, 0.0, 1.0).astype(np.float32)
    # a backdrop whose extrapolated field swings wildly is not a sweep (read on a grid of at most
    # 65 x 65 of its pixels, corners included: the field is a smooth quadratic)
    rows = np.unique(np.r_[np.arange(0, h, max(1, h // 64)), h - 1])
    cols = np.unique(np.r_[np.arange(0, w, max(1, w // 64)), w - 1])
    swing = float(np.ptp(field[rows][:, cols].reshape(-1, 3), axis=0).max())
    clean = inlier_share >= min_inliers and noise <= max_noise and swing <= 0.5
    mean_colour = tuple(float(c) for c in (a @ coef)[weights > 0].mean(axis=0)) if weights.any() else tuple(
        float(c) for c in med)
    return BackdropModel(field, noise, inlier_share, mean_colour, clean)
