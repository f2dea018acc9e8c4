"""Encoding pipeline images (float32 linear light) to files: one encoder, deterministic bytes."""

from __future__ import annotations

import functools
import io
import struct
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms

from ..errors import InputError
from .colour import float_to_uint8, linear_to_srgb8
from .files import atomic_write_bytes
from .icc import _SRGB_PROFILE

@functools.lru_cache(maxsize=1)
def srgb_icc_bytes() -> bytes:
    """An sRGB ICC profile to embed in exported files (the same bytes on every call and run)."""
    data = bytearray(ImageCms.ImageCmsProfile(_SRGB_PROFILE).tobytes())
    # lcms stamps the header's creation dateTime (bytes 24..35) with the current time, which
    # made every encoded file differ from run to run: pin it so outputs are byte-stable.
    data[24:36] = struct.pack(">6H", 2026, 1, 1, 0, 0, 0)
    return bytes(data)


_FORMATS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".webp": "WEBP", ".tif": "TIFF",
            ".tiff": "TIFF", ".bmp": "BMP"}


def to_pil(rgb_linear: np.ndarray, alpha: np.ndarray | None = None, dither: bool = True) -> Image.Image:
    """Pipeline image (+ optional alpha) -> 8-bit sRGB Pillow image (RGB or RGBA).

    Parameters
    ----------
    rgb_linear : ndarray
        float32 H x W x 3 linear light in [0, 1].
    alpha : ndarray, optional
        float32 H x W in [0, 1], straight.
    dither : bool
        Ordered dither before rounding to 8 bits (see :func:`linear_to_srgb8`).
    """
    rgb = np.asarray(rgb_linear)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"rgb_linear must be H x W x 3, got shape {rgb.shape}")
    rgb8 = linear_to_srgb8(rgb, dither=dither)
    if alpha is None:
        return Image.fromarray(rgb8, "RGB")
    if np.shape(alpha) != rgb.shape[:2]:
        raise ValueError(f"alpha must be H x W = {rgb.shape[:2]}, got shape {np.shape(alpha)}")
    return Image.fromarray(np.dstack([rgb8, float_to_uint8(alpha)]), "RGBA")


def encode_image(
    rgb_linear: np.ndarray,
    fmt: str,
    alpha: np.ndarray | None = None,
    quality: int = 92,
    icc: bool = True,
    dither: bool = True,
    exif: bytes | None = None,
    xmp: bytes | None = None,
) -> bytes:
    """Encode a pipeline image to bytes in ``fmt`` ("JPEG", "PNG", "WEBP", "TIFF", "BMP").

    Output is deterministic for the same input. JPEG and BMP have no alpha: pass alpha only for
    PNG, WebP or TIFF (a ValueError otherwise). The sRGB profile is embedded unless ``icc`` is False.
    """
    fmt = fmt.upper()
    if fmt == "JPG":
        fmt = "JPEG"
    if fmt not in set(_FORMATS.values()):
        raise ValueError(f"fmt must be one of {sorted(set(_FORMATS.values()))}, got {fmt!r}")
    if alpha is not None and fmt in ("JPEG", "BMP"):
        raise ValueError(f"{fmt} cannot store alpha; flatten the image first")
    img = to_pil(rgb_linear, alpha, dither=dither)
    kwargs: dict = {}
    if icc and fmt in ("JPEG", "PNG", "WEBP", "TIFF"):
        kwargs["icc_profile"] = srgb_icc_bytes()
    if fmt == "JPEG":
        kwargs.update(quality=int(quality), optimize=True, subsampling=0 if quality >= 90 else 2)
    elif fmt == "WEBP":
        kwargs.update(quality=int(quality), method=4)
    elif fmt == "PNG":
        kwargs.update(compress_level=6)
    elif fmt == "TIFF":
        kwargs.update(compression="tiff_deflate")
    if exif is not None and fmt in ("JPEG", "PNG", "WEBP", "TIFF"):
        kwargs["exif"] = exif
    if xmp is not None and fmt in ("JPEG", "WEBP", "TIFF"):
        kwargs["xmp"] = xmp
    if xmp is not None and fmt == "PNG":
        # Pillow writes PNG XMP only as an iTXt chunk under the XMP keyword
        from PIL import PngImagePlugin

        info = PngImagePlugin.PngInfo()
        info.add_itxt("XML:com.adobe.xmp", xmp.decode("utf-8") if isinstance(xmp, bytes) else xmp)
        kwargs["pnginfo"] = info
    buf = io.BytesIO()
    try:
        img.save(buf, fmt, **kwargs)
    except OSError:
        if fmt != "JPEG" or not kwargs.get("optimize"):
            raise
        # libjpeg's Huffman optimisation can fail on very noisy images ("broken data stream"):
        # the file is still valid without it, only slightly larger
        kwargs["optimize"] = False
        buf = io.BytesIO()
        img.save(buf, fmt, **kwargs)
    return buf.getvalue()


def save_image(path: str | Path, rgb_linear: np.ndarray, alpha: np.ndarray | None = None, **kwargs) -> Path:
    """Encode by the file suffix and write atomically. Returns the path.

    ``kwargs`` go to :func:`encode_image` (quality, icc, dither, exif, xmp).
    """
    p = Path(path)
    fmt = _FORMATS.get(p.suffix.lower())
    if fmt is None:
        raise InputError(p, f"unsupported output suffix '{p.suffix}'; use one of {sorted(_FORMATS)}")
    atomic_write_bytes(p, encode_image(rgb_linear, fmt, alpha=alpha, **kwargs))
    return p


def save_gray(path: str | Path, values: np.ndarray, bits: int = 8) -> Path:
    """Save a [0, 1] float map (mask, depth) as an 8- or 16-bit grey PNG, atomically.

    No colour transform: the stored level is ``round(value * (2**bits - 1))``.
    """
    v = np.clip(np.asarray(values, np.float32), 0.0, 1.0)
    if v.ndim != 2:
        raise ValueError(f"values must be H x W, got shape {v.shape}")
    if bits == 16:
        img = Image.fromarray(np.rint(v * 65535).astype(np.uint16))
    elif bits == 8:
        img = Image.fromarray(float_to_uint8(v), "L")
    else:
        raise ValueError(f"bits must be 8 or 16, got {bits}")
    buf = io.BytesIO()
    img.save(buf, "PNG")
    atomic_write_bytes(path, buf.getvalue())
    return Path(path)
