"""A second, Latin-only reader of label text: Tesseract (Debian ``tesseract-ocr`` + ``tesseract-ocr-eng``).

PP-OCR (:mod:`packshot.ops.ocr`, the ``rapidocr`` wheel) ships a Chinese/mixed recogniser: stylised
Latin marks and small print come out as near misses or CJK look-alikes. Tesseract's LSTM with the
English language data reads some of those words. It also reads wood grain, fabric and shadows as
"words", so its words only join the reading under rules that keep false words out
(:func:`merge_words`):

- confidence >= ``min_confidence`` (Tesseract's word confidence, 0-100);
- a plausible word: letters only (Latin, accents allowed; surrounding punctuation stripped), at least
  ``min_letters`` long, one case pattern (UPPER, lower or Capitalised), a vowel, no run of 5
  consonants or 3 equal letters;
- agreement: the word lies on a line PP-OCR found (its box covered by a PP-OCR line box) and is
  close to what PP-OCR read there (one of the line's words is within :data:`MAX_RELATIVE_EDITS`
  edits per letter of it, or is a part of it of 4+ letters: "LEBERRY" of "HUCKLEBERRY"), **or** it is a word of the
  master artwork's lexicon, wherever it is;
- a word of Tesseract's own English dictionary (``eng.traineddata``'s word list, :func:`dictionary`),
  unless it is a lexicon word;
- nothing already read: a word PP-OCR's line already has is not added again.

Digits are never taken from the second reader: a changed number must stay visible to QA. A kept word is
added as its own :class:`~packshot.types.TextLine` (polygon clockwise from the word's own
top-left, mapped back to the image), with Tesseract's confidence / 100.

Tesseract reads the product's box (at most :data:`MAX_SIDE` px) turned the way PP-OCR found the
text upright (the heaviest lines' reading direction; PP-OCR turns upside-down lines by itself, so
a turn that gives fewer than :data:`WEAK_WORDS` confident words is read the opposite way round too),
page segmentation mode 11 (sparse text), one thread. It is a binary called through
:mod:`subprocess`; when it (or its English data) is missing, one warning says what to install and
PP-OCR reads alone, with the same results as without the second reader. A read that runs past
:data:`TIMEOUT_S` (never seen at 960 px; a netted texture at 1600 px on a loaded machine did) is
dropped with a warning.

Cost: 0.2-1.4 CPU s per product on the benchmark photos (see BENCHMARKS.md, understand-ocr).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
import unicodedata
import warnings
from dataclasses import dataclass

import numpy as np

from ..types import TextLine

TESSERACT_BIN = "tesseract"
"""The binary (a name on PATH or a path); tests point it elsewhere to check the fallback."""
LANGUAGE = "eng"
PSM = 11
"""Page segmentation mode: 11 = sparse text, as much text as possible in no particular order (labels
are not pages: mode 3 finds no text on a crumpled bag where mode 11 reads its words)."""
MAX_SIDE = 960
"""The crop is shrunk so its longest side is at most this before Tesseract reads it (cost grows with
area: a 1280 px crop took 2-3x as long for no word more on the tuning photos)."""
TIMEOUT_S = 30.0
INSTALL_HINT = "apt-get install tesseract-ocr tesseract-ocr-eng"

_LOCK = threading.Lock()
_INFO: dict = {}
_WARNED: set = set()


@dataclass(frozen=True)
class Word:
    """One word Tesseract read: text, confidence 0-100, polygon (4 x 2, clockwise from the word's own
    top-left) in pixels of the image it was asked about."""

    text: str
    confidence: float
    polygon: np.ndarray


# ---------------------------------------------------------------------------------------------
# the binary
# ---------------------------------------------------------------------------------------------
def available() -> dict | None:
    """The binary's version and language data when Tesseract with English can run, else None (a
    one-time warning names what is missing and how to install it). Cached per binary path."""
    key = TESSERACT_BIN
    with _LOCK:
        if key in _INFO:
            return _INFO[key]
        info, problem = _probe(key)
        _INFO[key] = info
    if info is None and key not in _WARNED:
        _WARNED.add(key)
        warnings.warn(f"second OCR reader off: {problem}; label text is read by PP-OCR alone. Install it with "
                      f"`{INSTALL_HINT}` (Debian/Ubuntu).", RuntimeWarning, stacklevel=3)
    return info


def _probe(binary: str) -> tuple[dict | None, str]:
    path = shutil.which(binary)
    if path is None:
        return None, f"the tesseract binary ({binary!r}) was not found"
    try:
        ver = subprocess.run([path, "--version"], capture_output=True, timeout=TIMEOUT_S, env=_env())
        langs = subprocess.run([path, "--list-langs"], capture_output=True, timeout=TIMEOUT_S, env=_env())
    except (OSError, subprocess.SubprocessError) as exc:
        return None, f"{path} could not run ({exc})"
    first = (ver.stdout or ver.stderr).decode("utf-8", "replace").strip().splitlines()
    if ver.returncode != 0 or not first:
        return None, f"{path} --version failed"
    listing = langs.stdout.decode("utf-8", "replace").splitlines()
    if LANGUAGE not in [x.strip() for x in listing[1:]]:
        return None, f"{path} has no '{LANGUAGE}' language data (tesseract-ocr-{LANGUAGE})"
    where = re.search(r'"(.+?)"', listing[0]) if listing else None
    return {"binary": path, "version": first[0].strip(), "language": LANGUAGE,
            "tessdata": where.group(1) if where else None, "psm": PSM}, ""


def _env() -> dict:
    import os

    env = {k: v for k, v in os.environ.items() if k in ("PATH", "TESSDATA_PREFIX", "LANG", "LC_ALL", "HOME")}
    env["OMP_THREAD_LIMIT"] = "1"  # one thread: the catalogue runs one worker per core
    return env


def read_words(bgr8: np.ndarray, degrees: int = 0) -> list[Word]:
    """Words Tesseract reads on an 8-bit BGR image turned clockwise by ``degrees`` (so its text is
    upright); polygons map back to ``bgr8``'s pixels. Empty when Tesseract is unavailable."""
    from ..imaging import encode_png
    from .ocr import _rotate, _unrotate_points

    info = available()
    if info is None:
        return []
    h, w = bgr8.shape[:2]
    turned = _rotate(bgr8, degrees)
    png = encode_png(np.ascontiguousarray(turned[..., ::-1]), compress_level=1)  # BGR -> RGB
    try:
        done = subprocess.run([info["binary"], "stdin", "stdout", "-l", LANGUAGE, "--psm", str(PSM), "tsv"],
                              input=png, capture_output=True, timeout=TIMEOUT_S, env=_env())
    except (OSError, subprocess.SubprocessError) as exc:
        warnings.warn(f"tesseract failed ({exc}); this image is read by PP-OCR alone", RuntimeWarning, stacklevel=2)
        return []
    words = []
    for row in done.stdout.decode("utf-8", "replace").splitlines()[1:]:
        f = row.split("\t")
        if len(f) < 12 or f[0] != "5" or not f[11].strip():
            continue
        left, top, width, height = (float(v) for v in f[6:10])
        poly = np.array([[left, top], [left + width, top], [left + width, top + height], [left, top + height]])
        words.append(Word(f[11].strip(), float(f[10]), _unrotate_points(poly, degrees, w, h)))
    return words


