"""Surface normals from a height field: unit vectors, x right, y up, z toward the camera.

Image rows grow downward while the normal's y grows upward, so for a height field ``h(row, col)``
(larger = nearer) the normal is proportional to ``(-dh/dcol, +dh/drow, 1)``.
"""

from __future__ import annotations

import numpy as np

MAX_SLOPE = 40.0
"""Slopes are clipped here (about 88.6 degrees): the rim of an inflated shape is vertical."""


def normals_from_slopes(slope_x: np.ndarray, slope_y: np.ndarray) -> np.ndarray:
    """Unit normals from the height field's slopes along image columns and rows.

    Parameters
    ----------
    slope_x, slope_y : ndarray
        float H x W: dh/dcol and dh/drow, height and pixel in the same unit.

    Returns
    -------
    ndarray
        float32 H x W x 3 unit vectors, x right, y up, z toward the camera.
    """
    gx = np.clip(np.asarray(slope_x, np.float32), -MAX_SLOPE, MAX_SLOPE)
    gy = np.clip(np.asarray(slope_y, np.float32), -MAX_SLOPE, MAX_SLOPE)
    n = np.stack([-gx, gy, np.ones_like(gx)], axis=-1)
    n /= np.linalg.norm(n, axis=-1, keepdims=True)
    return n.astype(np.float32)


def normals_from_depth(height_px: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Unit normals of a height field given in pixels (central differences).

    Parameters
    ----------
    height_px : ndarray
        float H x W height above the silhouette plane, in pixels (larger = nearer).
    mask : ndarray of bool, optional
        Product pixels; outside them the normal is (0, 0, 1).

    Returns
    -------
    ndarray
        float32 H x W x 3 unit normals.
    """
    h = np.asarray(height_px, np.float32)
    if h.ndim != 2:
        raise ValueError(f"height_px must be H x W, got shape {h.shape}")
    if min(h.shape) < 2:
        n = np.zeros(h.shape + (3,), np.float32)
        n[..., 2] = 1.0
        return n
    gy, gx = np.gradient(h)
    n = normals_from_slopes(gx, gy)
    if mask is not None:
        n[~np.asarray(mask, bool)] = (0.0, 0.0, 1.0)
    return n


def angular_error_deg(estimate: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Angle in degrees between two H x W x 3 unit-normal maps."""
    dot = np.sum(np.asarray(estimate, np.float64) * np.asarray(truth, np.float64), axis=-1)
    return np.degrees(np.arccos(np.clip(dot, -1.0, 1.0))).astype(np.float32)
