"""Image I/O and the one place where colour conventions are converted.

Inside the pipeline an image is ``float32`` H x W x 3, **linear light**, in [0, 1]; alpha is
``float32`` H x W in [0, 1], straight (not premultiplied). Decoding applies EXIF orientation,
converts an embedded ICC profile to sRGB, then sRGB -> linear. Encoding is the reverse, with
a small ordered dither so that smooth gradients do not band in 8 bits.

Every write is atomic: a temporary file in the same folder, then ``os.replace``.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from .errors import ImageLoadError, ImageTooLargeError, InputError
from .provenance import sha256_bytes

DEFAULT_MAX_PIXELS = 100_000_000
"""Default pixel limit for decoded images (decompression-bomb guard), 100 MP."""

SUPPORTED_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp", ".heic", ".heif", ".avif")

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


# ---------------------------------------------------------------------------------------------
# colour conversions
# ---------------------------------------------------------------------------------------------
def srgb_to_linear(srgb: np.ndarray) -> np.ndarray:
    """sRGB-encoded values in [0, 1] -> linear light in [0, 1] (IEC 61966-2-1), float32."""
    s = np.clip(np.asarray(srgb, dtype=np.float32), 0.0, 1.0)
    return np.where(s <= 0.04045, s / 12.92, ((s + 0.055) / 1.055) ** 2.4).astype(np.float32)


def linear_to_srgb(linear: np.ndarray) -> np.ndarray:
    """Linear light in [0, 1] -> sRGB-encoded values in [0, 1], float32."""
    x = np.clip(np.asarray(linear, dtype=np.float32), 0.0, 1.0)
    return np.where(x <= 0.0031308, x * 12.92, 1.055 * np.power(x, 1 / 2.4) - 0.055).astype(
        np.float32
    )


_LUT_8BIT_TO_LINEAR = srgb_to_linear(np.arange(256, dtype=np.float32) / 255.0)


def srgb8_to_linear(srgb8: np.ndarray) -> np.ndarray:
    """uint8 sRGB -> float32 linear, through a lookup table (exact and fast)."""
    a = np.asarray(srgb8)
    if a.dtype != np.uint8:
        raise ValueError(f"srgb8_to_linear expects uint8, got {a.dtype}")
    return _LUT_8BIT_TO_LINEAR[a]


# 4x4 Bayer matrix, centred, in units of one 8-bit step
_BAYER4 = (np.array([[0, 8, 2, 10], [12, 4, 14, 6], [3, 11, 1, 9], [15, 7, 13, 5]], np.float32) + 0.5) / 16.0 - 0.5


def linear_to_srgb8(linear: np.ndarray, dither: bool = True) -> np.ndarray:
    """float32 linear -> uint8 sRGB.

    Parameters
    ----------
    linear : ndarray
        H x W or H x W x C linear-light values in [0, 1].
    dither : bool
        Add a deterministic ordered dither of +-0.5 step before rounding so gradients do not
        band. Deterministic: the same input gives the same bytes.
    """
    s = linear_to_srgb(linear) * 255.0
    if dither:
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
    """Relative luminance (Rec. 709 weights) of linear RGB, H x W float32."""
    return (linear_rgb[..., :3] @ np.array([0.2126, 0.7152, 0.0722], np.float32)).astype(np.float32)


# sRGB (D65) linear -> XYZ -> CIELAB
_RGB_TO_XYZ = np.array(
    [[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750], [0.0193339, 0.1191920, 0.9503041]],
    np.float32,
)
_D65 = np.array([0.95047, 1.0, 1.08883], np.float32)


def linear_to_lab(linear_rgb: np.ndarray) -> np.ndarray:
    """Linear sRGB (..., 3) -> CIELAB (..., 3), D65 white, float32."""
    xyz = np.asarray(linear_rgb, np.float32)[..., :3] @ _RGB_TO_XYZ.T / _D65
    eps = 216 / 24389
    kappa = 24389 / 27
    f = np.where(xyz > eps, np.cbrt(np.maximum(xyz, eps)), (kappa * xyz + 16) / 116)
    L = 116 * f[..., 1] - 16
    a = 500 * (f[..., 0] - f[..., 1])
    b = 200 * (f[..., 1] - f[..., 2])
    return np.stack([L, a, b], axis=-1).astype(np.float32)


def lab_to_linear(lab: np.ndarray) -> np.ndarray:
    """CIELAB (..., 3), D65 -> linear sRGB (..., 3), float32 (not clipped)."""
    lab = np.asarray(lab, np.float32)
    fy = (lab[..., 0] + 16) / 116
    fx = fy + lab[..., 1] / 500
    fz = fy - lab[..., 2] / 200
    eps = 216 / 24389
    kappa = 24389 / 27

    def finv(f):
        f3 = f**3
        return np.where(f3 > eps, f3, (116 * f - 16) / kappa)

    xyz = np.stack([finv(fx), finv(fy), finv(fz)], axis=-1) * _D65
    return (xyz @ np.linalg.inv(_RGB_TO_XYZ).T.astype(np.float32)).astype(np.float32)


def delta_e2000(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """CIEDE2000 colour difference between two CIELAB arrays of the same shape (..., 3)."""
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
        float32 H x W in [0, 1] when the file had an alpha channel (or palette transparency).
    path : str
        Where it came from ("<bytes>" when decoded from memory).
    sha256 : str
        Hash of the file's bytes.
    source_mode : str
        The Pillow mode (or "16-bit" decoder) of the file before conversion.
    notes : tuple of str
        What was done on load ("exif-orientation 6", "icc->sRGB", "cmyk->rgb", ...).
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


def _check_pixels(name: str, width: int, height: int, max_pixels: int) -> None:
    if width <= 0 or height <= 0:
        raise ImageLoadError(name, f"image has an empty size {width}x{height}")
    if max_pixels and width * height > max_pixels:
        raise ImageTooLargeError(
            name,
            f"image is {width}x{height} = {width * height / 1e6:.1f} MP, over the limit of "
            f"{max_pixels / 1e6:.1f} MP (possible decompression bomb; raise max_pixels to allow it)",
        )


def _apply_icc(img: Image.Image, name: str, notes: list[str]) -> Image.Image:
    icc = img.info.get("icc_profile")
    if not icc:
        return img
    try:
        src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        desc = ImageCms.getProfileDescription(src).strip().lower()
        if "srgb" in desc and img.mode in ("RGB", "RGBA"):
            return img  # already sRGB
        out_mode = "RGBA" if img.mode in ("RGBA", "LA", "PA") else "RGB"
        if img.mode not in ("RGB", "RGBA", "CMYK", "L"):
            img = img.convert("RGBA" if out_mode == "RGBA" else "RGB")
        converted = ImageCms.profileToProfile(
            img, src, _SRGB_PROFILE, outputMode=out_mode, renderingIntent=ImageCms.Intent.PERCEPTUAL
        )
        notes.append(f"icc->sRGB ({desc[:40]})")
        return converted
    except (ImageCms.PyCMSError, OSError, ValueError) as exc:
        notes.append(f"icc profile ignored ({exc.__class__.__name__})")
        return img


def _decode_16bit(data: bytes, name: str) -> np.ndarray | None:
    """Decode 16-bit PNG/TIFF to a float array in [0, 1] (H x W x C, RGB(A) order), or None."""
    import cv2

    arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED | cv2.IMREAD_ANYDEPTH)
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


def decode_image(data: bytes, name: str = "<bytes>", max_pixels: int = DEFAULT_MAX_PIXELS) -> LoadedImage:
    """Decode image bytes into pipeline conventions.

    Raises
    ------
    ImageLoadError
        Not an image, truncated, an unsupported mode; the message names ``name``.
    ImageTooLargeError
        More than ``max_pixels`` pixels.
    """
    if not data:
        raise ImageLoadError(name, "file is empty (0 bytes)")
    notes: list[str] = []
    if max_pixels and max_pixels > (Image.MAX_IMAGE_PIXELS or 0) // 2:
        # Our own limit is checked below; let Pillow's guard sit above it.
        Image.MAX_IMAGE_PIXELS = max_pixels * 2
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            fmt = img.format or "?"
            _check_pixels(name, img.width, img.height, max_pixels)
            img.load()
    except ImageTooLargeError:
        raise
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError(name, f"image is too large to decode safely ({exc})") from exc
    except UnidentifiedImageError as exc:
        raise ImageLoadError(name, "not a recognised image file (corrupt, or another kind of file)") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        msg = str(exc)
        if "truncated" in msg.lower():
            raise ImageLoadError(name, f"image file is truncated ({msg})") from exc
        raise ImageLoadError(name, f"image cannot be decoded ({msg})") from exc

    source_mode = img.mode
    orientation = img.getexif().get(0x0112, 1) if hasattr(img, "getexif") else 1
    if getattr(img, "n_frames", 1) > 1:
        notes.append("first frame of an animated/multi-page file")

    wide16 = None
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F") or (fmt in ("PNG", "TIFF") and _is_16bit_png(data)):
        wide16 = _decode_16bit(data, name)
    if wide16 is not None:
        notes.append("16-bit decode")
        source_mode = f"{source_mode} (16-bit)"
        arr = wide16
        if orientation != 1:
            arr = _orient_array(arr, orientation)
            notes.append(f"exif-orientation {orientation}")
        if arr.shape[2] in (1, 2):
            rgb = np.repeat(arr[..., :1], 3, axis=2)
            alpha = arr[..., 1] if arr.shape[2] == 2 else None
        else:
            rgb, alpha = arr[..., :3], (arr[..., 3] if arr.shape[2] == 4 else None)
        lin = srgb_to_linear(rgb)
        return LoadedImage(lin, None if alpha is None else alpha.astype(np.float32), name,
                           sha256_bytes(data), source_mode, fmt, tuple(notes))

    if orientation not in (1, None):
        img = ImageOps.exif_transpose(img)
        notes.append(f"exif-orientation {orientation}")

    # palette / greyscale / CMYK / I / F modes -> RGB or RGBA
    if img.mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
        notes.append("palette->rgb")
    elif img.mode in ("1", "L", "I", "F"):
        if img.mode in ("I", "F"):
            img = img.point(lambda v: v / 256 if img.mode == "I" else v * 255).convert("L")
        notes.append("grey->rgb")
    elif img.mode == "LA":
        img = img.convert("RGBA")
        notes.append("grey+alpha->rgba")
    elif img.mode == "PA":
        img = img.convert("RGBA")
    img = _apply_icc(img, name, notes)
    if img.mode == "CMYK":
        img = img.convert("RGB")
        notes.append("cmyk->rgb (naive, no profile)")
    elif img.mode in ("YCbCr", "LAB", "HSV"):
        img = img.convert("RGB")
    elif img.mode == "RGBa":
        img = img.convert("RGBA")
    elif img.mode in ("L", "1"):
        img = img.convert("RGB")
    if img.mode not in ("RGB", "RGBA"):
        try:
            img = img.convert("RGB")
        except (ValueError, OSError) as exc:
            raise ImageLoadError(name, f"unsupported image mode {source_mode}") from exc

    arr = np.asarray(img)
    alpha = None
    if arr.shape[2] == 4:
        alpha = uint8_to_float(arr[..., 3])
        arr = arr[..., :3]
        if float(alpha.min()) >= 1.0:
            alpha = None  # fully opaque alpha carries no information
    return LoadedImage(srgb8_to_linear(np.ascontiguousarray(arr)), alpha, name, sha256_bytes(data),
                       source_mode, fmt, tuple(notes))


def _is_16bit_png(data: bytes) -> bool:
    # PNG IHDR: 8-byte signature, 4 length, 4 type, 4 width, 4 height, 1 bit depth
    return data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 24 and data[24] == 16


def _orient_array(arr: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation (1-8) to an H x W x C array."""
    ops = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1, :],
        5: lambda a: np.swapaxes(a, 0, 1),
        6: lambda a: np.rot90(a, -1),
        7: lambda a: np.rot90(a, 1)[::-1, ::-1],
        8: lambda a: np.rot90(a, 1),
    }
    op = ops.get(int(orientation))
    return np.ascontiguousarray(op(arr)) if op else arr


