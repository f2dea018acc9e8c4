"""Relight by an IC-Light-style model (tiny random UNet with the fc / fbc channel layout)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

pytest.importorskip("diffusers")

from packshot.condition import condition, parse_brief  # noqa: E402
from packshot.errors import InputError  # noqa: E402
from packshot.relight import interior_mask, mean_delta_e  # noqa: E402
from packshot.relight.model import RELIGHTERS, ModelRelightConfig, detail_transfer, relight_model  # noqa: E402
from packshot.render import render  # noqa: E402
from packshot.render.compose import place_product  # noqa: E402

import diffusion_tiny as tiny  # noqa: E402
from test_render_fixtures import product_maps_for, sample_cutout  # noqa: E402

CONFIG = ModelRelightConfig(steps=2, work_size=64, max_delta_e=2.0)


@pytest.fixture(scope="module")
def scene():
    cut = sample_cutout("bottle", seed=3, size=128)
    maps = product_maps_for(cut.alpha)
    brief = parse_brief({"scenes": [{"preset": "studio-white", "sizes": ["96x96"], "seed": 5}]})
    frame = render(condition(brief, cut, maps, "b")[0], cut, maps)
    placed = place_product(cut.rgb, cut.alpha, np.array(frame.provenance["render"]["matrix"]), frame.spec.canvas)
    return cut, maps, frame, placed


@pytest.mark.parametrize("variant", ["fc", "fbc"])
def test_model_relight_changes_only_the_product_within_the_bound(scene, variant):
    cut, maps, frame, placed = scene
    out = relight_model(frame, cut, maps, backend=f"iclight:{tiny.tiny_iclight(variant)}", config=CONFIG)
    rec = out.provenance["relight"]
    assert rec["backend"] == f"iclight-{variant}" and len(rec["model"]["weights_sha256"]) == 64
    outside = placed.alpha == 0.0
    assert np.array_equal(out.rgb[outside], frame.rgb[outside])
    inside = interior_mask(placed.alpha, 2)
    assert not np.array_equal(out.rgb[inside], frame.rgb[inside])
    idx = np.flatnonzero(inside)
    de, _ = mean_delta_e(out.rgb, placed.rgb, idx)
    assert de <= CONFIG.max_delta_e + 0.05
    assert rec["product_delta_e2000_mean"] <= CONFIG.max_delta_e + 1e-3
    assert out.source_kind == "diffusion"


def test_model_relight_is_deterministic(scene):
    cut, maps, frame, _ = scene
    backend = f"iclight:{tiny.tiny_iclight('fc')}"
    a = relight_model(frame, cut, maps, backend=backend, config=CONFIG)
    b = relight_model(frame, cut, maps, backend=backend, config=CONFIG)
    assert a.rgb.tobytes() == b.rgb.tobytes()


def test_detail_transfer_keeps_the_originals_fine_detail():
    rng = np.random.default_rng(0)
    original = np.clip(0.4 + 0.2 * rng.standard_normal((64, 64, 3)).astype(np.float32), 0, 1)
    relit = np.clip(cv2.GaussianBlur(original, (0, 0), 4) * 0.6 + 0.1, 0, 1)  # darker, blurred: the model's output
    out = detail_transfer(relit, original, sigma=3.0)

    def high(a):
        return a - cv2.GaussianBlur(a, (0, 0), 3.0)

    assert np.abs(high(out) - high(original)).mean() < 0.25 * np.abs(high(relit) - high(original)).mean()
    low_err = np.abs(cv2.GaussianBlur(out, (0, 0), 6) - cv2.GaussianBlur(relit, (0, 0), 6)).mean()
    assert low_err < 0.02


def test_a_plain_unet_is_refused_clearly(scene):
    cut, maps, frame, _ = scene
    with pytest.raises(InputError, match="8 \\(fc\\) or 12 \\(fbc\\)"):
        relight_model(frame, cut, maps, backend=f"iclight:{tiny.tiny_iclight('plain')}", config=CONFIG)
    with pytest.raises(InputError, match="does not exist"):
        relight_model(frame, cut, maps, backend="iclight:/no/such/iclight", config=CONFIG)
    assert "iclight:ARG" in RELIGHTERS.names()
