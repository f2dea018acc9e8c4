"""``auto``: the default backend, built for studio packshots.

1. **Coarse pass** at ``work_size`` (768 px long side): fit a backdrop model (colour and
   gradient) on the border of the photo, or on the ring around a box prompt
   (:mod:`.backdrop`), and run u2netp saliency.
2. **Fusion**: a pixel is product when its colour cannot be the backdrop, lit or shadowed.
   A pixel that is the backdrop merely darkened (a shadow, or a neutral grey product) is
   decided by saliency; a pixel that matches the backdrop is background, so holes (the backdrop
   seen through a handle) stay holes.
   Holes and thin parts are then decided again at up to 1536 px (:mod:`.holes`): the backdrop
   seen through a ring, a handle or a wire frame goes to 0, a thin wire lost at 768 px is put back.
3. **Edges** at full resolution: in a band around the coarse outline each pixel is solved for
   alpha against the local foreground and background colours (:mod:`.matting`).

When the backdrop model does not explain the border (a desk, a shop shelf), the photo is not a
clean-backdrop packshot: the flags say ``not-studio-backdrop`` and ``fallback-u2netp``, the
confidence drops below 0.5, and the coarse mask is u2netp saliency (on the box crop when there
is a box prompt). GrabCut, with the outside of the box as sure background, takes over when
saliency finds (almost) nothing in the box or when points must be honoured (flag
``fallback-grabcut``). The edge band is refined either way.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import cv2
import numpy as np

from ..imaging import linear_to_srgb, resize_linear, srgb_to_linear
from ..types import Prompt
from . import BACKENDS, Prediction, SegmentConfig
from .backdrop import BackdropModel, border_mask, fit_backdrop
from .grabcut import grabcut
from .holes import norm3, refine_holes, sum3
from .matting import refine_alpha_band
from .prompt import apply_points, box_mask, expand_box
from .surface import unmix_mesh


def _smoothstep(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    t = np.clip((x - lo) / max(hi - lo, 1e-6), 0.0, 1.0)
    return t * t * (3 - 2 * t)


def colour_evidence(srgb: np.ndarray, model: BackdropModel) -> tuple[np.ndarray, np.ndarray]:
    """What colour alone says of each pixel of a clean-backdrop photo (coarse pass).

    Returns ``p_differs`` (the pixel is not the backdrop's colour) and ``unexplained`` (no
    lighting of the backdrop, a shadow or a moderate change of brightness, explains it), both
    float32 h x w in [0, 1]; :func:`studio_probability` fuses them with saliency.
    """
    bg = model.field
    tol = max(3.0 * model.noise, 0.025)
    diff = norm3(srgb - bg)
    # shadow test in linear light, where a shadow scales the backdrop colour
    lin = srgb_to_linear(srgb, clip=False)
    lin_bg = srgb_to_linear(bg, clip=False)
    k = sum3(lin * lin_bg) / np.maximum(sum3(lin_bg * lin_bg), 1e-6)
    shadow_col = np.clip(k, 0.0, 1.5)[..., None] * np.maximum(lin_bg, 1e-4)
    # chroma residual measured in sRGB units so thresholds share the noise scale
    chroma = norm3(linear_to_srgb(np.clip(shadow_col, 0, 1)) - srgb)
    p_differs = _smoothstep(diff, 0.6 * tol, 1.4 * tol)
    p_colour = _smoothstep(chroma, 0.8 * tol, 1.8 * tol)
    # Lighting is never quite even: only a much brighter or much darker pixel is surely not
    # backdrop; a moderate change of brightness (a shadow, a lit wrinkle, a grey product) is
    # left to saliency.
    much_brighter = _smoothstep(k, 1.25, 1.45)
    very_dark = 1.0 - _smoothstep(k, 0.02, 0.06)
    unexplained = np.maximum.reduce([p_colour, much_brighter, very_dark])
    return p_differs, unexplained


def studio_probability(srgb: np.ndarray, model: BackdropModel, saliency: np.ndarray,
                       evidence: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, dict]:
    """Product probability of each pixel of a clean-backdrop photo (coarse pass).

    Parameters
    ----------
    srgb : ndarray
        float32 h x w x 3 sRGB-encoded coarse image.
    model : BackdropModel
        The fitted backdrop.
    saliency : ndarray
        float32 h x w saliency in [0, 1].
    evidence : tuple, optional
        :func:`colour_evidence` of ``srgb`` and ``model``, when already computed.

    Returns
    -------
    prob : ndarray
        float32 h x w in [0, 1].
    stats : dict
        Shares of the evidence kinds (for provenance).
    """
    p_differs, unexplained = colour_evidence(srgb, model) if evidence is None else evidence
    sal_vote = _smoothstep(saliency, 0.35, 0.65)
    # A pixel of backdrop colour is product only where saliency is sure of it (a white label on a
    # white sweep, a shaded edge passing through the backdrop's grey); elsewhere it is backdrop,
    # so the backdrop seen through a handle stays a hole.
    sal_sure = _smoothstep(saliency, 0.7, 0.95)
    prob = p_differs * np.maximum(unexplained, sal_vote) + (1.0 - p_differs) * sal_sure
    # Saliency alone cannot make a product on a clean backdrop: min-max normalised, it finds a
    # blob even in a blank frame. Something must differ from the backdrop.
    hard = prob >= 0.5
    if hard.any() and float((p_differs[hard] > 0.5).mean()) < 0.02:
        prob = np.zeros_like(prob)
    stats = {
        "differs_share": round(float((p_differs > 0.5).mean()), 4),
        "shadow_like_share": round(float(((p_differs > 0.5) & (unexplained < 0.5)).mean()), 4),
    }
    return prob.astype(np.float32), stats


def clean_mask(prob: np.ndarray, min_part: float = 0.0008, max_hole: float = 0.0004) -> np.ndarray:
    """Remove specks and fill pin holes in a coarse probability map (keeps real holes)."""
    h, w = prob.shape
    hard = (prob >= 0.5).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(hard, connectivity=8)
    if n > 1:
        areas = stats[1:, cv2.CC_STAT_AREA]
        biggest = float(areas.max())
        small = np.flatnonzero((areas < min_part * h * w) & (areas < 0.05 * biggest)) + 1
        if small.size:
            prob = np.where(np.isin(labels, small), np.minimum(prob, 0.2), prob)
    inv = (prob < 0.5).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(inv, connectivity=4)
    if n > 1:
        areas = stats[1:, cv2.CC_STAT_AREA]
        pin = np.flatnonzero(areas < max_hole * h * w) + 1
        if pin.size:
            # a pin hole touching the frame is background around the product, not a hole
            lab_border = set(np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])))
            pin = np.array([p for p in pin if p not in lab_border], dtype=np.int64)
            if pin.size:
                prob = np.where(np.isin(labels, pin), np.maximum(prob, 0.8), prob)
    return prob.astype(np.float32)


def grabcut_probability(srgb: np.ndarray, saliency: np.ndarray, known_bg: np.ndarray | None,
                        points_small, iterations: int = 4, fill: bool = False) -> np.ndarray:
    """Coarse product mask for a photo without a clean backdrop: GrabCut seeded by saliency.

    Parameters
    ----------
    srgb : float32 h x w x 3 sRGB-encoded coarse image.
    saliency : float32 h x w in [0, 1].
    known_bg : bool h x w, pixels sure to be background (outside a box prompt), or None.
    points_small : (x, y, label) in coarse pixels.
    fill : start with everything that is not known background as probable product (GrabCut's
        rectangle start: the product fills the box), not only what saliency found.
    """
    h, w = saliency.shape
    mask = np.where(saliency > 0.5, cv2.GC_PR_FGD, cv2.GC_PR_BGD).astype(np.uint8)
    far = None
    # the photo's own edge beside every pixel (a box that fills the photo): read once, used twice
    edge_ref = _edge_reference(srgb) if fill and known_bg is not None else None
    if fill and known_bg is not None:
        mask[~known_bg] = cv2.GC_PR_FGD
        # The ring around a box that fills the photo is a thin band: where the product reaches
        # into it (a bag's corner), its colour is not the band's (the desk's). Only pixels near
        # the band's own colour are sure background; the others are probable background, so
        # GrabCut's backdrop model does not learn the product's colours from them.
        ring = srgb[known_bg]
        if ring.shape[0] >= 12:
            med = np.median(ring, axis=0)
            dist = np.linalg.norm(srgb - med, axis=2)
            mad = float(np.median(dist[known_bg]))
            far = known_bg & (dist > max(3.0 * 1.4826 * mad, RING_MIN_DISTANCE))
            # ... and, locally, ring pixels unlike the photo's own edge beside them: a desk and a
            # notebook make the ring's spread large, while the box's glare reaching into the
            # ring at one side stays unlike the desk on the edge right next to it
            local = np.linalg.norm(srgb - edge_ref, axis=2)
            far |= known_bg & (local > RING_MIN_DISTANCE)
            mask[far] = cv2.GC_PR_BGD
    if known_bg is not None:
        # (the ring's far pixels stay probable background: a sure-background ring would teach
        # GrabCut's backdrop model the product's own colours where it reaches into the ring)
        mask[known_bg if far is None else known_bg & ~far] = cv2.GC_BGD
        inside = ~known_bg
        if not (mask == cv2.GC_PR_FGD).any():
            # saliency saw nothing in the box: start from its central ellipse
            ys, xs = np.nonzero(inside)
            cy, cx = ys.mean(), xs.mean()
            ry, rx = max((ys.max() - ys.min()) / 3, 1), max((xs.max() - xs.min()) / 3, 1)
            yy, xx = np.mgrid[0:h, 0:w]
            mask[(((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1) & inside] = cv2.GC_PR_FGD
    else:
        mask[saliency < 0.03] = cv2.GC_BGD
    r = max(2, int(0.012 * np.hypot(h, w)))
    for x, y, lab in points_small:
        cv2.circle(mask, (int(round(x)), int(round(y))), r, int(cv2.GC_FGD if lab == 1 else cv2.GC_BGD), -1)
    fg_any = np.isin(mask, (cv2.GC_FGD, cv2.GC_PR_FGD)).any()
    bg_any = np.isin(mask, (cv2.GC_BGD, cv2.GC_PR_BGD)).any()
    if not (fg_any and bg_any):
        return saliency.astype(np.float32)
    img8 = np.clip(np.rint(srgb * 255), 0, 255).astype(np.uint8)[..., ::-1].copy()
    cut = grabcut(img8, mask, iterations)
    if cut is None:
        return saliency.astype(np.float32)
    gc = cut.astype(np.float32)
    if fill and known_bg is not None:
        # a product that fills its box is taken as solid: a white panel or a letter's counter
        # that GrabCut gave to the (white-flecked) backdrop's colour model, enclosed by the
        # product, is product; a negative point still opens what it names
        inv = (gc < 0.5).astype(np.uint8)
        n, labels = cv2.connectedComponents(inv, connectivity=4)
        if n > 1:
            outer = np.zeros(n, bool)
            outer[np.unique(labels[known_bg & (inv > 0)])] = True
            outer[np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))] = True
            for x, y, lab in points_small:
                xi, yi = int(np.clip(round(x), 0, w - 1)), int(np.clip(round(y), 0, h - 1))
                if lab == 0:
                    outer[labels[yi, xi]] = True
            outer[0] = True
            gc[~outer[labels]] = 1.0
        # ... and what GrabCut gave to the backdrop inside the box, beside the product, in colours
        # unlike the photo's own edge next to it is product too: a box's glare reaching the ring
        # (a desk strip thinner than the ring) taught the backdrop's model its colour and a notch
        # was bitten out of the box's edge; desk seen inside the box stays the desk's colour
        unlike = (gc < 0.5) & ~known_bg & (np.linalg.norm(srgb - edge_ref, axis=2)
                                           > RING_UNLIKE_EDGE)
        if unlike.any():
            n, labels = cv2.connectedComponents(unlike.astype(np.uint8), connectivity=8)
            beside = cv2.dilate((gc >= 0.5).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
            touching = np.zeros(n, bool)
            touching[np.unique(labels[beside & unlike])] = True
            touching[0] = False
            gc[touching[labels]] = 1.0
    # soften the hard GrabCut edge by one pixel so the upsampled outline is not stair-stepped
    return cv2.GaussianBlur(gc, (3, 3), 0.7)


def _edge_reference(srgb: np.ndarray, edge_px: int = 2, along: float = 0.03) -> np.ndarray:
    """For every pixel, the colour of the photo's nearest edge beside it: the mean of the outermost
    ``edge_px`` lines of that side, smoothed over ``along`` of the side's length (h x w x 3)."""
    h, w = srgb.shape[:2]
    k = max(3, int(round(along * max(h, w))) | 1)
    top = cv2.blur(np.ascontiguousarray(srgb[:edge_px].mean(axis=0, keepdims=True)), (k, 1))
    bottom = cv2.blur(np.ascontiguousarray(srgb[-edge_px:].mean(axis=0, keepdims=True)), (k, 1))
    left = cv2.blur(np.ascontiguousarray(srgb[:, :edge_px].mean(axis=1, keepdims=True)), (1, k))
    right = cv2.blur(np.ascontiguousarray(srgb[:, -edge_px:].mean(axis=1, keepdims=True)), (1, k))
    yy, xx = np.mgrid[0:h, 0:w]
    side = np.argmin(np.stack([yy, h - 1 - yy, xx, w - 1 - xx]), axis=0)
    ref = np.empty_like(srgb)
    for i, field in enumerate((np.broadcast_to(top, srgb.shape), np.broadcast_to(bottom, srgb.shape),
                               np.broadcast_to(left, srgb.shape), np.broadcast_to(right, srgb.shape))):
        sel = side == i
        ref[sel] = field[sel]
    return ref


