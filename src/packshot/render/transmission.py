"""See-through products: the new scene shows through glass and clear plastic.

A clear bottle photographed on a white sheet carries the sheet inside its cut-out: composited as
an opaque layer, it stays milky white on a pink podium, and a wine glass shot on black stays a
black goblet. In the photo every product pixel is (approximately) the light the product itself
sends to the camera plus the old backdrop behind it, dimmed by how much the product lets through::

    C = F + T * B_old            (linear light; C photo, B_old backdrop behind, T transmission)

:func:`estimate_transmission` estimates ``T`` per pixel from how close the product pixel is to the
backdrop behind it (the backdrop is inpainted into the product's place from the visible backdrop
around it, so a gradient or a fold is followed) and, on a backdrop bright enough to measure it,
from how much of the backdrop's light arrives (``Y(C) / Y(B_old)``). Pixels that do not look like
the backdrop (highlights, refracted edges, printed labels, the tint of coloured glass) keep ``T``
near 0 and stay locked; label text boxes are forced to 0.

:func:`see_through_cutout` turns that into an ordinary straight-alpha cut-out::

    alpha' = alpha * (1 - T)          premultiplied colour' = alpha * F,  F = max(C - T * B_old, 0)

so ``composite`` (and relight, which re-places the same cut-out) gives ``F + T * B_new``: the new
scene through the glass, the product's own highlights, edges and tint kept, the old backdrop's
colour removed. Opaque pixels (``T == 0``) are bit-for-bit the input. On a light neutral backdrop
(a white or light grey sweep, a white sheet) a white product shaded a little darker than the sweep
matches the backdrop in places just as clear glass does, so there the product must first look like
glass as a whole (:func:`packshot.understand.materials.light_neutral_glass`: the backdrop seen
through the bulk of its body, no part lit brighter than it); a product that does not is kept as
photographed, with the reason recorded. Glass that does is estimated as on any backdrop, except
that a body pixel as bright as a clipped white backdrop is the backdrop seen through, not a white
product (the blown-out lock is lifted there). The pipeline applies it to
products flagged ``transparent`` and saves the result as the cut-out it rendered from, so qa
compares each frame with what was rendered: the colour interior (``alpha > 0.99``) then holds the
opaque parts only, and qa records the see-through share it left out
(:func:`see_through_share`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..imaging import linear_to_lab, luminance
from ..types import Box, Cutout, alpha_bbox


@dataclass(frozen=True)
class TransmissionConfig:
    """Thresholds of :func:`estimate_transmission` (set on the real glass photos of
    ``../shared/photos``: arc17_wine_glass, arc17_water_bottle, cg_153_transparent_bottles; the
    alpha error is measured on generated glass in ``tests/test_transmission.py``)."""

    near_delta_e: float = 6.0
    """A product pixel within this CIE76 distance of the backdrop behind it is fully see-through."""
    far_delta_e: float = 22.0
    """At this distance and beyond it is opaque (linear ramp between)."""
    blown_out_lightness: float = 95.0
    """Backdrop L* above which the backdrop is clipped white: product pixels above this minus 8 stay opaque."""
    light_neutral_lightness: float = 80.0
    """A backdrop behind the product lighter than this (median L*) and neutral (C* below
    ``neutral_chroma``) cannot tell glass from a white product pixel by pixel: the product must pass
    :func:`packshot.understand.materials.light_neutral_glass` as a whole first (that function
    applies its own bounds, the same numbers)."""
    neutral_chroma: float = 8.0
    """Backdrop chroma (CIELAB C*) up to which the backdrop is neutral: a product pixel must match the
    backdrop itself, not a dimmed copy of it (a white bottle on a white sweep is not glass)."""
    glass_min_ratio: float = 0.75
    """Known glass on a light neutral backdrop: a body pixel passing at least this share of the
    backdrop's light is compared with the backdrop dimmed by that share (see :func:`estimate_transmission`)."""
    dark_backdrop: float = 0.04
    """Backdrop luminance below which the light ratio says nothing (a black backdrop): closeness alone."""
    highlight_excess: float = 0.15
    """A pixel this much brighter than the backdrop behind it (share of the backdrop's luminance,
    plus 0.05 linear) is the product's own light (a highlight) and stays opaque."""
    min_transmission: float = 0.02
    """Less than this is opaque: the pixel is locked, bit for bit (no faint smoothing tails)."""
    max_transmission: float = 0.92
    """Clear glass still reflects and refracts some light: the scene never shows through completely."""
    smooth_px: float = 1.0
    """Gaussian smoothing of the map (pixels of the cut-out), against sensor noise."""
    rim_px: int = 2
    """A rim this wide inside the outline keeps the matte's alpha and colour (the glass's edge; qa
    measures the outline there, :func:`see_through_mask` leaves it out)."""
    work_side: int = 384
    """Long side of the grid on which the backdrop behind the product is inpainted."""
    min_visible: float = 0.02
    """Share of the photo that must be backdrop for it to be estimated at all."""


