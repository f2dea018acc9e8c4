"""Image I/O and the one place where colour conventions are converted.

Inside the pipeline an image is ``float32`` H x W x 3, **linear light**, in [0, 1]; alpha is
``float32`` H x W in [0, 1], straight (not premultiplied). Decoding converts the file's mode
(palette, greyscale, CMYK, 16-bit...) to RGB, converts an embedded ICC profile to sRGB, applies
the EXIF orientation, then sRGB -> linear. Encoding is the reverse, with a small ordered dither
so that smooth gradients do not band in 8 bits.

Every write is atomic: a temporary file in the same folder, then ``os.replace``.

Decompression-bomb guard
------------------------
``max_pixels`` (default :data:`DEFAULT_MAX_PIXELS`, 100 MP) is checked on the size in the
file's header, before any pixel is decoded. Pillow has its own process-wide guard
(``PIL.Image.MAX_IMAGE_PIXELS``: a warning above ~89 MP, an error above ~179 MP). This module
never changes that global on the normal path. Only when Pillow refuses a file before we can read
its header size (or the caller allows more pixels than Pillow does) is the file re-opened with
Pillow's guard lifted, under a module lock and restored right after; our own limit is then the
one that applies. Other threads that call Pillow directly during that short window run without
Pillow's guard, which is the only global effect. ``max_pixels`` must be a positive number of
pixels and can be raised at most to :data:`MAX_PIXELS_CEILING` (500 MP): 0, negatives and larger
values are refused, so the guard can never be switched off. Pillow's
``DecompressionBombWarning`` is silenced (our own limit is the one that applies).

Bounded reads
-------------
Every file packshot reads (photos, masks, cut-outs, plates, references, briefs, manifests) goes
through :func:`read_bounded`: only regular files are read (``/dev/zero``, a FIFO or a folder is
refused before a byte is read) and at most ``max_bytes`` bytes (:data:`MAX_IMAGE_BYTES` for
images, :data:`MAX_DOCUMENT_BYTES` for text documents); a longer file is refused.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import struct
import stat
import tempfile
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, TypeVar

import numpy as np
from PIL import Image, ImageCms, UnidentifiedImageError

from .errors import ImageLoadError, ImageTooLargeError, InputError, PackshotWarning
from .provenance import sha256_bytes

DEFAULT_MAX_PIXELS = 100_000_000
"""Default pixel limit for decoded images (decompression-bomb guard), 100 MP."""

MAX_PIXELS_CEILING = 500_000_000
"""Highest value ``max_pixels`` (``--max-pixels``) may be raised to, 500 MP."""

MAX_IMAGE_BYTES = 1 << 30
"""Largest image file read (1 GiB); a longer one is refused before it is decoded."""

MAX_DOCUMENT_BYTES = 32 << 20
"""Largest text document read (brief, manifest, profile, sidecar): 32 MiB."""

SUPPORTED_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp", ".gif", ".heic", ".heif",
                      ".avif")
"""File suffixes the loader is meant for (HEIC/HEIF only where ``pillow_heif`` is installed; of an
animated GIF or a multi-page TIFF the first frame is used, with a :class:`~packshot.errors.PackshotWarning`)."""

# packshot checks its own max_pixels on every header before decoding: Pillow's warning for
# images between its two limits is noise that would only leak to the terminal.
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)

try:  # HEIC / AVIF where the plugin is installed
    import pillow_heif  # type: ignore

    pillow_heif.register_heif_opener()
    try:
        pillow_heif.register_avif_opener()
    except AttributeError:  # newer pillow_heif: AVIF is Pillow's own
        pass
except ImportError:  # pragma: no cover - optional
    pillow_heif = None

_SRGB_PROFILE = ImageCms.createProfile("sRGB")

T = TypeVar("T")


# ---------------------------------------------------------------------------------------------
# colour conversions
# ---------------------------------------------------------------------------------------------
def _as_float_array(values, func: str) -> np.ndarray:
    a = np.asarray(values)
    if a.dtype.kind in "iub":
        raise ValueError(
            f"{func} expects float values in [0, 1], got dtype {a.dtype}; "
            "convert 8-bit data with srgb8_to_linear / uint8_to_float"
        )
    return a.astype(np.float32, copy=False)


def srgb_to_linear(srgb: np.ndarray) -> np.ndarray:
    """sRGB-encoded values -> linear light (IEC 61966-2-1).

    Parameters
    ----------
    srgb : ndarray
        Any shape, float, sRGB-encoded in [0, 1] (values outside are clipped).

    Returns
    -------
    ndarray
        float32, same shape, linear light in [0, 1].

    Examples
    --------
    >>> float(srgb_to_linear(0.5))  # doctest: +ELLIPSIS
    0.2140...
    """
    s = np.clip(_as_float_array(srgb, "srgb_to_linear"), 0.0, 1.0)
    return np.where(s <= 0.04045, s / 12.92, ((s + 0.055) / 1.055) ** 2.4).astype(np.float32)


def linear_to_srgb(linear: np.ndarray) -> np.ndarray:
    """Linear light -> sRGB-encoded values (IEC 61966-2-1).

    Parameters
    ----------
    linear : ndarray
        Any shape, float, linear light in [0, 1] (values outside are clipped).

    Returns
    -------
    ndarray
        float32, same shape, sRGB-encoded in [0, 1].
    """
    x = np.clip(_as_float_array(linear, "linear_to_srgb"), 0.0, 1.0)
    return np.where(x <= 0.0031308, x * 12.92, 1.055 * np.power(x, 1 / 2.4) - 0.055).astype(
        np.float32
    )


_LUT_8BIT_TO_LINEAR = srgb_to_linear(np.arange(256, dtype=np.float32) / 255.0)


def srgb8_to_linear(srgb8: np.ndarray) -> np.ndarray:
    """uint8 sRGB (any shape) -> float32 linear light in [0, 1], through a lookup table."""
    a = np.asarray(srgb8)
    if a.dtype != np.uint8:
        raise ValueError(f"srgb8_to_linear expects uint8, got {a.dtype}")
    return _LUT_8BIT_TO_LINEAR[a]


# 4x4 Bayer matrix, centred, in units of one 8-bit step: offsets in [-15/32, +15/32], so a value
# that already sits on an 8-bit level never moves (8-bit decode -> encode is lossless).
_BAYER4 = (np.array([[0, 8, 2, 10], [12, 4, 14, 6], [3, 11, 1, 9], [15, 7, 13, 5]], np.float32) + 0.5) / 16.0 - 0.5


def linear_to_srgb8(linear: np.ndarray, dither: bool = True) -> np.ndarray:
    """float linear light -> uint8 sRGB.

    Parameters
    ----------
    linear : ndarray
        H x W or H x W x C linear-light values in [0, 1].
    dither : bool
        Add a deterministic 4 x 4 ordered dither (less than +-0.5 step) before rounding so that
        smooth gradients do not band. The same input always gives the same bytes, and a value
        that already sits on an 8-bit level is left on it.

    Returns
    -------
    ndarray
        uint8, same shape.
    """
    s = linear_to_srgb(linear) * 255.0
    if dither and s.ndim >= 2:
        h, w = s.shape[:2]
        tile = np.tile(_BAYER4, (h // 4 + 1, w // 4 + 1))[:h, :w]
        if s.ndim == 3:
            tile = tile[..., None]
        s = s + tile
    return np.clip(np.rint(s), 0, 255).astype(np.uint8)


def float_to_uint8(values: np.ndarray) -> np.ndarray:
    """A [0, 1] float map (alpha, mask, any non-colour channel) -> uint8, no colour transform."""
    return np.clip(np.rint(np.asarray(values, np.float32) * 255.0), 0, 255).astype(np.uint8)


def uint8_to_float(values: np.ndarray) -> np.ndarray:
    """uint8 map -> float32 in [0, 1], no colour transform."""
    return np.asarray(values, dtype=np.float32) / 255.0


def luminance(linear_rgb: np.ndarray) -> np.ndarray:
    """Relative luminance (Rec. 709 / sRGB weights) of linear RGB (..., 3) -> (...), float32."""
    return (np.asarray(linear_rgb, np.float32)[..., :3] @ np.array([0.2126, 0.7152, 0.0722], np.float32)).astype(
        np.float32
    )


# sRGB (D65) linear -> XYZ -> CIELAB
_RGB_TO_XYZ = np.array(
    [[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750], [0.0193339, 0.1191920, 0.9503041]],
    np.float32,
)
_XYZ_TO_RGB = np.linalg.inv(_RGB_TO_XYZ.astype(np.float64)).astype(np.float32)
_D65 = np.array([0.95047, 1.0, 1.08883], np.float32)
_LAB_EPSILON = 216 / 24389
_LAB_KAPPA = 24389 / 27


def linear_to_lab(linear_rgb: np.ndarray) -> np.ndarray:
    """Linear sRGB (..., 3) -> CIELAB (..., 3), D65 white, float32 (L in [0, 100])."""
    xyz = np.asarray(linear_rgb, np.float32)[..., :3] @ _RGB_TO_XYZ.T / _D65
    f = np.where(xyz > _LAB_EPSILON, np.cbrt(np.maximum(xyz, _LAB_EPSILON)), (_LAB_KAPPA * xyz + 16) / 116)
    lightness = 116 * f[..., 1] - 16
    a = 500 * (f[..., 0] - f[..., 1])
    b = 200 * (f[..., 1] - f[..., 2])
    return np.stack([lightness, a, b], axis=-1).astype(np.float32)


def lab_to_linear(lab: np.ndarray) -> np.ndarray:
    """CIELAB (..., 3), D65 -> linear sRGB (..., 3), float32 (not clipped: out-of-gamut shows)."""
    lab = np.asarray(lab, np.float32)
    fy = (lab[..., 0] + 16) / 116
    fx = fy + lab[..., 1] / 500
    fz = fy - lab[..., 2] / 200

    def finv(f):
        f3 = f**3
        return np.where(f3 > _LAB_EPSILON, f3, (116 * f - 16) / _LAB_KAPPA)

    xyz = np.stack([finv(fx), finv(fy), finv(fz)], axis=-1) * _D65
    return (xyz @ _XYZ_TO_RGB.T).astype(np.float32)


def delta_e2000(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """CIEDE2000 colour difference between two CIELAB arrays of the same shape (..., 3) -> (...)."""
    from skimage.color import deltaE_ciede2000

    return deltaE_ciede2000(np.asarray(lab1, np.float64), np.asarray(lab2, np.float64)).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# loading
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LoadedImage:
    """A decoded image in pipeline conventions.

    Attributes
    ----------
    rgb : ndarray
        float32 H x W x 3, linear light in [0, 1], EXIF-rotated, in sRGB primaries.
    alpha : ndarray or None
        float32 H x W in [0, 1], straight, when the file had an alpha channel (or palette
        transparency) that is not fully opaque; None otherwise.
    path : str
        Where it came from ("<bytes>" when decoded from memory).
    sha256 : str
        Hash of the file's bytes.
    source_mode : str
        The Pillow mode of the file before conversion, with " 16-bit" appended when the
        pixels were decoded at 16 bits ("RGB 16-bit", "I;16 16-bit").
    source_format : str
        Pillow's format name ("JPEG", "PNG", ...).
    notes : tuple of str
        What was done on load ("exif-orientation 6", "icc->sRGB (...)", "cmyk->rgb", ...).
    """

    rgb: np.ndarray
    alpha: np.ndarray | None
    path: str
    sha256: str
    source_mode: str
    source_format: str
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        return self.rgb.shape[1], self.rgb.shape[0]


def check_max_pixels(max_pixels: object, source: str = "max_pixels") -> int:
    """A valid pixel limit: a positive whole number up to :data:`MAX_PIXELS_CEILING`.

    ``None`` stands for the ceiling. 0, negatives, non-integers and values over the ceiling
    raise :class:`InputError` naming ``source`` (e.g. ``"--max-pixels"``): the bomb guard can be
    raised, never switched off.
    """
    if max_pixels is None:
        return MAX_PIXELS_CEILING
    if isinstance(max_pixels, bool) or not isinstance(max_pixels, (int, np.integer)):
        raise InputError(source, f"must be a whole number of pixels, got {max_pixels!r}")
    value = int(max_pixels)
    if value <= 0:
        raise InputError(source, f"must be a positive number of pixels, got {value} (the decompression-bomb "
                                 f"guard cannot be switched off)")
    if value > MAX_PIXELS_CEILING:
        raise InputError(source, f"{value} is over the ceiling of {MAX_PIXELS_CEILING} pixels "
                                 f"({MAX_PIXELS_CEILING / 1e6:.0f} MP)")
    return value


def _check_pixels(name: str, width: int, height: int, max_pixels: int) -> None:
    if width <= 0 or height <= 0:
        raise ImageLoadError(name, f"image has an empty size {width}x{height}")
    if width * height > max_pixels:
        raise ImageTooLargeError(
            name,
            f"image is {width}x{height} = {width * height / 1e6:.1f} MP, over the limit of "
            f"{max_pixels / 1e6:.1f} MP (possible decompression bomb; raise max_pixels to allow it)",
        )


_PILLOW_GUARD_LOCK = threading.Lock()


def _with_pillow_guard_lifted(action: Callable[[], T]) -> T:
    """Run ``action``; if Pillow's own bomb guard refuses the file, run it again without it.

    The retry holds a module lock while ``PIL.Image.MAX_IMAGE_PIXELS`` is lifted and restores it
    afterwards. ``action`` must check our own ``max_pixels`` on the header size before decoding,
    so a file over our limit is still refused before any pixel is allocated.
    """
    try:
        return action()
    except Image.DecompressionBombError:
        pass
    with _PILLOW_GUARD_LOCK:
        saved = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        try:
            return action()
        finally:
            Image.MAX_IMAGE_PIXELS = saved


def _looks_like_text(data: bytes) -> bool:
    """Whether the file starts like UTF-8 text (a text file with an image's name)."""
    head = data[:512]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3:  # not just a character cut at the 512-byte boundary
            return False
        text = head[: exc.start].decode("utf-8")
    text = text.removeprefix("\ufeff")
    return bool(text) and all(c.isprintable() or c in "\r\n\t" for c in text)


_HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1")


def _describe_decode_failure(name: str, data: bytes, exc: BaseException) -> ImageLoadError:
    msg = str(exc) or exc.__class__.__name__
    if isinstance(exc, UnidentifiedImageError):
        if data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS and pillow_heif is None:
            return ImageLoadError(name, "HEIC/HEIF image: reading it needs the pillow-heif package "
                                        "(pip install pillow-heif)")
        if _looks_like_text(data):
            return ImageLoadError(name, "not an image file: it contains text")
        return ImageLoadError(name, "not a recognised image file (corrupt, or another kind of file)")
    lowered = msg.lower()
    if isinstance(exc, EOFError) or any(k in lowered for k in ("truncated", "broken", "premature", "eof")):
        return ImageLoadError(name, f"image file is truncated or its data is corrupt ({msg})")
    return ImageLoadError(name, f"image cannot be decoded ({msg})")


def _open_pil(data: bytes, name: str, max_pixels: int) -> tuple[Image.Image, int | None]:
    """Open ``data`` with Pillow, check the header size against ``max_pixels``, decode it.

    Returns the loaded image and, for TIFF, the orientation tag as it was in the file: Pillow
    turns TIFF pixels upright while loading and then deletes the tag.
    """
    try:
        img = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, MemoryError):
        raise
    except Exception as exc:  # any decoder failure becomes an error naming the file
        raise _describe_decode_failure(name, data, exc) from exc
    _check_pixels(name, img.width, img.height, max_pixels)
    tiff_orientation = img.tag_v2.get(0x0112) if img.format == "TIFF" else None
    try:
        img.load()
    except (Image.DecompressionBombError, MemoryError):
        raise
    except Exception as exc:
        raise _describe_decode_failure(name, data, exc) from exc
    return img, tiff_orientation


