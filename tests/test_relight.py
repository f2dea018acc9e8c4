"""relight: shadows away from the light, contact at the base, reflections only on glossy floors,
bounded product shading that agrees with the light."""

from __future__ import annotations

import numpy as np
import pytest

from packshot.condition import condition, parse_brief
from packshot.imaging import delta_e2000, linear_to_lab, luminance
from packshot.relight import RelightConfig, interior_mask, relight
from packshot.render import render
from packshot.render.compose import place_product

from test_render_fixtures import product_maps_for, sample_cutout, solid_cutout


@pytest.fixture(scope="module")
def bottle():
    return sample_cutout("bottle", seed=5, size=256)


def _frame(cutout, preset="studio-white", size="320x320", **scene):
    brief = parse_brief({"scenes": [{"name": "s", "preset": preset, "sizes": [size], **scene}]})
    (spec,) = condition(brief, cutout, None, "sku")
    return render(spec, cutout)


def _darkening(before, after):
    """1 - after / before luminance (how much a pixel got darker)."""
    return 1.0 - luminance(after) / np.maximum(luminance(before), 1e-4)


@pytest.mark.parametrize("azimuth, dark_side", [(10, "left"), (170, "right")])
def test_cast_shadow_falls_away_from_the_light(bottle, azimuth, dark_side):
    frame = _frame(bottle, lighting={"azimuth": azimuth, "elevation": 30, "softness": 0.3})
    out = relight(frame, bottle, None, RelightConfig(reflection=False, grain=False, light_wrap=0))
    dark = _darkening(frame.rgb, out.rgb)
    x0, y0, x1, y1 = frame.product_box
    w, h = x1 - x0, y1 - y0
    rows = slice(int(y1 - 0.3 * h), int(y1))
    left = dark[rows, max(x0 - w, 0) : x0 - 2].mean()
    right = dark[rows, x1 + 2 : x1 + w].mean()
    darker, lighter = (left, right) if dark_side == "left" else (right, left)
    assert darker > 0.05 and darker > 3 * lighter, (left, right)
    assert out.provenance["relight"]["shadow_matrix"][0][1] * (1 if dark_side == "left" else -1) > 0


def test_contact_shadow_touches_the_base(bottle):
    frame = _frame(bottle, lighting={"azimuth": 90, "elevation": 60})
    out = relight(frame, bottle, None, RelightConfig(reflection=False, grain=False, light_wrap=0))
    dark = _darkening(frame.rgb, out.rgb)
    x0, y0, x1, y1 = frame.product_box
    cx0, cx1 = x0 + (x1 - x0) // 4, x1 - (x1 - x0) // 4
    just_below = dark[y1 : y1 + 2, cx0:cx1].mean()
    far_below = dark[min(y1 + 40, 318) : min(y1 + 44, 320), cx0:cx1].mean()
    beside_far = dark[y1 - 5 : y1, 2:12].mean()
    assert just_below > 0.2  # dark right at the base: the product sits on the floor
    assert just_below > 2 * far_below and beside_far < 0.02


def test_glossy_floor_reflects_and_matte_does_not():
    red = solid_cutout((0.8, 0.03, 0.03))
    results = {}
    for gloss in (0.0, 0.8):
        frame = _frame(red, floor=gloss, lighting={"azimuth": 90})
        out = relight(frame, red, None, RelightConfig(shadows=False, grain=False, light_wrap=0))
        x0, y0, x1, y1 = frame.product_box
        band = out.rgb[y1 + 2 : y1 + 14, x0 + 5 : x1 - 5]
        results[gloss] = float((band[..., 0] - band[..., 1]).mean())  # redness below the base
        assert out.provenance["relight"]["reflection"] is (gloss > 0)
    assert results[0.0] < 0.02
    assert results[0.8] > 0.1


def _interior_delta_e(cutout, frame, erode=4):
    placed = place_product(cutout.rgb, cutout.alpha, np.array(frame.provenance["render"]["matrix"]), frame.size)
    inside = interior_mask(placed.alpha, erode)
    de = delta_e2000(linear_to_lab(frame.rgb[inside]), linear_to_lab(placed.rgb[inside]))
    return float(de.mean()), placed, inside


@pytest.mark.parametrize("kind, azimuth, kelvin", [("bottle", 10, 3200), ("can", 170, 8000), ("box", 270, 5600)])
def test_product_interior_delta_e_is_bounded(kind, azimuth, kelvin):
    cutout = sample_cutout(kind, seed=3, size=256)
    maps = product_maps_for(cutout.alpha)
    frame = _frame(cutout, preset="festive", lighting={"azimuth": azimuth, "elevation": 20, "kelvin": kelvin})
    out = relight(frame, cutout, maps)
    measured, _, _ = _interior_delta_e(cutout, out)
    assert measured <= 3.0
    recorded = out.provenance["relight"]["product_delta_e2000_mean"]
    assert recorded <= RelightConfig().max_delta_e + 0.3
    assert abs(recorded - measured) < 0.5
    # the relight did change the product (it is not a no-op), just within the bound
    assert measured > 0.3
    assert out.product_box == frame.product_box
    np.testing.assert_array_equal(out.product_alpha, frame.product_alpha)


