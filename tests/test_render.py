"""render stage: placement of the locked product, studio and plate renderers, frame I/O, determinism."""

from __future__ import annotations

import json

import numpy as np
import pytest

from packshot.condition import PRESETS, condition, parse_brief
from packshot.imaging import load_image, save_image, srgb_to_linear
from packshot.relight import relight
from packshot.render import RENDERERS, render
from packshot.render.compose import place_product
from packshot.render.io import frame_paths, load_frame, save_frame
from packshot.types import alpha_bbox

from test_render_fixtures import product_maps_for, sample_cutout


@pytest.fixture(scope="module")
def cutout():
    return sample_cutout("bottle", seed=4, size=256)


@pytest.fixture(scope="module")
def maps(cutout):
    return product_maps_for(cutout.alpha)


def _spec(cutout, scene, size="320x320", sku="sku"):
    brief = parse_brief({"scenes": [{"name": "s", "sizes": [size], **scene}]})
    return condition(brief, cutout, None, sku)


def test_registry_names():
    assert "studio" in RENDERERS and "plate" in RENDERERS
    with pytest.raises(ValueError, match="unknown render backend"):
        RENDERERS.create("diffusion-xl")


def test_translation_keeps_product_pixels_exactly(cutout):
    m = np.array([[1.0, 0, 17.0], [0, 1.0, -9.0]])
    placed = place_product(cutout.rgb, cutout.alpha, m, (300, 260))
    h, w = cutout.alpha.shape
    src = cutout.alpha > 0.999
    ys, xs = np.nonzero(src)
    ok = (ys - 9 >= 0) & (xs + 17 < 300) & (ys - 9 < 260)
    ys, xs = ys[ok], xs[ok]
    np.testing.assert_allclose(placed.rgb[ys - 9, xs + 17], cutout.rgb[ys, xs], atol=1e-5)
    np.testing.assert_allclose(placed.alpha[ys - 9, xs + 17], cutout.alpha[ys, xs], atol=1e-6)


def test_downscale_is_filtered_not_aliased(cutout):
    # a fine checkerboard shrunk 4x must average to grey, not alias into stripes
    checker = ((np.indices((256, 256)).sum(axis=0) % 2) * 0.8 + 0.1).astype(np.float32)
    rgb = np.repeat(checker[..., None], 3, axis=2)
    alpha = np.ones((256, 256), np.float32)
    placed = place_product(rgb, alpha, np.array([[0.25, 0, 0], [0, 0.25, 0]]), (64, 64))
    core = placed.rgb[8:56, 8:56]
    assert abs(float(core.mean()) - 0.5) < 0.02 and float(core.std()) < 0.02


def test_product_box_matches_alpha_and_base_on_floor(cutout):
    for spec in _spec(cutout, {"preset": "studio-white", "placement": {"anchor": [0.4, 0.85], "scale": 0.5}}):
        frame = render(spec, cutout)
        assert frame.rgb.shape == (320, 320, 3) and frame.rgb.dtype == np.float32
        assert frame.product_box == alpha_bbox(frame.product_alpha)
        x0, y0, x1, y1 = frame.product_box
        assert abs(y1 - spec.floor_y) <= 1.5
        assert abs((x0 + x1) / 2 - 0.4 * 320) <= 2
        # the product's share of the canvas follows the placement scale
        assert 0.45 * 320 <= max(x1 - x0, y1 - y0) <= 0.55 * 320


def test_composite_shows_the_product_unchanged(cutout):
    (spec,) = _spec(cutout, {"preset": "studio-grey"})
    frame = render(spec, cutout)
    placed = place_product(cutout.rgb, cutout.alpha, np.array(frame.provenance["render"]["matrix"]), spec.canvas)
    inside = placed.alpha >= 1.0
    assert inside.sum() > 1000
    np.testing.assert_allclose(frame.rgb[inside], placed.rgb[inside], atol=1e-6)


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_every_preset_renders(cutout, maps, preset):
    (spec,) = _spec(cutout, {"preset": preset}, size="256x256")
    frame = relight(render(spec, cutout), cutout, maps)
    assert np.isfinite(frame.rgb).all() and frame.rgb.min() >= 0 and frame.rgb.max() <= 1
    # the scene is not flat: a sweep has fall-off, textures and podiums add structure
    background = frame.rgb[frame.product_alpha < 0.01]
    assert float(background.std()) > 0.005
    assert frame.provenance["relight"]["product_delta_e2000_mean"] <= 3.0


def test_presets_look_different(cutout):
    means = {}
    for preset in ("studio-white", "festive", "winter", "wood"):
        (spec,) = _spec(cutout, {"preset": preset}, size="200x200")
        means[preset] = render(spec, cutout).rgb.mean(axis=(0, 1))
    assert means["studio-white"].mean() > means["festive"].mean() + 0.3
    assert means["festive"][0] > means["festive"][2] * 2  # red
    assert means["winter"][2] > means["winter"][0]  # cool blue