def _exif_orientation(img: Image.Image, notes: list[str], tiff_orientation: int | None = None) -> int:
    if img.format == "TIFF":
        value = 1 if tiff_orientation is None else tiff_orientation
    else:
        try:
            value = img.getexif().get(0x0112, 1)
        except Exception:  # a broken EXIF block must not make the image unreadable
            notes.append("exif unreadable, orientation ignored")
            return 1
    try:
        value = int(value)
    except (TypeError, ValueError):
        value = 1
    if value not in range(1, 9):
        notes.append(f"exif orientation {value} is invalid, ignored")
        return 1
    return value


def _orient_array(arr: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation (1-8) to an H x W (x C) array: what a viewer shows upright.

    Matches ``PIL.ImageOps.exif_transpose``: 2 mirror, 3 rotate 180, 4 flip, 5 transpose,
    6 rotate 90 clockwise, 7 transverse, 8 rotate 90 counter-clockwise.
    """
    ops = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1, :],
        5: lambda a: np.swapaxes(a, 0, 1),
        6: lambda a: np.rot90(a, -1),
        7: lambda a: np.swapaxes(a, 0, 1)[::-1, ::-1],
        8: lambda a: np.rot90(a, 1),
    }
    op = ops.get(int(orientation))
    return np.ascontiguousarray(op(arr)) if op else arr


# --- ICC profiles -----------------------------------------------------------------------------
_ICC_SPACE_FOR_MODE = {"RGB": "RGB", "L": "GRAY", "CMYK": "CMYK", "LAB": "LAB"}


class _IccMismatch(ValueError):
    """The embedded profile does not describe the image's colour space."""


@functools.lru_cache(maxsize=32)
def _icc_transform(icc: bytes, in_mode: str) -> tuple[ImageCms.ImageCmsTransform | None, str]:
    """A transform from the embedded profile to sRGB (None when it already is sRGB) and its name.

    Transforms are cached by profile bytes (building one takes milliseconds) and built with
    ``NOCACHE`` so that one transform may be applied from several threads at once.
    """
    src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    desc = (ImageCms.getProfileDescription(src) or "").strip() or "unnamed profile"
    space = src.profile.xcolor_space.strip().upper()
    if space != _ICC_SPACE_FOR_MODE.get(in_mode):
        raise _IccMismatch(f"a {space} profile on a {in_mode} image")
    if in_mode == "RGB" and "srgb" in desc.lower():
        return None, desc
    transform = ImageCms.buildTransform(
        src, _SRGB_PROFILE, in_mode, "RGB",
        renderingIntent=ImageCms.Intent.PERCEPTUAL, flags=ImageCms.Flags.NOCACHE,
    )
    return transform, desc


def _lookup_icc(icc: bytes, in_mode: str, notes: list[str]) -> ImageCms.ImageCmsTransform | None:
    try:
        transform, desc = _icc_transform(bytes(icc), in_mode)
    except _IccMismatch as exc:
        notes.append(f"icc profile ignored ({exc})")
        return None
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError) as exc:
        notes.append(f"icc profile ignored (unreadable: {exc.__class__.__name__})")
        return None
    if transform is not None:
        notes.append(f"icc->sRGB ({desc[:48]})")
    return transform


