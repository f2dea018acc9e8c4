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

Second pass (``OcrConfig.second_pass``), when the crop was shrunk to ``max_side`` for the first
pass: lines that are small (under ``small_text_px`` high in the
prepared crop), read with confidence under 0.9, or read as CJK glyphs (blurred small Latin print
comes out as CJK look-alikes) are read again: a padded region around each (touching ones merged,
at most ``max_regions``, least certain first) is cut from the crop at the photo's own resolution,
so print the shrink to ``max_side`` made illegible gets its pixels back, and enlarged until the
line is about 40 px high (at most 4x). A low-resolution crop (enlarged to ``min_side``) is also
read whole at twice that size. The new readings compete with the first ones by weight.

Contrast pass (``OcrConfig.contrast_pass``, the understand stage's only: QA's reading cost is
unchanged): a crop read with fewer than ``contrast_min_glyphs`` confident Latin letters or digits
is read again with its local contrast raised (CLAHE on the luminance), in the turns the rules above
pick plus the leading turn's opposite; faint print (light grey on white) the detector missed at the
photo's own contrast. A clearly read label never pays for it.

Lexicon (``OcrConfig.lexicon``, the master artwork's words when a master is given): a read word
one edit away from exactly one lexicon word is snapped to it (:func:`snap_to_lexicon`): nothing
is added, numbers are never touched. QA does not use it: QA must see a changed word.

Second reader (``OcrConfig.second_reader="tesseract"``, the understand stage's only: QA reads with
PP-OCR alone): Debian's Tesseract reads the same box and its words join the reading only under the
strict rules of :mod:`packshot.ops.tesseract` (:func:`second_reading`, the last step of
:func:`read_text`).

One OCR engine is created lazily per process (loading the networks takes ~0.3 s) and reused;
calls are serialised by a lock because the engine keeps per-call state.
"""

from __future__ import annotations

import re
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

    second_pass : bool
        Read small or uncertain text regions again at a larger scale (see :func:`read_text`).
    small_text_px : float
        A line whose height (in the prepared crop) is below this is "small" and read again.
    max_regions : int
        At most this many regions are read again per call (the least certain first): bounds the cost.
    lexicon : tuple of str
        Words known to be on the product (the master artwork's words, when a master is given).
        A read word one edit away from exactly one lexicon word is snapped to it under the strict
        rule of :func:`snap_to_lexicon`; nothing is ever added.
    contrast_pass : bool
        When the reading is weak (fewer than ``contrast_min_glyphs`` Latin letters or digits read
        with confidence >= 0.8), read the crop again with its local contrast raised (CLAHE on
        the luminance): faint print (light grey on white, embossed, glare) that the detector
        misses at the photo's own contrast. Off by default, so QA's reading costs what it did;
        the understand stage turns it on.
    contrast_min_glyphs : int
        See ``contrast_pass``.
    second_reader : str or None
        ``"tesseract"``: after PP-OCR, Tesseract (Debian ``tesseract-ocr`` + ``tesseract-ocr-eng``)
        reads the product's box in the orientation PP-OCR found, and its words join the reading
        only under the rules of :mod:`packshot.ops.tesseract` (confident, word-like, on a line
        PP-OCR read and close to its reading, or a lexicon word; never digits). None (the
        default, QA's reader): PP-OCR alone. A missing binary gives one warning and PP-OCR alone.
    second_min_confidence : float
        Least Tesseract word confidence (0-100) a second-reader word needs.
    """

    max_side: int = 1280
    min_side: int = 640
    min_confidence: float = 0.5
    rotations: bool = True
    margin: float = 0.03
    mask_outside: bool = True
    second_pass: bool = True
    small_text_px: float = 30.0
    max_regions: int = 6
    lexicon: tuple[str, ...] = ()
    contrast_pass: bool = False
    contrast_min_glyphs: int = 12
    second_reader: str | None = None
    second_min_confidence: float = 85.0


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


_THREADS: list[int] = [0]  # onnxruntime intra-op threads of the engine (0: the library default)


def set_threads(threads: int) -> None:
    """onnxruntime intra-op threads of the process's OCR engine (0: the library default, one per
    core). A catalogue worker is one process on one core and asks for 1: a second intra-op thread
    there only competes with the other worker, and onnxruntime's waiting threads spin (about half
    of OCR's CPU time on 2 cores). The readings are the same bytes with any count (the networks'
    sums are split between threads by output, never within one). An engine made with another
    count is dropped, so the next :func:`engine` call makes one with this count."""
    global _ENGINE
    threads = max(0, int(threads))
    with _ENGINE_LOCK:
        if threads != _THREADS[0]:
            _THREADS[0] = threads
            _ENGINE = None


def engine():
    """The process-wide RapidOCR engine (created on first use)."""
    global _ENGINE
    if _ENGINE is None:
        with _ENGINE_LOCK:
            if _ENGINE is None:
                rapidocr = require("rapidocr", None, "label text (OCR)")
                import logging

                # The detector sees the crop at the size read_text prepared (limit "max" only
                # shrinks): the default "min 736" would upscale every small crop again.
                params = {"Global.log_level": "error", "Det.limit_type": "max", "Det.limit_side_len": 1600}
                if _THREADS[0]:
                    params["EngineConfig.onnxruntime.intra_op_num_threads"] = _THREADS[0]
                eng = rapidocr.RapidOCR(params=params)
                logging.getLogger("RapidOCR").setLevel(logging.ERROR)
                loader = getattr(eng, "_load_cls_model", None)
                if loader is not None:  # rapidocr 3.x: record which lines the classifier flipped
                    eng.text_cls = _RecordingClassifier(loader())
                _ENGINE = eng
    return _ENGINE


def second_reader_info(config: OcrConfig) -> dict | None:
    """Provenance of ``config.second_reader``: None when there is none; else its name and, when it
    can run, its binary, version and language data (``available: False`` when it cannot)."""
    if config.second_reader is None:
        return None
    from . import tesseract

    info = tesseract.available() if config.second_reader == "tesseract" else None
    return {"reader": config.second_reader, "available": info is not None, **(info or {}),
            "min_confidence": config.second_min_confidence}


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
    degrees: int = 0  # the turn of the pass that read it
    height: float = 0.0  # line height in pixels of the prepared crop

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
                            vertical=bool(side_h > 1.5 * side_w and len(text) > 1), degrees=degrees,
                            height=float(min(side_w, side_h))))
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
# second pass: small or uncertain text read again at a larger scale
# ---------------------------------------------------------------------------------------------
_REGION_LINE_PX = 40.0  # a region is enlarged so its line height comes near this
_MAX_REGION_SIDE = 1024  # ... within this longest side


