"""motion: plans, layers, locked product pixels, shadows following the light, temporal checks, brief field."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from packshot.condition import condition, parse_brief
from packshot.condition.brief import BriefError
from packshot.errors import EmptyProductError
from packshot.motion.plan import MOTION_KINDS, MotionSpec, check_motion, plan_motion
from packshot.types import Light

from test_render_fixtures import product_maps_for, sample_cutout

SIZE = (96, 160)  # even sides (yuv420p), 9:16-ish, tiny


@pytest.fixture(scope="module")
def product():
    cut = sample_cutout("bottle", seed=2, size=160)
    return cut, product_maps_for(cut.alpha)


def spec_for(product, size=SIZE, preset="studio-white", lighting=None, floor=0.3):
    cut, maps = product
    scene = {"name": "clip", "preset": preset, "sizes": [list(size)], "floor": floor,
             "placement": {"anchor": "center", "scale": 0.5}}
    if lighting:
        scene["lighting"] = lighting
    return condition(parse_brief({"scenes": [scene]}), cut, maps, "sku")[0]


def renderer_for(product, kinds, seconds=0.5, fps=8, relight=True, **kw):
    from packshot.motion.render import ClipConfig, ClipRenderer

    cut, maps = product
    spec = spec_for(product, **kw)
    return ClipRenderer(spec, cut, maps, MotionSpec(kinds=tuple(kinds), seconds=seconds, fps=fps),
                        config=ClipConfig(relight=relight))


# ----------------------------------------------------------------------------------- plan
def test_each_kind_plans_its_motion():
    light = Light(azimuth=90.0, elevation=40.0)
    n = 13
    push = plan_motion(MotionSpec(kinds=("push-in",), seconds=n / 10, fps=10, zoom=1.2), light, (100, 200))
    assert len(push) == n and push[0].zoom == pytest.approx(1.0) and push[-1].zoom == pytest.approx(1.2)
    assert all(b.zoom >= a.zoom for a, b in zip(push, push[1:]))
    assert {p.light for p in push} == {light}
    par = plan_motion(MotionSpec(kinds=("parallax",), seconds=n / 10, fps=10, parallax=0.05), light, (100, 200))
    assert par[0].shift == pytest.approx(-2.5) and par[-1].shift == pytest.approx(2.5)
    assert par[0].zoom > 1.0  # overscan so the sliding wall never shows its edge
    sweep = plan_motion(MotionSpec(kinds=("light-sweep",), seconds=n / 10, fps=10, sweep_degrees=80), light, (100, 200))
    assert sweep[0].light.azimuth == pytest.approx(50.0) and sweep[-1].light.azimuth == pytest.approx(130.0)
    orbit = plan_motion(MotionSpec(kinds=("orbit-light",), seconds=n / 10, fps=10), light, (100, 200))
    assert orbit[0].light.azimuth == pytest.approx(90.0) and orbit[-1].light.azimuth == pytest.approx(90.0)
    assert orbit[n // 2].light.azimuth == pytest.approx(270.0)
    reveal = plan_motion(MotionSpec(kinds=("reveal",), seconds=n / 10, fps=10), light, (100, 200))
    assert reveal[0].opacity == 0.0 and reveal[0].drop > 0 and reveal[-1].opacity == 1.0 and reveal[-1].drop == 0.0
    combined = plan_motion(MotionSpec(kinds=("push-in", "parallax", "light-sweep"), seconds=n / 10, fps=10), light,
                           (100, 200))
    assert combined[-1].zoom > par[-1].zoom and combined[-1].shift != 0 and combined[-1].light != light


@pytest.mark.parametrize("motion, problem", [
    (MotionSpec(seconds=0.0), "more than 0"),
    (MotionSpec(seconds=200.0, fps=50), "10000 frames"),
    (MotionSpec(kinds=("zoom-blur",)), "unknown kind"),
    (MotionSpec(size=(1081, 1920)), "even sides"),
    (MotionSpec(kinds=("light-sweep", "orbit-light")), "choose one"),
])
def test_bad_motion_is_refused_by_name(motion, problem):
    with pytest.raises(ValueError, match=problem):
        check_motion(motion)


@pytest.mark.parametrize("motion, field, problem", [
    ({"kind": "push-in", "seconds": 0}, "motion.seconds", "more than 0"),
    ({"kind": "push-in", "seconds": 200, "fps": 50}, "motion.seconds", "10000 frames"),
    ({"kind": ["push-in", "wobble"]}, "motion.kind[1]", "unknown motion 'wobble'"),
    ({"kind": "push-in", "size": "1081x1920"}, "motion.size", "even sides"),
    ({"kind": "push-in", "speed": 2}, "motion.speed", "unknown key"),
    ({"seconds": 2}, "motion.kind", "is missing"),
])
def test_brief_motion_errors_name_the_file_and_field(motion, field, problem):
    with pytest.raises(BriefError) as err:
        parse_brief({"scenes": [{"name": "a", "motion": motion}]}, source="b.yaml")
    assert f"scenes[0].{field}" in str(err.value) and problem in str(err.value)
    assert "b.yaml" in str(err.value)


def test_brief_motion_parses_and_stills_are_untouched():
    brief = parse_brief({"scenes": [
        {"name": "still"},
        {"name": "story", "motion": {"kind": ["parallax", "light-sweep"], "seconds": 2, "fps": 24,
                                      "size": "9:16", "easing": "linear"}, "resolution": 1920}]})
    assert brief.scenes[0].motion is None
    m = brief.scenes[1].motion
    assert m.kinds == ("parallax", "light-sweep") and m.frame_count == 48 and m.size == (1080, 1920)
    with pytest.raises(BriefError, match="defaults.motion"):
        parse_brief({"defaults": {"motion": {"kind": "push-in"}}, "scenes": [{"name": "a"}]})


# ----------------------------------------------------------------------------------- render
@pytest.mark.parametrize("kind", MOTION_KINDS)
def test_each_kind_keeps_the_product_pixels_locked(product, kind):
    """Without relight every opaque product pixel is exactly the still's warp of the cut-out;
    with relight it is that warp times the relight stage's bounded gain (checked by deltaE)."""
    from packshot.motion.qa import TemporalMeter
    from packshot.render.compose import place_product

    cut, _ = product
    r = renderer_for(product, [kind], relight=False)
    for f in r.frames():
        if f.plan.opacity < 1.0:
            continue
        ref = place_product(cut.rgb, cut.alpha, f.matrix, r.size)
        inside = ref.alpha == 1.0  # fully covered: the frame shows the product and nothing else
        assert inside.sum() > 200
        np.testing.assert_array_equal(f.product_alpha, ref.alpha)
        np.testing.assert_allclose(f.rgb[inside], ref.premultiplied[inside], atol=1e-6)
    lit = renderer_for(product, [kind], relight=True)
    meter = TemporalMeter(cut)
    for f in lit.frames():
        meter.add(f)
    res = meter.result()["checks"]
    assert res["product_delta_e"]["max"] <= 3.0  # the stills' bound (relight aims at 2)
    assert res["jitter"]["max_px"] <= 0.5


