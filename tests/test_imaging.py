"""Tests for packshot.imaging: colour conversions, every decode path, bad input, atomic writes."""

from __future__ import annotations

import io
import itertools
import os
import struct
import threading
import time
import tracemalloc
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from PIL import Image, ImageCms, features

from packshot import imaging
from packshot.errors import ImageLoadError, ImageTooLargeError, InputError
from packshot.imaging import (
    DEFAULT_MAX_PIXELS,
    atomic_write_bytes,
    atomic_write_text,
    atomic_writer,
    decode_image,
    delta_e2000,
    encode_image,
    float_to_uint8,
    lab_to_linear,
    linear_to_lab,
    linear_to_srgb,
    linear_to_srgb8,
    load_image,
    load_mask,
    luminance,
    resize_linear,
    save_gray,
    save_image,
    srgb8_to_linear,
    srgb_to_linear,
    uint8_to_float,
)


# ---------------------------------------------------------------------------------------------
# helpers: files built in code
# ---------------------------------------------------------------------------------------------
def pil_bytes(img: Image.Image, fmt: str, **kwargs) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kwargs)
    return buf.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def raw_png(width: int, height: int, rows: np.ndarray | None = None, bit_depth: int = 8, colour_type: int = 0,
            extra_chunks: bytes = b"") -> bytes:
    """A PNG written byte by byte: IHDR as given, IDAT from ``rows`` (or a few zero rows only)."""
    header = png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0))
    if rows is None:  # a "bomb": the header claims a size the data never fills
        raw = b"\0" * (width + 1) * 2
    else:
        big_endian = rows.astype(">u2" if bit_depth == 16 else np.uint8)
        raw = b"".join(b"\0" + r.tobytes() for r in big_endian.reshape(height, -1))
    return (b"\x89PNG\r\n\x1a\n" + header + extra_chunks + png_chunk(b"IDAT", zlib.compress(raw))
            + png_chunk(b"IEND", b""))


def insert_png_chunk(png: bytes, chunk: bytes) -> bytes:
    """Insert a chunk right after IHDR (8 signature + 25 IHDR bytes)."""
    return png[:33] + chunk + png[33:]


def raw_tiff16(rgb16: np.ndarray, orientation: int = 1) -> bytes:
    """A little-endian, uncompressed 16-bit RGB TIFF with an orientation tag, written by hand
    (Pillow cannot write 16-bit colour, OpenCV cannot write the orientation tag)."""
    height, width, _ = rgb16.shape
    entries = [(256, 4, 1, width), (257, 4, 1, height), (258, 3, 3, None), (259, 3, 1, 1), (262, 3, 1, 2),
               (273, 4, 1, None), (274, 3, 1, orientation), (277, 3, 1, 3), (278, 4, 1, height),
               (279, 4, 1, rgb16.nbytes), (284, 3, 1, 1)]
    ifd_size = 2 + 12 * len(entries) + 4
    bits_offset = 8 + ifd_size
    data_offset = bits_offset + 6
    ifd = struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        value = {258: bits_offset, 273: data_offset}.get(tag, value)
        packed = struct.pack("<HH", value, 0) if kind == 3 and tag != 258 else struct.pack("<I", value)
        ifd += struct.pack("<HHI", tag, kind, count) + packed
    ifd += struct.pack("<I", 0)
    return b"II*\0" + struct.pack("<I", 8) + ifd + struct.pack("<3H", 16, 16, 16) + rgb16.astype("<u2").tobytes()


def exif_bytes(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()


def to8(loaded) -> np.ndarray:
    """Decoded linear RGB back to the 8-bit sRGB levels it came from (no dither)."""
    return linear_to_srgb8(loaded.rgb, dither=False)


# --- hand-written ICC profiles (Pillow can only create sRGB, LAB and XYZ profiles) -------------
def _s15(v: float) -> bytes:
    return struct.pack(">i", int(round(v * 65536)))


def _xyz(x: float, y: float, z: float) -> bytes:
    return b"XYZ " + b"\0" * 4 + _s15(x) + _s15(y) + _s15(z)


def _curve(gamma: float) -> bytes:
    return b"curv" + b"\0" * 4 + struct.pack(">IH", 1, int(round(gamma * 256))) + b"\0\0"


def _desc(text: str) -> bytes:
    a = text.encode("ascii") + b"\0"
    return b"desc" + b"\0" * 4 + struct.pack(">I", len(a)) + a + struct.pack(">IIHB", 0, 0, 0, 0) + b"\0" * 67


_D50 = (0.9642, 1.0, 0.8249)


def icc_profile(space: bytes, pcs: bytes, device_class: bytes, tags: list[tuple[bytes, bytes]]) -> bytes:
    """A minimal ICC v2.1 profile: 128-byte header, tag table, tag data."""
    table, body = struct.pack(">I", len(tags)), b""
    start = 128 + 4 + 12 * len(tags)
    for sig, data in tags:
        body += b"\0" * (-(start + len(body)) % 4)
        table += sig + struct.pack(">II", start + len(body), len(data))
        body += data
    body += b"\0" * (-len(body) % 4)
    header = (struct.pack(">I", 128 + len(table) + len(body)) + b"\0" * 4 + struct.pack(">I", 0x02100000)
              + device_class + space + pcs + b"\0" * 12 + b"acsp" + b"\0" * 28
              + _s15(_D50[0]) + _s15(_D50[1]) + _s15(_D50[2]) + b"\0" * 48)
    assert len(header) == 128
    return header + table + body


def gray_profile(gamma: float) -> bytes:
    return icc_profile(b"GRAY", b"XYZ ", b"mntr",
                       [(b"desc", _desc(f"test grey gamma {gamma}")), (b"wtpt", _xyz(*_D50)), (b"kTRC", _curve(gamma))])


# Adobe RGB (1998): D50-adapted colorants and gamma 563/256, as in Adobe's own profile.
ADOBE_RGB_ICC = icc_profile(
    b"RGB ", b"XYZ ", b"mntr",
    [(b"desc", _desc("test Adobe RGB")), (b"wtpt", _xyz(*_D50)),
     (b"rXYZ", _xyz(0.60974, 0.31111, 0.01947)), (b"gXYZ", _xyz(0.20528, 0.62567, 0.06087)),
     (b"bXYZ", _xyz(0.14919, 0.06322, 0.74457)),
     (b"rTRC", _curve(563 / 256)), (b"gTRC", _curve(563 / 256)), (b"bTRC", _curve(563 / 256))],
)


def cmyk_profile() -> bytes:
    """A CMYK printer profile (lut8 A2B0, Lab PCS) where every ink prints *neutral* grey.

    Cyan alone gives L* = 50, black alone L* = 15, so a decoder that ignores the profile (cyan
    -> (0, 255, 255)) is told apart from one that applies it.
    """
    clut = b""
    for c, m, y, k in itertools.product((0, 1), repeat=4):
        lightness = 100 * (1 - 0.5 * c) * (1 - 0.5 * m) * (1 - 0.5 * y) * (1 - 0.85 * k)
        clut += bytes([round(lightness * 255 / 100), 128, 128])
    identity = bytes(range(256))
    lut = (b"mft1" + b"\0" * 4 + bytes([4, 3, 2, 0]) + b"".join(_s15(v) for v in (1, 0, 0, 0, 1, 0, 0, 0, 1))
           + identity * 4 + clut + identity * 3)
    return icc_profile(b"CMYK", b"Lab ", b"prtr", [(b"desc", _desc("test neutral CMYK")), (b"wtpt", _xyz(*_D50)),
                                                   (b"A2B0", lut)])


def _para_srgb() -> bytes:
    """The sRGB tone curve as a 'para' function of type 3."""
    params = (2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045)
    return b"para" + b"\0" * 4 + struct.pack(">HH", 3, 0) + b"".join(_s15(v) for v in params)


def _curve_table(gamma: float, count: int = 1024) -> bytes:
    table = np.round(np.linspace(0, 1, count) ** gamma * 65535).astype(">u2").tobytes()
    return b"curv" + b"\0" * 4 + struct.pack(">I", count) + table


def srgb_colorants() -> list[tuple[float, float, float]]:
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).profile
    return [profile.red_colorant[0], profile.green_colorant[0], profile.blue_colorant[0]]


