"""Holes and thin parts of products on a clean studio backdrop.

u2netp saliency, and the coarse mask built on it, fills the inside of a ring, a handle, a wire
frame or a chain: it sees one blob, and a wire 2 px wide is under a pixel in the 768 px coarse
pass. On a clean studio backdrop the colour of the backdrop is known at every pixel (the fitted
field of :mod:`.backdrop`), so :func:`refine_holes` decides both again at up to 1536 px
(``HOLES_MAX_SIDE``), before the edge band is matted at full resolution
(:func:`.matting.refine_alpha_band`, known-background matting), so that a hole's rim and a
wire's edges are solved like the outer outline:

- **thin parts**: pixels whose colour neither the backdrop nor its shadow can have, in a
  connected run that reaches the coarse product (within a few pixels), are product;
- **holes**: inside the outline, a connected region of pixels of the backdrop's colour (or the
  backdrop darkened by a soft shadow) is set to 0 when the product encloses it and at least
  ``HOLE_ENCLOSED_SHARE`` of it is the backdrop's very colour, or when it is mostly
  (``HOLE_MIN_SHARE``) the backdrop's colour and meets the outside along a small part of its rim
  only (``HOLE_MAX_CONTACT``: a lens seen past a temple) while surely-product pixels (a wire)
  bound the rest of its rim (``NARROW_MIN_SURE_RIM``). A sharp local darkening (a thin grey
  wire, which has the colour of the backdrop in shadow) is a wall between holes, never a hole.
  A region brighter than the backdrop (``HOLE_MAX_BRIGHT``) is a highlight, never a hole: the lit
  side of a white bottle on a white sweep stays product;
- **shadows the coarse pass kept**: a region open to the outside, mostly the backdrop in shadow,
  that saliency doubts (a temple's or a chain's shadow, which needs no pixel of the lit backdrop
  of its own), or a strip that meets the outside along much of its rim (``SHADOW_MIN_CONTACT``)
  and lies beyond the product's extent (outside the convex hull of its surely-product pixels, a
  minor part of its piece of the mask: the shadow beside a wire frame, which u2netp's hull holds
  to be product) is opened; so is an enclosed region all in shadow that saliency doubts (a
  pendant's eye on a neutral sweep).

A face of the product in the backdrop's own colour, open to the outside along its rim (a white
box top on a white sweep), stays product; a region of exactly the backdrop's colour that the
product encloses (a white label panel on a white sweep) is the known limit: it needs 30 % of
exact backdrop colour and is then opened.

Thresholds are in units of the backdrop's measured noise (as in :func:`.auto.studio_probability`)
and were set on generated products of seeds 1000-1024 (``make_holey_product``);
``benchmarks/cutout.py --holes`` reports on seeds 5000+ and on the masked real objects.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..imaging import linear_to_srgb, srgb_to_linear
from .backdrop import BackdropModel

HOLE_MIN_SHARE = 0.5
"""Share of a candidate region that must be the backdrop's own colour (not only its shadow)."""
HOLE_ENCLOSED_SHARE = 0.3
"""The same share for a region the product encloses on every side (a cell of a wire frame in its shadow)."""
HOLE_MAX_CONTACT = 0.15
"""Largest share of a region's rim that may meet the outside of the mask for it to be a hole."""
NARROW_MIN_SURE_RIM = 0.5
"""Least share of such a region's rim (apart from its contact with the outside) lying within 2 px
of surely-product pixels (colour evidence or a sharp darkening: a wire). Set by principle ("most
of its rim"), not tuned: no region of the tuning set relies on the narrow-contact rule; the lit
side of the demo's white bottle on white, which did, has 0."""
SHADOW_MIN_K = 0.25
"""Darkest shadow (share of the backdrop's linear light) still read as the backdrop."""
HOLE_MIN_PX = 12
"""Least number of backdrop-coloured coarse pixels in a hole (smaller ones are noise)."""


