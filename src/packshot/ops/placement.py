"""Placement warp: an affine warp of the cut-out's colour and alpha, nothing else.

The product's pixels are never repainted. Placing it is one affine map (scale, rotation,
translation) of the cut-out's premultiplied linear colour and alpha, resampled with bilinear
filtering (after an area pre-shrink when the product gets much smaller, so fine label text does
not alias), then un-premultiplied. render places the product with it, qa builds from it the
reference it compares a frame against (from a frame record on disk), motion places each clip
frame with it: one warp, shared by every stage.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np

from ..types import Box, alpha_bbox

_PRESHRINK_BELOW = 0.75
"""Scales below this are first area-averaged to the target size (bilinear alone would alias)."""


def unpremultiply(rgba: np.ndarray) -> np.ndarray:
    """Straight linear colour (float32 H x W x 3) of a premultiplied RGBA window, 0 where alpha is 0."""
    pre = rgba[..., :3]
    a = rgba[..., 3:4]
    out = np.zeros(pre.shape, np.float32)
    np.divide(pre, a, out=out, where=a > 1e-4)
    return out


@dataclass(frozen=True)
class PlacedProduct:
    """The product in frame coordinates.

    Only the product's region of the canvas is stored in colour (``region_rgba``); the
    full-canvas views ``premultiplied``, ``rgba`` and ``rgb`` are built on first use (a large
    canvas would otherwise hold four full-size float layers that are zero almost everywhere).

    Attributes
    ----------
    canvas : (width, height)
    matrix : ndarray
        float64 2 x 3, cut-out pixels -> frame pixels.
    box : Box or None
        Box of alpha > 0.5 in the frame.
    region : (y0, y1, x0, x1)
        The rows and columns the product can touch; everything outside is 0.
    region_rgba : ndarray
        float32 (y1 - y0) x (x1 - x0) x 4: premultiplied colour and alpha inside ``region``.
    """

    canvas: tuple[int, int]
    matrix: np.ndarray
    box: Box | None
    region: tuple[int, int, int, int]
    region_rgba: np.ndarray

    @property
    def canvas_shape(self) -> tuple[int, int]:
        return int(self.canvas[1]), int(self.canvas[0])

    def full_alpha(self) -> np.ndarray:
        """float32 H x W alpha of the whole canvas, built anew on each call (not kept)."""
        H, W = self.canvas_shape
        out = np.zeros((H, W), np.float32)
        y0, y1, x0, x1 = self.region
        if y1 > y0 and x1 > x0:
            out[y0:y1, x0:x1] = self.region_rgba[..., 3]
        return out

    @functools.cached_property
    def alpha(self) -> np.ndarray:
        """float32 H x W in [0, 1]: the whole canvas, 0 outside ``region`` (built on first use, kept)."""
        return self.full_alpha()

    def alpha_window(self, rows: slice, cols: slice) -> np.ndarray:
        """float32 alpha of a canvas window (0 outside the product's region), its own array."""
        H, W = self.canvas_shape
        r0, r1, _ = rows.indices(H)
        c0, c1, _ = cols.indices(W)
        out = np.zeros((max(r1 - r0, 0), max(c1 - c0, 0)), np.float32)
        y0, y1, x0, x1 = self.region
        iy0, iy1 = max(r0, y0), min(r1, y1)
        ix0, ix1 = max(c0, x0), min(c1, x1)
        if iy1 > iy0 and ix1 > ix0:
            out[iy0 - r0:iy1 - r0, ix0 - c0:ix1 - c0] = self.region_rgba[iy0 - y0:iy1 - y0, ix0 - x0:ix1 - x0, 3]
        return out

    def window(self, rows: slice, cols: slice) -> np.ndarray:
        """float32 premultiplied RGBA of a canvas window (0 outside the product's region)."""
        H, W = self.canvas_shape
        r0, r1, _ = rows.indices(H)
        c0, c1, _ = cols.indices(W)
        out = np.zeros((max(r1 - r0, 0), max(c1 - c0, 0), 4), np.float32)
        y0, y1, x0, x1 = self.region
        iy0, iy1 = max(r0, y0), min(r1, y1)
        ix0, ix1 = max(c0, x0), min(c1, x1)
        if iy1 > iy0 and ix1 > ix0:
            out[iy0 - r0:iy1 - r0, ix0 - c0:ix1 - c0] = self.region_rgba[iy0 - y0:iy1 - y0, ix0 - x0:ix1 - x0]
        return out

    @functools.cached_property
    def rgba(self) -> np.ndarray:
        """float32 H x W x 4 premultiplied colour and alpha of the whole canvas (built on first use)."""
        H, W = self.canvas_shape
        return self.window(slice(0, H), slice(0, W))

    @functools.cached_property
    def premultiplied(self) -> np.ndarray:
        """float32 H x W x 3 linear colour times alpha of the whole canvas (built on first use)."""
        return self.rgba[..., :3]

    def straight(self, rows: slice, cols: slice) -> np.ndarray:
        """Straight (un-premultiplied) linear colour of a window, 0 where alpha is 0."""
        return unpremultiply(self.window(rows, cols))

    @functools.cached_property
    def rgb(self) -> np.ndarray:
        """float32 H x W x 3 straight linear colour (0 where alpha is 0), computed on first use."""
        y0, y1, x0, x1 = self.region
        H, W = self.canvas_shape
        out = np.zeros((H, W, 3), np.float32)
        if y1 > y0 and x1 > x0:
            out[y0:y1, x0:x1] = self.straight(slice(y0, y1), slice(x0, x1))
        return out


def compose_affine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Affine ``a`` after ``b`` (both 2 x 3)."""
    a3 = np.vstack([a, [0, 0, 1]])
    b3 = np.vstack([b, [0, 0, 1]])
    return (a3 @ b3)[:2]


def warp_layer(layer: np.ndarray, matrix: np.ndarray, canvas: tuple[int, int]) -> np.ndarray:
    """Bilinear affine warp of an H x W (x C) float32 layer into a ``canvas`` (w, h); outside is 0.

    Scales below 0.75 are area-averaged first, so the result is filtered, not point-sampled.
    """
    m = np.asarray(matrix, np.float64)
    src = np.ascontiguousarray(layer, np.float32)
    sx = float(np.hypot(m[0, 0], m[1, 0]))
    sy = float(np.hypot(m[0, 1], m[1, 1]))
    if min(sx, sy) < _PRESHRINK_BELOW:
        h, w = src.shape[:2]
        nw, nh = max(1, int(round(w * min(sx, 1.0)))), max(1, int(round(h * min(sy, 1.0))))
        fx, fy = nw / w, nh / h
        src = cv2.resize(src, (nw, nh), interpolation=cv2.INTER_AREA)
        # pixel centres: x_old = (x_new + 0.5) / fx - 0.5
        shrink_inv = np.array([[1 / fx, 0, 0.5 / fx - 0.5], [0, 1 / fy, 0.5 / fy - 0.5]])
        m = compose_affine(m, shrink_inv)
    channels = src.shape[2] if src.ndim == 3 else 1
    if channels > 4:
        raise ValueError(f"warp_layer handles at most 4 channels, got {channels}")
    return cv2.warpAffine(src, m, (int(canvas[0]), int(canvas[1])), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def crop_to_product(rgb: np.ndarray, alpha: np.ndarray, margin: int = 4) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Crop colour and alpha to the alpha > 0 region plus ``margin``; returns them and the offset matrix.

    The matrix maps crop pixels to the original cut-out's pixels.
    """
    box = alpha_bbox(alpha, threshold=0.0)
    if box is None:
        return rgb, alpha, np.array([[1.0, 0, 0], [0, 1.0, 0]])
    h, w = alpha.shape
    x0, y0 = max(box[0] - margin, 0), max(box[1] - margin, 0)
    x1, y1 = min(box[2] + margin, w), min(box[3] + margin, h)
    return rgb[y0:y1, x0:x1], alpha[y0:y1, x0:x1], np.array([[1.0, 0, x0], [0, 1.0, y0]])


def place_product(rgb: np.ndarray, alpha: np.ndarray, matrix: np.ndarray, canvas: tuple[int, int]) -> PlacedProduct:
    """Warp the locked product into a canvas.

    Parameters
    ----------
    rgb : ndarray
        float32 H x W x 3 linear cut-out colour (straight).
    alpha : ndarray
        float32 H x W cut-out alpha.
    matrix : ndarray
        2 x 3 affine, cut-out pixels -> canvas pixels (:meth:`packshot.types.Placement.matrix`).
    canvas : (width, height)

    Returns
    -------
    PlacedProduct
    """
    if rgb.shape[:2] != alpha.shape:
        raise ValueError(f"cut-out colour {rgb.shape[:2]} and alpha {alpha.shape} differ in size")
    W, H = int(canvas[0]), int(canvas[1])
    crop_rgb, crop_alpha, offset = crop_to_product(rgb, alpha)
    m = compose_affine(np.asarray(matrix, np.float64), offset)
    # Only the canvas region the product lands in is resampled (plus a pixel for the filter).
    ch, cw = crop_alpha.shape
    corners = m @ np.array([[0, cw, 0, cw], [0, 0, ch, ch], [1, 1, 1, 1]], np.float64)
    x0 = int(np.clip(np.floor(corners[0].min()) - 2, 0, W))
    x1 = int(np.clip(np.ceil(corners[0].max()) + 2, 0, W))
    y0 = int(np.clip(np.floor(corners[1].min()) - 2, 0, H))
    y1 = int(np.clip(np.ceil(corners[1].max()) + 2, 0, H))
    region = np.zeros((max(y1 - y0, 0), max(x1 - x0, 0), 4), np.float32)
    box = None
    if x1 > x0 and y1 > y0:
        src = np.empty(crop_alpha.shape + (4,), np.float32)
        # resample premultiplied colour: straight colour would bleed the (arbitrary) colour of
        # transparent pixels into the edge
        np.multiply(crop_rgb, crop_alpha[..., None], out=src[..., :3])
        src[..., 3] = crop_alpha
        local = m.copy()
        local[:, 2] -= (x0, y0)
        region = warp_layer(src, local, (x1 - x0, y1 - y0))
        del src
        np.clip(region, 0.0, 1.0, out=region)
        # straight colour stays <= 1: premultiplied colour never exceeds alpha
        np.minimum(region[..., :3], region[..., 3:4], out=region[..., :3])
        local_box = alpha_bbox(region[..., 3])
        if local_box is not None:
            box = (local_box[0] + x0, local_box[1] + y0, local_box[2] + x0, local_box[3] + y0)
    return PlacedProduct((W, H), np.asarray(matrix, np.float64), box, (y0, y1, x0, x1), region)


def place_straight(rgb: np.ndarray, alpha: np.ndarray, matrix: np.ndarray, size: tuple[int, int]
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Straight RGB + alpha placed by a 2 x 3 affine into a (width, height) canvas by
    :func:`place_product` (premultiplied resampling, area pre-shrink), returned as full-canvas
    straight colour and alpha, both clipped to [0, 1]: the product as the renderer placed it, the
    reference qa and motion's clip checks compare a frame against."""
    placed = place_product(np.asarray(rgb, np.float32), np.asarray(alpha, np.float32),
                           np.asarray(matrix, np.float64), (int(size[0]), int(size[1])))
    a = np.clip(placed.alpha, 0.0, 1.0)
    return np.clip(placed.rgb, 0.0, 1.0).astype(np.float32), a.astype(np.float32)


__all__ = ["PlacedProduct", "compose_affine", "crop_to_product", "place_product", "place_straight", "warp_layer"]
