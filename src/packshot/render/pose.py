"""Pose: is the product standing or lying, and how does it rest on the support surface?

Products photographed from above lying on a table (a clear bottle on a sheet, a tube on a desk)
arrive tilted at the angle they lay. Stood on a podium as shot they balance on one corner of
their box and look as if they float. :func:`estimate_pose` classes a cut-out from its silhouette:

* **askew**: the silhouette is elongated (the long side of its minimum-area rectangle at least
  ``min_elongation`` times the short side) and its long axis is tilted away from both the vertical
  and the horizontal by at least ``min_tilt`` degrees: a product lying at an angle. It is turned
  by the smaller turn that makes its long axis horizontal (class **lying**: it lies on its side)
  or vertical (class **standing**: stood up, its label already upright from the orientation
  stage); its lowest points, the contact line, then rest on the support surface;
* otherwise it is kept as shot: **lying** when elongated and level, else **standing**. The
  rectangle's tilt must be borne out by the mass of the product (the principal axis of its
  pixels): scissors shot straight, with one big and one small handle, have a leaning rectangle
  and an upright mass, and are kept as shot.

:func:`settle_cutout` applies the turn to a :class:`~packshot.types.Cutout` (colour resampled
premultiplied, like the placement warp, so the backdrop colour never bleeds into the edge; the
photo turned with it, its corners filled by replication) and records the pose in the cut-out's
provenance. The condition stage then stands the product's box on the floor line or podium top,
so its lowest alpha row is the support line and relight's contact shadow falls there.
:func:`contact_line` reports where a cut-out touches the ground (its lowest rows).

The **view** is classed too (:func:`classify_view`, run by :func:`settle_cutout`): a product
photographed from above lying on a surface is class **flat-lay** (``Pose.view == "top-down"``,
``Pose.pose_class == "flat-lay"``): its label had to be turned 90/180/270 degrees, it lay askew,
or the backdrop around it is one textured surface with no horizon (:func:`backdrop_cue`). The
condition stage then renders it in the scene's flat-lay counterpart
(:data:`packshot.condition.presets.FLATLAY_COUNTERPART`) unless the brief says ``pose: keep``.
The class, view and evidence are recorded with the pose (``provenance["params"]["pose"]``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..types import Cutout, alpha_bbox

POSES = ("standing", "lying")
"""How a product rests (``Pose.kind``)."""
CLASSES = ("standing", "lying", "flat-lay")
"""The pose class of a cut-out (``Pose.pose_class``): flat-lay when it was photographed from above
lying on a surface (``Pose.view == "top-down"``), else how it rests."""
VIEWS = ("front", "top-down")


@dataclass(frozen=True)
class PoseConfig:
    """Thresholds of :func:`estimate_pose`."""

    min_elongation: float = 1.6
    """Long side over short side of the silhouette's rectangle for its axis to mean anything."""
    min_tilt: float = 12.0
    """Degrees the long axis must be away from both vertical and horizontal to count as lying askew
    (a hand-held shot tilts a standing bottle a few degrees)."""
    min_part_share: float = 0.25
    """A separate part of the cut-out is a product of its own when its area is at least this share
    of the largest one's (smaller bits go with the nearest product)."""
    min_base_share: float = 0.3
    """Stood up, the base (lowest ``base_rows`` of the height) must span this share of the product's
    width, or it would stand on a point and is laid level instead."""
    base_rows: float = 0.04
    max_parts: float = 6
    """More separate parts than this are not products lying about (lines of print on flat artwork)."""
    contact_px: float = 2.0
    """Rows within this many pixels of the lowest product row form the contact line."""
    desk_texture: float = 0.5
    """Median absolute fine detail (L*, 0..100, high-pass at ``desk_detail_sigma`` px of the
    backdrop read at most ``desk_side`` px) a backdrop needs to count as a textured surface (wood
    grain, paper fibre, fabric): the desk photos of ../shared/photos read 0.7-0.85, studio sweeps
    and plain sheets below 0.1."""
    desk_detail_sigma: float = 1.5
    desk_side: int = 512
    desk_max_colour_spread: float = 14.0
    """The surface is one material: the backdrop's a*/b* spread (standard deviation, both axes
    together) stays below this (a shop shelf behind a hand-held pack reads far above)."""
    desk_max_step: float = 20.0
    """A floor-wall or table edge: a step of the backdrop's mean L* between rows (or columns) 1 %
    of the side apart larger than this means a horizon, so the photo was not shot from above (the
    desk photos read 8-14 from grain and light fall-off; a sweep's or a table's edge 29-42)."""
    desk_max_structure: float = 10.0
    """Objects and edges around it (shelves behind a hand-held pack, clutter): the 90th percentile
    of the backdrop's L* gradient (per pixel, at a 3 px scale) above this is not one bare surface
    (the desk photos read 3.4-7.3; the in-store photos 22-33)."""
    desk_min_share: float = 0.02
    """Backdrop pixels (alpha < 0.02, off the product's edge) needed for the backdrop to say anything."""


