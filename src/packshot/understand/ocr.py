"""Label text with PP-OCR (``rapidocr`` 3.x, PP-OCRv6 weights shipped in the wheel).

:func:`read_text` reads the product (or a whole image) in any of the four right-angle
orientations. PP-OCR's detector finds text lines in any orientation, turns tall line crops
upright and its line classifier flips upside-down lines, so one pass reads most turned photos.
When the first reading still looks turned (many lines taller than wide, few characters read
with confidence, low mean confidence) and something was detected, the image is read again
turned: a photo whose lines the classifier mostly flipped is read again turned by 180 degrees;
one with mostly sideways lines is read turned by 90 degrees, and by 270 too when the classifier
flips most lines of that reading; a weak reading is retried at 180, then 90 degrees. Every line
is mapped back to the original pixel grid, and where readings of the same place overlap the
heavier one (confidence squared x length) stays. When nothing is detected at all the image is
read once more a quarter turned (the detector misses small sideways print): a textless image
costs two passes.

One OCR engine is created lazily per process (loading the networks takes ~0.3 s) and reused;
calls are serialised by a lock because the engine keeps per-call state.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from ..errors import InputError, require
from ..imaging import linear_to_srgb8
from ..types import TextLine

_ENGINE = None
_ENGINE_LOCK = threading.Lock()


@dataclass(frozen=True)
class OcrConfig:
    """How :func:`read_text` reads.

    Attributes
    ----------
    max_side : int
        The product crop is shrunk so its longest side is at most this (speed; label text stays legible).
    min_side : int
        Smaller crops are enlarged to this longest side so small print reaches the recogniser's size.
    min_confidence : float
        Lines read with lower confidence are dropped.
    rotations : bool
        Also read the image turned by 90 / 180 / 270 degrees when the first reading looks rotated or weak.
    margin : float
        Margin around the product's box, as a share of the box's longest side.
    mask_outside : bool
        Grey out the pixels outside the product (so text of a new scene or a shop shelf does not
        count). Off reads the product's whole box as photographed: tolerant of a cut-out that
        misses part of the label.
    """

    max_side: int = 1280
    min_side: int = 640
    min_confidence: float = 0.5
    rotations: bool = True
    margin: float = 0.03
    mask_outside: bool = True


class _RecordingClassifier:
    """Wraps PP-OCR's line-orientation classifier and keeps its last decisions.

    A photo whose lines the classifier mostly flips by 180 degrees is upside down: it is then
    read again turned the right way up (the detector also finds more lines on upright text).
    """

    def __init__(self, inner):
        self.inner = inner
        self.last: list = []

    def __call__(self, images):
        out = self.inner(images)
        self.last = list(getattr(out, "cls_res", None) or [])
        return out

    def __getattr__(self, name):
        return getattr(self.inner, name)


def engine():
    """The process-wide RapidOCR engine (created on first use)."""
    global _ENGINE
    if _ENGINE is None:
        with _ENGINE_LOCK:
            if _ENGINE is None:
                rapidocr = require("rapidocr", "understand", "label text (OCR)")
                import logging

                # The detector sees the crop at the size read_text prepared (limit "max" only
                # shrinks): the default "min 736" would upscale every small crop again.
                eng = rapidocr.RapidOCR(params={"Global.log_level": "error", "Det.limit_type": "max",
                                                "Det.limit_side_len": 1600})
                logging.getLogger("RapidOCR").setLevel(logging.ERROR)
                loader = getattr(eng, "_load_cls_model", None)
                if loader is not None:  # rapidocr 3.x: record which lines the classifier flipped
                    eng.text_cls = _RecordingClassifier(loader())
                _ENGINE = eng
    return _ENGINE


def engine_info() -> dict:
    """Provenance of the OCR models: package version and model names."""
    import importlib.metadata as md

    try:
        version = md.version("rapidocr")
    except md.PackageNotFoundError:  # pragma: no cover
        version = "unknown"
    return {"package": "rapidocr", "version": version, "det": "PP-OCRv6_det_small",
            "rec": "PP-OCRv6_rec_small", "cls": "ch_ppocr_mobile_v2.0_cls"}


# ---------------------------------------------------------------------------------------------
# orientation handling
# ---------------------------------------------------------------------------------------------
def _rotate(img: np.ndarray, degrees: int) -> np.ndarray:
    """Turn an image clockwise by 0, 90, 180 or 270 degrees."""
    return np.ascontiguousarray(np.rot90(img, k=-(degrees // 90) % 4))


def _unrotate_points(points: np.ndarray, degrees: int, width: int, height: int) -> np.ndarray:
    """Map (x, y) points of an image turned clockwise by ``degrees`` back to the original
    ``width`` x ``height`` image (continuous pixel coordinates)."""
    x, y = points[:, 0], points[:, 1]
    if degrees == 0:
        return points
    if degrees == 90:  # rotated (x', y') = (H - y, x)
        return np.stack([y, height - x], axis=1)
    if degrees == 180:
        return np.stack([width - x, height - y], axis=1)
    if degrees == 270:  # rotated (x', y') = (y, W - x)
        return np.stack([width - y, x], axis=1)
    raise ValueError(f"degrees must be 0, 90, 180 or 270, got {degrees}")


@dataclass(frozen=True)
class _Reading:
    text: str
    polygon: np.ndarray  # 4 x 2, original crop coordinates
    confidence: float
    vertical: bool  # taller than wide in the frame it was read in

    @property
    def weight(self) -> float:
        # confident long readings win; squaring keeps a long low-confidence garble from winning
        return self.confidence**2 * len(self.text.strip())


def _run(img_bgr: np.ndarray, degrees: int, min_conf: float) -> tuple[list[_Reading], int, float]:
    """Read the image turned by ``degrees``.

    Returns the kept readings, how many lines of 2+ glyphs were detected, and the share of
    detected lines the line classifier turned upside down.
    """
    h, w = img_bgr.shape[:2]
    turned = _rotate(img_bgr, degrees)
    eng = engine()
    with _ENGINE_LOCK:
        recorder = getattr(eng, "text_cls", None)
        if isinstance(recorder, _RecordingClassifier):
            recorder.last = []
        result = eng(turned)
        decisions = list(recorder.last) if isinstance(recorder, _RecordingClassifier) else []
    flipped = (sum(1 for label, score in decisions if "180" in str(label) and float(score) > 0.9)
               / len(decisions) if decisions else 0.0)
    boxes = getattr(result, "boxes", None)
    txts = getattr(result, "txts", None)
    scores = getattr(result, "scores", None)
    if boxes is None or txts is None or scores is None:
        return [], 0, flipped
    out = []
    for box, text, score in zip(boxes, txts, scores):
        text = str(text).strip()
        if not text or float(score) < min_conf:
            continue
        if len(text) == 1 and float(score) < 0.9:
            continue  # a lone glyph read without certainty is usually a shape (a round cap reads "O")
        poly = np.asarray(box, np.float64).reshape(-1, 2)[:4]
        side_w = np.linalg.norm(poly[1] - poly[0])
        side_h = np.linalg.norm(poly[3] - poly[0])
        out.append(_Reading(text, _unrotate_points(poly, degrees, w, h), float(score),
                            vertical=bool(side_h > 1.5 * side_w and len(text) > 1)))
    # lines of two or more glyphs, however badly read: turned text reads as garble, not as nothing
    return out, sum(1 for t in txts if len(str(t).strip()) >= 2), flipped


def _vertical_share(readings: list[_Reading]) -> float:
    chars = sum(len(r.text) for r in readings)
    return sum(len(r.text) for r in readings if r.vertical) / chars if chars else 0.0


def _looks_weak(readings: list[_Reading]) -> bool:
    """True when the reading looks like rotated text: sideways lines, or little read with confidence."""
    chars = sum(len(r.text) for r in readings)
    if chars == 0:
        return True
    confident = sum(len(r.text) for r in readings if r.confidence >= 0.8)
    mean_conf = sum(r.confidence * len(r.text) for r in readings) / chars
    return _vertical_share(readings) > 0.3 or confident < 4 or mean_conf < 0.75


def _box(poly: np.ndarray) -> tuple[float, float, float, float]:
    return float(poly[:, 0].min()), float(poly[:, 1].min()), float(poly[:, 0].max()), float(poly[:, 1].max())


def _overlap(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over the smaller of two polygons' axis-aligned boxes."""
    ax0, ay0, ax1, ay1 = _box(a)
    bx0, by0, bx1, by1 = _box(b)
    iw = max(0.0, min(ax1, bx1) - max(ax0, bx0))
    ih = max(0.0, min(ay1, by1) - max(ay0, by0))
    smaller = min((ax1 - ax0) * (ay1 - ay0), (bx1 - bx0) * (by1 - by0))
    return iw * ih / smaller if smaller > 0 else 0.0


