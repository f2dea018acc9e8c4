"""Surface evidence: specular highlights, see-through (transparent) areas, mirror-like metal.

All three are read from one photo, so they are likelihoods, not measurements:

specular
    Near-white, unsaturated pixels much brighter than their surroundings.
transparency
    Product pixels whose colour is the backdrop's colour *behind them* (the backdrop is inpainted
    into the product's place, so a backdrop gradient or a table texture is followed), plus
    partial alpha inside the product (a matte that lets the backdrop through).
reflective
    Unsaturated areas that hold both near-black and near-white at a coarse scale (a mirror
    reflects the dark room and the bright lights side by side); printed text is excluded.

Each map is float32 H x W in [0, 1]; each score in [0, 1] summarises the map over the product.

The thresholds in :class:`MaterialsConfig` were set by looking at the real photos in
``../shared/photos`` (the same ones the flag tests and the benchmark use), so the flag results
there are not an independent validation. Known confusions: glossy printed boxes with white type
(a soap box, an eraser box) can score as reflective; a white product on a blown-out white sweep
cannot be told from a clear one (only partial alpha can flag it there). On a light neutral
backdrop (a white or light grey sweep, a white sheet) a white product shaded a little darker than
the backdrop matches it in places too: there the see-through cue counts only when the product
passes :func:`light_neutral_glass` (clear glass shows the backdrop through the bulk of its body and
is nowhere lit brighter than it; a white product's shading and print put much of it far from the
backdrop, and its lit side is brighter than a grey sweep). A plain white product lit to the
backdrop's exact level over nearly all of its body would still read as glass: one photo cannot
tell them apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..imaging import linear_to_lab, luminance
from ..types import Box, Materials


@dataclass(frozen=True)
class MaterialsConfig:
    """Thresholds of the material cues.

    Attributes
    ----------
    work_side : int
        Longest side of the grid the cues are computed on (maps are resized back).
    highlight_level : float
        Linear luminance above which (plus 0.15 for full weight) a bright spot can be a highlight;
        printed paper white sits below clipping, highlights clip.
    see_through_delta_e : float
        A product pixel within this CIE76 distance (Lab) of the backdrop behind it counts as see-through.
    blown_out_lightness : float
        Backdrop L* above which the backdrop is clipped white and colour cannot reveal see-through areas.
    specular_full_share : float
        Share of the product in highlights at which the specular score reaches 1.
    transparency_full_share : float
        Share of the product that is see-through at which the transparency score reaches 1.
    reflective_full_share : float
        Share of the product that is mirror-like at which the reflective score reaches 1.
    reflective_blur : float
        Blur before the mirror cue, as a share of the product's longest side (hides fine print).
    reflective_chroma : float
        Chroma (CIELAB C*) up to which a surface counts as grey (metal tints what it reflects a little).
    reflective_window : float
        Neighbourhood of the mirror cue (darkest vs brightest), as a share of the product's longest side.
    """

    work_side: int = 384
    highlight_level: float = 0.6
    see_through_delta_e: float = 8.0
    blown_out_lightness: float = 95.0
    specular_full_share: float = 0.03
    transparency_full_share: float = 0.3
    reflective_full_share: float = 0.6
    reflective_blur: float = 0.006
    reflective_chroma: float = 10.0
    reflective_window: float = 0.04


def estimate_backdrop(image: np.ndarray, alpha: np.ndarray) -> tuple[np.ndarray | None, float]:
    """The backdrop behind the product, inpainted from the pixels around it.

    Returns
    -------
    backdrop : ndarray or None
        float32 H x W x 3 linear image of the backdrop with the product removed (None when
        almost nothing of the backdrop is visible).
    visible : float
        Share of the image that is backdrop.
    """
    import cv2

    from ..imaging import linear_to_srgb8, srgb8_to_linear

    product = (alpha > 0.05).astype(np.uint8)
    visible = 1.0 - float(product.mean())
    if visible < 0.02:
        return None, visible
    grown = cv2.dilate(product, np.ones((5, 5), np.uint8), iterations=1)
    srgb = linear_to_srgb8(image, dither=False)
    filled = cv2.inpaint(srgb, grown, 5, cv2.INPAINT_TELEA)
    return srgb8_to_linear(filled), visible


HIGHLIGHT_RATIO = 1.3
"""A highlight is at least this many times brighter than its surround (full weight at +0.7)."""
HIGHLIGHT_RAMP = 0.15
"""Luminance above ``highlight_level`` at which a bright spot reaches full highlight weight."""
HIGHLIGHT_MAX_CHROMA = 25.0
"""Chroma (C*) at which a bright spot stops counting as a (white) highlight."""
PARTIAL_ALPHA = (0.9, 0.8)
"""Inside the product, alpha below the first value counts as partial (full weight at first - second)."""
MIN_GREY_AREA_SHARE = 0.03
"""The reflective score's grey area is at least this share of the product."""