def test_podium_supports_the_product(cutout):
    (spec,) = _spec(cutout, {"preset": "pastel-podium"})
    frame = render(spec, cutout)
    scene = frame.provenance["render"]["scene"]
    assert scene["support"]["kind"] == "ellipse"
    px0, py0, px1, py1 = scene["podium_box"]
    x0, y0, x1, y1 = frame.product_box
    assert px0 < x0 and px1 > x1 and py0 < y1 < py1  # base stands on the podium top


def _plate(tmp_path, edge=0.55):
    """A generated room: warm wall, darker table from ``edge`` down, sensor noise."""
    rng = np.random.default_rng(0)
    h, w = 360, 480
    plate = np.zeros((h, w, 3), np.float32)
    row = int(edge * h)
    plate[:row] = np.array([0.85, 0.78, 0.66], np.float32)
    plate[row:] = np.array([0.55, 0.40, 0.28], np.float32)
    plate *= np.linspace(1.05, 0.85, w, dtype=np.float32)[None, :, None]
    plate = np.clip(plate + rng.normal(0, 0.02, plate.shape).astype(np.float32), 0, 1)
    path = tmp_path / "plate.png"
    save_image(path, srgb_to_linear(plate))
    return path


def test_plate_renderer(tmp_path, cutout, maps):
    _plate(tmp_path)
    brief = parse_brief({"scenes": [{"name": "room", "plate": "plate.png", "sizes": ["400x300"],
                                     "placement": {"scale": 0.6}}]}, tmp_path)
    (spec,) = condition(brief, cutout, maps, "sku")
    assert spec.floor_y == pytest.approx((0.55 + 0.06) * 300, abs=6)  # just in front of the table edge
    frame = relight(render(spec, cutout, maps, backend="studio"), cutout, maps)  # a plate forces "plate"
    prov = frame.provenance["render"]
    assert prov["backend"] == "plate"
    match = prov["scene"]["match"]
    assert match["gains"][0] > match["gains"][2]  # the warm room warms the product a little
    assert match["noise"] > 0.005  # the plate is noisier than the clean product
    assert frame.product_box[3] == pytest.approx(spec.floor_y, abs=1.5)
    assert frame.provenance["relight"]["product_delta_e2000_mean"] <= 3.0
    # the background is the plate (cropped to 4:3 and resized), untouched far from the product
    assert frame.rgb[5:40, 5:60].mean() > frame.rgb[260:295, 5:60].mean()


def test_save_and_load_frame(tmp_path, cutout, maps):
    spec = _spec(cutout, {"preset": "marble", "variants": 2})[1]
    frame = relight(render(spec, cutout), cutout, maps)
    cut_path = tmp_path / "in" / "cutout.png"
    save_image(cut_path, cutout.rgb, alpha=cutout.alpha)
    sidecar = save_frame(tmp_path / "out", frame, cut_path)
    png, json_path = frame_paths(tmp_path / "out", spec)
    assert sidecar == json_path == tmp_path / "out" / "sku" / "s" / "v1.json" and png.exists()
    data = json.loads(sidecar.read_text())
    for key in ("sku", "scene", "variant", "size", "product_box", "product_alpha", "cutout", "placement",
                "source_kind", "provenance"):
        assert key in data
    assert data["variant"] == "v1" and data["size"] == [320, 320]
    assert (sidecar.parent / data["product_alpha"]).exists()
    assert (sidecar.parent / data["cutout"]).resolve() == cut_path.resolve()
    assert np.array(data["placement"]["matrix"]).shape == (2, 3)
    assert data["provenance"]["relight"]["product_delta_e2000_mean"] <= 3.0
    loaded = load_frame(sidecar)
    assert loaded.product_box == frame.product_box
    assert alpha_bbox(loaded.product_alpha) == frame.product_box
    assert np.abs(loaded.rgb - frame.rgb).max() < 0.02  # 8-bit sRGB round trip
    assert loaded.spec.light.azimuth == pytest.approx(spec.light.azimuth)


def test_same_inputs_and_seed_give_the_same_bytes(tmp_path, cutout, maps):
    outputs = []
    for run in range(2):
        for spec in _spec(cutout, {"preset": "studio-grey", "variants": 2, "floor": 0.6}):
            frame = relight(render(spec, cutout), cutout, maps)
            save_frame(tmp_path / f"run{run}", frame, None)
        folder = tmp_path / f"run{run}" / "sku" / "s"
        outputs.append({p.name: p.read_bytes() for p in sorted(folder.iterdir())})
    assert outputs[0].keys() == outputs[1].keys() and len(outputs[0]) == 6
    assert outputs[0] == outputs[1]
    # and another seed changes the variant
    brief = parse_brief({"scenes": [{"name": "s", "sizes": ["320x320"], "preset": "studio-grey", "variants": 2,
                                     "seed": 99}]})
    other = condition(brief, cutout, None, "sku")[1]
    assert other.light != _spec(cutout, {"preset": "studio-grey", "variants": 2})[1].light


