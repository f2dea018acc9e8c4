"""Compliance check: every rule measured, each failure caught with a message a user can act on."""

from __future__ import annotations

import io
import json
import re

import numpy as np
import pytest
from PIL import Image, ImageCms, ImageDraw, ImageFilter
from typer.testing import CliRunner

from packshot.cli import app
from packshot.errors import ImageLoadError, InputError
from packshot.export.compliance.check import RULES, check_image, estimate_jpeg_quality
from packshot.export.compliance.profiles import get_profile, profile_from_dict
from packshot.imaging import encode_image, save_gray, srgb8_to_linear
from packshot.samples import font, make_product

SUPER = 4


def product_frame(size=(600, 600), fill=0.88, bg=(255, 255, 255), colour=(40, 90, 160), centre=None):
    """uint8 sRGB frame with a rounded product whose box fills ``fill`` of the frame, and its alpha."""
    w, h = size
    side = fill * min(w, h)
    cx, cy = centre or (w / 2, h / 2)
    mask = Image.new("L", (w * SUPER, h * SUPER), 0)
    box = [(cx - side * 0.35) * SUPER, (cy - side / 2) * SUPER, (cx + side * 0.35) * SUPER, (cy + side / 2) * SUPER]
    ImageDraw.Draw(mask).rounded_rectangle(box, radius=side * 0.08 * SUPER, fill=255)
    alpha = np.asarray(mask.resize((w, h), Image.BOX), np.float32) / 255.0
    frame = np.empty((h, w, 3), np.float32)
    frame[:] = np.array(bg, np.float32)
    frame = frame * (1 - alpha[..., None]) + np.array(colour, np.float32) * alpha[..., None]
    return np.clip(np.rint(frame), 0, 255).astype(np.uint8), alpha


def jpeg(srgb8, quality=95):
    return encode_image(srgb8_to_linear(srgb8), "JPEG", quality=quality)


def png(srgb8, alpha=None):
    return encode_image(srgb8_to_linear(srgb8), "PNG", alpha=alpha)


def test_a_compliant_frame_passes_and_every_rule_is_listed():
    frame, alpha = product_frame()
    data = jpeg(frame)
    for a in (alpha, None):
        report = check_image(data, "amazon-main", product_alpha=a)
        assert report.passed, report.failures
        assert tuple(r.rule for r in report.rules) == RULES
        assert report.rule("fill").measured == pytest.approx(0.88, abs=0.01)
        assert report.rule("background").measured < 1e-4  # a stray JPEG-rounded pixel at most
        assert report.rule("edge-clearance").measured == 0
        # 600 px is above Amazon's 500 px minimum but below the 1000 px zoom recommendation
        assert report.rule("recommended-size").status == "warn"
        assert report.rule("shortest-side").status == "skip"
    assert report.product_region == "estimated"
    doc = report.to_dict()
    assert doc["passed"] and len(doc["rules"]) == len(RULES)
    json.dumps(doc)


def test_grey_background_fails():
    frame, alpha = product_frame(bg=(200, 200, 200))
    for a in (alpha, None):
        r = check_image(jpeg(frame), "amazon-main", product_alpha=a).rule("background")
        assert r.status == "fail" and r.measured > 0.99
        assert "not pure white RGB 255" in r.message and "(200, 200, 200)" in r.message


def test_near_white_residue_and_halo_fail_when_the_alpha_is_known():
    frame, alpha = product_frame()
    grown = Image.fromarray((alpha > 0.01).astype(np.uint8) * 255).filter(ImageFilter.MaxFilter(9))
    halo = (np.asarray(grown) > 0) & (alpha <= 0.0)
    frame[halo] = (246, 246, 246)  # an off-white ring left by a sloppy cut-out
    r = check_image(png(frame), "amazon-main", product_alpha=alpha).rule("background")
    assert r.status == "fail" and "near-white residue" in r.message
    speck = product_frame()[0]
    speck[20:60, 20:60] = 252  # a residue blotch far from the product is caught without alpha too
    r = check_image(png(speck), "amazon-main").rule("background")
    assert r.status == "fail"


def test_fill_of_70_percent_fails():
    frame, alpha = product_frame(fill=0.70)
    report = check_image(jpeg(frame), "amazon-main")
    r = report.rule("fill")
    assert r.status == "fail" and r.measured == pytest.approx(0.70, abs=0.01)
    assert re.search(r"fills 70\.\d% of the frame, below 85%", r.message), r.message
    assert [f.rule for f in report.failures] == ["fill"]