def _uncertain(r: _Reading, small_px: float) -> bool:
    """Worth a second look: a small line, a line read without certainty, or one read as non-Latin
    glyphs (the recogniser turns small blurred Latin print into CJK look-alikes)."""
    return r.height < small_px or r.confidence < 0.9 or any(ord(c) >= 0x2E80 for c in r.text)


def _regions(readings: list[_Reading], shape: tuple[int, int], small_px: float, max_regions: int
             ) -> list[tuple[int, int, int, int, int, float]]:
    """Padded boxes (x0, y0, x1, y1, degrees, line height) around the uncertain readings, boxes of
    the same orientation that touch merged, the least certain first, at most ``max_regions``."""
    h, w = shape
    boxes = []
    for r in sorted(readings, key=lambda r: r.confidence):
        if not _uncertain(r, small_px):
            continue
        bx0, by0, bx1, by1 = _box(r.polygon)
        lh = max(r.height, 4.0)
        boxes.append([max(bx0 - 1.0 * lh, 0), max(by0 - 0.7 * lh, 0), min(bx1 + 1.0 * lh, w),
                      min(by1 + 0.7 * lh, h), r.degrees, lh])
    merged: list[list] = []
    for b in boxes:
        for m in merged:
            if m[4] == b[4] and b[0] < m[2] and m[0] < b[2] and b[1] < m[3] and m[1] < b[3]:
                m[:4] = [min(m[0], b[0]), min(m[1], b[1]), max(m[2], b[2]), max(m[3], b[3])]
                m[5] = min(m[5], b[5])
                break
        else:
            merged.append(b)
    return [(int(b[0]), int(b[1]), int(np.ceil(b[2])), int(np.ceil(b[3])), int(b[4]), float(b[5]))
            for b in merged[:max_regions]]


