"""Brief validation, presets, reference analysis and conditioning into SceneSpecs."""

from __future__ import annotations

import numpy as np
import pytest

from packshot.condition import PRESETS, BriefError, condition, load_brief, parse_brief, placement_for
from packshot.condition.reference import (
    analyse_reference,
    estimate_floor_line,
    estimate_kelvin,
    extract_palette,
    kelvin_to_rgb,
)
from packshot.imaging import save_image, srgb_to_linear

from test_render_fixtures import product_maps_for, sample_cutout

REQUIRED_PRESETS = ("studio-white", "studio-grey", "pastel-podium", "marble", "wood", "concrete", "summer",
                    "winter", "festive", "back-to-school")


@pytest.fixture(scope="module")
def cutout():
    return sample_cutout("bottle", seed=2, size=256)


# ------------------------------------------------------------------------------ brief validation
def test_required_presets_exist():
    for name in REQUIRED_PRESETS:
        assert name in PRESETS


def test_parse_full_brief_with_defaults_and_sizes():
    brief = parse_brief({
        "name": "launch",
        "defaults": {"variants": 2, "seed": 5, "sizes": ["640x480", [300, 400], "4:5"], "resolution": 500},
        "scenes": [
            {"name": "hero", "preset": "studio-white", "prompt": "clean", "negative_prompt": "text",
             "lighting": {"azimuth": -30, "elevation": 30, "softness": 0.2, "kelvin": 4000, "intensity": 1.2},
             "floor": 0.7, "placement": {"anchor": "left-third", "scale": 0.4, "rotation": 5},
             "backdrop": {"wall": "#ff0000", "podium": "box"}},
            {"name": "second", "preset": "marble", "variants": 1, "sizes": "1000x1000"},
        ],
    })
    hero, second = brief.scenes
    assert brief.name == "launch"
    assert hero.variants == 2 and hero.seed == 5
    assert hero.sizes == ((640, 480), (300, 400), (400, 500))
    assert hero.lighting.azimuth == pytest.approx(330.0)  # wrapped into 0..360
    assert hero.placement.anchor == "left-third" and hero.placement.scale == 0.4
    assert hero.backdrop["wall"] == (1.0, 0.0, 0.0) and hero.backdrop["podium"] == "box"
    assert second.variants == 1 and second.sizes == ((1000, 1000),)


@pytest.mark.parametrize(
    "scene, field, words",
    [
        ({"preset": "disco"}, "scenes[1].preset", "unknown preset 'disco'"),
        ({"sizes": ["-100x200"]}, "scenes[1].sizes[0]", "positive"),
        ({"sizes": [[512, -5]]}, "scenes[1].sizes[0]", "positive"),
        ({"lighting": {"azimuth": "left"}}, "scenes[1].lighting.azimuth", "must be a number"),
        ({"lighting": {"elevation": 120}}, "scenes[1].lighting.elevation", "between 5 and 90"),
        ({"lighting": {"colour": 3}}, "scenes[1].lighting.colour", "unknown key"),
        ({"floor": 1.5}, "scenes[1].floor", "between 0 and 1"),
        ({"variants": 0}, "scenes[1].variants", "between 1"),
        ({"placement": {"anchor": "middle"}}, "scenes[1].placement.anchor", "unknown anchor"),
        ({"backdrop": {"floor_texture": "granite"}}, "scenes[1].backdrop.floor_texture", "unknown texture"),
        ({"references": ["nope/missing.jpg"]}, "scenes[1].references[0]", "does not exist"),
        ({"plate": "missing-plate.jpg"}, "scenes[1].plate", "does not exist"),
        ({"name": "has space"}, "scenes[1].name", "letters, digits"),
    ],
)
def test_brief_errors_name_the_field(tmp_path, scene, field, words):
    data = {"scenes": [{"name": "ok", "preset": "studio-white"}, {"name": "bad", **scene}]}
    with pytest.raises(BriefError) as info:
        parse_brief(data, tmp_path)
    message = str(info.value)
    assert field in message, message
    assert words in message, message