def _icc_to_srgb_pil(img: Image.Image, icc: bytes, notes: list[str]) -> Image.Image | None:
    """Convert an 8-bit RGB / L / CMYK / LAB Pillow image to sRGB RGB, or None to leave it."""
    transform = _lookup_icc(icc, img.mode, notes)
    if transform is None:
        return None
    try:
        return ImageCms.applyTransform(img, transform)
    except (ImageCms.PyCMSError, ValueError) as exc:
        notes.append(f"icc conversion failed, profile ignored ({exc})")
        return None


def _icc_tags(icc: bytes) -> dict[bytes, int]:
    """Tag signature -> offset of its data, from an ICC profile's tag table."""
    count = struct.unpack_from(">I", icc, 128)[0]
    tags = {}
    for i in range(min(count, 1000)):
        sig, offset, _size = struct.unpack_from(">4sII", icc, 132 + 12 * i)
        tags[sig] = offset
    return tags


def _icc_curve(icc: bytes, offset: int) -> Callable[[np.ndarray], np.ndarray]:
    """The tone curve stored at ``offset`` ('curv' or 'para' type) as a float function on [0, 1]."""
    kind = icc[offset : offset + 4]
    if kind == b"curv":
        count = struct.unpack_from(">I", icc, offset + 8)[0]
        if count == 0:
            return lambda v: v
        if count == 1:
            gamma = struct.unpack_from(">H", icc, offset + 12)[0] / 256.0
            return lambda v: np.power(v, np.float32(gamma))
        table = np.frombuffer(icc, ">u2", count, offset + 12).astype(np.float32) / 65535.0
        nodes = np.linspace(0.0, 1.0, count, dtype=np.float32)
        return lambda v: np.interp(v, nodes, table).astype(np.float32)
    if kind == b"para":
        function = struct.unpack_from(">H", icc, offset + 8)[0]
        n = {0: 1, 1: 3, 2: 4, 3: 5, 4: 7}[function]
        p = [v / 65536.0 for v in struct.unpack_from(f">{n}i", icc, offset + 12)]
        g, a, b, c, d, e, f = (p + [0.0] * 7)[:7] if function != 0 else (p[0], 1.0, 0.0, 0.0, 0.0, 0.0, 0.0)
        if function == 1:  # Y = (aX + b)^g above -b/a, else 0
            c, d, e, f = 0.0, -b / a, 0.0, 0.0
        elif function == 2:  # Y = (aX + b)^g + c above -b/a, else c
            c, d, e, f = 0.0, -b / a, p[3], p[3]
        elif function == 3:  # Y = (aX + b)^g above d, else cX
            e, f = 0.0, 0.0

        def curve(v: np.ndarray) -> np.ndarray:
            power = np.power(np.maximum(a * v + b, 0.0), g) + e
            return np.where(v >= d, power, c * v + f).astype(np.float32)

        return curve
    raise ValueError(f"unsupported ICC curve type {kind!r}")