def rgb_profile(name: str, colorants, curves: list[bytes]) -> bytes:
    tags = [(b"desc", _desc(name)), (b"wtpt", _xyz(*_D50))]
    tags += [(sig, _xyz(*c)) for sig, c in zip((b"rXYZ", b"gXYZ", b"bXYZ"), colorants)]
    tags += [(sig, curve) for sig, curve in zip((b"rTRC", b"gTRC", b"bTRC"), curves)]
    return icc_profile(b"RGB ", b"XYZ ", b"mntr", tags)


def table_rgb_profile() -> bytes:
    """A table-based RGB profile (lut8 A2B0 into Lab, 2-point grid), gentle and inside sRGB."""
    clut = b""
    for r, g, b in itertools.product((0, 1), repeat=3):
        lab = (30 + 40 * (r + g + b) / 3, 20 * (r - g), 20 * (g - b))
        clut += bytes([round(lab[0] * 255 / 100), round(lab[1] + 128), round(lab[2] + 128)])
    identity = bytes(range(256))
    lut = (b"mft1" + b"\0" * 4 + bytes([3, 3, 2, 0]) + b"".join(_s15(v) for v in (1, 0, 0, 0, 1, 0, 0, 0, 1))
           + identity * 3 + clut + identity * 3)
    return icc_profile(b"RGB ", b"Lab ", b"scnr", [(b"desc", _desc("test table RGB")), (b"wtpt", _xyz(*_D50)),
                                                  (b"A2B0", lut)])


def adobe_to_srgb_reference(rgb8) -> np.ndarray:
    """Adobe RGB 8-bit -> sRGB [0, 255] through the published D65 matrices (independent math)."""
    adobe_to_xyz = np.array([[0.5767309, 0.1855540, 0.1881852], [0.2973769, 0.6273491, 0.0752741],
                             [0.0270343, 0.0706872, 0.9911085]])
    srgb_to_xyz = np.array([[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750],
                            [0.0193339, 0.1191920, 0.9503041]])
    linear = (np.asarray(rgb8, np.float64) / 255.0) ** (563 / 256)
    srgb_linear = np.linalg.solve(srgb_to_xyz, adobe_to_xyz @ linear)
    return linear_to_srgb(srgb_linear.astype(np.float32)) * 255


# A small asymmetric test picture: every pixel different, 5 rows x 3 columns.
ASYMMETRIC = (np.arange(5 * 3 * 3, dtype=np.uint8).reshape(5, 3, 3) * 5 + 10)


# ---------------------------------------------------------------------------------------------
# colour conversions
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "srgb, linear",
    [(0.0, 0.0), (0.04045, 0.04045 / 12.92), (0.5, 0.21404114), (0.735357, 0.5), (1.0, 1.0)],
)
def test_srgb_linear_known_values(srgb, linear):
    assert_allclose(srgb_to_linear(np.float32(srgb)), linear, atol=2e-6)
    assert_allclose(linear_to_srgb(np.float32(linear)), srgb, atol=2e-6)


@pytest.mark.parametrize("shape", [(7,), (4, 5), (4, 5, 3), (2, 3, 4, 3)])
def test_srgb_linear_round_trip_keeps_shape_and_dtype(shape):
    values = np.random.default_rng(0).random(shape, dtype=np.float32)
    linear = srgb_to_linear(values)
    assert linear.shape == shape and linear.dtype == np.float32
    assert_allclose(linear_to_srgb(linear), values, atol=3e-6)


def test_srgb_to_linear_literal_array_and_clipping():
    assert_allclose(srgb_to_linear(np.array([[-0.5, 0.0], [0.5, 1.5]], np.float32)),
                    [[0.0, 0.0], [0.21404114, 1.0]], atol=1e-6)


@pytest.mark.parametrize("func", [srgb_to_linear, linear_to_srgb])
def test_float_conversions_refuse_integer_input(func):
    with pytest.raises(ValueError, match="float"):
        func(np.array([0, 128, 255], np.uint8))


def test_srgb8_to_linear_matches_formula_and_checks_dtype():
    levels = np.arange(256, dtype=np.uint8)
    assert_allclose(srgb8_to_linear(levels), srgb_to_linear(levels / np.float32(255)), atol=1e-7)
    assert srgb8_to_linear(levels.reshape(16, 16)).shape == (16, 16)
    with pytest.raises(ValueError, match="uint8"):
        srgb8_to_linear(levels.astype(np.float32))


@pytest.mark.parametrize("dither", [True, False])
def test_every_8bit_level_survives_decode_encode(dither):
    levels = np.tile(np.arange(256, dtype=np.uint8), (8, 1))
    rgb8 = np.dstack([levels, levels[:, ::-1], levels])
    assert_array_equal(linear_to_srgb8(srgb8_to_linear(rgb8), dither=dither), rgb8)


