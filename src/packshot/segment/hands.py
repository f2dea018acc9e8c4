"""Hands holding the product: skin-coloured regions that reach the photo's edge are not product.

``exclude_hands`` (``packshot cutout --exclude-hands``): in a cut-out, the pixels of skin colour
(a fixed YCrCb range, the classic skin locus, on the sRGB photo) form regions; a region that
reaches the edge of the photo (an arm comes in from outside the frame) and is large enough to be
a hand is removed from alpha, with a small margin to take its shaded rim, and what is left is the
product: its largest piece and the pieces at least a fifth of it. A skin-coloured part of the
product inside the frame (a peach on a label) does not reach the edge and stays. For a hand the
colour misses, a negative point (``--point x,y,0``) is the fix.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..types import Cutout

__all__ = ["skin_mask", "exclude_hands"]

CR_RANGE = (146, 175)
"""Skin locus on Cr (8-bit YCrCb of the sRGB photo)."""
CB_RANGE = (85, 125)
"""Skin locus on Cb."""
MIN_HAND_SHARE = 0.01
"""Least share of the photo a skin region must cover to be taken as a hand."""


def skin_mask(rgb_linear: np.ndarray) -> np.ndarray:
    """Boolean mask of skin-coloured pixels of a linear RGB photo (lightly cleaned)."""
    from ..imaging import linear_to_srgb8

    srgb8 = linear_to_srgb8(np.clip(rgb_linear, 0, 1), dither=False)
    ycc = cv2.cvtColor(np.ascontiguousarray(srgb8), cv2.COLOR_RGB2YCrCb)
    y, cr, cb = ycc[..., 0], ycc[..., 1], ycc[..., 2]
    m = ((cr >= CR_RANGE[0]) & (cr <= CR_RANGE[1]) & (cb >= CB_RANGE[0]) & (cb <= CB_RANGE[1]) & (y > 40))
    k = max(3, int(0.006 * max(m.shape)) | 1)
    m = cv2.morphologyEx(m.astype(np.uint8), cv2.MORPH_OPEN, np.ones((k, k), np.uint8))
    m = cv2.morphologyEx(m, cv2.MORPH_CLOSE, np.ones((k, k), np.uint8))
    return m.astype(bool)


def exclude_hands(cutout: Cutout) -> tuple[Cutout, dict]:
    """``cutout`` with the hands (skin-coloured regions reaching the photo's edge) removed.

    Returns the new cut-out (flag ``hands-excluded`` when something was removed) and a record
    (``hand_share``: share of the photo removed as hand; ``regions``).
    """
    from . import cutout_from_mask

    a = cutout.alpha
    h, w = a.shape
    skin = skin_mask(cutout.image) & (a > 0.2)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(skin.astype(np.uint8), connectivity=8)
    if n <= 1:
        return cutout, {"hand_share": 0.0, "regions": 0}
    edge = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    big = np.flatnonzero(stats[:, cv2.CC_STAT_AREA] >= MIN_HAND_SHARE * h * w)
    hands = [int(i) for i in big if i > 0 and i in edge]
    if not hands:
        return cutout, {"hand_share": 0.0, "regions": 0}
    hand = np.isin(labels, hands)
    r = max(2, int(0.008 * max(h, w)))
    hand = cv2.dilate(hand.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))).astype(bool)
    alpha = np.where(hand, 0.0, a).astype(np.float32)
    # what is left is the product: its largest piece and the pieces at least a fifth of it
    hard = (alpha > 0.5).astype(np.uint8)
    m, lab, st, _ = cv2.connectedComponentsWithStats(hard, connectivity=8)
    if m > 2:
        areas = st[1:, cv2.CC_STAT_AREA]
        keep = np.flatnonzero(areas >= 0.2 * areas.max()) + 1
        near = cv2.dilate(np.isin(lab, keep).astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
        alpha = np.where(near, alpha, 0.0).astype(np.float32)
    record = {"hand_share": round(float(hand.mean()), 4), "regions": len(hands)}
    prov = dict(cutout.provenance)
    prov["exclude_hands"] = record
    new = cutout_from_mask(cutout.image, alpha, background=cutout.background, confidence=cutout.confidence,
                           flags=(*cutout.flags, "hands-excluded"), provenance=prov)
    return new, record
