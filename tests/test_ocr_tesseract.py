"""The second OCR reader (Tesseract, Debian ``tesseract-ocr`` + ``tesseract-ocr-eng``): merge rules on
synthetic readings (no binary needed), a real read of a drawn label, no words on textures, the
fallback when the binary is missing."""

from __future__ import annotations

import re
import warnings
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image, ImageDraw

from packshot.imaging import srgb_to_linear
from packshot.ops import ocr, tesseract
from packshot.ops.tesseract import Word, merge_words, plausible_word, reading_degrees
from packshot.samples import font, make_product
from packshot.types import TextLine

HAVE_TESSERACT = tesseract._probe(tesseract.TESSERACT_BIN)[0] is not None
needs_binary = pytest.mark.skipif(not HAVE_TESSERACT, reason="the tesseract binary with 'eng' data is not installed "
                                  "(apt-get install tesseract-ocr tesseract-ocr-eng)")
STAGE = replace(ocr.OcrConfig(mask_outside=False, contrast_pass=True), second_reader="tesseract")


def words(text: str) -> list[str]:
    return [w for w in re.split(r"[^0-9a-z]+", text.lower()) if w]


def line(text, x0, y0, x1, y1, conf=0.95):
    return TextLine(text, ((x0, y0), (x1, y0), (x1, y1), (x0, y1)), conf)


def word(text, x0, y0, x1, y1, conf=95.0):
    return Word(text, conf, np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float64))


DICT = frozenset({"Huckleberry", "spring", "Spring", "SPRING", "honey", "wild", "Brook", "apple", "mega"})


# ---------------------------------------------------------------------------------------------- merge rules
def test_merge_keeps_a_confident_dictionary_word_that_extends_or_corrects_ppocrs_line():
    lines = (line("LEBERRY", 40, 10, 120, 40), line("Irish Sprng", 10, 60, 200, 90))
    got, log = merge_words(lines, [word("HUCKLEBERRY", 5, 8, 120, 42), word("Spring", 90, 60, 200, 90)],
                           dictionary=DICT)
    added = [t.text for t in got[len(lines):]]
    assert added == ["HUCKLEBERRY", "Spring"], log
    assert got[:len(lines)] == lines  # PP-OCR's lines are never changed
    assert all(0.0 <= t.confidence <= 1.0 for t in got)


@pytest.mark.parametrize("bad, why", [
    (word("Spring", 90, 60, 200, 90, conf=70.0), "low confidence"),
    (word("Sprung", 300, 300, 400, 330), "not on a PP-OCR line"),
    (word("Brook", 90, 60, 200, 90), "on the line but far from what PP-OCR read"),
    (word("Sprlng", 90, 60, 200, 90), "not a dictionary word"),
    (word("2680", 90, 60, 200, 90), "digits: never from the second reader"),
    (word("SpRing", 90, 60, 200, 90), "mixed case"),
    (word("Irish", 10, 60, 80, 90), "already read"),
    (word("Mega", 90, 60, 200, 90), "a dictionary word, on the line, but not close to its reading"),
])
def test_merge_drops_words_the_rules_do_not_confirm(bad, why):
    lines = (line("Irish Sprng", 10, 60, 200, 90),)
    got, log = merge_words(lines, [bad], dictionary=DICT)
    assert got == lines, (why, log)


def test_merge_without_a_dictionary_adds_only_lexicon_words():
    lines = (line("Irish Sprng", 10, 60, 200, 90),)
    assert merge_words(lines, [word("Spring", 90, 60, 200, 90)], dictionary=None)[0] == lines
    got, _ = merge_words(lines, [word("Spring", 90, 60, 200, 90), word("WINDEX", 300, 10, 400, 40)],
                         lexicon=("windex", "spring"), dictionary=None)
    assert [t.text for t in got[1:]] == ["Spring", "WINDEX"]  # lexicon words, wherever they are


def test_plausible_word_rules():
    assert plausible_word("(Spring),") == "Spring"
    assert plausible_word("MÖRGÖN") == "MÖRGÖN"
    for bad in ("ab", "x1y", "Qrst", "aaab", "pqrstv", "SpRing", "春天", "a-b-c"):
        assert plausible_word(bad) is None, bad


def test_reading_degrees_from_the_lines_corners():
    up = TextLine("Spring", ((10, 10), (90, 10), (90, 30), (10, 30)), 0.9)
    flipped = TextLine("Spring", ((90, 30), (10, 30), (10, 10), (90, 10)), 0.9)
    down = TextLine("Spring", ((30, 10), (30, 90), (10, 90), (10, 10)), 0.9)  # reads top to bottom
    assert reading_degrees((up,)) == 0
    assert reading_degrees((flipped,)) == 180
    assert reading_degrees((down,)) == 270
    assert reading_degrees(()) == 0


# ---------------------------------------------------------------------------------------------- the binary
def _label(text_lines, size=(900, 360)):
    img = Image.new("RGB", size, (246, 242, 232))
    d = ImageDraw.Draw(img)
    y = 30
    for text, px in text_lines:
        d.text((40, y), text, font=font(px), fill=(30, 30, 40))
        y += int(px * 1.5)
    return np.asarray(img)


