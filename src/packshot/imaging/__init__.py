"""Image I/O and the one place where colour conventions are converted.

A package: :mod:`~packshot.imaging.colour` (sRGB / linear / 8-bit / luminance / Lab / deltaE),
:mod:`~packshot.imaging.icc` (embedded profiles), :mod:`~packshot.imaging.decode` (bounded reads,
decoding, masks, working resolution), :mod:`~packshot.imaging.encode` (the one encoder),
:mod:`~packshot.imaging.files` (atomic writes), :mod:`~packshot.imaging.resize` and
:mod:`~packshot.imaging.lut` (fast 8-bit conversions through tables). Every public name is
re-exported here: ``from packshot.imaging import load_image`` is the way to use them.

Nothing outside this package holds the sRGB constants, the luminance weights or the XYZ matrix,
or opens / saves an image file with Pillow (``tests/test_imaging_boundary.py`` checks it): use
:func:`srgb_to_linear`, :data:`LUMINANCE_WEIGHTS`, :func:`luminance`, :data:`RGB_TO_XYZ`,
:func:`encode_image`, :func:`encode_srgb8`, :func:`encode_png`, :func:`open_image`,
:func:`decode_raw` and the rest.

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

from .colour import (
    LUMINANCE_WEIGHTS,
    RGB_TO_XYZ,
    delta_e2000,
    dlinear_dsrgb,
    float_to_uint8,
    lab_to_linear,
    linear_to_lab,
    linear_to_srgb,
    linear_to_srgb8,
    luminance,
    srgb8_to_linear,
    srgb_to_linear,
    uint8_to_float,
)
from .decode import (
    DEFAULT_MAX_PIXELS,
    MAX_DOCUMENT_BYTES,
    MAX_IMAGE_BYTES,
    MAX_PIXELS_CEILING,
    SUPPORTED_SUFFIXES,
    WORKING_PIXELS,
    LoadedImage,
    WorkingImage,
    check_max_pixels,
    decode_image,
    decode_raw,
    image_size,
    load_image,
    load_alpha8_reduced,
    load_image_working,
    load_mask,
    open_image,
    pillow_heif,
    read_bounded,
    working_factor,
)
from .encode import (
    OverByteLimit,
    encode_image,
    encode_png,
    encode_srgb8,
    encode_within_bytes,
    save_gray,
    save_image,
    srgb_icc_bytes,
    to_pil,
)
from .files import (
    TEMP_NAME_OVERHEAD,
    atomic_write_bytes,
    atomic_write_text,
    atomic_writer,
    check_output_name,
    clean_temp_files,
    is_temp_file,
)
from .icc import icc_description
from .lut import linear_to_srgb8_fast, nearest_srgb8
from .resize import block_mean_linear, resize_linear, shrink_to_long_side

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "LUMINANCE_WEIGHTS",
    "LoadedImage",
    "MAX_DOCUMENT_BYTES",
    "MAX_IMAGE_BYTES",
    "MAX_PIXELS_CEILING",
    "OverByteLimit",
    "RGB_TO_XYZ",
    "SUPPORTED_SUFFIXES",
    "TEMP_NAME_OVERHEAD",
    "WORKING_PIXELS",
    "WorkingImage",
    "atomic_write_bytes",
    "atomic_write_text",
    "atomic_writer",
    "block_mean_linear",
    "check_max_pixels",
    "check_output_name",
    "clean_temp_files",
    "decode_image",
    "decode_raw",
    "delta_e2000",
    "dlinear_dsrgb",
    "encode_image",
    "encode_png",
    "encode_srgb8",
    "encode_within_bytes",
    "float_to_uint8",
    "icc_description",
    "image_size",
    "is_temp_file",
    "lab_to_linear",
    "linear_to_lab",
    "linear_to_srgb",
    "linear_to_srgb8",
    "linear_to_srgb8_fast",
    "load_alpha8_reduced",
    "load_image",
    "load_image_working",
    "load_mask",
    "luminance",
    "nearest_srgb8",
    "open_image",
    "pillow_heif",
    "read_bounded",
    "resize_linear",
    "save_gray",
    "save_image",
    "shrink_to_long_side",
    "srgb8_to_linear",
    "srgb_icc_bytes",
    "srgb_to_linear",
    "to_pil",
    "uint8_to_float",
    "working_factor",
]