def test_dithered_encoding_is_deterministic_and_unbanded():
    # A gradient that spans one 8-bit step: without dither it bands into two flat levels; with
    # the ordered dither, the mean over each 4 x 4 tile follows the true value.
    width, height = 256, 16
    target = 100.0 + np.linspace(0, 1, width, endpoint=False, dtype=np.float32)
    linear = srgb_to_linear(np.tile(target / 255.0, (height, 1)))
    a = linear_to_srgb8(linear, dither=True)
    b = linear_to_srgb8(linear, dither=True)
    assert_array_equal(a, b)

    def tile_error(encoded):
        tiles = encoded.astype(np.float64).reshape(height // 4, 4, width // 4, 4).mean(axis=(1, 3))
        truth = target.reshape(width // 4, 4).mean(axis=1)
        return np.abs(tiles - truth[None, :]).max()

    assert tile_error(a) < 0.1
    assert tile_error(linear_to_srgb8(linear, dither=False)) > 0.3  # the banding the dither removes
    assert len(np.unique(a)) == 2  # and the dither never strays further than one step


@pytest.mark.parametrize(
    "values, expected", [([0.0, 0.5, 1.0], [0, 128, 255]), ([-1.0, 0.2, 2.0], [0, 51, 255])]
)
def test_float_uint8_maps(values, expected):
    assert_array_equal(float_to_uint8(np.array(values)), expected)
    assert_allclose(uint8_to_float(np.array(expected, np.uint8)), np.array(expected) / 255.0)


@pytest.mark.parametrize(
    "rgb, expected", [((1, 1, 1), 1.0), ((1, 0, 0), 0.2126), ((0, 1, 0), 0.7152), ((0, 0, 1), 0.0722)]
)
def test_luminance_weights(rgb, expected):
    assert_allclose(luminance(np.array([[rgb]], np.float32)), [[expected]], atol=1e-6)


def test_lab_known_values():
    assert_allclose(linear_to_lab(np.array([1.0, 1.0, 1.0])), [100, 0, 0], atol=0.02)
    assert_allclose(linear_to_lab(np.array([0.0, 0.0, 0.0])), [0, 0, 0], atol=1e-4)
    assert_allclose(linear_to_lab(srgb_to_linear(np.array([1.0, 0.0, 0.0], np.float32))),
                    [53.24, 80.09, 67.20], atol=0.05)


def test_lab_matches_scikit_image():
    from skimage.color import rgb2lab

    srgb = np.random.default_rng(1).random((16, 16, 3)).astype(np.float32)
    assert_allclose(linear_to_lab(srgb_to_linear(srgb)), rgb2lab(srgb), atol=0.05)


def test_lab_round_trip():
    linear = np.random.default_rng(2).random((32, 3)).astype(np.float32)
    assert_allclose(lab_to_linear(linear_to_lab(linear)), linear, atol=2e-5)


@pytest.mark.parametrize(
    "lab1, lab2, expected",  # Sharma, Wu & Dalal (2005) test data
    [((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485), 2.0425),
     ((50.0, 2.5, 0.0), (73.0, 25.0, -18.0), 27.1492),
     ((50.0, 0.0, 0.0), (50.0, -1.0, 2.0), 2.3669)],
)
def test_delta_e2000_reference_pairs(lab1, lab2, expected):
    assert_allclose(delta_e2000(np.array(lab1), np.array(lab2)), expected, atol=1e-4)


# ---------------------------------------------------------------------------------------------
# decoding: formats and modes
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt, lossless", [("PNG", True), ("TIFF", True), ("BMP", True), ("JPEG", False),
                                           ("WEBP", False)])
def test_encode_decode_round_trip(fmt, lossless):
    rng = np.random.default_rng(3)
    smooth = np.linspace(0.05, 0.95, 48, dtype=np.float32)
    linear = np.dstack([np.tile(smooth, (32, 1)), np.tile(smooth[::-1], (32, 1)),
                        np.full((32, 48), 0.3, np.float32)])
    if lossless:
        linear = srgb8_to_linear(rng.integers(0, 256, (32, 48, 3), dtype=np.uint8))
    data = encode_image(linear, fmt, quality=95)
    assert data == encode_image(linear, fmt, quality=95)  # deterministic bytes
    loaded = decode_image(data, f"x.{fmt.lower()}")
    assert loaded.source_format == fmt and loaded.size == (48, 32) and loaded.alpha is None
    assert loaded.rgb.dtype == np.float32
    if lossless:
        assert_array_equal(to8(loaded), linear_to_srgb8(linear, dither=False))
    else:
        error = np.abs(to8(loaded).astype(int) - linear_to_srgb8(linear, dither=False).astype(int))
        assert error.mean() < 2.0


@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "TIFF"])
def test_alpha_round_trip(fmt):
    alpha = np.tile(np.linspace(0, 1, 16, dtype=np.float32), (8, 1))
    rgb = np.full((8, 16, 3), 0.25, np.float32)
    loaded = decode_image(encode_image(rgb, fmt, alpha=alpha, quality=100), "a")
    assert_allclose(loaded.alpha, float_to_uint8(alpha) / 255.0, atol=1e-6)


@pytest.mark.skipif(not features.check("avif"), reason="Pillow built without AVIF")
def test_avif_round_trip():
    rgb = np.full((16, 16, 3), 0.2, np.float32)
    loaded = decode_image(pil_bytes(imaging.to_pil(rgb), "AVIF", quality=90), "x.avif")
    assert loaded.size == (16, 16) and np.abs(to8(loaded).astype(int) - 124).max() <= 3


def test_greyscale_modes():
    grey = np.array([[0, 64], [128, 255]], np.uint8)
    loaded = decode_image(pil_bytes(Image.fromarray(grey, "L"), "PNG"))
    assert_array_equal(to8(loaded), np.repeat(grey[..., None], 3, axis=2))
    bilevel = decode_image(pil_bytes(Image.fromarray(grey > 100).convert("1"), "PNG"))
    assert_array_equal(to8(bilevel)[..., 0], [[0, 0], [255, 255]])