RING_UNLIKE_EDGE = 0.25
"""sRGB distance from the photo's edge beside it beyond which a pixel GrabCut gave to the backdrop,
inside a box that fills the photo and touching the product, is product (a box's glare; a desk in
the product's shadow reads closer)."""
RING_MIN_DISTANCE = 0.12
"""sRGB distance from the ring's median colour beyond which a ring pixel is only probable background."""
BOX_MIN_SPAN = 0.8
"""A box prompt is drawn around the product: when saliency's mask spans less than this share of
the box's width or height, it found a part of the product only, and GrabCut starts from the box."""


BOX_MAX_RING_LIKE = 0.2
"""Largest share of a box's inside within RING_MIN_DISTANCE of the ring's median colour for the
box to count as tight around the product (GrabCut then starts from the whole box)."""


def _ring_like_share(srgb: np.ndarray, known_bg: np.ndarray) -> float:
    """Share of the pixels inside the box (not ``known_bg``) near the ring's median colour."""
    ring = srgb[known_bg]
    inside = ~known_bg
    if ring.shape[0] < 12 or not inside.any():
        return 1.0
    med = np.median(ring, axis=0)
    return float((np.linalg.norm(srgb[inside] - med, axis=1) < RING_MIN_DISTANCE).mean())


def _box_span(mask: np.ndarray, inside: np.ndarray) -> tuple[float, float]:
    """Share of the box's (``inside``'s) width and height that ``mask`` spans."""
    ys, xs = np.nonzero(mask & inside)
    iy, ix = np.nonzero(inside)
    if ys.size == 0 or iy.size == 0:
        return 0.0, 0.0
    return (float(xs.max() - xs.min() + 1) / float(ix.max() - ix.min() + 1),
            float(ys.max() - ys.min() + 1) / float(iy.max() - iy.min() + 1))