def test_brief_errors_top_level(tmp_path):
    with pytest.raises(BriefError, match="scenes"):
        parse_brief({"name": "x"}, tmp_path)
    with pytest.raises(BriefError, match="scenes"):
        parse_brief({"scenes": []}, tmp_path)
    with pytest.raises(BriefError, match="defaults.sizes"):
        parse_brief({"defaults": {"sizes": ["0x0"]}, "scenes": [{"preset": "marble"}]}, tmp_path)
    with pytest.raises(BriefError, match="used twice"):
        parse_brief({"scenes": [{"name": "a"}, {"name": "a"}]}, tmp_path)


def test_load_brief_names_the_file(tmp_path):
    path = tmp_path / "brief.yaml"
    path.write_text("scenes:\n  - name: a\n    preset: studio-white\n  - name: b\n    preset: lava\n")
    with pytest.raises(BriefError) as info:
        load_brief(path)
    assert str(path) in str(info.value) and "scenes[1].preset" in str(info.value)
    bad = tmp_path / "bad.yaml"
    bad.write_text("scenes: [unclosed\n")
    with pytest.raises(ValueError, match="not valid YAML"):
        load_brief(bad)
    with pytest.raises(ValueError, match="does not exist"):
        load_brief(tmp_path / "none.yaml")


def test_example_briefs_are_valid():
    from pathlib import Path

    folder = Path(__file__).resolve().parents[1] / "examples" / "briefs"
    files = sorted(folder.glob("*.yaml"))
    assert any(f.name == "demo.yaml" for f in files)
    for f in files:
        brief = load_brief(f)
        assert brief.scenes
    demo = load_brief(folder / "demo.yaml")
    assert len(demo.scenes) == 3 and all(s.variants == 2 for s in demo.scenes)


# ------------------------------------------------------------------------------ references
def test_palette_of_two_colour_image():
    img = np.zeros((60, 100, 3), np.float32)
    img[:, :70] = srgb_to_linear(np.array([0.9, 0.2, 0.2], np.float32))
    img[:, 70:] = srgb_to_linear(np.array([0.2, 0.3, 0.9], np.float32))
    pal = extract_palette(img, k=4)
    assert len(pal) == 2
    assert pal[0].share == pytest.approx(0.7, abs=0.02)
    assert pal[0].rgb[0] > pal[0].rgb[2] and pal[1].rgb[2] > pal[1].rgb[0]


def test_kelvin_round_trip_and_ordering():
    grey = np.full((32, 32, 3), 0.5, np.float32)
    warm = grey * kelvin_to_rgb(3200, 6500)
    cool = grey * kelvin_to_rgb(9000, 6500)
    assert estimate_kelvin(warm) < 4200 < 5500 < estimate_kelvin(grey) < 7500 < estimate_kelvin(cool)
    assert kelvin_to_rgb(3000)[0] > kelvin_to_rgb(3000)[2]


def test_light_direction_from_reference():
    x = np.linspace(0, 1, 96, dtype=np.float32)
    left_lit = np.repeat(np.repeat((0.9 - 0.7 * x)[None, :, None], 64, axis=0), 3, axis=2)
    look = analyse_reference(left_lit)
    assert look.azimuth > 120 and look.light_confidence > 0.3
    right_lit = left_lit[:, ::-1]
    assert analyse_reference(right_lit).azimuth < 60


def test_floor_line_of_a_table_plate():
    plate = np.zeros((200, 300, 3), np.float32)
    plate[:130] = 0.6
    plate[130:] = 0.25
    line, strength = estimate_floor_line(plate)
    assert line == pytest.approx(0.65, abs=0.02) and strength > 0.5


