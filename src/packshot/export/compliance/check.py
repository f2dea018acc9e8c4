"""Marketplace compliance check: every rule of a profile, measured, with its limit and a verdict.

:func:`check_image` reads an encoded file (path or bytes) or a pipeline array and returns a
:class:`ComplianceReport` with one :class:`RuleResult` per rule, including the rules a profile
does not impose (status ``skip``), so a report always shows the whole list.

How the rules measure
---------------------
- **Product region.** From ``product_alpha`` when given (``alpha > 0.5`` for its box, any
  ``alpha > 0`` counts as product for the background rule). Otherwise estimated as the
  connected non-background region: the background is every pixel connected to the frame
  border whose colour stays within :attr:`CheckConfig.background_similarity` levels (2: "not
  white" means any visible departure) of the border's median colour
  (:attr:`CheckConfig.textured_similarity` when the border itself is textured); the product is
  the rest, without specks and letters smaller than :attr:`CheckConfig.min_component_share` of
  the largest part (so text in the background counts as background). A halo or residue that
  touches the product is then part of the product: pass ``product_alpha`` to judge halos.
- **Background** (``background: white``): share of background pixels that are not exactly
  RGB 255, 255, 255. Pixels within a few pixels of the product are left out, because lossy
  codecs ring inside the blocks an edge crosses: 1 px for lossless files, 8 px for JPEG
  without chroma subsampling, 16 px for subsampled JPEG and WebP.
- **Fill**: the product's bounding box over the frame, ``max(box_w / W, box_h / H)``: the extent
  along the tighter side. For a square frame this is the box's longest side over the frame's,
  which is how Amazon's "fills 85 % of the frame" is measured.
- **Edge clearance**: border pixels darker than 250 in any channel (a product or shadow cut by
  the frame edge).
- **Text**: PP-OCR (:func:`packshot.understand.ocr.read_text`, one upright pass) on the frame
  downscaled to at most :attr:`CheckConfig.ocr_max_side`, with the product's interior (the
  region eroded by 3 % of its size) painted over, so label text is not read. A line mostly on
  the product is label text and allowed; a line mostly off it is text in the background; a line
  partly on and partly off crosses the product's outline, as watermarks and promo stickers do.
  OCR is skipped when no marks stand free of the product in the background (fewer than
  :attr:`CheckConfig.ocr_min_ink` pixels at the OCR scale): a clean white background holds no text.
- **Colour space**: the pixel mode must be RGB (or grey / palette) and an embedded ICC profile
  must describe sRGB; an untagged file is read as sRGB, as browsers and marketplaces do.
- **JPEG quality** is estimated from the luminance quantisation table (libjpeg scaling).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from ...errors import InputError
from ...imaging import DEFAULT_MAX_PIXELS, MAX_PIXELS_CEILING, decode_image, linear_to_srgb8, nearest_srgb8, open_image, read_bounded
from .profiles import Profile, get_profile

STATUSES = ("pass", "fail", "warn", "skip")
"""``fail`` breaks a hard rule; ``warn`` misses a recommendation; ``skip``: the profile has no such rule."""


@dataclass(frozen=True)
class CheckConfig:
    """How the compliance check measures."""

    background_similarity: int = 2
    """Levels (0-255) a pixel may differ from a uniform border's colour and still be estimated
    background: "non-white" means any visible departure, JPEG noise aside."""
    textured_similarity: int = 12
    """The same for a border that is not uniform (a scene): its own texture is background."""
    uniform_border_spread: int = 6
    """A border whose 2nd-98th percentile spread is within this many levels is uniform."""
    min_component_share: float = 0.10
    """Estimated product parts smaller than this share of the largest part are treated as background."""
    edge_dark_level: int = 250
    """A border pixel darker than this in any channel is a product or shadow cut by the frame edge."""
    ocr_max_side: int = 1024
    """The frame is downscaled to this longest side before OCR (speed; text stays readable)."""
    ocr_min_ink: int = 40
    """OCR runs only when marks off the product (not touching it) hold at least this many pixels at
    the OCR scale: a legible line of two or three characters has more ink than that."""
    ocr_contrast: int = 48
    """Marks off the product that differ from the backdrop by more than this (levels) count as ink
    even when they touch the product."""
    ocr_min_score: float = 0.7
    """OCR lines below this confidence are ignored."""
    text_on_product: float = 0.75
    """A text line with at least this share of its box on the product is label text."""
    text_off_product: float = 0.25
    """A text line with at most this share of its box on the product is background text."""


@dataclass(frozen=True)
class RuleResult:
    """One rule of a profile: what was measured, the limit, and the verdict."""

    rule: str
    """Rule name (``background``, ``fill``, ...)."""
    status: str
    """``pass``, ``fail``, ``warn`` or ``skip``."""
    measured: Any
    """The measured value (JSON-serialisable); None when not measured."""
    limit: Any
    """The profile's limit in words or numbers; None when the profile has no such rule."""
    message: str = ""
    """What was found, in words a user can act on."""

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "status": self.status, "measured": self.measured, "limit": self.limit,
                "message": self.message}


