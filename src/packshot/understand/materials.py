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
    see_through_delta_e : float
        A product pixel within this CIEDE76 distance of the backdrop behind it counts as see-through.
    specular_full_share : float
        Share of the product in highlights at which the specular score reaches 1.
    transparency_full_share : float
        Share of the product that is see-through at which the transparency score reaches 1.
    reflective_full_share : float
        Share of the product that is mirror-like at which the reflective score reaches 1.
    """

    work_side: int = 384
    see_through_delta_e: float = 8.0
    specular_full_share: float = 0.03
    transparency_full_share: float = 0.35
    reflective_full_share: float = 0.25


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
    from scipy import ndimage

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

    # --- specular highlights ---
    surround = cv2.GaussianBlur(lum, (0, 0), max(scale_px * 3, 1.0))
    brighter = np.clip((lum / np.maximum(surround, 1e-3) - 1.3) / 0.7, 0, 1)
    bright = np.clip((lum - 0.45) / 0.35, 0, 1)
    unsaturated = np.clip(1.0 - chroma / 25.0, 0, 1)
    specular = brighter * bright * unsaturated * solid
    specular_score = float(np.clip((specular > 0.5).sum() / n_solid / config.specular_full_share, 0, 1))

    # --- transparency: backdrop seen through, partial alpha inside ---
    filled = ndimage.binary_fill_holes(solid)
    interior = ndimage.binary_erosion(filled, iterations=max(int(round(scale_px)), 1))
    partial = np.where(interior, np.clip((0.9 - a) / 0.8, 0, 1), 0.0)
    see_through = np.zeros_like(a)
    if image is not None:
        backdrop, visible = estimate_backdrop(small(image), a)
        if backdrop is not None:
            photo_lab = linear_to_lab(np.clip(small(image), 0, 1))
            back_lab = linear_to_lab(backdrop)
            delta = np.linalg.norm(photo_lab - back_lab, axis=-1)
            close = np.clip(1.0 - delta / config.see_through_delta_e, 0, 1)
            # only well inside the product: at the rim every photo mixes in the backdrop
            see_through = close * interior
    transparency = np.clip(np.maximum(partial, see_through), 0, 1).astype(np.float32)
    n_interior = max(int(interior.sum()), 1)
    transparency_score = float(np.clip((transparency > 0.5).sum() / n_interior / config.transparency_full_share, 0, 1))

    # --- reflective: dark and bright side by side in unsaturated areas, at a coarse scale ---
    coarse = max(scale_px * 1.5, 1.0)
    lum_c = cv2.GaussianBlur(lum, (0, 0), coarse)
    win = int(max(3, round(scale_px * 6))) | 1
    local_max = cv2.dilate(lum_c, np.ones((win, win), np.uint8))
    local_min = cv2.erode(lum_c, np.ones((win, win), np.uint8))
    # contrast in stops between the brightest and darkest nearby: mirrors span many stops
    stops = np.log2(np.maximum(local_max, 1e-4) / np.maximum(local_min, 1e-4))
    chroma_c = cv2.GaussianBlur(chroma, (0, 0), coarse)
    grey = np.clip(1.0 - (chroma_c - 10.0) / 15.0, 0, 1)
    reflective = np.clip((stops - 2.0) / 2.0, 0, 1) * grey * np.clip((local_max - 0.25) / 0.3, 0, 1)
    no_text = np.ones_like(a, bool)
    for x0, y0, x1, y1 in text_boxes:
        no_text[int(y0 * s):int(np.ceil(y1 * s)), int(x0 * s):int(np.ceil(x1 * s))] = False
    reflective = (reflective * solid * no_text).astype(np.float32)
    reflective_score = float(np.clip((reflective > 0.5).sum() / n_solid / config.reflective_full_share, 0, 1))

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