def test_grey_with_alpha():
    la = Image.merge("LA", [Image.fromarray(np.full((2, 2), 90, np.uint8)),
                            Image.fromarray(np.array([[0, 255], [128, 255]], np.uint8))])
    loaded = decode_image(pil_bytes(la, "PNG"))
    assert_array_equal(to8(loaded), np.full((2, 2, 3), 90))
    assert_allclose(loaded.alpha, np.array([[0, 255], [128, 255]]) / 255.0, atol=1e-6)


def test_palette_without_transparency():
    img = Image.fromarray(np.array([[0, 1], [2, 1]], np.uint8), "P")
    img.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255] + [0] * 759)
    loaded = decode_image(pil_bytes(img, "PNG"))
    assert loaded.alpha is None and loaded.source_mode == "P"
    assert_array_equal(to8(loaded), [[[255, 0, 0], [0, 255, 0]], [[0, 0, 255], [0, 255, 0]]])


@pytest.mark.parametrize("fmt", ["PNG", "GIF"])
def test_palette_with_transparency(fmt):
    img = Image.fromarray(np.array([[0, 1, 2], [2, 1, 0]], np.uint8), "P")
    img.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255] + [0] * 759)
    loaded = decode_image(pil_bytes(img, fmt, transparency=1))
    assert_array_equal(loaded.alpha, [[1, 0, 1], [1, 0, 1]])
    assert_array_equal(to8(loaded)[0, 0], [255, 0, 0])


def test_rgba_with_opaque_alpha_reports_no_alpha():
    rgba = Image.new("RGBA", (4, 4), (10, 20, 30, 255))
    loaded = decode_image(pil_bytes(rgba, "PNG"))
    assert loaded.alpha is None and "opaque alpha dropped" in loaded.notes


@pytest.mark.parametrize("fmt", ["PNG", "TIFF"])
def test_16bit_grey_keeps_precision(fmt):
    levels = np.array([[0, 1000, 1001], [30000, 30001, 65535]], np.uint16)
    loaded = decode_image(pil_bytes(Image.fromarray(levels), fmt), f"g.{fmt}")
    encoded = linear_to_srgb(loaded.rgb[..., 0]) * 65535
    assert_allclose(encoded, levels, atol=0.05)
    assert loaded.rgb[0, 1, 0] < loaded.rgb[0, 2, 0]  # one 16-bit step apart, still apart
    assert "16-bit grey" in loaded.notes


@pytest.mark.parametrize("fmt", [".png", ".tiff"])
@pytest.mark.parametrize("channels", [3, 4])
def test_16bit_colour_keeps_precision(fmt, channels):
    import cv2

    rng = np.random.default_rng(4)
    rgba = rng.integers(0, 65536, (6, 5, channels), dtype=np.uint16)
    rgba[0, 0, :3] = (1000, 1001, 1002)
    bgra = rgba[..., [2, 1, 0, 3][:channels]]
    ok, data = cv2.imencode(fmt, bgra)
    assert ok
    loaded = decode_image(data.tobytes(), f"c{fmt}")
    assert_allclose(linear_to_srgb(loaded.rgb) * 65535, rgba[..., :3], atol=0.05)
    assert len(np.unique(loaded.rgb[0, 0])) == 3
    if channels == 4:
        assert_allclose(loaded.alpha, rgba[..., 3] / 65535.0, atol=1e-6)
    assert "16-bit colour" in loaded.notes


def test_16bit_grey_alpha_png():
    grey = np.array([[0, 20000], [40000, 65535]], np.uint16)
    alpha = np.array([[65535, 0], [32768, 65535]], np.uint16)
    data = raw_png(2, 2, np.dstack([grey, alpha]), bit_depth=16, colour_type=4)
    loaded = decode_image(data)
    assert_allclose(linear_to_srgb(loaded.rgb[..., 0]) * 65535, grey, atol=0.05)
    assert_allclose(loaded.alpha, alpha / 65535.0, atol=1e-6)


@pytest.mark.parametrize("mode, values, expected", [
    ("I", np.array([[0, 32768], [65535, 70000]], np.int32), [[0, 32768], [65535, 65535]]),
    ("F", np.array([[0.0, 0.5], [1.0, 2.0]], np.float32), [[0, 32767.5], [65535, 65535]]),
])
def test_wide_grey_modes(mode, values, expected):
    loaded = decode_image(pil_bytes(Image.fromarray(values, mode), "TIFF"), "w.tiff")
    assert_allclose(linear_to_srgb(loaded.rgb[..., 1]) * 65535, expected, atol=0.1)


def test_cmyk_jpeg_adobe_inverted():
    # Pillow (libjpeg) writes CMYK JPEGs the Adobe way: inverted, with an APP14 marker.
    data = pil_bytes(Image.new("CMYK", (16, 16), (0, 255, 255, 0)), "JPEG", quality=100)
    assert b"Adobe" in data
    loaded = decode_image(data, "cmyk.jpg")
    assert loaded.source_mode == "CMYK"
    assert np.abs(to8(loaded)[8, 8].astype(int) - [255, 0, 0]).max() <= 2


def test_cmyk_jpeg_without_adobe_marker_is_not_inverted():
    # Pillow stores 255 - ink: (255, 255, 0, 255) is stored as (0, 0, 255, 0). Without the
    # Adobe marker those bytes are plain ink amounts: yellow ink only, not the black Pillow reads.
    data = pil_bytes(Image.new("CMYK", (16, 16), (255, 255, 0, 255)), "JPEG", quality=100)
    start = data.index(b"\xff\xee")  # APP14 "Adobe"
    length = struct.unpack(">H", data[start + 2 : start + 4])[0]
    stripped = data[:start] + data[start + 2 + length :]
    loaded = decode_image(stripped, "plain-cmyk.jpg")
    assert "cmyk without adobe marker" in loaded.notes
    assert np.abs(to8(loaded)[8, 8].astype(int) - [255, 255, 0]).max() <= 2


@pytest.mark.parametrize("fmt", ["JPEG", "TIFF"])
@pytest.mark.parametrize("ink, lightness", [((255, 0, 0, 0), 50.0), ((0, 0, 0, 255), 15.0)])
def test_cmyk_with_icc_profile_uses_the_profile(fmt, ink, lightness):
    kwargs = {"quality": 100} if fmt == "JPEG" else {}
    data = pil_bytes(Image.new("CMYK", (8, 8), ink), fmt, icc_profile=cmyk_profile(), **kwargs)
    loaded = decode_image(data, f"cmyk.{fmt}")
    lab = linear_to_lab(loaded.rgb[4, 4])
    assert abs(lab[0] - lightness) < 2.0
    assert np.hypot(lab[1], lab[2]) < 1.0  # neutral, as the profile says; the plain formula gives cyan


