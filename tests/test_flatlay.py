"""Pose classes (standing / lying / flat-lay) on generated and real photos, the flat-lay presets
(top-down surfaces with an offset soft shadow), routing of standing scenes to their flat-lay
counterpart and the brief's ``pose: keep`` override."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from packshot.condition import FLATLAY_COUNTERPART, PRESETS, condition, parse_brief
from packshot.condition.brief import BriefError
from packshot.imaging import srgb_to_linear
from packshot.relight import relight
from packshot.render import render
from packshot.render.pose import backdrop_cue, settle_cutout
from packshot.render.textures import make_texture
from packshot.segment.orientation import Orientation, turn_cutout
from packshot.types import Cutout, alpha_bbox

from test_pose import _bottle
from test_render_fixtures import product_maps_for

FLATLAYS = sorted(name for name, p in PRESETS.items() if p.view == "top-down")


def _scene(kind: str, h: int, w: int) -> np.ndarray:
    """A backdrop: "studio" (a plain sweep: wall fading into the floor, no texture), "table" (a
    textured table top meeting a plain wall: a horizon), "desk" (wood grain filling the frame,
    seen from above)."""
    ys = np.arange(h, dtype=np.float32)[:, None, None] / h
    if kind == "studio":
        return np.broadcast_to(0.75 + 0.1 * ys, (h, w, 3)).astype(np.float32).copy()
    grain = make_texture("wood", 3)
    grain = cv2.resize(grain, (w, h), interpolation=cv2.INTER_LINEAR)[..., None]
    wood = srgb_to_linear(np.array([0.72, 0.55, 0.36], np.float32)) * (1 - 0.45 * grain) \
        + srgb_to_linear(np.array([0.42, 0.27, 0.16], np.float32)) * 0.45 * grain
    if kind == "desk":
        return wood.astype(np.float32)
    out = wood.copy()
    out[: int(0.35 * h)] = np.clip(wood[: int(0.35 * h)] * 2.2, 0, 1)  # a pale wall of the same grain behind the table
    return out.astype(np.float32)


def _box(backdrop: str = "studio", size=(360, 300)) -> Cutout:
    """A generated labelled box (red, a yellow band with dark print), standing upright, centred on a backdrop."""
    h, w = size
    a = np.zeros((h, w), np.float32)
    a[60:300, 80:220] = 1.0
    rgb = np.zeros((h, w, 3), np.float32)
    rgb[:] = (0.55, 0.04, 0.03)
    rgb[140:200, 90:210] = (0.85, 0.7, 0.05)
    for i in range(5):
        rgb[160:180, 100 + 22 * i:114 + 22 * i] = 0.02  # print
    image = rgb * a[..., None] + _scene(backdrop, h, w) * (1 - a[..., None])
    return Cutout(rgb=rgb, alpha=a, image=image.astype(np.float32), bbox=alpha_bbox(a), confidence=1.0)


def _upright_bottle() -> Cutout:
    cut = _bottle(90, size=300, centre=(150, 150))
    # the bottle's cap upward: a flat base at the bottom
    return Cutout(rgb=cut.rgb, alpha=cut.alpha, image=cut.image, bbox=cut.bbox, confidence=1.0)


# ------------------------------------------------------------------------------------ classes
@pytest.mark.parametrize("turn", [90, 180, 270])
def test_box_turned_upright_by_its_label_is_flatlay(turn):
    """A labelled box the orientation stage turned 90/180/270 degrees (its label read sideways or
    upside down) lay on a surface photographed from above: class flat-lay, recorded in provenance."""
    shot = turn_cutout(_box(), Orientation((360 - turn) % 360, "override", False, {}))  # as photographed
    upright = turn_cutout(shot, Orientation(turn, "text", False, {"reason": "label text"}))
    new, pose = settle_cutout(upright)
    assert pose.pose_class == "flat-lay" and pose.view == "top-down", pose
    rec = new.provenance["params"]["pose"]
    assert rec["class"] == "flat-lay" and f"turned {turn}" in rec["flatlay"]["reasons"][0]


def test_uncertain_orientation_does_not_make_a_flatlay():
    """A turn the orientation stage only suspected (uncertain: turn 0, flag) is no evidence."""
    cut = turn_cutout(_box(), Orientation(0, "text", True, {"reason": "label text disagrees"}))
    _, pose = settle_cutout(cut)
    assert pose.pose_class == "standing", pose


def test_box_lying_askew_is_flatlay_and_laid_level():
    _, pose = settle_cutout(_bottle(28))
    assert pose.kind == "lying" and pose.changed and pose.pose_class == "flat-lay", pose
    assert any("askew" in r for r in pose.evidence["flatlay"]["reasons"])


@pytest.mark.parametrize("make", [_upright_bottle, _box], ids=["bottle", "box"])
def test_upright_product_on_a_studio_backdrop_stays_standing(make):
    new, pose = settle_cutout(make())
    assert pose.pose_class == "standing" and pose.view == "front" and not pose.changed, pose
    assert new.provenance["params"]["pose"]["class"] == "standing"


def test_hand_held_tilt_stood_up_is_not_a_flatlay():
    """A bottle tilted 20 degrees from upright (a hand-held shot) is stood up, and stays front-on."""
    _, pose = settle_cutout(_bottle(70, size=300, centre=(150, 150)))
    assert pose.kind == "standing" and pose.changed and pose.pose_class == "standing", pose


def test_lying_level_product_on_plain_backdrop_is_lying():
    _, pose = settle_cutout(_bottle(0))
    assert pose.pose_class == "lying" and not pose.changed, pose


def test_desk_seen_from_above_is_flatlay_a_table_with_a_horizon_is_not():
    """The backdrop cue: wood grain all around with no horizon says top-down; the same wood meeting
    a wall (a horizon) or a plain sweep says nothing."""
    desk = settle_cutout(_box("desk"))[1]
    assert desk.pose_class == "flat-lay" and desk.evidence["flatlay"]["backdrop"]["surface"] is True, desk.evidence
    for kind in ("table", "studio"):
        pose = settle_cutout(_box(kind))[1]
        assert pose.pose_class == "standing", (kind, pose.evidence["flatlay"])
        assert pose.evidence["flatlay"]["backdrop"]["surface"] is False
    table = settle_cutout(_box("table"))[1].evidence["flatlay"]["backdrop"]
    assert "horizon" in table["reason"] and table["texture"] >= 0.5, table  # textured, but with a horizon


def test_backdrop_cue_needs_backdrop():
    a = np.ones((100, 100), np.float32)
    img = np.full((100, 100, 3), 0.5, np.float32)
    assert backdrop_cue(img, a)["surface"] is None


def test_view_override():
    _, pose = settle_cutout(_bottle(28), view="front")
    assert pose.pose_class == "lying"
    _, pose = settle_cutout(_upright_bottle(), view="top-down")
    assert pose.pose_class == "flat-lay"
    with pytest.raises(ValueError, match="view"):
        settle_cutout(_upright_bottle(), view="sideways")


# ------------------------------------------------------------------------------------ presets
def _flatlay_cut() -> Cutout:
    return settle_cutout(_box(), view="top-down")[0]


def _horizon_step(frame) -> float:
    """Largest change of the background's mean (rows averaged 8 at a time) between rows 8 apart."""
    bg = np.where(frame.product_alpha[..., None] > 0, np.nan, frame.rgb)
    rows = np.nanmean(bg.mean(axis=2), axis=1)
    smooth = np.convolve(rows, np.ones(8) / 8, mode="valid")
    return float(np.nanmax(np.abs(smooth[8:] - smooth[:-8])))


