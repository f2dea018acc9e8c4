"""Encoding pipeline images (float32 linear light) to files: one encoder, deterministic bytes."""

from __future__ import annotations

import functools
import io
import struct
from pathlib import Path
from typing import Callable, Mapping

import numpy as np
from PIL import Image, ImageCms, PngImagePlugin

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
    fmt = _check_format(fmt, alpha is not None)
    return _encode_pil(to_pil(rgb_linear, alpha, dither=dither), fmt, quality=quality, icc=icc, exif=exif, xmp=xmp)


def encode_srgb8(
    rgb8: np.ndarray,
    fmt: str,
    alpha8: np.ndarray | None = None,
    quality: int = 92,
    icc: bool = True,
    optimize: bool = True,
    exif: bytes | None = None,
    xmp: bytes | None = None,
    jpeg_extra: bytes | None = None,
) -> bytes:
    """Encode 8-bit sRGB pixels (already converted from linear light) to bytes in ``fmt``: the
    encoder behind :func:`encode_image`, with the same settings and the same bytes.

    Parameters
    ----------
    rgb8 : ndarray
        uint8 H x W x 3, sRGB-encoded.
    fmt : str
        "JPEG", "PNG", "WEBP", "TIFF" or "BMP".
    alpha8 : ndarray, optional
        uint8 H x W straight alpha (PNG, WebP, TIFF only; a ValueError for JPEG and BMP).
    quality : int
        JPEG and WebP quality. JPEG at quality >= 90 keeps full chroma resolution (4:4:4), below 4:2:0.
    icc : bool
        Embed the sRGB profile (:func:`srgb_icc_bytes`).
    optimize : bool
        JPEG: optimised Huffman tables (a few % smaller, slower; dropped by itself on the rare
        image where libjpeg's optimisation fails).
    exif, xmp : bytes, optional
        EXIF block (JPEG, PNG, WebP, TIFF) and XMP packet (JPEG, WebP, TIFF, and PNG as an
        ``XML:com.adobe.xmp`` iTXt chunk).
    jpeg_extra : bytes, optional
        JPEG only: raw marker segments (APP1 XMP, APP13 IPTC, ...) written after the header.
    """
    rgb8 = np.asarray(rgb8)
    if rgb8.dtype != np.uint8 or rgb8.ndim != 3 or rgb8.shape[2] != 3:
        raise ValueError(f"rgb8 must be uint8 H x W x 3, got {rgb8.dtype} {rgb8.shape}")
    fmt = _check_format(fmt, alpha8 is not None)
    if alpha8 is not None:
        if np.shape(alpha8) != rgb8.shape[:2]:
            raise ValueError(f"alpha8 must be H x W = {rgb8.shape[:2]}, got shape {np.shape(alpha8)}")
        img = Image.fromarray(np.dstack([rgb8, np.asarray(alpha8, np.uint8)]), "RGBA")
    else:
        img = Image.fromarray(np.ascontiguousarray(rgb8), "RGB")
    return _encode_pil(img, fmt, quality=quality, icc=icc, optimize=optimize, exif=exif, xmp=xmp,
                       jpeg_extra=jpeg_extra)


def _check_format(fmt: str, has_alpha: bool) -> str:
    fmt = fmt.upper()
    if fmt == "JPG":
        fmt = "JPEG"
    if fmt not in set(_FORMATS.values()):
        raise ValueError(f"fmt must be one of {sorted(set(_FORMATS.values()))}, got {fmt!r}")
    if has_alpha and fmt in ("JPEG", "BMP"):
        raise ValueError(f"{fmt} cannot store alpha; flatten the image first")
    return fmt