@needs_binary
@pytest.mark.parametrize("degrees", [0, 180])
def test_tesseract_reads_a_drawn_label(degrees):
    bgr = np.ascontiguousarray(_label([("HARBOUR", 72), ("Wild Honey", 56)])[..., ::-1])
    turned = np.ascontiguousarray(np.rot90(bgr, k=-(degrees // 90)))
    got = tesseract.read_words(turned, (360 - degrees) % 360)  # turned back upright to read
    read = {w.text for w in got if w.confidence >= tesseract.MIN_CONFIDENCE}
    assert {"HARBOUR", "Wild", "Honey"} <= read, [(w.text, w.confidence) for w in got]
    # polygons are in the turned image's pixels: every word lies on the label's text rows
    h, w = turned.shape[:2]
    for wd in got:
        assert (wd.polygon >= -1).all() and (wd.polygon[:, 0] <= w + 1).all() and (wd.polygon[:, 1] <= h + 1).all()


@needs_binary
def test_second_reader_adds_no_false_word_on_generated_labels():
    """Generated labelled products, each turned: every word the stage's reader (PP-OCR + Tesseract)
    gives is on the label."""
    for i, (kind, label) in enumerate([("jar", ("HARBOUR", "Wild Honey", "250 g"))]):
        s = make_product(kind, seed=41 + i, size=(640, 640), label=label)
        truth = set(words(" ".join(label)))
        for degrees in (0, 180):
            im = np.ascontiguousarray(np.rot90(s.image, k=-(degrees // 90)))
            al = np.ascontiguousarray(np.rot90(s.mask, k=-(degrees // 90)))
            lines = ocr.read_text(im, al, STAGE)
            out = words(" ".join(t.text for t in lines))
            assert set(out) <= truth, (kind, degrees, out)


def _texture_images():
    from packshot.render.textures import make_texture

    for kind, tint in (("wood", (0.42, 0.22, 0.09)), ("linen", (0.62, 0.58, 0.50))):
        g = np.asarray(make_texture(kind, seed=3, size=512), np.float32)  # a grey pattern in [0, 1]
        assert g.shape == (512, 512)
        yield kind, np.clip(np.asarray(tint, np.float32) * (0.35 + 0.65 * g)[..., None], 0.0, 1.0)
    yield "blank backdrop", np.full((512, 512, 3), srgb_to_linear(np.float32(0.93)), np.float32)


@needs_binary
def test_no_word_on_textures_even_where_ppocr_claims_a_line():
    """Worst case for the merge: PP-OCR "saw" lines of near-word garble all over a texture, and a lexicon
    of common words is given; Tesseract must still add nothing (its readings of grain and weave are
    not confident words)."""
    raw = 0
    for name, img in _texture_images():
        h, w = img.shape[:2]
        fake = tuple(line(t, 0, y, w, y + h // 4, 0.6) for t, y in
                     (("wod grian", 0), ("linnen", h // 4), ("ston", h // 2), ("papr", 3 * h // 4)))
        lexicon = ("wood", "linen", "stone", "paper", "grain", "honey", "spring")
        assert img.shape == (512, 512, 3)
        got = ocr.second_reading(img, None, fake, replace(STAGE, lexicon=lexicon))
        assert len(got) == len(fake) and set(got) == set(fake), (name, [t.text for t in got if t not in fake])
        from packshot.imaging import linear_to_srgb8

        raw += len(tesseract.read_words(np.ascontiguousarray(linear_to_srgb8(img, dither=False)[..., ::-1])))
    assert raw > 0  # Tesseract does read "words" in grain and weave: the merge rules are what keep them out


@needs_binary
def test_the_stage_records_the_second_reader():
    from packshot.types import Cutout, alpha_bbox
    from packshot.understand import UnderstandConfig, understand

    s = make_product("box", seed=7, size=(256, 256), label=("KESTREL", "Lime"))
    maps = understand(Cutout(rgb=s.image, alpha=s.mask, image=s.image, bbox=alpha_bbox(s.mask), confidence=1.0),
                      UnderstandConfig())
    rec = maps.provenance["ocr_second_reader"]
    assert rec["reader"] == "tesseract" and rec["available"] is True
    assert rec["version"].startswith("tesseract") and rec["language"] == "eng"


# ---------------------------------------------------------------------------------------------- fallback
def test_missing_binary_warns_once_and_reads_as_ppocr_alone(monkeypatch):
    s = make_product("box", seed=5, size=(640, 640), label=("MERIDIAN", "Cold Brew"))
    cfg = ocr.OcrConfig(rotations=False, second_reader="tesseract")  # one PP-OCR pass: the test is the fallback
    alone = ocr.read_text(s.image, s.mask, replace(cfg, second_reader=None))
    assert alone
    monkeypatch.setattr(tesseract, "TESSERACT_BIN", "/nonexistent/bin/tesseract")
    monkeypatch.setattr(tesseract, "_INFO", {})
    monkeypatch.setattr(tesseract, "_WARNED", set())
    with pytest.warns(RuntimeWarning, match=r"tesseract.*not found.*apt-get install tesseract-ocr tesseract-ocr-eng"):
        first = ocr.read_text(s.image, s.mask, cfg)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no second warning
        second = ocr.read_text(s.image, s.mask, cfg)
    assert first == alone and second == alone
    info = ocr.second_reader_info(STAGE)
    assert info["available"] is False and info["reader"] == "tesseract"


def test_unknown_second_reader_is_an_input_error():
    from packshot.errors import InputError

    with pytest.raises(InputError, match="second_reader"):
        ocr.second_reading(np.zeros((32, 32, 3), np.float32), None, (line("Abc", 0, 0, 10, 10),),
                           replace(STAGE, second_reader="easyocr"))