# ------------------------------------------------------------------------------ conditioning
def test_condition_counts_names_and_determinism(cutout):
    maps = product_maps_for(cutout.alpha)
    brief = parse_brief({"scenes": [
        {"name": "a", "preset": "studio-white", "variants": 3},
        {"name": "b", "preset": "pastel-podium", "variants": 2, "sizes": ["512x512", "4:5"], "resolution": 400},
    ]})
    specs = condition(brief, cutout, maps, "sku-1")
    assert len(specs) == 3 + 2 * 2
    names = [(s.scene, s.provenance["variant_name"]) for s in specs]
    assert names[:3] == [("a", "v0"), ("a", "v1"), ("a", "v2")]
    assert names[3:] == [("b", "v0_512x512"), ("b", "v0_320x400"), ("b", "v1_512x512"), ("b", "v1_320x400")]
    again = condition(brief, cutout, maps, "sku-1")
    assert [s.light for s in again] == [s.light for s in specs]
    assert [s.placement for s in again] == [s.placement for s in specs]
    # variant 0 is the preset as designed; other variants move within its ranges
    preset = PRESETS["studio-white"]
    v0, v1, v2 = specs[:3]
    assert v0.light.azimuth == pytest.approx(preset.light.azimuth)
    assert v1.light != v0.light and v2.light != v1.light
    assert abs(v1.light.azimuth - preset.light.azimuth) <= preset.azimuth_range
    # every size of one variant shares the light and look
    assert specs[3].light == specs[4].light and specs[3].backdrop == specs[4].backdrop


def test_condition_brief_overrides_and_placement(cutout):
    brief = parse_brief({"scenes": [{
        "name": "a", "preset": "marble", "lighting": {"azimuth": 10, "kelvin": 3000}, "floor": 0.9,
        "placement": {"anchor": [0.3, 0.8], "scale": 0.5}, "sizes": ["600x400"]}]})
    (spec,) = condition(brief, cutout, None, "sku")
    assert spec.light.azimuth == pytest.approx(10) and spec.light.kelvin == pytest.approx(3000)
    assert spec.floor_gloss == pytest.approx(0.9)
    assert spec.canvas == (600, 400)
    assert spec.floor_y == pytest.approx(0.8 * 400, abs=1.0)
    assert spec.placement.center[0] == pytest.approx(0.3 * 600, abs=1.0)


def test_placement_stays_inside_the_canvas():
    p = placement_for((0, 0, 100, 300), (400, 400), (5.0, 399.0), 1.0, rotation=30)
    x0, y0, x1, y1 = 0, 0, 100, 300
    m = p.matrix((x0, y0, x1, y1))
    corners = m @ np.array([[x0, x1, x0, x1], [y0, y0, y1, y1], [1, 1, 1, 1]], float)
    assert corners[0].min() >= 0 and corners[0].max() <= 400
    assert corners[1].min() >= 0 and corners[1].max() <= 400


def test_references_set_the_look(tmp_path, cutout):
    mood = np.zeros((80, 120, 3), np.float32)
    mood[:] = srgb_to_linear(np.array([0.55, 0.75, 0.95], np.float32))  # a cool blue backdrop
    mood[50:, 40:80] = srgb_to_linear(np.array([0.95, 0.6, 0.1], np.float32))
    save_image(tmp_path / "mood.png", mood)
    brief = parse_brief({"scenes": [{"name": "m", "preset": "studio-white", "references": ["mood.png"]}]}, tmp_path)
    (spec,) = condition(brief, cutout, None, "sku")
    wall = np.array(spec.backdrop["wall"])
    assert wall[2] > wall[0] + 0.2  # the reference's blue, not the preset's white
    assert spec.provenance["references"][0]["path"].endswith("mood.png")
    assert "reference[0]" in spec.provenance["inputs"]


def test_empty_cutout_is_refused(cutout):
    from dataclasses import replace

    from packshot.errors import EmptyProductError

    empty = replace(cutout, alpha=np.zeros_like(cutout.alpha), bbox=None)
    brief = parse_brief({"scenes": [{"name": "a"}]})
    with pytest.raises(EmptyProductError):
        condition(brief, empty, None, "sku")
    with pytest.raises(ValueError, match="sku"):
        condition(brief, cutout, None, "a/b")
