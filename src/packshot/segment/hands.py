"""Hands holding the product: skin-coloured regions that reach the photo's edge are not product.

``exclude_hands`` (``packshot cutout --exclude-hands``):

1. **The hand.** The pixels of skin colour (a fixed YCrCb range, the classic skin locus, on the
   sRGB photo) are opened with a disc of ``HAND_CORE_RADIUS`` x the photo's long side: a hand or
   an arm is thick, so it survives, while thin skin-coloured lines (the rim of a printed glass,
   a shaded carton edge, wood grain) that would join it to the product do not. A core that
   reaches the edge of the photo (an arm comes in from outside the frame), is large enough to
   be a hand and lies on the product's side of the photo (in the cut-out, or in the box prompt)
   is grown back over the skin pixels next to it: that is the hand. A skin-coloured part of
   the product (a peach on a label, a tan panel) does not reach the edge and stays.
2. **The product without it.** Where a hand covers part of a product, the cut-out the hand was
   in (saliency, or saliency inside a box) is wrong on both sides of it: it keeps the hand and
   loses the product next to the fingers. GrabCut re-decides the region with the hand and the
   outside of the box (or what lies far from the cut-out) as sure background, the heart of
   the cut-out (eroded) as sure product, the rest of the cut-out as probable product.
3. **What the hand holds.** The pieces touching the hand are the held product (a piece at
   least a fifth of the largest one); pieces that do not touch it are clutter. A hand grips a
   solid object: a notch of the product's convex hull that opens onto the hand is product
   hidden by the fingers' shade, and is filled; a notch away from the hand (a mug's handle,
   the gap between two parts) stays open.
4. Edges are matted at full resolution (:func:`~.matting.refine_alpha_band`).

Limits (measured in ``benchmarks/fidelity.py`` on generated held cartons): a skin-coloured part of
the product that touches the hand (a tan band under the fingers) goes with the hand; the darkest
skin tones in shade fall outside the fixed locus, and then the cut-out comes back unchanged (the
gate judges it). On a cluttered photo without a box, clutter next to the product stays with it
and the gate asks for a prompt: ``--box`` with ``--exclude-hands`` is the path. For a hand the
colour misses, a negative point (``--point x,y,0``) is the fix.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..ops.morphology import disc as _disc
from ..types import Box, Cutout
from .grabcut import grabcut

__all__ = ["skin_mask", "hand_mask", "exclude_hands", "segment_prompted", "prompted"]

CR_RANGE = (146, 175)
"""Skin locus on Cr (8-bit YCrCb of the sRGB photo)."""
CB_RANGE = (85, 125)
"""Skin locus on Cb."""
MIN_HAND_SHARE = 0.01
"""Least share of the photo a skin region must cover to be taken as a hand."""
HAND_CORE_RADIUS = 0.02
"""Radius (share of the long side) of the disc that opens the skin mask: a hand's core survives
it, thin skin-coloured lines (printed outlines, shaded edges) joining it to the product do not."""
WORK_SIDE = 512
"""Long side (px) at which the product is re-decided with GrabCut."""
CORE_ERODE = 0.03
"""Erosion (share of the working long side) of the cut-out that gives GrabCut's sure product."""
FAR_FROM_CUTOUT = 0.05
"""Without a box, pixels farther than this share of the diagonal from the cut-out are sure background."""
HAND_TOUCH = 0.015
"""A piece within this share of the working long side of the hand touches it (is held)."""
HELD_MIN_FRACTION = 0.02
"""Least size of a piece touching the hand, as a share of the largest one (fingers across the
product cut it into pieces, some small: all are held; specks are not)."""
FREE_MIN_FRACTION = 0.2
"""When no piece touches the hand: the largest piece and those at least this share of it."""
STRIP_OPEN = 0.015
"""Radius (share of the working long side) of the opening of GrabCut's product: strips of clutter
thinner than about twice this along the product's side break off (and are not held)."""
GRABCUT_ITERATIONS = 5
EDGE_BAND_PX = 1.5
"""Half-width (working pixels) of the edge band matted at full resolution."""


def skin_mask(rgb_linear: np.ndarray) -> np.ndarray:
    """Boolean mask of skin-coloured pixels of a linear RGB photo (lightly cleaned)."""
    from ..imaging import linear_to_srgb8

    srgb8 = linear_to_srgb8(np.clip(rgb_linear, 0, 1), dither=False)
    ycc = cv2.cvtColor(np.ascontiguousarray(srgb8), cv2.COLOR_RGB2YCrCb)
    y, cr, cb = ycc[..., 0], ycc[..., 1], ycc[..., 2]
    m = ((cr >= CR_RANGE[0]) & (cr <= CR_RANGE[1]) & (cb >= CB_RANGE[0]) & (cb <= CB_RANGE[1]) & (y > 40))
    k = max(3, int(0.006 * max(m.shape)) | 1)
    m = cv2.morphologyEx(m.astype(np.uint8), cv2.MORPH_OPEN, np.ones((k, k), np.uint8))
    m = cv2.morphologyEx(m, cv2.MORPH_CLOSE, np.ones((k, k), np.uint8))
    return m.astype(bool)