def load_image(path: str | Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> LoadedImage:
    """Read and decode an image file (see :func:`decode_image`).

    Examples
    --------
    >>> img = load_image("photo.jpg")          # doctest: +SKIP
    >>> img.rgb.dtype, img.rgb.max() <= 1.0     # doctest: +SKIP
    (dtype('float32'), True)
    """
    p = Path(path)
    if not p.exists():
        raise ImageLoadError(p, "file does not exist")
    if p.is_dir():
        raise ImageLoadError(p, "is a folder, not an image file")
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise ImageLoadError(p, f"cannot be read ({exc.strerror or exc})") from exc
    return decode_image(data, str(p), max_pixels=max_pixels)


def load_mask(path: str | Path, size: tuple[int, int] | None = None) -> np.ndarray:
    """Read a grey mask file as float32 H x W in [0, 1] (no colour transform).

    Parameters
    ----------
    size : (width, height), optional
        When given, the mask must have this size.
    """
    p = Path(path)
    try:
        with Image.open(p) as im:
            im.load()
            if im.mode in ("RGBA", "LA", "PA"):
                a = np.asarray(im.convert("RGBA"))[..., 3]
                if a.min() == 255:
                    a = np.asarray(im.convert("L"))
            elif im.mode in ("I;16", "I;16B", "I"):
                a = (np.asarray(im, dtype=np.float32) / 65535.0 * 255.0)
            else:
                a = np.asarray(im.convert("L"))
    except FileNotFoundError as exc:
        raise ImageLoadError(p, "mask file does not exist") from exc
    except (UnidentifiedImageError, OSError) as exc:
        raise ImageLoadError(p, f"mask cannot be decoded ({exc})") from exc
    m = np.asarray(a, np.float32) / 255.0
    if size is not None and (m.shape[1], m.shape[0]) != tuple(size):
        raise InputError(p, f"mask is {m.shape[1]}x{m.shape[0]}, expected {size[0]}x{size[1]}")
    return m


# ---------------------------------------------------------------------------------------------
# saving
# ---------------------------------------------------------------------------------------------
@contextlib.contextmanager
def atomic_writer(path: str | Path, mode: str = "wb") -> Iterator[io.IOBase]:
    """Open a temporary file beside ``path``; on success rename it over ``path``.

    A crash or exception leaves ``path`` untouched and no temporary file behind.
    """
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, p)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_writer(path, "wb") as f:
        f.write(data)


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def srgb_icc_bytes() -> bytes:
    """An sRGB ICC profile to embed in exported files."""
    return ImageCms.ImageCmsProfile(_SRGB_PROFILE).tobytes()