@dataclass(frozen=True)
class Pose:
    """The decision of :func:`estimate_pose`.

    Attributes
    ----------
    kind : "standing" or "lying".
    rotation : counter-clockwise degrees to turn the cut-out so it rests (0: kept as shot).
    evidence : elongation, long-axis angle (degrees from horizontal, counter-clockwise) and tilt.
    """

    kind: str
    rotation: float
    evidence: dict[str, Any] = field(default_factory=dict)
    view: str = "front"
    """"top-down": photographed from above lying on a surface (class flat-lay, see
    :func:`classify_view`); "front": shot from the front (or not known otherwise)."""

    @property
    def changed(self) -> bool:
        """The cut-out's pixels were moved (turned, or several products lined up)."""
        return abs(self.rotation) > 1e-6 or bool(self.evidence.get("lined_up"))

    @property
    def pose_class(self) -> str:
        """"flat-lay" for a top-down view, else the kind ("standing" or "lying")."""
        return "flat-lay" if self.view == "top-down" else self.kind

    def as_record(self) -> dict[str, Any]:
        return {"kind": self.kind, "class": self.pose_class, "view": self.view,
                "rotation": round(float(self.rotation), 3), **self.evidence}


def _axis(mask: np.ndarray) -> tuple[float, float] | None:
    """(elongation, angle of the long axis in degrees counter-clockwise from horizontal, in
    (-90, 90]) of the mask's minimum-area rectangle; None for an empty mask."""
    import cv2

    ys, xs = np.nonzero(mask)
    if ys.size < 8:
        return None
    pts = np.stack([xs, ys], axis=1).astype(np.float32)
    hull = cv2.convexHull(pts)
    (_, _), (w, h), ang = cv2.minAreaRect(hull)
    if min(w, h) <= 0:
        return None
    # OpenCV: the side of length w makes angle `ang` (degrees, clockwise on screen, y down) with
    # the x axis; turn it into the long side's angle counter-clockwise (y up)
    long_cw = ang if w >= h else ang + 90.0
    long_ccw = -long_cw
    long_ccw = (long_ccw + 90.0) % 180.0 - 90.0
    if long_ccw <= -90.0:
        long_ccw += 180.0
    return float(max(w, h) / min(w, h)), float(long_ccw)


def _mass_axis(mask: np.ndarray) -> float | None:
    """Angle (degrees counter-clockwise from horizontal, in (-90, 90]) of the mask's principal axis
    (second moments of its pixels); None when it has no direction."""
    ys, xs = np.nonzero(mask)
    if ys.size < 8:
        return None
    x = xs - xs.mean()
    y = -(ys - ys.mean())  # y up
    cxx, cyy, cxy = float((x * x).mean()), float((y * y).mean()), float((x * y).mean())
    if abs(cxx - cyy) < 1e-9 and abs(cxy) < 1e-9:
        return None
    angle = 0.5 * float(np.degrees(np.arctan2(2.0 * cxy, cxx - cyy)))
    return angle + 180.0 if angle <= -90.0 else angle