def test_cmyk_tiff_without_profile():
    loaded = decode_image(pil_bytes(Image.new("CMYK", (4, 4), (0, 0, 255, 0)), "TIFF"), "c.tiff")
    assert_array_equal(to8(loaded)[0, 0], [255, 255, 0])


def test_lab_tiff():
    lab_image = ImageCms.applyTransform(
        Image.new("RGB", (4, 4), (200, 40, 40)),
        ImageCms.buildTransform(ImageCms.createProfile("sRGB"), ImageCms.createProfile("LAB"), "RGB", "LAB"),
    )
    loaded = decode_image(pil_bytes(lab_image, "TIFF"), "lab.tiff")
    assert np.abs(to8(loaded)[0, 0].astype(int) - [200, 40, 40]).max() <= 3


# ---------------------------------------------------------------------------------------------
# ICC profiles
# ---------------------------------------------------------------------------------------------
def test_srgb_profile_leaves_pixels_unchanged():
    rgb8 = np.random.default_rng(5).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    with_profile = decode_image(pil_bytes(Image.fromarray(rgb8), "PNG", icc_profile=imaging.srgb_icc_bytes()))
    assert_array_equal(to8(with_profile), rgb8)
    assert not any("icc->sRGB" in n for n in with_profile.notes)


@pytest.mark.parametrize("fmt", ["PNG", "TIFF"])
@pytest.mark.parametrize("colour", [(200, 100, 50), (40, 160, 90), (128, 128, 128)])
def test_adobe_rgb_converted_to_srgb(fmt, colour):
    data = pil_bytes(Image.new("RGB", (4, 4), colour), fmt, icc_profile=ADOBE_RGB_ICC)
    loaded = decode_image(data, "adobe")
    assert any(n.startswith("icc->sRGB (test Adobe RGB") for n in loaded.notes)
    assert_allclose(to8(loaded)[0, 0], adobe_to_srgb_reference(colour), atol=1.5)


def test_real_adobe_rgb_profile_from_a_shared_photo(photos_dir):
    with Image.open(photos_dir / "images" / "gs_oatly_iconic.jpg") as im:
        icc = im.info["icc_profile"]
    loaded = decode_image(pil_bytes(Image.new("RGB", (2, 2), (200, 100, 50)), "PNG", icc_profile=icc))
    assert_allclose(to8(loaded)[0, 0], adobe_to_srgb_reference((200, 100, 50)), atol=1.5)


def test_16bit_colour_with_icc_profile():
    import cv2

    rgb16 = np.zeros((4, 4, 3), np.uint16)
    rgb16[:] = (51400, 25700, 12850)  # Adobe RGB (200, 100, 50) at 16 bits
    rgb16[0, 0] = (51401, 25700, 12850)
    ok, data = cv2.imencode(".png", rgb16[..., ::-1])
    png = insert_png_chunk(data.tobytes(), png_chunk(b"iCCP", b"adobe\0\0" + zlib.compress(ADOBE_RGB_ICC)))
    loaded = decode_image(png, "adobe16.png")
    assert "16-bit colour" in loaded.notes and any("icc->sRGB" in n for n in loaded.notes)
    assert_allclose(linear_to_srgb(loaded.rgb[1, 1]) * 255, adobe_to_srgb_reference((200, 100, 50)), atol=1.5)
    assert loaded.rgb[0, 0, 0] > loaded.rgb[1, 1, 0]  # a 16-bit step survives the conversion


def test_16bit_icc_conversion_agrees_with_8bit():
    # the 16-bit path interpolates a sampled lookup table; on 8-bit colours it must agree with
    # the colour engine applied directly (a swapped axis or a wrong weight would not)
    import cv2

    rgb8 = np.random.default_rng(9).integers(0, 256, (24, 32, 3), dtype=np.uint8)
    eight = decode_image(pil_bytes(Image.fromarray(rgb8), "PNG", icc_profile=ADOBE_RGB_ICC))
    png16 = cv2.imencode(".png", (rgb8.astype(np.uint16) * 257)[..., ::-1])[1].tobytes()
    sixteen = decode_image(insert_png_chunk(png16, png_chunk(b"iCCP", b"a\0\0" + zlib.compress(ADOBE_RGB_ICC))))
    difference = np.abs(linear_to_srgb(sixteen.rgb) - linear_to_srgb(eight.rgb)) * 255
    assert difference.max() < 1.5 and difference.mean() < 0.5


@pytest.mark.parametrize("curve", ["para", "table"])
def test_16bit_matrix_profile_curve_types(curve):
    # sRGB primaries with the sRGB curve as a 'para' function, or a gamma 2.2 sampled table
    # (compared with the same gamma given as one number): the exact float path reads both.
    import cv2

    rgb16 = np.random.default_rng(11).integers(0, 65536, (16, 16, 3), dtype=np.uint16)
    png16 = cv2.imencode(".png", rgb16[..., ::-1])[1].tobytes()

    def decode(icc):
        return decode_image(insert_png_chunk(png16, png_chunk(b"iCCP", b"p\0\0" + zlib.compress(icc))))

    if curve == "para":
        loaded = decode(rgb_profile("test para", srgb_colorants(), [_para_srgb()] * 3))
        assert any(n.startswith("icc->sRGB (test para") for n in loaded.notes)
        # identity, to the precision of the profile's 16.16 fixed-point numbers: far below 8 bits
        assert_allclose(linear_to_srgb(loaded.rgb) * 65535, rgb16, atol=257 / 10)
    else:
        tabled = decode(rgb_profile("test table", srgb_colorants(), [_curve_table(2.2)] * 3))
        gamma = decode(rgb_profile("test gamma", srgb_colorants(), [_curve(2.2)] * 3))
        assert_allclose(tabled.rgb, gamma.rgb, atol=2e-4)
        assert_allclose(gamma.rgb, (rgb16 / 65535.0) ** (563 / 256), atol=2e-3)  # u8Fixed8 stores 2.2 as 563/256