@dataclass(frozen=True)
class ComplianceReport:
    """Every rule of ``profile`` measured on one image."""

    profile: str
    """Profile name."""
    source: str
    """File name, ``<bytes>`` or ``<array>``."""
    size: tuple[int, int]
    """(width, height) of the image."""
    rules: tuple[RuleResult, ...]
    """One result per rule, in a fixed order."""
    product_region: str = "estimated"
    """``alpha`` when the product alpha was given, ``estimated`` otherwise."""
    details: Mapping[str, Any] = field(default_factory=dict)
    """Extra measurements (product box, text lines found)."""

    @property
    def passed(self) -> bool:
        """True when no rule failed (warnings do not fail)."""
        return not any(r.status == "fail" for r in self.rules)

    @property
    def failures(self) -> tuple[RuleResult, ...]:
        return tuple(r for r in self.rules if r.status == "fail")

    @property
    def warnings(self) -> tuple[RuleResult, ...]:
        return tuple(r for r in self.rules if r.status == "warn")

    def rule(self, name: str) -> RuleResult:
        """The result of rule ``name`` (KeyError when there is none)."""
        for r in self.rules:
            if r.rule == name:
                return r
        raise KeyError(f"no rule '{name}'; rules: {', '.join(r.rule for r in self.rules)}")

    def to_dict(self) -> dict[str, Any]:
        return {"profile": self.profile, "source": self.source, "size": list(self.size), "passed": self.passed,
                "product_region": self.product_region, "rules": [r.to_dict() for r in self.rules],
                "details": dict(self.details)}


RULES = ("format", "longest-side", "shortest-side", "recommended-size", "pixels", "aspect", "file-size",
         "colour-space", "transparency", "jpeg-quality", "background", "fill", "edge-clearance", "safe-zone",
         "text")
"""Every rule, in report order."""

LAYOUT_RULES = ("longest-side", "shortest-side", "pixels", "aspect", "background", "fill", "edge-clearance",
                "safe-zone")
"""The rules the compliance fixer makes pass (sides, aspect, white background, fill, edge
clearance, safe zone): what export measures on a frame it keeps as it is instead of fixing it
(:func:`packshot.export.compliance.fixer.fix_for_profile`)."""


# ---------------------------------------------------------------------------------------------
# reading the image and its file facts
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ImageFacts:
    """What the check needs to know about an image: 8-bit sRGB pixels and file facts."""

    srgb8: np.ndarray
    """uint8 H x W x 3 sRGB pixels (after EXIF orientation; ICC converted to sRGB)."""
    alpha: np.ndarray | None
    """float32 H x W transparency channel in [0, 1], or None."""
    name: str
    """File name, ``<bytes>`` or ``<array>``."""
    file_format: str | None = None
    """Pillow format name; None for arrays."""
    mode: str | None = None
    """Pillow mode of the file (``RGB``, ``CMYK``...)."""
    icc_description: str | None = None
    """Description of the embedded ICC profile, or None."""
    n_bytes: int | None = None
    """File size in bytes; None for arrays."""
    jpeg_quality: int | None = None
    """Estimated JPEG quality, or None."""
    jpeg_subsampling: int | None = None
    """0 = 4:4:4, 1 = 4:2:2, 2 = 4:2:0; None when not a JPEG."""

    @property
    def size(self) -> tuple[int, int]:
        return self.srgb8.shape[1], self.srgb8.shape[0]

    @property
    def is_file(self) -> bool:
        return self.file_format is not None


# libjpeg's standard luminance quantisation table (Annex K), natural order
_STD_LUMA = np.array([
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99], np.float64)