def estimate_pose(alpha: np.ndarray, config: PoseConfig = PoseConfig()) -> Pose:
    """Class a silhouette standing or lying and the turn that lays a lying one level."""
    mask = np.asarray(alpha, np.float32) > 0.5
    axis = _axis(mask)
    if axis is None:
        return Pose("standing", 0.0, {"reason": "no silhouette"})
    elongation, angle = axis
    from_horizontal = abs(angle)
    from_vertical = 90.0 - from_horizontal
    tilt = min(from_horizontal, from_vertical)
    evidence = {"elongation": round(elongation, 3), "axis_deg": round(angle, 2), "tilt_deg": round(tilt, 2)}
    if elongation < config.min_elongation:
        return Pose("standing", 0.0, {**evidence, "reason": "not elongated: no axis to lie along"})
    if tilt < config.min_tilt:
        kind = "lying" if from_horizontal < from_vertical else "standing"
        return Pose(kind, 0.0, {**evidence, "reason": "level as shot"})
    mass = _mass_axis(mask)
    mass_tilt = 0.0 if mass is None else min(abs(mass), 90.0 - abs(mass))
    evidence["mass_axis_deg"] = None if mass is None else round(mass, 2)
    if mass_tilt < config.min_tilt:
        # the rectangle leans only because the outline is uneven (scissors with one big and one
        # small handle shot straight): the mass of the product lies level or upright, as shot
        kind = "lying" if mass is not None and abs(mass) < 45.0 else "standing"
        return Pose(kind, 0.0, {**evidence, "reason": "level as shot (its mass axis is level; the outline's "
                                                      "rectangle leans from an uneven outline)"})
    # askew: turn the long axis to the nearer of horizontal (laid level on its side) and vertical
    # (stood up: the orientation stage has already put its label upright), the smaller turn
    if from_horizontal <= from_vertical:
        return Pose("lying", -angle, {**evidence, "reason": "elongated and tilted: laid level on its side"})
    turn = (90.0 - angle) if angle > 0 else (-90.0 - angle)
    base = _base_share(mask, turn, config.base_rows)
    evidence["stood_base_share"] = round(base, 3)
    if base < config.min_base_share:
        # stood up it would balance on a point (scissors on their tip): laid level instead
        return Pose("lying", -angle, {**evidence, "reason": "elongated and tilted; stood up it would rest on a "
                                                            "point: laid level on its side"})
    return Pose("standing", turn, {**evidence, "reason": "elongated and tilted nearer upright: stood up"})


def _base_share(mask: np.ndarray, degrees: float, rows: float) -> float:
    """Width of the base (the product's lowest ``rows`` share of its height) over its whole width,
    once the mask is turned counter-clockwise by ``degrees``."""
    ys, xs = np.nonzero(mask)
    th = np.radians(degrees)
    c, s = np.cos(th), np.sin(th)
    # cv2's rotation (counter-clockwise on screen, y down): x' = c x + s y, y' = -s x + c y
    xr = c * xs + s * ys
    yr = -s * xs + c * ys
    height = float(np.ptp(yr)) or 1.0
    low = yr >= yr.max() - rows * height
    return float(np.ptp(xr[low])) / max(float(np.ptp(xr)), 1.0)


def _rotation_matrix(shape: tuple[int, int], degrees: float) -> tuple[np.ndarray, tuple[int, int]]:
    """2 x 3 matrix turning an image of ``shape`` (h, w) counter-clockwise by ``degrees`` about its
    centre into a canvas large enough for all of it; and that canvas (w, h)."""
    import cv2

    h, w = shape
    m = cv2.getRotationMatrix2D(((w - 1) / 2.0, (h - 1) / 2.0), degrees, 1.0)
    c, s = abs(m[0, 0]), abs(m[0, 1])
    nw = int(np.ceil(w * c + h * s))
    nh = int(np.ceil(w * s + h * c))
    m[0, 2] += (nw - w) / 2.0
    m[1, 2] += (nh - h) / 2.0
    return m, (nw, nh)


def _turned(layer: np.ndarray, degrees: float, border: int) -> np.ndarray:
    import cv2

    m, size = _rotation_matrix(layer.shape[:2], degrees)
    return cv2.warpAffine(np.ascontiguousarray(layer, np.float32), m, size, flags=cv2.INTER_LINEAR,
                          borderMode=border, borderValue=0)