PROMPT_MIN_MARGIN = 0.04
"""Least margin (share of the box) around a box prompt of the region that is segmented."""
PROMPT_MIN_PX = 6
"""Least margin (px) around a box prompt."""
WORK_MIN_PX = 8
"""Least side (px) of the working image."""
EVIDENCE_BLUR_SIGMA = 1.0
"""Gaussian sigma (px) of the smoothing before colour evidence is read: sensor noise must not make
specks of "product" on a plain backdrop (edges are placed at full resolution later anyway)."""
BOX_FILLS_PHOTO = 0.02
"""Below this share of the working image outside a box prompt, the box fills the photo: only the
photo's border can tell the backdrop."""
POINT_RADIUS = 0.01
"""Radius (share of the working image's diagonal) of the disc a point prompt stamps."""
SALIENCY_EMPTY = 0.05
"""Below this share of a box's inside, saliency found (almost) nothing in it."""
STUDIO_CONF_BASE = 0.55
STUDIO_CONF_AGREEMENT = 0.45
"""Studio confidence: backdrop inlier share x (STUDIO_CONF_BASE + STUDIO_CONF_AGREEMENT x agreement)."""
SALIENCY_CONF_SCALE = 0.5
SALIENCY_CONF_BASE = 0.6
SALIENCY_CONF_AGREEMENT = 0.4
"""Saliency confidence: SALIENCY_CONF_SCALE x decided x (SALIENCY_CONF_BASE + SALIENCY_CONF_AGREEMENT x agreement)."""
UNDECIDED_LO = 0.2
UNDECIDED_HI = 0.8
"""Saliency strictly between these is undecided."""
TOUCHES_FRAME_PENALTY = 0.8
"""Confidence factor of a mask (without a box) touching the frame."""
MIN_AGREEMENT = 0.6
"""Below this IoU of saliency and the mask, the prediction is flagged ``saliency-disagrees``."""