LIGHT_NEUTRAL_LIGHTNESS = 80.0
"""Median L* of the backdrop behind a product above which (and chroma below
:data:`LIGHT_NEUTRAL_CHROMA`) the backdrop is light neutral: see :func:`light_neutral_glass`."""
LIGHT_NEUTRAL_CHROMA = 8.0
"""Median C* of the backdrop behind a product up to which a light backdrop is neutral."""
GLASS_BULK_DELTA_E = 15.0
"""A body pixel (colour smoothed over 1 % of the product) within this CIE76 distance of the backdrop
behind it shows the backdrop (glass) or matches it by chance (a white product's shading)."""
GLASS_BULK_SHARE = 0.8
"""Share of the product's body that must match the backdrop behind it for clear glass on a light
neutral backdrop. Measured: ClearGrasp's clear bottles 0.95-0.97 (ground-truth mask and segment
stage); generated white bottles, jars, boxes, cans and pouches with and without labels on white,
L* 85 and L* 76 sweeps (90 photos, ``samples.make_product``) 0.00-0.67."""
GLASS_MAX_BRIGHTER = 0.08
"""Largest share of the body lit brighter than the backdrop behind it (by 3 L*, below L* 97: not a
clipped highlight) for clear glass: glass only passes on the backdrop's light, a lit white surface
adds its own. Measured: clear bottles 0.00-0.016; generated white products on L* 85 / 76 sweeps
0.10-0.64 (on a white sweep 0.005-0.19: there the bulk share decides)."""

BLOWN_OUT_LIGHTNESS = 95.0
"""Backdrop L* above which the backdrop is clipped white (as ``MaterialsConfig.blown_out_lightness``)."""
GLASS_MAX_TEXT = 0.5
"""Largest share of the body inside label text boxes for clear glass: more is a label or leaflet
(the paper between its lines matches a white sweep just as glass does)."""
GLASS_MAX_BLOWN = 0.5
"""Largest share of the body that may be paper white on a clipped backdrop (no evidence either way)
for the rest to decide."""


