"""Decoding image files into pipeline conventions (float32 linear light, straight alpha).

Bounded reads, the decompression-bomb guard, EXIF orientation, palette / CMYK / LAB / 16-bit
modes, ICC -> sRGB (through :mod:`packshot.imaging.icc`), masks, and the working resolution for
very large photos.
"""

from __future__ import annotations

import contextlib
import io
import os
import stat
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, TypeVar

import numpy as np
from PIL import Image, ImageCms, UnidentifiedImageError

from ..errors import ImageLoadError, ImageTooLargeError, InputError, PackshotWarning
from ..provenance import sha256_bytes
from .colour import float_to_uint8, linear_to_srgb8, luminance, srgb8_to_linear, srgb_to_linear, uint8_to_float
from .icc import _ICC_SPACE_FOR_MODE, _SRGB_PROFILE, _icc_to_srgb_pil, _wide_icc_to_linear
from .resize import block_mean_linear

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

T = TypeVar("T")


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
    img = _open_header(data, str(p), limit)
    with img:
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
    if working_pixels is None:
        # the documented knob is ``packshot.imaging.WORKING_PIXELS`` (tests lower it there)
        from .. import imaging

        working_pixels = imaging.WORKING_PIXELS
    working_pixels = int(working_pixels)
    p, data = _read_file(path, "image file")
    if max_pixels is not None and max_pixels < 0:
        raise ValueError(f"max_pixels must be positive or None, got {max_pixels}")
    if not data:
        raise ImageLoadError(str(p), "file is empty (0 bytes)")
    return _with_pillow_guard_lifted(lambda: _decode_working(data, str(p), max_pixels, working_pixels))


# --- header facts and raw pixels (for readers of file facts, maps and masks) ------------------------
def _open_header(data: bytes, name: str, limit: int) -> Image.Image:
    """Pillow's image of ``data`` with only its header read, checked against our own pixel
    ``limit`` instead of Pillow's bomb guard (lifted for the open, as for a decode)."""

    def opened() -> Image.Image:
        try:
            return Image.open(io.BytesIO(data))
        except Image.DecompressionBombError:
            raise
        except Exception as exc:  # any decoder failure becomes an error naming the file
            raise _describe_decode_failure(name, data, exc) from exc

    img = _with_pillow_guard_lifted(opened)
    try:
        _check_pixels(name, img.width, img.height, limit)
    except BaseException:
        img.close()
        raise
    return img


@contextlib.contextmanager
def open_image(data: bytes, name: str = "<bytes>", max_pixels: int | None = None) -> Iterator[Image.Image]:
    """The Pillow image of ``data`` with only its header read (pixels are not decoded), closed
    on exit: for readers of file facts (format, mode, bands, ICC, EXIF, XMP, PNG text chunks,
    JPEG quantisation tables) that :func:`decode_image` does not return. The one place outside
    the decoder where packshot opens a file with Pillow.

    With ``max_pixels``, Pillow's own guard is lifted for the open and the header size is checked
    against ``max_pixels`` instead (as :func:`decode_image` does).

    Raises
    ------
    ImageTooLargeError
        Over ``max_pixels``; without it, Pillow's own decompression-bomb guard refused the file.
    ImageLoadError
        Not an image Pillow can read; the message names ``name``.
    """
    if max_pixels is not None:
        img = _open_header(data, name, check_max_pixels(max_pixels))
    else:
        try:
            img = Image.open(io.BytesIO(data))
        except Image.DecompressionBombError as exc:
            raise ImageTooLargeError(name, f"image is over Pillow's pixel limit ({exc})") from exc
        except Exception as exc:  # any decoder failure becomes an error naming the file
            raise _describe_decode_failure(name, data, exc) from exc
    with img:
        yield img


def decode_raw(data: bytes, name: str = "<bytes>", what: str = "image file") -> np.ndarray:
    """The stored pixels of an image file as an array, without any conversion (a 16-bit grey
    PNG gives uint16 H x W, an RGB PNG uint8 H x W x 3): for packshot's own map files.

    Raises
    ------
    ImageLoadError
        ``"<what> cannot be decoded (...)"``, naming ``name``.
    """
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            return np.asarray(im)
    except (OSError, Image.DecompressionBombError) as exc:
        raise ImageLoadError(name, f"{what} cannot be decoded ({exc})") from exc


def load_alpha8_reduced(path: str | Path, size: tuple[int, int], factor: int) -> np.ndarray | None:
    """An 8-bit grey PNG mask of exactly ``size`` (width, height), block-averaged by ``factor``
    (see :func:`~packshot.imaging.block_mean_linear`, as a [0, 1] map) without a full-size float
    copy; None for any other kind of file or any problem reading it (then :func:`load_mask`
    reads it and gives the clear error)."""
    try:
        data = read_bounded(path, "mask file")
        with Image.open(io.BytesIO(data)) as im:
            if im.format != "PNG" or im.mode != "L" or im.size != tuple(size) or "transparency" in im.info:
                return None
            a8 = np.asarray(im)
    except Exception:  # load_mask gives the clear error
        return None
    return block_mean_linear(a8, factor, srgb=False)
