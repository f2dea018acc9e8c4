"""Risk flags: where generated product photography still loses to a studio, with what to do.

Each flag carries the measured reason and a recommendation. Codes (see :class:`RiskFlag`):
"transparent", "reflective", "regulated-text", "dense-text", "low-resolution",
"cluttered-backdrop", "multiple-products".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from ..types import Cutout, Materials, RiskFlag, TextLine

# numbers with units where an invented digit is a legal problem (nutrition, dosage, contents)
_UNIT = (r"mg|mcg|µg|ug|g|kg|ml|cl|dl|l|fl\.?\s?oz|oz|lbs?|kcal|kj|cal|iu|ie|%|mmol|mol|ppm|caps(?:ules)?|"
         r"tabs|tablets|softgels|servings|pcs|ct")
_QUANTITY = re.compile(rf"(?<![a-z])\d+(?:[.,]\d+)?\s?(?:{_UNIT})(?![a-z])", re.IGNORECASE)
_CLAIM_WORDS = re.compile(
    r"\b(dosage|dose|daily|serving|supplement|vitamin[a-z]*|warning|caution|allergens?|contains|"
    r"ingredients|nutrition|calories|sugar|gluten|organic|ekologisk|vegan|clinically|proven|"
    r"recommended|keep out of reach|do not exceed|non-toxic|hazard|sodium|protein|fat|fett|spf)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class FlagConfig:
    """Thresholds of the risk flags.

    Attributes
    ----------
    transparent_score : float
        Transparency score at or above which the product is flagged transparent.
    reflective_score : float
        Reflective score at or above which the product is flagged reflective.
    min_product_side : int
        Longest side of the product in pixels below which it is too small for marketplace use.
    dense_text_lines : int
        Number of text lines at or above which the label counts as dense.
    clutter_score : float
        Backdrop clutter score (0 clean .. 1 busy) at or above which the backdrop is flagged.
    second_product_share : float
        A separate piece at least this share of the largest piece counts as another product.
    """

    transparent_score: float = 0.5
    reflective_score: float = 0.5
    min_product_side: int = 1000
    dense_text_lines: int = 12
    clutter_score: float = 0.5
    second_product_share: float = 0.15


def regulated_matches(text: tuple[TextLine, ...]) -> list[str]:
    """Quantities with units and regulated claim words found in the text, in order."""
    found: list[str] = []
    for line in text:
        found += [m.group(0).strip() for m in _QUANTITY.finditer(line.text)]
        found += [m.group(0).lower() for m in _CLAIM_WORDS.finditer(line.text)]
    return found


def backdrop_clutter(image: np.ndarray, alpha: np.ndarray) -> float:
    """0 (clean studio backdrop) .. 1 (busy scene): colour spread and edge density around the product."""
    import cv2

    from ..imaging import linear_to_lab, linear_to_srgb8

    h, w = alpha.shape
    s = min(1.0, 256 / max(h, w))
    size = (max(int(w * s), 1), max(int(h * s), 1))
    a = cv2.resize(np.ascontiguousarray(alpha, np.float32), size, interpolation=cv2.INTER_AREA)
    img = cv2.resize(np.ascontiguousarray(image, np.float32), size, interpolation=cv2.INTER_AREA)
    product = (a > 0.05).astype(np.uint8)
    # ignore the product's own soft rim and its contact shadow
    back = cv2.dilate(product, np.ones((7, 7), np.uint8)) == 0
    if back.sum() < 0.02 * back.size:
        return 0.0
    lab = linear_to_lab(np.clip(img, 0, 1))[back]
    spread = float(np.mean(np.std(lab, axis=0)))  # Lab units
    grey = cv2.cvtColor(linear_to_srgb8(img, dither=False), cv2.COLOR_RGB2GRAY)
    edges = cv2.Canny(grey, 40, 100) > 0
    density = float(edges[back].mean())
    # a studio sweep: spread ~1-4, edge density ~0; a desk or shop shelf: spread 10+, density 0.05+
    return float(np.clip(max((spread - 4.0) / 12.0, density / 0.06), 0.0, 1.0))


def product_pieces(alpha: np.ndarray) -> list[int]:
    """Pixel counts of the separate pieces of the product mask, largest first."""
    import cv2

    mask = (np.asarray(alpha) > 0.5).astype(np.uint8)
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    return sorted((int(v) for v in stats[1:, cv2.CC_STAT_AREA]), reverse=True)


def _material_flags(materials: Materials, config: FlagConfig) -> list[RiskFlag]:
    """transparent, reflective (those raised)."""
    flags: list[RiskFlag] = []
    # A mirror shows the backdrop too (a steel spoon reflects the black sweep): when the mirror
    # cue is the stronger one, the backdrop-coloured pixels are reflections, not see-through.
    if (materials.transparency_score >= config.transparent_score
            and materials.transparency_score >= materials.reflective_score):
        flags.append(RiskFlag(
            "transparent",
            f"see-through or refractive product (transparency score {materials.transparency_score:.2f}): "
            "the backdrop shows through it, so a new scene must also be refracted through it",
            "hybrid: photograph the glass traditionally, or re-render the scene only and keep the "
            "product photo with its original backdrop inside it; route to human review",
            materials.transparency_score))
    if materials.reflective_score >= config.reflective_score:
        flags.append(RiskFlag(
            "reflective",
            f"mirror-like glass or metal (reflective score {materials.reflective_score:.2f}): its "
            "reflections show the original room and will not match a new scene",
            "re-render the scene only and keep the product photo; at hero scale photograph it "
            "traditionally or route to human review",
            materials.reflective_score))
    return flags


def _text_flags(text: tuple[TextLine, ...], config: FlagConfig) -> list[RiskFlag]:
    """regulated-text, dense-text (those raised)."""
    flags: list[RiskFlag] = []
    matches = regulated_matches(text)
    if matches:
        shown = ", ".join(dict.fromkeys(matches[:8]))
        flags.append(RiskFlag(
            "regulated-text",
            f"label carries quantities or regulated claims ({shown}): an invented character is a legal risk",
            "never let a model repaint the label: keep the product pixels locked and route to human "
            "review against the master artwork",
            min(1.0, 0.5 + 0.1 * len(matches))))
    chars = sum(len(t.text) for t in text)
    if len(text) >= config.dense_text_lines:
        flags.append(RiskFlag(
            "dense-text",
            f"dense label text ({len(text)} lines, {chars} characters)",
            "keep the product pixels locked; check the OCR text against the master artwork",
            min(1.0, len(text) / (2.0 * config.dense_text_lines))))
    return flags


def _photo_flags(cutout: Cutout, config: FlagConfig) -> list[RiskFlag]:
    """low-resolution, cluttered-backdrop, multiple-products (those raised)."""
    flags: list[RiskFlag] = []
    if cutout.bbox is not None:
        x0, y0, x1, y1 = cutout.bbox
        side = max(x1 - x0, y1 - y0)
        if side < config.min_product_side:
            flags.append(RiskFlag(
                "low-resolution",
                f"the product is {x1 - x0} x {y1 - y0} px; below {config.min_product_side} px on its "
                "longest side it is too small for marketplace zoom",
                "ask for a higher-resolution packshot; upscaling invents detail and must be reviewed",
                float(np.clip(1.0 - side / config.min_product_side, 0.0, 1.0))))
    clutter = backdrop_clutter(cutout.image, cutout.alpha)
    if clutter >= config.clutter_score:
        flags.append(RiskFlag(
            "cluttered-backdrop",
            f"the photo is not on a clean backdrop (clutter score {clutter:.2f}): the cut-out edge and "
            "colour spill are less certain",
            "check the cut-out edge before use; prefer a studio packshot on a plain backdrop",
            clutter))
    pieces = product_pieces(cutout.alpha)
    if len(pieces) > 1:
        others = [p for p in pieces[1:] if p >= config.second_product_share * pieces[0]]
        if others:
            flags.append(RiskFlag(
                "multiple-products",
                f"{1 + len(others)} separate products in one photo",
                "cut one product per photo (give a box prompt) or confirm the set is sold together",
                min(1.0, 0.5 + 0.1 * len(others))))
    return flags


def risk_flags(cutout: Cutout, materials: Materials, text: tuple[TextLine, ...],
               config: FlagConfig = FlagConfig()) -> tuple[RiskFlag, ...]:
    """The risk flags of one product.

    Parameters
    ----------
    cutout : Cutout
    materials : Materials
    text : tuple of TextLine
    config : FlagConfig

    Returns
    -------
    tuple of RiskFlag
        In a fixed order: transparent, reflective, regulated-text, dense-text, low-resolution,
        cluttered-backdrop, multiple-products (only those raised).
    """
    flags = _material_flags(materials, config) + _text_flags(text, config) + _photo_flags(cutout, config)
    # scores rounded so that maps.json holds them exactly
    return tuple(RiskFlag(f.code, f.reason, f.recommendation, round(float(f.score), 4)) for f in flags)
