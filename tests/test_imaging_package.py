"""The helpers packshot.imaging offers to the rest of packshot (colour, LUTs, encoders, header
readers, resize) and the shared provenance helpers: each one gives exactly what the code it
replaced gave."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

import packshot.imaging as imaging
from packshot.errors import ImageLoadError, ImageTooLargeError
from packshot.imaging import (LUMINANCE_WEIGHTS, RGB_TO_XYZ, block_mean_linear, decode_image, decode_raw,
                              dlinear_dsrgb, encode_image, encode_png, encode_srgb8, icc_description,
                              linear_to_srgb8, linear_to_srgb8_fast, load_alpha8_reduced, load_mask, luminance,
                              nearest_srgb8, open_image, shrink_to_long_side, srgb8_to_linear, srgb_icc_bytes,
                              srgb_to_linear, to_pil)
from packshot.provenance import json_default, sha256_array


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def _pil_bytes(img: Image.Image, fmt: str, **kwargs) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kwargs)
    return buf.getvalue()


# --------------------------------------------------------------------------------------- colour
def test_every_public_name_of_the_old_module_is_still_there():
    old = ["DEFAULT_MAX_PIXELS", "MAX_DOCUMENT_BYTES", "MAX_IMAGE_BYTES", "MAX_PIXELS_CEILING", "SUPPORTED_SUFFIXES",
           "TEMP_NAME_OVERHEAD", "WORKING_PIXELS", "LoadedImage", "WorkingImage", "atomic_write_bytes",
           "atomic_write_text", "atomic_writer", "block_mean_linear", "check_max_pixels", "check_output_name",
           "clean_temp_files", "decode_image", "delta_e2000", "encode_image", "float_to_uint8", "image_size",
           "is_temp_file", "lab_to_linear", "linear_to_lab", "linear_to_srgb", "linear_to_srgb8", "load_image",
           "load_image_working", "load_mask", "luminance", "pillow_heif", "read_bounded", "resize_linear",
           "save_gray", "save_image", "srgb8_to_linear", "srgb_icc_bytes", "srgb_to_linear", "to_pil",
           "uint8_to_float", "working_factor"]
    missing = [n for n in old if not hasattr(imaging, n)]
    assert not missing
    assert set(old) <= set(imaging.__all__)


def test_srgb_to_linear_unclipped_follows_the_curve_outside_0_1():
    x = np.linspace(0.0, 1.0, 101, dtype=np.float32)
    assert np.array_equal(srgb_to_linear(x, clip=False), srgb_to_linear(x))
    out = srgb_to_linear(np.array([-0.1, 1.1], np.float32), clip=False)
    assert out[0] == pytest.approx(-0.1 / 12.92, rel=1e-6)
    assert out[1] == pytest.approx(((1.1 + 0.055) / 1.055) ** 2.4, rel=1e-6)
    assert srgb_to_linear(np.array([-0.1, 1.1], np.float32)).tolist() == [0.0, 1.0]
    # computed in the input's precision, returned as float32
    x64 = np.array([0.3, 0.7])
    expected = (((x64 + 0.055) / 1.055) ** 2.4).astype(np.float32)
    assert np.array_equal(srgb_to_linear(x64, clip=False), expected)
    with pytest.raises(ValueError, match="srgb8_to_linear"):
        srgb_to_linear(np.array([1, 2], np.uint8), clip=False)


def test_luminance_and_xyz_constants():
    rgb = _rng().random((5, 7, 3)).astype(np.float32)
    assert np.array_equal(luminance(rgb), (rgb @ LUMINANCE_WEIGHTS.astype(np.float32)).astype(np.float32))
    assert LUMINANCE_WEIGHTS.sum() == pytest.approx(1.0)
    assert RGB_TO_XYZ[1].tolist() == pytest.approx(LUMINANCE_WEIGHTS.tolist(), abs=1e-4)  # Y row = luminance
    assert RGB_TO_XYZ.dtype == np.float64
    for const in (LUMINANCE_WEIGHTS, RGB_TO_XYZ):
        with pytest.raises(ValueError):
            const[0] = 1.0  # read-only: nobody can change the conventions by accident


def test_dlinear_dsrgb_is_the_slope_of_the_curve():
    s = np.linspace(0.05, 0.95, 50)
    h = 1e-3
    true = (srgb_to_linear(s + h).astype(np.float64) - srgb_to_linear(s - h).astype(np.float64)) / (2 * h)
    approx = dlinear_dsrgb(srgb_to_linear(s))
    assert approx.shape == s.shape and approx.dtype == np.float32
    assert np.all(np.abs(approx / true - 1) < 0.08)
    assert dlinear_dsrgb(np.zeros((2, 3), np.float32)).tolist() == [[pytest.approx(1 / 12.92)] * 3] * 2


# ------------------------------------------------------------------------------------------ LUTs
def _reference_dithered(linear: np.ndarray) -> np.ndarray:
    """export.deliver's table encode as it was written there (numpy path)."""
    size = 1 << 14
    nodes = np.minimum((np.arange(size, dtype=np.float32) + 0.5) / (size - 1), 1.0)
    lut = np.rint(imaging.linear_to_srgb(nodes) * 255.0 * 32.0).astype(np.uint16)
    bayer = (2 * np.array([[0, 8, 2, 10], [12, 4, 14, 6], [3, 11, 1, 9], [15, 7, 13, 5]]) + 1).astype(np.uint16)
    h, w = linear.shape[:2]
    index = np.clip(np.nan_to_num(linear * np.float32(size - 1), nan=0.0), 0.0, float(size - 1)).astype(np.uint16)
    values = lut[index]
    values += np.tile(bayer, (h // 4 + 1, w // 4 + 1))[:h, :w, None]
    values >>= 5
    return values.astype(np.uint8)


def test_fast_dithered_encode_matches_the_table_and_the_exact_encode():
    from packshot.imaging import lut

    linear = _rng(1).random((37, 53, 3)).astype(np.float32)
    linear[0, 0] = (-0.5, 1.5, np.nan)
    fast = linear_to_srgb8_fast(linear)
    assert np.array_equal(fast, _reference_dithered(linear))
    assert np.array_equal(fast, lut._dithered_numpy(np.ascontiguousarray(linear)))  # compiled == numpy path
    exact = linear_to_srgb8(np.nan_to_num(linear), dither=True).astype(int)
    assert np.abs(fast.astype(int) - exact)[1:].max() <= 1
    assert np.array_equal(linear_to_srgb8_fast(linear[..., 0]), fast[..., 0])  # H x W input


def test_fast_plain_encode_is_the_nearest_table_step():
    x = np.linspace(-0.2, 1.2, 4001, dtype=np.float32).reshape(1, -1, 1).repeat(3, axis=2)
    fast = linear_to_srgb8_fast(x, dither=False).astype(int)
    exact = linear_to_srgb8(x, dither=False).astype(int)
    assert np.abs(fast - exact).max() <= 1
    assert fast[0, 0, 0] == 0 and fast[0, -1, 0] == 255


def test_nearest_srgb8_gives_back_the_codes_of_decoded_values():
    codes = np.arange(256, dtype=np.uint8)
    assert np.array_equal(nearest_srgb8(srgb8_to_linear(codes)), codes)
    rgb8 = _rng(3).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    lin = srgb8_to_linear(rgb8)
    assert np.array_equal(nearest_srgb8(lin), linear_to_srgb8(lin, dither=False))


# -------------------------------------------------------------------------------------- encoders
@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "TIFF", "BMP"])
def test_encode_srgb8_is_encode_image_on_8_bit_pixels(fmt):
    rgb = _rng(4).random((24, 40, 3)).astype(np.float32)
    rgb8 = linear_to_srgb8(rgb, dither=True)
    assert encode_srgb8(rgb8, fmt) == encode_image(rgb, fmt)
    if fmt in ("PNG", "WEBP", "TIFF"):
        alpha = _rng(5).random((24, 40)).astype(np.float32)
        alpha8 = imaging.float_to_uint8(alpha)
        assert encode_srgb8(rgb8, fmt, alpha8) == encode_image(rgb, fmt, alpha=alpha)
    if fmt in ("JPEG", "PNG", "WEBP"):
        xmp = b"<x:xmpmeta xmlns:x='adobe:ns:meta/'/>"
        assert encode_srgb8(rgb8, fmt, xmp=xmp, quality=80) == encode_image(rgb, fmt, xmp=xmp, quality=80)


