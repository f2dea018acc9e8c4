"""Silhouette checks: does the product in the frame still have the locked outline?

The frame's product is found independently of the renderer's claim. In a band around the locked
outline every pixel is unmixed against two local colours: the product's colour a few pixels inside
the outline (``F``) and the backdrop's colour a few pixels outside it (``B``). The estimated coverage
``(I - B) . (F - B) / |F - B|^2`` is the matting equation solved for one pixel; where ``F`` and ``B``
are too alike to tell apart the pixel is left out (and counted in ``reliable_share``).

The coverage in excess of the locked alpha, summed across the band along each outline normal, is
the local outward offset of the outline in pixels: a cap grown by 5 % moves its outline ~1-3 px
outward along its whole length, while grain and light wrap average out. Backdrop rings at two
distances catch both thin and wide growth.

A shadow the renderer declares (``shadow``: the share of the backdrop's light it takes away, the
frame's shadow layer) is modelled, not guessed: the backdrop is sampled on the rings with the shadow
divided out, and each band pixel is unmixed against that backdrop darkened by the shadow *at that
pixel* (``B(p) = B_ring / T_ring * T(p)``, ``T = 1 - shadow``). A drop shadow that deepens toward the
product's edge (a flat-lay's) is then background, as it is, where before it read as the product grown
into it; a product pixel drawn over the shadow still differs from the shadowed backdrop and counts.
Where the shadowed backdrop is as dark as the product's edge the pixel has no contrast and is not
measured (it shows in ``reliable_share``), never guessed to be either.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..imaging import linear_to_srgb


@dataclass(frozen=True)
class SilhouetteResult:
    """What the silhouette check measured (maps are in crop coordinates).

    Attributes
    ----------
    iou : IoU of the product estimated in the frame against the locked (placed source) mask.
    declared_iou : IoU of the renderer's product alpha against the locked mask.
    expansion_share : product coverage outside the locked mask, as a share of the product area.
    max_growth_px : the largest outward offset of the outline, averaged along a stretch of it (px).
    max_shrink_px : the largest inward offset, the same way (px).
    reliable_share : share of the outline with enough product/backdrop contrast to measure.
    growth_map : float32 crop-sized map of coverage outside the locked mask (>0 = product pixels).
    offset_map : float32 crop-sized map of the local outline offset at outline pixels (px, + outward).
    outline : bool crop-sized map of the locked outline.
    base : bool crop-sized map of the base rows, where growth is not judged.
    """

    iou: float
    declared_iou: float
    expansion_share: float
    max_growth_px: float
    max_shrink_px: float
    reliable_share: float
    growth_map: np.ndarray
    offset_map: np.ndarray
    outline: np.ndarray
    base: np.ndarray


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0


def _nearest(ring: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row, column) of every pixel's nearest ring pixel (one feature transform, shared by the
    colour and the spread of a ring)."""
    from scipy import ndimage

    _, (iy, ix) = ndimage.distance_transform_edt(~ring, return_indices=True)
    return iy, ix


def _ring_colour(enc: np.ndarray, ring: np.ndarray, sigma: float,
                 nearest: tuple[np.ndarray, np.ndarray] | None = None,
                 at: tuple[np.ndarray, np.ndarray] | None = None, masked: bool = False) -> np.ndarray:
    """Colour of the ring, smoothed along it (normalised convolution), then spread to every pixel from
    its nearest ring pixel (``nearest``: :func:`_nearest` of the ring, when already known).

    ``at``: (rows, columns) of the pixels wanted: their colours only (N x 3), the same numbers as the
    full map's there. ``masked``: ``enc`` is already zero off the ring."""
    import cv2

    weight = cv2.GaussianBlur(ring.astype(np.float32), (0, 0), sigma)
    summed = cv2.GaussianBlur(enc if masked else enc * ring[..., None], (0, 0), sigma)
    iy, ix = nearest if nearest is not None else _nearest(ring)
    if at is not None:
        ny, nx = iy[at], ix[at]
        return summed[ny, nx] / np.maximum(weight[ny, nx][..., None], 1e-6)
    smooth = summed / np.maximum(weight[..., None], 1e-6)
    return smooth[iy, ix]