class _Work(NamedTuple):
    """The region segmented (``roi`` of the photo, ``crop``) and its working-size copies."""

    roi: tuple[int, int, int, int]
    crop: np.ndarray
    small: np.ndarray
    srgb: np.ndarray
    srgb_smooth: np.ndarray
    fx: float
    fy: float


def _work_image(rgb: np.ndarray, box, config: SegmentConfig) -> _Work:
    """The photo (or the box prompt's surroundings) at ``config.work_size``."""
    h, w = rgb.shape[:2]
    if box is not None:
        roi = expand_box(box, max(config.prompt_margin, PROMPT_MIN_MARGIN), (w, h), min_px=PROMPT_MIN_PX)
    else:
        roi = (0, 0, w, h)
    rx0, ry0, rx1, ry1 = roi
    crop = rgb[ry0:ry1, rx0:rx1]
    ch, cw = crop.shape[:2]
    scale = min(1.0, config.work_size / max(ch, cw))
    sw, sh = max(WORK_MIN_PX, int(round(cw * scale))), max(WORK_MIN_PX, int(round(ch * scale)))
    small = resize_linear(crop, (sw, sh)) if (sw, sh) != (cw, ch) else crop
    srgb = linear_to_srgb(small)
    srgb_smooth = cv2.GaussianBlur(srgb, (0, 0), EVIDENCE_BLUR_SIGMA)
    return _Work(roi, crop, small, srgb, srgb_smooth, sw / cw, sh / ch)


