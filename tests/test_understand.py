"""The understand stage on generated products and primitives with exact geometry (no OCR here)."""

from __future__ import annotations

import numpy as np
import pytest

from packshot.errors import EmptyProductError, InputError
from packshot.samples import make_primitive, make_product
from packshot.types import Cutout, alpha_bbox
from packshot.understand import DEPTH_BACKENDS, UnderstandConfig, understand
from packshot.understand.depth import InflateDepth
from packshot.understand.edges import product_edges
from packshot.understand.io import load_maps, save_maps
from packshot.understand.materials import estimate_materials
from packshot.understand.normals import angular_error_deg, normals_from_depth
from packshot.understand.palette import extract_palette

NO_OCR = UnderstandConfig(ocr=False)


def cutout_of(image: np.ndarray, alpha: np.ndarray) -> Cutout:
    return Cutout(rgb=image, alpha=alpha, image=image, bbox=alpha_bbox(alpha), confidence=1.0)


# ------------------------------------------------------------------------------------ geometry
@pytest.mark.parametrize("kind", ["sphere", "cylinder", "box", "bottle"])
def test_normals_of_primitives_within_20_degrees(kind):
    p = make_primitive(kind, 256)
    est = InflateDepth().estimate(p.image, p.mask)
    inside = p.valid & (p.mask > 0.99)
    err = angular_error_deg(est.normals, p.normals)[inside]
    assert np.median(err) <= 20.0, f"{kind}: median normal error {np.median(err):.1f} deg"
    # normals are unit vectors facing the camera
    n = est.normals[inside]
    assert np.allclose(np.linalg.norm(n, axis=-1), 1.0, atol=1e-4)
    assert (n[:, 2] >= -1e-6).all()


def test_sphere_depth_is_a_hemisphere_larger_is_nearer():
    p = make_primitive("sphere", 256)
    est = InflateDepth().estimate(p.image, p.mask)
    h = est.height_px
    inside = p.valid & (p.mask > 0.99)
    # the centre is nearest, the rim farthest; the height is in pixels like the radius
    cy, cx = 128, 128
    assert h[cy, cx] == pytest.approx(h[inside].max(), rel=0.02)
    radius = 0.38 * 256
    assert h[cy, cx] == pytest.approx(radius, rel=0.08)
    true_h = p.depth - p.depth[inside].min()
    corr = np.corrcoef(h[inside], true_h[inside])[0, 1]
    assert corr > 0.97
    assert (h[p.mask == 0] == 0).all()


def test_normal_directions_x_right_y_up():
    p = make_primitive("sphere", 128)
    n = InflateDepth().estimate(p.image, p.mask).normals
    assert n[64, 100, 0] > 0.5  # right side faces right
    assert n[64, 28, 0] < -0.5  # left side faces left
    assert n[28, 64, 1] > 0.5  # top faces up (y up while rows go down)
    assert n[100, 64, 1] < -0.5


def test_normals_from_depth_of_a_plane():
    yy, xx = np.mgrid[0:32, 0:32].astype(np.float32)
    depth = 0.5 * xx  # nearer to the right: the surface faces left
    n = normals_from_depth(depth)
    expected = np.array([-0.5, 0.0, 1.0]) / np.linalg.norm([-0.5, 0.0, 1.0])
    assert np.allclose(n[10, 10], expected, atol=1e-5)


def test_holes_stay_holes_and_thin_parts_stay_thin():
    h, w = 200, 200
    alpha = np.zeros((h, w), np.float32)
    alpha[20:180, 20:180] = 1.0
    alpha[80:120, 80:120] = 0.0  # a hole
    alpha[100:102, 180:199] = 1.0  # a 2-px wire sticking out
    rgb = np.full((h, w, 3), 0.5, np.float32)
    est = InflateDepth().estimate(rgb, alpha)
    assert (est.height_px[80:120, 80:120] == 0).all()
    assert (est.height_px[100:102, 185:198] > 0).all()  # still product
    assert est.height_px[100:102, 185:198].max() < 2.5  # about its half-width: a thin rod, not a slab
    assert est.height_px.max() > 20


