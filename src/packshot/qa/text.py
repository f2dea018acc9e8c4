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


@dataclass(frozen=True)
class TextResult:
    """The text comparison.

    Attributes
    ----------
    source : "master" or "cutout": where the approved text was read.
    approved_text, frame_text : the lines read, joined by " / ".
    diffs : every aligned token.
    missing, changed, invented : counts of each (critical included).
    critical : how many of those involve a number or unit.
    """

    source: str
    approved_text: str
    frame_text: str
    diffs: tuple[TokenDiff, ...]
    missing: int
    changed: int
    invented: int
    critical: int


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


def read_lines(rgb_linear: np.ndarray, alpha: np.ndarray | None, max_side: int, min_side: int
               ) -> tuple[TextLine, ...]:
    """PP-OCR through :func:`packshot.understand.ocr.read_text` (one engine per process)."""
    from ..understand.ocr import OcrConfig, read_text

    return read_text(rgb_linear, alpha, OcrConfig(max_side=max_side, min_side=min_side))


def compare_text(approved_lines: tuple[TextLine, ...], frame_lines: tuple[TextLine, ...], source: str,
                 fuzzy_ratio: float = 0.75, frame_offset: tuple[float, float] = (0.0, 0.0)) -> TextResult:
    """Tokenise and align already-read lines (see the module docstring for the statuses)."""
    approved = tokenize(approved_lines)
    frame = tokenize(frame_lines, frame_offset)
    diffs = align(approved, frame, fuzzy_ratio)
    bad = [d for d in diffs if d.status in ("missing", "changed", "invented")]
    return TextResult(
        source=source,
        approved_text=" / ".join(line.text for line in approved_lines),
        frame_text=" / ".join(line.text for line in frame_lines),
        diffs=tuple(diffs),
        missing=sum(d.status == "missing" for d in diffs),
        changed=sum(d.status == "changed" for d in diffs),
        invented=sum(d.status == "invented" for d in diffs),
        critical=sum(d.critical for d in bad),
    )
