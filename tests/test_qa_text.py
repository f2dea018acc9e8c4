"""Token alignment of label text (no OCR: literal lines)."""

from __future__ import annotations

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