@functools.lru_cache(maxsize=1)
def _srgb_colorants() -> np.ndarray:
    """The sRGB profile's D50-adapted colorant matrix (linear sRGB -> PCS XYZ), as lcms uses it."""
    profile = ImageCms.ImageCmsProfile(_SRGB_PROFILE).profile
    return np.array([profile.red_colorant[0], profile.green_colorant[0], profile.blue_colorant[0]], np.float64).T


def _matrix_shaper_to_linear(colour: np.ndarray, icc: bytes) -> np.ndarray | None:
    """Convert with a matrix/TRC profile in float, exactly; None for other (table-based) profiles.

    Most RGB working spaces (Adobe RGB, Display P3, ProPhoto) and grey profiles are matrix/TRC:
    a tone curve per channel, then a 3 x 3 matrix into the profile connection space. Applying
    them in float keeps 16-bit precision and colours near the sRGB gamut edge exact (a sampled
    8-bit table cannot). Returns linear sRGB H x W x 3 in [0, 1] (outside colours are clipped).
    """
    try:
        tags = _icc_tags(icc)
        if b"A2B0" in tags:  # a table-based profile: the colour engine uses its tables
            return None
        if colour.shape[2] == 1:
            if b"kTRC" not in tags:
                return None
            grey = _icc_curve(icc, tags[b"kTRC"])(np.clip(colour[..., 0], 0.0, 1.0))
            return np.repeat(np.clip(grey, 0.0, 1.0)[..., None], 3, axis=2)
        needed = (b"rXYZ", b"gXYZ", b"bXYZ", b"rTRC", b"gTRC", b"bTRC")
        if not all(t in tags for t in needed):
            return None
        colorants = np.array([[v / 65536.0 for v in struct.unpack_from(">3i", icc, tags[t] + 8)]
                              for t in needed[:3]], np.float64).T
        to_srgb = (np.linalg.inv(_srgb_colorants()) @ colorants).astype(np.float32)
        curves = [_icc_curve(icc, tags[t]) for t in needed[3:]]
    except (struct.error, ValueError, KeyError, np.linalg.LinAlgError):
        return None
    linear = np.stack([curve(np.clip(colour[..., c], 0.0, 1.0)) for c, curve in enumerate(curves)], axis=-1)
    return np.clip(linear @ to_srgb.T, 0.0, 1.0).astype(np.float32)


def _wide_icc_to_linear(colour: np.ndarray, icc: bytes, notes: list[str]) -> np.ndarray | None:
    """Wide (16-bit) colour H x W x C (C = 1 or 3) with a profile -> linear sRGB, or None to leave it."""
    transform = _lookup_icc(icc, "L" if colour.shape[2] == 1 else "RGB", notes)
    if transform is None:
        return None  # already sRGB, or the profile is unusable (noted)
    exact = _matrix_shaper_to_linear(colour, icc)
    if exact is not None:
        return exact
    notes.append("icc applied through a sampled table")
    return srgb_to_linear(_icc_to_srgb_float(colour, transform))


_ICC_GRID_STEP = 5  # 8-bit levels between nodes of the 3-D lookup table: 52^3 nodes, all exact