def estimate_jpeg_quality(luma_table: Any) -> int:
    """The libjpeg quality (1-100) whose scaled standard table is closest to ``luma_table``.

    Parameters
    ----------
    luma_table : sequence of 64 ints
        The luminance quantisation table as Pillow reports it (``img.quantization[0]``).
    """
    t = np.asarray(list(luma_table), np.float64)
    if t.size != 64:
        raise ValueError(f"a JPEG quantisation table has 64 entries, got {t.size}")
    # Pillow reports tables in zig-zag or natural order depending on version: compare sorted too
    best_q, best_err = 50, np.inf
    for q in range(1, 101):
        scale = 5000.0 / q if q < 50 else 200.0 - 2.0 * q
        std = np.clip(np.floor((_STD_LUMA * scale + 50.0) / 100.0), 1, 255)
        err = min(np.abs(std - t).sum(), np.abs(np.sort(std) - np.sort(t)).sum())
        if err < best_err:
            best_q, best_err = q, err
    return best_q


def read_facts(image: str | Path | bytes | np.ndarray, name: str | None = None,
               max_pixels: int | None = DEFAULT_MAX_PIXELS) -> ImageFacts:
    """Decode an image file, its bytes, or an array into :class:`ImageFacts`.

    Parameters
    ----------
    image : path, bytes or ndarray
        A file, its bytes, float32 linear H x W x 3 (pipeline convention) or uint8 sRGB
        H x W x 3 / H x W x 4.

    Raises
    ------
    InputError
        Not an image, an empty or wrongly shaped array; the message names the input.
    """
    if isinstance(image, np.ndarray):
        return _facts_from_array(image, name or "<array>")
    if isinstance(image, (bytes, bytearray, memoryview)):
        return _facts_from_bytes(bytes(image), name or "<bytes>", max_pixels)
    if isinstance(image, (str, Path)):
        p = Path(image)
        if not p.exists():
            raise InputError(p, "file does not exist")
        if p.is_dir():
            raise InputError(p, "is a folder, not an image file")
        return _facts_from_bytes(read_bounded(p, "image file"), name or str(p), max_pixels)
    raise InputError(name or "image", f"expected a path, bytes or an array, got {type(image).__name__}")


def _facts_from_array(a: np.ndarray, name: str) -> ImageFacts:
    if a.ndim != 3 or a.shape[2] not in (3, 4) or a.shape[0] < 1 or a.shape[1] < 1:
        raise InputError(name, f"image array must be H x W x 3 (or 4), got shape {a.shape}")
    alpha = None
    if a.dtype == np.uint8:
        srgb8 = np.ascontiguousarray(a[..., :3])
        if a.shape[2] == 4:
            alpha = a[..., 3].astype(np.float32) / 255.0
    elif np.issubdtype(a.dtype, np.floating):
        if a.shape[2] == 4:
            raise InputError(name, "a float image is linear RGB H x W x 3; pass the alpha as product_alpha")
        if not np.isfinite(a).all() or a.min() < -1e-6 or a.max() > 1 + 1e-6:
            raise InputError(name, "a float image must be linear light in [0, 1] without NaN")
        srgb8 = linear_to_srgb8(a, dither=False)
    else:
        raise InputError(name, f"image array must be uint8 sRGB or float32 linear, got {a.dtype}")
    return ImageFacts(srgb8=srgb8, alpha=alpha, name=name)


def _to_srgb8(linear: np.ndarray) -> np.ndarray:
    """Linear values decoded from 8-bit files back to their 8-bit codes (:func:`packshot.imaging.nearest_srgb8`)."""
    return nearest_srgb8(linear)


def _facts_from_bytes(data: bytes, name: str, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> ImageFacts:
    from PIL import ImageCms

    loaded = decode_image(data, name, max_pixels)  # validates and raises ImageLoadError naming the file
    mode = loaded.source_mode
    fmt = loaded.source_format
    icc_desc = quality = sampling = None
    try:
        with open_image(data, name, max_pixels=MAX_PIXELS_CEILING) as im:  # decode_image checked our limit
            icc = im.info.get("icc_profile")
            if icc:
                try:
                    icc_desc = ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc))).strip()
                except (ImageCms.PyCMSError, OSError, ValueError):
                    icc_desc = "<unreadable ICC profile>"
            if fmt == "JPEG":
                from PIL import JpegImagePlugin

                tables = getattr(im, "quantization", None) or {}
                if 0 in tables:
                    quality = estimate_jpeg_quality(tables[0])
                sampling = JpegImagePlugin.get_sampling(im)
    except OSError:  # pragma: no cover - decode_image succeeded on the same bytes
        pass
    srgb8 = _to_srgb8(loaded.rgb)
    return ImageFacts(srgb8=srgb8, alpha=loaded.alpha, name=name, file_format=fmt, mode=mode,
                      icc_description=icc_desc, n_bytes=len(data), jpeg_quality=quality,
                      jpeg_subsampling=None if sampling is None or sampling < 0 else int(sampling))