_DICT: dict = {}


def dictionary() -> frozenset | None:
    """Tesseract's own English word list (the ``lstm-word-dawg`` of ``eng.traineddata``, unpacked with
    ``combine_tessdata`` and ``dawg2wordlist``, both in the ``tesseract-ocr`` package), once per
    process; None when those tools or the data are missing (the dictionary rule is then off)."""
    import os
    import tempfile

    info = available()
    if info is None:
        return None
    key = info["binary"]
    with _LOCK:
        if key in _DICT:
            return _DICT[key]
        words = None
        folder = os.path.dirname(info["binary"])
        combine, dump = (shutil.which(n, path=folder) or shutil.which(n) for n in ("combine_tessdata", "dawg2wordlist"))
        data = os.path.join(info["tessdata"] or "", f"{LANGUAGE}.traineddata")
        if combine and dump and os.path.isfile(data):
            with tempfile.TemporaryDirectory() as tmp:
                prefix = os.path.join(tmp, LANGUAGE + ".")
                try:
                    subprocess.run([combine, "-u", data, prefix], capture_output=True, timeout=TIMEOUT_S, env=_env())
                    out = os.path.join(tmp, "words.txt")
                    subprocess.run([dump, prefix + "lstm-unicharset", prefix + "lstm-word-dawg", out],
                                   capture_output=True, timeout=TIMEOUT_S, env=_env())
                    with open(out, encoding="utf-8", errors="replace") as f:
                        words = frozenset(line.strip() for line in f if line.strip())
                except (OSError, subprocess.SubprocessError):
                    words = None
        _DICT[key] = words or None
        return _DICT[key]