def backdrop_behind(image: np.ndarray, alpha: np.ndarray, work_side: int = 384) -> np.ndarray | None:
    """float32 H x W x 3 linear estimate of the backdrop behind the product (None when almost none
    of the photo is backdrop): the visible backdrop inpainted (Telea) into the product's place on a
    reduced grid, then resized back and smoothed (a backdrop is smooth behind a product)."""
    import cv2

    from ..imaging import linear_to_srgb, srgb_to_linear

    h, w = alpha.shape
    s = min(1.0, work_side / max(h, w))
    size = (max(int(round(w * s)), 1), max(int(round(h * s)), 1))
    img = np.clip(np.asarray(image, np.float32), 0, 1)
    a = np.asarray(alpha, np.float32)
    if s < 1:
        img = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
        a = cv2.resize(a, size, interpolation=cv2.INTER_AREA)
    product = (a > 0.02).astype(np.uint8)
    if 1.0 - float(product.mean()) < 0.02:
        return None
    grown = cv2.dilate(product, np.ones((5, 5), np.uint8), iterations=1)
    srgb8 = np.round(linear_to_srgb(img) * 255.0).astype(np.uint8)
    filled = cv2.inpaint(srgb8, grown, 7, cv2.INPAINT_TELEA).astype(np.float32) / 255.0
    filled = cv2.GaussianBlur(filled, (0, 0), 2.0)
    if s < 1:
        filled = cv2.resize(filled, (w, h), interpolation=cv2.INTER_LINEAR)
    return srgb_to_linear(np.clip(filled, 0, 1)).astype(np.float32)