# ---------------------------------------------------------------------------------------------
# product region
# ---------------------------------------------------------------------------------------------
def estimate_product_region(srgb8: np.ndarray, config: CheckConfig = CheckConfig()) -> np.ndarray:
    """Estimate which pixels are the product in an 8-bit frame (see the module docstring).

    Parameters
    ----------
    srgb8 : ndarray
        uint8 H x W x 3.

    Returns
    -------
    ndarray
        bool H x W, True on the product (its enclosed holes included).
    """
    import cv2

    h, w = srgb8.shape[:2]
    diff = colour_distance(srgb8, border_colour(srgb8))
    border = np.concatenate([srgb8[0], srgb8[-1], srgb8[:, 0], srgb8[:, -1]])
    spread = int((np.percentile(border, 98, axis=0) - np.percentile(border, 2, axis=0)).max())
    tolerance = (config.background_similarity if spread <= config.uniform_border_spread
                 else config.textured_similarity)
    similar = (diff <= tolerance).astype(np.uint8)
    n, labels = cv2.connectedComponents(similar, connectivity=4)
    on_border = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    on_border = on_border[on_border != 0]  # label 0 = pixels unlike the border colour
    is_bg = np.zeros(n, bool)
    is_bg[on_border] = True
    background = is_bg[labels]
    product = (~background).astype(np.uint8)
    n, plabels, stats, _ = cv2.connectedComponentsWithStats(product, connectivity=8)
    if n <= 1:
        return np.zeros((h, w), bool)
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = np.zeros(n, bool)
    keep[1:] = areas >= config.min_component_share * areas.max()
    return keep[plabels]


def _product_masks(facts: ImageFacts, product_alpha: np.ndarray | None,
                   config: CheckConfig) -> tuple[np.ndarray, np.ndarray, str]:
    """(box mask, support mask, how): the box mask gives the product box, the support mask every
    pixel the product covers at all."""
    w, h = facts.size
    if product_alpha is not None:
        a = np.asarray(product_alpha)
        if a.ndim == 3 and a.shape[2] == 1:
            a = a[..., 0]
        if a.shape != (h, w):
            raise InputError("product_alpha", f"is {a.shape[1] if a.ndim > 1 else '?'}x{a.shape[0]}, "
                             f"the image is {w}x{h}")
        if a.dtype == np.uint8:
            a = a.astype(np.float32) / 255.0
        return a > 0.5, a > (0.5 / 255.0), "alpha"
    region = estimate_product_region(facts.srgb8, config)
    # the box comes from the visibly non-background part: codec ringing and the faintest
    # anti-aliased edge pixels belong to the region but not to the product's extent
    visible = region & (colour_distance(facts.srgb8, border_colour(facts.srgb8)) > config.textured_similarity)
    return (visible if visible.any() else region), region, "estimated"


def channel_min(a: np.ndarray) -> np.ndarray:
    """Per-pixel minimum over the last axis of size 3 (much faster than ``a.min(axis=-1)``)."""
    return np.minimum(np.minimum(a[..., 0], a[..., 1]), a[..., 2])


def channel_max(a: np.ndarray) -> np.ndarray:
    """Per-pixel maximum over the last axis of size 3."""
    return np.maximum(np.maximum(a[..., 0], a[..., 1]), a[..., 2])


def _bbox(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def away_from_product(support: np.ndarray, margin: int) -> np.ndarray:
    """bool H x W: pixels farther than ``margin`` px from every product pixel."""
    import cv2

    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * margin + 1, 2 * margin + 1))
    return cv2.dilate(support.astype(np.uint8), kernel) == 0


def border_colour(srgb8: np.ndarray) -> np.ndarray:
    """Median colour of the frame's border pixels, uint8 (3,)."""
    border = np.concatenate([srgb8[0], srgb8[-1], srgb8[:, 0], srgb8[:, -1]])
    return np.median(border, axis=0).round().astype(np.uint8)


def colour_distance(srgb8: np.ndarray, colour: np.ndarray) -> np.ndarray:
    """uint8 H x W: largest per-channel difference of each pixel from ``colour``."""
    import cv2

    d = cv2.absdiff(srgb8, np.broadcast_to(np.asarray(colour, np.uint8), srgb8.shape).copy())
    return channel_max(d)


def codec_margin(facts: ImageFacts) -> int:
    """Pixels around the product left out of the background rule because the codec rings there."""
    if facts.file_format == "JPEG":
        return 8 if facts.jpeg_subsampling in (0, None) else 16
    if facts.file_format == "WEBP":
        return 16  # lossy WebP: 16 x 16 macroblocks, 4:2:0 chroma (lossless WebP does not ring)
    return 1


