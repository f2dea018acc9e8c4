"""Holes and thin parts of products on a clean studio backdrop.

u2netp saliency, and any coarse mask built on it, fills the inside of a ring, a handle, a wire
frame or a chain: it sees one blob. On a clean studio backdrop the colour of the backdrop is
known at every pixel (the fitted field of :mod:`.backdrop`), so the backdrop seen through a hole
can be told from the product around it:

- :func:`open_holes` (coarse pass): inside the coarse outline, a connected region of pixels
  whose colour is the backdrop's (or the backdrop merely darkened by the product's soft shadow)
  is a hole when most of it is the backdrop's very colour; it goes to 0 before the edge band is
  matted, so the hole's rim is solved at full resolution like the outer outline.
- :func:`keep_thin_parts` (full resolution): a wire 2 px wide is half a pixel in the coarse pass
  and disappears; at full resolution the pixels that surely differ from the backdrop (a colour
  neither the backdrop nor its shadow can have) and are connected to the product are put back,
  with the known-background alpha ``|I - B| / |F - B|``.

Thresholds are in units of the backdrop's measured noise (as in :func:`.auto.studio_probability`)
and were set on generated products of one seed set (``benchmarks/cutout.py`` reports on another).
"""

from __future__ import annotations

import cv2
import numpy as np

from .backdrop import BackdropModel

HOLE_MIN_SHARE = 0.5
"""Share of a candidate region that must be the backdrop's own colour (not only its shadow)."""
HOLE_ENCLOSED_SHARE = 0.05
"""The same share for a region the product encloses on every side (a cell of a wire frame in its shadow)."""
SHADOW_MIN_K = 0.25
"""Darkest shadow (share of the backdrop's linear light) still read as the backdrop."""
HOLE_MIN_PX = 12
"""Least number of backdrop-coloured coarse pixels in a hole (smaller ones are noise)."""


def _srgb_to_linear(s: np.ndarray) -> np.ndarray:
    return np.where(s <= 0.04045, s / 12.92, ((s + 0.055) / 1.055) ** 2.4).astype(np.float32)


def backdrop_evidence(srgb: np.ndarray, field: np.ndarray, noise: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-pixel evidence against a backdrop field (all sRGB-encoded, same shape).

    Returns
    -------
    same : bool, the pixel is the backdrop's colour within its noise.
    shadowed : bool, the pixel is the backdrop's colour darkened (a shadow), not much.
    differs : float32 distance from the backdrop and from its shadowed colour (sRGB units),
        the smaller of the two: large only where no lighting of the backdrop explains the pixel.
    """
    tol = max(3.0 * noise, 0.025)
    diff = np.linalg.norm(srgb - field, axis=2)
    lin = _srgb_to_linear(srgb)
    lin_bg = _srgb_to_linear(field)
    k = (lin * lin_bg).sum(axis=2) / np.maximum((lin_bg * lin_bg).sum(axis=2), 1e-6)
    shade = np.clip(k, 0.0, 1.5)[..., None] * np.maximum(lin_bg, 1e-4)
    shade_srgb = np.where(shade <= 0.0031308, shade * 12.92, 1.055 * np.power(np.clip(shade, 0.0031308, 1), 1 / 2.4) - 0.055)
    chroma = np.linalg.norm(shade_srgb - srgb, axis=2)
    same = diff < 1.0 * tol
    shadowed = (chroma < 1.0 * tol) & (k > SHADOW_MIN_K) & (k < 1.05)
    differs = np.where((k > 0.3) & (k < 1.2), np.minimum(diff, chroma), diff).astype(np.float32)
    return same, shadowed, differs


def open_holes(prob: np.ndarray, srgb: np.ndarray, model: BackdropModel) -> tuple[np.ndarray, dict]:
    """Set to 0 the regions of backdrop inside the coarse outline (holes, gaps between parts).

    Parameters
    ----------
    prob : float32 h x w coarse product probability (after :func:`.auto.clean_mask`).
    srgb : float32 h x w x 3 sRGB-encoded (smoothed) coarse image.
    model : the clean backdrop fitted on the same coarse image.

    Returns
    -------
    prob : the probability with holes at 0.
    stats : ``holes`` (number opened) and ``hole_share`` (of the coarse mask).
    """
    hard = prob >= 0.5
    if not hard.any():
        return prob, {"holes": 0, "hole_share": 0.0}
    same, shadowed, _ = backdrop_evidence(srgb, model.field, model.noise)
    cand = (hard & (same | shadowed)).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(cand, connectivity=4)
    if n <= 1:
        return prob, {"holes": 0, "hole_share": 0.0}
    strong = np.bincount(labels.ravel(), weights=(same & hard).ravel().astype(np.float64), minlength=n)
    area = stats[:, cv2.CC_STAT_AREA].astype(np.float64)
    # a region touching the outside of the coarse mask is a gap (between keys, under a handle)
    outside = cv2.dilate((~hard).astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    open_to_outside = np.zeros(n, bool)
    open_to_outside[np.unique(labels[outside & (cand > 0)])] = True
    share = strong / np.maximum(area, 1.0)
    keep = (np.arange(n) > 0) & (strong >= HOLE_MIN_PX) & (
        (share >= HOLE_MIN_SHARE) | (~open_to_outside & (share >= HOLE_ENCLOSED_SHARE)))
    if not keep.any():
        return prob, {"holes": 0, "hole_share": 0.0}
    hole = keep[labels]
    out = prob.copy()
    out[hole] = 0.0
    return out, {"holes": int(keep.sum()), "hole_share": round(float(hole.sum()) / float(hard.sum()), 4)}