def hand_mask(rgb_linear: np.ndarray, support: np.ndarray | None = None, entry: np.ndarray | None = None) -> np.ndarray:
    """Boolean mask of the hands in a linear RGB photo: thick skin-coloured regions reaching its edge.

    ``support`` (bool, optional): where the product is (the cut-out, or the box prompt); a hand
    must cover at least ``MIN_HAND_SHARE`` of the photo inside it, and reach the photo's edge
    inside it. ``entry`` (bool, optional): more pixels an arm may come in by (a box prompt's
    border: the arm outside the box is not in the support).
    """
    h, w = rgb_linear.shape[:2]
    skin = skin_mask(rgb_linear)
    r = max(2, int(HAND_CORE_RADIUS * max(h, w)))
    core = cv2.morphologyEx(skin.astype(np.uint8), cv2.MORPH_OPEN, _disc(r))
    n, labels = cv2.connectedComponents(core, connectivity=8)
    if n <= 1:
        return np.zeros((h, w), bool)
    if support is not None:
        # a skin-coloured backdrop around the product is not a hand: only what lies on the product's side
        labels = np.where(support, labels, 0)
        skin = skin & support
    edge = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    if entry is not None:
        edge = np.union1d(edge, np.unique(labels[entry]))
    area = np.bincount(labels.ravel(), minlength=n)
    hands = [int(i) for i in edge if i > 0 and area[i] >= MIN_HAND_SHARE * h * w]
    if not hands:
        return np.zeros((h, w), bool)
    core = np.isin(labels, hands)
    # grown back over the skin next to it (the fingers' rims the opening shaved off)
    grown = cv2.dilate(core.astype(np.uint8), _disc(r)).astype(bool) & skin
    return core | grown


def _grabcut(srgb: np.ndarray, hand: np.ndarray, base: np.ndarray, box_in: np.ndarray | None) -> np.ndarray:
    """The product re-decided by GrabCut with the hand as sure background (working size)."""
    h, w = hand.shape
    mask = np.full((h, w), cv2.GC_PR_BGD, np.uint8)
    product = base & ~hand
    mask[product] = cv2.GC_PR_FGD
    core = cv2.erode(product.astype(np.uint8), _disc(max(1, int(CORE_ERODE * max(h, w))))).astype(bool)
    mask[core] = cv2.GC_FGD
    if box_in is not None:
        mask[~box_in] = cv2.GC_BGD
        if not product.any():
            mask[box_in] = cv2.GC_PR_FGD
    else:
        far = cv2.distanceTransform((~base).astype(np.uint8), cv2.DIST_L2, 5) > FAR_FROM_CUTOUT * np.hypot(h, w)
        mask[far] = cv2.GC_BGD
    mask[hand] = cv2.GC_BGD
    if not (np.isin(mask, (cv2.GC_FGD, cv2.GC_PR_FGD)).any() and np.isin(mask, (cv2.GC_BGD, cv2.GC_PR_BGD)).any()):
        return product
    img8 = np.clip(np.rint(srgb * 255), 0, 255).astype(np.uint8)[..., ::-1].copy()
    cut = grabcut(img8, mask, GRABCUT_ITERATIONS)
    if cut is None:
        return product
    product = cut.astype(np.uint8)
    # a thin strip of clutter GrabCut let through along the product's side breaks off
    return cv2.morphologyEx(product, cv2.MORPH_OPEN, _disc(max(1, int(STRIP_OPEN * max(h, w))))).astype(bool)


def _held(product: np.ndarray, hand: np.ndarray) -> np.ndarray:
    """The pieces of ``product`` the hand holds, and the notches of their hull that open onto the hand."""
    h, w = product.shape
    n, labels, stats, _ = cv2.connectedComponentsWithStats(product.astype(np.uint8), connectivity=8)
    if n <= 1:
        return product
    near_hand = cv2.dilate(hand.astype(np.uint8), _disc(max(1, int(HAND_TOUCH * max(h, w))))).astype(bool)
    areas = stats[:, cv2.CC_STAT_AREA]
    touching = [int(i) for i in np.unique(labels[near_hand & product]) if i > 0]
    pool = touching or list(range(1, n))
    largest = max(areas[i] for i in pool)
    least = (HELD_MIN_FRACTION if touching else FREE_MIN_FRACTION) * largest
    held = np.isin(labels, [i for i in pool if areas[i] >= least])
    if not touching:
        return held
    hull = np.zeros((h, w), np.uint8)
    cv2.fillConvexPoly(hull, cv2.convexHull(cv2.findNonZero(held.astype(np.uint8))), 1)
    notches = hull.astype(bool) & ~held & ~hand
    m, nl = cv2.connectedComponents(notches.astype(np.uint8), connectivity=4)
    if m > 1:
        onto_hand = [int(i) for i in np.unique(nl[near_hand & notches]) if i > 0]
        held |= np.isin(nl, onto_hand)
    return held