def _icc_to_srgb_float(colour: np.ndarray, transform: ImageCms.ImageCmsTransform) -> np.ndarray:
    """Convert wide (16-bit) colour H x W x C (C = 1 grey or 3 RGB) in [0, 1] to sRGB-encoded.

    For table-based profiles. Pillow's colour engine works on 8-bit images only, so the
    transform is sampled on a lookup table (every 8-bit grey level; every 5th level per RGB
    channel) and interpolated in float: smooth 16-bit gradients stay smooth and in-gamut colours
    are within about one 8-bit step; next to the sRGB gamut edge the table's clipped nodes can
    put a colour a few steps off. Returns H x W x 3.
    """
    channels = colour.shape[2]
    if channels == 1:
        nodes = Image.fromarray(np.arange(256, dtype=np.uint8)[None, :], "L")
        table = np.asarray(ImageCms.applyTransform(nodes, transform), np.float32)[0] / 255.0  # 256 x 3
        x = colour[..., 0] * 255.0
        return np.stack([np.interp(x, np.arange(256), table[:, c]) for c in range(3)], -1).astype(np.float32)
    levels = np.arange(0, 256, _ICC_GRID_STEP, dtype=np.uint8)
    n = len(levels)
    grid = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), -1).reshape(1, -1, 3)
    table = np.asarray(ImageCms.applyTransform(Image.fromarray(np.ascontiguousarray(grid), "RGB"), transform))
    # one contiguous 1-D table per output channel: 1-D gathers are far faster than row gathers
    tables = [np.ascontiguousarray(table.reshape(n * n * n, 3)[:, c], dtype=np.float32) / 255.0 for c in range(3)]
    h, w = colour.shape[:2]
    flat = colour.reshape(-1, 3)
    out = np.empty((flat.shape[0], 3), np.float32)
    chunk = 1 << 19  # bounded temporary memory on large images
    for start in range(0, flat.shape[0], chunk):
        # trilinear interpolation between the 8 lattice nodes around each colour
        g = np.clip(flat[start : start + chunk], 0.0, 1.0) * np.float32(n - 1)
        cell = np.minimum(g.astype(np.int32), n - 2)
        frac = [np.ascontiguousarray(g[:, a] - cell[:, a]) for a in range(3)]
        base = (cell[:, 0] * (n * n) + cell[:, 1] * n + cell[:, 2]).astype(np.intp)
        acc = [np.zeros(len(base), np.float32) for _ in range(3)]
        for corner in range(8):
            bits = ((corner >> 2) & 1, (corner >> 1) & 1, corner & 1)
            weight = np.ones(len(base), np.float32)
            for axis, bit in enumerate(bits):
                weight *= frac[axis] if bit else 1.0 - frac[axis]
            index = base + (bits[0] * n * n + bits[1] * n + bits[2])
            for c in range(3):
                acc[c] += tables[c][index] * weight
        out[start : start + chunk] = np.stack(acc, axis=1)
    return np.clip(out, 0.0, 1.0).reshape(h, w, 3)


# --- 16-bit and other wide modes --------------------------------------------------------------
def _is_16bit_png(data: bytes) -> bool:
    # PNG IHDR: 8-byte signature, 4 length, 4 type, 4 width, 4 height, 1 bit depth
    return data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 24 and data[24] == 16


def _is_16bit_tiff(img: Image.Image) -> bool:
    tags = getattr(img, "tag_v2", None)
    if tags is None:
        return False
    bits = tags.get(258, (8,))
    bits = bits if isinstance(bits, tuple) else (bits,)
    return 16 in bits


def _decode_16bit(data: bytes) -> np.ndarray | None:
    """Decode 16-bit PNG/TIFF to float32 H x W x C in [0, 1] (grey, grey+alpha, RGB, RGBA), or None.

    Pillow holds 16-bit colour only as 8 bits, so colour 16-bit files go through OpenCV, which
    neither applies EXIF orientation nor ICC profiles here (IMREAD_UNCHANGED): both are done by
    the caller, exactly as for 8-bit files.
    """
    import cv2

    arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if arr is None or arr.dtype != np.uint16:
        return None
    a = arr.astype(np.float32) / 65535.0
    if a.ndim == 2:
        a = a[..., None]
    if a.shape[2] == 3:
        a = a[..., ::-1]
    elif a.shape[2] == 4:
        a = a[..., [2, 1, 0, 3]]
    return np.ascontiguousarray(a)


def _match_upright(arr: np.ndarray, upright: Image.Image, orientation: int) -> np.ndarray:
    """Orient an OpenCV decode of a TIFF like Pillow's (upright) pixels of the same file.

    Whether OpenCV applies the TIFF orientation tag depends on its version and decoder path,
    so compare both candidates with Pillow's 8-bit pixels and keep the one that matches.
    """
    reference = np.asarray(upright.convert("RGB"), np.float32) / 255.0
    best, best_error = arr, np.inf
    for candidate in (arr, _orient_array(arr, orientation)):
        if candidate.shape[:2] != reference.shape[:2]:
            continue
        colour = candidate[..., :3] if candidate.shape[2] >= 3 else np.repeat(candidate[..., :1], 3, axis=2)
        error = float(np.abs(colour - reference).mean())
        if error < best_error:
            best, best_error = candidate, error
    return best


def _wide_array(img: Image.Image, data: bytes, fmt: str, notes: list[str], orientation: int = 1
                ) -> np.ndarray | None:
    """Float H x W x C in [0, 1] for modes deeper than 8 bits, None for 8-bit images.

    The array is oriented as Pillow's pixels are: for TIFF, Pillow has already applied the
    ``orientation`` tag, so an OpenCV decode of a TIFF is turned the same way here.
    """
    mode = img.mode
    if mode.startswith("I;16"):
        notes.append("16-bit grey")
        return (np.asarray(img).astype(np.float32) / 65535.0)[..., None]
    if mode == "I":
        notes.append("32-bit integer grey read on the 16-bit scale")
        return (np.clip(np.asarray(img, np.float64), 0, 65535) / 65535.0).astype(np.float32)[..., None]
    if mode == "F":
        notes.append("float grey read as [0, 1]")
        return np.clip(np.nan_to_num(np.asarray(img, np.float32)), 0.0, 1.0)[..., None]
    sixteen = (fmt == "PNG" and _is_16bit_png(data)) or (fmt == "TIFF" and _is_16bit_tiff(img))
    if not sixteen or mode not in ("RGB", "RGBA", "LA", "RGBX", "L"):
        return None
    arr = _decode_16bit(data)
    if arr is not None and fmt == "TIFF" and orientation != 1:
        arr = _match_upright(arr, img, orientation)
    if arr is None or arr.shape[:2] != (img.height, img.width):
        notes.append("16-bit decode unavailable, read at 8 bits")
        return None
    if mode == "LA" and arr.shape[2] == 4:  # OpenCV expands grey+alpha to BGRA
        arr = np.ascontiguousarray(arr[..., [0, 3]])
    notes.append("16-bit colour" if arr.shape[2] >= 3 else "16-bit grey")
    return arr