def _second_pass(bgr: np.ndarray, source: np.ndarray, readings: list[_Reading], config: OcrConfig
                 ) -> list[_Reading]:
    """Read the uncertain regions again at a larger scale, each in the orientation its line was
    read in. ``bgr`` is the prepared crop the readings are in; ``source`` the same crop at the
    photo's own resolution: regions are cut from it (a shrunk photo's small print gets its
    pixels back) and enlarged so the line is about 40 px high (at most 4x). Readings come back
    in the prepared crop's coordinates."""
    import cv2

    ph, pw = bgr.shape[:2]
    sh, sw = source.shape[:2]
    kx, ky = sw / pw, sh / ph  # prepared -> source pixels
    if min(kx, ky) < 1.2:
        # the first pass saw the photo's own pixels: enlarging them again gains nothing (the
        # recogniser scales every line to 48 px itself: on the benchmark photos, no word was gained)
        return []
    out: list[_Reading] = []
    for x0, y0, x1, y1, degrees, lh in _regions(readings, (ph, pw), config.small_text_px, config.max_regions):
        X0, Y0 = int(np.floor(x0 * kx)), int(np.floor(y0 * ky))
        X1, Y1 = min(int(np.ceil(x1 * kx)), sw), min(int(np.ceil(y1 * ky)), sh)
        if X1 - X0 < 8 or Y1 - Y0 < 8:
            continue
        line_src = lh * ky
        factor = float(np.clip(_REGION_LINE_PX / max(line_src, 1.0), 1.0, 4.0))
        factor = min(factor, _MAX_REGION_SIDE / max(X1 - X0, Y1 - Y0))
        region = source[Y0:Y1, X0:X1]
        size = (max(int(round((X1 - X0) * factor)), 1), max(int(round((Y1 - Y0) * factor)), 1))
        up = region if size == (X1 - X0, Y1 - Y0) else cv2.resize(region, size, interpolation=cv2.INTER_CUBIC)
        up = np.ascontiguousarray(up)
        fx, fy = size[0] / (X1 - X0), size[1] / (Y1 - Y0)
        for r in _run(up, degrees, config.min_confidence)[0]:
            poly = np.stack([(r.polygon[:, 0] / fx + X0) / kx, (r.polygon[:, 1] / fy + Y0) / ky], axis=1)
            out.append(_Reading(r.text, poly, r.confidence, r.vertical, degrees, r.height / (fy * ky)))
    return out


def _enlarged_pass(bgr: np.ndarray, readings: list[_Reading], config: OcrConfig) -> list[_Reading]:
    """The whole crop read at 2x (longest side at most ``2 * config.min_side``) in the
    orientation that carries most of the text read so far."""
    import cv2

    h, w = bgr.shape[:2]
    factor = min(2.0, 2 * config.min_side / max(h, w))
    if factor < 1.2:
        return []
    votes: dict[int, float] = {}
    for r in readings:
        votes[r.degrees] = votes.get(r.degrees, 0.0) + r.weight
    degrees = max(votes, key=lambda d: (votes[d], -d))
    size = (int(round(w * factor)), int(round(h * factor)))
    up = np.ascontiguousarray(cv2.resize(bgr, size, interpolation=cv2.INTER_CUBIC))
    fx, fy = size[0] / w, size[1] / h
    return [_Reading(r.text, np.stack([r.polygon[:, 0] / fx, r.polygon[:, 1] / fy], axis=1), r.confidence,
                     r.vertical, degrees, r.height / factor)
            for r in _run(up, degrees, config.min_confidence)[0]]