def estimate_transmission(rgb: np.ndarray, alpha: np.ndarray, backdrop: np.ndarray,
                          text_boxes: tuple[Box, ...] = (), config: TransmissionConfig = TransmissionConfig(),
                          glass: bool = False) -> np.ndarray:
    """float32 H x W transmission ``T`` in [0, max_transmission]: how much of the backdrop behind each
    product pixel shows through it (0 outside the product, on its rim and in label text boxes).

    Parameters
    ----------
    rgb : float32 H x W x 3 linear product colour (the cut-out's foreground: the photo inside).
    alpha : float32 H x W product alpha.
    backdrop : float32 H x W x 3 linear backdrop behind the product (:func:`backdrop_behind`).
    text_boxes : label text boxes (cut-out pixels): locked opaque.
    glass : the product is known to be clear glass on a light neutral backdrop
        (:func:`packshot.understand.materials.light_neutral_glass`): pixels as bright as a clipped
        white backdrop are see-through, not locked.
    """
    import cv2

    rgb = np.clip(np.asarray(rgb, np.float32), 0, 1)
    a = np.asarray(alpha, np.float32)
    back = np.clip(np.asarray(backdrop, np.float32), 0, 1)
    y_c, y_b = luminance(rgb), luminance(back)
    ratio = np.clip(y_c / np.maximum(y_b, 1e-4), 0.0, 1.0)
    # on a dark backdrop the ratio is noise: there closeness alone says how see-through it is
    w_ratio = np.clip(y_b / config.dark_backdrop, 0.0, 1.0)
    ratio = w_ratio * ratio + (1.0 - w_ratio)
    # see-through: the pixel looks like the backdrop behind it. On a coloured backdrop, the backdrop's
    # colour dimmed by the light the glass takes (nothing but glass takes on the backdrop's hue);
    # on a neutral one a grey or white product dimmed by its own shading looks just the same, so
    # there only the backdrop itself counts
    back_lab = linear_to_lab(back)
    chroma = np.hypot(back_lab[..., 1], back_lab[..., 2])
    w_dim = np.clip((chroma - config.neutral_chroma) / 10.0, 0.0, 1.0)[..., None]
    reference = back * (1.0 - w_dim + w_dim * ratio[..., None])
    if glass:
        # known glass on a light neutral backdrop: its body passes most of the backdrop's light, a
        # little dimmed (cg_153's clear bottles: 0.77 of it, median); compared with the backdrop so
        # dimmed (down to ``glass_min_ratio``) the body reads as see-through with no milky veil of
        # left-over light, while darker parts (refraction lines, caps, grey print) stay far from it
        dim = np.clip(ratio, config.glass_min_ratio, 1.0)[..., None]
        reference = back * ((1.0 - w_dim) * dim + w_dim * ratio[..., None])
    rgb_lab = linear_to_lab(rgb)
    delta = np.linalg.norm(rgb_lab - linear_to_lab(reference), axis=-1)
    close = np.clip((config.far_delta_e - delta) / (config.far_delta_e - config.near_delta_e), 0.0, 1.0)
    # brighter than the backdrop behind it: light of its own (a highlight), kept opaque
    excess = np.maximum(y_c - y_b, 0.0) / (config.highlight_excess * y_b + 0.05)
    t = close * np.clip(1.0 - excess, 0.0, 1.0) * ratio
    # on a blown-out white sweep a white product and a clear one both read as paper white: nothing
    # tells them apart, so the pixel stays as photographed (understand.materials makes the same call)
    if not glass:
        blown = (back_lab[..., 0] > config.blown_out_lightness) & (rgb_lab[..., 0] > config.blown_out_lightness - 8.0)
        t[blown] = 0.0
    body = a > 0.5
    if config.rim_px > 0:
        body = cv2.erode(body.astype(np.uint8), np.ones((2 * config.rim_px + 1,) * 2, np.uint8)) > 0
    band = np.zeros_like(body)
    if glass:
        # the matte's soft outer band (alpha <= 0.5): around glass on a light backdrop its colour is
        # the backdrop's (the glass and the sweep are one colour there), a milky halo in a dark
        # scene; where it looks like the backdrop it is see-through too (a dark refracted edge is not)
        band = (a > 0.0) & (a <= 0.5)
    region = body | band
    t = np.where(region, t, 0.0).astype(np.float32)
    if config.smooth_px > 0:
        t = cv2.GaussianBlur(t, (0, 0), config.smooth_px) * region
    h, w = a.shape
    for x0, y0, x1, y1 in text_boxes:
        t[max(int(y0), 0):min(int(np.ceil(y1)), h), max(int(x0), 0):min(int(np.ceil(x1)), w)] = 0.0
    t[t < config.min_transmission] = 0.0
    return np.clip(t, 0.0, config.max_transmission).astype(np.float32)


def apply_transmission(rgb: np.ndarray, alpha: np.ndarray, backdrop: np.ndarray, t: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray]:
    """The straight colour and alpha of a see-through product: ``alpha' = alpha (1 - T)``,
    premultiplied colour ``alpha F`` with ``F = max(C - T B_old, 0)``. Where ``T == 0`` the input
    values are returned unchanged."""
    rgb = np.asarray(rgb, np.float32)
    a = np.asarray(alpha, np.float32)
    t3 = t[..., None]
    own = np.maximum(rgb - t3 * backdrop, 0.0)              # F: the product's own light
    keep = 1.0 - t
    new_alpha = (a * keep).astype(np.float32)
    straight = np.zeros_like(rgb)
    np.divide(own, keep[..., None], out=straight, where=keep[..., None] > 1e-4)
    # straight colour <= 1 (premultiplied colour never exceeds alpha); a bright highlight in a
    # see-through pixel is kept at full brightness
    straight = np.clip(straight, 0.0, 1.0)
    see = t > 0
    out_rgb = np.where(see[..., None], straight, rgb).astype(np.float32)
    out_alpha = np.where(see, new_alpha, a).astype(np.float32)
    return out_rgb, out_alpha


