"""Label text: read the approved text and the frame's text with PP-OCR and align them token by token.

The approved text comes from the master artwork when there is one, else from the placed cut-out
(the source photo, as it should appear in the frame). Both are read by
:func:`packshot.understand.ocr.read_text`, split into tokens (numbers, words, ``%``), case-folded,
and aligned with :class:`difflib.SequenceMatcher`:

* ``missing`` -- an approved token the frame does not show;
* ``invented`` -- a frame token the approved text does not have;
* ``changed`` -- an approved token replaced by another (a pair in a replaced run);
* ``ok`` / ``fuzzy`` -- equal, or a word that differs only as OCR noise does (similarity >= the
  config's ``fuzzy_ratio``; never a number or unit).

Numbers and units (mg, %, ml, g, kcal, IU, ...) are critical: any of them missing, changed or
invented fails the frame. Other words send it to review.

OCR misreads small print now and then, differently on two images of the same print. So every
disagreement is checked against the pixels: the frame and the placed cut-out are compared under the
token, character cell by character cell (normalised cross-correlation of luminance, product pixels
only). Where every cell still correlates at ``unchanged_ncc`` or more, the print did not change and
the disagreement is reported as unconfirmed OCR noise, not as a defect. A changed digit drops its
own cell to ~0.6-0.94; unchanged print stays above ~0.98 after relighting. A token missing from the
frame with the approved text read from a master has no place in the frame to look at, so it always
counts.

Print at a product's size in a frame also correlates below that threshold without any change (a
glyph at the product's edge, 1 px strokes resampled), so every disagreement left is read a second
time: its line, cut from the frame and from the cut-out, enlarged to ~48 px (:func:`with_reread`).
Only a disagreement the second reading repeats (the same token, or a disagreement at the same place)
stands; a number the second reading does not read as a number there can only send the frame to review.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

import numpy as np

from ..types import TextLine

UNITS = frozenset({"mg", "mcg", "µg", "ug", "g", "kg", "ml", "l", "cl", "dl", "oz", "fl", "lb", "kcal", "kj",
                   "cal", "iu", "ie", "%", "caps", "mm", "cm"})
"""Units that make a token critical (case-folded)."""

_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+|%", re.UNICODE)


@dataclass(frozen=True)
class Token:
    """One word, number or unit, with the box (image pixels) of the line it was read on."""

    text: str
    box: tuple[float, float, float, float]
    confidence: float

    @property
    def critical(self) -> bool:
        return is_critical(self.text)


@dataclass(frozen=True)
class TokenDiff:
    """One aligned position: ``status`` is ok, fuzzy, missing, changed or invented."""

    status: str
    approved: str | None
    frame: str | None
    critical: bool
    frame_box: tuple[float, float, float, float] | None = None
    approved_box: tuple[float, float, float, float] | None = None
    print_similarity: float | None = None
    """Lowest per-character correlation of the frame's print with the cut-out's where this token sits
    (1 = unchanged); None when not measured."""
    confirmed: bool = True
    """False when OCR disagrees but the print under the token is unchanged from the cut-out (OCR noise)."""
    reread: tuple[str, str] | None = None
    """The token's line read again, enlarged, on the frame and on the cut-out (:func:`with_reread`);
    None when it was not read again."""


@dataclass(frozen=True)
class TextResult:
    """The text comparison.

    Attributes
    ----------
    source : "master" or "cutout": where the approved text was read.
    approved_text, frame_text : the lines read, joined by " / ".
    diffs : every aligned token.
    missing, changed, invented : counts of each confirmed disagreement (critical included).
    critical : how many of those involve a number or unit.
    unconfirmed : disagreements of OCR over print that did not change (not counted above).
    """

    source: str
    approved_text: str
    frame_text: str
    diffs: tuple[TokenDiff, ...]
    missing: int
    changed: int
    invented: int
    critical: int
    unconfirmed: int = 0


def is_critical(token: str) -> bool:
    """True for numbers and units: a changed dosage is a recall, not a typo."""
    t = token.casefold()
    return any(ch.isdigit() for ch in t) or t in UNITS


def tokenize(lines: tuple[TextLine, ...], offset: tuple[float, float] = (0.0, 0.0)) -> list[Token]:
    """Split lines (already in reading order) into case-folded tokens; each carries an approximate
    box: its line's box cut in proportion to character positions."""
    out: list[Token] = []
    for line in lines:
        x0, y0, x1, y1 = line.box
        n = max(len(line.text), 1)
        for m in _TOKEN.finditer(line.text):
            a, b = m.start() / n, m.end() / n
            box = (offset[0] + x0 + a * (x1 - x0), offset[1] + y0, offset[0] + x0 + b * (x1 - x0), offset[1] + y1)
            out.append(Token(m.group(0).casefold(), box, float(line.confidence)))
    return out