@pytest.mark.parametrize("preset", FLATLAYS)
def test_flatlay_preset_renders_deterministically_top_down(preset):
    cut = _flatlay_cut()
    brief = parse_brief({"scenes": [{"name": "s", "preset": preset, "sizes": ["256x256"], "variants": 2, "seed": 4}]})
    a = [render(s, cut).rgb for s in condition(brief, cut, None, "sku")]
    b = [render(s, cut).rgb for s in condition(brief, cut, None, "sku")]
    for x, y in zip(a, b):
        assert x.dtype == np.float32 and np.array_equal(x, y)
    assert not np.array_equal(a[0], a[1])  # variants differ
    frame = render(condition(brief, cut, None, "sku")[0], cut)
    assert frame.provenance["render"]["scene"]["view"] == "top-down"
    # the surface fills the frame: no horizon (the front view's wood table meeting its wall has one)
    assert _horizon_step(frame) < 0.04, preset
    front = parse_brief({"scenes": [{"name": "s", "preset": "wood", "sizes": ["256x256"], "pose": "keep"}]})
    assert _horizon_step(render(condition(front, cut, None, "sku")[0], cut)) > 0.08
    # centred: the product's box is in the middle of the frame
    x0, y0, x1, y1 = frame.product_box
    assert abs((y0 + y1) / 2 - 128) <= 2 and abs((x0 + x1) / 2 - 128) <= 8