def _work_grid(maps: tuple[np.ndarray, ...], work_side: int) -> tuple[np.ndarray, ...]:
    """The maps on a grid of long side ``work_side`` (area-averaged; a bool map: any of its pixels)."""
    import cv2

    h, w = maps[0].shape[:2]
    s = min(1.0, work_side / max(h, w))
    if s >= 1:
        return maps
    size = (max(int(round(w * s)), 1), max(int(round(h * s)), 1))
    return tuple(cv2.resize(np.ascontiguousarray(m, np.float32), size, interpolation=cv2.INTER_AREA) > 0
                 if m.dtype == bool else cv2.resize(np.ascontiguousarray(m, np.float32), size, interpolation=cv2.INTER_AREA)
                 for m in maps)


def see_through_cutout(cutout: Cutout, text_boxes: tuple[Box, ...] = (),
                       config: TransmissionConfig = TransmissionConfig()) -> tuple[Cutout, dict[str, Any]]:
    """The cut-out with the old backdrop taken out of its see-through pixels (see module doc).

    Returns the new cut-out (``bbox`` unchanged: the outline is the product's; the transmission
    record in ``provenance["params"]["transmission"]``) and the record: the see-through share of the
    product, the mean transmission there and why nothing was changed when nothing was.
    """
    a = np.asarray(cutout.alpha, np.float32)
    solid = a > 0.5
    n = int(solid.sum())
    info: dict[str, Any] = {"applied": False, "config": dataclasses.asdict(config)}
    if n == 0:
        info["reason"] = "empty cut-out"
        return cutout, info
    if cutout.image is None or cutout.image.shape[:2] != a.shape:
        info["reason"] = "no photo of the same size: the backdrop behind the product is unknown"
        return cutout, info
    back = backdrop_behind(cutout.image, a, config.work_side)
    if back is None:
        info["reason"] = "almost no backdrop visible: the backdrop behind the product is unknown"
        return cutout, info
    from ..understand import light_neutral_glass

    behind = linear_to_lab(back[solid])
    light = float(np.median(behind[:, 0]))
    chroma = float(np.median(np.hypot(behind[:, 1], behind[:, 2])))
    info.update(backdrop_lightness=round(light, 2), backdrop_chroma=round(chroma, 2))
    glass = False
    if light > config.light_neutral_lightness and chroma < config.neutral_chroma:
        # a white product shaded a little darker than a light sweep matches it in places just as
        # clear glass does: the product must look like glass as a whole (the backdrop seen through
        # the bulk of its body, nothing lit brighter than it) before any pixel is made see-through
        boxed = np.zeros(a.shape, bool)
        for x0, y0, x1, y1 in text_boxes:
            boxed[max(int(y0), 0):max(int(np.ceil(y1)), 0), max(int(x0), 0):max(int(np.ceil(x1)), 0)] = True
        # measured on the work grid (the shares are of the whole body: the grid changes them little)
        rgb_w, a_w, back_w, boxed_w = _work_grid((cutout.rgb, a, back, boxed), config.work_side)
        evidence = light_neutral_glass(rgb_w, a_w, back_w, exclude=boxed_w)
        info["light_neutral"] = {k: evidence[k] for k in ("text_share", "blown_share", "bulk_share", "brighter_share",
                                                          "glass") if k in evidence}
        if not evidence["glass"] and "blown_share" not in evidence:
            info["reason"] = (f"light neutral backdrop (L* {light:.0f}, C* {chroma:.1f}) and "
                              f"{100 * evidence.get('text_share', 0.0):.0f} % of the product is label text: a label's "
                              f"paper matches the backdrop as glass would, kept as photographed")
            return cutout, info
        if not evidence["glass"] and "bulk_share" not in evidence:
            info["reason"] = (f"light neutral backdrop (L* {light:.0f}, C* {chroma:.1f}) clipped white behind "
                              f"{100 * evidence.get('blown_share', 1.0):.0f} % of the product, which is as white: a "
                              f"white product and clear glass look alike there, kept as photographed")
            return cutout, info
        if not evidence["glass"]:
            info["reason"] = (f"light neutral backdrop (L* {light:.0f}, C* {chroma:.1f}) and the product is shaded like "
                              f"an opaque one ({100 * evidence.get('bulk_share', 0.0):.0f} % of its body matches the "
                              f"backdrop, {100 * evidence.get('brighter_share', 0.0):.0f} % is lit brighter than it): "
                              f"kept as photographed")
            return cutout, info
        glass = True
    t = estimate_transmission(cutout.rgb, a, back, text_boxes, config, glass=glass)
    see = t > 0.05
    info.update(applied=bool(see.any()), see_through_share=round(float((see & solid).sum()) / n, 4),
                mean_transmission=round(float(t[see].mean()), 4) if see.any() else 0.0,
                text_boxes_locked=len(text_boxes))
    if not see.any():
        info["reason"] = "no product pixel looks like the backdrop behind it"
        return cutout, info
    rgb, alpha = apply_transmission(cutout.rgb, a, back, t)
    prov = dict(cutout.provenance)
    params = dict(prov.get("params", {}))
    params["transmission"] = {k: v for k, v in info.items() if k != "config"}
    prov["params"] = params
    # the box stays the product's outline (the glass is there, only see-through)
    return dataclasses.replace(cutout, rgb=rgb, alpha=alpha, bbox=cutout.bbox if cutout.bbox is not None
                               else alpha_bbox(a), provenance=prov), info