def align(approved: list[Token], frame: list[Token], fuzzy_ratio: float = 0.75) -> list[TokenDiff]:
    """Align two token lists (difflib), classifying every position."""
    sm = difflib.SequenceMatcher(a=[t.text for t in approved], b=[t.text for t in frame], autojunk=False)
    diffs: list[TokenDiff] = []
    for op, i1, i2, j1, j2 in sm.get_opcodes():
        if op == "equal":
            for a, b in zip(approved[i1:i2], frame[j1:j2]):
                diffs.append(TokenDiff("ok", a.text, b.text, a.critical, b.box, a.box))
            continue
        left, right = approved[i1:i2], frame[j1:j2]
        for k in range(max(len(left), len(right))):
            a = left[k] if k < len(left) else None
            b = right[k] if k < len(right) else None
            if a is not None and b is not None:
                crit = a.critical or b.critical
                similar = difflib.SequenceMatcher(a=a.text, b=b.text).ratio() >= fuzzy_ratio
                status = "fuzzy" if similar and not crit else "changed"
                diffs.append(TokenDiff(status, a.text, b.text, crit, b.box, a.box))
            elif a is not None:
                diffs.append(TokenDiff("missing", a.text, None, a.critical, None, a.box))
            else:
                diffs.append(TokenDiff("invented", None, b.text, b.critical, b.box, None))
    return diffs


def _ncc(a: np.ndarray, b: np.ndarray) -> float | None:
    a, b = a - a.mean(), b - b.mean()
    denom = float(np.sqrt((a @ a) * (b @ b)))
    if denom < 1e-6 or b.std() < 0.02:  # a flat cell (space, plain paper) says nothing
        return None
    return float(a @ b) / denom


def print_similarity(frame_rgb: np.ndarray, reference_rgb: np.ndarray, reference_alpha: np.ndarray, box,
                     n_chars: int = 1, pad: int = 1) -> float | None:
    """How unchanged the print under ``box`` is: the lowest normalised cross-correlation of frame and cut-out
    luminance over ``n_chars`` equal character cells across the box (product pixels only).

    Relight changes brightness smoothly (about affine inside one glyph's cell, which NCC ignores) and adds
    grain (a little below 1); one changed glyph drops its own cell far below, even when the rest of the
    word is intact. None when no cell has enough product pixels and contrast to tell.
    """
    from ..imaging import linear_to_srgb, luminance

    h, w = frame_rgb.shape[:2]
    x0, y0, x1, y1 = (float(v) for v in box)
    ya, yb = max(int(np.floor(y0)) - pad, 0), min(int(np.ceil(y1)) + pad, h)
    n = max(int(n_chars), 1)
    worst = None
    for k in range(n):
        cx0 = x0 + (x1 - x0) * k / n
        cx1 = x0 + (x1 - x0) * (k + 1) / n
        xa, xb = max(int(np.floor(cx0)) - pad, 0), min(int(np.ceil(cx1)) + pad, w)
        if xb - xa < 3 or yb - ya < 4:
            continue
        inside = reference_alpha[ya:yb, xa:xb] > 0.9
        if inside.sum() < 12:
            continue
        fa = linear_to_srgb(luminance(frame_rgb[ya:yb, xa:xb]))[inside]
        rb = linear_to_srgb(luminance(reference_rgb[ya:yb, xa:xb]))[inside]
        v = _ncc(fa.astype(np.float64), rb.astype(np.float64))
        if v is not None:
            worst = v if worst is None else min(worst, v)
    return worst