def _ring_spread(srgb: np.ndarray, ring: np.ndarray, sigma: float,
                 nearest: tuple[np.ndarray, np.ndarray] | None = None,
                 at: tuple[np.ndarray, np.ndarray] | None = None, masked: bool = False) -> np.ndarray:
    """How much the backdrop varies along the ring near each pixel (sRGB units, RMS over channels), spread
    from the nearest ring pixel: large where a podium edge, a horizon or a prop meets the product.
    ``at`` and ``masked`` as in :func:`_ring_colour`."""
    import cv2

    on_ring = srgb if masked else srgb * ring[..., None]
    weight = np.maximum(cv2.GaussianBlur(ring.astype(np.float32), (0, 0), sigma), 1e-6)[..., None]
    mean = cv2.GaussianBlur(on_ring, (0, 0), sigma)
    mean_sq = cv2.GaussianBlur((srgb**2 if masked else srgb**2 * ring[..., None]), (0, 0), sigma)
    iy, ix = nearest if nearest is not None else _nearest(ring)
    if at is not None:
        ny, nx = iy[at], ix[at]
        weight, mean, mean_sq = weight[ny, nx], mean[ny, nx], mean_sq[ny, nx]
    mean = mean / weight
    mean_sq = mean_sq / weight
    spread = np.sqrt(np.clip(mean_sq - mean**2, 0, None).sum(axis=-1))
    return spread if at is not None else spread[iy, ix]


def _base(locked_alpha: np.ndarray, base_share: float) -> np.ndarray:
    """The lowest ``base_share`` of the product's rows: where contact shadows and floor reflections sit."""
    rows = np.flatnonzero((locked_alpha > 0.5).any(axis=1))
    low = np.zeros(locked_alpha.shape, bool)
    if rows.size:
        y0, y1 = rows[0], rows[-1] + 1
        low[int(y1 - base_share * (y1 - y0)):, :] = True
    return low


MIN_RING_PIXELS = 8
"""A sampling ring with fewer pixels than this is not used."""
RING_SMOOTH_SIGMA = 1.5
"""Sigma (px) a ring's colour is smoothed along it with."""
RING_SPREAD_SIGMA = 3.0
"""Sigma (px) over which the backdrop ring's local variation is measured."""
INNER_RING_WIDTH = 2.0
"""Width (px) of the ring just inside the sampling band where the relight gain is measured."""
OUTER_RING_WIDTH = 2.5
"""Width (px) of each backdrop ring beyond the outline."""
SOFT_EDGE_ALPHA = 0.05
"""A pixel with more cut-out alpha than this knows its own foreground colour."""
GAIN_RANGE = (0.5, 2.0)
"""Limits of the per-pixel relight gain (frame over cut-out colour)."""
FARTHER_RING_CONTRAST = 1.6
"""A farther backdrop ring replaces the nearest only where its contrast is this many times larger."""
COVERAGE_RANGE = (-0.5, 1.5)
"""Unmixed coverage is kept in this range (not 0..1) so that grain averages out instead of biasing sums."""
MEASURED_STRETCH_SHARE = 0.5
"""A stretch of outline counts only where at least this share of it was measured."""
MIN_TRANSMITTANCE = 0.05
"""A declared shadow is taken to leave at least this share of the backdrop's light (relight's
``MAX_OCCLUSION`` 0.95), so dividing it out never divides by zero."""


