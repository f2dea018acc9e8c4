"""Marketplace profiles: built-ins as in marketplaces.md, user YAML profiles, clear errors."""

from __future__ import annotations

import pytest

from packshot.errors import InputError
from packshot.export.compliance.profiles import (PROFILES, Profile, SafeZone, get_profile, load_profile, profile_from_dict,
                                      profile_names)

BUILT_INS = ("amazon-main", "amazon-additional", "google-shopping", "shopify", "meta-square", "meta-portrait",
             "meta-story", "ebay", "etsy")


def test_every_built_in_profile_exists_and_obeys_its_own_limits():
    assert tuple(profile_names()) == BUILT_INS
    for name in BUILT_INS:
        p = get_profile(name)
        assert p.name == name and p.source and p.description
        w, h = p.size
        if p.min_longest_side:
            assert max(w, h) >= p.min_longest_side
        if p.recommended_longest_side:
            assert max(w, h) >= p.recommended_longest_side, name
        if p.max_longest_side:
            assert max(w, h) <= p.max_longest_side
        if p.aspect:
            assert abs(w / h - p.aspect) < 1e-3
        assert p.output_format in p.formats


def test_built_in_numbers_follow_the_reference():
    amazon = PROFILES["amazon-main"]
    assert (amazon.fill_target, amazon.fill_min) == (0.88, 0.85)
    assert amazon.background == "white" and amazon.edge_clearance and not amazon.text_allowed
    assert amazon.min_longest_side == 500 and amazon.recommended_longest_side == 1000
    assert amazon.max_longest_side == 10_000 and not amazon.allow_alpha
    assert PROFILES["amazon-additional"].background == "any" and PROFILES["amazon-additional"].text_allowed
    google = PROFILES["google-shopping"]
    assert google.min_shortest_side == 100 and google.max_pixels == 64_000_000 and google.max_bytes == 16_000_000
    assert not google.text_allowed and "WEBP" in google.formats
    shopify = PROFILES["shopify"]
    assert shopify.size == (2048, 2048) and shopify.max_longest_side == 4472 and shopify.max_bytes == 20_000_000
    assert PROFILES["meta-square"].size == (1080, 1080) and PROFILES["meta-portrait"].size == (1080, 1350)
    story = PROFILES["meta-story"]
    assert story.size == (1080, 1920) and story.safe_zone.box(1080, 1920) == (0, 250, 1080, 1580)
    assert PROFILES["ebay"].recommended_min_jpeg_quality == 90 and PROFILES["ebay"].min_longest_side == 500
    assert PROFILES["etsy"].min_longest_side == 635 and PROFILES["etsy"].max_bytes == 10_000_000


def test_unknown_profile_lists_the_choices():
    with pytest.raises(InputError) as err:
        get_profile("amazon")
    msg = str(err.value)
    assert "unknown profile 'amazon'" in msg
    for name in BUILT_INS:
        assert name in msg
    assert "YAML" in msg


def test_yaml_profile_extends_a_built_in(tmp_path):
    f = tmp_path / "my-shop.yaml"
    f.write_text("extends: shopify\nsize: [1600, 1600]\nformats: [jpg, webp]\nmax_bytes: 5000000\n"
                 "text_allowed: false\nsafe_zone: {top: 0.1}\n")
    p = get_profile(str(f))
    assert p.name == "my-shop"  # from the file name
    assert p.size == (1600, 1600) and p.formats == ("JPEG", "WEBP") and p.max_bytes == 5_000_000
    assert p.max_longest_side == 4472  # inherited
    assert p.safe_zone == SafeZone(top=0.1) and not p.text_allowed
    assert profile_from_dict(p.to_dict()) == p


def test_yaml_profile_ratio_aspect(tmp_path):
    f = tmp_path / "portrait.yml"
    f.write_text("name: tall\nsize: [800, 1000]\naspect: '4:5'\n")
    assert load_profile(f).aspect == pytest.approx(0.8)


@pytest.mark.parametrize("text, field", [
    ("name: x\nfill_min: 1.5\n", "fill_min"),
    ("name: x\nfill_target: 0.8\nfill_min: 0.85\n", "fill_target"),
    ("name: x\nformats: [JPX]\n", "formats"),
    ("name: x\nsize: [100]\n", "size"),
    ("name: x\nsize: big\n", "size"),
    ("name: x\nbackground: black\n", "background"),
    ("name: x\njpeg_quality: 120\n", "jpeg_quality"),
    ("name: x\ncolour: red\n", "colour"),
    ("name: x\nextends: walmart\n", "extends"),
    ("name: x\nsize: [1000, 1000]\naspect: 0.5\n", "size"),
    ("name: x\nsafe_zone: {middle: 0.1}\n", "safe_zone.middle"),
    ("name: x\nsafe_zone: {top: 0.6, bottom: 0.5}\n", "safe_zone"),
    ("name: x\nmin_longest_side: -3\n", "min_longest_side"),
    ("name: x\nallow_alpha: maybe\n", "allow_alpha"),
])
def test_invalid_yaml_profile_names_the_field(tmp_path, text, field):
    f = tmp_path / "bad.yaml"
    f.write_text(text)
    with pytest.raises(InputError) as err:
        get_profile(f)
    assert str(f) in str(err.value)
    assert f"field '{field}'" in str(err.value)


def test_malformed_yaml_names_the_file_and_line(tmp_path):
    f = tmp_path / "broken.yaml"
    f.write_text("name: x\nsize: [100, 100\nformats: [JPEG]\n")
    with pytest.raises(InputError) as err:
        get_profile(f)
    assert str(f) in str(err.value) and "not valid YAML" in str(err.value) and "line" in str(err.value)


@pytest.mark.parametrize("text, problem", [("", "empty"), ("- a\n- b\n", "mapping")])
def test_yaml_profile_that_is_not_a_mapping(tmp_path, text, problem):
    f = tmp_path / "odd.yaml"
    f.write_text(text)
    with pytest.raises(InputError, match=problem):
        get_profile(f)


def test_missing_yaml_profile_file(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        get_profile(tmp_path / "nope.yaml")


def test_profile_constructor_validates():
    with pytest.raises(InputError, match="field 'background'"):
        Profile(name="x", background="grey")
    assert get_profile(PROFILES["ebay"]) is PROFILES["ebay"]