# ---------------------------------------------------------------------------------------------
# merge rules
# ---------------------------------------------------------------------------------------------
MIN_CONFIDENCE = 85.0
MIN_LETTERS = 3
MAX_RELATIVE_EDITS = 0.34
"""A Tesseract word agrees with PP-OCR's reading of the same place when some word (or run of letters)
of that line is within this many edits per letter of it."""
MIN_PART = 4
"""A PP-OCR token of at least this many letters inside the word counts as agreement."""
LINE_COVER = 0.6
"""Share of the word's box a PP-OCR line's box must cover for the word to lie on that line."""
_VOWELS = set("aeiouyåäöæøéèêëáàâíìîïóòôúùûüý")
_STRIP = "\"'`.,:;!?()[]{}<>«»“”‘’®™©*_-—–/\\|"


def plausible_word(text: str) -> str | None:
    """The word with surrounding punctuation stripped when it passes the lexical checks, else None."""
    word = text.strip(_STRIP)
    if len(word) < MIN_LETTERS or not all(c.isalpha() and _latin(c) for c in word):
        return None
    if not (word.isupper() or word.islower() or (word[0].isupper() and word[1:].islower())):
        return None
    low = word.casefold()
    if not any(c in _VOWELS for c in low):
        return None
    if re.search(r"(.)\1\1", low) or re.search(r"[^aeiouyåäöæøéèêëáàâíìîïóòôúùûüý]{5}", low):
        return None
    return word


def _latin(c: str) -> bool:
    return "LATIN" in unicodedata.name(c, "")


def _fold(s: str) -> str:
    """Case-folded letters without accents (ö -> o)."""
    return "".join(c for c in unicodedata.normalize("NFKD", s.casefold()) if not unicodedata.combining(c))