def _product_colour(enc: np.ndarray, ref: np.ndarray, locked: np.ndarray, locked_alpha: np.ndarray,
                    band_px: float, d_in: np.ndarray, nearest_locked: tuple[np.ndarray, np.ndarray],
                    at: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Product colour at the pixels ``at`` (rows, columns; N x 3): the cut-out's own colour at the nearest
    outline pixel (it carries the edge's shading), times the relight gain measured on a ring just inside
    the band (where light wrap and edge mixing do not reach). ``d_in``: distance to the outside of
    ``locked``; ``nearest_locked``: (row, column) of the nearest ``locked`` pixel."""
    ny, nx = nearest_locked
    # a soft edge pixel knows its own foreground colour; beyond the cut-out, take the nearest outline pixel's
    ref_ext = np.where((locked_alpha[at] > SOFT_EDGE_ALPHA)[..., None], ref[at], ref[ny[at], nx[at]])
    inner_ring = locked & (d_in > band_px) & (d_in <= band_px + INNER_RING_WIDTH)
    if inner_ring.sum() < MIN_RING_PIXELS:
        inner_ring = locked & (d_in > 1.0)
    # the gain (frame over cut-out colour) is only ever read on the ring: computed there, zero elsewhere
    ratio = np.zeros(enc.shape, np.float32)
    ratio[inner_ring] = np.clip((enc[inner_ring] + 1e-3) / (ref[inner_ring] + 1e-3), *GAIN_RANGE)
    gain = _ring_colour(ratio, inner_ring, RING_SMOOTH_SIGMA, at=at, masked=True)
    return ref_ext * gain


def _unmix(enc: np.ndarray, locked: np.ndarray, locked_alpha: np.ndarray, band_px: float,
           ring_gaps: tuple[float, ...], min_contrast: float, max_backdrop_spread: float,
           unmeasurable: np.ndarray | None, d_in: np.ndarray, d_out: np.ndarray,
           product_colour: Callable[[tuple[np.ndarray, np.ndarray]], np.ndarray],
           transmittance: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Product coverage of the band pixels, unmixed between the product colour ``F`` and the backdrop
    sampled on rings beyond the outline; returns (coverage, contrast used, measured mask). ``d_in`` and
    ``d_out``: distances to the outside and to the inside of ``locked``; ``product_colour(at)``: ``F``
    at the pixels ``at``; ``transmittance``: the share of the backdrop's light a declared shadow leaves
    (None: no shadow declared), divided out on the rings and applied again at each pixel.

    Only the pixels that can be in a band (``band_px`` inside the outline, the farthest gap outside it)
    are unmixed: every other pixel keeps the locked alpha, unmeasured."""
    coverage = locked_alpha.astype(np.float32).copy()
    best_contrast = np.zeros(locked.shape, np.float32)
    measured = np.zeros(locked.shape, bool)
    if not ring_gaps:
        return coverage, best_contrast, measured
    at = np.nonzero((d_in <= band_px) & (d_out <= max(ring_gaps)))
    enc_at, d_out_at = enc[at], d_out[at]
    F = product_colour(at)
    srgb_F = linear_to_srgb(F)  # the product colour is the same for every ring
    unmeasurable_at = None if unmeasurable is None else unmeasurable[at]
    # the backdrop as it would be without the declared shadow (sampled there), and the shadow at each band pixel
    if transmittance is None:
        backdrop, t_at = enc, None
    else:
        t = np.clip(np.asarray(transmittance, np.float32), MIN_TRANSMITTANCE, 1.0)
        backdrop, t_at = enc / t[..., None], t[at][:, None]
    near_contrast = None
    for gap in ring_gaps:
        outer_ring = (~locked) & (d_out > gap) & (d_out <= gap + OUTER_RING_WIDTH)
        if outer_ring.sum() < MIN_RING_PIXELS:
            continue
        nearest = _nearest(outer_ring)
        B = _ring_colour(backdrop, outer_ring, RING_SMOOTH_SIGMA, nearest, at=at)
        if t_at is not None:
            B = B * t_at
        diff = F - B
        est = np.einsum("nc,nc->n", enc_at - B, diff) / np.maximum(np.einsum("nc,nc->n", diff, diff), 1e-8)
        contrast = np.linalg.norm(srgb_F - linear_to_srgb(B), axis=1)
        # unmixing needs one backdrop colour: where the backdrop changes along the ring (a podium's edge
        # behind the product, a horizon) the nearest ring colour may be the wrong one, so do not judge there
        srgb_ring = np.zeros(enc.shape, np.float32)
        srgb_ring[outer_ring] = linear_to_srgb(enc[outer_ring] if t_at is None
                                               else np.clip(backdrop[outer_ring], 0.0, 1.0))
        spread = _ring_spread(srgb_ring, outer_ring, RING_SPREAD_SIGMA, nearest, at=at, masked=True)
        uniform = spread <= max_backdrop_spread * contrast
        band = (d_out_at <= gap) & (contrast >= min_contrast) & uniform
        if unmeasurable_at is not None:
            band &= ~unmeasurable_at
        if near_contrast is None:
            near_contrast = contrast
            better = band
        else:
            # A farther ring is used only where the nearer one lost its contrast: there the near "backdrop"
            # is product-coloured, i.e. the product has grown past it. Picking the larger contrast
            # everywhere would favour noise that pushes B away from F, and read as growth.
            better = band & (contrast > FARTHER_RING_CONTRAST * near_contrast)
        # unclipped below 0 and above 1 so that grain averages out instead of biasing the sums
        where = (at[0][better], at[1][better])
        coverage[where] = np.clip(est[better], *COVERAGE_RANGE)
        best_contrast[where] = contrast[better]
        measured[at[0][band], at[1][band]] = True
    return coverage, best_contrast, measured


def _outline_offsets(locked: np.ndarray, locked_alpha: np.ndarray, excess: np.ndarray, measured: np.ndarray,
                     best_contrast: np.ndarray, min_contrast: float, stretch_px: float, base_share: float):
    """Outward and inward offsets (px) of the outline, averaged along stretches of it: every band pixel's
    excess coverage is attributed to its nearest outline pixel (the column sums are offsets).
    Returns (outline, measured outline, base, growth offsets, shrink offsets)."""
    import cv2
    from scipy import ndimage

    outside = measured & ~locked
    inside = measured & locked
    outline = locked & ~ndimage.binary_erosion(locked)
    _, (oy, ox) = ndimage.distance_transform_edt(~outline, return_indices=True)
    outline_measured = outline & (best_contrast >= min_contrast)
    # average along the outline: blur the sums and the count of measured outline pixels alike
    den = cv2.GaussianBlur(outline_measured.astype(np.float32), (0, 0), stretch_px)
    # a stretch counts only when most of it was measured
    den_all = cv2.GaussianBlur(outline.astype(np.float32), (0, 0), stretch_px)
    base = _base(locked_alpha, base_share)
    ok = outline & (den > MEASURED_STRETCH_SHARE * den_all) & (den > 1e-3) & ~base

    def stretch_offsets(where: np.ndarray) -> np.ndarray:
        # each band pixel's excess summed onto its nearest outline pixel (bincount adds in the same
        # order, in float64, as np.add.at would, and much faster)
        flat = np.ravel_multi_index((oy[where], ox[where]), locked.shape)
        per_outline = np.bincount(flat, weights=excess[where], minlength=locked.size).reshape(locked.shape)
        num = cv2.GaussianBlur(per_outline.astype(np.float32) * outline_measured, (0, 0), stretch_px)
        return np.where(ok, num / np.maximum(den, 1e-6), 0.0).astype(np.float32)

    return outline, outline_measured, base, stretch_offsets(outside), stretch_offsets(inside)


def measure_silhouette(frame_rgb: np.ndarray, locked_alpha: np.ndarray, declared_alpha: np.ndarray,
                       reference_rgb: np.ndarray,
                       band_px: float = 3.0, ring_gaps: tuple[float, ...] = (3.0, 8.0), min_contrast: float = 0.08,
                       stretch_px: float = 6.0, base_share: float = 0.12,
                       max_backdrop_spread: float = 0.2, unmeasurable: np.ndarray | None = None,
                       shadow: np.ndarray | None = None) -> SilhouetteResult:
    """Measure the product's outline in ``frame_rgb`` against ``locked_alpha``.

    Parameters
    ----------
    frame_rgb : float32 H x W x 3 linear frame (a crop around the product is enough).
    locked_alpha : float32 H x W placed source alpha in [0, 1] (the outline the product must keep).
    declared_alpha : float32 H x W product alpha the renderer reports for the frame.
    reference_rgb : float32 H x W x 3 linear straight colour of the placed cut-out: the product's own colour
        right at its edge (shading falls off toward a cylinder's outline), scaled by the relight gain.
    band_px : half-width of the band (px) inside which the product colour is sampled.
    ring_gaps : distances (px) beyond the outline at which the backdrop colour is sampled; each also sets
        how far outward growth is measured (growth wider than the largest gap is measured only partly).
    min_contrast : least |F - B| (sRGB units, 0..sqrt(3)) for a pixel to be measured.
    stretch_px : Gaussian sigma (px of outline) over which offsets are averaged.
    base_share : the outline in this lowest share of the product's height is its base, where contact
        shadows and floor reflections legitimately darken or colour the backdrop; offsets there are not judged.
    max_backdrop_spread : the backdrop ring's local variation (sRGB RMS) may be at most this share of the
        product/backdrop contrast for a pixel to be unmixed (one backdrop colour is assumed).
    unmeasurable : bool H x W, optional: pixels never unmixed (see-through glass inside the outline shows
        the scene behind it, not the product's colour).
    shadow : float32 H x W, optional: the shadow the renderer drew on the backdrop around the product, as
        the share of the backdrop's light it takes away (0..0.95; the frame's shadow layer): modelled when
        unmixing (see the module's notes). None: the backdrop is taken as it is sampled on the rings.
    """
    from scipy import ndimage

    locked = locked_alpha > 0.5
    # one distance transform each way, shared by the product colour and the unmixing (the
    # distances of a transform that also returns indices are the same numbers)
    d_in = ndimage.distance_transform_edt(locked)
    d_out, nearest_locked = ndimage.distance_transform_edt(~locked, return_indices=True)
    # unmix in linear light, where the renderer composites; judge contrast in sRGB, where the eye does
    enc = np.asarray(frame_rgb, np.float32)
    ref = np.asarray(reference_rgb, np.float32)
    coverage, best_contrast, measured = _unmix(
        enc, locked, locked_alpha, band_px, ring_gaps, min_contrast, max_backdrop_spread, unmeasurable, d_in, d_out,
        lambda at: _product_colour(enc, ref, locked, locked_alpha, band_px, d_in,
                                   (nearest_locked[0], nearest_locked[1]), at),
        None if shadow is None else 1.0 - np.asarray(shadow, np.float32))
    del nearest_locked
    # Outside the locked outline any coverage is growth; inside it, missing coverage is shrinkage. They are
    # summed apart because shading that darkens toward a cylinder's edge reads as "more than full" inside.
    excess = np.where(measured, np.minimum(coverage, 1.0) - locked_alpha, 0.0).astype(np.float32)
    outline, outline_measured, base, grow_offset, shrink_offset = _outline_offsets(
        locked, locked_alpha, excess, measured, best_contrast, min_contrast, stretch_px, base_share)
    offset = np.where(grow_offset >= -shrink_offset, grow_offset, shrink_offset)

    est_mask = np.where(measured, coverage > 0.5, locked)
    area = max(float(locked_alpha.sum()), 1.0)
    growth = np.where(measured & ~locked, np.clip(coverage - locked_alpha, 0, 1), 0.0).astype(np.float32)
    return SilhouetteResult(
        iou=_iou(est_mask, locked),
        declared_iou=_iou(declared_alpha > 0.5, locked),
        expansion_share=float(growth.sum() / area),
        max_growth_px=float(max(grow_offset.max(initial=0.0), 0.0)),
        max_shrink_px=float(max(-shrink_offset.min(initial=0.0), 0.0)),
        reliable_share=float(outline_measured.sum() / max(outline.sum(), 1)),
        growth_map=growth,
        offset_map=offset,
        outline=outline,
        base=base,
    )
