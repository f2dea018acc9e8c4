"""Reading and writing cut-outs: RGBA PNG (sRGB, straight alpha) with the cut-out's facts inside.

The PNG carries an iTXt chunk ``packshot:cutout`` (JSON: bbox, confidence, background, flags,
provenance) so :func:`load_cutout` gives back what :func:`save_cutout` was given, short of the
8-bit quantisation of colour and alpha and the source photo (which a cut-out file does not hold:
``image`` comes back as the cut-out composited over its recorded backdrop colour, or over white).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import ImageLoadError, InputError
from ..imaging import atomic_write_bytes, decode_image, encode_png, open_image, read_bounded, to_pil
from ..provenance import json_default
from ..types import Cutout, alpha_bbox

METADATA_KEY = "packshot:cutout"


def encode_cutout(cutout: Cutout) -> bytes:
    """The cut-out as RGBA PNG bytes (deterministic for the same cut-out)."""
    return cutout_png_bytes(to_pil(cutout.rgb, cutout.alpha, dither=True), cutout)


def cutout_png_bytes(img: Image.Image, cutout: Cutout, bbox=(), provenance=None) -> bytes:
    """PNG bytes of an RGBA Pillow image with ``cutout``'s facts in the metadata chunk (``bbox``
    and ``provenance`` replace the cut-out's own when given: a cut-out written at another size)."""
    box = cutout.bbox if bbox == () else bbox
    meta = {
        "bbox": None if box is None else list(box),
        "confidence": float(cutout.confidence),
        "background": None if cutout.background is None else list(cutout.background),
        "flags": list(cutout.flags),
        "provenance": cutout.provenance if provenance is None else provenance,
    }
    text = {METADATA_KEY: json.dumps(meta, sort_keys=True, default=json_default)}
    return encode_png(img, icc=True, text=text, compress_level=6)


def save_cutout(path: str | Path, cutout: Cutout) -> Path:
    """Write ``cutout`` as an RGBA PNG (sRGB, straight alpha), atomically. Returns the path."""
    p = Path(path)
    if p.suffix.lower() != ".png":
        raise InputError(p, "a cut-out is saved as .png (RGBA)")
    atomic_write_bytes(p, encode_cutout(cutout))
    return p


def load_cutout(path: str | Path) -> Cutout:
    """Read a cut-out PNG: rgb from its colour (linear), alpha from its alpha channel.

    Raises
    ------
    ImageLoadError
        Not readable as an image, or without an alpha channel.
    """
    p = Path(path)
    data = read_bounded(p, "cut-out file")  # missing, a folder, a device or too large: ImageLoadError
    loaded = decode_image(data, str(p))
    if loaded.alpha is None:
        # decode_image drops a fully opaque alpha; tell that apart from no alpha at all
        with open_image(data, str(p)) as im:
            if "A" not in im.getbands() and "transparency" not in im.info:
                raise ImageLoadError(p, "cut-out has no alpha channel (expected an RGBA PNG)")
        alpha = np.ones(loaded.rgb.shape[:2], np.float32)
    else:
        alpha = loaded.alpha
    meta: dict = {}
    with open_image(data, str(p)) as im:
        text = getattr(im, "text", {}) or {}
        if METADATA_KEY in text:
            try:
                meta = json.loads(text[METADATA_KEY])
            except json.JSONDecodeError:
                meta = {}
    background = meta.get("background")
    back = np.asarray(background if background else (1.0, 1.0, 1.0), np.float32)
    image = loaded.rgb * alpha[..., None] + back * (1.0 - alpha[..., None])
    provenance = dict(meta.get("provenance") or {})
    provenance.setdefault("loaded_from", str(p))
    bbox = alpha_bbox(alpha)
    return Cutout(
        rgb=loaded.rgb, alpha=alpha, image=image.astype(np.float32), bbox=bbox,
        confidence=float(meta.get("confidence", 1.0 if bbox is not None else 0.0)),
        background=None if not background else tuple(float(c) for c in background),
        flags=tuple(meta.get("flags", ())), provenance=provenance,
    )