# --- 8-bit modes -------------------------------------------------------------------------------
def _to_rgb8(img: Image.Image, icc: bytes | None, fmt: str, name: str, notes: list[str]):
    """Any 8-bit Pillow mode -> (uint8 H x W x 3 sRGB, uint8 H x W alpha or None)."""
    alpha8 = None
    if img.mode in ("P", "PA"):
        has_alpha = img.mode == "PA" or "transparency" in img.info
        img = img.convert("RGBA" if has_alpha else "RGB")
        notes.append("palette->rgb" + (" with transparency" if has_alpha else ""))
    elif img.mode in ("RGBa", "La"):  # premultiplied -> straight
        img = img.convert(img.mode[:-1] + "A")
    elif img.mode == "1":
        img = img.convert("L")
    if img.mode in ("RGBA", "LA"):
        alpha8 = np.asarray(img.getchannel("A"))
        img = img.convert("RGB" if img.mode == "RGBA" else "L")
    elif img.mode == "RGBX":
        img = img.convert("RGB")
    if fmt == "JPEG" and img.mode == "CMYK" and "adobe" not in img.info:
        # Pillow reads every CMYK JPEG as Adobe-inverted; without the Adobe marker the stored
        # values are plain ink amounts, so undo that inversion.
        img = img.point(lambda v: 255 - v)
        notes.append("cmyk without adobe marker")
    if icc:
        converted = _icc_to_srgb_pil(img, icc, notes) if img.mode in _ICC_SPACE_FOR_MODE else None
        if converted is not None:
            img = converted
    if img.mode == "CMYK":
        img = img.convert("RGB")
        notes.append("cmyk->rgb (no usable ICC profile: plain ink formula)")
    elif img.mode == "LAB":
        lab_to_srgb = ImageCms.buildTransform(ImageCms.createProfile("LAB"), _SRGB_PROFILE, "LAB", "RGB")
        img = ImageCms.applyTransform(img, lab_to_srgb)
        notes.append("lab->rgb")
    elif img.mode == "L":
        img = img.convert("RGB")
        notes.append("grey->rgb")
    elif img.mode != "RGB":
        try:
            img = img.convert("RGB")
        except (ValueError, OSError) as exc:
            raise ImageLoadError(name, f"unsupported image mode {img.mode}") from exc
    return np.asarray(img), alpha8


def _decode(data: bytes, name: str, max_pixels: int) -> LoadedImage:
    notes: list[str] = []
    img, tiff_orientation = _open_pil(data, name, max_pixels)
    fmt = img.format or "?"
    source_mode = img.mode
    frames = getattr(img, "n_frames", 1)
    if frames > 1:
        notes.append("first frame of an animated/multi-page file")
        warnings.warn(PackshotWarning(f"{name}: {'animated' if fmt in ('GIF', 'PNG', 'WEBP') else 'multi-page'} "
                                      f"{fmt} file with {frames} frames: only the first frame is used"),
                      stacklevel=2)
    orientation = _exif_orientation(img, notes, tiff_orientation)
    icc = img.info.get("icc_profile") or None

    wide = _wide_array(img, data, fmt, notes, orientation)
    if wide is not None:
        source_mode += " 16-bit" if "16-bit" in notes[-1] else ""
        colour, alpha = wide, None
        if wide.shape[2] in (2, 4):
            colour, alpha = wide[..., :-1], wide[..., -1]
        converted = _wide_icc_to_linear(colour, icc, notes) if icc else None
        if converted is not None:
            rgb = converted
        else:
            rgb = srgb_to_linear(np.repeat(colour, 3, axis=2) if colour.shape[2] == 1 else colour)
    else:
        rgb8, alpha8 = _to_rgb8(img, icc, fmt, name, notes)
        rgb = srgb8_to_linear(np.ascontiguousarray(rgb8))
        alpha = None if alpha8 is None else uint8_to_float(alpha8)

    if orientation != 1:
        if fmt != "TIFF":  # Pillow turns TIFF pixels upright itself while loading
            rgb = _orient_array(rgb, orientation)
            alpha = None if alpha is None else _orient_array(alpha, orientation)
        notes.append(f"exif-orientation {orientation}")
    if alpha is not None:
        alpha = np.ascontiguousarray(alpha, dtype=np.float32)
        if float(alpha.min()) >= 1.0:
            alpha = None  # a fully opaque alpha channel carries no cut-out information
            notes.append("opaque alpha dropped")
    return LoadedImage(np.ascontiguousarray(rgb, dtype=np.float32), alpha, name, sha256_bytes(data),
                       source_mode, fmt, tuple(notes))


def decode_image(data: bytes, name: str = "<bytes>", max_pixels: int | None = DEFAULT_MAX_PIXELS) -> LoadedImage:
    """Decode image bytes into pipeline conventions.

    Parameters
    ----------
    data : bytes
        The whole file.
    name : str
        Named in every error (the file path, or "<bytes>").
    max_pixels : int or None
        Refuse images with more pixels than this, checked on the header before decoding:
        1 .. :data:`MAX_PIXELS_CEILING`; None means the ceiling. 0 and negatives are refused.

    Returns
    -------
    LoadedImage
        ``rgb`` float32 H x W x 3 linear light in [0, 1] (EXIF-rotated, sRGB primaries),
        ``alpha`` float32 H x W or None.

    Raises
    ------
    ImageLoadError
        Empty, not an image, truncated, an unsupported mode; the message names ``name``.
    ImageTooLargeError
        More than ``max_pixels`` pixels.
    """
    if isinstance(data, (bytearray, memoryview)):
        data = bytes(data)
    if not isinstance(data, bytes):
        raise TypeError(f"decode_image expects bytes, got {type(data).__name__}")
    limit = check_max_pixels(max_pixels)
    if not data:
        raise ImageLoadError(name, "file is empty (0 bytes)")
    return _with_pillow_guard_lifted(lambda: _decode(data, name, limit))


