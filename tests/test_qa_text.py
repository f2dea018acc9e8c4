"""Token alignment of label text (no OCR: literal lines)."""

from __future__ import annotations

import numpy as np
import pytest

from packshot.qa.text import align, compare_text, is_critical, tokenize
from packshot.types import TextLine


def lines(*texts: str) -> tuple[TextLine, ...]:
    return tuple(TextLine(t, ((0, 20 * i), (100, 20 * i), (100, 20 * i + 16), (0, 20 * i + 16)), 0.99)
                 for i, t in enumerate(texts))


def statuses(approved, frame):
    r = compare_text(lines(*approved), lines(*frame), "master")
    return [(d.status, d.approved, d.frame, d.critical) for d in r.diffs if d.status != "ok"], r


def test_tokens_split_numbers_units_and_case():
    toks = [t.text for t in tokenize(lines("Vitamin C 500mg", "5% DV", "1.000 IU"))]
    assert toks == ["vitamin", "c", "500", "mg", "5", "%", "dv", "1.000", "iu"]


@pytest.mark.parametrize("token,critical", [("500", True), ("mg", True), ("%", True), ("kcal", True),
                                            ("iu", True), ("ml", True), ("g", True), ("drink", False)])
def test_numbers_and_units_are_critical(token, critical):
    assert is_critical(token) is critical


def test_changed_digit_is_critical():
    diffs, r = statuses(("AURORA", "Oat Drink", "500 mg"), ("AURORA", "Oat Drink", "600 mg"))
    assert diffs == [("changed", "500", "600", True)]
    assert r.critical == 1 and r.changed == 1


def test_removed_and_invented_words():
    diffs, r = statuses(("AURORA", "Oat Drink", "500 mg"), ("AURORA", "Drink Plus", "500 mg"))
    assert ("missing", "oat", None, False) in diffs and ("invented", None, "plus", False) in diffs
    assert r.critical == 0 and r.missing == 1 and r.invented == 1


def test_ocr_noise_on_a_word_is_fuzzy_but_never_on_a_number():
    diffs, _ = statuses(("KESTREL", "Hand Cream"), ("KESTREI", "Hand Cream"))
    assert diffs == [("fuzzy", "kestrel", "kestrei", False)]
    diffs, _ = statuses(("1000 IU",), ("1060 IU",))
    assert diffs == [("changed", "1000", "1060", True)]


def test_missing_unit_is_critical():
    diffs, r = statuses(("250 ml",), ("250",))
    assert diffs == [("missing", "ml", None, True)] and r.critical == 1


def test_identical_text_has_no_diffs():
    diffs, r = statuses(("LUMEN", "Green Tea", "120 kcal"), ("LUMEN", "Green Tea", "120 kcal"))
    assert diffs == [] and r.missing == r.changed == r.invented == 0


def test_align_keeps_frame_boxes_for_the_overlay():
    a = tokenize(lines("Sea Salt"))
    b = tokenize(lines("Sea Pepper"), offset=(10, 5))
    d = align(a, b)
    assert d[1].status == "changed" and d[1].frame_box[0] >= 10


def _print(text: str, noise_seed: int | None = None, gain: float = 1.0) -> np.ndarray:
    from PIL import Image, ImageDraw

    from packshot.imaging import srgb8_to_linear
    from packshot.samples import font

    img = Image.new("RGB", (160, 40), (235, 230, 220))
    ImageDraw.Draw(img).text((8, 6), text, font=font(24), fill=(30, 30, 40))
    rgb = srgb8_to_linear(np.asarray(img)) * gain
    if noise_seed is not None:
        rgb = rgb + np.random.default_rng(noise_seed).normal(0, 0.004, rgb.shape).astype(np.float32)
    return np.clip(rgb, 0, 1).astype(np.float32)


def test_ocr_disagreement_over_unchanged_print_is_unconfirmed():
    reference = _print("500 mg")
    relit = _print("500 mg", noise_seed=1, gain=0.9)  # shading and grain, same print
    changed = _print("600 mg", noise_seed=1, gain=0.9)
    alpha = np.ones(reference.shape[:2], np.float32)
    approved = lines("500 mg")
    misread = (TextLine("5OO mg", ((0, 0), (160, 0), (160, 40), (0, 40)), 0.9),)
    same = compare_text(approved, misread, "cutout", frame_rgb=relit, reference_rgb=reference, reference_alpha=alpha)
    assert same.critical == 0 and same.unconfirmed >= 1  # "5OO" splits into "5" + "oo": two disagreements
    assert same.missing == same.changed == same.invented == 0
    assert all(d.confirmed for d in same.diffs if d.status == "ok")
    real = compare_text(approved, (TextLine("600 mg", ((0, 0), (160, 0), (160, 40), (0, 40)), 0.9),), "cutout",
                        frame_rgb=changed, reference_rgb=reference, reference_alpha=alpha)
    assert real.critical == 1 and real.unconfirmed == 0
    (d,) = [d for d in real.diffs if d.status == "changed"]
    assert d.print_similarity is not None and d.print_similarity < 0.97


def test_a_second_reading_confirms_only_the_same_disagreement():
    from packshot.qa.text import TokenDiff, _same_disagreement

    first = TokenDiff("changed", "331", "3310", True)
    assert not _same_disagreement(first, TokenDiff("changed", "g", "c", True), 0.75)  # jitter moved elsewhere
    assert _same_disagreement(TokenDiff("changed", "500", "600", True), TokenDiff("changed", "500", "6o0", True),
                              0.75)
    assert _same_disagreement(TokenDiff("missing", "cream", None, False), TokenDiff("missing", "crean", None, False),
                              0.75)
    assert not _same_disagreement(TokenDiff("invented", None, "13", True), TokenDiff("invented", None, "18", True),
                                  0.75)


def test_a_token_read_on_each_image_in_turn_is_jitter():
    from packshot.qa.text import TokenDiff, _mirrored

    # read on the cut-out only, then on the frame only: both show it
    assert _mirrored(TokenDiff("missing", "seudad", None, False), TokenDiff("invented", None, "seudad", False), 0.75)
    assert _mirrored(TokenDiff("invented", None, "eeu", False), TokenDiff("missing", "eeu", None, False), 0.75)
    # a word removed from the frame is missing from it both times
    assert not _mirrored(TokenDiff("missing", "cream", None, False), TokenDiff("missing", "cream", None, False), 0.75)
    assert not _mirrored(TokenDiff("changed", "64", "84", True), TokenDiff("changed", "64", "84", True), 0.75)