def test_16bit_table_based_profile_agrees_with_8bit():
    import cv2

    icc = table_rgb_profile()
    rgb8 = np.random.default_rng(10).integers(0, 256, (24, 32, 3), dtype=np.uint8)
    eight = decode_image(pil_bytes(Image.fromarray(rgb8), "PNG", icc_profile=icc))
    png16 = cv2.imencode(".png", (rgb8.astype(np.uint16) * 257)[..., ::-1])[1].tobytes()
    sixteen = decode_image(insert_png_chunk(png16, png_chunk(b"iCCP", b"t\0\0" + zlib.compress(icc))))
    assert "icc applied through a sampled table" in sixteen.notes
    assert np.abs(to8(eight).astype(int) - rgb8.astype(int)).mean() > 10  # the profile did change colours
    difference = np.abs(linear_to_srgb(sixteen.rgb) - linear_to_srgb(eight.rgb)) * 255
    assert difference.max() < 2.0 and difference.mean() < 0.6


@pytest.mark.parametrize("bits", [8, 16])
def test_grey_icc_profile(bits):
    level = 128 if bits == 8 else 128 * 257
    dtype = np.uint8 if bits == 8 else np.uint16
    img = Image.fromarray(np.full((4, 4), level, dtype))
    loaded = decode_image(pil_bytes(img, "PNG", icc_profile=gray_profile(1.0)), "grey.png")
    # a linear (gamma 1) grey profile: the stored value is linear light already
    assert_allclose(loaded.rgb[0, 0], [128 / 255] * 3, atol=0.004)


def test_unreadable_or_mismatched_profile_is_ignored_with_a_note():
    rgb = Image.new("RGB", (2, 2), (10, 20, 30))
    broken = decode_image(pil_bytes(rgb, "PNG", icc_profile=b"not a profile at all" * 10))
    assert_array_equal(to8(broken)[0, 0], [10, 20, 30])
    assert any("icc profile ignored" in n for n in broken.notes)
    mismatched = decode_image(pil_bytes(rgb, "PNG", icc_profile=gray_profile(2.2)))
    assert_array_equal(to8(mismatched)[0, 0], [10, 20, 30])
    assert any("GRAY profile on a RGB image" in n for n in mismatched.notes)


# ---------------------------------------------------------------------------------------------
# EXIF orientation
# ---------------------------------------------------------------------------------------------
# What a viewer shows for each EXIF orientation, written with Pillow's transpose operations
# (the EXIF specification's table), independent of the decoder's own code.
EXPECTED_TRANSPOSE = {
    1: [], 2: [Image.Transpose.FLIP_LEFT_RIGHT], 3: [Image.Transpose.ROTATE_180],
    4: [Image.Transpose.FLIP_TOP_BOTTOM], 5: [Image.Transpose.TRANSPOSE], 6: [Image.Transpose.ROTATE_270],
    7: [Image.Transpose.TRANSVERSE], 8: [Image.Transpose.ROTATE_90],
}


def expected_upright(array: np.ndarray, orientation: int) -> np.ndarray:
    img = Image.fromarray(array)
    for op in EXPECTED_TRANSPOSE[orientation]:
        img = img.transpose(op)
    return np.asarray(img)


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "TIFF"])
def test_exif_orientation(orientation, fmt):
    kwargs = {"quality": 100, "subsampling": 0} if fmt == "JPEG" else {"lossless": True} if fmt == "WEBP" else {}
    big = np.kron(ASYMMETRIC, np.ones((8, 8, 1), np.uint8))  # 8 x 8 blocks survive JPEG
    if fmt == "TIFF":
        img = Image.fromarray(big)
        data = pil_bytes(img, "TIFF", tiffinfo={0x0112: orientation})
    else:
        data = pil_bytes(Image.fromarray(big), fmt, exif=exif_bytes(orientation), **kwargs)
    loaded = decode_image(data, f"o{orientation}.{fmt}")
    expected = expected_upright(big, orientation)
    assert loaded.rgb.shape == expected.shape
    tolerance = 3 if fmt == "JPEG" else 0
    assert np.abs(to8(loaded).astype(int) - expected.astype(int)).max() <= tolerance
    if orientation != 1:
        assert f"exif-orientation {orientation}" in loaded.notes


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_16bit(orientation):
    import cv2

    rgb16 = (ASYMMETRIC.astype(np.uint16) * 257 + 3).astype(np.uint16)
    ok, data = cv2.imencode(".png", rgb16[..., ::-1])
    png = insert_png_chunk(data.tobytes(), png_chunk(b"eXIf", exif_bytes(orientation)[6:]))
    loaded = decode_image(png, "o16.png")
    expected = np.stack([expected_upright(rgb16[..., c], orientation) for c in range(3)], -1)
    assert_allclose(linear_to_srgb(loaded.rgb) * 65535, expected, atol=0.05)
    grey = decode_image(pil_bytes(Image.fromarray(rgb16[..., 0]), "PNG", exif=exif_bytes(orientation)))
    assert_allclose(linear_to_srgb(grey.rgb[..., 0]) * 65535, expected[..., 0], atol=0.05)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_16bit_tiff(orientation):
    rgb16 = (ASYMMETRIC.astype(np.uint16) * 257 + 5).astype(np.uint16)
    loaded = decode_image(raw_tiff16(rgb16, orientation), "o16.tiff")
    assert "16-bit colour" in loaded.notes
    expected = np.stack([expected_upright(rgb16[..., c], orientation) for c in range(3)], -1)
    assert_allclose(linear_to_srgb(loaded.rgb) * 65535, expected, atol=0.05)
    grey = decode_image(pil_bytes(Image.fromarray(rgb16[..., 1]), "TIFF", tiffinfo={0x0112: orientation}))
    assert_allclose(linear_to_srgb(grey.rgb[..., 0]) * 65535, expected[..., 1], atol=0.05)


def test_invalid_orientation_is_ignored():
    loaded = decode_image(pil_bytes(Image.fromarray(ASYMMETRIC), "PNG", exif=exif_bytes(9)))
    assert_array_equal(to8(loaded), ASYMMETRIC)
    assert any("invalid" in n for n in loaded.notes)


# ---------------------------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------------------------
def test_zero_byte_file(tmp_path):
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    with pytest.raises(ImageLoadError, match=r"empty\.jpg: file is empty"):
        load_image(path)


@pytest.mark.parametrize("text", ["These are not the pixels you are looking for.\n", "\ufeff" + "grüße " * 100])
def test_text_file_named_jpg(tmp_path, text):
    path = tmp_path / "notes.jpg"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ImageLoadError, match=r"notes\.jpg: not an image file: it contains text"):
        load_image(path)


@pytest.mark.parametrize("data", [bytes(range(256)) * 4, b"\x89PNG\r\n\x1a\n" + b"\x07" * 100,
                                  b"\xff\xd8\xff\xe0" + b"\x13" * 200, b"GIF89a" + b"\0" * 3])