def exclude_hands(cutout: Cutout, photo: np.ndarray | None = None, box: Box | None = None) -> tuple[Cutout, dict]:
    """``cutout`` with the hands (thick skin-coloured regions reaching the photo's edge) removed
    and the held product re-decided around them.

    Parameters
    ----------
    cutout : the cut-out to correct (the hand may be in it, or already out of it).
    photo : float32 H x W x 3 linear photo the cut-out came from (default: ``cutout.image``).
    box : the box prompt the cut-out was made with, if any (nothing outside it is product).

    Returns the new cut-out (flag ``hands-excluded`` when a hand was found) and a record
    (``hand_share``: share of the photo taken as hand; ``regions``: hands found).
    """
    from ..imaging import linear_to_srgb, resize_linear
    from . import cutout_from_mask
    from .matting import refine_alpha_band

    rgb = cutout.image if photo is None else photo
    h, w = cutout.alpha.shape
    if rgb.shape[:2] != (h, w):
        raise ValueError(f"photo is {rgb.shape[1]}x{rgb.shape[0]}, the cut-out {w}x{h}")
    scale = min(1.0, WORK_SIDE / max(h, w))
    sw, sh = max(8, int(round(w * scale))), max(8, int(round(h * scale)))
    small = resize_linear(rgb, (sw, sh)) if (sw, sh) != (w, h) else rgb
    base = cv2.resize(cutout.alpha, (sw, sh), interpolation=cv2.INTER_AREA) > 0.5
    box_in = None
    if box is not None:
        x0, y0, x1, y1 = box
        box_in = np.zeros((sh, sw), bool)
        box_in[int(y0 * scale):int(np.ceil(y1 * scale)), int(x0 * scale):int(np.ceil(x1 * scale))] = True
    entry = None
    if box_in is not None:
        support = box_in
        entry = box_in & ~cv2.erode(box_in.astype(np.uint8), np.ones((3, 3), np.uint8), borderValue=1).astype(bool)
    else:
        support = cv2.dilate(base.astype(np.uint8), _disc(2)).astype(bool)
    hand = hand_mask(small, support, entry)
    if not hand.any():
        return cutout, {"hand_share": 0.0, "regions": 0}
    regions = cv2.connectedComponents(hand.astype(np.uint8), connectivity=8)[0] - 1
    product = _held(_grabcut(linear_to_srgb(np.clip(small, 0, 1)), hand, base, box_in), hand)
    if not product.any():
        # nothing but the hand: leave the cut-out as it was for the gate to judge
        return cutout, {"hand_share": round(float(hand.mean()), 4), "regions": int(regions), "product_left": False}
    alpha, band_fg, _ = refine_alpha_band(rgb, product.astype(np.float32), EDGE_BAND_PX)
    if box is not None:
        x0, y0, x1, y1 = box
        inside = np.zeros((h, w), bool)
        inside[max(0, y0 - 1):y1 + 1, max(0, x0 - 1):x1 + 1] = True
        alpha = np.where(inside, alpha, 0.0).astype(np.float32)
    foreground = None
    if band_fg is not None:
        ys, xs, colours = band_fg
        foreground = rgb.copy()
        foreground[ys, xs] = colours
    record = {"hand_share": round(float(hand.mean()), 4), "regions": int(regions)}
    prov = dict(cutout.provenance)
    prov["exclude_hands"] = record
    new = cutout_from_mask(rgb, alpha, background=cutout.background, confidence=cutout.confidence,
                           flags=(*cutout.flags, "hands-excluded"), provenance=prov, foreground=foreground)
    return new, record


def segment_prompted(image, prompt, backend: str = "auto") -> Cutout:
    """:func:`packshot.segment.segment` with a prompt file's or manifest row's prompt: its box
    and points go to the segmenter, and its ``exclude_hands`` then cuts a holding hand away
    (:func:`exclude_hands`, with the box). ``prompt`` None or empty: the plain cut-out."""
    from . import segment

    geometric = None if prompt is None or prompt.empty else prompt
    cut = segment(image, backend=backend, prompt=geometric)
    if prompt is not None and prompt.exclude_hands and not cut.is_empty:
        rgb = getattr(image, "rgb", image)
        cut = exclude_hands(cut, rgb, box=prompt.box)[0]
    return cut


def prompted(prompt) -> bool:
    """Did the user draw the product (a box or points)? Then the gate's second estimate, blind to
    the drawing, does not vote. A prompt that only asks for hands to be cut away draws nothing."""
    return prompt is not None and not prompt.empty