def _turn_product(rgb: np.ndarray, alpha: np.ndarray, image: np.ndarray | None, degrees: float
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Colour (resampled premultiplied), alpha and photo turned counter-clockwise by ``degrees``
    into a canvas that holds all of them; the photo's new corners are filled by replication."""
    import cv2

    a = np.asarray(alpha, np.float32)
    if abs(degrees) < 1e-6:
        return np.asarray(rgb, np.float32), a, None if image is None else np.asarray(image, np.float32)
    src = np.concatenate([np.asarray(rgb, np.float32) * a[..., None], a[..., None]], axis=2)
    warped = _turned(src, degrees, cv2.BORDER_CONSTANT)
    new_a = np.clip(warped[..., 3], 0.0, 1.0).astype(np.float32)
    new_rgb = np.zeros(warped.shape[:2] + (3,), np.float32)
    np.divide(warped[..., :3], new_a[..., None], out=new_rgb, where=new_a[..., None] > 1e-4)
    new_img = None if image is None else _turned(image, degrees, cv2.BORDER_REPLICATE)
    return np.clip(new_rgb, 0.0, 1.0), new_a, new_img


def _components(alpha: np.ndarray, min_share: float) -> list[np.ndarray]:
    """Masks (bool) of the separate products in a cut-out: connected parts of alpha > 0.5 with at
    least ``min_share`` of the largest one's area; every other product pixel (soft edge, a stray
    bit) goes with the nearest of them. One mask when there is one product."""
    import cv2
    from scipy import ndimage

    solid = (alpha > 0.5).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(solid, connectivity=8)
    if n <= 2:
        return [alpha > 0.0]
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = [i + 1 for i, area in enumerate(areas) if area >= max(min_share * areas.max(), 64)]
    if len(keep) <= 1:
        return [alpha > 0.0]
    seed = np.where(np.isin(labels, keep), labels, 0)
    _, (iy, ix) = ndimage.distance_transform_edt(seed == 0, return_indices=True)
    nearest = seed[iy, ix]
    return [(nearest == k) & (alpha > 0.0) for k in keep]


def backdrop_cue(image: np.ndarray | None, alpha: np.ndarray, config: PoseConfig = PoseConfig()) -> dict[str, Any]:
    """What the photo's backdrop around the product says about the view (JSON-ready).

    Read on the photo where alpha < 0.02, a few pixels off the product's edge, at most
    ``config.desk_side`` px: ``texture`` (median absolute fine detail of L*), ``colour_spread``
    (a*/b* standard deviation), ``structure`` (objects and edges: the 90th percentile of the L*
    gradient), ``step`` (the largest change of the mean L* between rows, or
    between columns, 1 % of the side apart: a floor-wall line, a table edge) and ``surface``:
    True when the backdrop is one textured material with no horizon (a desk or a table seen from
    above), False when it is plain, mixed or has a horizon, None when too little of it shows.
    """
    import cv2

    from ..imaging import linear_to_srgb

    if image is None:
        return {"surface": None, "reason": "no photo"}
    a = np.asarray(alpha, np.float32)
    h, w = a.shape
    k = min(1.0, config.desk_side / max(h, w))
    size = (max(8, int(round(w * k))), max(8, int(round(h * k))))
    img = cv2.resize(np.asarray(image, np.float32), size, interpolation=cv2.INTER_AREA) if k < 1 else \
        np.asarray(image, np.float32)
    a_s = cv2.resize(a, size, interpolation=cv2.INTER_AREA) if k < 1 else a
    product = (a_s >= 0.02).astype(np.uint8)
    margin = max(2, int(round(3 * config.desk_detail_sigma)))
    near = cv2.dilate(product, np.ones((2 * margin + 1, 2 * margin + 1), np.uint8)) > 0
    border = np.zeros_like(near)
    border[:margin], border[-margin:], border[:, :margin], border[:, -margin:] = True, True, True, True
    bg = ~near & ~border
    share = float(bg.mean())
    out: dict[str, Any] = {"share": round(share, 4)}
    if share < config.desk_min_share:
        return {**out, "surface": None, "reason": "too little backdrop shows"}
    lab = cv2.cvtColor(np.clip(linear_to_srgb(np.clip(img, 0.0, 1.0)), 0.0, 1.0).astype(np.float32),
                       cv2.COLOR_RGB2Lab)
    L = lab[..., 0]
    detail = np.abs(L - cv2.GaussianBlur(L, (0, 0), config.desk_detail_sigma))
    texture = float(np.median(detail[bg]))
    ab = lab[..., 1:][bg]
    spread = float(np.sqrt(ab.var(axis=0).sum()))
    Ls = cv2.GaussianBlur(L, (0, 0), 3.0)
    grad = np.hypot(cv2.Sobel(Ls, cv2.CV_32F, 1, 0), cv2.Sobel(Ls, cv2.CV_32F, 0, 1))
    structure = float(np.percentile(grad[bg], 90))
    step = 0.0
    for axis in (1, 0):  # the mean of each row (axis 1), then of each column
        count = bg.sum(axis=axis)
        side = bg.shape[1 - axis]
        valid = count >= 0.3 * side
        if valid.sum() < 8:
            continue
        mean = np.where(valid, (L * bg).sum(axis=axis) / np.maximum(count, 1), 0.0)
        d = max(2, int(round(0.01 * len(mean))))
        pair = valid[d:] & valid[:-d]
        if pair.any():
            step = max(step, float(np.abs(mean[d:] - mean[:-d])[pair].max()))
    out.update(texture=round(texture, 3), colour_spread=round(spread, 3), structure=round(structure, 3),
               step=round(step, 3))
    if texture < config.desk_texture:
        return {**out, "surface": False, "reason": "plain backdrop (a studio sweep or sheet)"}
    if spread > config.desk_max_colour_spread:
        return {**out, "surface": False, "reason": "mixed colours around it (a scene, not one surface)"}
    if structure > config.desk_max_structure:
        return {**out, "surface": False, "reason": "objects or edges around it (a scene, not one bare surface)"}
    if step > config.desk_max_step:
        return {**out, "surface": False, "reason": "a horizon or edge crosses the backdrop"}
    return {**out, "surface": True, "reason": "one textured surface all around, no horizon"}


def classify_view(cutout: Cutout, pose: Pose, config: PoseConfig = PoseConfig(), before: Cutout | None = None
                  ) -> Pose:
    """``pose`` with ``view="top-down"`` (class flat-lay) when the evidence says the product was
    photographed from above, lying on a surface; else ``pose`` with its evidence of the view.

    Evidence, any one of which is enough (each is recorded under ``flatlay``):

    * the orientation stage turned it 90, 180 or 270 degrees (``provenance["params"]["orientation"]``):
      its label read sideways or upside down, and nothing stands on its side or its head on a
      floor in front of a camera: it lay on a surface under it;
    * it lay askew and was laid level (a product standing in front of a camera stands level; a
      hand-held tilt of a few degrees is below ``min_tilt``), or several products lay askew;
    * the backdrop around it is one textured surface with no horizon (:func:`backdrop_cue`: a
      desk or a table top seen from above).

    A plain studio backdrop alone never makes a flat-lay, nor does a product stood up from a
    tilt (a hand-held bottle), so a front-on studio packshot of a standing product keeps its class.
    ``before`` is the cut-out before the pose turned it (its backdrop is read; default ``cutout``).
    """
    src = before if before is not None else cutout
    reasons: list[str] = []
    orient = dict(src.provenance.get("params", {}).get("orientation") or {})
    turn = int(orient.get("turn", 0) or 0) % 360
    if turn in (90, 180, 270) and orient.get("source") in ("text", "override"):
        reasons.append(f"turned {turn} degrees upright ({orient.get('source')}): it lay on a surface, "
                       f"photographed from above")
    parts = pose.evidence.get("parts") or []
    if pose.kind == "lying" and abs(pose.rotation) > 1e-6:
        reasons.append("it lay askew (laid level)")
    elif pose.evidence.get("lined_up") and any(abs(p.get("rotation", 0.0)) > 1e-6 for p in parts):
        reasons.append("several products lay askew (lined up)")
    cue = backdrop_cue(src.image, src.alpha, config)
    if cue.get("surface"):
        reasons.append("a textured surface all around it with no horizon (a desk seen from above)")
    evidence = {**pose.evidence, "flatlay": {"reasons": reasons, "backdrop": cue}}
    view = "top-down" if reasons else "front"
    return dataclasses.replace(pose, view=view, evidence=evidence)


def settle_cutout(cutout: Cutout, pose: Pose | None = None, config: PoseConfig = PoseConfig(),
                  view: str = "auto") -> tuple[Cutout, Pose]:
    """The cut-out turned to rest, with the pose in ``provenance["params"]["pose"]``.

    ``view``: "auto" classes the view (:func:`classify_view`: flat-lay when photographed from
    above), "front" or "top-down" set it.

    One product: turned by its pose's rotation (a pose without a turn keeps the pixels). Several
    separate products of which some lie askew (bottles lying on a sheet, photographed from above):
    each is turned to rest on its own (rigidly: its pixels only resampled) and they are lined up
    left to right in their photo order, bottoms on one line, so every one of them rests on the
    support surface instead of the back ones floating above it.
    """
    if view not in ("auto", *VIEWS):
        raise ValueError(f"view must be auto, front or top-down, got {view!r}")
    new, pose = _settle(cutout, pose, config)
    if view == "auto":
        pose = classify_view(new, pose, config, before=cutout)
    else:
        pose = dataclasses.replace(pose, view=view, evidence={**pose.evidence, "flatlay": {"reasons": [f"view {view}"]}})
    prov = dict(new.provenance)
    params = dict(prov.get("params", {}))
    params["pose"] = {**pose.as_record(), **({"lined_up": True} if pose.evidence.get("lined_up") else {})}
    prov["params"] = params
    return dataclasses.replace(new, provenance=prov), pose


def _settle(cutout: Cutout, pose: Pose | None, config: PoseConfig) -> tuple[Cutout, Pose]:
    a = np.asarray(cutout.alpha, np.float32)
    parts = _components(a, config.min_part_share) if pose is None else [a > 0.0]
    if len(parts) > 1:
        poses = [estimate_pose(np.where(p, a, 0.0), config) for p in parts]
        # several whole products lying about (each elongated, at least half of them askew, a few);
        # fragments of one product (a broken cut-out, a pack's parts, lines of print) stay as shot
        askew = sum(1 for p in poses if abs(p.rotation) > 1e-6)
        if len(parts) <= config.max_parts and 2 * askew >= len(parts) \
                and all(p.evidence.get("elongation", 0.0) >= config.min_elongation for p in poses):
            return _line_up(cutout, parts, poses, config)
        # separate parts that are not all lying products: their union has no axis to turn by
        pose = Pose("standing", 0.0, {"reason": f"{len(parts)} separate parts, not all elongated products: "
                                                f"kept as shot", "parts": [p.as_record() for p in poses]})
    pose = pose if pose is not None else estimate_pose(a, config)
    prov = dict(cutout.provenance)
    params = dict(prov.get("params", {}))
    params["pose"] = pose.as_record()
    prov["params"] = params
    if abs(pose.rotation) < 1e-6:
        return dataclasses.replace(cutout, provenance=prov), pose
    rgb, alpha, image = _turn_product(cutout.rgb, a, cutout.image, pose.rotation)
    return dataclasses.replace(cutout, rgb=rgb, alpha=alpha, image=image, bbox=alpha_bbox(alpha),
                               provenance=prov), pose


def _line_up(cutout: Cutout, parts: list[np.ndarray], poses: list[Pose], config: PoseConfig
             ) -> tuple[Cutout, Pose]:
    import cv2

    a = np.asarray(cutout.alpha, np.float32)
    h, w = a.shape
    margin = max(8, int(round(0.02 * max(h, w))))
    image = np.asarray(cutout.image if cutout.image is not None else cutout.rgb, np.float32)
    backdrop = np.median(image[a < 0.02].reshape(-1, 3), axis=0) if (a < 0.02).any() else np.zeros(3, np.float32)
    from scipy import ndimage

    pieces = []
    for part, pose in zip(parts, poses):
        solid = part & (a > 0.5)
        ys, xs = np.nonzero(solid)
        x0, x1 = max(int(xs.min()) - margin, 0), min(int(xs.max()) + margin + 1, w)
        y0, y1 = max(int(ys.min()) - margin, 0), min(int(ys.max()) + margin + 1, h)
        # the soft matte around the product comes with it, fading out within the margin (a faint
        # haze of alpha farther away, a shadow the segmenter half kept, would end at a hard edge)
        dist = ndimage.distance_transform_edt(~solid[y0:y1, x0:x1])
        fade = np.clip((margin - dist) / (0.5 * margin), 0.0, 1.0)
        pa = (np.where(part, a, 0.0)[y0:y1, x0:x1] * fade).astype(np.float32)
        rgb, pa, img = _turn_product(cutout.rgb[y0:y1, x0:x1], pa, image[y0:y1, x0:x1], pose.rotation)
        box = alpha_bbox(pa, threshold=0.0)
        if box is None:
            continue
        bx0, by0, bx1, by1 = box
        solid = alpha_bbox(pa)
        bottom = solid[3] if solid is not None else by1
        pieces.append((float(xs.mean()), rgb, pa, img, (bx0, by0, bx1, by1), bottom, pose))
    pieces.sort(key=lambda p: p[0])
    heights = [p[5] - p[4][1] for p in pieces]
    widths = [p[4][2] - p[4][0] for p in pieces]
    gap = int(round(0.08 * float(np.median(widths))))
    H = max(heights) + max(p[4][3] - p[5] for p in pieces) + 2 * margin
    W = sum(widths) + gap * (len(pieces) - 1) + 2 * margin
    base = margin + max(heights)
    out_rgb = np.zeros((H, W, 3), np.float32)
    out_a = np.zeros((H, W), np.float32)
    out_img = np.empty((H, W, 3), np.float32)
    out_img[:] = backdrop
    x = margin
    for _, rgb, pa, img, (bx0, by0, bx1, by1), bottom, _ in pieces:
        # the piece's crop (its product box) goes so that its lowest solid row lands on the base line
        top = base - (bottom - by0)
        sl = (slice(top, top + (by1 - by0)), slice(x, x + (bx1 - bx0)))
        win_a = pa[by0:by1, bx0:bx1]
        out_a[sl] = np.maximum(out_a[sl], win_a)
        mine = win_a > 0
        out_rgb[sl][mine] = rgb[by0:by1, bx0:bx1][mine]
        # the photo around each product comes with it (the backdrop behind see-through parts)
        ih, iw = img.shape[:2]
        pad = margin
        iy0, iy1 = max(by0 - pad, 0), min(by1 + pad, ih)
        ix0, ix1 = max(bx0 - pad, 0), min(bx1 + pad, iw)
        ty0, tx0 = top - (by0 - iy0), x - (bx0 - ix0)
        cy0, cx0 = max(ty0, 0), max(tx0, 0)
        cy1, cx1 = min(ty0 + (iy1 - iy0), H), min(tx0 + (ix1 - ix0), W)
        out_img[cy0:cy1, cx0:cx1] = img[iy0 + cy0 - ty0:iy0 + cy1 - ty0, ix0 + cx0 - tx0:ix0 + cx1 - tx0]
        x += (bx1 - bx0) + gap
    out_img[out_a > 0] = out_rgb[out_a > 0] * out_a[out_a > 0, None] + out_img[out_a > 0] * (1 - out_a[out_a > 0, None])
    kinds = [p[6].kind for p in pieces]
    pose = Pose("lying" if "lying" in kinds else "standing", 0.0,
                {"reason": f"{len(pieces)} separate products, some askew: each turned to rest, lined up",
                 "parts": [p[6].as_record() for p in pieces]})
    prov = dict(cutout.provenance)
    params = dict(prov.get("params", {}))
    params["pose"] = {**pose.as_record(), "lined_up": True}
    prov["params"] = params
    return dataclasses.replace(cutout, rgb=out_rgb, alpha=out_a, image=out_img, bbox=alpha_bbox(out_a),
                               provenance=prov), dataclasses.replace(pose, evidence={**pose.evidence, "lined_up": True})


def contact_line(alpha: np.ndarray, config: PoseConfig = PoseConfig()) -> dict[str, float] | None:
    """Where the product touches the ground: its lowest row of alpha > 0.5 (``y``), and the span
    of columns (``x0``, ``x1``) product pixels occupy within ``contact_px`` rows of it."""
    mask = np.asarray(alpha, np.float32) > 0.5
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    y = int(rows[-1])
    band = mask[max(0, int(np.floor(y - config.contact_px))):y + 1]
    cols = np.flatnonzero(band.any(axis=0))
    return {"y": float(y), "x0": float(cols[0]), "x1": float(cols[-1])}


__all__ = ["POSES", "CLASSES", "VIEWS", "Pose", "PoseConfig", "estimate_pose", "settle_cutout", "contact_line",
           "classify_view", "backdrop_cue"]
