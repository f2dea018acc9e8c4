"""Edge refinement and foreground colour estimation.

Both rest on the compositing equation ``I = a F + (1 - a) B`` in linear light. Near a product
edge the foreground colour ``F`` and the background colour ``B`` are smooth in space, so they
are filled in from the sure-foreground and sure-background pixels nearby (a pull-push
interpolation, linear in the number of pixels, so it stays cheap at 12 MP). Then

- :func:`refine_alpha_band` solves each edge pixel for ``a`` (the projection of ``I - B`` on
  ``F - B``, "known-background" matting) where ``F`` and ``B`` differ enough to tell and the
  pixel lies on the line between them; it may shrink the coarse mask freely but grow it only a
  little (a dark product on its dark contact shadow is a perfect colour mix of the two), and it
  seals one-pixel gaps in the outline. Then it solves the band's pixels for ``F`` as below;
- :func:`estimate_foreground` solves each partly transparent pixel for ``F`` given ``a`` and
  ``B``, regularised toward the nearby sure-foreground colour, so the old backdrop does not
  survive as a halo (used for alphas that come from elsewhere: u2netp, ONNX, SAM, a mask).

The fills are computed at <= 0.3 MP and sampled at the band's pixels only.

Closed-form matting (pymatting) costs seconds per megapixel and needs a trimap as good as
ours; these closed-form per-pixel solves cost a few array passes, about 0.1 s at 12 MP.
"""

from __future__ import annotations

import cv2
import numpy as np

FOREGROUND_PRIOR_WEIGHT = 0.02
"""Weight of the propagated foreground colour against the compositing equation (per pixel)."""