def with_print_similarity(diffs: list[TokenDiff] | tuple[TokenDiff, ...], frame_rgb: np.ndarray,
                          reference_rgb: np.ndarray, reference_alpha: np.ndarray,
                          approved_in_frame: bool) -> list[TokenDiff]:
    """Measure, for every token OCR disagrees on, whether the print under it changed from the cut-out.

    ``approved_in_frame`` says the approved boxes are in the frame's pixels (approved text read from the
    placed cut-out, not from a master), so a "missing" token can be looked up too.
    """
    from dataclasses import replace

    out = []
    for d in diffs:
        use_frame = d.frame_box is not None
        box = d.frame_box if use_frame else (d.approved_box if approved_in_frame else None)
        if d.status in ("missing", "changed", "invented") and box is not None:
            chars = len(d.frame if use_frame else d.approved)
            d = replace(d, print_similarity=print_similarity(frame_rgb, reference_rgb, reference_alpha, box, chars))
        out.append(d)
    return out


REREAD_GLYPH_PX = 48.0
"""Line thickness (px) a disagreeing line is enlarged to when it is read again (PP-OCR's recogniser reads
lines at 48 px; print read at a third of that is where its readings of two copies of the same print
start to differ)."""


def _line_of(box, lines: tuple[TextLine, ...], offset: tuple[float, float]):
    """The box (offset) of the line among ``lines`` that holds the centre of ``box``, or None."""
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    for line in lines:
        x0, y0, x1, y1 = line.box
        x0, x1, y0, y1 = x0 + offset[0], x1 + offset[0], y0 + offset[1], y1 + offset[1]
        if x0 <= cx <= x1 and y0 <= cy <= y1:
            return (x0, y0, x1, y1)
    return None


def _read_region(rgb: np.ndarray, alpha: np.ndarray, region: tuple[int, int, int, int], thickness: float
                 ) -> tuple[TextLine, ...]:
    """OCR of ``region`` of ``rgb`` (product pixels only), enlarged so its lines are about
    :data:`REREAD_GLYPH_PX` thick (at most 4x)."""
    from ..ops.ocr import OcrConfig, read_text

    x0, y0, x1, y1 = region
    longest = max(x1 - x0, y1 - y0)
    target = int(round(longest * min(max(REREAD_GLYPH_PX / max(thickness, 1.0), 1.0), 4.0)))
    return read_text(rgb[y0:y1, x0:x1], alpha[y0:y1, x0:x1],
                     OcrConfig(max_side=max(target, 64), min_side=max(target, 64), second_pass=False))