def product_fill(box: tuple[int, int, int, int] | None, size: tuple[int, int]) -> float:
    """Product share of the frame: ``max(box_w / W, box_h / H)`` (0 without a product)."""
    if box is None:
        return 0.0
    w, h = size
    return max((box[2] - box[0]) / w, (box[3] - box[1]) / h)


# ---------------------------------------------------------------------------------------------
# OCR
# ---------------------------------------------------------------------------------------------
def read_frame_text(srgb8: np.ndarray, max_side: int = 1280,
                    min_score: float = 0.5) -> list[tuple[str, tuple[int, int, int, int], float]]:
    """Text lines in an 8-bit sRGB frame: ``(text, box in frame pixels, confidence)``.

    PP-OCR through :func:`packshot.understand.ocr.read_text` (one upright pass: added text and
    watermarks are set upright or near it) with the frame downscaled to ``max_side``.
    """
    from ...imaging import srgb8_to_linear
    from ...ops.ocr import OcrConfig, read_text

    h, w = srgb8.shape[:2]
    lines = read_text(srgb8_to_linear(srgb8), config=OcrConfig(max_side=max_side, rotations=False,
                                                               min_confidence=min_score))
    out = []
    for line in lines:
        x0, y0, x1, y1 = line.box
        out.append((line.text, (int(np.clip(x0, 0, w)), int(np.clip(y0, 0, h)), int(np.clip(x1, 0, w)),
                                int(np.clip(y1, 0, h))), float(line.confidence)))
    return out


# ---------------------------------------------------------------------------------------------
# the check
# ---------------------------------------------------------------------------------------------
def _find_added_text(facts: ImageFacts, box_mask: np.ndarray, support: np.ndarray, how: str,
                     config: CheckConfig) -> tuple[list[dict], str]:
    """Text lines that are not label text on the product, and how the frame was read."""
    import cv2

    if how == "estimated" and box_mask.any():
        # an estimated region misses white panels of the product (white on white), and the
        # print on them would read as text beside the product: judge text against the
        # region's convex hull instead
        hull = cv2.convexHull(cv2.findNonZero(box_mask.astype(np.uint8)))
        filled = np.zeros(box_mask.shape, np.uint8)
        cv2.fillConvexPoly(filled, hull, 1)
        box_mask = filled.astype(bool)

    s = facts.srgb8
    bg = border_colour(s)
    margin = codec_margin(facts)
    outside = away_from_product(support, margin)
    # marks this close to the product are its soft edge or edge residue, not free-standing text
    box = _bbox(support)
    hug = margin + 2 + (int(0.02 * max(box[2] - box[0], box[3] - box[1])) if box else 0)
    ring = outside & ~away_from_product(support, hug)
    distance = colour_distance(s, bg)
    marks = (outside & (distance > 3)).astype(np.uint8)
    n, labels = cv2.connectedComponents(marks, connectivity=8)
    attached = np.zeros(n, bool)
    attached[np.unique(labels[ring])] = True
    attached[0] = True
    # ink = marks standing free of the product, or contrasted marks anywhere off it (letters that
    # touch the product are still letters; a soft product edge is faint)
    ink = (~attached[labels] & (marks > 0)) | (outside & (distance > config.ocr_contrast))
    free_ink = int(ink.sum())
    scale = min(1.0, config.ocr_max_side / max(s.shape[:2]))
    if free_ink * scale * scale < config.ocr_min_ink:
        # text needs ink: without free-standing marks off the product there is nothing to read
        # (edge residue that hugs the outline is the background rule's business)
        return [], f"no free-standing marks off the product ({free_ink} px): nothing to read"
    # hide the label: only the product's outline band and the background are read
    if box_mask.any():
        bx = _bbox(box_mask)
        band = max(3, int(0.03 * max(bx[2] - bx[0], bx[3] - bx[1])))
        inner = cv2.erode(box_mask.astype(np.uint8),
                          cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * band + 1, 2 * band + 1))).astype(bool)
        s = s.copy()
        s[inner] = bg
    found = []
    for text, (x0, y0, x1, y1), score in read_frame_text(s, config.ocr_max_side, config.ocr_min_score):
        if len(text.strip()) < 2 or x1 <= x0 or y1 <= y0:
            continue
        on = float(box_mask[y0:y1, x0:x1].mean())
        where = ("product" if on >= config.text_on_product else
                 "background" if on <= config.text_off_product else "over-outline")
        found.append({"text": text, "box": [x0, y0, x1, y1], "score": round(score, 3), "where": where,
                      "on_product": round(on, 3)})
    return found, "read by OCR outside the label area"


