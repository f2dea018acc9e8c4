"""A visible disclosure label ("AI-edited") drawn onto exported pixels, for platforms that ask for one.

A profile's ``ai_label`` (e.g. ``"AI-edited"``) is drawn in the bottom-right corner of files made
from frames a trained model painted (``source_kind == "diffusion"``): white text on a dark
translucent box, sized to ~2.2 % of the shorter side (at least 10 px). Frames whose scene was
built procedurally or that are plain photos get no label: nothing in them is AI-generated.
"""

from __future__ import annotations

import numpy as np


def needs_label(profile, source_kind: str) -> bool:
    return bool(getattr(profile, "ai_label", "")) and source_kind == "diffusion"


def draw_label(rgb8: np.ndarray, text: str) -> np.ndarray:
    """``rgb8`` (uint8 H x W x 3, sRGB) with ``text`` in a box in its bottom-right corner (a copy)."""
    from PIL import Image, ImageDraw, ImageFont

    h, w = rgb8.shape[:2]
    size = max(10, int(round(min(h, w) * 0.022)))
    font = ImageFont.load_default(size=size)
    img = Image.fromarray(np.ascontiguousarray(rgb8), "RGB")
    overlay = Image.new("RGBA", img.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    x0, y0, x1, y1 = draw.textbbox((0, 0), text, font=font)
    pad = max(3, size // 3)
    bw, bh = x1 - x0 + 2 * pad, y1 - y0 + 2 * pad
    margin = max(4, size // 2)
    bx, by = w - bw - margin, h - bh - margin
    if bx < 0 or by < 0:  # too small an image for a legible label: leave it
        return rgb8
    draw.rectangle((bx, by, bx + bw, by + bh), fill=(0, 0, 0, 150))
    draw.text((bx + pad - x0, by + pad - y0), text, font=font, fill=(255, 255, 255, 255))
    out = Image.alpha_composite(img.convert("RGBA"), overlay).convert("RGB")
    return np.asarray(out, np.uint8)