def test_gradients_do_not_band(cutout):
    (spec,) = _spec(cutout, {"preset": "studio-grey"}, size="256x256")
    frame = render(spec, cutout)
    png = load_image  # noqa: F841 - encoding path is imaging.linear_to_srgb8 with dither
    from packshot.imaging import linear_to_srgb8

    column = linear_to_srgb8(frame.rgb)[:60, 10, 1].astype(int)  # the wall's smooth fall-off
    # dithered: no long runs of one value while the gradient moves by several steps
    runs, longest, current = [], 1, 1
    for a, b in zip(column[:-1], column[1:]):
        current = current + 1 if a == b else 1
        longest = max(longest, current)
    assert column.max() - column.min() >= 3
    assert longest <= 8


def test_encoded_frames_are_byte_stable_across_processes(tmp_path, cutout):
    """The same frame encoded in another process, a second later, gives the same PNG bytes."""
    import subprocess
    import sys
    import time

    from packshot.imaging import encode_image

    (spec,) = _spec(cutout, {"preset": "studio-white"}, size="96x96")
    rgb = render(spec, cutout).rgb
    np.save(tmp_path / "rgb.npy", rgb)
    here = encode_image(rgb, "PNG")
    time.sleep(1.1)  # a timestamp in any header would now differ
    code = ("import sys, numpy as np; from packshot.imaging import encode_image; "
            f"sys.stdout.buffer.write(encode_image(np.load({str(tmp_path / 'rgb.npy')!r}), 'PNG'))")
    there = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True).stdout
    assert there == here


def test_plate_perspective_scales_with_depth(tmp_path, cutout):
    _plate(tmp_path, edge=0.5)
    heights = {}
    for y in (0.62, 0.9):
        brief = parse_brief({"scenes": [{"name": "room", "plate": "plate.png", "sizes": ["400x300"],
                                         "plate_floor_line": 0.62, "plate_horizon": 0.3,
                                         "placement": {"anchor": [0.5, y], "scale": 0.4}}]}, tmp_path)
        (spec,) = condition(brief, cutout, None, "sku")
        frame = render(spec, cutout, backend="plate")
        heights[y] = frame.product_box[3] - frame.product_box[1]
        assert frame.product_box[3] == pytest.approx(y * 300, abs=2)
    # nearer the camera (lower in the plate) looks bigger: (0.9 - 0.3) / (0.62 - 0.3)
    assert heights[0.9] / heights[0.62] == pytest.approx((0.9 - 0.3) / (0.62 - 0.3), rel=0.08)


@pytest.mark.parametrize("sigma", [1.0, 2.0, 3.0])
def test_plate_softness_estimate(sigma):
    import cv2

    from packshot.render.plate import estimate_softness

    img = np.zeros((160, 160, 3), np.float32)
    img[:, 80:] = 0.8
    img[80:, :40] = 0.4
    assert estimate_softness(cv2.GaussianBlur(img, (0, 0), sigma)) == pytest.approx(sigma, rel=0.15)


@pytest.mark.parametrize("sigma", [0.005, 0.02])
def test_plate_noise_estimate(sigma):
    from packshot.imaging import linear_to_srgb
    from packshot.render.plate import estimate_noise

    rng = np.random.default_rng(1)
    flat = linear_to_srgb(np.full((160, 160, 3), 0.3, np.float32))
    noisy = np.clip(flat + rng.normal(0, sigma, (160, 160, 1)).astype(np.float32), 0, 1)
    assert estimate_noise(srgb_to_linear(noisy)) == pytest.approx(sigma, rel=0.1)


def test_soft_plate_softens_the_product(tmp_path, cutout, maps):
    import cv2

    path = _plate(tmp_path)
    soft = cv2.GaussianBlur(load_image(path).rgb, (0, 0), 2.5)
    save_image(tmp_path / "soft.png", soft)
    brief = parse_brief({"scenes": [{"name": "room", "plate": "soft.png", "sizes": ["480x360"]}]}, tmp_path)
    (spec,) = condition(brief, cutout, maps, "sku")
    frame = render(spec, cutout, maps)
    match = frame.provenance["render"]["scene"]["match"]
    assert match["blur"] > 0.8
    out = relight(frame, cutout, maps)
    assert out.provenance["relight"]["product_delta_e2000_mean"] <= 3.0


def test_renderers_declare_their_batch_as_a_registered_trait():
    """The pipeline batches a scene's variants only for a renderer registered with ``batch``
    (a large canvas from any other renderer is never held several times over)."""
    from packshot.render import RENDERERS

    assert RENDERERS.trait("diffusion", "batch") == 4
    assert RENDERERS.trait("studio", "batch", 1) == 1 and RENDERERS.trait("plate", "batch", 1) == 1
    assert RENDERERS.trait("no-such", "batch", 1) == 1
