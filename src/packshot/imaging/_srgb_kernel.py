"""Compiled linear -> 8-bit sRGB pass (imported lazily: numba is slow to import).

numba is optional: :func:`packshot.imaging.lut.linear_to_srgb8_fast`
falls back to numpy when it is missing.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(nogil=True, cache=True)
def srgb8_kernel(linear, lut, bayer, out):  # pragma: no cover - compiled
    """One pass over H x W x C float32 ``linear``: clamp, look up ``lut`` (sRGB in 1/32 levels),
    add the 4 x 4 ``bayer`` offset, divide by 32 into ``out`` (uint8). ``nogil`` lets export's
    threads run it in parallel."""
    h, w, c = linear.shape
    top = lut.shape[0] - 1
    scale = np.float32(top)
    for i in range(h):
        for j in range(w):
            offset = bayer[i & 3, j & 3]
            for k in range(c):
                v = linear[i, j, k] * scale
                index = 0 if not v > 0 else (top if v >= scale else np.int32(v))
                out[i, j, k] = (lut[index] + offset) >> 5
    return out
