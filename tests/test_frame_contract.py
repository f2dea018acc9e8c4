"""The typed frame contract: render returns what later stages need as typed fields, relight and qa
read those fields (never render's provenance) and never place the product again."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from packshot.condition import condition, parse_brief
from packshot.ops.morphology import product_interior
from packshot.ops.placement import place_product
from packshot.qa import qa_frame, reference_of
from packshot.qa.colour import interior_mask as qa_interior
from packshot.qa.frames import warp_premultiplied
from packshot.relight import RelightConfig, interior_mask as relight_interior, relight
from packshot.render import render
from packshot.types import Frame, FrameLayers, PlateMatch, RegionLayer, Support

from test_render_fixtures import sample_cutout


@pytest.fixture(scope="module")
def bottle():
    return sample_cutout("bottle", seed=5, size=256)


def _frame(cutout, preset="studio-white", size="320x300", **scene):
    brief = parse_brief({"scenes": [{"name": "s", "preset": preset, "sizes": [size], **scene}]})
    (spec,) = condition(brief, cutout, None, "sku")
    return render(spec, cutout)


def test_render_carries_placement_light_support_floor_and_the_product_layer(bottle):
    frame = _frame(bottle, preset="pastel-podium", floor=0.4)
    m = np.asarray(frame.provenance["render"]["matrix"])
    assert frame.matrix is not None and np.array_equal(frame.matrix, m)
    assert frame.light == frame.spec.light and frame.floor_y == float(frame.spec.floor_y)
    assert isinstance(frame.support, Support)
    assert frame.support.to_dict() == frame.provenance["render"]["scene"]["support"]
    assert frame.support.kind != "all"  # a podium's top
    assert frame.plate_match is None and frame.grain == 0.0
    # the product layer is the cut-out placed by the frame's matrix, over its region only
    placed = place_product(bottle.rgb, bottle.alpha, frame.matrix, frame.size)
    layer = frame.layers.product
    x0, y0, x1, y1 = layer.box
    assert layer.data.shape == (y1 - y0, x1 - x0, 4) and layer.data.size < frame.rgb.size
    assert np.array_equal(layer.window(slice(0, 300), slice(0, 320), frame.size), placed.rgba)
    # the background without the product, premultiplied, is recovered on demand
    win = (slice(y0, y1), slice(x0, x1))
    bg = frame.background(*win)
    np.testing.assert_allclose(bg + layer.data[..., :3], frame.rgb[win], atol=1e-6)
    outside = (slice(0, 10), slice(0, 10))
    assert np.array_equal(frame.background(*outside), frame.rgb[outside])


def test_relight_reads_typed_fields_not_render_provenance_and_never_places(bottle, monkeypatch):
    frame = _frame(bottle, preset="marble", floor=0.6)
    expected = relight(frame, bottle, None)
    # a frame whose render record says nothing: the same result from the typed fields alone
    bare = dataclasses.replace(frame, provenance={"condition": frame.provenance["condition"]})
    import packshot.ops.placement as placement

    def no_placing(*a, **k):
        raise AssertionError("relight placed the product again")

    monkeypatch.setattr(placement, "place_product", no_placing)
    out = relight(bare, bottle, None)
    assert np.array_equal(out.rgb, expected.rgb)
    # its output keeps the locked product layer and adds the shadow (and, on a glossy floor, the reflection)
    assert out.layers.product is frame.layers.product and out.layers.flattened
    assert out.layers.shadow is not None and out.layers.shadow.data.ndim == 2
    assert 0 < out.layers.shadow.data.max() <= 0.95
    assert out.layers.reflection is not None and out.layers.reflection.channels == 4
    with pytest.raises(ValueError):
        out.background(slice(0, 4), slice(0, 4))  # the product was re-shaded: not recoverable


def test_relight_uses_the_frame_fields_it_is_given(bottle):
    """The light and the support surface are read from the frame: changing them changes the result."""
    frame = _frame(bottle, preset="studio-white", lighting={"azimuth": 10, "elevation": 30})
    cfg = RelightConfig(reflection=False, grain=False, light_wrap=0, shading=False)
    base = relight(frame, bottle, None, cfg)
    other_light = relight(dataclasses.replace(frame, light=dataclasses.replace(frame.light, azimuth=170)),
                          bottle, None, cfg)
    assert not np.array_equal(base.rgb, other_light.rgb)
    nowhere = Support(kind="below", y=float(frame.size[1]) + 50, soft=1.0)  # no floor in the frame
    no_floor = relight(dataclasses.replace(frame, support=nowhere), bottle, None, cfg)
    assert no_floor.layers.shadow is None


def test_relight_refuses_a_frame_without_layers(bottle):
    frame = _frame(bottle)
    with pytest.raises(ValueError, match="no layers"):
        relight(dataclasses.replace(frame, layers=None), bottle, None)


def test_qa_frame_reads_the_product_layer_as_the_reference(bottle):
    frame = relight(_frame(bottle), bottle, None)
    ref_rgb, ref_alpha = reference_of(frame)
    want_rgb, want_alpha = warp_premultiplied(bottle.rgb, bottle.alpha, frame.matrix, frame.size)
    assert np.array_equal(ref_rgb, want_rgb) and np.array_equal(ref_alpha, want_alpha)
    # (the reference equals the disk path's warp, so qa_frame's report is qa's on these arrays)
    report = qa_frame(frame)
    assert report.verdict in ("pass", "review") and report.metrics["colour"]["mean_de"] <= 3.0
    assert report.metrics["silhouette"]["declared_iou"] > 0.99


def test_one_interior_definition():
    rng = np.random.default_rng(0)
    alpha = np.zeros((80, 90), np.float32)
    alpha[10:70, 15:80] = 1.0
    alpha[30:40, 30:40] = rng.random((10, 10)) * 0.99
    for r in (0, 2, 5):
        assert np.array_equal(relight_interior(alpha, r), product_interior(alpha, r))
        assert np.array_equal(qa_interior(alpha, r), product_interior(alpha, r, fallback=True))
    assert np.array_equal(qa_interior(alpha, 4), relight_interior(alpha, 4))  # a large product: the same pixels
    tiny = np.zeros((20, 20), np.float32)
    tiny[8:12, 8:12] = 1.0
    assert not relight_interior(tiny, 3).any() and qa_interior(tiny, 3).any()  # qa falls back on tiny products


def test_support_and_plate_match_round_trip():
    for d in ({"kind": "all"}, {"kind": "below", "y": 200.0, "soft": 12.0}, {"kind": "below", "y": 3.0},
              {"kind": "ellipse", "cx": 1.0, "cy": 2.0, "rx": 3.0, "ry": 4.0},
              {"kind": "polygon", "points": [[0.0, 0.0], [4.0, 0.0], [4.0, 3.0]]}):
        assert Support.from_dict(d).to_dict() == d
    with pytest.raises(ValueError):
        Support.from_dict({"kind": "cloud"})
    m = {"gains": [1.1, 1.0, 0.9], "contrast": 1.02, "blur": 0.5, "noise": 0.01}
    assert PlateMatch.from_dict(m).to_dict() == m and PlateMatch.from_dict({}) is None


def test_region_layer_windows():
    layer = RegionLayer((2, 3, 6, 5), np.arange(2 * 4 * 2, dtype=np.float32).reshape(2, 4, 2))
    full = layer.window(slice(0, 8), slice(0, 10), (10, 8))
    assert full.shape == (8, 10, 2) and full[3:5, 2:6].tolist() == layer.data.tolist() and full.sum() == layer.data.sum()
    assert np.array_equal(layer.window(slice(4, 8), slice(0, 4), (10, 8), channel=1), full[4:8, 0:4, 1])
    frame_layers = FrameLayers(product=layer)
    assert frame_layers.shadow is None and not frame_layers.flattened
    assert Frame.__dataclass_fields__["layers"].default is None  # hand-made frames need no layers


@pytest.mark.slow
@pytest.mark.parametrize("photo_id", ["apc15_elmers_glue"])
def test_relight_keeps_a_real_label_within_the_bound_in_every_preset(photos_dir, photo_id):
    """Issue 10 item 6: on a real label photo, the product interior's mean deltaE2000 against the
    cut-out (qa's measurement, on qa's interior) stays <= 3 in every preset after relight."""
    from packshot.condition import PRESETS
    from packshot.imaging import load_image
    from packshot.qa import QAConfig
    from packshot.qa.colour import measure_colour
    from packshot.segment import segment
    from packshot.understand import understand

    cut = segment(load_image(photos_dir / "images" / f"{photo_id}.jpg"))
    maps = understand(cut)
    brief = parse_brief({"scenes": [{"name": p, "preset": p, "sizes": ["512x512"]} for p in PRESETS]})
    worst = {}
    for spec in condition(brief, cut, maps, "sku"):
        frame = relight(render(spec, cut, maps), cut, maps, overwrite_input=True)
        ref_rgb, ref_alpha = reference_of(frame)
        de = measure_colour(frame.rgb, ref_rgb, ref_alpha, erode_px=QAConfig().interior_erode_px).mean_de
        worst[spec.preset] = de
    assert max(worst.values()) <= 3.0, worst


def test_without_layers_shares_everything_but_the_layers(bottle):
    frame = relight(_frame(bottle, preset="marble", floor=0.6), bottle, None)
    assert frame.layers is not None and frame.layers.shadow is not None
    bare = frame.without_layers()
    assert bare.layers is None and frame.layers is not None  # the original keeps its layers
    assert bare.rgb is frame.rgb and bare.product_alpha is frame.product_alpha and bare.matrix is frame.matrix
    assert bare.provenance == frame.provenance and bare.light == frame.light and bare.support == frame.support
    assert bare.without_layers() is bare
    with pytest.raises(ValueError, match="no layers"):
        bare.background(slice(0, 4), slice(0, 4))


@pytest.mark.parametrize("canvas,box,f", [((512, 384), (37, 51, 301, 333), 4), ((512, 384), (0, 0, 512, 384), 2),
                                          ((510, 384), (40, 8, 200, 99), 4), ((64, 64), (3, 5, 9, 60), 1)])
def test_shadow_grid_alpha_is_the_full_canvas_resize(canvas, box, f):
    """relight area-averages only the product's region onto the shadow grid: the same cells as
    resizing the full-size alpha (which a large frame does not build)."""
    import cv2

    from packshot.relight import _Product, _grid_alpha

    rng = np.random.default_rng(sum(box))
    x0, y0, x1, y1 = box
    data = rng.random((y1 - y0, x1 - x0, 4), np.float32)
    product = _Product(RegionLayer(box, data), canvas)
    expected = product.full_alpha()
    if f > 1:
        expected = cv2.resize(expected, (canvas[0] // f, canvas[1] // f), interpolation=cv2.INTER_AREA)
    assert np.array_equal(_grid_alpha(product, f), expected)


def test_support_below_broadcast_is_the_same_mask():
    from packshot.ops.geometry import support_mask

    below = Support.from_dict({"kind": "below", "y": 200.5, "soft": 12.0})
    full = support_mask(below, (300, 260))
    view = support_mask(below, (300, 260), broadcast=True)
    assert full.flags.writeable and not view.flags.writeable and view.strides[1] == 0
    assert np.array_equal(full, view) and full.dtype == view.dtype == np.float32