def test_encode_srgb8_matches_pillow_with_exports_settings():
    rgb8 = _rng(6).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    img = Image.fromarray(rgb8, "RGB")
    extra = b"\xff\xe1\x00\x08test\x00\x00"
    want = _pil_bytes(img, "JPEG", quality=85, subsampling=2, optimize=False, icc_profile=srgb_icc_bytes(),
                      extra=extra)
    assert encode_srgb8(rgb8, "JPEG", quality=85, optimize=False, jpeg_extra=extra) == want
    want = _pil_bytes(img, "WEBP", quality=70, method=4, icc_profile=srgb_icc_bytes(), xmp=b"<x/>", exif=b"")
    assert encode_srgb8(rgb8, "WEBP", quality=70, xmp=b"<x/>") == want
    with pytest.raises(ValueError, match="cannot store alpha"):
        encode_srgb8(rgb8, "JPEG", alpha8=np.zeros((16, 16), np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        encode_srgb8(rgb8.astype(np.float32), "PNG")


@pytest.mark.parametrize("kind", ["L", "RGB", "RGBA", "I;16", "pil"])
def test_encode_png_is_what_pillow_writes(kind):
    rng = _rng(7)
    shape = {"L": (9, 11), "RGB": (9, 11, 3), "RGBA": (9, 11, 4), "I;16": (9, 11), "pil": (9, 11, 3)}[kind]
    dtype = np.uint16 if kind == "I;16" else np.uint8
    a = rng.integers(0, np.iinfo(dtype).max, shape, dtype=dtype)
    img = Image.fromarray(a)
    pixels = img if kind == "pil" else a
    assert encode_png(pixels) == _pil_bytes(img, "PNG")
    assert encode_png(pixels, compress_level=6) == _pil_bytes(img, "PNG")
    info = PngImagePlugin.PngInfo()
    info.add_itxt("packshot:test", json.dumps({"a": 1}))
    want = _pil_bytes(img, "PNG", pnginfo=info, icc_profile=srgb_icc_bytes(), compress_level=1)
    assert encode_png(pixels, icc=True, text={"packshot:test": json.dumps({"a": 1})}, compress_level=1) == want
    back = decode_raw(encode_png(pixels), "x.png", "map file")
    assert back.dtype == dtype and np.array_equal(back, a)


def test_encode_png_refuses_float():
    with pytest.raises(ValueError, match="uint8"):
        encode_png(np.zeros((4, 4), np.float32))


def test_save_gray_bytes_unchanged(tmp_path):
    v = _rng(8).random((13, 17)).astype(np.float32)
    p8 = imaging.save_gray(tmp_path / "a8.png", v)
    p16 = imaging.save_gray(tmp_path / "a16.png", v, bits=16)
    assert p8.read_bytes() == _pil_bytes(Image.fromarray(imaging.float_to_uint8(v), "L"), "PNG")
    assert p16.read_bytes() == _pil_bytes(Image.fromarray(np.rint(v * 65535).astype(np.uint16)), "PNG")


# ------------------------------------------------------------------------------- header readers
def test_open_image_reads_the_header_and_names_the_file():
    data = encode_png(np.zeros((5, 7, 4), np.uint8), icc=True, text={"k": "v"})
    with open_image(data, "cut.png") as im:
        assert im.size == (7, 5) and "A" in im.getbands() and im.text["k"] == "v"
        assert icc_description(im.info.get("icc_profile"))
    with pytest.raises(ImageLoadError, match="cut.txt: not an image file: it contains text"):
        with open_image(b"hello there, not an image", "cut.txt"):
            pass


def test_open_image_turns_pillows_bomb_guard_into_too_large(monkeypatch):
    data = encode_png(np.zeros((64, 64), np.uint8))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # 4096 pixels > 2 x 100: Pillow refuses
    with pytest.raises(ImageTooLargeError, match="big.png"):
        with open_image(data, "big.png"):
            pass


def test_icc_description():
    assert "sRGB" in icc_description(srgb_icc_bytes())
    assert icc_description(None) is None and icc_description(b"") is None
    assert icc_description(b"not a profile at all" * 10) == "<unreadable ICC profile>"


def test_decode_raw_error_names_the_file_and_what_it_is():
    with pytest.raises(ImageLoadError, match=r"depth.png: map file cannot be decoded"):
        decode_raw(b"\x89PNG\r\n\x1a\n broken", Path("depth.png"), "map file")


def test_load_alpha8_reduced(tmp_path):
    a = _rng(9).random((40, 60)).astype(np.float32)
    p = imaging.save_gray(tmp_path / "alpha.png", a)
    want = block_mean_linear(load_mask(p), 4)
    got = load_alpha8_reduced(p, (60, 40), 4)
    assert got is not None and np.allclose(got, want, atol=1e-6)
    assert load_alpha8_reduced(p, (61, 40), 4) is None  # wrong size
    rgb = tmp_path / "rgb.png"
    rgb.write_bytes(encode_png(np.zeros((40, 60, 3), np.uint8)))
    assert load_alpha8_reduced(rgb, (60, 40), 4) is None  # not a grey mask
    assert load_alpha8_reduced(tmp_path / "missing.png", (60, 40), 4) is None


def test_to_pil_and_decode_round_trip_unchanged():
    rgb8 = _rng(10).integers(0, 256, (6, 8, 3), dtype=np.uint8)
    loaded = decode_image(encode_png(rgb8), "x.png")
    assert np.array_equal(np.asarray(to_pil(loaded.rgb)), rgb8)


# ---------------------------------------------------------------------------------------- resize
def test_shrink_to_long_side():
    import cv2

    a = _rng(11).random((30, 50, 3)).astype(np.float32)
    assert shrink_to_long_side(a, 50) is a and shrink_to_long_side(a, 80) is a
    out = shrink_to_long_side(a, 20)
    assert out.shape == (12, 20, 3)
    assert np.array_equal(out, cv2.resize(a, (20, 12), interpolation=cv2.INTER_AREA))
    thin = np.zeros((4, 400), np.float32)
    assert shrink_to_long_side(thin, 40).shape == (1, 40)
    assert shrink_to_long_side(thin, 40, min_side=8).shape == (8, 40)
    near = shrink_to_long_side(a, 20, interpolation=cv2.INTER_NEAREST)
    assert np.array_equal(near, cv2.resize(a, (20, 12), interpolation=cv2.INTER_NEAREST))


# ------------------------------------------------------------------------------------ provenance
@pytest.mark.parametrize("array", [
    np.arange(24, dtype=np.float32).reshape(2, 3, 4),
    np.arange(24, dtype=np.uint8).reshape(4, 6)[:, ::2],  # not contiguous
    np.array([True, False]),
    np.zeros((0, 3), np.float64),
    np.array(3.5),
    np.array(["2026-01-01"], dtype="datetime64[D]"),
])
def test_sha256_array_is_dtype_shape_and_bytes(array):
    a = np.ascontiguousarray(array)
    h = hashlib.sha256()
    h.update(str(a.dtype).encode())
    h.update(str(a.shape).encode())
    h.update(a.tobytes())
    assert sha256_array(array) == h.hexdigest()


def test_json_default():
    value = {"f": np.float32(0.5), "i": np.int64(3), "b": np.bool_(True), "a": np.arange(3), "p": Path("/x/y"),
             "s": {2}, "t": (1, np.float64(2.0))}
    assert json.loads(json.dumps(value, default=json_default)) == {"f": 0.5, "i": 3, "b": True, "a": [0, 1, 2],
                                                                    "p": "/x/y", "s": [2], "t": [1, 2.0]}


def test_working_pixels_knob_is_read_from_the_package(tmp_path, monkeypatch):
    p = tmp_path / "photo.png"
    p.write_bytes(encode_png(_rng(12).integers(0, 256, (40, 60, 3), dtype=np.uint8)))
    assert imaging.load_image_working(p).factor == 1
    monkeypatch.setattr(imaging, "WORKING_PIXELS", 599)  # 30 x 20 at 1/2 is one too many
    assert imaging.load_image_working(p).factor == 3


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
@pytest.mark.parametrize("with_alpha", [False, True])
def test_encode_srgb8_reproduces_exports_metadata_encoder(fmt, with_alpha):
    """What export/metadata.py's encoder should call (issue 9): the same bytes as its own Pillow calls."""
    from packshot.export import metadata

    if fmt == "JPEG" and with_alpha:
        pytest.skip("JPEG has no alpha")
    if not hasattr(metadata, "_xmp_app1"):
        pytest.skip("export's metadata encoder changed: it calls packshot.imaging.encode_srgb8 now")
    meta = metadata.ExportMetadata("embedded", "sha256:" + "0" * 64, sku="S1", alt_text="a box")
    rgb8 = _rng(13).integers(0, 256, (20, 24, 3), dtype=np.uint8)
    alpha8 = _rng(14).integers(0, 256, (20, 24), dtype=np.uint8) if with_alpha else None
    want = metadata.encode_with_metadata(rgb8, fmt, meta, quality=88, alpha8=alpha8, optimize=True)
    xmp = metadata.build_xmp(meta)
    if fmt == "JPEG":
        got = encode_srgb8(rgb8, "JPEG", quality=88, optimize=True,
                           jpeg_extra=metadata._xmp_app1(xmp) + metadata.build_iptc_app13(meta))
    else:
        got = encode_srgb8(rgb8, fmt, alpha8, quality=88, xmp=xmp)
    assert got == want


def test_encode_within_bytes_steps_quality_down_to_the_floor():
    from packshot.imaging import OverByteLimit, encode_within_bytes

    rgb = _rng(15).random((48, 48, 3)).astype(np.float32)
    tried = []

    def encode(q):
        tried.append(q)
        return encode_image(rgb, "JPEG", quality=q)

    big = len(encode(92))
    small = len(encode(60))
    tried.clear()
    data, q = encode_within_bytes(encode, (big + small) // 2, 92, 50, step=4)
    assert len(data) <= (big + small) // 2 and q == tried[-1] and tried[:2] == [92, 88] and q < 92
    assert encode_within_bytes(encode, None, 92, 50) == (encode(92), 92)
    with pytest.raises(OverByteLimit) as err:
        encode_within_bytes(encode, 10, 92, 70, step=5)
    assert err.value.quality == 72 and err.value.max_bytes == 10 and "even at quality 72" in str(err.value)
    png = []
    with pytest.raises(OverByteLimit):
        encode_within_bytes(lambda q: png.append(q) or encode_image(rgb, "PNG"), 10, None, 50)
    assert png == [None]  # lossless: one try


def test_resize_linear_unclipped_is_exports_resize():
    """export/fixer.py's _resize (issue 9: it should call resize_linear(..., clip=False))."""
    import cv2

    from packshot.imaging import resize_linear

    a = _rng(16).random((30, 40, 3)).astype(np.float32)
    for size in ((20, 15), (80, 60), (40, 30), (50, 20)):
        shrink = size[0] <= 40 and size[1] <= 30
        want = cv2.resize(a, size, interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)
        assert np.array_equal(resize_linear(a, size, clip=False), want)
        assert np.array_equal(resize_linear(a, size), np.clip(want, 0.0, 1.0))
    assert resize_linear(a, (80, 60), clip=False).max() > 1.0  # bicubic overshoot kept


def test_nearest_srgb8_is_byte_identical_to_exports_while_export_has_its_own():
    from packshot.export import check

    if not hasattr(check, "_to_srgb8"):
        pytest.skip("export now calls packshot.imaging.nearest_srgb8 itself")
    lin = _rng(17).random((33, 41, 3)).astype(np.float32)
    lin[0, 0] = (-0.1, 1.2, 0.0)
    assert np.array_equal(nearest_srgb8(lin), check._to_srgb8(lin))