def test_onnx_backend_errors_name_the_file(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        DEPTH_BACKENDS.create(f"onnx:{tmp_path / 'missing.onnx'}")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(InputError, match="bad.onnx"):
        DEPTH_BACKENDS.create(f"onnx:{bad}")
    with pytest.raises(ValueError, match="needs an argument"):
        DEPTH_BACKENDS.create("onnx")


def test_onnx_backend_runs_a_midas_layout_model(tmp_path):
    """A tiny ONNX model with the MiDaS layout (1x3xHxW in, 1xHxW relative inverse depth out)."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    # output = mean over channels of the input: brighter = nearer
    node = helper.make_node("ReduceMean", ["image"], ["depth"], axes=[1], keepdims=0)
    graph = helper.make_graph([node], "tiny_depth",
                              [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 84, 84])],
                              [helper.make_tensor_value_info("depth", TensorProto.FLOAT, [1, 84, 84])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    path = tmp_path / "tiny.onnx"
    onnx.save(model, str(path))
    p = make_primitive("sphere", 96)
    maps = understand(cutout_of(p.image, p.mask), UnderstandConfig(depth_backend=f"onnx:{path}", ocr=False))
    assert maps.depth.shape == (96, 96)
    assert maps.depth[p.mask == 0].max() == 0
    assert maps.provenance["params"]["depth"]["input_size"] == 84
    assert len(maps.provenance["params"]["depth"]["model_sha256"]) == 64


# ------------------------------------------------------------------------------------ stage
@pytest.fixture(scope="module")
def bottle():
    s = make_product("bottle", seed=3, size=(320, 320))
    return s, cutout_of(s.image, s.mask)


def test_understand_outputs_shapes_ranges_and_provenance(bottle):
    s, cut = bottle
    maps = understand(cut, NO_OCR)
    h, w = s.mask.shape
    assert maps.depth.shape == (h, w) and maps.depth.dtype == np.float32
    assert maps.depth.max() == pytest.approx(1.0) and maps.depth.min() == 0.0
    assert (maps.depth[s.mask < 0.5] == 0).all()
    assert maps.normals.shape == (h, w, 3)
    assert maps.edges.shape == (h, w) and set(np.unique(maps.edges)) <= {0.0, 1.0}
    for m in (maps.materials.specular, maps.materials.transparency, maps.materials.reflective):
        assert m.shape == (h, w) and m.min() >= 0 and m.max() <= 1
    assert maps.text == ()
    prov = maps.provenance
    assert prov["stage"] == "understand" and prov["backend"] == "inflate"
    assert prov["depth_scale_px"] > 10
    assert len(prov["inputs"]["cutout_alpha"]) == 64
    assert {"depth", "edges", "materials", "palette", "flags", "total"} <= set(maps.timings)
    # a 320 px sample is far below marketplace size
    assert maps.has_flag("low-resolution")
    assert not maps.has_flag("transparent") and not maps.has_flag("multiple-products")


def test_understand_is_deterministic(bottle):
    _, cut = bottle
    a, b = understand(cut, NO_OCR), understand(cut, NO_OCR)
    assert np.array_equal(a.depth, b.depth) and np.array_equal(a.normals, b.normals)
    assert np.array_equal(a.edges, b.edges)
    assert a.palette == b.palette and a.flags == b.flags


def test_palette_finds_known_colours():
    h, w = 100, 100
    rgb = np.zeros((h, w, 3), np.float32)
    rgb[:, :70] = (0.8, 0.1, 0.1)
    rgb[:, 70:] = (0.1, 0.2, 0.7)
    alpha = np.ones((h, w), np.float32)
    pal = extract_palette(rgb, alpha, colors=4)
    assert len(pal) == 2
    assert pal[0].share == pytest.approx(0.7, abs=0.02)
    assert np.allclose(pal[0].rgb, (0.8, 0.1, 0.1), atol=0.01)
    assert sum(p.share for p in pal) == pytest.approx(1.0, abs=1e-3)
    assert extract_palette(rgb, np.zeros((h, w), np.float32)) == ()


def test_edges_hold_outline_and_label_not_backdrop(bottle):
    s, _ = bottle
    e = product_edges(s.image, s.mask)
    from scipy import ndimage

    near_product = ndimage.binary_dilation(s.mask > 0.01, iterations=2)
    assert e[~near_product].sum() == 0  # nothing of the backdrop (its gradient, the shadow)
    x0, y0, x1, y1 = s.label_box
    assert e[y0:y1, x0:x1].mean() > 0.02  # the printed text makes edges
    # the outline is closed around the product
    rows = np.flatnonzero(e.any(axis=1))
    box = alpha_bbox(s.mask)
    assert rows[0] <= box[1] + 2 and rows[-1] >= box[3] - 3


def test_materials_transparent_vs_opaque_synthetic():
    """A 'glass' disc that shows the backdrop (and its gradient) vs a painted one."""
    h, w = 160, 160
    yy, xx = np.mgrid[0:h, 0:w]
    backdrop = np.stack([0.2 + 0.5 * xx / w] * 3, axis=-1).astype(np.float32)  # a grey gradient
    alpha = (((xx - 80) ** 2 + (yy - 80) ** 2) < 50**2).astype(np.float32)
    glass = backdrop.copy()
    ring = (np.abs(np.sqrt((xx - 80) ** 2 + (yy - 80) ** 2) - 47) < 2)
    glass[ring] = 0.9  # a highlight on the rim
    painted = np.where(alpha[..., None] > 0, np.array([0.6, 0.1, 0.1], np.float32), backdrop)
    m_glass = estimate_materials(glass, alpha, image=glass)
    m_paint = estimate_materials(painted, alpha, image=painted)
    assert m_glass.transparency_score >= 0.5
    assert m_paint.transparency_score < 0.2
    # partial alpha inside the product is see-through even without the photo
    soft = alpha * 0.4
    soft[ring] = 1.0
    assert estimate_materials(painted, np.maximum(soft, ring.astype(np.float32))).transparency_score > 0.0


# ------------------------------------------------------------------------------------ bad input
def test_empty_alpha_raises_named_error():
    img = np.full((64, 64, 3), 0.5, np.float32)
    with pytest.raises(EmptyProductError, match="no product pixels"):
        understand(Cutout(rgb=img, alpha=np.zeros((64, 64), np.float32), image=img, bbox=None, confidence=0.0))


def test_wrong_shapes_raise_input_errors():
    img = np.full((64, 64, 3), 0.5, np.float32)
    with pytest.raises(InputError, match="cutout.rgb"):
        understand(Cutout(rgb=img[:32], alpha=np.ones((64, 64), np.float32), image=img, bbox=(0, 0, 64, 64),
                          confidence=1.0))
    with pytest.raises(InputError, match="in \\[0, 1\\]"):
        understand(Cutout(rgb=img, alpha=np.full((64, 64), 2.0, np.float32), image=img, bbox=(0, 0, 64, 64),
                          confidence=1.0))
    with pytest.raises(InputError, match="Cutout"):
        understand("not a cutout")  # type: ignore[arg-type]


def test_one_pixel_product():
    img = np.full((48, 48, 3), 0.8, np.float32)
    img[20, 30] = (0.1, 0.2, 0.3)
    alpha = np.zeros((48, 48), np.float32)
    alpha[20, 30] = 1.0
    maps = understand(cutout_of(img, alpha), UnderstandConfig())
    assert maps.depth[20, 30] == pytest.approx(1.0)
    assert maps.depth.sum() == pytest.approx(1.0)
    assert np.isfinite(maps.normals).all()
    assert maps.text == ()
    assert len(maps.palette) == 1
    assert maps.has_flag("low-resolution")


def test_product_touching_the_frame_edge():
    p = make_primitive("sphere", 128)
    image = np.ascontiguousarray(p.image[:, 40:])  # cut through the sphere: it touches the left edge
    alpha = np.ascontiguousarray(p.mask[:, 40:])
    maps = understand(cutout_of(image, alpha), NO_OCR)
    inside = alpha > 0.5
    assert (maps.depth[inside] > 0).all()
    assert np.isfinite(maps.normals).all()
    # the edge column is inside the product: its outline is drawn there, but depth does not drop to 0
    assert maps.depth[64, 0] > 0.5


def test_two_products_flagged():
    p = make_primitive("sphere", 96)
    image = np.concatenate([p.image, p.image], axis=1)
    alpha = np.concatenate([p.mask, p.mask], axis=1)
    maps = understand(cutout_of(image, alpha), NO_OCR)
    assert maps.has_flag("multiple-products")


# ------------------------------------------------------------------------------------ io
def test_save_and_load_maps_round_trip(tmp_path, bottle):
    _, cut = bottle
    maps = understand(cut, NO_OCR)
    paths = save_maps(tmp_path / "maps", maps, cut)
    for name in ("depth", "normals", "edges", "materials", "json"):
        assert paths[name].exists()
    from PIL import Image

    with Image.open(paths["depth"]) as im:
        assert im.mode.startswith("I")  # 16-bit
    back = load_maps(tmp_path / "maps")
    assert np.abs(back.depth - maps.depth).max() < 2 / 65535
    inside = cut.alpha > 0.5
    assert np.degrees(np.arccos(np.clip((back.normals * maps.normals).sum(-1)[inside], -1, 1))).max() < 1.5
    assert np.array_equal(back.edges, maps.edges)
    assert back.flags == maps.flags and back.palette == maps.palette and back.text == maps.text
    assert back.materials.transparency_score == maps.materials.transparency_score
    assert back.provenance["stage"] == "understand"
    # same maps -> same bytes
    again = save_maps(tmp_path / "again", maps, cut)
    for name in ("depth", "normals", "edges", "materials"):
        assert again[name].read_bytes() == paths[name].read_bytes()


def test_load_maps_errors_name_the_file(tmp_path):
    with pytest.raises(InputError, match="maps.json"):
        load_maps(tmp_path)
    (tmp_path / "maps.json").write_text("{not json")
    with pytest.raises(InputError, match="not valid JSON"):
        load_maps(tmp_path)
