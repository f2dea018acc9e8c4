"""Exported files: sRGB ICC, provenance XMP / IPTC written and read back, private metadata stripped."""

from __future__ import annotations

import io
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from packshot import __version__
from packshot.errors import ImageLoadError, InputError
from packshot.export.delivery.deliver import export_frames, linear_to_srgb8_fast
from packshot.export.delivery.metadata import (
    DIGITAL_SOURCE_TYPES,
    ExportMetadata,
    build_xmp,
    digital_source_type,
    encode_with_metadata,
    provenance_digest,
    read_metadata,
)
from packshot.export.compliance.profiles import Profile
from packshot.imaging import linear_to_srgb8, resize_linear

IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"


def _rgb8(seed: int = 0, size=(48, 64)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(size[0], size[1], 3), dtype=np.uint8)


def contain_on_white(rgb, alpha, profile):
    """A stand-in fixer for these tests: fit the frame into the profile's size on white."""
    w, h = profile.size
    H, W = rgb.shape[:2]
    s = min(w / W, h / H)
    nw, nh = max(1, round(W * s)), max(1, round(H * s))
    out = np.ones((h, w, 3), np.float32)
    x0, y0 = (w - nw) // 2, (h - nh) // 2
    out[y0:y0 + nh, x0:x0 + nw] = resize_linear(rgb, (nw, nh))
    return SimpleNamespace(rgb=out, alpha=None, provenance={"fixer": "contain-on-white"}, upscaled=s > 1)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
@pytest.mark.parametrize(
    "kind, dst",
    [("diffusion", "compositeWithTrainedAlgorithmicMedia"), ("embedded", "compositeSynthetic"), ("capture", "digitalCapture")],
)
def test_metadata_round_trips_per_kind_and_format(fmt, kind, dst):
    digest = provenance_digest({"stage": "export", "kind": kind})
    meta = ExportMetadata(source_kind=kind, provenance_digest=digest, sku="SKU <&> \"1\"", scene="studio",
                          variant="2", profile="amazon-main", upscaled=True)
    data = encode_with_metadata(_rgb8(), fmt, meta, quality=90)
    read = read_metadata(data)
    assert read.format == fmt
    assert read.digital_source_type == IPTC + dst
    assert read.creator_tool == f"packshot {__version__}"
    assert read.provenance_digest == digest and digest.startswith("sha256:") and len(digest) == 71
    assert read.has_srgb_icc, read.icc_description
    assert read.xmp_fields["packshot:SKU"] == 'SKU <&> "1"'
    assert read.xmp_fields["packshot:Upscaled"] == "True"
    assert read.exif == {} and read.gps == {}
    if fmt == "JPEG":  # IIM where the format has a home for it
        assert read.iptc["2:65"] == "packshot" and read.iptc["2:70"] == __version__
    else:
        assert read.iptc == {}


def test_encoding_is_deterministic_and_pixels_survive():
    meta = ExportMetadata("embedded", "sha256:" + "0" * 64)
    rgb8 = _rgb8(3)
    a = encode_with_metadata(rgb8, "PNG", meta)
    assert a == encode_with_metadata(rgb8, "PNG", meta)
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(a)).convert("RGB")), rgb8)


def test_alpha_only_where_the_format_has_it():
    meta = ExportMetadata("capture", "sha256:" + "0" * 64)
    alpha = np.full((48, 64), 128, np.uint8)
    assert read_metadata(encode_with_metadata(_rgb8(), "PNG", meta, alpha8=alpha)).mode == "RGBA"
    with pytest.raises(ValueError, match="JPEG cannot store alpha"):
        encode_with_metadata(_rgb8(), "JPEG", meta, alpha8=alpha)


def test_unknown_kind_and_format_are_refused():
    with pytest.raises(InputError, match="source_kind"):
        digital_source_type("painted")
    with pytest.raises(InputError, match="format"):
        encode_with_metadata(_rgb8(), "GIF", ExportMetadata("capture", "sha256:x"))