def test_a_400_px_image_fails_the_size_rule():
    frame, _ = product_frame(size=(400, 400))
    report = check_image(jpeg(frame), "amazon-main")
    r = report.rule("longest-side")
    assert r.status == "fail" and r.measured == 400 and "400 px" in r.message and ">= 500" in r.message
    assert report.rule("recommended-size").status == "warn"
    assert not report.passed


def test_png_with_alpha_for_a_jpeg_only_profile_fails(tmp_path):
    jpeg_only = tmp_path / "jpeg-only.yaml"
    jpeg_only.write_text("extends: amazon-main\nformats: [JPEG]\n")
    frame, alpha = product_frame()
    data = png(frame, alpha=alpha)  # transparent around the product
    report = check_image(data, str(jpeg_only), product_alpha=alpha)
    fmt, transparency = report.rule("format"), report.rule("transparency")
    assert fmt.status == "fail" and fmt.measured == "PNG" and "save as JPEG" in fmt.message
    assert transparency.status == "fail" and "transparent" in transparency.message
    assert report.profile == "jpeg-only"


def test_a_file_over_the_byte_limit_fails():
    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (600, 600, 3), dtype=np.uint8)).save(buf, "JPEG", quality=95)
    data = buf.getvalue()
    limited = profile_from_dict({"name": "small-files", "extends": "etsy", "max_bytes": 50_000,
                                 "min_longest_side": None, "recommended_longest_side": None})
    r = check_image(data, limited).rule("file-size")
    assert r.status == "fail" and r.measured == len(data) > 50_000
    assert "over the limit of 50,000 bytes" in r.message
    assert check_image(jpeg(product_frame()[0]), limited).rule("file-size").status == "pass"


def test_text_in_the_background_fails():
    frame, alpha = product_frame(fill=0.75)
    img = Image.fromarray(frame)
    ImageDraw.Draw(img).text((150, 535), "SALE 50% OFF", font=font(40), fill=(200, 20, 20))
    frame = np.asarray(img)
    report = check_image(jpeg(frame), "amazon-main", product_alpha=alpha)
    text = report.rule("text")
    assert text.status == "fail" and text.measured >= 1
    assert "SALE" in text.message and "in the background" in text.message
    assert report.rule("background").status == "fail"  # the letters are not white either
    # without the alpha the letters are too small to be product: still caught
    assert check_image(jpeg(frame), "amazon-main").rule("text").status == "fail"


def test_label_text_on_the_product_is_not_added_text():
    # a studio backdrop that is not plain (so OCR runs) and a product with a printed label
    sample = make_product("box", seed=3, size=(512, 512), backdrop="grey")
    data = encode_image(sample.image, "JPEG", quality=95)
    report = check_image(data, "google-shopping", product_alpha=sample.mask)
    assert report.rule("text").status == "pass", report.details
    assert report.rule("text").message.startswith("read by OCR")


def test_shadow_cut_by_the_frame_edge_fails():
    frame, _ = product_frame(fill=0.86)
    frame[585:, 150:450] = (190, 190, 190)  # a floor shadow running out of the frame
    r = check_image(jpeg(frame), "amazon-main").rule("edge-clearance")
    assert r.status == "fail" and r.measured >= 300 and "bottom" in r.message


def test_meta_story_safe_zone():
    frame, alpha = product_frame(size=(1080, 1920), fill=0.5, colour=(30, 30, 30), centre=(540, 400))
    r = check_image(jpeg(frame), "meta-story", product_alpha=alpha).rule("safe-zone")
    assert r.status == "fail" and "at the top" in r.message and r.measured["top"] > 0
    frame, alpha = product_frame(size=(1080, 1920), fill=0.5, colour=(30, 30, 30), centre=(540, 915))
    assert check_image(jpeg(frame), "meta-story", product_alpha=alpha).rule("safe-zone").status == "pass"


def test_aspect_rule():
    frame, _ = product_frame(size=(800, 600), bg=(230, 220, 200))
    r = check_image(jpeg(frame), "meta-square").rule("aspect")
    assert r.status == "fail" and r.measured == pytest.approx(800 / 600, abs=1e-3)