def test_shading_agrees_with_the_light_and_the_shadow():
    card = solid_cutout((0.5, 0.5, 0.5), size=(240, 260), box=(40, 30, 200, 230))
    maps = product_maps_for(card.alpha)
    sides = {}
    for azimuth in (10, 170):
        frame = _frame(card, lighting={"azimuth": azimuth, "elevation": 30})
        out = relight(frame, card, maps, RelightConfig(grain=False, light_wrap=0, reflection=False))
        _, placed, inside = _interior_delta_e(card, out)
        ratio = luminance(out.rgb) / np.maximum(luminance(placed.rgb), 1e-4)
        x0, y0, x1, y1 = out.product_box
        mid = (x0 + x1) // 2
        left = ratio[:, x0:mid][inside[:, x0:mid]].mean()
        right = ratio[:, mid:x1][inside[:, mid:x1]].mean()
        sides[azimuth] = (left, right)
        kx = out.provenance["relight"]["shadow_matrix"][0][1]
        if azimuth == 10:  # light from the right: right side brighter, shadow to the left (kx > 0)
            assert right > left and kx > 0
        else:
            assert left > right and kx < 0
    assert sides[10] != sides[170]


def test_relight_is_deterministic_and_keeps_size(bottle):
    maps = product_maps_for(bottle.alpha)
    frame = _frame(bottle, floor=0.5)
    a = relight(frame, bottle, maps)
    b = relight(frame, bottle, maps)
    np.testing.assert_array_equal(a.rgb, b.rgb)
    assert a.rgb.shape == frame.rgb.shape and a.rgb.dtype == np.float32
    assert 0.0 <= a.rgb.min() and a.rgb.max() <= 1.0


def test_grain_matches_a_noisy_product():
    from packshot.render.plate import estimate_noise
    from packshot.samples import make_product
    from packshot.types import Cutout, alpha_bbox

    s = make_product("can", seed=2, size=(256, 256), noise=0.02)
    noisy = Cutout(rgb=s.image, alpha=s.mask, image=s.image, bbox=alpha_bbox(s.mask), confidence=1.0)
    frame = _frame(noisy, preset="studio-grey")
    out = relight(frame, noisy, None, RelightConfig(shadows=False, reflection=False))
    grain = out.provenance["relight"]["grain"]
    assert grain["background"] > 0.006
    assert grain["background"] == pytest.approx(grain["product_noise"], rel=0.01)
    corner = np.zeros(out.product_alpha.shape, bool)
    corner[5:60, 5:60] = True
    assert estimate_noise(out.rgb, corner) > 0.5 * grain["product_noise"]


def test_no_halo_at_the_edge(bottle):
    """Edge pixels stay between the product's colour and the background's (no bright or dark ring)."""
    maps = product_maps_for(bottle.alpha)
    for preset in ("studio-white", "festive"):
        frame = _frame(bottle, preset=preset)
        out = relight(frame, bottle, maps, RelightConfig(grain=False, shadows=False, reflection=False))
        placed = place_product(bottle.rgb, bottle.alpha, np.array(frame.provenance["render"]["matrix"]), frame.size)
        a = placed.alpha
        edge = (a > 0.05) & (a < 0.95)
        background = (frame.rgb - placed.premultiplied) / np.maximum(1 - a, 1e-3)[..., None]
        lum_out = luminance(out.rgb)[edge]
        lum_fg = luminance(placed.rgb)[edge]
        lum_bg = luminance(background)[edge]
        lo = np.minimum(lum_fg, lum_bg) - 0.02
        hi = np.maximum(lum_fg, lum_bg) + 0.02
        inside = (lum_out >= lo) & (lum_out <= hi)
        assert edge.sum() > 50 and inside.mean() > 0.99


def test_transparent_products_get_lighter_shadows_and_less_reshading(bottle):
    from dataclasses import replace

    from packshot.types import RiskFlag

    maps = product_maps_for(bottle.alpha)
    glass = replace(maps, flags=(RiskFlag("transparent", "glass", "check by eye"),))
    frame = _frame(bottle, lighting={"azimuth": 10, "elevation": 30, "softness": 0.3})
    config = RelightConfig(reflection=False, grain=False, light_wrap=0)
    opaque = relight(frame, bottle, maps, config)
    clear = relight(frame, bottle, glass, config)
    x0, y0, x1, y1 = frame.product_box
    w, h = x1 - x0, y1 - y0
    rows, cols = slice(int(y1 - 0.3 * h), int(y1)), slice(max(x0 - w, 0), x0 - 2)
    dark_opaque = _darkening(frame.rgb, opaque.rgb)[rows, cols].mean()
    dark_clear = _darkening(frame.rgb, clear.rgb)[rows, cols].mean()
    assert dark_clear < 0.8 * dark_opaque
    adapt = clear.provenance["relight"]["material_adaptation"]
    assert adapt["transparent"] and adapt["shading_exponent"] < RelightConfig().shading_strength
    assert not opaque.provenance["relight"]["material_adaptation"]["transparent"]