def sum3(a: np.ndarray) -> np.ndarray:
    """``a.sum(axis=2)`` of an H x W x 3 array, as three adds (the same values, several times faster)."""
    return a[..., 0] + a[..., 1] + a[..., 2]


def norm3(d: np.ndarray) -> np.ndarray:
    """``np.linalg.norm(d, axis=2)`` of an H x W x 3 array (the same values, several times faster)."""
    return np.sqrt(d[..., 0] * d[..., 0] + d[..., 1] * d[..., 1] + d[..., 2] * d[..., 2])


def _srgb_to_linear(s: np.ndarray) -> np.ndarray:
    return srgb_to_linear(np.asarray(s), clip=False).astype(np.float32, copy=False)


def backdrop_evidence(srgb: np.ndarray, field: np.ndarray, noise: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-pixel evidence against a backdrop field (all sRGB-encoded, same shape).

    Returns
    -------
    same : bool, the pixel is the backdrop's colour within its noise.
    shadowed : bool, the pixel is the backdrop's colour darkened (a shadow), not much.
    differs : float32 distance from the backdrop and from its shadowed colour (sRGB units),
        the smaller of the two: large only where no lighting of the backdrop explains the pixel.
    """
    return _evidence_terms(srgb, field, noise)[:3]


def _evidence_terms(srgb: np.ndarray, field: np.ndarray, noise: float):
    """:func:`backdrop_evidence` and ``k``, each pixel's light as a share of the backdrop's (linear)."""
    tol = max(3.0 * noise, 0.025)
    diff = norm3(srgb - field)
    lin = _srgb_to_linear(srgb)
    lin_bg = _srgb_to_linear(field)
    k = sum3(lin * lin_bg) / np.maximum(sum3(lin_bg * lin_bg), 1e-6)
    shade = np.clip(k, 0.0, 1.5)[..., None] * np.maximum(lin_bg, 1e-4)
    shade_srgb = linear_to_srgb(shade)
    chroma = norm3(shade_srgb - srgb)
    same = diff < 1.0 * tol
    shadowed = (chroma < 1.0 * tol) & (k > SHADOW_MIN_K) & (k < 1.05)
    differs = np.where((k > 0.3) & (k < 1.2), np.minimum(diff, chroma), diff).astype(np.float32)
    return same, shadowed, differs, k


THIN_SURE = 2.5
"""A pixel at least this many backdrop tolerances from the backdrop and from its shadow is surely product."""
SHARP_DARK = 0.1
"""How much darker than its surroundings (share of the backdrop's light) a pixel of a thin part is."""
THIN_MAX_HALF_WIDTH = 3.0
"""Half-width (px at the holes resolution) of the widest part put back."""
HOLES_MAX_SIDE = 1536
"""Long side of the resolution holes and thin parts are decided at (2 x the coarse pass)."""
HOLE_EXACT_SHARE = 0.85
"""Share of a hole's pixels that must be the backdrop (or its shadow) within STRICT_NOISE x its
measured noise: less, and the region is the backdrop seen through glass (product)."""
STRICT_NOISE = 3.0
STRICT_MIN = 0.008
"""Floor (sRGB units) of the exact-backdrop tolerance."""
EDGE_GRAD = 0.02
EDGE_GRAD_NOISE = 4.0
"""A pixel whose luminance gradient (sRGB units per px) exceeds max(EDGE_GRAD, EDGE_GRAD_NOISE x
noise) is an edge: a wall between a product face and the backdrop (a soft shadow's is not)."""
SHADOW_MAX_SALIENCY = 0.9
SHADOW_MAX_SAME = 0.5
"""A region open to the outside with no edge between is opened when saliency's mean over it is
below SHADOW_MAX_SALIENCY and less than SHADOW_MAX_SAME of it is the backdrop's own colour (it is
mostly the backdrop in shadow: a face of the product in the backdrop's colour is not)."""
SHADOW_MIN_CONTACT = 0.4
"""Least share of its rim along which a region open to the outside meets it to be a strip fading
into the backdrop (a shadow strip between a product's edge and the outside meets it along one of
its two long sides, about half its rim; a face of the product meets it through a gap at most)."""
HOLE_HELD_P = 0.05
"""Probability given to an opened hole that saliency holds to be product (>= SHADOW_MAX_SALIENCY):
a hole for the mask, but not surely backdrop for the edge band's seal (matting.SEAL_COARSE_BG)."""
BEYOND_MIN_SHARE = 0.5
"""A region open to the outside, mostly (this share) outside the convex hull of the surely-product
pixels of its piece of the mask, lies beyond the product's extent: a shadow, not a face of it."""
BEYOND_MAX_PIECE_SHARE = 0.5
"""... when it is a minor part of its piece (at most this share of its area): a region that is most
of its piece is the product itself (a clear bottle's body, with few surely-product pixels)."""
BRIGHT_NOISE = 3.0
HOLE_MAX_BRIGHT = 0.1
"""Largest share of a hole's pixels brighter than the backdrop's field by more than BRIGHT_NOISE x
its noise: the backdrop seen through a hole, lit or in shadow, is never brighter than itself, so a
region brighter than that is a highlight on the product (set on seeds 1000-1024: holes and
shadows there reach 0.001; the lit side of the demo's white bottle on white is 0.40)."""


WINDOW_MARGIN = 0.04
"""Margin (share of the long side) of the window around the coarse product that is examined."""


def _paste(full: np.ndarray, part: np.ndarray, win) -> np.ndarray:
    out = full.astype(np.float32, copy=True)
    out[win] = part
    return out


TOL_NOISE = 3.0
TOL_MIN = 0.025
"""Backdrop tolerance: TOL_NOISE x its measured noise, never below TOL_MIN (sRGB units)."""
WINDOW_PAD_PX = 8
"""Pixels added to the window margin (beyond WINDOW_MARGIN of the long side)."""
EVIDENCE_BLUR_SIGMA = 1.0
"""Gaussian sigma (px at the holes resolution) of the smoothing before colour evidence is read."""
SHARP_DARK_SIGMA = 2.0
"""Gaussian sigma (px) of the surroundings a sharp local darkening is measured against."""
THIN_REACH_PX = 13
"""Diameter (px) of the neighbourhood of the coarse product that a thin part must reach."""
SURE_RIM_PX = 5
"""Diameter (px) of the neighbourhood of surely-product pixels counted as a confident rim (2 px)."""


def _tolerance(noise: float) -> float:
    return max(TOL_NOISE * noise, TOL_MIN)


def _fine_inputs(prob: np.ndarray, crop: np.ndarray, model: BackdropModel, max_side: int,
                 saliency: np.ndarray | None):
    """The photo, backdrop field, probability and saliency at the holes resolution."""
    from ..imaging import resize_linear

    H, W = crop.shape[:2]
    sh, sw = prob.shape
    f = min(1.0, max_side / max(H, W))
    mw, mh = max(sw, int(round(W * f))), max(sh, int(round(H * f)))
    small = resize_linear(crop, (mw, mh)) if (mw, mh) != (W, H) else crop
    field = cv2.resize(model.field, (mw, mh), interpolation=cv2.INTER_LINEAR) if (mw, mh) != (sw, sh) else model.field
    p_full = cv2.resize(prob, (mw, mh), interpolation=cv2.INTER_LINEAR) if (mw, mh) != (sw, sh) else prob.copy()
    if saliency is not None and saliency.shape != (mh, mw):
        saliency = cv2.resize(saliency, (mw, mh), interpolation=cv2.INTER_LINEAR)
    return small, field, p_full, saliency


def _product_window(small: np.ndarray, prob: np.ndarray, model: BackdropModel) -> tuple[slice, slice]:
    """The part of the fine grid worth examining.

    Only the product and a margin around it are examined (the rest is plain backdrop, < 0.5
    already): a thin part lost in the coarse pass reaches at most WINDOW_MARGIN beyond it ... or
    along a run of pixels unlike the backdrop that reaches the product (a cable lost in the
    coarse pass), found cheaply at the coarse resolution.
    """
    mh, mw = small.shape[:2]
    sh, sw = prob.shape
    tol = _tolerance(model.noise)
    coarse = linear_to_srgb(cv2.resize(small, (sw, sh), interpolation=cv2.INTER_AREA)) if (mw, mh) != (sw, sh) else linear_to_srgb(small)
    unlike = (norm3(coarse - model.field) > tol) | (prob >= 0.5)
    n_u, lab_u = cv2.connectedComponents(unlike.astype(np.uint8), connectivity=8)
    reach = np.zeros(n_u, bool)
    reach[np.unique(lab_u[prob >= 0.5])] = True
    reach[0] = False
    ys, xs = np.nonzero(reach[lab_u])
    ys, xs = (ys * mh) // sh, (xs * mw) // sw
    if ys.size:
        m = int(np.ceil(WINDOW_MARGIN * max(mw, mh))) + WINDOW_PAD_PX
        k = max(1, -(-mw // sw))
        wx0, wy0 = max(0, int(xs.min()) - m), max(0, int(ys.min()) - m)
        wx1, wy1 = min(mw, int(xs.max()) + k + m), min(mh, int(ys.max()) + k + m)
    else:
        wx0, wy0, wx1, wy1 = 0, 0, mw, mh
    return (slice(wy0, wy1), slice(wx0, wx1))


def _evidence(srgb: np.ndarray, field: np.ndarray, noise: float):
    """``same``, ``shadowed``, ``differs`` (:func:`backdrop_evidence`) and ``sure`` (surely product).

    A thin grey wire on a white sweep has the colour of the sweep in shadow; unlike a shadow
    (soft) it is a sharp local darkening: darker than its surroundings by SHARP_DARK.
    """
    same, shadowed, differs, k = _evidence_terms(srgb, field, noise)
    sharp_dark = (k < cv2.GaussianBlur(k, (0, 0), SHARP_DARK_SIGMA) - SHARP_DARK) & ~same
    sure = (differs > THIN_SURE * _tolerance(noise)) | sharp_dark
    return same, shadowed, differs, sure


def _thin_parts(hard: np.ndarray, by_colour: np.ndarray) -> np.ndarray | None:
    """Pixels to put back: surely-product runs (by colour) reaching the coarse product, thin ones only.

    A wire lost in the coarse pass still reaches the part it hangs from; only colour evidence
    puts a part back (a sharp darkening alone may be a contact shadow). None: no such run.
    """
    n, labels = cv2.connectedComponents(by_colour.astype(np.uint8), connectivity=8)
    if n <= 1:
        return None
    touch = np.zeros(n, bool)
    # within a few pixels: where a wire meets a dark part its darkening is not local
    near = cv2.dilate(hard.astype(np.uint8), cv2.getStructuringElement(
        cv2.MORPH_ELLIPSE, (THIN_REACH_PX, THIN_REACH_PX))).astype(bool)
    touch[np.unique(labels[near & by_colour])] = True
    touch[0] = False
    add = touch[labels] & ~hard
    # only thin runs: a wide one (a second object, the table beyond) is the coarse pass's call
    na, alab = cv2.connectedComponents(add.astype(np.uint8), connectivity=8)
    if na > 1:
        width = cv2.distanceTransform(add.astype(np.uint8), cv2.DIST_L2, 3)
        widest = np.zeros(na, np.float32)
        np.maximum.at(widest, alab.ravel(), width.ravel())
        add = add & (widest <= THIN_MAX_HALF_WIDTH)[alab]
    return add


def _outside(hard: np.ndarray) -> np.ndarray:
    """The background reached from the frame's border (not a hole already open), grown by a pixel."""
    nb, blab = cv2.connectedComponents((~hard).astype(np.uint8), connectivity=4)
    edge_labels = np.unique(np.concatenate([blab[0], blab[-1], blab[:, 0], blab[:, -1]]))
    exterior = np.isin(blab, edge_labels[edge_labels > 0]) & ~hard
    return cv2.dilate(exterior.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)


def _beyond_extent(hard: np.ndarray, sure: np.ndarray, labels: np.ndarray, n: int, regions: np.ndarray,
                   area: np.ndarray) -> np.ndarray:
    """Per region (of ``regions``, a boolean per label): it lies beyond its product's extent.

    That is: mostly (BEYOND_MIN_SHARE) outside the convex hull of the surely-product pixels of its
    piece of ``hard``, and a minor part of that piece (at most BEYOND_MAX_PIECE_SHARE of its area):
    a shadow cast beside a product that other evidence holds there. A region that is most of its
    piece (the body of a clear bottle, whose few sure pixels are its cap and a few edges) is the
    product itself.
    """
    out = np.zeros(n, bool)
    if not regions.any():
        return out
    npieces, pieces, pstats, _ = cv2.connectedComponentsWithStats(hard.astype(np.uint8), connectivity=8)
    piece_of = np.zeros(n, np.int64)
    piece_of[labels.ravel()] = pieces.ravel()
    hull = np.zeros(hard.shape, np.uint8)
    for piece in np.unique(piece_of[regions]):
        if piece == 0:
            continue
        ys, xs = np.nonzero(sure & (pieces == piece))
        if ys.size >= 3:
            cv2.fillConvexPoly(hull, cv2.convexHull(np.stack([xs, ys], axis=1).astype(np.int32)), 1)
    outside_hull = np.bincount(labels.ravel(), weights=(hull == 0).ravel().astype(np.float64), minlength=n)
    piece_area = pstats[piece_of, cv2.CC_STAT_AREA].astype(np.float64)
    out = regions & (outside_hull >= BEYOND_MIN_SHARE * np.maximum(area, 1.0)) & (
        area <= BEYOND_MAX_PIECE_SHARE * piece_area)
    return out


def _narrow_contact(labels: np.ndarray, n: int, cand: np.ndarray, outside: np.ndarray,
                    sure: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per region: it meets the outside along a small part of its rim only (HOLE_MAX_CONTACT)...

    ... and its rim, apart from that contact, is confident product (a wire or a rim of a colour
    the backdrop cannot have, within 2 px): a soft-shaded face of the product in the backdrop's
    colour that a weak edge separates from the outside is no hole. Also returns each region's
    contact: the share of its rim that meets the outside.
    """
    rim = cv2.dilate((cand == 0).astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool) & (cand > 0)
    rim_px = np.bincount(labels[rim], minlength=n).astype(np.float64)
    contact = np.bincount(labels[rim & outside], minlength=n).astype(np.float64)
    near_sure = cv2.dilate(sure.astype(np.uint8), np.ones((SURE_RIM_PX, SURE_RIM_PX), np.uint8)).astype(bool)
    inner_rim = rim & ~outside
    sure_rim = np.bincount(labels[inner_rim & near_sure], minlength=n) / np.maximum(
        np.bincount(labels[inner_rim], minlength=n), 1.0)
    narrow = (contact <= HOLE_MAX_CONTACT * np.maximum(rim_px, 1.0)) & (sure_rim >= NARROW_MIN_SURE_RIM)
    return narrow, contact / np.maximum(rim_px, 1.0)


def _holes(p: np.ndarray, hard: np.ndarray, srgb: np.ndarray, field: np.ndarray, evidence,
           saliency: np.ndarray | None, noise: float, min_px: float, stats: dict) -> np.ndarray:
    """``p`` with the holes opened (set to 0); ``stats`` gets the region counts.

    Holes: the backdrop's colour (or its shadow) inside the outline, never a surely-product pixel.
    A wire is a wall between holes: thickened by a pixel so that its gaps do not join them; so is
    a sharp edge (the rim of a product face in the backdrop's colour), unlike a soft shadow's edge.
    """
    same, shadowed, differs, sure = evidence
    lum = srgb.mean(axis=2)
    grad = np.hypot(cv2.Sobel(lum, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(lum, cv2.CV_32F, 0, 1, ksize=3)) / 8.0
    edge = grad > max(EDGE_GRAD, EDGE_GRAD_NOISE * noise)
    wall = cv2.dilate((sure | edge).astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    cand = (hard & (same | shadowed) & ~wall).astype(np.uint8)
    n, labels, cstats, _ = cv2.connectedComponentsWithStats(cand, connectivity=4)
    if n <= 1:
        return p
    area = cstats[:, cv2.CC_STAT_AREA].astype(np.float64)

    def mean_of(mask: np.ndarray) -> np.ndarray:
        return np.bincount(labels.ravel(), weights=mask.ravel().astype(np.float64), minlength=n) / np.maximum(area, 1.0)

    strong = np.bincount(labels.ravel(), weights=(same & hard).ravel().astype(np.float64), minlength=n)
    # The backdrop seen through a hole is the backdrop within its own measured noise (lit or in
    # shadow); seen through glass it is hazed, refracted or crossed by reflections: a region
    # where too few pixels are that exact is glass (product), never a hole.
    exact = mean_of(differs < max(STRICT_NOISE * noise, STRICT_MIN))
    outside = _outside(hard)
    open_to_outside = np.zeros(n, bool)
    open_to_outside[np.unique(labels[outside & (cand > 0)])] = True
    share = strong / np.maximum(area, 1.0)
    # A region open to the outside along much of its rim may be a face of the product in the
    # backdrop's colour (a white box top on a white sweep, a grey can rim on grey): only a region
    # the product encloses, or one mostly of the backdrop's colour that meets the outside along a
    # small part of its rim only (a lens seen past a temple, the gap between keys), is opened; or
    # one that fades into the outside with no edge and that saliency does not hold to be product
    # (a soft drop shadow that the coarse pass kept).
    narrow, contact = _narrow_contact(labels, n, cand, outside, sure)
    sal_mean = mean_of(saliency) if saliency is not None else np.ones(n)
    # A soft shadow reaches the lit backdrop with no edge between: it needs none of the backdrop's
    # own colour inside it (the shadow of a temple, of a chain, on a coloured sweep has none).
    # Saliency, blurred at 320 px, holds the shadow cast beside a wire frame to be product: a strip
    # that meets the outside along much of its rim (SHADOW_MIN_CONTACT) and lies beyond the
    # product's extent (outside the convex hull of its surely-product pixels, a minor part of its
    # piece of the mask) is no face of it, whatever saliency says.
    faded = open_to_outside & (share < SHADOW_MAX_SAME)
    unsure = faded & (sal_mean >= SHADOW_MAX_SALIENCY) & (area >= min_px) & (contact >= SHADOW_MIN_CONTACT)
    faded &= (sal_mean < SHADOW_MAX_SALIENCY) | _beyond_extent(hard, sure, labels, n, unsure, area)
    # The backdrop in shadow through a hole of a neutral product on a neutral sweep (a pendant's
    # eye) has none of the backdrop's lit colour either: enclosed and all shadow, it is a hole
    # where saliency does not hold it to be product (as for a shadow open to the outside).
    shaded_hole = ~open_to_outside & (share < HOLE_ENCLOSED_SHARE) & (sal_mean < SHADOW_MAX_SALIENCY)
    # The backdrop seen through a hole (or in shadow) is never brighter than the backdrop: a region
    # of which more than HOLE_MAX_BRIGHT is brighter than the fitted field by BRIGHT_NOISE x its
    # noise is a highlight on the product (the lit side of a white bottle on a white sweep).
    bright = mean_of((lum - field.mean(axis=2)) > BRIGHT_NOISE * noise)
    real = np.arange(n) > 0
    candidate = real & (strong >= min_px)
    shaded = real & (area >= min_px) & (faded | shaded_hole)
    keep = (candidate | shaded) & (exact >= HOLE_EXACT_SHARE) & (bright <= HOLE_MAX_BRIGHT) & (
        (~open_to_outside & (share >= HOLE_ENCLOSED_SHARE)) | (narrow & (share >= HOLE_MIN_SHARE)) | faded
        | shaded_hole)
    stats["highlight_regions"] = int((candidate & (bright > HOLE_MAX_BRIGHT)).sum())
    stats["glass_regions"] = int((candidate & (exact < HOLE_EXACT_SHARE)).sum())
    if keep.any():
        hole = keep[labels]
        stats["holes"] = int(keep.sum())
        stats["hole_share"] = round(float(hole.sum()) / float(hard.sum()), 4)
        # A hole saliency doubts is surely backdrop (0: the edge band may not seal it back, however
        # narrow: a chain link's eye); one saliency holds to be product (a white label's strip
        # beside a can's limb, the counter of a letter, on a white sweep) is left to the band's
        # seal when it is narrower than the band (HOLE_HELD_P: below 0.5, above the seal's 0.02).
        held = (sal_mean >= SHADOW_MAX_SALIENCY)[labels]
        p = np.where(hole, np.where(held, HOLE_HELD_P, 0.0), p).astype(np.float32)
    return p


def refine_holes(prob: np.ndarray, crop: np.ndarray, model: BackdropModel,
                 max_side: int = HOLES_MAX_SIDE, saliency: np.ndarray | None = None) -> tuple[np.ndarray, dict]:
    """Thin parts put back and holes opened, at up to ``max_side`` px (finer than the coarse pass).

    Parameters
    ----------
    prob : float32 h x w coarse product probability (after :func:`.auto.clean_mask`).
    crop : float32 H x W x 3 linear photo (the crop the coarse pass was made from).
    model : the clean backdrop fitted on the coarse image (its field is smooth: it is scaled up).

    Returns
    -------
    prob : float32 probability at the finer resolution (``(H, W)`` scaled to ``max_side``, never
        below the coarse one): pass it to :func:`.matting.refine_alpha_band` like the coarse one.
    stats : ``holes``, ``hole_share``, ``thin_px`` (pixels put back) and ``holes_size``.
    """
    small, field, p_full, saliency = _fine_inputs(prob, crop, model, max_side, saliency)
    sh, sw = prob.shape
    mh, mw = p_full.shape
    min_px = HOLE_MIN_PX * (mw * mh) / float(sw * sh)
    win = _product_window(small, prob, model)
    p = p_full[win].copy()
    srgb = cv2.GaussianBlur(linear_to_srgb(np.ascontiguousarray(small[win])), (0, 0), EVIDENCE_BLUR_SIGMA)
    field = np.ascontiguousarray(field[win])
    if saliency is not None:
        saliency = saliency[win]
    evidence = _evidence(srgb, field, model.noise)
    differs = evidence[2]
    stats = {"holes_size": [mw, mh], "thin_px": 0, "holes": 0, "hole_share": 0.0}
    hard = p >= 0.5
    if not hard.any():
        return _paste(p_full, p, win), stats
    add = _thin_parts(hard, differs > THIN_SURE * _tolerance(model.noise))
    if add is not None:
        stats["thin_px"] = int(add.sum())
        p = np.where(add, 1.0, p)
        hard = p >= 0.5
    p = _holes(p, hard, srgb, field, evidence, saliency, model.noise, min_px, stats)
    return _paste(p_full, p, win), stats
