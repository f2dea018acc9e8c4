"""The cut-out at the photo's own size, assembled from a cut-out made at a working resolution.

Photos over :data:`packshot.imaging.WORKING_PIXELS` are segmented (and measured, rendered and
checked) at ``1 / factor`` of their size (:func:`packshot.imaging.load_image_working`); only
``cutout.png`` is written at the photo's size. It is assembled here band by band, so no
full-size float image is ever held:

- alpha: the working alpha upsampled bilinearly (pixel centres aligned: full-resolution pixel
  ``x`` sits at working pixel ``(x - (factor - 1) / 2) / factor``; rows and columns past the last
  whole block take the edge value);
- colour: the photo's own full-resolution pixels where alpha >= 0.99 (inside the product the
  colour is the photo's, pixel for pixel); toward the edge, the working cut-out's decontaminated
  foreground upsampled the same way (adding a low-resolution correction to the full-resolution
  edge pixels instead leaves a dark or light fringe: they mix product and backdrop differently).

The result is encoded to PNG from one uint8 RGBA array (a quarter of a float32 RGBA copy).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from ..imaging import WorkingImage, atomic_write_bytes, linear_to_srgb8, srgb8_to_linear
from ..types import Box, Cutout
from .io import cutout_png_bytes, save_cutout

EDGE_ALPHA = 0.9
"""Below this (upsampled) alpha the colour is the working cut-out's decontaminated foreground;
from alpha 0.99 up it is the photo's own pixel; in between a blend."""

BAND_ROWS = 256
"""Rows of the full-resolution image assembled at a time (a multiple of 4: the dither tile)."""


def _upsample_band(values: np.ndarray, factor: int, y0: int, y1: int, width: int) -> np.ndarray:
    """Rows ``y0:y1`` (full resolution, ``width`` columns) of ``values`` (working resolution,
    H x W or H x W x C float32) upsampled bilinearly with centre-aligned pixels."""
    import cv2

    k = float(factor)
    c = (k - 1.0) / 2.0
    h = values.shape[0]
    # working rows this band reads (bilinear: one row either side)
    r0 = max(0, int(np.floor((y0 - c) / k)) - 1)
    r1 = min(h, int(np.ceil((y1 - 1 - c) / k)) + 2)
    src = np.ascontiguousarray(values[r0:r1])
    m = np.array([[1.0 / k, 0.0, -c / k], [0.0, 1.0 / k, (y0 - c) / k - r0]], np.float64)
    return cv2.warpAffine(src, m, (width, y1 - y0), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REPLICATE)


def full_resolution_rgba8(cutout: Cutout, work: WorkingImage) -> tuple[np.ndarray, Box | None]:
    """uint8 RGBA (sRGB colour, straight alpha) of the cut-out at the photo's size, and the box
    of alpha > 0.5 in full-resolution pixels (None when empty)."""
    if work.full_rgb8 is None:
        raise ValueError("the photo was loaded at its own size: use the cut-out as it is")
    k = work.factor
    full = work.full_rgb8
    H, W = full.shape[:2]
    h, w = cutout.alpha.shape
    if (h, w) != (H // k, W // k):
        raise ValueError(f"cut-out is {w}x{h}, expected {W // k}x{H // k} (1/{k} of the photo)")
    alpha_w = np.ascontiguousarray(cutout.alpha, np.float32)
    fg_w = np.ascontiguousarray(cutout.rgb, np.float32)
    has_delta = not np.array_equal(cutout.rgb, cutout.image)
    out = np.empty((H, W, 4), np.uint8)
    rows_any = np.zeros(H, bool)
    cols_any = np.zeros(W, bool)
    for y0 in range(0, H, BAND_ROWS):
        y1 = min(H, y0 + BAND_ROWS)
        a = np.clip(_upsample_band(alpha_w, k, y0, y1, W), 0.0, 1.0)
        a8 = np.clip(np.rint(a * 255.0), 0, 255).astype(np.uint8)
        out[y0:y1, :, 3] = a8
        inside = a8 >= 128  # alpha > 0.5, as alpha_bbox counts it (after 8-bit quantisation)
        rows_any[y0:y1] = inside.any(axis=1)
        cols_any |= inside.any(axis=0)
        if has_delta:
            # the photo's own pixels inside the product; toward the edge, the working cut-out's
            # decontaminated colour (upsampled), which carries none of the old backdrop
            photo = srgb8_to_linear(full[y0:y1])
            rgb = _upsample_band(fg_w, k, y0, y1, W)
            weight = np.clip((a - EDGE_ALPHA) / (1.0 - EDGE_ALPHA - 0.01), 0.0, 1.0)[..., None]
            photo -= rgb
            photo *= weight
            rgb += photo
            np.clip(rgb, 0.0, 1.0, out=rgb)
            out[y0:y1, :, :3] = linear_to_srgb8(rgb, dither=True)
        else:
            out[y0:y1, :, :3] = full[y0:y1]
        # fully transparent pixels carry no colour (smaller, faster PNG)
        out[y0:y1, :, :3][a8 == 0] = 0
    rows = np.flatnonzero(rows_any)
    cols = np.flatnonzero(cols_any)
    box = None if rows.size == 0 else (int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1)
    return out, box


def save_cutout_full(path: str | Path, cutout: Cutout, work: WorkingImage) -> Path:
    """Write the cut-out at the photo's size: as :func:`packshot.segment.io.save_cutout` when the
    photo was used at its own size, else assembled from the working-resolution cut-out. The
    PNG's metadata records the factor and the full-resolution box."""
    if work.factor == 1:
        return save_cutout(path, cutout)
    p = Path(path)
    rgba, box = full_resolution_rgba8(cutout, work)
    img = Image.frombuffer("RGBA", (rgba.shape[1], rgba.shape[0]), rgba, "raw", "RGBA", 0, 1)
    prov = dict(cutout.provenance)
    prov["working_resolution"] = {"factor": work.factor, "size": list(cutout.size),
                                  "photo_size": list(work.full_size)}
    data = cutout_png_bytes(img, cutout, bbox=box, provenance=prov)
    del img, rgba
    atomic_write_bytes(p, data)
    return p