def test_corrupt_bytes(data):
    with pytest.raises(ImageLoadError, match="corrupt.png"):
        decode_image(data, "corrupt.png")


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "TIFF", "BMP", "GIF"])
@pytest.mark.parametrize("keep", [0.5, 0.9])
def test_truncated_files(tmp_path, fmt, keep):
    rgb8 = np.random.default_rng(6).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    data = pil_bytes(Image.fromarray(rgb8), fmt)
    path = tmp_path / f"cut.{fmt.lower()}"
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(ImageLoadError, match=rf"cut\.{fmt.lower()}: .*(truncated|corrupt|decoded)"):
        load_image(path)


@pytest.mark.parametrize("keep", [0.5, 0.9])
def test_truncated_16bit_png(keep):
    import cv2

    rgb16 = np.random.default_rng(7).integers(0, 65536, (64, 64, 3), dtype=np.uint16)
    data = cv2.imencode(".png", rgb16)[1].tobytes()
    with pytest.raises(ImageLoadError, match=r"cut16\.png: .*(truncated|corrupt)"):
        decode_image(data[: int(len(data) * keep)], "cut16.png")


@pytest.mark.skipif(imaging.pillow_heif is not None, reason="pillow-heif is installed")
def test_heic_without_plugin_names_the_package():
    heic = struct.pack(">I", 24) + b"ftypheic" + b"\0\0\0\0" + b"mif1heic" + b"\0" * 64
    with pytest.raises(ImageLoadError, match=r"photo\.heic: HEIC/HEIF image: .*pillow-heif"):
        decode_image(heic, "photo.heic")


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ImageLoadError, match="does not exist"):
        load_image(tmp_path / "nowhere.png")
    with pytest.raises(ImageLoadError, match="is a folder"):
        load_image(tmp_path)


def test_decode_image_argument_checks():
    with pytest.raises(TypeError, match="bytes"):
        decode_image("photo.jpg")  # a path is not the file's bytes
    with pytest.raises(ValueError, match="max_pixels"):
        decode_image(b"x", max_pixels=-1)


# ---------------------------------------------------------------------------------------------
# pixel limit (decompression bombs)
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("width, height", [(100_000, 100_000), (12_000, 10_000), (65_535, 1_700)])
def test_bomb_over_the_limit_fails_fast_without_allocating(width, height):
    data = raw_png(width, height)  # a few hundred bytes that claim billions of pixels
    assert len(data) < 2_000_000
    before = Image.MAX_IMAGE_PIXELS
    tracemalloc.start()
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # Pillow's, above 89 MP
        with pytest.raises(ImageTooLargeError, match=rf"bomb\.png: image is {width}x{height}.*over the limit"):
            decode_image(data, "bomb.png")
    elapsed = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert elapsed < 1.0
    assert peak < 20_000_000
    assert Image.MAX_IMAGE_PIXELS == before  # Pillow's global guard is left as it was


def test_default_limit_is_100_megapixels():
    assert DEFAULT_MAX_PIXELS == 100_000_000
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with pytest.raises(ImageTooLargeError, match="100.0 MP"):
            decode_image(raw_png(10_001, 10_000), "bomb.png")


def test_pixel_limit_is_configurable(tmp_path):
    data = pil_bytes(Image.new("RGB", (64, 64), (1, 2, 3)), "PNG")
    with pytest.raises(ImageTooLargeError, match="64x64"):
        decode_image(data, "small.png", max_pixels=64 * 64 - 1)
    assert decode_image(data, "small.png", max_pixels=64 * 64).size == (64, 64)
    assert decode_image(data, "small.png", max_pixels=None).size == (64, 64)
    path = tmp_path / "small.png"
    path.write_bytes(data)
    with pytest.raises(ImageTooLargeError):
        load_image(path, max_pixels=100)
    with pytest.raises(ImageTooLargeError):
        load_mask(path, max_pixels=100)


def test_our_limit_above_pillows_guard(monkeypatch):
    # Pillow refuses images over 2 x MAX_IMAGE_PIXELS; a caller who allows more must get them,
    # and Pillow's global must be restored afterwards, also with threads decoding at once.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 500)
    data = pil_bytes(Image.new("RGB", (64, 64), (1, 2, 3)), "PNG")
    with pytest.raises(ImageTooLargeError):
        decode_image(data, "x.png", max_pixels=1000)
    results, errors = [], []

    def work():
        try:
            results.append(decode_image(data, "x.png", max_pixels=10_000).size)
        except Exception as exc:  # noqa: BLE001 - collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and results == [(64, 64)] * 8
    assert Image.MAX_IMAGE_PIXELS == 500


# ---------------------------------------------------------------------------------------------
# the real photos
# ---------------------------------------------------------------------------------------------
def test_all_shared_photos_load_with_their_upright_size(photos_dir):
    paths = sorted((photos_dir / "images").glob("*.jpg"))
    assert len(paths) == 38
    for path in paths:
        with Image.open(path) as im:
            width, height = im.size
            orientation = im.getexif().get(0x0112, 1)
        if orientation in (5, 6, 7, 8):
            width, height = height, width
        loaded = load_image(path)
        assert loaded.size == (width, height), path.name
        assert loaded.rgb.dtype == np.float32 and loaded.rgb.shape == (height, width, 3)
        assert 0.0 <= float(loaded.rgb.min()) and float(loaded.rgb.max()) <= 1.0
        assert loaded.path == str(path) and len(loaded.sha256) == 64


def test_shared_masks_load_at_image_size(photos_dir):
    masks = sorted((photos_dir / "masks").glob("*.png"))
    assert masks
    for mask_path in masks:
        with Image.open(photos_dir / "images" / f"{mask_path.stem}.jpg") as im:
            size = im.size
        mask = load_mask(mask_path, size=size)
        assert set(np.unique(mask)) <= {0.0, 1.0} and mask.max() == 1.0


# ---------------------------------------------------------------------------------------------
# masks, resizing
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("bits, tolerance", [(8, 0.5 / 255), (16, 0.5 / 65535)])
def test_save_gray_load_mask_round_trip(tmp_path, bits, tolerance):
    values = np.linspace(0, 1, 12, dtype=np.float32).reshape(3, 4)
    path = save_gray(tmp_path / "m.png", values, bits=bits)
    assert_allclose(load_mask(path, size=(4, 3)), values, atol=tolerance + 1e-7)
    with pytest.raises(InputError, match="expected 5x3"):
        load_mask(path, size=(5, 3))


