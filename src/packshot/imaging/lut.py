"""Fast 8-bit sRGB conversions through lookup tables (the curve is :mod:`.colour`'s, tabulated).

Encoding converts linear light to 8-bit sRGB for every output pixel, the largest cost of an
export or a video encode after the codec itself. These tables hold :func:`.colour.linear_to_srgb`
sampled once (not a second implementation of the transfer function):

- :func:`linear_to_srgb8_fast` with ``dither=True``: 16384 linear steps, values in 1/32 of an
  8-bit level, plus the same centred 4 x 4 ordered dither as :func:`.colour.linear_to_srgb8`;
  within one level of it. One compiled pass where numba is installed, else a few numpy passes
  (the same bytes either way).
- :func:`linear_to_srgb8_fast` with ``dither=False``: 16384 steps straight to 8-bit codes (video
  frames: the encoder's quantisation would undo a dither).
- :func:`nearest_srgb8`: linear values that were decoded from 8-bit files back to their codes
  (equal to ``linear_to_srgb8(x, dither=False)`` on such values, a table lookup instead of a power).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .colour import linear_to_srgb, srgb8_to_linear

LUT_SIZE = 1 << 14
"""Linear steps of the fast encode tables."""

# entry i covers linear values [i, i + 1) / (size - 1): tabulated at the middle, so truncating the
# scaled value is a rounding; in units of 1/32 of an 8-bit level
_LUT_32 = np.rint(
    linear_to_srgb(np.minimum((np.arange(LUT_SIZE, dtype=np.float32) + 0.5) / (LUT_SIZE - 1), 1.0)) * 255.0 * 32.0
).astype(np.uint16)
# 4x4 Bayer offsets (2b + 1) / 32 = (b + 0.5) / 16 of a level: floor(v + offset) is the centred dither + rint
# of colour.linear_to_srgb8
_BAYER_32 = (2 * np.array([[0, 8, 2, 10], [12, 4, 14, 6], [3, 11, 1, 9], [15, 7, 13, 5]]) + 1).astype(np.uint16)

_KERNEL: Any = None  # the compiled pass, False when numba is missing; loaded on first use


def _compiled_kernel():
    global _KERNEL
    if _KERNEL is None:
        try:
            from ._srgb_kernel import srgb8_kernel
        except ImportError:  # numba is optional
            _KERNEL = False
        else:
            _KERNEL = srgb8_kernel
    return _KERNEL or None


_lut8_cache: list[np.ndarray] = []


def _lut8() -> np.ndarray:
    if not _lut8_cache:
        x = np.linspace(0.0, 1.0, LUT_SIZE, dtype=np.float32)
        _lut8_cache.append(np.clip(np.rint(linear_to_srgb(x) * 255.0), 0, 255).astype(np.uint8))
    return _lut8_cache[0]


def _linear_to_srgb8_plain(rgb: np.ndarray) -> np.ndarray:
    lut = _lut8()
    idx = np.multiply(rgb, np.float32(LUT_SIZE - 1), dtype=np.float32)
    np.maximum(idx, 0.0, out=idx)
    idx += 0.5
    # clamp above in 16 bits (half the bytes of the float pass); 4 x the table still fits in uint16
    i16 = np.minimum(idx, 4 * LUT_SIZE - 1, out=idx).astype(np.uint16)
    np.minimum(i16, LUT_SIZE - 1, out=i16)
    return lut[i16]


def linear_to_srgb8_fast(linear: np.ndarray, dither: bool = True) -> np.ndarray:
    """float32 linear (H x W or H x W x C) in [0, 1] -> uint8 sRGB via a lookup table.

    ``dither=True``: the ordered dither of :func:`~packshot.imaging.linear_to_srgb8`, within one
    8-bit level of it and several times faster (a compiled pass where numba is installed, else
    numpy; the same bytes either way). ``dither=False``: no dither, the nearest of 16384 steps
    (finer than 8-bit sRGB everywhere but the first code value).
    """
    if not dither:
        return _linear_to_srgb8_plain(linear)
    linear = np.ascontiguousarray(linear, dtype=np.float32)
    if linear.ndim == 2:
        return linear_to_srgb8_fast(linear[..., None])[..., 0]
    kernel = _compiled_kernel()
    if kernel is not None:
        return kernel(linear, _LUT_32, _BAYER_32, np.empty(linear.shape, np.uint8))
    return _dithered_numpy(linear)


def _dithered_numpy(linear: np.ndarray) -> np.ndarray:
    h, w = linear.shape[:2]
    scaled = linear * np.float32(LUT_SIZE - 1)
    index = np.clip(np.nan_to_num(scaled, nan=0.0), 0.0, float(LUT_SIZE - 1)).astype(np.uint16)
    values = _LUT_32[index]
    values += np.tile(_BAYER_32, (h // 4 + 1, w // 4 + 1))[:h, :w, None]
    values >>= 5
    return values.astype(np.uint8)


_INVERSE_LUT: list[np.ndarray] = []


def nearest_srgb8(linear: np.ndarray) -> np.ndarray:
    """Linear values decoded from 8-bit files back to their 8-bit codes (nearest code), uint8.

    Equal to ``linear_to_srgb8(x, dither=False)`` for values decoded through
    :func:`~packshot.imaging.srgb8_to_linear`, but a table lookup instead of a power per value
    (a 2000 x 2000 frame in 0.1 s instead of 1 s).
    """
    if not _INVERSE_LUT:
        codes = srgb8_to_linear(np.arange(256, dtype=np.uint8)).astype(np.float64)
        midpoints = (codes[1:] + codes[:-1]) / 2
        bins = (np.arange(1 << 16, dtype=np.float64) + 0.5) / (1 << 16)
        _INVERSE_LUT.append(np.searchsorted(midpoints, bins).astype(np.uint8))
    idx = np.clip(linear * float(1 << 16), 0, (1 << 16) - 1).astype(np.int32)
    return _INVERSE_LUT[0][idx]
