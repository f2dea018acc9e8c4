"""QA on flat-lay frames: an untouched top-down frame of a generated product passes, the same frame
with its cap / top region grown by 5 % is caught by the silhouette check.

The first flat-lay renderer ringed the outline with a tight dark contact line; qa.silhouette read
it as the outline grown outward (0.9 px on the white box below: "review" on an untouched frame).
"""

from __future__ import annotations

import numpy as np
import pytest

from packshot.condition import condition, parse_brief
from packshot.qa import qa
from packshot.qa.frames import warp_premultiplied
from packshot.qa.planted import CAP_GROWTH, _CAP_SHARE, _grow_region, _maps_from_alpha, base_label, cutout_of
from packshot.relight import relight
from packshot.render import render
from packshot.types import Cutout, alpha_bbox

SIZE = 384


def _flatlay_frame(preset: str, kind: str, seed: int):
    cut_rgb, cut_alpha, sample = cutout_of(kind, seed, base_label(seed), SIZE)
    cut = Cutout(rgb=cut_rgb, alpha=cut_alpha, image=cut_rgb, bbox=alpha_bbox(cut_alpha), confidence=1.0)
    brief = parse_brief({"scenes": [{"name": "s", "preset": preset, "sizes": [f"{SIZE}x{SIZE}"]}]})
    (spec,) = condition(brief, cut, None, "sku")
    frame = relight(render(spec, cut), cut, _maps_from_alpha(cut_alpha))
    assert frame.provenance["render"]["scene"]["view"] == "top-down"
    assert frame.layers.shadow is not None  # it does cast its shadows: the frame is not a bare cut-out
    matrix = np.asarray(frame.provenance["render"]["matrix"], np.float64)
    ref_rgb, ref_alpha = warp_premultiplied(cut_rgb, cut_alpha, matrix, (SIZE, SIZE))
    return frame, ref_rgb, ref_alpha, sample.artwork


@pytest.mark.parametrize("preset,kind,seed", [("flatlay-white", "box", 1), ("flatlay-wood", "box", 1),
                                              ("flatlay-linen", "pouch", 3)])
def test_untouched_flatlay_passes_and_grown_cap_is_caught(preset, kind, seed):
    frame, ref_rgb, ref_alpha, master = _flatlay_frame(preset, kind, seed)
    untouched = qa(frame.rgb, frame.product_alpha, ref_rgb, ref_alpha, master)
    assert untouched.verdict == "pass", (preset, untouched.reasons)
    x0, y0, x1, y1 = alpha_bbox(ref_alpha)
    cap = (x0, y0, x1, int(np.ceil(y0 + (y1 - y0) * _CAP_SHARE[kind])))
    grown, _ = _grow_region(frame.rgb, ref_alpha, cap, CAP_GROWTH)
    report = qa(grown, frame.product_alpha, ref_rgb, ref_alpha, master)
    assert report.verdict != "pass", preset
    assert any(r.startswith("silhouette.growth") for r in report.reasons), (preset, report.reasons)


def test_flatlay_contact_shadow_is_soft():
    """Right outside the outline on the side toward the key (where no drop shadow falls) the surface
    darkens gently: 2 px out it is less than 8 % darker than 9 px out (light wrap and edge
    mixing give ~4 % with no contact shadow at all; the first renderer's dark line gave 11 %)."""
    frame, _, ref_alpha, _ = _flatlay_frame("flatlay-white", "box", 1)
    x0, y0, x1, y1 = alpha_bbox(ref_alpha)
    lum = frame.rgb.mean(axis=2)
    rows = slice(y0 + 40, y1 - 40)  # the left side faces the key (top left)
    near, far = lum[rows, x0 - 2].mean(), lum[rows, x0 - 9].mean()
    assert near < far  # the soft occlusion is there (nothing floats)
    assert near > 0.92 * far, (near, far)