def check_image(
    image: str | Path | bytes | np.ndarray,
    profile: Profile | str,
    product_alpha: np.ndarray | None = None,
    *,
    config: CheckConfig = CheckConfig(),
    name: str | None = None,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    rules: Sequence[str] = RULES,
) -> ComplianceReport:
    """Measure every rule of ``profile`` on one image (or the ``rules`` asked for).

    Parameters
    ----------
    image : path, bytes or ndarray
        An encoded file (path or bytes), float32 linear H x W x 3, or uint8 sRGB H x W x 3.
        File rules (format, byte size, colour space, quality) are skipped for arrays.
    profile : Profile or str
        A profile or its name / YAML path (see :func:`packshot.export.compliance.profiles.get_profile`).
    product_alpha : ndarray, optional
        float32 H x W in [0, 1] (or uint8): the product's alpha in this frame. Estimated when None.
    config : CheckConfig
        Measurement settings.
    name : str, optional
        Name of the source in the report (defaults to the path).
    max_pixels : int, optional
        Decompression-bomb guard for an encoded image (see :func:`packshot.imaging.decode_image`).
    rules : sequence of str
        The rules to measure (default: all of :data:`RULES`); the others are reported as
        skipped ("not measured"). :data:`LAYOUT_RULES` are the ones the fixer makes pass.

    Returns
    -------
    ComplianceReport
        One result per rule in :data:`RULES`; ``report.passed`` is False when any failed.

    Raises
    ------
    InputError
        A rule name that is not in :data:`RULES`.

    Examples
    --------
    >>> report = check_image("frame.jpg", "amazon-main")   # doctest: +SKIP
    >>> [r.rule for r in report.failures]                   # doctest: +SKIP
    ['fill']
    """
    unknown = [r for r in rules if r not in RULES]
    if unknown:
        raise InputError("rules", f"unknown rule(s) {', '.join(map(repr, unknown))}; rules: {', '.join(RULES)}")
    prof = get_profile(profile)
    facts = read_facts(image, name, max_pixels)
    box_mask, support, how = _product_masks(facts, product_alpha, config)
    box = _bbox(box_mask)
    ctx = _RuleContext(prof, facts, config, box_mask, support, how, box,
                       details={"product_box": list(box) if box else None})
    results = {rule: _RULE_CHECKS[rule](ctx) if rule in rules else _skip(rule, "not measured") for rule in RULES}
    return ComplianceReport(prof.name, facts.name, facts.size, tuple(results[r] for r in RULES), how, ctx.details)


# ---------------------------------------------------------------------------------------------
# the rules, one function each (in report order)
# ---------------------------------------------------------------------------------------------
RGB_LIKE_MODES = ("RGB", "RGBA", "L", "LA", "P", "PA", "1", "I;16", "I;16B", "I")
"""Pillow pixel modes whose values are read as sRGB (grey and palette images included)."""

NEAR_WHITE_LEVEL = 235
"""Background pixels off white whose darkest channel is at least this are reported as near-white residue."""


@dataclass
class _RuleContext:
    """What every rule reads: the profile, the file's facts, the product region."""

    prof: Profile
    facts: ImageFacts
    config: CheckConfig
    box_mask: np.ndarray
    support: np.ndarray
    how: str
    box: tuple[int, int, int, int] | None
    details: dict[str, Any]

    @property
    def no_rule(self) -> str:
        return f"{self.prof.name} has no such rule"


_NOT_FILE = "not a file (an array): nothing to measure"


def _result(rule: str, bad: bool, measured: Any, limit: Any, message: str, status_if_bad: str = "fail") -> RuleResult:
    return RuleResult(rule, status_if_bad if bad else "pass", measured, limit, message if bad else "")


def _skip(rule: str, why: str) -> RuleResult:
    return RuleResult(rule, "skip", None, None, why)


def _rule_format(c: _RuleContext) -> RuleResult:
    if not c.facts.is_file:
        return _skip("format", _NOT_FILE)
    fmt, formats = c.facts.file_format, c.prof.formats
    return _result("format", fmt not in formats, fmt, list(formats),
                   f"{fmt} is not accepted; save as {' or '.join(formats)}")


def _rule_longest_side(c: _RuleContext) -> RuleResult:
    lo, hi = c.prof.min_longest_side, c.prof.max_longest_side
    if lo is None and hi is None:
        return _skip("longest-side", c.no_rule)
    longest = max(c.facts.size)
    limit = " and ".join(s for s in ((f">= {lo}" if lo else ""), (f"<= {hi}" if hi else "")) if s)
    bad = (lo is not None and longest < lo) or (hi is not None and longest > hi)
    return _result("longest-side", bad, longest, limit, f"longest side {longest} px is outside {limit} px")