@pytest.mark.parametrize("preset", FLATLAYS)
def test_flatlay_shadow_is_offset_away_from_the_light_with_a_contact_line(preset):
    """Relit on a flat-lay, the product casts a soft shadow offset away from the key (top left ->
    the shadow is to the bottom right), its outline is ringed by a contact shadow (nothing
    floats), and there is no floor reflection."""
    cut = _flatlay_cut()
    maps = product_maps_for(cut.alpha)
    brief = parse_brief({"scenes": [{"name": "s", "preset": preset, "sizes": ["320x320"], "floor": 0.8}]})
    spec = condition(brief, cut, None, "sku")[0]
    assert spec.floor_gloss == 0.0
    frame = render(spec, cut)
    lit = relight(frame, cut, maps)
    assert lit.layers.reflection is None
    dark = np.clip(frame.rgb.mean(axis=2) - lit.rgb.mean(axis=2), 0, None) * (frame.product_alpha < 0.01)
    ys, xs = np.nonzero(dark > 1e-3)
    wsum = dark[ys, xs]
    sx, sy = (xs * wsum).sum() / wsum.sum(), (ys * wsum).sum() / wsum.sum()
    x0, y0, x1, y1 = frame.product_box
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    from packshot.render.flatlay import light_vector
    lx, ly = light_vector(spec.light)
    assert (sx - cx) * lx + (sy - cy) * ly < -1.0, (preset, sx - cx, sy - cy, lx, ly)
    # contact: every side of the outline is darkened right next to it (including toward the light)
    for sl in [(slice(y0 + 10, y1 - 10), x0 - 2), (slice(y0 + 10, y1 - 10), x1 + 1),
               (y0 - 2, slice(x0 + 10, x1 - 10)), (y1 + 1, slice(x0 + 10, x1 - 10))]:
        assert (lit.rgb[sl].mean(axis=-1) < 0.99 * frame.rgb[sl].mean(axis=-1)).all(), (preset, sl)


def test_flatlay_white_stays_pure_white_away_from_the_product():
    cut = _flatlay_cut()
    brief = parse_brief({"scenes": [{"name": "s", "preset": "studio-white", "sizes": ["320x320"], "variants": 2}]})
    for spec in condition(brief, cut, None, "sku"):
        assert spec.preset == "flatlay-white"
        lit = relight(render(spec, cut), cut, product_maps_for(cut.alpha))
        border = np.concatenate([lit.rgb[:8].reshape(-1, 3), lit.rgb[-8:].reshape(-1, 3),
                                 lit.rgb[:, :8].reshape(-1, 3), lit.rgb[:, -8:].reshape(-1, 3)])
        assert border.min() >= 254.5 / 255, border.min()  # the shadow never reaches the frame's edge


def test_flatlay_textures_are_deterministic():
    for kind in ("paper", "stone"):
        t = make_texture(kind, 11, 128)
        assert t.dtype == np.float32 and t.min() >= 0 and t.max() <= 1 and t.std() > 0.02
        assert np.array_equal(t, make_texture(kind, 11, 128)) and not np.array_equal(t, make_texture(kind, 12, 128))


# ------------------------------------------------------------------------------------ routing
DEMO = {"scenes": [{"name": "hero-white", "preset": "studio-white", "floor": 0.25},
                   {"name": "pastel-podium", "preset": "pastel-podium", "backdrop": {"podium_color": "#ff0000"}},
                   {"name": "marble-counter", "preset": "marble", "lighting": {"azimuth": 150}}],
        "defaults": {"sizes": ["256x256"], "variants": 1, "seed": 7}}