def _merge(passes: list[list[_Reading]]) -> list[_Reading]:
    """Union of the passes; where readings of the same place overlap, the heavier one stays
    (on a near tie, the one from the earlier pass)."""
    pool = [(r.weight * (1.0 - 0.02 * i), i, r) for i, p in enumerate(passes) for r in p]
    pool.sort(key=lambda t: (-t[0], t[1]))
    kept: list[_Reading] = []
    for _, _, r in pool:
        if all(_overlap(r.polygon, k.polygon) < 0.5 for k in kept):
            kept.append(r)
    return kept


# ---------------------------------------------------------------------------------------------
# public
# ---------------------------------------------------------------------------------------------
def read_text(rgb_linear: np.ndarray, alpha: np.ndarray | None = None,
              config: OcrConfig = OcrConfig()) -> tuple[TextLine, ...]:
    """Read the text lines on a product (or a whole image).

    Parameters
    ----------
    rgb_linear : ndarray
        float32 H x W x 3 linear-light image in [0, 1].
    alpha : ndarray, optional
        float32 H x W product alpha in [0, 1]: only the product's box is read, and (with
        ``config.mask_outside``) pixels outside the product are replaced by mid grey so
        backdrop text does not count.
    config : OcrConfig

    Returns
    -------
    tuple of TextLine
        Lines in reading order (top to bottom, then left to right, in the original frame);
        polygons are 4 corners in pixels of ``rgb_linear``, clockwise. For lines read from a
        turned pass (sideways or upside-down photos) the first corner is the text's own top-left
        mapped back (an upside-down line starts at its lower right in the image); a line PP-OCR
        turned by itself starts at its top-left corner in the image. An image without text
        gives an empty tuple.
    """
    import cv2

    rgb = np.asarray(rgb_linear)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise InputError("rgb_linear", f"expected an H x W x 3 image, got shape {rgb.shape}")
    h, w = rgb.shape[:2]
    x0, y0, x1, y1 = 0, 0, w, h
    if alpha is not None:
        a = np.asarray(alpha, np.float32)
        if a.shape != (h, w):
            raise InputError("alpha", f"alpha is {a.shape}, image is {(h, w)}")
        m = a > 0.5
        if not m.any():
            return ()
        rows, cols = np.flatnonzero(m.any(axis=1)), np.flatnonzero(m.any(axis=0))
        pad = int(round(config.margin * max(rows[-1] - rows[0], cols[-1] - cols[0]))) + 2
        y0, y1 = max(rows[0] - pad, 0), min(rows[-1] + 1 + pad, h)
        x0, x1 = max(cols[0] - pad, 0), min(cols[-1] + 1 + pad, w)
        crop = rgb[y0:y1, x0:x1]
        if config.mask_outside:
            ac = a[y0:y1, x0:x1, None]
            grey = np.float32(0.2140)  # sRGB 0.5 in linear light
            crop = crop * ac + grey * (1.0 - ac)
    else:
        crop = rgb
    ch, cw = crop.shape[:2]
    if min(ch, cw) < 8:
        return ()
    longest = max(ch, cw)
    scale = 1.0
    if longest > config.max_side:
        scale = config.max_side / longest
    elif longest < config.min_side:
        scale = config.min_side / longest
    srgb8 = linear_to_srgb8(np.clip(crop, 0.0, 1.0), dither=False)
    sx = sy = 1.0
    if scale != 1.0:
        size = (max(int(round(cw * scale)), 1), max(int(round(ch * scale)), 1))
        srgb8 = cv2.resize(srgb8, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
        sx, sy = size[0] / cw, size[1] / ch
    bgr = np.ascontiguousarray(srgb8[..., ::-1])

    first, detected, flipped = _run(bgr, 0, config.min_confidence)
    passes = [first]
    if not config.rotations:
        pass
    elif not detected:
        # The detector misses small sideways print: one quarter turn, then as below. A textless
        # image costs two passes.
        quarter, found, flipped_quarter = _run(bgr, 90, config.min_confidence)
        if found and flipped_quarter > 0.5:
            passes.append(_run(bgr, 270, config.min_confidence)[0])
        passes.append(quarter)
    elif flipped > 0.5:
        # upside down: read it the right way up, and prefer those readings (their polygons
        # start at the text's own top-left; the detector also finds more upright lines)
        passes.insert(0, _run(bgr, 180, config.min_confidence)[0])
    elif _vertical_share(first) > 0.3:
        # Sideways photo: turn it a quarter clockwise. If the classifier then flips most
        # lines, the photo was turned the other way: read it a quarter anticlockwise too,
        # and prefer that upright reading.
        quarter, _, flipped_quarter = _run(bgr, 90, config.min_confidence)
        if flipped_quarter > 0.5:
            passes.append(_run(bgr, 270, config.min_confidence)[0])
        passes.append(quarter)
    elif _looks_weak(first):
        for degrees in (180, 90):
            passes.append(_run(bgr, degrees, config.min_confidence)[0])
            if not _looks_weak(_merge(passes)):
                break
    readings = _merge(passes)

    lines = []
    for r in readings:
        poly = np.stack([r.polygon[:, 0] / sx + x0, r.polygon[:, 1] / sy + y0], axis=1)
        poly[:, 0] = np.clip(poly[:, 0], 0, w)
        poly[:, 1] = np.clip(poly[:, 1], 0, h)
        lines.append(TextLine(text=r.text, polygon=tuple((round(float(px), 2), round(float(py), 2)) for px, py in poly),
                              confidence=round(r.confidence, 4)))
    lines.sort(key=lambda t: (round(t.box[1] / max(h / 40.0, 1.0)), t.box[0]))
    return tuple(lines)
