"""A flat-lay scene tells the diffusion renderer its camera looks straight down (issue 10, pose)."""

from __future__ import annotations

from test_flatlay import _box, _upright_bottle

from packshot.condition import condition, parse_brief
from packshot.condition import FLATLAY_PROMPT
from packshot.render.pose import settle_cutout

BRIEF = {"scenes": [{"name": "oak", "preset": "wood", "prompt": "on an oak table, morning light"},
                    {"name": "bare", "preset": "studio-white"},
                    {"name": "own", "preset": "flatlay-linen", "prompt": "Top-down shot on linen"}],
         "defaults": {"sizes": ["128x128"], "variants": 1, "seed": 3}}


def test_routed_flatlay_scene_prompt_says_top_down():
    cut = settle_cutout(_box(), view="top-down")[0]
    specs = condition(parse_brief(BRIEF), cut, None, "sku")
    assert [s.preset for s in specs] == ["flatlay-wood", "flatlay-white", "flatlay-linen"]
    assert specs[0].prompt == f"{FLATLAY_PROMPT}, on an oak table, morning light"
    assert specs[1].prompt == FLATLAY_PROMPT  # an empty prompt still gets the camera
    assert specs[2].prompt == "Top-down shot on linen"  # the brief already says so: not repeated


def test_standing_product_keeps_the_briefs_prompt():
    cut = settle_cutout(_upright_bottle())[0]
    specs = condition(parse_brief(BRIEF), cut, None, "sku")
    assert [s.prompt for s in specs[:2]] == ["on an oak table, morning light", ""]