def light_neutral_glass(rgb: np.ndarray, alpha: np.ndarray, backdrop: np.ndarray,
                        exclude: np.ndarray | None = None) -> dict:
    """Whether a product on a light neutral backdrop looks like clear glass (JSON-ready record).

    On a white or light grey backdrop clear glass and a white product both come out close to the
    backdrop's colour in places, so "the pixel looks like the backdrop" is no evidence by itself.
    Clear glass shows the backdrop through the bulk of its body (only edges, caps, labels,
    refraction lines and highlights differ) and adds no light of its own; a white product is shaded
    (its sides, its print and cap are far from the backdrop) and its lit side is brighter than a
    grey sweep. Both shares are over the product's body (``alpha > 0.5``, 1 % of its size in from
    the outline).

    Parameters
    ----------
    rgb : float32 H x W x 3 linear photo (or the product's foreground) over the product.
    alpha : float32 H x W product alpha.
    backdrop : float32 H x W x 3 linear backdrop behind the product (inpainted).
    exclude : bool H x W, optional: pixels left out of both shares (label text boxes: print and
        its paper are opaque whatever the product is).

    Returns
    -------
    dict with ``light_neutral`` (the backdrop behind is light and neutral), ``glass`` (it is, and
    the product passes both tests), ``backdrop_lightness``, ``backdrop_chroma``, ``text_share``
    (with ``exclude``), ``blown_share``, ``bulk_share`` and ``brighter_share`` (each absent when the
    decision was made before it: no body, not light neutral, mostly text, mostly clipped white).
    """
    import cv2

    a = np.asarray(alpha, np.float32)
    solid = a > 0.5
    record: dict = {"light_neutral": False, "glass": False}
    if not solid.any():
        return record
    ys, xs = np.nonzero(solid)
    size = max(int(ys.max() - ys.min()), int(xs.max() - xs.min()), 1)
    rim = max(int(round(0.01 * size)), 1)
    body = cv2.erode(solid.astype(np.uint8), np.ones((2 * rim + 1,) * 2, np.uint8)) > 0
    if not body.any():
        body = solid
    back_lab = linear_to_lab(np.clip(np.asarray(backdrop, np.float32), 0, 1))
    behind = back_lab[body]
    light = float(np.median(behind[:, 0]))
    chroma = float(np.median(np.hypot(behind[:, 1], behind[:, 2])))
    record.update(backdrop_lightness=round(light, 2), backdrop_chroma=round(chroma, 2))
    if not (light > LIGHT_NEUTRAL_LIGHTNESS and chroma < LIGHT_NEUTRAL_CHROMA):
        return record
    record["light_neutral"] = True
    if exclude is not None and exclude.any():
        text_share = float((body & exclude).sum()) / float(body.sum())
        record["text_share"] = round(text_share, 4)
        if text_share > GLASS_MAX_TEXT or not (body & ~exclude).any():
            # mostly print (a label, a leaflet): the paper between its lines matches a white sweep
            # as glass would; a product that is mostly text is not clear glass
            return record
        body = body & ~exclude
    lab = linear_to_lab(np.clip(np.asarray(rgb, np.float32), 0, 1))
    smooth = cv2.GaussianBlur(lab, (0, 0), max(0.01 * size, 1.0))   # refraction lines are thin
    # on a clipped white backdrop a white product and clear glass both read as paper white: those
    # pixels are no evidence either way; the decision rests on the rest of the body, and a body
    # that is mostly paper white on a clipped backdrop is not called glass
    blown = (back_lab[..., 0] > BLOWN_OUT_LIGHTNESS) & (lab[..., 0] > BLOWN_OUT_LIGHTNESS - 8.0)
    measured = body & ~blown
    blown_share = 1.0 - float(measured.sum()) / float(body.sum())
    record["blown_share"] = round(blown_share, 4)
    if blown_share > GLASS_MAX_BLOWN:
        return record
    delta = np.linalg.norm(smooth - back_lab, axis=-1)[measured]
    brighter = ((smooth[..., 0] - back_lab[..., 0]) > 3.0) & (lab[..., 0] < 97.0)
    bulk = float((delta < GLASS_BULK_DELTA_E).mean())
    bright = float(brighter[measured].mean())
    record.update(bulk_share=round(bulk, 4), brighter_share=round(bright, 4),
                  glass=bool(bulk >= GLASS_BULK_SHARE and bright <= GLASS_MAX_BRIGHTER))
    return record


def _text_free(shape: tuple[int, int], text_boxes: tuple[Box, ...], s: float) -> np.ndarray:
    """True away from the label text's boxes (scaled by ``s`` onto the work grid)."""
    no_text = np.ones(shape, bool)
    for x0, y0, x1, y1 in text_boxes:
        no_text[int(y0 * s):int(np.ceil(y1 * s)), int(x0 * s):int(np.ceil(x1 * s))] = False
    return no_text


def _specular_map(lum: np.ndarray, chroma: np.ndarray, solid: np.ndarray, no_text: np.ndarray, scale_px: float,
                  config: MaterialsConfig) -> np.ndarray:
    """Specular highlights: bright, brighter than their surround, unsaturated, not label text."""
    import cv2

    surround = cv2.GaussianBlur(lum, (0, 0), max(scale_px * 3, 1.0))
    brighter = np.clip((lum / np.maximum(surround, 1e-3) - HIGHLIGHT_RATIO) / 0.7, 0, 1)
    bright = np.clip((lum - config.highlight_level) / HIGHLIGHT_RAMP, 0, 1)
    unsaturated = np.clip(1.0 - chroma / HIGHLIGHT_MAX_CHROMA, 0, 1)
    # printed white type on a dark label is bright and unsaturated too, but not a highlight
    return brighter * bright * unsaturated * solid * no_text