def test_xmp_is_well_formed_and_names_the_iptc_namespace():
    import xml.etree.ElementTree as ET

    xmp = build_xmp(ExportMetadata("diffusion", "sha256:ab", sku="a&b")).decode("utf-8")
    start, end = xmp.index("<x:xmpmeta"), xmp.index("</x:xmpmeta>") + len("</x:xmpmeta>")
    ET.fromstring(xmp[start:end])  # raises when not well-formed
    assert 'xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"' in xmp
    assert set(DIGITAL_SOURCE_TYPES) == {"diffusion", "embedded", "capture"}


def test_read_metadata_names_a_file_that_is_not_an_image(tmp_path):
    bad = tmp_path / "notes.jpg"
    bad.write_text("hello")
    with pytest.raises(ImageLoadError, match="notes.jpg"):
        read_metadata(bad)


def test_export_converts_to_srgb_through_imaging():
    """One sRGB table: export's 8-bit conversion is packshot.imaging's (tested in test_imaging_package)."""
    import packshot.export.delivery.encode as encode
    import packshot.imaging as imaging

    assert encode.linear_to_srgb8_fast is imaging.linear_to_srgb8_fast is linear_to_srgb8_fast
    rng = np.random.default_rng(0)
    linear = (rng.random((67, 45, 3), dtype=np.float32) ** 2.2).astype(np.float32)
    diff = linear_to_srgb8_fast(linear).astype(int) - linear_to_srgb8(linear).astype(int)
    assert np.abs(diff).max() <= 1


# ------------------------------------------------------------------------------------------------
# private metadata of a source never reaches an export
# ------------------------------------------------------------------------------------------------
def _exif_with_private_data() -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "Canon"  # Make
    exif[0x0110] = "Canon EOS R5"  # Model
    exif[0x013B] = "Jane Photographer"  # Artist
    ifd = exif.get_ifd(0x8769)
    ifd[0xA431] = "SERIAL-0042"  # BodySerialNumber
    ifd[0xA430] = "Jane Photographer"  # CameraOwnerName
    ifd[0x927C] = b"MAKERNOTE-SECRET"  # MakerNote
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (51.0, 30.0, 0.0)
    gps[3] = "W"
    gps[4] = (0.0, 7.0, 0.0)
    return exif


def _assert_no_private_data(data: bytes):
    read = read_metadata(data)
    assert read.exif == {} and read.gps == {}
    for secret in (b"Exif\x00\x00", b"SERIAL-0042", b"Jane Photographer", b"MAKERNOTE-SECRET", b"Canon"):
        assert secret not in data
    assert read.digital_source_type is not None and read.has_srgb_icc


def test_real_photo_with_gps_loses_it_on_export(photos_dir, tmp_path):
    source = photos_dir / "images" / "apc15_spark_plug.jpg"
    src = read_metadata(source)
    assert src.gps, "the test photo is expected to carry GPS"  # so this test can fail
    thumb = Profile(name="thumb", size=(240, 240), formats=("JPEG",))
    result = export_frames([source], [thumb], tmp_path / "out", fixer=contain_on_white)
    assert result.ok, result.failures
    (out,) = result.files
    data = (tmp_path / "out" / out.path).read_bytes()
    _assert_no_private_data(data)
    assert read_metadata(data).digital_source_type == IPTC + "digitalCapture"


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_frame_with_private_exif_loses_it_on_export(tmp_path, fmt):
    # A cut-out PNG that carries EXIF with GPS, serial number, owner and maker notes.
    rgba = np.zeros((80, 60, 4), np.uint8)
    rgba[10:70, 10:50] = (200, 40, 40, 255)
    src = tmp_path / "cutout.png"
    Image.fromarray(rgba, "RGBA").save(src, exif=_exif_with_private_data())
    assert read_metadata(src).gps  # the source really has it
    profile = Profile(name="t", size=(64, 64), formats=(fmt,))
    result = export_frames([src], [profile], tmp_path / "out", fixer=contain_on_white)
    assert result.ok, result.failures
    _assert_no_private_data((tmp_path / "out" / result.files[0].path).read_bytes())
