"""A fine mesh on a desk: the desk seen through its gaps is unmixed (``auto``'s desk path).

A mesh pencil cup on a desk is a lattice of dark wire with the desk in every gap. Saliency (and
:func:`.auto.open_surface_through`, which opens only the desk that reaches the outside) keeps the
whole lattice opaque, so the old desk shows on the new scene. Here the desk colour, known from
the photo's border model, is unmixed: where the product holds many small enclosed pieces of the
desk's colour (a mesh, not one large window, which is clear plastic and left to the see-through
stage), each pixel of that region is solved as a mix of the wire's colour and the desk's, its alpha
lowered to the wire's share and its foreground colour set to the wire's.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..imaging import linear_to_srgb, srgb_to_linear
from .backdrop import BackdropModel
from .holes import norm3

MESH_MAX_SIDE = 1536
"""Long side (px) at which the gaps are found (a mesh's gaps of a 20 MP photo are ~6 px there)."""
GAP_MAX_SHARE = 0.002
"""A piece of desk colour inside the product larger than this share of the product is a window
(clear plastic), not a gap of a mesh."""
GAP_MIN_PX = 12
"""Pieces of desk colour smaller than this (px at the finding resolution) are no gaps: a desk's grain,
a cookie's or a print's speckle (set on the desk photos: their pieces' median is 3-5 px, the mesh
cup's gaps' 105 px, the generated mesh's 40 px; not held out)."""
MESH_MIN_GAPS = 40
"""Fewer gaps than this in the product: no mesh."""
MESH_MIN_LIT = 0.1
"""Least share of a mesh region in the lit desk's colour (set on the desk photos, not held out: the
mesh cup 0.112, the clear bag of the safety glasses 0.30; an Oreo bag's cookie 0.068, a spark plug
0.03)."""
MESH_WINDOW = 0.02
"""Side of the window (share of the long side) in which the gaps' density is measured."""
MESH_MIN_DENSITY = 0.04
"""Least share of the window in desk-coloured gaps for a pixel to be in the mesh region."""
WIRE_DARK_SHARE = 0.2
"""The wire's colour: the median of the darkest this share of the mesh region."""
MIN_CONTRAST = 0.05
"""Least linear distance between the wire's and the desk's colour for the unmixing to be trusted."""
OFF_LINE_TRUST = (1.5, 2.0)
"""Trust of a pixel's solve: clip(a - b x off_line, 0, 1), off_line its distance from the wire-desk
line in units of the wire-desk contrast (a label or a highlight is no mix of the two)."""
PRIOR_WEIGHT = 0.02
"""Pull of the unmixed foreground colour towards the wire's colour (as in :mod:`.matting`)."""


LIT_RANGE = (0.75, 1.25)
"""Brightness (share of the desk's, linear) of a gap that shows the desk as lit: a mesh is found
by many such gaps (a dark product's shaded browns are no gaps of the lit desk)."""
SHADE_RANGE = (0.35, 1.25)
"""Brightness of a pixel that may still be the desk in the product's shade (the desk seen through
the far side of a mesh cup): it joins the mesh region found by the lit gaps."""


def _desk_shade(linear: np.ndarray, field_srgb: np.ndarray, tol: float) -> np.ndarray:
    """Brightness of each pixel as a share of the desk's (linear), NaN where no scaling of the desk
    colour within SHADE_RANGE matches it within ``tol`` (sRGB)."""
    b = srgb_to_linear(np.clip(field_srgb, 0, 1))
    k = (linear * b).sum(axis=2) / np.maximum((b * b).sum(axis=2), 1e-8)
    shaded = np.clip(k, *SHADE_RANGE)[..., None] * b
    match = norm3(linear_to_srgb(np.clip(shaded, 0, 1)) - linear_to_srgb(linear)) < tol
    return np.where(match & (k >= SHADE_RANGE[0]) & (k <= SHADE_RANGE[1]), k, np.nan).astype(np.float32)


def unmix_mesh(crop: np.ndarray, alpha: np.ndarray, foreground: np.ndarray | None, model: BackdropModel,
               tol: float, params: dict) -> tuple[np.ndarray, np.ndarray | None]:
    """Alpha and foreground of ``crop`` with the desk unmixed from a mesh's gaps.

    Parameters
    ----------
    crop : float32 H x W x 3 linear photo.
    alpha : float32 H x W alpha of the product (the desk path's, edges refined).
    foreground : float32 H x W x 3 decontaminated foreground, or None.
    model : the border model of the desk (its ``field`` at the working resolution).
    tol : sRGB distance within which a pixel is the desk's colour.
    params : provenance; gets ``mesh_gaps`` and ``mesh_share``.

    Returns
    -------
    The new alpha (never above the old) and foreground (None when ``foreground`` is None): the
    arrays given, changed in place.
    """
    h, w = alpha.shape
    params["mesh_gaps"] = 0
    params["mesh_share"] = 0.0
    hard = alpha > 0.5
    if not hard.any():
        return alpha, foreground
    f = min(1.0, MESH_MAX_SIDE / max(h, w))
    fw, fh = max(1, int(round(w * f))), max(1, int(round(h * f)))
    small = cv2.resize(crop, (fw, fh), interpolation=cv2.INTER_AREA) if f < 1.0 else crop
    field = cv2.resize(model.field, (fw, fh), interpolation=cv2.INTER_LINEAR)
    hard_f = cv2.resize(hard.astype(np.uint8), (fw, fh), interpolation=cv2.INTER_NEAREST).astype(bool)
    shade = _desk_shade(small, field, tol)
    with np.errstate(invalid="ignore"):
        desk_like = hard_f & (shade >= LIT_RANGE[0]) & (shade <= LIT_RANGE[1])
    n, labels, stats, _ = cv2.connectedComponentsWithStats(desk_like.astype(np.uint8), connectivity=4)
    if n <= 1:
        return alpha, foreground
    areas = stats[1:, cv2.CC_STAT_AREA]
    gap_ids = np.flatnonzero((areas >= GAP_MIN_PX) & (areas <= GAP_MAX_SHARE * hard_f.sum())) + 1
    params["mesh_gaps"] = int(gap_ids.size)
    if gap_ids.size < MESH_MIN_GAPS:
        return alpha, foreground
    keep = np.zeros(n, bool)
    keep[gap_ids] = True
    gaps = keep[labels]
    k = max(3, int(MESH_WINDOW * max(fw, fh)) | 1)
    # the region: where the desk's colour is dense inside the product (gaps of any size: a mesh's
    # gaps merge where its wire is thinner than a pixel), in pieces that hold a mesh's many gaps
    shaded = hard_f & ~np.isnan(shade)
    density = cv2.boxFilter(shaded.astype(np.float32), -1, (k, k))
    dense = ((density >= MESH_MIN_DENSITY) & hard_f).astype(np.uint8)
    m, pieces = cv2.connectedComponents(dense, connectivity=8)
    # gaps per piece (a gap belongs to the piece of any of its pixels in one)
    piece_of_gap = np.zeros(n, np.int64)
    np.maximum.at(piece_of_gap, labels[gaps], pieces[gaps])
    counts = np.bincount(piece_of_gap[gap_ids], minlength=m)
    counts[0] = 0
    # share of each piece in the lit desk's colour: a mesh's open gaps show much of the desk; the
    # speckle of a dark print or a cookie in the shaded desk's browns shows little
    lit = np.bincount(pieces[desk_like], minlength=m) / np.maximum(np.bincount(pieces.ravel(), minlength=m), 1)
    region_f = ((counts >= MESH_MIN_GAPS) & (lit >= MESH_MIN_LIT))[pieces] & (dense > 0)
    region = cv2.resize(region_f.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST).astype(bool)
    if not region.any():
        return alpha, foreground
    params["mesh_share"] = round(float(region.sum()) / float(hard.sum()), 4)
    ys, xs = np.nonzero(region)
    pix = crop[ys, xs]
    # the desk's colour at each pixel: its smooth border field, scaled up (linear light)
    # (linearised at the working size, then scaled up: the field is smooth)
    field_lin = srgb_to_linear(np.clip(model.field, 0, 1)).astype(np.float32)
    b = cv2.resize(field_lin, (w, h), interpolation=cv2.INTER_LINEAR)[ys, xs]
    lum = pix.mean(axis=1)
    dark = lum <= np.quantile(lum, WIRE_DARK_SHARE)
    wire = np.median(pix[dark], axis=0).astype(np.float32)
    d = wire[None, :] - b
    den = (d * d).sum(axis=1)
    contrast = np.sqrt(den)
    solved = np.clip(((pix - b) * d).sum(axis=1) / np.maximum(den, 1e-8), 0.0, 1.0)
    resid = pix - b - solved[:, None] * d
    off_line = np.sqrt((resid * resid).sum(axis=1)) / np.maximum(contrast, 1e-6)
    trust = np.clip(OFF_LINE_TRUST[0] - OFF_LINE_TRUST[1] * off_line, 0.0, 1.0) * (contrast >= MIN_CONTRAST)
    old = alpha[ys, xs]
    new = np.minimum(old, trust * solved + (1.0 - trust) * old).astype(np.float32)
    alpha[ys, xs] = new
    if foreground is not None:
        a = new[:, None]
        fg = (a * (pix - (1.0 - a) * b) + PRIOR_WEIGHT * wire[None, :]) / (a * a + PRIOR_WEIGHT)
        foreground[ys, xs] = np.clip(np.where(a >= 0.98, pix, fg), 0.0, 1.0)
    return alpha, foreground