def read_bounded(path: str | Path, what: str = "file", max_bytes: int = MAX_IMAGE_BYTES) -> bytes:
    """The bytes of a regular file of at most ``max_bytes`` bytes: the one file reader of packshot.

    The file is opened without blocking and checked with ``fstat`` on the open descriptor, so
    a device (``/dev/zero``, ``/dev/urandom``), a FIFO, a socket or a folder is refused before
    a byte is read, and a file swapped between check and read cannot slip through. At most
    ``max_bytes + 1`` bytes are ever read: a longer file (or one that grows while read) is
    refused without holding more than that in memory.

    Parameters
    ----------
    path : str or Path
        The file.
    what : str
        What the file is ("image file", "brief", ...), used in error messages.
    max_bytes : int
        Largest accepted size.

    Raises
    ------
    ImageLoadError
        Missing, not a regular file, unreadable or too large; the message names the file.
        (:class:`ImageLoadError` is an :class:`InputError`.)
    """
    p = Path(path)
    article = "an" if what[:1].lower() in "aeiou" else "a"
    try:
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError as exc:
        raise ImageLoadError(p, f"{what} does not exist") from exc
    except IsADirectoryError as exc:
        raise ImageLoadError(p, f"is a folder, not {article} {what}") from exc
    except OSError as exc:
        raise ImageLoadError(p, f"cannot be read ({exc.strerror or exc})") from exc
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise ImageLoadError(p, f"is a folder, not {article} {what}")
        if not stat.S_ISREG(st.st_mode):
            kind = ("a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) else
                    "a pipe" if stat.S_ISFIFO(st.st_mode) else "a socket" if stat.S_ISSOCK(st.st_mode) else
                    "not a regular file")
            raise ImageLoadError(p, f"is {kind}, not {article} {what} (only regular files are read)")
        if st.st_size > max_bytes:
            raise ImageLoadError(p, f"{what} is {st.st_size} bytes, over the limit of {max_bytes} bytes")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        chunks: list[bytes] = []
        total = 0
        while True:
            chunk = os.read(fd, min(1 << 24, max_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > max_bytes:
                raise ImageLoadError(p, f"{what} is over the limit of {max_bytes} bytes")
        return b"".join(chunks)
    except OSError as exc:
        raise ImageLoadError(p, f"cannot be read ({exc.strerror or exc})") from exc
    finally:
        os.close(fd)


def _read_file(path: str | Path, what: str) -> tuple[Path, bytes]:
    return Path(path), read_bounded(path, what, MAX_IMAGE_BYTES)


def load_image(path: str | Path, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> LoadedImage:
    """Read and decode an image file (see :func:`decode_image`).

    Examples
    --------
    >>> img = load_image("photo.jpg")          # doctest: +SKIP
    >>> img.rgb.dtype, img.rgb.max() <= 1.0     # doctest: +SKIP
    (dtype('float32'), True)
    """
    check_max_pixels(max_pixels)
    p, data = _read_file(path, "image file")
    return decode_image(data, str(p), max_pixels=max_pixels)


def image_size(path: str | Path, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> tuple[int, int]:
    """``(width, height)`` of an image file as :func:`load_image` would return it (after EXIF
    rotation), read from its header: the pixels are not decoded. Same checks as a load: a
    bounded read of a regular file, a readable header, the pixel limit."""
    p = Path(path)
    data = read_bounded(p, "image")
    limit = check_max_pixels(MAX_PIXELS_CEILING if max_pixels is None else max_pixels)
    try:
        img = Image.open(io.BytesIO(data))
    except Exception as exc:
        raise _describe_decode_failure(str(p), data, exc) from exc
    with img:
        _check_pixels(str(p), img.width, img.height, limit)
        tiff = img.tag_v2.get(0x0112) if img.format == "TIFF" else None
        orientation = _exif_orientation(img, [], tiff)
        w, h = img.size
    return (h, w) if orientation in (5, 6, 7, 8) else (w, h)


def load_mask(
    path: str | Path, size: tuple[int, int] | None = None, max_pixels: int | None = DEFAULT_MAX_PIXELS
) -> np.ndarray:
    """Read a grey mask file as float32 H x W in [0, 1] (no colour transform).

    The alpha channel is used when the file has a non-opaque one, else the grey values;
    16-bit masks keep their precision; EXIF orientation is applied as for images.

    Parameters
    ----------
    path : str or Path
        The mask file.
    size : (width, height), optional
        When given, the mask must have this size.
    max_pixels : int or None
        Pixel limit, as for :func:`load_image`.
    """
    limit = check_max_pixels(max_pixels)
    p, data = _read_file(path, "mask file")
    name = str(p)
    if not data:
        raise ImageLoadError(p, "mask file is empty (0 bytes)")

    def read() -> np.ndarray:
        notes: list[str] = []
        im, tiff_orientation = _open_pil(data, name, limit)
        orientation = _exif_orientation(im, notes, tiff_orientation)
        if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
            a = np.asarray(im.convert("RGBA"))[..., 3]
            if a.min() == 255:
                a = np.asarray(im.convert("L"))
            m = uint8_to_float(a)
        else:
            wide = _wide_array(im, data, im.format or "?", notes, orientation)
            if wide is not None:
                channels = wide.shape[2]
                if channels in (2, 4) and wide[..., -1].min() < 1:
                    m = wide[..., -1]
                elif channels >= 3:
                    m = luminance(wide[..., :3])
                else:
                    m = wide[..., 0]
            else:
                m = uint8_to_float(np.asarray(im.convert("L")))
        if im.format == "TIFF":  # already upright
            return np.asarray(m, np.float32)
        return _orient_array(np.asarray(m, np.float32), orientation)

    m = _with_pillow_guard_lifted(read)
    if size is not None and (m.shape[1], m.shape[0]) != tuple(size):
        raise InputError(p, f"mask is {m.shape[1]}x{m.shape[0]}, expected {size[0]}x{size[1]}")
    return np.ascontiguousarray(m, dtype=np.float32)


# ---------------------------------------------------------------------------------------------
# saving
# ---------------------------------------------------------------------------------------------
def _default_file_mode() -> int:
    # mkstemp creates 0600 files; give outputs the usual permissions under the process umask.
    # Read once at import: os.umask can only be read by setting it, which is not thread-safe.
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


_FILE_MODE = _default_file_mode()


@contextlib.contextmanager
def atomic_writer(path: str | Path, mode: str = "wb") -> Iterator[io.IOBase]:
    """Open a temporary file beside ``path``; on success rename it over ``path``.

    An exception (or a crash) inside the block leaves ``path`` as it was (absent or the old
    content, never a half-written file) and removes the temporary file. The data is flushed to
    disk before the rename. Text modes write UTF-8.

    Examples
    --------
    >>> with atomic_writer("out.json", "w") as f:   # doctest: +SKIP
    ...     f.write("{}")
    """
    if mode not in ("wb", "w", "wt"):
        raise ValueError(f"atomic_writer mode must be a write mode ('wb' or 'w'), got {mode!r}")
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        with contextlib.suppress(OSError):
            os.chmod(tmp, stat.S_IMODE(os.stat(p).st_mode) if p.exists() else _FILE_MODE)
        os.replace(tmp, p)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


# the temporary files atomic_writer makes: ".<name>.<8 random chars>.tmp" (tempfile.mkstemp)
_TEMP_NAME = __import__("re").compile(r"^\..+\.[a-z0-9_]{8}\.tmp$")
# the longest name atomic_writer adds around a file name: "." + name + "." + 8 chars + ".tmp"
TEMP_NAME_OVERHEAD = 14


def check_output_name(path: str | Path) -> None:
    """Raise :class:`InputError` when ``path``'s file name (or the temporary name an atomic write
    uses beside it) is longer than the filesystem allows, before any work is done for it."""
    p = Path(path)
    try:
        limit = os.pathconf(p.parent if p.parent.exists() else ".", "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):
        limit = 255
    length = len(os.fsencode(p.name))
    if length + TEMP_NAME_OVERHEAD > limit:
        raise InputError(p, f"output file name is {length} bytes; at most {limit - TEMP_NAME_OVERHEAD} bytes "
                            f"fit on this filesystem (rename the input to a shorter name)")


def is_temp_file(path: str | Path) -> bool:
    """Whether ``path`` is named like a temporary file of :func:`atomic_writer`."""
    return bool(_TEMP_NAME.match(Path(path).name))


def clean_temp_files(root: str | Path, older_than: float | None = None) -> list[Path]:
    """Delete the temporary files that atomic writes left under ``root`` (recursively) when their
    process was killed (SIGKILL, power loss) before it could remove them; returns what was deleted.

    Only files last modified before the time ``older_than`` (``time.time()`` seconds) are deleted,
    so a writer still busy in the folder keeps its file: pass the start time of a run that holds
    the folder's lock (:class:`packshot.locking.OutputLock`)."""
    root = Path(root)
    removed: list[Path] = []
    if not root.is_dir():
        return removed
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            if not _TEMP_NAME.match(name):
                continue
            p = Path(dirpath) / name
            try:
                if older_than is not None and p.stat().st_mtime >= older_than:
                    continue
                p.unlink()
                removed.append(p)
            except OSError:
                continue
    return removed


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_writer(path, "wb") as f:
        f.write(data)


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically, as UTF-8."""
    atomic_write_bytes(path, text.encode("utf-8"))


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


def resize_linear(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize a linear-light image or a [0, 1] map to ``size`` = (width, height).

    Area averaging when shrinking (the right filter in linear light), bicubic otherwise; the
    result is clipped to [0, 1] (bicubic overshoots). float32, H' x W' (x C).
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
    return np.clip(out, 0.0, 1.0).astype(np.float32)


# --- working resolution for very large photos ------------------------------------------------------
WORKING_PIXELS = 16_000_000
"""Photos with more pixels than this are analysed at a working resolution (see
:func:`load_image_working`); the full-resolution pixels are kept as 8-bit sRGB only."""


@dataclass(frozen=True)
class WorkingImage:
    """A photo decoded for analysis at a working resolution.

    Attributes
    ----------
    image : LoadedImage
        What the stages work on: float32 linear light at ``1 / factor`` of the photo's size
        (each working pixel is the linear-light mean of a ``factor`` x ``factor`` block of the
        photo; the last ``< factor`` rows and columns fall outside the blocks). ``sha256`` is the
        file's hash, as for :func:`load_image`. With ``factor == 1`` it is exactly
        :func:`load_image`'s result.
    factor : int
        Integer reduction factor (1: the photo is used at its own size).
    full_rgb8 : ndarray or None
        uint8 H x W x 3 sRGB of the whole photo (EXIF-rotated, ICC -> sRGB) when ``factor > 1``.
    full_alpha8 : ndarray or None
        uint8 H x W alpha of the photo when it has one and ``factor > 1``.
    """

    image: LoadedImage
    factor: int = 1
    full_rgb8: np.ndarray | None = None
    full_alpha8: np.ndarray | None = None

    @property
    def full_size(self) -> tuple[int, int]:
        """(width, height) of the photo itself."""
        if self.full_rgb8 is None:
            return self.image.size
        return self.full_rgb8.shape[1], self.full_rgb8.shape[0]


def working_factor(width: int, height: int, working_pixels: int = WORKING_PIXELS) -> int:
    """Smallest integer factor that brings ``width x height`` to at most ``working_pixels``."""
    if working_pixels <= 0:
        raise ValueError(f"working_pixels must be positive, got {working_pixels}")
    k = 1
    while (width // k) * (height // k) > working_pixels:
        k += 1
    return k


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


def _decode_working(data: bytes, name: str, max_pixels: int | None, working_pixels: int) -> WorkingImage:
    img, tiff_orientation = _open_pil(data, name, max_pixels)
    k = working_factor(img.width, img.height, working_pixels)
    if k == 1 or _is_16bit_png(data) or _is_16bit_tiff(img):
        img.close()
        loaded = _decode(data, name, max_pixels)
        if k == 1:
            return WorkingImage(loaded)
        # 16-bit sources: decode in full (rare at this size), then reduce
        rgb8 = linear_to_srgb8(loaded.rgb, dither=False)
        alpha8 = None if loaded.alpha is None else float_to_uint8(loaded.alpha)
        rgb = block_mean_linear(loaded.rgb, k)
        alpha = None if loaded.alpha is None else block_mean_linear(loaded.alpha, k)
        small = LoadedImage(rgb, alpha, name, loaded.sha256, loaded.source_mode, loaded.source_format,
                            loaded.notes + (f"working resolution 1/{k}",))
        return WorkingImage(small, k, rgb8, alpha8)
    notes: list[str] = []
    fmt = img.format or "?"
    source_mode = img.mode
    if getattr(img, "n_frames", 1) > 1:
        notes.append("first frame of an animated/multi-page file")
    orientation = _exif_orientation(img, notes, tiff_orientation)
    icc = img.info.get("icc_profile") or None
    rgb8, alpha8 = _to_rgb8(img, icc, fmt, name, notes)
    img.close()
    del img
    rgb8 = np.ascontiguousarray(rgb8)
    if orientation != 1:
        if fmt != "TIFF":
            rgb8 = _orient_array(rgb8, orientation)
            alpha8 = None if alpha8 is None else _orient_array(alpha8, orientation)
        notes.append(f"exif-orientation {orientation}")
    if alpha8 is not None and int(alpha8.min()) >= 255:
        alpha8 = None
        notes.append("opaque alpha dropped")
    rgb = block_mean_linear(rgb8, k)
    alpha = None if alpha8 is None else block_mean_linear(alpha8, k, srgb=False)
    notes.append(f"working resolution 1/{k}")
    small = LoadedImage(rgb, alpha, name, sha256_bytes(data), source_mode, fmt, tuple(notes))
    return WorkingImage(small, k, rgb8, alpha8)


def load_image_working(path: str | Path, max_pixels: int | None = DEFAULT_MAX_PIXELS,
                       working_pixels: int | None = None) -> WorkingImage:
    """Read a photo for the pipeline: as :func:`load_image` when it has at most
    ``working_pixels`` pixels, else reduced by an integer factor to at most that many, with the
    full-resolution pixels kept as 8-bit sRGB (a quarter of a float32 copy) for the parts of the
    output that are written at the photo's size. ``working_pixels`` None: :data:`WORKING_PIXELS`.
    """
    working_pixels = WORKING_PIXELS if working_pixels is None else int(working_pixels)
    p, data = _read_file(path, "image file")
    if max_pixels is not None and max_pixels < 0:
        raise ValueError(f"max_pixels must be positive or None, got {max_pixels}")
    if not data:
        raise ImageLoadError(str(p), "file is empty (0 bytes)")
    return _with_pillow_guard_lifted(lambda: _decode_working(data, str(p), max_pixels, working_pixels))
