"""Scene geometry every stage may use: shadow projection, support surfaces, coverage shapes.

One camera model for every embedded scene: the camera looks at the product nearly level, so
the floor is seen foreshortened by :data:`FLOOR_FORESHORTENING` (a step of 1 px toward the
camera on the floor moves 0.3 px down the image). Shadows on the floor, podium shadows and the
relight stage all use :func:`shadow_matrix`, so their directions agree with the key light.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from ..types import Light, Support

FLOOR_FORESHORTENING = 0.3
"""Image-y pixels per pixel of floor depth toward the camera (camera about 17 deg above level)."""
MAX_SHADOW_LENGTH = 1.6
"""Longest cast shadow, in heights of the object casting it (very low light)."""


def shadow_matrix(base_y: float, light: Light, foreshortening: float = FLOOR_FORESHORTENING,
                  max_length: float = MAX_SHADOW_LENGTH) -> np.ndarray:
    """Affine map from an upright silhouette to its shadow on the floor.

    A silhouette pixel at height ``h = base_y - y`` above the floor line casts its shadow
    ``h * lx / ly`` to the side away from the light and ``h * lz / ly`` deep along the floor
    (behind the object for a front light, toward the camera for a back light), foreshortened
    on screen. Since both offsets are linear in ``y``, the whole projection is one affine map.

    Parameters
    ----------
    base_y : float
        Image row where the object meets the floor.
    light : Light
        The key light (direction conventions of :class:`packshot.types.Light`).

    Returns
    -------
    ndarray
        float64 2 x 3, silhouette pixels -> shadow pixels.
    """
    lx, ly, lz = (float(v) for v in light.direction())
    ly = max(ly, 1e-3)
    kx, kz = lx / ly, lz / ly
    length = np.hypot(kx, kz)
    if length > max_length:
        kx, kz = kx * max_length / length, kz * max_length / length
    sy = kz * foreshortening
    # A shadow straight to the side still has the depth of the object's footprint: keep a
    # minimal spread behind the base so it does not collapse to a line.
    if abs(sy) < 0.04:
        sy = 0.04 if sy >= 0 else -0.04
    # x' = x - kx * (base_y - y);  y' = base_y - sy * (base_y - y)
    return np.array([[1.0, kx, -kx * base_y], [0.0, sy, base_y * (1.0 - sy)]], np.float64)


def ellipse_coverage(shape: tuple[int, int], cx: float, cy: float, rx: float, ry: float) -> np.ndarray:
    """Anti-aliased coverage (0..1) of an axis-aligned ellipse on an H x W grid."""
    h, w = shape
    out = np.zeros((h, w), np.float32)
    x0, x1 = max(int(cx - rx - 2), 0), min(int(cx + rx + 3), w)
    y0, y1 = max(int(cy - ry - 2), 0), min(int(cy + ry + 3), h)
    if x0 >= x1 or y0 >= y1:
        return out
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    dx, dy = (xs - cx) / rx, (ys - cy) / ry
    f = dx * dx + dy * dy - 1.0
    grad = 2.0 * np.sqrt((dx / rx) ** 2 + (dy / ry) ** 2) + 1e-6
    out[y0:y1, x0:x1] = np.clip(0.5 - f / grad, 0.0, 1.0)
    return out


def polygon_coverage(shape: tuple[int, int], points: np.ndarray) -> np.ndarray:
    """Anti-aliased coverage (0..1) of a convex polygon (points in order, either winding)."""
    h, w = shape
    pts = np.asarray(points, np.float64)
    out = np.zeros((h, w), np.float32)
    x0, x1 = max(int(pts[:, 0].min() - 2), 0), min(int(pts[:, 0].max() + 3), w)
    y0, y1 = max(int(pts[:, 1].min() - 2), 0), min(int(pts[:, 1].max() + 3), h)
    if x0 >= x1 or y0 >= y1:
        return out
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    area = 0.5 * np.sum(pts[:, 0] * np.roll(pts[:, 1], -1) - np.roll(pts[:, 0], -1) * pts[:, 1])
    sign = 1.0 if area > 0 else -1.0
    d = np.full(xs.shape, np.inf, np.float32)
    for (ax, ay), (bx, by) in zip(pts, np.roll(pts, -1, axis=0)):
        ex, ey = bx - ax, by - ay
        n = np.hypot(ex, ey) or 1.0
        # signed distance, positive inside (y down flips the usual orientation)
        dist = sign * ((xs - ax) * ey - (ys - ay) * ex) / n * -1.0
        d = np.minimum(d, dist.astype(np.float32))
    out[y0:y1, x0:x1] = np.clip(d + 0.5, 0.0, 1.0)
    return out


def smoothstep(edge0: float, edge1: float, x: np.ndarray) -> np.ndarray:
    """Hermite step from 0 at ``edge0`` to 1 at ``edge1`` (float32)."""
    t = np.clip((np.asarray(x, np.float32) - edge0) / max(edge1 - edge0, 1e-6), 0.0, 1.0)
    return (t * t * (3.0 - 2.0 * t)).astype(np.float32)


def support_mask(support: Support | Mapping[str, Any], canvas: tuple[int, int], broadcast: bool = False
                 ) -> np.ndarray:
    """Where the product's shadow and reflection may fall, H x W in [0, 1].

    ``support`` is the surface the product stands on (a :class:`packshot.types.Support`, or
    the renderer's JSON description of it):
    ``{"kind": "all"}``, ``{"kind": "below", "y": row, "soft": px}`` (a floor below a line),
    ``{"kind": "ellipse", "cx", "cy", "rx", "ry"}`` (a cylinder's top) or
    ``{"kind": "polygon", "points": [[x, y], ...]}`` (a plinth's top).

    With ``broadcast`` a mask that varies by row only ("below") is returned as a read-only view
    of one column broadcast to H x W (the same values, no full-size array).
    """
    if isinstance(support, Support):
        support = support.to_dict()
    w, h = canvas
    kind = support.get("kind", "all")
    if kind == "all":
        return np.ones((h, w), np.float32)
    if kind == "below":
        ys = np.arange(h, dtype=np.float32)[:, None]
        soft = float(support.get("soft", 0.02 * h))
        column = smoothstep(support["y"] - soft, support["y"] + soft, ys).astype(np.float32)
        return np.broadcast_to(column, (h, w)) if broadcast else np.broadcast_to(column, (h, w)).copy()
    if kind == "ellipse":
        return ellipse_coverage((h, w), support["cx"], support["cy"], support["rx"], support["ry"])
    if kind == "polygon":
        return polygon_coverage((h, w), np.array(support["points"], np.float64))
    raise ValueError(f"unknown support kind {kind!r}")


__all__ = ["FLOOR_FORESHORTENING", "MAX_SHADOW_LENGTH", "ellipse_coverage", "polygon_coverage", "shadow_matrix",
           "smoothstep", "support_mask"]