def test_load_mask_uses_alpha_of_a_cutout(tmp_path):
    alpha = np.array([[0.0, 1.0], [0.5, 1.0]], np.float32)
    path = save_image(tmp_path / "c.png", np.full((2, 2, 3), 0.5, np.float32), alpha=alpha)
    assert_allclose(load_mask(path), float_to_uint8(alpha) / 255.0)


def test_load_mask_bad_files(tmp_path):
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(ImageLoadError, match="empty"):
        load_mask(tmp_path / "empty.png")
    with pytest.raises(ImageLoadError, match="does not exist"):
        load_mask(tmp_path / "missing.png")


def test_resize_linear_area_average_literal():
    image = np.array([[0, 1, 0, 0], [1, 0, 0, 0], [0.5, 0.5, 1, 1], [0.5, 0.5, 1, 1]], np.float32)
    assert_allclose(resize_linear(image, (2, 2)), [[0.5, 0.0], [0.5, 1.0]], atol=1e-6)
    up = resize_linear(np.random.default_rng(7).random((4, 6, 3)).astype(np.float32), (12, 8))
    assert up.shape == (8, 12, 3) and up.min() >= 0 and up.max() <= 1
    with pytest.raises(ValueError, match="positive"):
        resize_linear(image, (0, 2))


# ---------------------------------------------------------------------------------------------
# encoding and atomic writes
# ---------------------------------------------------------------------------------------------
def test_encode_image_checks_arguments():
    rgb = np.zeros((4, 4, 3), np.float32)
    with pytest.raises(ValueError, match="cannot store alpha"):
        encode_image(rgb, "JPEG", alpha=np.ones((4, 4), np.float32))
    with pytest.raises(ValueError, match="fmt"):
        encode_image(rgb, "GIF")
    with pytest.raises(ValueError, match="H x W x 3"):
        encode_image(rgb[..., 0], "PNG")
    with pytest.raises(ValueError, match="alpha"):
        encode_image(rgb, "PNG", alpha=np.ones((3, 4), np.float32))


def test_encoded_files_carry_srgb_profile_and_metadata():
    rgb = np.full((4, 4, 3), 0.5, np.float32)
    with Image.open(io.BytesIO(encode_image(rgb, "JPEG", exif=exif_bytes(1)))) as im:
        assert im.info["icc_profile"] == imaging.srgb_icc_bytes()
        assert im.getexif()[0x0112] == 1
    with Image.open(io.BytesIO(encode_image(rgb, "PNG", icc=False))) as im:
        assert "icc_profile" not in im.info


def test_embedded_srgb_profile_is_byte_stable():
    # lcms stamps a creation time into profiles it writes; the embedded one is pinned so that
    # the same image encodes to the same bytes in every run
    icc = imaging.srgb_icc_bytes()
    assert icc[24:36] == struct.pack(">6H", 2026, 1, 1, 0, 0, 0)
    assert ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc))).strip().startswith("sRGB")


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_atomic_writer_success_sets_normal_permissions(tmp_path):
    target = tmp_path / "sub" / "out.bin"
    atomic_write_bytes(target, b"abc")
    assert target.read_bytes() == b"abc" and _leftovers(target.parent) == []
    umask = os.umask(0)
    os.umask(umask)
    assert (target.stat().st_mode & 0o777) == (0o666 & ~umask)
    atomic_write_text(tmp_path / "t.txt", "grüße")
    assert (tmp_path / "t.txt").read_bytes() == "grüße".encode()


def test_atomic_writer_failure_leaves_old_file_and_no_temp(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old content")
    with pytest.raises(RuntimeError):
        with atomic_writer(target) as f:
            f.write(b"half of the new")
            raise RuntimeError("crash while writing")
    assert target.read_bytes() == b"old content"
    assert _leftovers(tmp_path) == []
    fresh = tmp_path / "fresh.bin"
    with pytest.raises(KeyboardInterrupt):
        with atomic_writer(fresh) as f:
            f.write(b"partial")
            raise KeyboardInterrupt
    assert not fresh.exists() and _leftovers(tmp_path) == []


def test_atomic_writer_text_mode_and_bad_mode(tmp_path):
    with atomic_writer(tmp_path / "a.txt", "w") as f:
        f.write("é")
    assert (tmp_path / "a.txt").read_text(encoding="utf-8") == "é"
    with pytest.raises(ValueError, match="write mode"):
        with atomic_writer(tmp_path / "b.txt", "r"):
            pass


def test_save_image_failures_leave_nothing(tmp_path):
    with pytest.raises(InputError, match="unsupported output suffix"):
        save_image(tmp_path / "x.gif", np.zeros((2, 2, 3), np.float32))
    with pytest.raises(ValueError):
        save_image(tmp_path / "x.jpg", np.zeros((2, 2, 3), np.float32), alpha=np.ones((2, 2), np.float32))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".webp", ".tif", ".bmp"])
def test_save_image_then_load_image(tmp_path, suffix):
    ramp = np.linspace(0.1, 0.9, 24, dtype=np.float32)
    rgb = srgb8_to_linear(linear_to_srgb8(np.dstack([np.tile(ramp, (16, 1))] * 2 + [np.full((16, 24), 0.4)])))
    path = save_image(tmp_path / f"img{suffix}", rgb, quality=100)
    loaded = load_image(path)
    assert loaded.size == (24, 16)
    error = np.abs(to8(loaded).astype(int) - linear_to_srgb8(rgb, dither=False).astype(int))
    assert error.max() == 0 if suffix in (".png", ".tif", ".bmp") else error.mean() < 2


def test_image_size_reads_the_header_after_exif_rotation(tmp_path):
    from PIL import Image

    from packshot.errors import ImageLoadError
    from packshot.imaging import image_size, load_image

    img = Image.new("RGB", (40, 20), (10, 20, 30))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated a quarter turn
    img.save(tmp_path / "r.jpg", exif=exif)
    assert image_size(tmp_path / "r.jpg") == (20, 40) == load_image(tmp_path / "r.jpg").rgb.shape[1::-1]
    (tmp_path / "bad.jpg").write_bytes(b"not an image")
    with pytest.raises(ImageLoadError):
        image_size(tmp_path / "bad.jpg")
    with pytest.raises(ImageLoadError):
        image_size(tmp_path / "r.jpg", max_pixels=100)