def _rule_shortest_side(c: _RuleContext) -> RuleResult:
    least = c.prof.min_shortest_side
    if least is None:
        return _skip("shortest-side", c.no_rule)
    shortest = min(c.facts.size)
    return _result("shortest-side", shortest < least, shortest, f">= {least}",
                   f"shortest side {shortest} px is below {least} px")


def _rule_recommended_size(c: _RuleContext) -> RuleResult:
    wanted = c.prof.recommended_longest_side
    if wanted is None:
        return _skip("recommended-size", c.no_rule)
    longest = max(c.facts.size)
    return _result("recommended-size", longest < wanted, longest, f">= {wanted}",
                   f"longest side {longest} px is below the recommended {wanted} px (zoom and sharpness suffer)",
                   status_if_bad="warn")


def _rule_pixels(c: _RuleContext) -> RuleResult:
    most = c.prof.max_pixels
    if most is None:
        return _skip("pixels", c.no_rule)
    w, h = c.facts.size
    return _result("pixels", w * h > most, w * h, f"<= {most}", f"{w * h / 1e6:.1f} MP is over {most / 1e6:.1f} MP")


def _rule_aspect(c: _RuleContext) -> RuleResult:
    prof = c.prof
    if prof.aspect is None:
        return _skip("aspect", c.no_rule)
    w, h = c.facts.size
    ratio = w / h
    return _result("aspect", abs(ratio / prof.aspect - 1) > prof.aspect_tolerance, round(ratio, 4),
                   f"{prof.aspect:.4f} +- {prof.aspect_tolerance:.0%}",
                   f"aspect {w}:{h} = {ratio:.3f}, expected {prof.aspect:.3f}")


def _rule_file_size(c: _RuleContext) -> RuleResult:
    if not c.facts.is_file:
        return _skip("file-size", _NOT_FILE)
    most = c.prof.max_bytes
    if most is None:
        return _skip("file-size", c.no_rule)
    n = c.facts.n_bytes
    return _result("file-size", n > most, n, f"<= {most}", f"{n:,} bytes is over the limit of {most:,} bytes")


def _rule_colour_space(c: _RuleContext) -> RuleResult:
    facts = c.facts
    if not facts.is_file:
        return _skip("colour-space", _NOT_FILE)
    desc = facts.icc_description
    measured = f"{facts.mode}, " + (f"ICC '{desc}'" if desc else "untagged (read as sRGB)")
    problems = []
    if facts.mode.split(" ")[0] not in RGB_LIKE_MODES:
        problems.append(f"pixel mode {facts.mode} is not RGB")
    if desc is not None and "srgb" not in desc.lower():
        problems.append(f"embedded ICC profile '{desc}' is not sRGB")
    return _result("colour-space", bool(problems), measured, c.prof.color_space, "; ".join(problems))


def _rule_transparency(c: _RuleContext) -> RuleResult:
    prof, alpha = c.prof, c.facts.alpha
    limit = "opaque" if not prof.allow_alpha else "any"
    if alpha is None:
        return RuleResult("transparency", "pass", "opaque", limit)
    see_through = float((alpha < 1.0).mean())
    return _result("transparency", not prof.allow_alpha and see_through > 0, round(see_through, 6), limit,
                   f"{see_through:.1%} of the pixels are transparent; {prof.name} needs an opaque image "
                   "(flatten onto white)")


def _rule_jpeg_quality(c: _RuleContext) -> RuleResult:
    wanted, facts = c.prof.recommended_min_jpeg_quality, c.facts
    if wanted is None:
        return _skip("jpeg-quality", c.no_rule)
    if facts.file_format != "JPEG" or facts.jpeg_quality is None:
        return _skip("jpeg-quality", "not a JPEG")
    q = facts.jpeg_quality
    return _result("jpeg-quality", q < wanted, q, f">= {wanted}",
                   f"estimated JPEG quality {q} is below the recommended {wanted}", status_if_bad="warn")