def pull_push_fill(values: np.ndarray, weights: np.ndarray, min_size: int = 4) -> np.ndarray:
    """Fill every pixel with a weighted average of the known values around it.

    Parameters
    ----------
    values : ndarray
        float32 H x W x C (or H x W) values; only those with weight > 0 count.
    weights : ndarray
        float32 H x W in [0, 1], 0 where a value is unknown.
    min_size : int
        Coarsest pyramid level side.

    Returns
    -------
    ndarray
        float32, same shape as ``values``: known pixels keep (about) their value, unknown ones
        take the value of the nearest known region, smoothly.
    """
    vals = np.asarray(values, np.float32)
    squeeze = vals.ndim == 2
    if squeeze:
        vals = vals[..., None]
    w = np.asarray(weights, np.float32)
    if float(w.max(initial=0.0)) <= 0:
        out = np.zeros_like(vals)
        return out[..., 0] if squeeze else out
    levels_v = [vals * w[..., None]]
    levels_w = [w]
    while min(levels_w[-1].shape[:2]) > min_size:
        hh, ww = levels_w[-1].shape[:2]
        size = (max(1, (ww + 1) // 2), max(1, (hh + 1) // 2))
        nv = cv2.resize(levels_v[-1], size, interpolation=cv2.INTER_AREA)
        nw = cv2.resize(levels_w[-1], size, interpolation=cv2.INTER_AREA)
        if nv.ndim == 2:
            nv = nv[..., None]
        levels_v.append(nv)
        levels_w.append(nw)
    # push: coarse estimate fills where the finer level has little weight
    wc = levels_w[-1]
    est = levels_v[-1] / np.maximum(wc, 1e-8)[..., None]
    for v, wl in zip(reversed(levels_v[:-1]), reversed(levels_w[:-1])):
        hh, ww = wl.shape[:2]
        up = cv2.resize(est, (ww, hh), interpolation=cv2.INTER_LINEAR)
        if up.ndim == 2:
            up = up[..., None]
        # weight saturates: a level with full coverage keeps its own average
        conf = np.minimum(wl * 4.0, 1.0)[..., None]
        own = v / np.maximum(wl, 1e-8)[..., None]
        est = conf * own + (1.0 - conf) * up
    return est[..., 0] if squeeze else est.astype(np.float32)


def _smooth01(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    t = np.clip((x - lo) / max(hi - lo, 1e-9), 0.0, 1.0)
    return t * t * (3 - 2 * t)


def _seal_thin_gaps(alpha: np.ndarray, band: np.ndarray, sure_bg: np.ndarray) -> np.ndarray:
    """Make product of the backdrop-coloured pixels the product's own outline encloses.

    A clear rim or a highlight can take the backdrop's colour a pixel inside the product's
    dark outline; solved alone those pixels read as background and nick the outline. Pixels of
    the band that a 3 x 3 closing of the mask seals off from the sure background are product.
    Real holes (the backdrop through a handle) are wider than the band: their centre is sure
    background, so they stay open; so do narrower ones the coarse pass is sure of (a chain link's
    eye, at most ``SEAL_COARSE_BG``).
    """
    hard = (alpha > 0.5).astype(np.uint8)
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
    closed = cv2.morphologyEx(hard, cv2.MORPH_CLOSE, k)
    n, labels = cv2.connectedComponents((1 - closed).astype(np.uint8), connectivity=4)
    if n <= 1:
        return alpha
    open_labels = np.unique(labels[sure_bg & (closed == 0)])
    enclosed = (closed == 0) & ~np.isin(labels, open_labels)
    fill = ((closed == 1) & (hard == 0)) | enclosed
    fill &= band
    if not fill.any():
        return alpha
    out = alpha.copy()
    out[fill] = np.maximum(out[fill], 0.75)
    return out


def _sure_masks(alpha: np.ndarray, lo: float = 0.02, hi: float = 0.98) -> tuple[np.ndarray, np.ndarray]:
    """Sure foreground and sure background, eroded by one pixel (their edge is mixed)."""
    k = np.ones((3, 3), np.uint8)
    fg = cv2.erode((alpha >= hi).astype(np.uint8), k)
    bg = cv2.erode((alpha <= lo).astype(np.uint8), k)
    return fg.astype(bool), bg.astype(bool)


def _crop_box(mask: np.ndarray, pad: int) -> tuple[slice, slice] | None:
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    h, w = mask.shape
    y0, y1 = max(0, rows[0] - pad), min(h, rows[-1] + 1 + pad)
    x0, x1 = max(0, cols[0] - pad), min(w, cols[-1] + 1 + pad)
    return slice(y0, y1), slice(x0, x1)


def estimate_foreground(rgb: np.ndarray, alpha: np.ndarray, prior_weight: float = FOREGROUND_PRIOR_WEIGHT) -> np.ndarray:
    """Foreground colour of every pixel given its alpha (edge decontamination).

    Parameters
    ----------
    rgb : ndarray
        float32 H x W x 3 linear photo.
    alpha : ndarray
        float32 H x W in [0, 1].
    prior_weight : float
        Pull toward the nearby sure-foreground colour; wins where alpha is small.

    Returns
    -------
    ndarray
        float32 H x W x 3 linear foreground in [0, 1]: the photo where alpha is ~1, the solved
        colour where alpha is fractional, the nearest foreground colour where alpha is ~0.
    """
    fg = rgb.astype(np.float32, copy=True)
    mixed = (alpha > 0.02) & (alpha < 0.98)
    if not mixed.any():
        return fg
    # the bounding box of the mixed pixels, with room for the fills to find colours
    crop = _crop_box(mixed, 16)
    assert crop is not None
    cys, cxs = crop
    a = alpha[cys, cxs]
    img = rgb[cys, cxs]
    sure_fg, sure_bg = _sure_masks(a)
    if not sure_fg.any():
        sure_fg = a >= 0.5
    f_fill, b_fill, q = _fills(img, sure_fg, sure_bg)
    if f_fill is None:
        return fg
    ys, xs = np.nonzero((a > 0.02) & (a < 0.98))
    pix = img[ys, xs]
    f = _sample(f_fill, ys, xs, q)
    b = _sample(b_fill, ys, xs, q) if b_fill is not None else f
    a1 = a[ys, xs][:, None]
    solved = (a1 * (pix - (1.0 - a1) * b) + prior_weight * f) / (a1 * a1 + prior_weight)
    fg[ys + cys.start, xs + cxs.start] = np.clip(solved, 0.0, 1.0)
    return fg


def _fills(img: np.ndarray, f_known: np.ndarray, b_known: np.ndarray, max_pixels: float = 0.3e6):
    """Pull-push fills of the sure-foreground and sure-background colours of ``img``.

    Computed at reduced resolution when the crop is large: the fills are smooth fields, so
    their resolution hardly matters, and this keeps a 12 MP photo cheap. Returns the two fills
    and the scale factor (fill pixels per crop pixel).
    """
    h, w = f_known.shape
    q = max(1.0, float(np.sqrt(h * w / max_pixels)))
    fk, bk = f_known.astype(np.float32), b_known.astype(np.float32)
    if q > 1.0:
        size = (max(1, int(round(w / q))), max(1, int(round(h / q))))
        fk_q = cv2.resize(fk, size, interpolation=cv2.INTER_AREA)
        bk_q = cv2.resize(bk, size, interpolation=cv2.INTER_AREA)
        f_val = cv2.resize(img * fk[..., None], size, interpolation=cv2.INTER_AREA) / np.maximum(fk_q, 1e-6)[..., None]
        b_val = cv2.resize(img * bk[..., None], size, interpolation=cv2.INTER_AREA) / np.maximum(bk_q, 1e-6)[..., None]
    else:
        fk_q, bk_q, f_val, b_val = fk, bk, img, img
    f_fill = pull_push_fill(f_val, fk_q) if fk.any() else None
    b_fill = pull_push_fill(b_val, bk_q) if bk.any() else None
    return f_fill, b_fill, q


def _sample(field: np.ndarray, ys: np.ndarray, xs: np.ndarray, q: float, qy: float | None = None) -> np.ndarray:
    """Bilinear samples of a field reduced by ``q`` (``qy`` down the rows, default ``q``) at
    full-resolution pixels (ys, xs) -> N x C (N for a 2-D field)."""
    qy = q if qy is None else qy
    if q == 1.0 and qy == 1.0:
        return field[ys, xs]
    n = len(ys)
    cols = 1024  # remap wants a 2-D map under 32767 a side: lay the samples out in rows
    rows = -(-n // cols)
    mx = np.zeros(rows * cols, np.float32)
    my = np.zeros(rows * cols, np.float32)
    mx[:n] = (xs.astype(np.float32) + 0.5) / q - 0.5
    my[:n] = (ys.astype(np.float32) + 0.5) / qy - 0.5
    out = cv2.remap(field, mx.reshape(rows, cols), my.reshape(rows, cols), interpolation=cv2.INTER_LINEAR,
                    borderMode=cv2.BORDER_REPLICATE)
    out = out.reshape(rows * cols, -1)[:n]
    return out[:, 0] if field.ndim == 2 else out


BAND_PAD_PX = 8
"""Pixels added to the crop around the band (beyond 2 x its half-width at full resolution)."""
OFF_LINE_TRUST = (1.5, 2.0)
"""Trust factor of a solved pixel: clip(OFF_LINE_TRUST[0] - OFF_LINE_TRUST[1] x off_line, 0, 1),
``off_line`` being its distance from the F-B line in units of the F-B contrast."""
SEAL_COARSE_BG = 0.02
"""At or below this coarse alpha a band pixel is background for :func:`_seal_thin_gaps`: a region
of the band reaching such a pixel is open (a chain link's eye), not enclosed by the outline."""
OPAQUE_ALPHA = 0.98
"""At or above this alpha a band pixel's foreground colour is the photo's own."""


def _band_masks(coarse: np.ndarray, band_px: float, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, int]:
    """``inner`` (surely product), ``outer`` (product or band) at full ``size`` (w, h), and the
    band's half-width ``r`` in coarse pixels."""
    w, h = size
    ch, cw = coarse.shape
    hard = (coarse >= 0.5).astype(np.uint8)
    r = max(1, int(np.ceil(band_px)))
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    # the band is found at the coarse resolution (cheap) and scaled up
    inner = cv2.erode(hard, k)
    outer = cv2.dilate(hard, k)
    if (cw, ch) != (w, h):
        inner = cv2.resize(inner, (w, h), interpolation=cv2.INTER_NEAREST)
        outer = cv2.resize(outer, (w, h), interpolation=cv2.INTER_NEAREST)
    else:
        # At full resolution one more pixel each way: a soft edge is wider than the error of
        # its 0.5 contour. (Scaled up, one coarse pixel already spans several.)
        k3 = np.ones((3, 3), np.uint8)
        inner = cv2.erode(inner, k3)
        outer = cv2.dilate(outer, k3)
    return inner.astype(bool), outer.astype(bool), r


def _solve_band(pix: np.ndarray, f: np.ndarray, b: np.ndarray, a_coarse: np.ndarray, min_contrast: float,
                full_contrast: float, max_shift: float) -> tuple[np.ndarray, np.ndarray]:
    """Alpha of the band's pixels (projection on the local F-B line, trusted by contrast) and the trust."""
    d = f - b
    den = (d * d).sum(axis=1)
    contrast = np.sqrt(den)
    trust = np.clip((contrast - min_contrast) / max(full_contrast - min_contrast, 1e-6), 0.0, 1.0)
    solved = np.clip(((pix - b) * d).sum(axis=1) / np.maximum(den, 1e-6), 0.0, 1.0)
    # A pixel whose colour is far from the F-B line is no mix of the two (texture, a label
    # edge, a highlight): the projection says nothing about it.
    resid = pix - b - solved[:, None] * d
    off_line = np.sqrt((resid * resid).sum(axis=1)) / np.maximum(contrast, 1e-6)
    trust = trust * np.clip(OFF_LINE_TRUST[0] - OFF_LINE_TRUST[1] * off_line, 0.0, 1.0)
    refined = trust * solved + (1.0 - trust) * a_coarse
    # The solve may not grow the product far past the coarse pass: a dark product on its own
    # dark contact shadow is a perfect mix of "F" and "B" by colour, and only the coarse pass
    # (saliency) can tell the shadow is not product. It may shrink it freely: the coarse pass
    # is generous on soft edges (any colour change counts there).
    return np.minimum(refined, a_coarse + max_shift), trust


def refine_alpha_band(
    rgb: np.ndarray,
    coarse: np.ndarray,
    band_px: float,
    min_contrast: float = 0.015,
    full_contrast: float = 0.06,
    prior_weight: float = FOREGROUND_PRIOR_WEIGHT,
    max_shift: float = 0.45,
) -> tuple[np.ndarray, tuple | None, dict]:
    """Refine a coarse alpha in a band around its 0.5 contour by known-background matting.

    Parameters
    ----------
    rgb : ndarray
        float32 H x W x 3 linear photo (full resolution).
    coarse : ndarray
        float32 h x w coarse alpha in [0, 1], at any (usually lower) resolution.
    band_px : float
        Half-width of the refined band, in pixels of ``coarse``.
    min_contrast, full_contrast : float
        Linear-light distance between the local foreground and background colours below which
        the solve is not trusted (the coarse alpha is kept) and above which it is fully trusted.
    prior_weight : float
        See :func:`estimate_foreground`.
    max_shift : float
        Largest increase of a pixel's alpha over the (upsampled) coarse alpha.

    Returns
    -------
    alpha : ndarray
        float32 H x W in [0, 1].
    band_foreground : tuple or None
        ``(ys, xs, colours)``: the band's pixels and their foreground colour (N x 3 linear),
        solved so that, mixed with the local background at their alpha, they give the photo
        (elsewhere the foreground is the photo itself).
    stats : dict
        ``band_pixels``, ``trusted_share`` (share of band pixels with enough contrast).
    """
    h, w = rgb.shape[:2]
    ch, cw = coarse.shape
    inner, outer, r = _band_masks(coarse, band_px, (w, h))
    band = outer & ~inner
    alpha = inner.astype(np.float32)
    stats = {"band_pixels": int(band.sum()), "trusted_share": 0.0}
    if not stats["band_pixels"]:
        return alpha, None, stats
    pad = int(2 * r * max(w / cw, h / ch)) + BAND_PAD_PX
    crop = _crop_box(band, pad)
    assert crop is not None
    cys, cxs = crop
    img = rgb[cys, cxs]
    f_known = inner[cys, cxs]
    b_known = ~outer[cys, cxs]
    bnd = band[cys, cxs]
    ys, xs = np.nonzero(bnd)
    # the coarse alpha, bilinear at the band's pixels only (no full-size upsampled copy)
    a_coarse = np.clip(_sample(coarse.astype(np.float32), ys + cys.start, xs + cxs.start, w / cw, h / ch), 0, 1)
    a_crop = alpha[cys, cxs]  # a view: writes land in alpha
    a_crop[ys, xs] = a_coarse
    f_fill, b_fill, q = _fills(img, f_known, b_known)
    if f_fill is None or b_fill is None:
        return alpha, None, stats
    pix = img[ys, xs]
    f = _sample(f_fill, ys, xs, q)
    b = _sample(b_fill, ys, xs, q)
    a_crop[ys, xs], trust = _solve_band(pix, f, b, a_coarse, min_contrast, full_contrast, max_shift)
    # pixels the coarse pass is sure are backdrop (the eye of a chain link the holes stage opened,
    # narrower than the band) are background for the seal as much as those past the band
    coarse_bg = np.zeros_like(bnd)
    coarse_bg[ys, xs] = a_coarse <= SEAL_COARSE_BG
    alpha[cys, cxs] = _seal_thin_gaps(a_crop, bnd, b_known | coarse_bg)
    stats["trusted_share"] = round(float((trust > 0.5).mean()), 4)
    # foreground colour of the band's pixels (edge decontamination)
    a = alpha[cys, cxs][ys, xs][:, None]
    fg = (a * (pix - (1.0 - a) * b) + prior_weight * f) / (a * a + prior_weight)
    fg = np.clip(np.where(a >= OPAQUE_ALPHA, pix, fg), 0.0, 1.0).astype(np.float32)
    return alpha, (ys + cys.start, xs + cxs.start, fg), stats
