"""A prompt file or a manifest row can ask for a holding hand to be cut away (``exclude_hands``),
the batch paths' equivalent of ``packshot cutout --exclude-hands`` (issue 10: hands holding a
product are part of the cut-out gate's work)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from packshot.catalogue.manifest import parse_prompt
from packshot.errors import InputError
from packshot.imaging import load_image, save_image
from packshot.samples.held import make_held_product
from packshot.segment.hands import prompted
from packshot.segment.review import load_prompt_file
from packshot.types import Prompt


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a > 0.5, b > 0.5
    return float((a & b).sum()) / max(float((a | b).sum()), 1.0)


def test_prompt_file_and_manifest_read_exclude_hands(tmp_path):
    photo = tmp_path / "held.png"
    (tmp_path / "held.prompt.json").write_text(json.dumps({"exclude_hands": True}))
    p = load_prompt_file(photo)
    assert p == Prompt(exclude_hands=True) and p.empty and not p.nothing
    assert not prompted(p)  # nothing drawn: the gate's second estimate still votes
    assert parse_prompt('{"exclude_hands": true, "box": [1, 2, 30, 40]}') == Prompt(box=(1, 2, 30, 40),
                                                                                   exclude_hands=True)
    assert prompted(parse_prompt("1,2,30,40"))
    assert parse_prompt('{"exclude_hands": false}') is None
    (tmp_path / "held.prompt.json").write_text(json.dumps({"exclude_hands": "yes"}))
    with pytest.raises(InputError, match="held.prompt.json.*exclude_hands"):
        load_prompt_file(photo)
    with pytest.raises(ValueError, match="exclude_hands"):
        parse_prompt('{"exclude_hands": 1}')


def test_prompt_cache_key_is_unchanged_without_exclude_hands():
    from packshot.catalogue.plan import digest

    box = Prompt(box=(1, 2, 30, 40), points=((5.0, 6.0, 1),))
    # the form cut-out keys had before the field (every dataclass field of the prompt, then box and points)
    assert digest("c", box.key()) == digest("c", {"box": (1, 2, 30, 40), "points": ((5.0, 6.0, 1),)})
    assert box.key() != Prompt(box=(1, 2, 30, 40), points=((5.0, 6.0, 1),), exclude_hands=True).key()


@pytest.mark.slow
def test_run_with_a_prompt_file_cuts_the_hand_away(tmp_path):
    """``packshot run`` (the catalogue engine's cut-out unit) honours the prompt file."""
    from typer.testing import CliRunner

    from packshot.cli import app

    s = make_held_product(1004, tone=1)
    photos = tmp_path / "photos"
    photos.mkdir()
    save_image(photos / "held.png", s.image)
    brief = tmp_path / "brief.yaml"
    brief.write_text("scenes:\n  - name: hero\n    preset: studio-white\ndefaults:\n  sizes: ['256x256']\n"
                     "  variants: 1\n")
    res = CliRunner().invoke(app, ["run", str(photos / "held.png"), "-b", str(brief), "--out", str(tmp_path / "a"),
                                   "--orientation", "keep", "--workers", "1", "--no-gate"])
    assert res.exit_code == 0, res.output
    plain = load_image(tmp_path / "a" / "held" / "cutout.png")
    assert _iou(plain.alpha, s.mask) < 0.75  # the hand is kept as product without the request

    (photos / "held.prompt.json").write_text(json.dumps({"exclude_hands": True}))
    res = CliRunner().invoke(app, ["run", str(photos / "held.png"), "-b", str(brief), "--out", str(tmp_path / "b"),
                                   "--orientation", "keep", "--workers", "1"])
    assert res.exit_code == 0, res.output
    cut = load_image(tmp_path / "b" / "held" / "cutout.png")
    assert _iou(cut.alpha, s.mask) >= 0.94
    assert (tmp_path / "b" / "held" / "hero" / "v0.png").is_file()