def test_parallax_layer_rates_follow_depth(product):
    """The wall moves slowest, the floor faster row by row toward the camera, the product most."""
    r = renderer_for(product, ["parallax"], relight=False, seconds=0.5, fps=8)
    rows = r.ground_rows
    W, H = r.size
    assert rows[0] == pytest.approx(r.config.wall_rate)
    assert np.all(np.diff(rows) >= -1e-6) and rows[-1] > rows[H // 2]
    base = int(round(float((r.still_matrix @ np.array([0, float(np.flatnonzero(product[0].alpha.max(1) > 0.5)[-1]) + 1,
                                                       1.0]))[1])))
    assert rows[min(base, H - 1)] == pytest.approx(1.0, abs=0.05)
    # paint a background whose value is its own x coordinate: the frame shows where each pixel came from
    bh, bw = r.background.shape[:2]
    r.background = np.repeat(np.tile(np.arange(bw, dtype=np.float32)[None, :, None] / bw, (bh, 1, 1)), 3, axis=2)
    frames = {}
    for f in r.frames():
        if f.index in (0, len(r.plans) - 1):
            # background x in frame pixels: big px -> still px (/ big_scale) -> frame px (x zoom)
            frames[f.index] = (f.rgb[..., 0].copy() * bw / r.big_scale * f.plan.zoom, f.matrix.copy(), f.plan)
    (g0, m0, p0), (g1, m1, p1) = frames[0], frames[len(r.plans) - 1]
    product_travel = m1[0, 2] - m0[0, 2]
    assert product_travel == pytest.approx(p1.shift - p0.shift, rel=1e-6)
    col = 4  # away from the product
    wall_travel = -(g1[2, col] - g0[2, col])  # the frame samples further left when the layer moves right
    floor_row = H - 3
    floor_travel = -(g1[floor_row, col] - g0[floor_row, col])
    assert wall_travel == pytest.approx(r.config.wall_rate * product_travel, rel=0.02)
    assert wall_travel < floor_travel
    assert 0 < wall_travel < product_travel
    # every row travels at its planned rate (the zoom is the same in both frames) ...
    z, cy = p0.zoom, r.centre[1]
    for row in range(0, H, 7):
        still_row = (row - cy * (1 - z)) / z
        want = float(np.interp(still_row, np.arange(H), rows)) * product_travel
        assert -(g1[row, col] - g0[row, col]) == pytest.approx(want, abs=0.05), row
    # ... and the bands meet without a seam (the ramp changes by the small per-row shear only)
    side = np.hstack([g1[:, 2:12], g1[:, -12:-2]])  # columns clear of the product
    assert np.abs(np.diff(side, axis=0)).max() < 0.2


def _shadow_centroid_x(key_ground: np.ndarray) -> float:
    dark = np.clip(-key_ground, 0, None)
    return float((dark.sum(0) * np.arange(dark.shape[1])).sum() / dark.sum())


def test_the_shadow_follows_the_light(product):
    r = renderer_for(product, ["light-sweep"], seconds=1.0, fps=10, lighting={"azimuth": 90, "elevation": 35})
    first, last = r.plans[0].light, r.plans[-1].light
    assert first.azimuth < 90 < last.azimuth  # from the right-front round to the left-front
    assert len(r.key_frames) > 2
    g0 = r._light_key(r.key_frames[0]).ground
    g1 = r._light_key(r.key_frames[-1]).ground
    # the light moves from +x to -x, so its cast shadow swings from the left to the right
    assert _shadow_centroid_x(g1) > _shadow_centroid_x(g0) + 1.0
    orbit = renderer_for(product, ["orbit-light"], seconds=1.0, fps=10, lighting={"azimuth": 90, "elevation": 35})
    a = orbit._light_key(orbit.key_frames[0]).ground
    z = orbit._light_key(orbit.key_frames[-1]).ground
    np.testing.assert_allclose(a, z, atol=1e-4)  # a full turn comes back to the same light


def test_reveal_fades_in_with_its_shadow(product):
    r = renderer_for(product, ["reveal"], seconds=1.0, fps=10)
    seen = []
    for f in r.frames():
        seen.append((f.plan.opacity, float(f.product_alpha.max()), float(f.matrix[1, 2])))
    assert seen[0][0] == 0.0 and seen[0][1] == 0.0  # nothing shown at first
    assert seen[-1][1] == pytest.approx(1.0, abs=1e-3)
    assert seen[0][2] < seen[-1][2]  # it settles down onto the floor


def test_a_product_pushed_out_of_the_frame_is_an_error(product):
    from packshot.motion.render import ClipRenderer

    cut, maps = product
    spec = spec_for(product)
    spec = dataclasses.replace(spec, placement=dataclasses.replace(spec.placement, center=(-500.0, 80.0)))
    with pytest.raises(EmptyProductError, match="outside|leaves"):
        r = ClipRenderer(spec, cut, maps, MotionSpec(kinds=("push-in",), seconds=0.25, fps=8))
        next(iter(r.frames()))


# ----------------------------------------------------------------------------------- temporal checks
def test_temporal_checks_catch_flicker_and_jitter(product):
    from packshot.motion.qa import TemporalMeter

    cut, _ = product
    # a slow push-in (0.5 % per frame): on an 80 px product faster zooms make fine print shimmer
    r = renderer_for(product, ["push-in"], relight=False, seconds=2, fps=12)
    clean, flicker, jitter = TemporalMeter(cut), TemporalMeter(cut), TemporalMeter(cut)
    for f in r.frames():
        clean.add(f)
        lifted = dataclasses.replace(f, rgb=f.rgb * (1.08 if f.index % 2 else 1.0))
        flicker.add(lifted)
        moved = f.matrix.copy()
        moved[0, 2] += 1.0  # the plan says one pixel further right than the frame shows
        jitter.add(dataclasses.replace(f, matrix=moved))
    ok = clean.result()
    assert ok["verdict"] == "pass" and ok["checks"]["flicker"]["max"] <= 0.5
    assert ok["checks"]["jitter"]["max_px"] <= 0.5
    assert flicker.result()["checks"]["flicker"]["status"] != "pass"
    assert jitter.result()["checks"]["jitter"]["max_px"] == pytest.approx(1.0, abs=0.1)
    assert jitter.result()["verdict"] != "pass"


def test_each_light_key_is_relit_once(product):
    r = renderer_for(product, ["light-sweep"], seconds=1.0, fps=12)
    for _ in r.frames():
        pass
    assert r.relit_keys == len(r.key_frames) > 2