def _confident_glyphs(readings: list[_Reading]) -> int:
    """Latin letters and digits read with confidence >= 0.8 (CJK look-alikes of blurred print do
    not count)."""
    return sum(sum(1 for c in r.text if c.isascii() and c.isalnum()) for r in readings if r.confidence >= 0.8)


CONTRAST_MIN_LINE_GLYPHS = 2
"""Least Latin letters and digits a line read by the contrast pass must have to be kept. Raised
local contrast also turns shapes into glyphs: the stem and bowl of a wine glass on black read as
one "1" at confidence 0.95 with its box over the whole glass, which then locked the glass opaque
(label text is kept opaque by the see-through stage). Faint print comes in words."""


def _local_contrast(bgr: np.ndarray) -> np.ndarray:
    """The crop's luminance with its local contrast raised (CLAHE, clip 2, 8 x 8 tiles), as BGR."""
    import cv2

    grey = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    return np.ascontiguousarray(cv2.cvtColor(cv2.createCLAHE(2.0, (8, 8)).apply(grey), cv2.COLOR_GRAY2BGR))


# ---------------------------------------------------------------------------------------------
# lexicon (the master artwork's words)
# ---------------------------------------------------------------------------------------------
_WORD = re.compile(r"[^\W\d_]+")


def _edit_distance_at_most_one(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` differ by at most one substitution, insertion or deletion."""
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    if len(a) == len(b):
        return a[i + 1:] == b[i + 1:]
    return a[i:] == b[i + 1:]


def lexicon_words(text: str) -> tuple[str, ...]:
    """The distinct words (letters only, case-folded, 4+ letters) of a text: a lexicon from a
    master's label text."""
    return tuple(sorted({w.casefold() for w in _WORD.findall(text) if len(w) >= 4}))


def master_lexicon(master_rgb_linear: np.ndarray, config: OcrConfig = OcrConfig()) -> tuple[str, ...]:
    """The lexicon of a master artwork: the words (4+ letters) :func:`read_text` reads on it."""
    lines = read_text(master_rgb_linear, None, OcrConfig(**{**config.__dict__, "lexicon": ()}))
    return lexicon_words(" ".join(line.text for line in lines))


def snap_to_lexicon(text: str, confidence: float, lexicon) -> str:
    """Correct near-miss words of one read line to the lexicon, under a strict rule.

    A word (a run of letters; tokens with digits are never touched, so a changed number is never
    hidden) of 4+ letters that is not itself in the lexicon becomes lexicon word ``L`` only when
    ``L`` is the one and only lexicon word at most one edit away (a letter changed or missed;
    never a letter too many, which may be a neighbouring word run in: "VitaminE" stays) and the
    line was read with confidence >= 0.6. Nothing is added or removed: the line
    keeps its words, and a word far from every lexicon word is kept as read. The snapped word
    takes the read word's case pattern.
    """
    if not lexicon or confidence < _SNAP_MIN_CONFIDENCE:
        return text
    lex = {w.casefold() for w in lexicon if len(w) >= 4 and w.isalpha()}
    if not lex:
        return text

    def fix(m: re.Match) -> str:
        word = m.group(0)
        low = word.casefold()
        if len(low) < 4 or low in lex:
            return word
        # the read word may miss a letter or have one wrong, never have one too many: an extra
        # letter is as likely a neighbouring glyph or word ("VitaminE") as a misread
        near = [w for w in lex if len(w) >= len(low) and _edit_distance_at_most_one(low, w)]
        if len(near) != 1:
            return word
        target = near[0]
        if word.isupper():
            return target.upper()
        if word[:1].isupper():
            return target[:1].upper() + target[1:]
        return target

    return _WORD.sub(fix, text)


_SNAP_MIN_CONFIDENCE = 0.6


# ---------------------------------------------------------------------------------------------
# public
# ---------------------------------------------------------------------------------------------
MIN_READ_SIDE = 8
"""A crop with a side shorter than this (px) is not read."""
MASK_GREY = 0.2140
"""Mid grey (sRGB 0.5 in linear light) that replaces pixels outside the product."""
CROP_PAD_PX = 2
"""Pixels added around the product's box beyond ``OcrConfig.margin``."""
FLIPPED_SHARE = 0.5
"""A pass whose lines the classifier flips more often than this was read the wrong way round."""
VERTICAL_SHARE = 0.3
"""A first pass with more than this share of vertical lines reads a sideways photo."""
READING_ROWS = 40.0
"""Lines are ordered in this many bands of the image height (top to bottom, then left to right)."""


def _product_crop(rgb: np.ndarray, alpha: np.ndarray | None, config: OcrConfig
                  ) -> tuple[np.ndarray, int, int] | None:
    """The part of ``rgb`` that is read, and its top-left corner: the product's box plus a margin (the
    backdrop outside the product greyed when ``config.mask_outside``); None for an empty alpha."""
    h, w = rgb.shape[:2]
    if alpha is None:
        return rgb, 0, 0
    a = np.asarray(alpha, np.float32)
    if a.shape != (h, w):
        raise InputError("alpha", f"alpha is {a.shape}, image is {(h, w)}")
    m = a > 0.5
    if not m.any():
        return None
    rows, cols = np.flatnonzero(m.any(axis=1)), np.flatnonzero(m.any(axis=0))
    pad = int(round(config.margin * max(rows[-1] - rows[0], cols[-1] - cols[0]))) + CROP_PAD_PX
    y0, y1 = max(rows[0] - pad, 0), min(rows[-1] + 1 + pad, h)
    x0, x1 = max(cols[0] - pad, 0), min(cols[-1] + 1 + pad, w)
    crop = rgb[y0:y1, x0:x1]
    if config.mask_outside:
        ac = a[y0:y1, x0:x1, None]
        grey = np.float32(MASK_GREY)  # sRGB 0.5 in linear light
        crop = crop * ac + grey * (1.0 - ac)
    return crop, x0, y0


def ocr_images(crop: np.ndarray, config: OcrConfig) -> tuple[np.ndarray, np.ndarray, float, float, float]:
    """The crop as 8-bit BGR for the engine, resized into ``min_side``..``max_side``; also the crop at
    its own resolution, the scale and the x / y factors from crop to engine pixels."""
    import cv2

    ch, cw = crop.shape[:2]
    longest = max(ch, cw)
    scale = 1.0
    if longest > config.max_side:
        scale = config.max_side / longest
    elif longest < config.min_side:
        scale = config.min_side / longest
    srgb8 = linear_to_srgb8(np.clip(crop, 0.0, 1.0), dither=False)
    source = np.ascontiguousarray(srgb8[..., ::-1])  # the crop at the photo's own resolution (BGR)
    sx = sy = 1.0
    if scale != 1.0:
        size = (max(int(round(cw * scale)), 1), max(int(round(ch * scale)), 1))
        srgb8 = cv2.resize(srgb8, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
        sx, sy = size[0] / cw, size[1] / ch
    bgr = np.ascontiguousarray(srgb8[..., ::-1])
    return bgr, source, scale, sx, sy


def _read_turns(bgr: np.ndarray, scale: float, config: OcrConfig, faint: bool = False) -> list[_Reading]:
    """Read the image upright and, where the first pass says the photo is turned (or reads weakly), in
    the turns that fix it; the readings merged, the preferred turn first. ``faint``: the image is
    faint print raised in contrast, whose line turns the classifier guesses: the turn that reads
    the most is also read the opposite way round, and the heavier reading of each line stays."""

    done: dict[int, tuple] = {}

    def run(degrees, min_conf):
        if degrees not in done:
            done[degrees] = _run(bgr, degrees, min_conf)
        return done[degrees]

    first, detected, flipped = run(0, config.min_confidence)
    passes = [first]
    if not config.rotations:
        pass
    elif not detected:
        # The detector misses small sideways print: one quarter turn, then as below. A textless
        # image costs two passes.
        quarter, found, flipped_quarter = run(90, config.min_confidence)
        if found and flipped_quarter > FLIPPED_SHARE:
            passes.append(run(270, config.min_confidence)[0])
        passes.append(quarter)
    elif flipped > FLIPPED_SHARE:
        # upside down: read it the right way up, and prefer those readings (their polygons
        # start at the text's own top-left; the detector also finds more upright lines)
        passes.insert(0, run(180, config.min_confidence)[0])
    elif _vertical_share(first) > VERTICAL_SHARE:
        # Sideways photo: turn it a quarter clockwise. If the classifier then flips most
        # lines, the photo was turned the other way: read it a quarter anticlockwise too,
        # and prefer that upright reading.
        quarter, _, flipped_quarter = run(90, config.min_confidence)
        if flipped_quarter > FLIPPED_SHARE:
            passes.append(run(270, config.min_confidence)[0])
        passes.append(quarter)
    elif _looks_weak(first):
        for degrees in (180, 90):
            passes.append(run(degrees, config.min_confidence)[0])
            if not _looks_weak(_merge(passes)):
                break
    if config.rotations and config.second_pass and scale > 1.0 and detected:
        # A low-resolution product (cheap to read): every turn is read and the one that reads
        # the most (confidence squared x length) leads; the heuristics above miss turned
        # low-resolution labels whose lines come out as confident garble.
        for degrees in (0, 90, 180, 270):
            run(degrees, config.min_confidence)
        best = max(done, key=lambda d: (sum(r.weight for r in done[d][0]), -d))
        if not any(p is done[best][0] for p in passes):
            passes.insert(0, done[best][0])
    if faint and config.rotations and detected:
        lead = max(done, key=lambda d: (sum(r.weight for r in done[d][0]), -d))
        if (lead + 180) % 360 not in done:
            passes.append(run((lead + 180) % 360, config.min_confidence)[0])
    return _merge(passes)


SECOND_READERS = ("tesseract",)


def second_reading(rgb_linear: np.ndarray, alpha: np.ndarray | None, lines: tuple[TextLine, ...],
                   config: OcrConfig) -> tuple[TextLine, ...]:
    """``lines`` (PP-OCR's reading of this image, as :func:`read_text` returns it without a second
    reader) plus the words ``config.second_reader`` reads that pass its merge rules, in reading
    order. The lines themselves are unchanged. Without a second reader, or when it is not
    installed, or when PP-OCR read nothing and there is no lexicon: ``lines`` as given."""
    if config.second_reader is None:
        return tuple(lines)
    if config.second_reader not in SECOND_READERS:
        raise InputError("second_reader", f"unknown second OCR reader {config.second_reader!r}; "
                         f"one of {SECOND_READERS} or None")
    if not lines and not config.lexicon:
        return tuple(lines)
    from . import tesseract

    if tesseract.available() is None:
        return tuple(lines)
    rgb = np.asarray(rgb_linear)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise InputError("rgb_linear", f"expected an H x W x 3 image, got shape {rgb.shape}")
    h, w = rgb.shape[:2]
    found = _product_crop(rgb, alpha, config)
    if found is None or min(found[0].shape[:2]) < MIN_READ_SIDE:
        return tuple(lines)
    crop, x0, y0 = found
    import cv2

    srgb8 = linear_to_srgb8(np.clip(crop, 0.0, 1.0), dither=False)
    ch, cw = srgb8.shape[:2]
    s = min(1.0, tesseract.MAX_SIDE / max(ch, cw))
    if s < 1.0:
        srgb8 = cv2.resize(srgb8, (max(int(round(cw * s)), 1), max(int(round(ch * s)), 1)),
                           interpolation=cv2.INTER_AREA)
    sx, sy = srgb8.shape[1] / cw, srgb8.shape[0] / ch
    bgr = np.ascontiguousarray(srgb8[..., ::-1])
    degrees = tesseract.reading_degrees(lines)
    words = tesseract.read_words(bgr, degrees)
    if tesseract.confident_words(words, config.second_min_confidence) < tesseract.WEAK_WORDS:
        # PP-OCR's line classifier turns upside-down lines by itself, and their corners then
        # say "upright": a weak reading is read again the opposite way round
        words += tesseract.read_words(bgr, (degrees + 180) % 360)
    words = [tesseract.Word(wd.text, wd.confidence,
                            np.stack([np.clip(wd.polygon[:, 0] / sx + x0, 0, w), np.clip(wd.polygon[:, 1] / sy + y0, 0, h)],
                                     axis=1)) for wd in words]
    # Tesseract's word list is unpacked (once per process) only when a word could use it
    dictionary = (tesseract.dictionary() if tesseract.confident_words(words, config.second_min_confidence)
                  else None)
    merged, _ = tesseract.merge_words(tuple(lines), words, config.lexicon, config.second_min_confidence, dictionary)
    return _reading_order(merged, h)


def _reading_order(lines, h: int) -> tuple[TextLine, ...]:
    return tuple(sorted(lines, key=lambda t: (round(t.box[1] / max(h / READING_ROWS, 1.0)), t.box[0])))


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
    rgb = np.asarray(rgb_linear)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise InputError("rgb_linear", f"expected an H x W x 3 image, got shape {rgb.shape}")
    h, w = rgb.shape[:2]
    found = _product_crop(rgb, alpha, config)
    if found is None:
        return ()
    crop, x0, y0 = found
    ch, cw = crop.shape[:2]
    if min(ch, cw) < MIN_READ_SIDE:
        return ()
    bgr, source, scale, sx, sy = ocr_images(crop, config)
    readings = _read_turns(bgr, scale, config)
    if config.contrast_pass and _confident_glyphs(readings) < config.contrast_min_glyphs:
        # little read with confidence: faint print (light grey on white) the detector missed at
        # the photo's own contrast; read once more with local contrast raised, in the turns the
        # same rules pick for that image, and the leading turn also the opposite way round
        # (the line classifier guesses the turn of small faint print)
        faint = [r for r in _read_turns(_local_contrast(bgr), scale, config, faint=True)
                 if sum(1 for c in r.text if c.isascii() and c.isalnum()) >= CONTRAST_MIN_LINE_GLYPHS]
        readings = _merge([readings, faint])
    if config.second_pass and readings:
        again = _second_pass(bgr, source, readings, config)
        if scale > 1.0:
            # a low-resolution product: its whole crop once more at twice the size, in the
            # orientation most text was read in (print too small for the detector at 1x)
            again += _enlarged_pass(bgr, readings, config)
        if again:
            readings = _merge([readings, again])

    lines = []
    for r in readings:
        text = snap_to_lexicon(r.text, r.confidence, config.lexicon) if config.lexicon else r.text
        poly = np.stack([r.polygon[:, 0] / sx + x0, r.polygon[:, 1] / sy + y0], axis=1)
        poly[:, 0] = np.clip(poly[:, 0], 0, w)
        poly[:, 1] = np.clip(poly[:, 1], 0, h)
        lines.append(TextLine(text=text, polygon=tuple((round(float(px), 2), round(float(py), 2)) for px, py in poly),
                              confidence=round(r.confidence, 4)))
    lines.sort(key=lambda t: (round(t.box[1] / max(h / READING_ROWS, 1.0)), t.box[0]))
    if config.second_reader is not None:
        return second_reading(rgb, alpha, tuple(lines), config)
    return tuple(lines)
