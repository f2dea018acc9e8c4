"""One GrabCut call for the segment stage's three users (the prompt path in :mod:`.auto`, the
gate's second estimate in :mod:`.gate`, the held product in :mod:`.hands`)."""

from __future__ import annotations

import cv2
import numpy as np


def grabcut(bgr8: np.ndarray, mask: np.ndarray, iterations: int) -> np.ndarray | None:
    """Run OpenCV GrabCut from ``mask`` (``cv2.GC_*`` labels, updated in place) on a uint8 BGR
    image, with OpenCV's RNG seeded (its GMM initialisation uses it) so the same inputs give the
    same mask. Returns the boolean product (sure or probable foreground), or None when OpenCV
    refuses (e.g. a model with no samples on one side)."""
    bgd = np.zeros((1, 65), np.float64)
    fgd = np.zeros((1, 65), np.float64)
    try:
        cv2.setRNGSeed(0)
        cv2.grabCut(bgr8, mask, None, bgd, fgd, int(iterations), cv2.GC_INIT_WITH_MASK)
    except cv2.error:
        return None
    return np.isin(mask, (cv2.GC_FGD, cv2.GC_PR_FGD))
