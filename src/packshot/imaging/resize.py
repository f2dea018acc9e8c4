"""Resizing pipeline images and maps: the one place for resize helpers."""

from __future__ import annotations

import numpy as np

from .colour import _LUT_8BIT_TO_LINEAR


def resize_linear(rgb: np.ndarray, size: tuple[int, int], clip: bool = True) -> np.ndarray:
    """Resize a linear-light image or a [0, 1] map to ``size`` = (width, height).

    Area averaging when shrinking (the right filter in linear light), bicubic otherwise; the
    result is clipped to [0, 1] (bicubic overshoots) unless ``clip`` is False. float32, H' x W' (x C).
    """
    import cv2

    w, h = int(size[0]), int(size[1])
    if w <= 0 or h <= 0:
        raise ValueError(f"size must be positive, got {size}")
    src_h, src_w = rgb.shape[:2]
    if (w, h) == (src_w, src_h):
        return np.array(rgb, dtype=np.float32)
    interp = cv2.INTER_AREA if (w <= src_w and h <= src_h) else cv2.INTER_CUBIC
    out = cv2.resize(np.ascontiguousarray(rgb, dtype=np.float32), (w, h), interpolation=interp)
    return np.clip(out, 0.0, 1.0, out=out) if clip else out  # cv2 keeps float32: clipped in place, no copy


def block_mean_linear(values: np.ndarray, factor: int, band_rows: int = 64, srgb: bool = True) -> np.ndarray:
    """Linear-light mean of ``factor`` x ``factor`` blocks, computed in bands of rows.

    ``values`` is uint8 sRGB (converted to linear light block by block, never as a whole) or
    float linear light / a [0, 1] map; H x W or H x W x C. Returns float32 ``H // factor x
    W // factor (x C)``. Peak extra memory is one band, not a full-size float copy. With
    ``srgb=False`` uint8 input is a plain [0, 1] map (alpha) scaled by 1/255.
    """
    k = int(factor)
    a = np.asarray(values)
    h, w = a.shape[0] // k, a.shape[1] // k
    out = np.empty((h, w) + a.shape[2:], np.float32)
    for r0 in range(0, h, band_rows):
        r1 = min(h, r0 + band_rows)
        band = a[r0 * k:r1 * k, :w * k]
        if band.dtype == np.uint8:
            band = _LUT_8BIT_TO_LINEAR[band] if srgb else band.astype(np.float32) / np.float32(255.0)
        else:
            band = band.astype(np.float32, copy=False)
        band = band.reshape((r1 - r0, k, w, k) + a.shape[2:])
        out[r0:r1] = band.mean(axis=(1, 3), dtype=np.float32)
    return out


def shrink_to_long_side(a: np.ndarray, long_side: int, min_side: int = 1, interpolation: int | None = None
                        ) -> np.ndarray:
    """Shrink an image or map so its long side is at most ``long_side`` pixels (for analyses that
    run on a small copy). Returned as given (not copied) when it already fits; else each side is
    ``round(side * long_side / long)``, at least ``min_side``, by area averaging unless another
    OpenCV ``interpolation`` is given. The dtype is kept (pass float32 for linear light).
    """
    import cv2

    h, w = a.shape[:2]
    f = min(1.0, long_side / max(h, w))
    if f >= 1.0:
        return a
    size = (max(min_side, int(round(w * f))), max(min_side, int(round(h * f))))
    return cv2.resize(a, size, interpolation=cv2.INTER_AREA if interpolation is None else interpolation)