def with_reread(diffs: list[TokenDiff], approved_lines: tuple[TextLine, ...], frame_lines: tuple[TextLine, ...],
                frame_offset: tuple[float, float], frame_rgb: np.ndarray, reference_rgb: np.ndarray,
                reference_alpha: np.ndarray, approved_in_frame: bool, fuzzy_ratio: float = 0.75
                ) -> list[TokenDiff]:
    """Read every line OCR still disagrees on again, enlarged, on the frame and on the cut-out, and keep
    only the disagreements that are stable.

    Two readings of the same print at the small size a product has in a frame differ now and then
    (a ``g`` at the product's edge read or not, ``331`` read as ``3310``, a grip's ridges read as
    ``111`` once): one reading alone is unreliable. The line holding a disagreeing token is cut
    (padded) from the frame and from the placed cut-out -- the same pixels -- and both are read again
    enlarged to :data:`REREAD_GLYPH_PX`. Then the first disagreement

    * stands when the second reading disagrees on the same token (``64`` -> ``84`` both times) or at the
      same place (a changed digit read ``295`` once and ``25`` again; a line the frame lost);
    * is jitter (unconfirmed) when the second reading agrees there, or finds on the frame what the first
      found only on the cut-out (or the other way round): both images show that print;
    * is no longer critical when a number was read once and the second reading disagrees at its place
      without a number: it can send the frame to review, not fail it.

    Nothing is read again without a place in the frame (a token missing from the frame against a
    master), nor when no print can be compared under it (:func:`print_similarity` is None even over its
    whole line): those disagreements stand.
    """
    from dataclasses import replace

    h, w = frame_rgb.shape[:2]
    cache: dict[tuple[int, int, int, int], tuple[str, str, list[TokenDiff]]] = {}
    out = []
    for d in diffs:
        if d.status not in ("missing", "changed", "invented") or not d.confirmed:
            out.append(d)
            continue
        box = d.frame_box if d.frame_box is not None else (d.approved_box if approved_in_frame else None)
        if box is None:
            out.append(d)
            continue
        line = _line_of(box, frame_lines, frame_offset) if d.frame_box is not None else None
        if line is None and approved_in_frame:
            line = _line_of(box, approved_lines, (0.0, 0.0))
        line = line or tuple(box)
        thickness = max(min(line[2] - line[0], line[3] - line[1]), 1.0)
        pad = 0.5 * thickness + 2
        region = (max(int(np.floor(line[0] - pad)), 0), max(int(np.floor(line[1] - pad)), 0),
                  min(int(np.ceil(line[2] + pad)), w), min(int(np.ceil(line[3] + pad)), h))
        if d.print_similarity is None:
            # a token too narrow for its own character cells (a sliver of a sideways line): the print
            # of its whole line, one glyph-sized cell after another, stands for it
            cells = max(int(round(max(line[2] - line[0], line[3] - line[1]) / thickness)), 1)
            d = replace(d, print_similarity=print_similarity(frame_rgb, reference_rgb, reference_alpha, line, cells))
            if d.print_similarity is None:  # nothing to compare: the disagreement stands
                out.append(d)
                continue
        if region not in cache:
            fl = _read_region(frame_rgb, reference_alpha, region, thickness)
            rl = _read_region(reference_rgb, reference_alpha, region, thickness)
            at = (float(region[0]), float(region[1]))
            again = [x for x in align(tokenize(rl, at), tokenize(fl, at), fuzzy_ratio)
                     if x.status not in ("ok", "fuzzy")]
            cache[region] = (" / ".join(x.text for x in fl), " / ".join(x.text for x in rl), again)
        ftxt, rtxt, again = cache[region]
        same = any(_same_disagreement(d, x, fuzzy_ratio) for x in again)
        place = [x for x in again if _same_place(box, x)]
        if not same and any(_mirrored(d, x, fuzzy_ratio) for x in again):
            # read on the cut-out only, then on the frame only (or the other way round): both show it
            d = replace(d, confirmed=False)
        elif same or (place and (not d.critical or any(x.critical for x in place))):
            pass  # the same disagreement again: it stands
        elif place:
            # a number read once, and something else but no number read there again: not a
            # reliable reading of a number, so it can send the frame to review but not fail it
            d = replace(d, critical=False)
        else:
            d = replace(d, confirmed=False)
        out.append(replace(d, reread=(ftxt, rtxt)))
    return out


def _mirrored(first: TokenDiff, again: TokenDiff, fuzzy_ratio: float) -> bool:
    """Whether the second reading found on the frame what the first found only on the cut-out, or on the
    cut-out what the first found only on the frame: then both images show that print."""
    a, f = first.approved, first.frame
    return ((_alike(a, again.frame, fuzzy_ratio) and not _alike(a, again.approved, fuzzy_ratio))
            or (_alike(f, again.approved, fuzzy_ratio) and not _alike(f, again.frame, fuzzy_ratio)))


def _alike(a: str | None, b: str | None, fuzzy_ratio: float) -> bool:
    """Equal tokens, or two words as different as OCR noise makes them (never a number or unit)."""
    if a is None or b is None:
        return False
    if a == b:
        return True
    return not is_critical(a) and not is_critical(b) and difflib.SequenceMatcher(a=a, b=b).ratio() >= fuzzy_ratio