def see_through_share(alpha: np.ndarray, erode_px: int = 2) -> float:
    """Share of a product's body (alpha > 0.05, rim eroded) that is partly see-through
    (0.05 < alpha <= 0.99): what qa's colour interior (alpha > 0.99) leaves out."""
    import cv2

    a = np.asarray(alpha, np.float32)
    body = (a > 0.05).astype(np.uint8)
    if erode_px > 0:
        body = cv2.erode(body, np.ones((2 * erode_px + 1,) * 2, np.uint8))
    n = int(body.sum())
    if n == 0:
        return 0.0
    return float(((a <= 0.99) & (body > 0)).sum()) / n


def _glass_body(a: np.ndarray, floor: float, rim_px: int) -> np.ndarray:
    """bool: inside the product's filled outline (alpha > ``floor``, holes filled), ``rim_px`` in from it."""
    import cv2
    from scipy import ndimage

    filled = ndimage.binary_fill_holes(a > floor).astype(np.uint8)
    if rim_px > 0:
        filled = cv2.erode(filled, np.ones((2 * rim_px + 1,) * 2, np.uint8))
    return filled > 0


def outline_alpha(alpha: np.ndarray, floor: float = 0.05, rim_px: int = 2) -> np.ndarray:
    """The product's outline as an alpha: see-through pixels inside it (``floor < alpha <= 0.5``,
    at least ``rim_px`` in from its edge) raised to 1, so a clear bottle's outline is its glass,
    not its opaque label and rim. True holes (alpha at most ``floor``: the backdrop seen through a
    handle) stay holes, the anti-aliased rim keeps its alpha; without see-through pixels the input
    is returned as is."""
    a = np.asarray(alpha, np.float32)
    partial = (a > floor) & (a <= 0.5)
    if not partial.any():
        return a
    inside = partial & _glass_body(a, floor, rim_px)
    if not inside.any():
        return a
    out = a.copy()
    out[inside] = 1.0
    return out


def see_through_mask(alpha: np.ndarray, floor: float = 0.05, rim_px: int = 1) -> np.ndarray:
    """bool H x W: the partly see-through pixels inside a product (``floor < alpha <= 0.99``, at least
    ``rim_px`` in from its edge, so the anti-aliased rim is never among them)."""
    a = np.asarray(alpha, np.float32)
    partial = (a > floor) & (a <= 0.99)
    if not partial.any():
        return np.zeros(a.shape, bool)
    return partial & _glass_body(a, floor, rim_px)


__all__ = ["TransmissionConfig", "outline_alpha", "see_through_mask", "backdrop_behind", "estimate_transmission", "apply_transmission",
           "see_through_cutout", "see_through_share"]