def _encode_pil(img: Image.Image, fmt: str, quality: int = 92, icc: bool = True, optimize: bool = True,
                exif: bytes | None = None, xmp: bytes | None = None, jpeg_extra: bytes | None = None) -> bytes:
    kwargs: dict = {}
    if icc and fmt in ("JPEG", "PNG", "WEBP", "TIFF"):
        kwargs["icc_profile"] = srgb_icc_bytes()
    if fmt == "JPEG":
        kwargs.update(quality=int(quality), optimize=bool(optimize), subsampling=0 if quality >= 90 else 2)
        if jpeg_extra:
            kwargs["extra"] = jpeg_extra
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


def encode_png(
    pixels: np.ndarray | Image.Image,
    mode: str | None = None,
    icc: bool = False,
    text: Mapping[str, str] | None = None,
    compress_level: int | None = None,
) -> bytes:
    """PNG bytes of pixels that are already what the file should hold: no colour transform, no
    dither (8-bit sRGB pictures, contact sheets, 8- or 16-bit grey maps).

    Parameters
    ----------
    pixels : ndarray or PIL.Image.Image
        uint8 H x W (grey), H x W x 3 (RGB), H x W x 4 (RGBA) or uint16 H x W (16-bit grey); or
        a Pillow image drawn in memory.
    mode : str, optional
        Pillow mode of the array when it is not the one its shape implies.
    icc : bool
        Embed the sRGB profile (:func:`srgb_icc_bytes`).
    text : mapping, optional
        iTXt chunks, keyword -> text (uncompressed).
    compress_level : int, optional
        zlib level 0..9 (None: Pillow's default, the same bytes as 6).
    """
    if isinstance(pixels, Image.Image):
        img = pixels
    else:
        a = np.asarray(pixels)
        if a.dtype not in (np.uint8, np.uint16) or (a.dtype == np.uint16 and a.ndim != 2):
            raise ValueError(f"encode_png expects uint8 H x W (x 3 or 4) or uint16 H x W, got {a.dtype} {a.shape}")
        img = Image.fromarray(a, mode) if mode is not None else Image.fromarray(a)
    kwargs: dict = {}
    if icc:
        kwargs["icc_profile"] = srgb_icc_bytes()
    if text:
        info = PngImagePlugin.PngInfo()
        for key, value in text.items():
            info.add_itxt(key, value)
        kwargs["pnginfo"] = info
    if compress_level is not None:
        kwargs["compress_level"] = int(compress_level)
    buf = io.BytesIO()
    img.save(buf, "PNG", **kwargs)
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
        data = encode_png(np.rint(v * 65535).astype(np.uint16))
    elif bits == 8:
        data = encode_png(float_to_uint8(v), "L")
    else:
        raise ValueError(f"bits must be 8 or 16, got {bits}")
    atomic_write_bytes(path, data)
    return Path(path)


class OverByteLimit(ValueError):
    """No quality down to the floor fits the byte limit (see :func:`encode_within_bytes`)."""

    def __init__(self, size: int, max_bytes: int, quality: int | None):
        self.size, self.max_bytes, self.quality = size, max_bytes, quality
        super().__init__(f"{size} bytes is over the limit of {max_bytes} bytes even at quality {quality or '-'}")


def encode_within_bytes(encode: Callable[[int | None], bytes], max_bytes: int | None, quality: int | None,
                        min_quality: int, step: int = 5) -> tuple[bytes, int | None]:
    """The one byte-limit quality loop: ``encode(quality)`` at ``quality``, then ``step`` lower
    each time, until the bytes fit ``max_bytes`` (None or 0: no limit) without going below
    ``min_quality``. ``quality`` None is a lossless format: encoded once.

    Returns
    -------
    (bytes, quality)
        The first encoding that fits and its quality.

    Raises
    ------
    OverByteLimit
        Even the lowest allowed quality is over the limit (callers turn it into their own error).
    """
    if step <= 0:
        raise ValueError(f"step must be positive, got {step}")
    while True:
        data = encode(quality)
        if not max_bytes or len(data) <= max_bytes:
            return data, quality
        if quality is None or quality - step < min_quality:
            raise OverByteLimit(len(data), max_bytes, quality)
        quality -= step
