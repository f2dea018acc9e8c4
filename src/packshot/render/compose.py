"""Compositing the placed product over a renderer's background, in linear light.

Placing the product (the affine warp) is a neutral operation in :mod:`packshot.ops.placement`,
shared with qa and motion; it is re-exported here for render's own modules.
"""

from __future__ import annotations

import numpy as np

from ..ops.placement import PlacedProduct, crop_to_product, place_product, warp_layer  # noqa: F401 (render's modules)


def composite(background: np.ndarray, product: PlacedProduct, overwrite_background: bool = False) -> np.ndarray:
    """Linear-light 'over': product premultiplied colour + background x (1 - alpha).

    Only the product's region is blended; elsewhere the frame is the background. With
    ``overwrite_background`` (a float32 background the caller no longer needs) the result is
    written into it instead of a copy: the same pixels, one full-size layer less.
    """
    if overwrite_background and isinstance(background, np.ndarray) and background.dtype == np.float32 \
            and background.flags.writeable and background.flags.c_contiguous:
        out = background
    else:
        out = np.array(background, dtype=np.float32, copy=True)
    y0, y1, x0, x1 = product.region
    if y1 > y0 and x1 > x0:
        win = out[y0:y1, x0:x1]
        win *= 1.0 - product.alpha[y0:y1, x0:x1, None]
        win += product.region_rgba[..., :3]
    return out