def _rule_background(c: _RuleContext) -> RuleResult:
    prof, facts = c.prof, c.facts
    if prof.background != "white":
        return _skip("background", f"{prof.name} allows any background")
    margin = codec_margin(facts)
    outside = away_from_product(c.support, margin)
    if not outside.any():
        return RuleResult("background", "fail", None, f"<= {prof.background_tolerance:.2%} not RGB 255",
                          "no background left to measure: the product covers the whole frame")
    # measured on the whole frame and masked (no gather of the background pixels first): the
    # same counts, the same share
    darkest = channel_min(facts.srgb8)
    not_white = (darkest < 255) & outside
    n_bad = int(np.count_nonzero(not_white))
    share = n_bad / int(np.count_nonzero(outside))
    c.details["background_margin_px"] = margin
    bad = share > prof.background_tolerance
    msg = ""
    if bad:
        near_white = int(np.count_nonzero(not_white & (darkest >= NEAR_WHITE_LEVEL)))
        darker = n_bad - near_white
        msg = (f"{share:.2%} of the background is not pure white RGB 255 ({near_white:,} near-white "
               f"residue pixels, {darker:,} darker); mean colour of those "
               f"{tuple(int(v) for v in facts.srgb8[not_white].mean(axis=0).round())}")
    return _result("background", bad, round(share, 6), f"<= {prof.background_tolerance:.2%}", msg)


def _rule_fill(c: _RuleContext) -> RuleResult:
    least = c.prof.fill_min
    if least is None:
        return _skip("fill", c.no_rule)
    fill = product_fill(c.box, c.facts.size)
    return _result("fill", fill < least, round(fill, 4), f">= {least:.0%}",
                   f"the product fills {fill:.1%} of the frame, below {least:.0%}" if c.box else "no product found")


def _rule_edge_clearance(c: _RuleContext) -> RuleResult:
    if not c.prof.edge_clearance:
        return _skip("edge-clearance", c.no_rule)
    s, level = c.facts.srgb8, c.config.edge_dark_level
    border = np.concatenate([s[0], s[-1], s[1:-1, 0], s[1:-1, -1]])
    dark = int((channel_min(border) < level).sum())
    sides = [name for name, line in (("top", s[0]), ("bottom", s[-1]), ("left", s[:, 0]), ("right", s[:, -1]))
             if (channel_min(line) < level).any()]
    return _result("edge-clearance", bool(dark), dark, 0,
                   f"{dark} non-white border pixels (a product or shadow cut by the frame edge at the "
                   f"{', '.join(sides)})")


def _rule_safe_zone(c: _RuleContext) -> RuleResult:
    zone, box = c.prof.safe_zone, c.box
    if zone is None:
        return _skip("safe-zone", c.no_rule)
    sx0, sy0, sx1, sy1 = zone.box(*c.facts.size)
    if box is None:
        return RuleResult("safe-zone", "pass", "no product", [sx0, sy0, sx1, sy1])
    over = {"top": sy0 - box[1], "bottom": box[3] - sy1, "left": sx0 - box[0], "right": box[2] - sx1}
    over = {k: int(v) for k, v in over.items() if v > 0}
    return _result("safe-zone", bool(over), over or 0, [sx0, sy0, sx1, sy1],
                   "the product reaches into the bands kept free for the interface: "
                   + ", ".join(f"{v} px at the {k}" for k, v in over.items()))


def _rule_text(c: _RuleContext) -> RuleResult:
    if c.prof.text_allowed:
        return _skip("text", f"{c.prof.name} allows text")
    found, how_read = _find_added_text(c.facts, c.box_mask, c.support, c.how, c.config)
    c.details["text_lines"] = found
    offending = [f for f in found if f["where"] != "product"]
    msg = how_read
    if offending:
        msg = "; ".join(f"'{f['text']}' " + ("in the background" if f["where"] == "background" else
                                              "across the product's outline (watermark or sticker)")
                        for f in offending)
    return RuleResult("text", "fail" if offending else "pass", len(offending), 0, msg)


_RULE_CHECKS = {
    "format": _rule_format, "longest-side": _rule_longest_side, "shortest-side": _rule_shortest_side,
    "recommended-size": _rule_recommended_size, "pixels": _rule_pixels, "aspect": _rule_aspect,
    "file-size": _rule_file_size, "colour-space": _rule_colour_space, "transparency": _rule_transparency,
    "jpeg-quality": _rule_jpeg_quality, "background": _rule_background, "fill": _rule_fill,
    "edge-clearance": _rule_edge_clearance, "safe-zone": _rule_safe_zone, "text": _rule_text,
}
assert tuple(_RULE_CHECKS) == RULES

__all__ = ["LAYOUT_RULES", "RULES", "STATUSES", "CheckConfig", "ComplianceReport", "ImageFacts", "RuleResult", "check_image",
           "codec_margin", "estimate_jpeg_quality", "estimate_product_region", "product_fill", "read_facts",
           "read_frame_text"]