_FORMATS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".webp": "WEBP", ".tif": "TIFF",
            ".tiff": "TIFF", ".bmp": "BMP"}


def to_pil(rgb_linear: np.ndarray, alpha: np.ndarray | None = None, dither: bool = True) -> Image.Image:
    """Pipeline image (+ optional alpha) -> 8-bit sRGB Pillow image (RGB or RGBA)."""
    rgb8 = linear_to_srgb8(rgb_linear, dither=dither)
    if alpha is None:
        return Image.fromarray(rgb8, "RGB")
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

    Output is deterministic for the same input. JPEG has no alpha: pass alpha only for PNG,
    WebP or TIFF (a ValueError otherwise).
    """
    fmt = fmt.upper()
    if fmt == "JPG":
        fmt = "JPEG"
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
    if exif is not None and fmt in ("JPEG", "PNG", "WEBP", "TIFF"):
        kwargs["exif"] = exif
    if xmp is not None and fmt in ("JPEG", "PNG", "WEBP", "TIFF"):
        kwargs["xmp"] = xmp
    buf = io.BytesIO()
    img.save(buf, fmt, **kwargs)
    return buf.getvalue()


def save_image(path: str | Path, rgb_linear: np.ndarray, alpha: np.ndarray | None = None, **kwargs) -> Path:
    """Encode by the file suffix and write atomically. Returns the path."""
    p = Path(path)
    fmt = _FORMATS.get(p.suffix.lower())
    if fmt is None:
        raise InputError(p, f"unsupported output suffix '{p.suffix}'; use one of {sorted(_FORMATS)}")
    atomic_write_bytes(p, encode_image(rgb_linear, fmt, alpha=alpha, **kwargs))
    return p


def save_gray(path: str | Path, values: np.ndarray, bits: int = 8) -> Path:
    """Save a [0, 1] float map (mask, depth) as an 8- or 16-bit grey PNG, atomically."""
    v = np.clip(np.asarray(values, np.float32), 0.0, 1.0)
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
    """Resize a linear-light image or map to ``size`` = (width, height) with area/cubic filtering."""
    import cv2

    w, h = int(size[0]), int(size[1])
    if w <= 0 or h <= 0:
        raise ValueError(f"size must be positive, got {size}")
    src_h, src_w = rgb.shape[:2]
    interp = cv2.INTER_AREA if (w < src_w and h < src_h) else cv2.INTER_CUBIC
    out = cv2.resize(np.ascontiguousarray(rgb, dtype=np.float32), (w, h), interpolation=interp)
    return np.clip(out, 0.0, 1.0).astype(np.float32)