def _known_background(box, work: _Work) -> np.ndarray:
    """Pixels of the working image that are surely backdrop: outside the box, else the border."""
    sh, sw = work.small.shape[:2]
    if box is None:
        return border_mask((sh, sw))
    rx0, ry0 = work.roi[:2]
    bx0, by0, bx1, by1 = box
    inner_box = (int((bx0 - rx0) * work.fx), int((by0 - ry0) * work.fy), int(np.ceil((bx1 - rx0) * work.fx)),
                 int(np.ceil((by1 - ry0) * work.fy)))
    known_bg = ~box_mask(inner_box, (sh, sw), grow=1)
    if known_bg.sum() < BOX_FILLS_PHOTO * sh * sw:
        # the box fills the photo: only the photo's border can tell the backdrop
        known_bg = border_mask((sh, sw))
    return known_bg


def _studio_mask(work: _Work, model: BackdropModel, saliency: np.ndarray, box_bg: np.ndarray | None,
                 points_small: list, params: dict,
                 evidence: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Coarse and fine probability on a clean backdrop (``box_bg``: outside a box prompt)."""
    sh, sw = work.small.shape[:2]
    prob, stats = studio_probability(work.srgb_smooth, model, saliency, evidence)
    params.update(stats)
    if box_bg is not None:
        prob = prob * ~box_bg
    prob = clean_mask(prob)
    # holes and thin parts, decided at up to 2 x the coarse resolution (segment/holes.py)
    fine_prob, hole_stats = refine_holes(prob, work.crop, model, saliency=saliency)
    params.update(hole_stats)
    prob = cv2.resize(fine_prob, (sw, sh), interpolation=cv2.INTER_AREA) if fine_prob.shape != prob.shape else fine_prob
    for x, y, lab in points_small:
        r = max(1, int(POINT_RADIUS * np.hypot(sh, sw)))
        cv2.circle(prob, (int(round(x)), int(round(y))), r, 1.0 if lab == 1 else 0.0, -1)
    return prob, fine_prob


def _saliency_mask(work: _Work, saliency: np.ndarray, box_bg: np.ndarray | None, points, points_small: list,
                   flags: list[str], params: dict) -> tuple[np.ndarray, str]:
    """Probability and mode without a clean backdrop: saliency, or GrabCut inside a box prompt."""
    flags.append("not-studio-backdrop")
    prob = saliency.copy()
    mode = "saliency"
    flags.append("fallback-u2netp")
    if box_bg is None:
        return prob, mode
    prob *= ~box_bg
    inside = float((~box_bg).sum())
    spans = _box_span(prob >= 0.5, ~box_bg)
    params["saliency_box_span"] = [round(v, 3) for v in spans]
    # ... and the box is tight: little of its inside has the ring's colour (a loose
    # box around a product on a plain backdrop has much of it)
    ring_like = _ring_like_share(work.srgb_smooth, box_bg)
    params["box_ring_like_share"] = round(ring_like, 3)
    fills = min(spans) < BOX_MIN_SPAN and ring_like < BOX_MAX_RING_LIKE
    if float((prob >= 0.5).sum()) < SALIENCY_EMPTY * inside or points or fills:
        # saliency found (almost) nothing in the box, or only a part of what the box
        # holds (a label's letters on a box that fills the photo), or points must be
        # honoured: GrabCut with the box as the sure background and saliency (or,
        # when it spans too little of the box, the whole box) as the start
        prob = grabcut_probability(work.srgb, saliency, box_bg, points_small, fill=fills)
        mode = "grabcut"
        flags[-1] = "fallback-grabcut"
    return prob, mode


SURFACE_NOISE_TOLERANCE = 3.0
"""A pixel within this many times the surface model's noise of its colour is the surface's colour
(the model's own inlier rule, :func:`~.backdrop.fit_backdrop`)."""
SURFACE_MAX_NOISE = 0.12
"""Largest border noise (sRGB) of a surface whose colour still tells it from the product: a desk's
grain is 0.04-0.10 on the real photos; a shop shelf or a net bag's folds, 0.15-0.44, where 3 x
noise covers nearly every colour. Set by looking at those photos' border models (not held out)."""
SPLIT_PIECE_SHARE = 0.05
"""A piece the surface opening cuts off the product, smaller than this share of the largest piece, goes."""


def open_surface_through(prob: np.ndarray, saliency: np.ndarray, srgb: np.ndarray, model: BackdropModel,
                         known_bg: np.ndarray, params: dict) -> np.ndarray:
    """The saliency mask of a photo on one plain but textured surface (a desk), with the surface
    seen through clear parts opened.

    Clear plastic on a desk shows the desk, and saliency is undecided there: its 0.5 contour cuts
    the desk seen through the plastic into flecks that stay in the cut-out. The border model of
    the surface (it explains most of the border, too noisy for the studio path) says which
    pixels have its colour: those whose saliency is undecided and that reach the sure outside
    through such pixels are the surface. They are opened, then the specks and the small pieces
    this cut off the product go.
    """
    tol = max(SURFACE_NOISE_TOLERANCE * model.noise, 0.025)
    surface = (norm3(srgb - model.field) < tol) & (saliency < UNDECIDED_HI)
    n, labels = cv2.connectedComponents(surface.astype(np.uint8), connectivity=4)
    reach = np.zeros(n, bool)
    reach[np.unique(labels[known_bg & surface])] = True
    reach[0] = False
    opened = reach[labels] & (prob >= 0.5)
    params["surface_opened_share"] = round(float(opened.mean()), 4)
    if not opened.any():
        return prob
    before = prob >= 0.5
    prob = clean_mask(np.where(opened, 0.0, prob).astype(np.float32))
    hard = (prob >= 0.5).astype(np.uint8)
    m, lab, stats, _ = cv2.connectedComponentsWithStats(hard, connectivity=8)
    if m > 2:
        areas = stats[1:, cv2.CC_STAT_AREA]
        # pieces of a product piece the opening split (not pieces saliency gave apart)
        n0, lab0 = cv2.connectedComponents(before.astype(np.uint8), connectivity=8)
        per_old = np.bincount(lab0[hard > 0], minlength=n0)
        for i in np.flatnonzero(areas < SPLIT_PIECE_SHARE * areas.max()) + 1:
            old = np.unique(lab0[lab == i])
            old = old[old > 0]
            if old.size and per_old[old].sum() > areas[i - 1]:
                prob = np.where(lab == i, np.minimum(prob, 0.2), prob)
    return prob.astype(np.float32)


NATIVE_BAND_MIN_PX = 1.5
"""Least half-width (coarse px) of the edge band of a photo smaller than the work size (the band is
ceil(half-width) px, + 1 at full resolution: 3 px each side, enough for a 4 px soft edge; 1.0 would
keep all of a white carton's margin and lose the soft edge's decontamination)."""


def native_band_px(config: SegmentConfig, crop_shape: tuple[int, int]) -> float:
    """Half-width of the edge band, in coarse pixels, for a crop of ``crop_shape`` (h, w).

    ``config.band_px`` is set for a photo scaled down to ``config.work_size``; a smaller photo is
    not scaled up, so the same band in its pixels reaches further into the product, and the
    matting's foreground colour is sampled past a white label's margin (the print next to it):
    the white-on-white margin then solves as backdrop (a 198 px milk carton lost the margin right
    of its text). The band keeps its share of the long side, never below NATIVE_BAND_MIN_PX.
    """
    long_side = max(crop_shape)
    if long_side >= config.work_size:
        return config.band_px
    return max(min(NATIVE_BAND_MIN_PX, config.band_px), config.band_px * long_side / config.work_size)


def _crop_alpha(rgb: np.ndarray, work: _Work, prob: np.ndarray, fine_prob: np.ndarray | None,
                config: SegmentConfig, params: dict) -> tuple[np.ndarray, np.ndarray | None]:
    """Alpha of the crop, the edge band refined at its full resolution, and the decontaminated
    foreground (None unless asked for)."""
    ch, cw = work.crop.shape[:2]
    rx0, ry0 = work.roi[:2]
    foreground = None
    edge_prob, band_px = prob, native_band_px(config, work.crop.shape[:2])
    if fine_prob is not None and fine_prob.shape != prob.shape:
        edge_prob, band_px = fine_prob, config.band_px * fine_prob.shape[1] / prob.shape[1]
    if config.refine_edges:
        alpha_crop, band_fg, band_stats = refine_alpha_band(work.crop, edge_prob, band_px)
        params["edge_band"] = band_stats
        if config.decontaminate and band_fg is not None:
            ys, xs, colours = band_fg
            foreground = rgb.copy()
            foreground[ys + ry0, xs + rx0] = colours
    else:
        alpha_crop = cv2.resize(edge_prob, (cw, ch), interpolation=cv2.INTER_LINEAR) if edge_prob.shape != (ch, cw) else edge_prob
    return alpha_crop, foreground


def _confidence(alpha: np.ndarray, prob: np.ndarray, saliency: np.ndarray, model: BackdropModel, mode: str,
                box, flags: list[str], params: dict) -> float:
    """Confidence: the backdrop explained, saliency agreeing, the product inside the frame."""
    hard = alpha > 0.5
    sal_full = saliency >= 0.5
    ours = prob >= 0.5
    union = float((sal_full | ours).sum())
    agreement = float((sal_full & ours).sum()) / union if union else 0.0
    params["saliency_agreement"] = round(agreement, 4)
    if mode == "studio":
        confidence = model.inlier_share * (STUDIO_CONF_BASE + STUDIO_CONF_AGREEMENT * agreement)
    else:
        # without a backdrop model, only saliency's own decidedness speaks for the mask
        fg = saliency >= 0.5
        undecided = float(((saliency > UNDECIDED_LO) & (saliency < UNDECIDED_HI)).sum()) / max(float(fg.sum()), 1.0)
        decided = float(np.clip(1.0 - undecided, 0.0, 1.0)) if fg.any() else 0.0
        confidence = SALIENCY_CONF_SCALE * decided * (SALIENCY_CONF_BASE + SALIENCY_CONF_AGREEMENT * agreement)
    if hard.any() and box is None and (hard[0].any() or hard[-1].any() or hard[:, 0].any() or hard[:, -1].any()):
        flags.append("touches-frame")
        confidence *= TOUCHES_FRAME_PENALTY
    if agreement < MIN_AGREEMENT and hard.any():
        flags.append("saliency-disagrees")
    return float(np.clip(confidence, 0.0, 1.0))


class AutoBackend:
    """Backdrop model + u2netp saliency + edge matting (see the module docstring)."""

    name = "auto"
    handles_prompt = True

    def predict(self, rgb: np.ndarray, prompt: Prompt | None, config: SegmentConfig) -> Prediction:
        from .u2netp import u2netp_model

        h, w = rgb.shape[:2]
        flags: list[str] = []
        box = prompt.box if prompt is not None else None
        points = prompt.points if prompt is not None else ()
        work = _work_image(rgb, box, config)
        rx0, ry0, rx1, ry1 = work.roi
        sh, sw = work.small.shape[:2]
        known_bg = _known_background(box, work)
        box_bg = known_bg if box is not None else None
        # saliency runs in a second thread (onnxruntime releases the GIL) while this one fits the
        # backdrop and reads the colour evidence, which do not need it
        net = u2netp_model(config)
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = pool.submit(net.saliency, work.small, (sw, sh))
            model = fit_backdrop(work.srgb_smooth, known_bg, min_inliers=config.clean_backdrop_inliers)
            evidence = colour_evidence(work.srgb_smooth, model) if model.clean else None
            saliency = pending.result()

        points_small = [((x - rx0) * work.fx, (y - ry0) * work.fy, lab) for x, y, lab in points]
        params: dict = {"roi": list(work.roi), "work_size": [sw, sh], "backdrop_noise": round(model.noise, 5),
                        "backdrop_inliers": round(model.inlier_share, 4)}
        fine_prob = None
        desk = False
        if model.clean:
            prob, fine_prob = _studio_mask(work, model, saliency, box_bg, points_small, params, evidence)
            mode = "studio"
            flags.append("studio-backdrop")
        else:
            prob, mode = _saliency_mask(work, saliency, box_bg, points, points_small, flags, params)
            if (box is None and mode == "saliency" and model.inlier_share >= config.clean_backdrop_inliers
                    and model.noise <= SURFACE_MAX_NOISE):
                # (not inside a box prompt: the ring around a box is too thin a sample of the
                # surface; on the masked real photos it cost 0.002 IoU there)
                prob = open_surface_through(prob, saliency, work.srgb_smooth, model, known_bg, params)
                desk = True
        params["mode"] = mode

        alpha_crop, foreground = _crop_alpha(rgb, work, prob, fine_prob, config, params)
        if desk:
            # a mesh on the desk: the desk seen through its gaps is unmixed (segment/surface.py)
            fg_crop = None
            if config.decontaminate:
                fg_crop = work.crop.copy() if foreground is None else foreground[ry0:ry1, rx0:rx1]
            alpha_crop, fg_crop = unmix_mesh(work.crop, alpha_crop, fg_crop, model,
                                             max(SURFACE_NOISE_TOLERANCE * model.noise, 0.025), params)
            if fg_crop is not None and foreground is None and params.get("mesh_share", 0.0) > 0:
                # (a view of ``foreground`` otherwise, changed in place)
                foreground = rgb.copy()
                foreground[ry0:ry1, rx0:rx1] = fg_crop
        alpha = np.zeros((h, w), np.float32)
        alpha[ry0:ry1, rx0:rx1] = alpha_crop
        if box is not None:
            alpha *= box_mask(box, (h, w), grow=1)
        if points:
            alpha = apply_points(alpha, points, flags)
        confidence = _confidence(alpha, prob, saliency, model, mode, box, flags, params)
        background = None
        if mode == "studio":
            background = tuple(float(c) for c in srgb_to_linear(np.asarray(model.mean_colour, np.float32)))
        return Prediction(alpha=alpha, confidence=confidence, background=background,
                          flags=tuple(flags), params=params, foreground=foreground)


@BACKENDS.register("auto", doc="studio backdrop model + u2netp saliency + edge matting (default)")
def make_auto_backend() -> AutoBackend:
    """Studio backdrop model fused with u2netp saliency, edges matted (the default)."""
    return AutoBackend()