def _transparency_map(a: np.ndarray, solid: np.ndarray, scale_px: float, image: np.ndarray | None, small,
                      config: MaterialsConfig, no_text: np.ndarray | None = None) -> tuple[np.ndarray, int]:
    """Transparency: the backdrop seen through, and partial alpha, inside the product; also the
    number of interior pixels the score is a share of."""
    from scipy import ndimage

    # Holes are not product: only the solid part's interior counts (a scissors' handle shows the
    # backdrop because there is nothing there, not because it is glass).
    rim = max(int(round(scale_px)), 1)
    interior = ndimage.binary_erosion(solid, iterations=rim)
    # a matte that lets the backdrop through inside the product (not at its anti-aliased rim)
    body = ndimage.binary_erosion(a > 0.05, iterations=rim)
    partial = np.where(body, np.clip((PARTIAL_ALPHA[0] - a) / PARTIAL_ALPHA[1], 0, 1), 0.0)
    see_through = np.zeros_like(a)
    if image is not None:
        backdrop, visible = estimate_backdrop(small(image), a)
        if backdrop is not None:
            photo_lab = linear_to_lab(np.clip(small(image), 0, 1))
            back_lab = linear_to_lab(backdrop)
            delta = np.linalg.norm(photo_lab - back_lab, axis=-1)
            close = np.clip(1.0 - delta / (2.0 * config.see_through_delta_e), 0, 1)
            # On a blown-out white sweep a white product and a clear one both read as paper
            # white: there the colour says nothing, so only partial alpha can tell.
            blown_out = (back_lab[..., 0] > config.blown_out_lightness) & (photo_lab[..., 0] > config.blown_out_lightness - 8)
            see_through = close * interior * ~blown_out
            # on a light neutral backdrop a white product matches the backdrop in places too: the
            # cue counts only for a product that looks like glass as a whole
            neutral = light_neutral_glass(small(image), a, backdrop, exclude=None if no_text is None else ~no_text)
            if neutral["light_neutral"] and not neutral["glass"]:
                see_through = np.zeros_like(see_through)
    transparency = np.clip(np.maximum(partial, see_through), 0, 1).astype(np.float32)
    return transparency, max(int((interior | body).sum()), 1)


def _reflective_map(lum: np.ndarray, chroma: np.ndarray, solid: np.ndarray, no_text: np.ndarray,
                    specular: np.ndarray, config: MaterialsConfig) -> tuple[np.ndarray, np.ndarray]:
    """Reflective: dark and bright side by side in unsaturated areas (a mirror), or a grey surface
    dotted with highlights (brushed metal); also the grey weight the score is a share of."""
    import cv2

    # measured on the product only: a dark carton next to a white sweep is not a mirror
    ys, xs = np.nonzero(solid)
    product_px = max(int(ys.max() - ys.min()), int(xs.max() - xs.min()), 1)
    coarse = max(product_px * config.reflective_blur, 0.7)
    lum_c = cv2.GaussianBlur(lum * solid, (0, 0), coarse) / np.maximum(cv2.GaussianBlur(solid.astype(np.float32), (0, 0), coarse), 1e-3)
    win = int(max(3, round(product_px * config.reflective_window))) | 1
    kernel = np.ones((win, win), np.uint8)
    local_max = cv2.dilate(np.where(solid, lum_c, 0.0).astype(np.float32), kernel)
    local_min = cv2.erode(np.where(solid, lum_c, 1.0).astype(np.float32), kernel)
    # contrast in stops between the brightest and darkest nearby: mirrors span many stops
    stops = np.log2(np.maximum(local_max, 1e-4) / np.maximum(local_min, 1e-4))
    chroma_c = cv2.GaussianBlur(chroma, (0, 0), coarse)
    grey = np.clip(1.0 - (chroma_c - config.reflective_chroma) / 15.0, 0, 1)
    # Print is two-tone (ink and paper, few grey levels between); a mirror shows a continuous
    # run of tones from its dark to its bright reflections.
    mid = ((lum > 0.04) & (lum < 0.45) & solid).astype(np.float32)
    mid_share = cv2.blur(mid, (win, win)) / np.maximum(cv2.blur(solid.astype(np.float32), (win, win)), 1e-3)
    continuous = np.clip((mid_share - 0.25) / 0.25, 0, 1)
    mirror = (np.clip((stops - 2.0) / 2.0, 0, 1) * grey * np.clip((local_max - 0.25) / 0.3, 0, 1)
              * continuous)
    # Brushed or curved metal under soft light is less contrasty but carries highlights: a grey
    # surface dotted with specular highlights and some contrast around them.
    highlight_density = (cv2.blur((specular > 0.5).astype(np.float32), (win, win))
                         / np.maximum(cv2.blur(solid.astype(np.float32), (win, win)), 1e-3))
    grey_strict = np.clip(1.0 - (chroma_c - 14.0) / 6.0, 0, 1)
    metal = (grey_strict * np.clip((highlight_density - 0.015) / 0.03, 0, 1)
             * np.clip((stops - 1.0) / 1.0, 0, 1))
    reflective = np.maximum(mirror, metal)
    return (reflective * solid * no_text).astype(np.float32), grey