def test_colour_space_rule(photos_dir):
    frame, _ = product_frame()
    cmyk = io.BytesIO()
    Image.fromarray(frame).convert("CMYK").save(cmyk, "JPEG", quality=95)
    r = check_image(cmyk.getvalue(), "amazon-main").rule("colour-space")
    assert r.status == "fail" and "CMYK" in r.message
    # the grocery packshots carry an Adobe RGB (1998) profile
    r = check_image(photos_dir / "images" / "gs_oatly_iconic.jpg", "amazon-main").rule("colour-space")
    assert r.status == "fail" and "Adobe RGB" in r.message
    assert check_image(jpeg(frame), "amazon-main").rule("colour-space").measured.startswith("RGB, ICC")


@pytest.mark.parametrize("quality", [60, 75, 92])
def test_jpeg_quality_is_estimated_and_warns_on_ebay(quality):
    frame, _ = product_frame()
    data = jpeg(frame, quality=quality)
    report = check_image(data, "ebay")
    r = report.rule("jpeg-quality")
    assert abs(r.measured - quality) <= 1
    assert r.status == ("warn" if quality < 90 else "pass")
    assert report.passed  # a recommendation only warns


def test_estimate_jpeg_quality_rejects_a_bad_table():
    with pytest.raises(ValueError, match="64 entries"):
        estimate_jpeg_quality([1, 2, 3])


def test_arrays_skip_the_file_rules():
    frame, alpha = product_frame()
    for image in (frame, srgb8_to_linear(frame)):
        report = check_image(image, "amazon-main", product_alpha=alpha)
        assert report.passed
        for rule in ("format", "file-size", "colour-space"):
            assert report.rule(rule).status == "skip"


def test_bad_inputs():
    frame, alpha = product_frame()
    with pytest.raises(InputError, match="product_alpha"):
        check_image(frame, "amazon-main", product_alpha=alpha[:10])
    with pytest.raises(ImageLoadError):
        check_image(b"not an image at all", "amazon-main")
    with pytest.raises(InputError, match="unknown profile"):
        check_image(frame, "amazon")
    with pytest.raises(InputError, match="H x W x 3"):
        check_image(np.zeros((10, 10), np.uint8), "amazon-main")


# ------------------------------------------------------------------------------------------ CLI
def test_cli_check_pass_fail_json_and_sidecar_alpha(tmp_path):
    good, alpha = product_frame()
    bad, _ = product_frame(fill=0.70)
    (tmp_path / "good.jpg").write_bytes(jpeg(good))
    (tmp_path / "bad.jpg").write_bytes(jpeg(bad))
    runner = CliRunner()

    res = runner.invoke(app, ["check", str(tmp_path / "good.jpg"), "--profile", "amazon-main", "-p", "meta-square"])
    assert res.exit_code == 0, res.output
    assert "amazon-main" in res.output and "meta-square" in res.output and "PASS" in res.output

    res = runner.invoke(app, ["check", str(tmp_path / "good.jpg"), str(tmp_path / "bad.jpg"), "-p", "amazon-main"])
    assert res.exit_code == 1
    assert "FAIL" in res.output and "fill" in res.output and "below 85%" in res.output

    save_gray(tmp_path / "good_alpha.png", alpha)  # a render sidecar beside the image
    res = runner.invoke(app, ["check", str(tmp_path / "good.jpg"), "-p", "amazon-main", "--json"])
    assert res.exit_code == 0, res.output
    docs = [json.loads(line) for line in res.stdout.splitlines()]  # one JSON object per image and profile
    assert len(docs) == 1 and docs[0]["ok"] and docs[0]["passed"] and docs[0]["product_region"] == "alpha"
    assert docs[0]["input"].endswith("good.jpg") and docs[0]["alpha"].endswith("good_alpha.png")
    assert {r["rule"] for r in docs[0]["rules"]} == set(RULES)


def test_cli_check_unknown_profile_and_unreadable_image(tmp_path):
    runner = CliRunner()
    (tmp_path / "x.jpg").write_bytes(b"garbage")
    res = runner.invoke(app, ["check", str(tmp_path / "x.jpg"), "-p", "amazon"])
    assert res.exit_code == 2
    assert "amazon-main" in res.output and "meta-story" in res.output
    res = runner.invoke(app, ["check", str(tmp_path / "x.jpg"), "-p", "amazon-main"])
    assert res.exit_code == 1
    assert "x.jpg" in res.output


def test_icc_profile_helper_is_srgb():
    # the exporter's ICC profile is recognised as sRGB by the colour-space rule
    frame, _ = product_frame()
    data = jpeg(frame)
    with Image.open(io.BytesIO(data)) as im:
        desc = ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(im.info["icc_profile"])))
    assert "srgb" in desc.lower()
    assert get_profile("amazon-main").color_space == "sRGB"
