"""Upright: the turn that makes a product upright, from its label text first, its shape second."""

from __future__ import annotations

import numpy as np
import pytest

from packshot.imaging import load_image
from packshot.samples import make_product
from packshot.segment import cutout_from_mask, segment
from packshot.segment.orientation import (BoxText, Orientation, estimate_orientation, resolve_orientation,
                                          shape_cue, turn_cutout)


def _turned(sample, k: int):
    """The sample photographed turned clockwise by k degrees."""
    img = np.ascontiguousarray(np.rot90(sample.image, k=-(k // 90)))
    mask = np.ascontiguousarray(np.rot90(sample.mask, k=-(k // 90)))
    return cutout_from_mask(img, mask, decontaminate=False)


@pytest.fixture(scope="module")
def labelled():
    return make_product("box", seed=3, size=(320, 320), label=("AURORA", "Oat Drink", "250 ml"))


@pytest.mark.parametrize("k", [0, 90, 180, 270])
def test_label_text_gives_the_turn(labelled, k):
    o = estimate_orientation(_turned(labelled, k))
    assert not o.uncertain, o.evidence
    assert o.source == "text" and o.turn == (360 - k) % 360, o.evidence


def test_a_turned_bottle_is_turned_back_and_upright_is_kept():
    s = make_product("bottle", seed=8, size=(320, 320), label=("NORDLYS", "Apple Juice", "1 litre"))
    upright = estimate_orientation(_turned(s, 0))
    assert upright.turn == 0 and not upright.uncertain
    o = estimate_orientation(_turned(s, 180))
    assert o.turn == 180 and not o.uncertain, o.evidence
    back = turn_cutout(_turned(s, 180), o)
    assert np.array_equal(back.alpha, s.mask.astype(np.float32))


def _fake_text(weights):
    return BoxText(box=(0, 0, 10, 10), lines=(), weights={t: float(weights.get(t, 0.0)) for t in (0, 90, 180, 270)})


def test_disagreeing_or_weak_text_is_uncertain_and_kept_as_shot(labelled):
    cut = _turned(labelled, 0)
    o = estimate_orientation(cut, _fake_text({0: 12.0, 90: 9.0}))
    assert o.uncertain and o.turn == 0 and "orientation-uncertain" in o.flags
    weak = estimate_orientation(cut, _fake_text({180: 3.0}))
    assert weak.uncertain and weak.turn == 0
    strong = estimate_orientation(cut, _fake_text({180: 30.0, 0: 1.0}))
    assert strong.turn == 180 and not strong.uncertain


def test_shape_cue_reads_a_flat_base():
    s = make_product("bottle", seed=1, size=(256, 256))
    for k in (0, 90, 180, 270):
        mask = np.rot90(s.mask, k=-(k // 90))
        turn, sides = shape_cue(mask)
        assert turn == (360 - k) % 360, (k, sides)
    # a box has four flat sides: the shape says nothing
    box = np.zeros((100, 100), np.float32)
    box[20:80, 30:70] = 1
    assert shape_cue(box)[0] is None


def test_shape_never_turns_alone_and_vetoes_only_weak_text():
    s = make_product("bottle", seed=1, size=(256, 256))
    cut = _turned(s, 180)
    no_text = estimate_orientation(cut, _fake_text({}))
    # a silhouette alone never turns the photo (an upright lamp is wider at the top): it flags it
    assert no_text.source == "shape" and no_text.turn == 0 and no_text.uncertain
    assert no_text.evidence["shape_turn"] == 180
    upright = estimate_orientation(_turned(s, 0), _fake_text({}))
    assert upright.turn == 0 and not upright.uncertain
    # modest text one way, the silhouette the other way up: uncertain
    vetoed = estimate_orientation(cut, _fake_text({0: 10.0}))
    assert vetoed.uncertain and vetoed.turn == 0
    # plenty of confident text outweighs the silhouette
    assert estimate_orientation(cut, _fake_text({0: 60.0})).turn == 0
    # but sideways text on a product standing on its flat base (a strap, a spine) never turns it
    standing = _turned(s, 0)
    strap = estimate_orientation(standing, _fake_text({90: 60.0}))
    assert strap.turn == 0 and strap.uncertain


def test_overrides_and_turn_records_provenance(labelled):
    cut = _turned(labelled, 90)
    assert resolve_orientation("keep", cut).turn == 0
    assert resolve_orientation("270", cut).source == "override"
    with pytest.raises(ValueError, match="orientation must be one of"):
        resolve_orientation("sideways", cut)
    turned = turn_cutout(cut, Orientation(270, "override", False, {}))
    assert turned.size == (cut.size[1], cut.size[0])
    assert turned.provenance["params"]["orientation"]["turn"] == 270
    assert np.array_equal(turned.image, labelled.image)


@pytest.mark.slow
@pytest.mark.parametrize("photo_id,turn", [("apc15_elmers_glue", 180)])
def test_real_desk_photos_are_turned_upright(photos_dir, photo_id, turn):
    cut = segment(load_image(photos_dir / "images" / f"{photo_id}.jpg"))
    o = estimate_orientation(cut)
    assert o.turn == turn and not o.uncertain, o.evidence


def test_orientation_leaves_the_shared_ocr_engine_as_it_found_it(labelled):
    """rapidocr keeps a per-call option (use_cls=False) as the engine's default: after the
    orientation pass, later readings in the same process (understand, qa) must still use the
    line classifier, or the same frame gets a different qa overlay in a run and on its own."""
    from packshot.understand import ocr

    before = ocr.engine().use_cls
    estimate_orientation(_turned(labelled, 90))
    assert ocr.engine().use_cls == before


def test_a_steep_line_says_nothing_about_its_turn():
    """PP-OCR warps a steep box level before reading it: a line 74 degrees off level in the turned
    image was not read at that turn's way up (it turned an upright toy net sideways); a slanted
    line within 45 degrees of level still votes."""
    from types import SimpleNamespace

    from packshot.segment.orientation import OrientationConfig, _turn_lines

    def line(angle_deg, length=200.0, height=30.0, x=300.0, y=300.0):
        a = np.radians(angle_deg)
        d = np.array([np.cos(a), np.sin(a)]) * length
        n = np.array([-np.sin(a), np.cos(a)]) * height
        p0 = np.array([x, y])
        return [p0, p0 + d, p0 + d + n, p0 + n]

    result = SimpleNamespace(boxes=[line(-74.0), line(25.0)], txts=["KIN' EGGS", "SQUEAKIN"], scores=[0.95, 0.95])
    lines, total, tall = _turn_lines(result, 90, OrientationConfig(), (800, 800), (1.0, 1.0), (0, 0))
    assert [r.text for r in lines] == ["SQUEAKIN"]
    assert total == pytest.approx(lines[0].weight)
    # at turn 0 a steep line means print at a quarter turn: the quarter turns must be read
    _, _, tall0 = _turn_lines(result, 0, OrientationConfig(), (800, 800), (1.0, 1.0), (0, 0))
    assert tall0 == 1