def _edits(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def _agrees(word: str, line_text: str) -> bool:
    """The word is close to a word of the line (at most :data:`MAX_RELATIVE_EDITS` edits per letter,
    accents ignored), or contains a word of the line of :data:`MIN_PART`+ letters (PP-OCR's line box
    clipped the word). Glyphs other than Latin letters (digits, CJK look-alikes) split words."""
    w = _fold(word)
    limit = int(MAX_RELATIVE_EDITS * len(w))
    for token in re.findall(r"[a-z]+", _fold(line_text)):
        if len(token) >= MIN_PART and token in w:
            return True
        if abs(len(token) - len(w)) <= limit and _edits(w, token) <= limit:
            return True
    return False


def _box(poly) -> tuple[float, float, float, float]:
    p = np.asarray(poly, np.float64)
    return float(p[:, 0].min()), float(p[:, 1].min()), float(p[:, 0].max()), float(p[:, 1].max())


def _covered(inner, outer) -> float:
    ax0, ay0, ax1, ay1 = _box(inner)
    bx0, by0, bx1, by1 = _box(outer)
    iw = max(0.0, min(ax1, bx1) - max(ax0, bx0))
    ih = max(0.0, min(ay1, by1) - max(ay0, by0))
    area = (ax1 - ax0) * (ay1 - ay0)
    return iw * ih / area if area > 0 else 0.0


def merge_words(lines: tuple[TextLine, ...], words: list[Word], lexicon=(),
                min_confidence: float = MIN_CONFIDENCE, dictionary=None
                ) -> tuple[tuple[TextLine, ...], list[tuple[str, str]]]:
    """PP-OCR's ``lines`` plus the second reader's ``words`` (polygons in the same pixels) that pass
    the rules of this module. Returns the lines (PP-OCR's first, in their order, then the added
    words) and, for each word looked at, (word, why it was kept or dropped) for the record."""
    lex = {_fold(x) for x in lexicon if len(x) >= MIN_LETTERS}
    present = {_fold(t) for line in lines for t in re.findall(r"[^\W\d_]+", line.text)}
    added: list[TextLine] = []
    log: list[tuple[str, str]] = []
    for wd in words:
        word = plausible_word(wd.text)
        if word is None:
            continue
        if wd.confidence < min_confidence:
            log.append((word, f"confidence {wd.confidence:.0f}"))
            continue
        key = _fold(word)
        on = [line for line in lines if _covered(wd.polygon, line.polygon) >= LINE_COVER]
        if key in present or any(key in re.sub(r"[^a-z]", "", _fold(line.text)) for line in on):
            log.append((word, "already read"))
            continue
        in_dict = dictionary is not None and (word in dictionary or word.casefold() in dictionary
                                              or word.capitalize() in dictionary)
        if key in lex:
            why = "lexicon"
        elif not on:
            log.append((word, "not on a PP-OCR line"))
            continue
        elif not in_dict:
            log.append((word, "not a dictionary word" if dictionary is not None else "no dictionary"))
            continue
        elif any(_agrees(word, line.text) for line in on):
            why = "agrees with PP-OCR's line"
        else:
            log.append((word, "no PP-OCR line agrees: " + " | ".join(line.text for line in on)))
            continue
        present.add(key)
        log.append((word, why))
        added.append(TextLine(text=word, polygon=tuple((round(float(x), 2), round(float(y), 2)) for x, y in wd.polygon),
                              confidence=round(wd.confidence / 100.0, 4)))
    return tuple(lines) + tuple(added), log


WEAK_WORDS = 3
"""A turn read with fewer confident plausible words than this is read the opposite way round too."""


def confident_words(words: list[Word], min_confidence: float = MIN_CONFIDENCE) -> int:
    """How many of ``words`` are plausible words read with at least ``min_confidence``."""
    return sum(1 for w in words if w.confidence >= min_confidence and plausible_word(w.text) is not None)


def reading_degrees(lines: tuple[TextLine, ...]) -> int:
    """The clockwise turn that makes most of the text upright, from the lines' polygons (each starts
    at its text's own top-left): a vote of the lines' reading directions weighted by confidence
    squared x length; 0 when nothing was read."""
    votes: dict[int, float] = {}
    for line in lines:
        p = np.asarray(line.polygon, np.float64)
        if len(p) < 4 or len(line.text.strip()) < 2:
            continue
        along, across = p[1] - p[0], p[2] - p[1]
        if np.linalg.norm(along) < np.linalg.norm(across):
            continue  # a vertical line PP-OCR turned itself: its corners say nothing about the photo's turn
        dx, dy = along
        d = 0 if abs(dx) >= abs(dy) and dx > 0 else 180 if abs(dx) >= abs(dy) else 90 if dy < 0 else 270
        votes[d] = votes.get(d, 0.0) + line.confidence ** 2 * len(line.text.strip())
    return max(votes, key=lambda d: (votes[d], -d)) if votes else 0