def _same_place(box, again: TokenDiff, share: float = 0.5) -> bool:
    """Whether a disagreement of the second reading lies where ``box`` is: its box (the frame's, else the
    cut-out's, both in the frame's pixels) covers at least ``share`` of the smaller of the two. A changed
    digit read as another digit each time (``84`` once, ``8.4`` again) is the same disagreement."""
    other = again.frame_box if again.frame_box is not None else again.approved_box
    if other is None:
        return False
    iw = min(box[2], other[2]) - max(box[0], other[0])
    ih = min(box[3], other[3]) - max(box[1], other[1])
    if iw <= 0 or ih <= 0:
        return False
    smaller = min((box[2] - box[0]) * (box[3] - box[1]), (other[2] - other[0]) * (other[3] - other[1]))
    return iw * ih >= share * max(smaller, 1e-6)


def _same_disagreement(first: TokenDiff, again: TokenDiff, fuzzy_ratio: float) -> bool:
    """Whether a disagreement of the second reading is about the same token as ``first``: the same
    approved token or the same frame token (a word also when only as different as OCR noise)."""
    return _alike(first.approved, again.approved, fuzzy_ratio) or _alike(first.frame, again.frame, fuzzy_ratio)


def read_lines(rgb_linear: np.ndarray, alpha: np.ndarray | None, max_side: int, min_side: int
               ) -> tuple[TextLine, ...]:
    """PP-OCR through :func:`packshot.understand.ocr.read_text` (one engine per process)."""
    from ..ops.ocr import OcrConfig, read_text

    return read_text(rgb_linear, alpha, OcrConfig(max_side=max_side, min_side=min_side))


def compare_text(approved_lines: tuple[TextLine, ...], frame_lines: tuple[TextLine, ...], source: str,
                 fuzzy_ratio: float = 0.75, frame_offset: tuple[float, float] = (0.0, 0.0),
                 frame_rgb: np.ndarray | None = None, reference_rgb: np.ndarray | None = None,
                 reference_alpha: np.ndarray | None = None, unchanged_ncc: float = 0.97,
                 reread: bool = True) -> TextResult:
    """Tokenise and align already-read lines (see the module docstring for the statuses); with
    ``frame_rgb`` and ``reference_rgb`` (same pixels as the frame lines' boxes), also measure whether the
    print under each disagreement changed (:func:`with_print_similarity`): a disagreement over print whose
    lowest per-character correlation is at least ``unchanged_ncc`` is OCR noise, not a change. With
    ``reread`` (and the pixels), every disagreement left is read again (:func:`with_reread`)."""
    approved = tokenize(approved_lines)
    frame = tokenize(frame_lines, frame_offset)
    diffs = align(approved, frame, fuzzy_ratio)
    if frame_rgb is not None and reference_rgb is not None and reference_alpha is not None:
        diffs = with_print_similarity(diffs, frame_rgb, reference_rgb, reference_alpha,
                                      approved_in_frame=(source == "cutout"))
        from dataclasses import replace

        diffs = [replace(d, confirmed=False) if d.print_similarity is not None and d.print_similarity >= unchanged_ncc
                 else d for d in diffs]
        if reread:
            diffs = with_reread(diffs, approved_lines, frame_lines, frame_offset, frame_rgb, reference_rgb,
                                reference_alpha, approved_in_frame=(source == "cutout"), fuzzy_ratio=fuzzy_ratio)
    bad = [d for d in diffs if d.status in ("missing", "changed", "invented") and d.confirmed]
    return TextResult(
        source=source,
        approved_text=" / ".join(line.text for line in approved_lines),
        frame_text=" / ".join(line.text for line in frame_lines),
        diffs=tuple(diffs),
        missing=sum(d.status == "missing" for d in bad),
        changed=sum(d.status == "changed" for d in bad),
        invented=sum(d.status == "invented" for d in bad),
        critical=sum(d.critical for d in bad),
        unconfirmed=sum(d.status in ("missing", "changed", "invented") and not d.confirmed for d in diffs),
    )