def estimate_materials(rgb_linear: np.ndarray, alpha: np.ndarray, image: np.ndarray | None = None,
                       text_boxes: tuple[Box, ...] = (), config: MaterialsConfig = MaterialsConfig()) -> Materials:
    """Specular, transparency and reflective maps and scores of the product.

    Parameters
    ----------
    rgb_linear : ndarray
        float32 H x W x 3 product colour (a cut-out's foreground), linear light.
    alpha : ndarray
        float32 H x W product alpha in [0, 1].
    image : ndarray, optional
        float32 H x W x 3 source photo; needed for the see-through cue (the backdrop must be
        visible). Without it, transparency rests on partial alpha alone.
    text_boxes : tuple of Box
        Boxes of label text, excluded from the reflective cue (print is also black-and-white).
    config : MaterialsConfig

    Returns
    -------
    Materials
    """
    import cv2

    a_full = np.asarray(alpha, np.float32)
    h, w = a_full.shape
    zeros = np.zeros((h, w), np.float32)
    if not (a_full > 0.5).any():
        return Materials(zeros, zeros.copy(), zeros.copy(), 0.0, 0.0, 0.0)
    s = min(1.0, config.work_side / max(h, w))
    size = (max(int(round(w * s)), 1), max(int(round(h * s)), 1))

    def small(x: np.ndarray) -> np.ndarray:
        return cv2.resize(np.ascontiguousarray(x, np.float32), size, interpolation=cv2.INTER_AREA) if s < 1 else np.asarray(x, np.float32)

    a = small(a_full)
    rgb = np.clip(small(rgb_linear), 0, 1)
    solid = a > 0.5
    n_solid = max(int(solid.sum()), 1)
    lum = luminance(rgb)
    lab = linear_to_lab(rgb)
    chroma = np.hypot(lab[..., 1], lab[..., 2])
    scale_px = max(size) / 100.0  # 1 % of the image

    no_text = _text_free(a.shape, text_boxes, s)
    specular = _specular_map(lum, chroma, solid, no_text, scale_px, config)
    specular_score = float(np.clip((specular > 0.5).sum() / n_solid / config.specular_full_share, 0, 1))
    transparency, n_interior = _transparency_map(a, solid, scale_px, image, small, config, no_text)
    transparency_score = float(np.clip((transparency > 0.5).sum() / n_interior / config.transparency_full_share, 0, 1))
    reflective, grey = _reflective_map(lum, chroma, solid, no_text, specular, config)
    # share of the product's grey surfaces that is mirror-like: a small chrome part on a printed
    # box is as much a problem as a whole steel spoon
    grey_area = max(float((grey * solid * no_text > 0.5).sum()), MIN_GREY_AREA_SHARE * n_solid, 1.0)
    reflective_score = float(np.clip((reflective > 0.5).sum() / grey_area / config.reflective_full_share, 0, 1))

    def big(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, np.float32)
        if s < 1:
            x = cv2.resize(x, (w, h), interpolation=cv2.INTER_LINEAR)
        return np.clip(x * (a_full > 0.02), 0, 1).astype(np.float32)

    return Materials(
        specular=big(specular), transparency=big(transparency), reflective=big(reflective),
        specular_score=round(specular_score, 4), transparency_score=round(transparency_score, 4),
        reflective_score=round(reflective_score, 4),
    )