def test_counterpart_of_every_standing_preset():
    for name, preset in PRESETS.items():
        if preset.view == "front":
            assert PRESETS[FLATLAY_COUNTERPART[name]].view == "top-down", name


def test_flatlay_product_is_routed_to_flatlay_scenes():
    cut = _flatlay_cut()
    specs = condition(parse_brief(DEMO), cut, None, "sku")
    assert [s.preset for s in specs] == ["flatlay-white", "flatlay-paper", "flatlay-stone"]
    for s, requested in zip(specs, ["studio-white", "pastel-podium", "marble"]):
        routing = s.provenance["params"]["pose_routing"]
        assert routing["requested"] == requested and routing["rendered"] == s.preset
        assert s.backdrop["view"] == "top-down" and s.backdrop["podium"] == "none"
    assert specs[2].light.azimuth == 150  # the brief's own lighting still applies


def test_standing_product_keeps_its_scenes():
    cut = settle_cutout(_upright_bottle())[0]
    specs = condition(parse_brief(DEMO), cut, None, "sku")
    assert [s.preset for s in specs] == ["studio-white", "pastel-podium", "marble"]
    assert all("pose_routing" not in s.provenance["params"] and "view" not in s.backdrop for s in specs)


def test_pose_keep_renders_the_scene_as_written():
    cut = _flatlay_cut()
    raw = {**DEMO, "defaults": {**DEMO["defaults"], "pose": "keep"}}
    specs = condition(parse_brief(raw), cut, None, "sku")
    assert [s.preset for s in specs] == ["studio-white", "pastel-podium", "marble"]
    assert all(s.provenance["params"]["pose_routing"]["reason"].startswith("pose: keep") for s in specs)
    one = {"scenes": [{"name": "a", "preset": "wood", "pose": "keep"}, {"name": "b", "preset": "wood"}]}
    assert [s.preset for s in condition(parse_brief(one), cut, None, "sku")] == ["wood", "flatlay-wood"]


def test_pose_field_is_validated():
    with pytest.raises(BriefError, match=r"scenes\[0\]\.pose"):
        parse_brief({"scenes": [{"name": "a", "pose": "sideways"}]})


def test_scene_digest_changes_only_with_pose_keep():
    from packshot.catalogue.plan import scene_digest

    auto = parse_brief({"scenes": [{"name": "a", "preset": "marble"}]}).scenes[0]
    auto2 = parse_brief({"scenes": [{"name": "a", "preset": "marble", "pose": "auto"}]}).scenes[0]
    keep = parse_brief({"scenes": [{"name": "a", "preset": "marble", "pose": "keep"}]}).scenes[0]
    assert scene_digest(auto) == scene_digest(auto2) != scene_digest(keep)


# ------------------------------------------------------------------------------------ real photos
def _real_pose(photos_dir, photo_id):
    from packshot.imaging import load_image_working
    from packshot.segment import segment
    from packshot.segment.review import review_cutout

    review = review_cutout(segment(load_image_working(photos_dir / "images" / f"{photo_id}.jpg").image))
    return settle_cutout(review.cutout)[1]


@pytest.mark.slow
@pytest.mark.parametrize("photo_id,why", [("apc15_crayola_box", "turned 180"),
                                          ("apc15_stanley_screwdrivers", "textured surface")])
def test_real_desk_photos_are_flatlay(photos_dir, photo_id, why):
    """Phone photos of products lying on a desk, shot from above: upside down (the label turned it),
    or upright on the desk's grain with no horizon (the backdrop says it)."""
    pose = _real_pose(photos_dir, photo_id)
    assert pose.pose_class == "flat-lay", pose.evidence
    assert any(why in r for r in pose.evidence["flatlay"]["reasons"]), pose.evidence["flatlay"]


@pytest.mark.slow
@pytest.mark.parametrize("photo_id", ["gs_oatly_iconic", "gs_tropicana_apple_instore"])
def test_real_studio_photos_stay_standing(photos_dir, photo_id):
    """Studio packshots, and a pack held up in a shop (shelves behind it, not a surface under it)."""
    pose = _real_pose(photos_dir, photo_id)
    assert pose.pose_class == "standing", pose.evidence
