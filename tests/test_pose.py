"""render.pose: products lying askew are laid level (or stood up), several lying products are lined
up, and in every preset the product's lowest point rests on the support surface (nothing floats)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from packshot.condition import PRESETS, condition, parse_brief
from packshot.relight import relight
from packshot.render import render
from packshot.render.geometry import support_mask
from packshot.render.pose import contact_line, estimate_pose, settle_cutout
from packshot.types import Cutout, alpha_bbox

from test_render_fixtures import product_maps_for


def _bottle(angle_ccw: float, size: int = 260, centre=(130, 130), length=150, width=50, canvas=None):
    """A generated bottle (body + neck + cap, a printed band) lying at ``angle_ccw`` degrees from
    horizontal on a light table, as photographed from above. Returns the cut-out."""
    h = w = size if canvas is None else canvas
    alpha = np.zeros((h, w), np.float32)
    cx, cy = centre
    th = np.radians(angle_ccw)
    ux, uy = np.cos(th), -np.sin(th)          # long axis on screen (y down)
    vx, vy = -uy, ux

    def quad(a0, a1, half):
        pts = [(cx + ux * a + vx * s * half, cy + uy * a + vy * s * half) for a, s in ((a0, -1), (a1, -1), (a1, 1), (a0, 1))]
        return np.round(np.array(pts) * 8).astype(np.int32)

    cv2.fillPoly(alpha, [quad(-length / 2, length / 4, width / 2)], 1.0, lineType=cv2.LINE_AA, shift=3)
    cv2.fillPoly(alpha, [quad(length / 4, length / 2, width / 5)], 1.0, lineType=cv2.LINE_AA, shift=3)
    rgb = np.zeros((h, w, 3), np.float32)
    rgb[:] = (0.05, 0.25, 0.6)
    table = np.full((h, w, 3), 0.8, np.float32)
    image = rgb * alpha[..., None] + table * (1 - alpha[..., None])
    return Cutout(rgb=rgb, alpha=alpha, image=image.astype(np.float32), bbox=alpha_bbox(alpha), confidence=1.0)


@pytest.mark.parametrize("angle,kind,rotation", [(90, "standing", 0.0), (0, "lying", 0.0), (30, "lying", -30.0),
                                                 (-25, "lying", 25.0), (65, "standing", 25.0), (-70, "standing", -20.0)])
def test_pose_classes(angle, kind, rotation):
    pose = estimate_pose(_bottle(angle).alpha)
    assert pose.kind == kind, pose
    assert pose.rotation == pytest.approx(rotation, abs=2.0), pose


def test_round_product_is_not_turned():
    a = np.zeros((200, 200), np.float32)
    cv2.circle(a, (100, 100), 60, 1.0, -1)
    assert estimate_pose(a).rotation == 0.0


@pytest.mark.parametrize("angle", [30, -40, 65])
def test_settled_bottle_is_level_and_keeps_its_pixels(angle):
    cut = _bottle(angle)
    new, pose = settle_cutout(cut)
    assert pose.changed
    # after the turn the long axis is horizontal or vertical
    again = estimate_pose(new.alpha)
    assert min(abs(again.evidence["axis_deg"]), 90 - abs(again.evidence["axis_deg"])) < 2.0
    # a rigid turn: the area and the colour are the product's
    assert new.alpha.sum() == pytest.approx(cut.alpha.sum(), rel=0.01)
    solid = new.alpha > 0.99
    np.testing.assert_allclose(new.rgb[solid].mean(axis=0), (0.05, 0.25, 0.6), atol=2e-3)
    assert new.provenance["params"]["pose"]["kind"] == pose.kind


def test_upright_product_keeps_its_pixels():
    cut = _bottle(90)
    new, pose = settle_cutout(cut)
    assert not pose.changed and new.alpha is cut.alpha and new.rgb is cut.rgb


def test_several_products_lying_askew_are_lined_up_on_one_base():
    a = _bottle(35, canvas=420, centre=(120, 150))
    b = _bottle(-20, canvas=420, centre=(300, 300))
    alpha = np.maximum(a.alpha, b.alpha)
    rgb = np.where((b.alpha > a.alpha)[..., None], b.rgb, a.rgb)
    cut = Cutout(rgb=rgb, alpha=alpha, image=np.maximum(a.image, b.image) * 0 + a.image * (1 - b.alpha[..., None]) +
                 b.image * b.alpha[..., None], bbox=alpha_bbox(alpha), confidence=1.0)
    new, pose = settle_cutout(cut)
    assert pose.changed and pose.evidence["lined_up"] and len(pose.evidence["parts"]) == 2
    n, labels, stats, _ = cv2.connectedComponentsWithStats((new.alpha > 0.5).astype(np.uint8))
    assert n == 3
    bottoms = [stats[i, cv2.CC_STAT_TOP] + stats[i, cv2.CC_STAT_HEIGHT] for i in (1, 2)]
    assert abs(bottoms[0] - bottoms[1]) <= 1          # both rest on one line
    assert new.alpha.sum() == pytest.approx(alpha.sum(), rel=0.02)


def _lowest_row(alpha: np.ndarray) -> int:
    return int(np.flatnonzero((alpha > 0.5).any(axis=1))[-1])


def test_unsettled_askew_bottle_balances_on_a_corner():
    """What the pose step fixes: as shot, the askew bottle touches the floor at one corner."""
    cut = _bottle(28)
    line = contact_line(cut.alpha)
    box = cut.bbox
    assert line["x1"] - line["x0"] < 0.15 * (box[2] - box[0])


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_nothing_floats_in_any_preset(preset):
    """A bottle photographed lying askew, settled, rendered and relit in every preset: its lowest
    row touches the support line (the floor line / podium top) within 2 px, that contact lies on
    the support surface, and the contact shadow darkens the scene right under it."""
    cut, _ = settle_cutout(_bottle(28))
    maps = product_maps_for(cut.alpha)
    brief = parse_brief({"scenes": [{"name": "s", "preset": preset, "sizes": ["320x320"]}]})
    spec = condition(brief, cut, None, "sku")[0]
    frame = render(spec, cut)
    low = _lowest_row(frame.product_alpha)
    assert abs(low - spec.floor_y) <= 2.0, (preset, low, spec.floor_y)
    line = contact_line(frame.product_alpha)
    # it rests on its side, along a contact line, not balanced on a corner
    box = frame.product_box
    assert line["x1"] - line["x0"] >= 0.3 * (box[2] - box[0]), (preset, line, box)
    support = frame.provenance["render"]["scene"].get("support", {"kind": "all"})
    if support.get("kind", "all") != "all":
        mask = support_mask(support, spec.canvas)
        xs = np.arange(int(line["x0"]), int(line["x1"]) + 1)
        y = min(int(round(line["y"])) + 1, spec.canvas[1] - 1)
        assert mask[y, xs].mean() > 0.9, (preset, support)
    lit = relight(frame, cut, maps)
    # contact shadow: the scene just under the contact is darker after relight
    y = int(line["y"]) + 2
    xc = int((line["x0"] + line["x1"]) / 2)
    under = (slice(y, y + 3), slice(xc - 3, xc + 4))
    assert lit.rgb[under].mean() < frame.rgb[under].mean() - 1e-3, preset


def test_parts_of_one_product_are_not_rearranged():
    """A round product with a separate askew bar beside it (a pack's parts, a broken cut-out): kept as shot."""
    bar = _bottle(30, canvas=400, centre=(290, 200), length=170, width=50)
    alpha = bar.alpha.copy()
    cv2.circle(alpha, (110, 200), 70, 1.0, -1)
    cut = Cutout(rgb=bar.rgb, alpha=alpha, image=bar.image, bbox=alpha_bbox(alpha), confidence=1.0)
    new, pose = settle_cutout(cut)
    assert not pose.changed and new.alpha is cut.alpha


def pose_parts(cut):
    from packshot.render.pose import PoseConfig, _components

    a = cut.alpha
    return [estimate_pose(np.where(p, a, 0.0)) for p in _components(a, PoseConfig().min_part_share)]


def test_lines_of_print_are_not_lined_up():
    """Flat artwork: many elongated level parts (lines of text), one askew: kept as shot."""
    bar = _bottle(40, canvas=600, centre=(200, 480), length=150, width=40)
    alpha = bar.alpha.copy()
    for i in range(5):
        alpha[30 + 60 * i:70 + 60 * i, 40:360] = 1.0
    cut = Cutout(rgb=bar.rgb, alpha=alpha, image=bar.image, bbox=alpha_bbox(alpha), confidence=1.0)
    assert sum(abs(p.rotation) > 0 for p in pose_parts(cut)) == 1
    new, pose = settle_cutout(cut)
    assert not pose.changed


def test_a_product_that_would_stand_on_a_point_is_laid_level():
    """A tapering product (a blade, a pen) tilted nearer upright: stood up it would rest on its tip."""
    a = np.zeros((300, 300), np.float32)
    tri = np.array([[150, 20], [175, 270], [125, 270]], np.float32)
    th = np.radians(-20)   # tilt it 20 degrees from vertical
    rot = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    pts = (tri - 150) @ rot.T + 150
    cv2.fillPoly(a, [np.round(pts).astype(np.int32)], 1.0)
    a = a[::-1].copy()     # tip down
    pose = estimate_pose(a)
    assert pose.kind == "lying" and "point" in pose.evidence["reason"], pose
    new, _ = settle_cutout(Cutout(rgb=np.zeros(a.shape + (3,), np.float32), alpha=a, image=None,
                                  bbox=alpha_bbox(a), confidence=1.0))
    line = contact_line(new.alpha)
    assert line["x1"] - line["x0"] > 0.3 * (new.bbox[2] - new.bbox[0])


def test_an_uneven_outline_shot_straight_is_not_askew():
    """Scissors shot straight, one big and one small handle: the outline's rectangle leans by more
    than min_tilt, the mass of the product does not: kept as shot (they were laid on a diagonal)."""
    from packshot.render.pose import PoseConfig, _axis

    a = np.zeros((460, 300), np.float32)
    cv2.rectangle(a, (138, 190), (162, 450), 1.0, -1)                     # the blades, upright
    cv2.ellipse(a, (105, 100), (60, 90), 0, 0, 360, 1.0, 22)              # the big handle, left
    cv2.ellipse(a, (200, 120), (35, 60), 0, 0, 360, 1.0, 16)              # the small handle, right
    cv2.rectangle(a, (128, 170), (172, 210), 1.0, -1)                     # the pivot
    elongation, angle = _axis(a > 0.5)
    assert elongation >= PoseConfig.min_elongation and min(abs(angle), 90 - abs(angle)) >= PoseConfig.min_tilt
    pose = estimate_pose(a)
    assert pose.kind == "standing" and not pose.changed and "mass axis" in pose.evidence["reason"], pose


@pytest.mark.slow
def test_real_lying_bottles_rest_on_one_line(photos_dir):
    """cg_153: bottles lying on a sheet, photographed from above: settled, each rests on the base line."""
    from packshot.imaging import load_image_working
    from packshot.segment import segment

    cut = segment(load_image_working(photos_dir / "images" / "cg_153_opaque_bottles.jpg").image)
    new, pose = settle_cutout(cut)
    assert pose.changed and pose.kind == "lying"
    n, labels, stats, _ = cv2.connectedComponentsWithStats((new.alpha > 0.5).astype(np.uint8))
    big = [i for i in range(1, n) if stats[i, cv2.CC_STAT_AREA] > 0.1 * stats[1:, cv2.CC_STAT_AREA].max()]
    bottoms = [stats[i, cv2.CC_STAT_TOP] + stats[i, cv2.CC_STAT_HEIGHT] for i in big]
    assert len(big) >= 2 and max(bottoms) - min(bottoms) <= 2, bottoms


@pytest.mark.slow
@pytest.mark.parametrize("photo_id", ["gs_oatly_iconic", "abo_vitamin_bottle", "arc17_wine_glass", "arc17_scissors"])
def test_real_upright_products_are_not_turned(photos_dir, photo_id):
    from packshot.imaging import load_image_working
    from packshot.segment import segment

    cut = segment(load_image_working(photos_dir / "images" / f"{photo_id}.jpg").image)
    assert not settle_cutout(cut)[1].changed
