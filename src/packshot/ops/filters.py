"""Blurs every stage may use (float32 layers, reflected borders)."""

from __future__ import annotations

import cv2
import numpy as np


def blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur (reflected borders); a no-op for sigma < 0.3."""
    if sigma < 0.3:
        return image
    return cv2.GaussianBlur(image, (0, 0), float(sigma), borderType=cv2.BORDER_REFLECT)


def fast_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of a smooth layer, done at reduced resolution for large sigmas (float32)."""
    if sigma < 6:
        return blur(image, sigma)
    h, w = image.shape[:2]
    f = max(2, int(sigma // 3))
    small = cv2.resize(image, (max(1, w // f), max(1, h // f)), interpolation=cv2.INTER_AREA)
    small = blur(small, sigma / f)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


__all__ = ["blur", "fast_blur"]
