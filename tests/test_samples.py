"""Tests for packshot.samples: generated packshots and primitives with exact ground truth."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from packshot.imaging import encode_image, linear_to_srgb8, load_image, load_mask
from packshot.samples import (
    BACKDROPS,
    KINDS,
    PRIMITIVE_KINDS,
    SUPERSAMPLE,
    _geometry,
    _part_coverage,
    make_catalogue,
    make_primitive,
    make_product,
    write_sample,
)


@pytest.fixture(scope="module")
def products():
    return {kind: make_product(kind, seed=3, size=(256, 256)) for kind in KINDS}


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_renders(products, kind):
    s = products[kind]
    assert s.kind == kind
    assert s.image.shape == (256, 256, 3) and s.image.dtype == np.float32
    assert s.mask.shape == (256, 256) and s.mask.dtype == np.float32
    assert 0.0 <= s.image.min() and s.image.max() <= 1.0
    assert 0.0 <= s.mask.min() and s.mask.max() == 1.0
    assert 0.08 < s.mask.mean() < 0.5  # a product, not a speck nor the whole frame
    assert len(s.label_lines) == 3 and all(s.label_lines)
    x0, y0, x1, y1 = s.bbox
    assert 0 < x0 < x1 < 256 and 0 < y0 < y1 < 256


@pytest.mark.parametrize("kind", KINDS)
def test_same_seed_same_bytes(kind):
    a = make_product(kind, seed=11, size=(96, 128), noise=0.01, jpeg_quality=80)
    b = make_product(kind, seed=11, size=(96, 128), noise=0.01, jpeg_quality=80)
    assert a.image.tobytes() == b.image.tobytes() and a.mask.tobytes() == b.mask.tobytes()
    assert a.artwork.tobytes() == b.artwork.tobytes() and a.label_box == b.label_box
    c = make_product(kind, seed=12, size=(96, 128), noise=0.01, jpeg_quality=80)
    assert c.image.tobytes() != a.image.tobytes()


@pytest.mark.parametrize("kind", KINDS)
def test_label_box_inside_the_product(products, kind):
    s = products[kind]
    x0, y0, x1, y1 = s.label_box
    assert x1 - x0 >= 16 and y1 - y0 >= 16
    assert s.mask[y0:y1, x0:x1].min() == 1.0
    bx0, by0, bx1, by1 = s.bbox
    assert bx0 <= x0 and by0 <= y0 and x1 <= bx1 and y1 <= by1
    # the artwork is the label at SUPERSAMPLE x the label's size in the photo
    assert s.artwork.shape == ((y1 - y0) * SUPERSAMPLE, (x1 - x0) * SUPERSAMPLE, 3)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("size, scale", [((32, 32), 0.62), ((48, 40), 0.5), ((128, 128), 0.95), ((200, 120), 0.8)])
def test_small_and_large_products_keep_label_and_product_in_frame(kind, size, scale):
    s = make_product(kind, seed=7, size=size, scale=scale)
    x0, y0, x1, y1 = s.label_box
    assert x1 > x0 and y1 > y0 and s.mask[y0:y1, x0:x1].min() == 1.0
    assert s.mask[0].max() == 0 and s.mask[-1].max() == 0  # the product sits wholly in the frame
    assert s.mask[:, 0].max() == 0 and s.mask[:, -1].max() == 0


def test_label_in_the_photo_is_the_artwork_shaded(products):
    # Flat label (no wrap): the label region is the area-averaged artwork times a smooth
    # shading, so the ratio between photo and artwork varies slowly and never inverts contrast.
    s = make_product("box", seed=3, size=(256, 256), shadow=False, gradient=0.0)
    x0, y0, x1, y1 = s.label_box
    art = s.artwork.reshape(y1 - y0, SUPERSAMPLE, x1 - x0, SUPERSAMPLE, 3).mean(axis=(1, 3))
    photo = s.image[y0:y1, x0:x1]
    bright = art.mean(axis=2) > 0.3
    ratio = photo[bright].mean(axis=1) / art[bright].mean(axis=1)
    assert 0.4 < ratio.min() and ratio.max() < 1.3
    assert np.corrcoef(photo.mean(axis=2).ravel(), art.mean(axis=2).ravel())[0, 1] > 0.95


def test_mask_is_exact_area_coverage_of_a_rectangle():
    # A rectangle drawn alone: its coverage must equal the analytic pixel overlap, to the
    # resolution of 4 x 4 subpixel centres (each axis rounds to the nearest quarter: <= 1/8).
    class Geom:
        shapes = [(1, "rect", (10.3, 5.6, 40.8, 30.1), 0)]
        bands = []

    coverage = _part_coverage(Geom, (0, 0, 50, 36))[1]
    xs, ys = np.arange(50), np.arange(36)
    overlap_x = np.clip(np.minimum(xs + 1, 40.8) - np.maximum(xs, 10.3), 0, 1)
    overlap_y = np.clip(np.minimum(ys + 1, 30.1) - np.maximum(ys, 5.6), 0, 1)
    analytic = overlap_y[:, None] * overlap_x[None, :]
    assert np.abs(coverage - analytic).max() <= 1 / 8 + 1e-6
    assert abs(coverage.sum() - analytic.sum()) <= 0.25 * 0.25 + 1e-6
    assert_array_equal(coverage[10:25, 12:38], 1.0)
    assert set(np.unique(coverage * 16)) <= set(range(17))


def test_mask_of_a_can_matches_the_analytic_outline():
    # The can is a rounded rectangle: away from its four corners, each row's coverage must sum
    # to the rectangle's width and each column's to its height (within one subpixel, 1/4).
    rng = np.random.default_rng(0)
    geom = _geometry("can", rng, cx=100.37, top_y=20.2, base_y=180.6, ph=160.4)
    (x0, y0, x1, y1), radius = geom.shapes[0][2], geom.shapes[0][3]
    coverage = sum(_part_coverage(geom, (0, 0, 200, 200)).values())
    straight_rows = np.arange(int(y0 + radius) + 1, int(y1 - radius) - 1)
    assert_allclose(coverage[straight_rows].sum(axis=1), x1 - x0, atol=1 / 4 + 1e-6)
    straight_cols = np.arange(int(x0 + radius) + 1, int(x1 - radius) - 1)
    assert_allclose(coverage[:, straight_cols].sum(axis=0), y1 - y0, atol=1 / 4 + 1e-6)
    # around a corner, compare with the analytic shape sampled 32 x 32 times finer
    fine = 32
    gx = np.floor(x0) - 2 + (np.arange(16 * fine) + 0.5) / fine
    gy = np.floor(y0) - 2 + (np.arange(16 * fine) + 0.5) / fine
    dx = np.maximum(np.maximum(x0 + radius - gx, gx - (x1 - radius)), 0)[None, :]
    dy = np.maximum(np.maximum(y0 + radius - gy, gy - (y1 - radius)), 0)[:, None]
    inside = (dx**2 + dy**2 <= radius**2) & (gx >= x0)[None, :] & (gy >= y0)[:, None]
    truth = inside.reshape(16, fine, 16, fine).mean(axis=(1, 3))
    r0, c0 = int(np.floor(y0)) - 2, int(np.floor(x0)) - 2
    ours = coverage[r0 : r0 + 16, c0 : c0 + 16]
    assert np.abs(ours - truth).max() <= 0.25
    edge = (truth > 0) & (truth < 1)
    assert np.abs(ours - truth)[edge].mean() < 0.08


def test_photo_is_composited_with_the_mask():
    # With a flat backdrop and no shadow, every pixel outside the product is the backdrop and
    # the mask says exactly how much backdrop an edge pixel holds.
    s = make_product("jar", seed=5, size=(128, 128), shadow=False, gradient=0.0)
    bg = np.asarray(s.background, np.float32)
    outside = s.mask == 0
    assert_array_equal(s.image[outside], np.broadcast_to(bg, s.image[outside].shape))
    edge = (s.mask > 0) & (s.mask < 1)
    assert edge.sum() > 50
    fg = (s.image - bg * (1 - s.mask[..., None])) / s.mask[..., None].clip(1e-6)
    assert fg[edge].min() >= -1e-4 and fg[edge].max() <= 1 + 1e-4


def test_shadow_darkens_the_floor_under_the_product_only():
    lit = make_product("can", seed=2, size=(192, 192), shadow=False)
    shaded = make_product("can", seed=2, size=(192, 192), shadow=True)
    assert_array_equal(lit.mask, shaded.mask)
    x0, y0, x1, y1 = lit.bbox
    under = shaded.image[y1 - 1 : y1 + 4, x0:x1][lit.mask[y1 - 1 : y1 + 4, x0:x1] == 0]
    above = shaded.image[: y0 - 5]
    assert under.mean() < 0.85 * lit.image[y1 - 1 : y1 + 4, x0:x1][lit.mask[y1 - 1 : y1 + 4, x0:x1] == 0].mean()
    assert_array_equal(above, lit.image[: y0 - 5])


def test_cylinder_shading_has_a_highlight_and_darker_sides():
    s = make_product("can", seed=4, size=(256, 256), shadow=False, gradient=0.0)
    x0, y0, x1, y1 = s.bbox
    row = s.image[(y0 + y1) // 2 - 40, x0 + 2 : x1 - 2].mean(axis=1)  # above the label
    peak = int(np.argmax(row))
    assert 0.15 < peak / len(row) < 0.5  # the highlight sits left of centre (key light at left)
    assert row[peak] > 1.5 * row[-3:].mean() and row[peak] > 1.5 * row[:3].mean()


@pytest.mark.parametrize("backdrop", sorted(BACKDROPS) + [(0.2, 0.3, 0.4)])
def test_backdrops(backdrop):
    s = make_product("pouch", seed=1, size=(96, 96), backdrop=backdrop, shadow=False, gradient=0.0)
    expected = BACKDROPS[backdrop] if isinstance(backdrop, str) else backdrop
    corner = linear_to_srgb8(s.image[:2, :2], dither=False)
    assert np.abs(corner.astype(int) - np.round(np.array(expected) * 255)).max() <= 1


def test_noise_and_jpeg_change_the_photo_not_the_mask():
    clean = make_product("bottle", seed=9, size=(128, 128))
    noisy = make_product("bottle", seed=9, size=(128, 128), noise=0.02, jpeg_quality=70)
    assert_array_equal(clean.mask, noisy.mask)
    difference = np.abs(noisy.image - clean.image)
    assert 0.002 < difference.mean() < 0.05


@pytest.mark.parametrize("kwargs, match", [
    ({"kind": "vase"}, "kind"), ({"size": (16, 64)}, "size"), ({"scale": 1.5}, "scale"),
    ({"noise": -1}, "noise"), ({"jpeg_quality": 0}, "jpeg_quality"), ({"backdrop": "purple"}, "backdrop"),
    ({"size": (64, 64), "scale": 0.1}, "at least 16 px"),
    ({"kind": "jar", "size": (60, 200)}, "does not fit in a 60x200 image"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_product(**kwargs)


def test_write_sample_and_catalogue(tmp_path):
    s = make_product("box", seed=1, size=(96, 96))
    paths = write_sample(s, tmp_path, name="b")
    assert load_image(paths["photo"]).size == (96, 96)
    assert_allclose(load_mask(paths["mask"]), s.mask, atol=0.5 / 255 + 1e-6)
    assert load_image(paths["master"]).size == (s.artwork.shape[1], s.artwork.shape[0])
    rows = make_catalogue(tmp_path / "cat", size=(96, 96))
    assert [r["sku"].split("-")[0] for r in rows] == list(KINDS)
    assert all(r["photo"].exists() and r["mask"].exists() for r in rows)


def test_photo_encodes(products):
    assert encode_image(products["bottle"].image, "PNG")[:8] == b"\x89PNG\r\n\x1a\n"


# ---------------------------------------------------------------------------------------------
# primitives
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def primitives():
    return {kind: make_primitive(kind, 128) for kind in PRIMITIVE_KINDS}


@pytest.mark.parametrize("kind", PRIMITIVE_KINDS)
def test_primitive_normals_are_unit_and_face_the_camera(primitives, kind):
    p = primitives[kind]
    assert p.image.shape == (128, 128, 3) and p.normals.shape == (128, 128, 3) and p.depth.shape == (128, 128)
    lengths = np.linalg.norm(p.normals[p.valid], axis=1)
    assert_allclose(lengths, 1.0, atol=1e-5)
    assert (p.normals[p.valid][:, 2] >= -1e-6).all()
    assert (p.normals[~p.valid] == 0).all() and (p.depth[~p.valid] == 0).all()
    assert (p.depth[p.valid] > 0).all()
    # valid pixel centres are on the shape, so the mask there is mostly full coverage
    assert p.mask[p.valid].mean() > 0.97 and p.mask[~p.valid].max() < 1.0


@pytest.mark.parametrize("kind", PRIMITIVE_KINDS)
def test_primitive_normals_agree_with_depth_gradients(primitives, kind):
    # depth z(x, y) with y up: the normal is proportional to (-dz/dx, -dz/dy, 1)
    p = primitives[kind]
    z = p.depth.astype(np.float64)
    dz_dx = (z[1:-1, 2:] - z[1:-1, :-2]) / 2
    dz_dy = (z[:-2, 1:-1] - z[2:, 1:-1]) / 2  # rows grow downward, y grows upward
    n = p.normals[1:-1, 1:-1].astype(np.float64)
    v = p.valid
    neighbourhood = v[1:-1, 1:-1] & v[1:-1, 2:] & v[1:-1, :-2] & v[:-2, 1:-1] & v[2:, 1:-1]
    steep = n[..., 2] < 0.35  # near the silhouette a finite difference is not a derivative
    sample = neighbourhood & ~steep
    assert sample.sum() > 1000
    n_sample = n[sample]
    err_x = np.abs(-dz_dx[sample] - n_sample[:, 0] / n_sample[:, 2])
    err_y = np.abs(-dz_dy[sample] - n_sample[:, 1] / n_sample[:, 2])
    assert np.median(err_x) < 0.01 and np.median(err_y) < 0.01
    assert np.quantile(err_x, 0.95) < 0.08 and np.quantile(err_y, 0.95) < 0.08


def test_sphere_literal_values():
    p = make_primitive("sphere", 64)
    radius = 0.38 * 64
    # the pixel centre at the image centre (x = y = 0.5 from the axis) faces the camera
    centre = p.normals[31, 32]
    assert_allclose(centre, [0.5 / radius, 0.5 / radius, np.sqrt(1 - 0.5 / radius**2)], atol=1e-6)
    assert_allclose(p.depth[31, 32], 64 + np.sqrt(radius**2 - 0.5), atol=1e-4)
    assert_allclose(p.mask.sum(), np.pi * radius**2, rtol=0.01)


def test_box_faces_are_planar_with_the_yaw():
    p = make_primitive("box", 128, yaw_degrees=30)
    normals = np.unique(np.round(p.normals[p.valid], 5), axis=0)
    expected = np.round([[np.sin(np.pi / 6), 0, np.cos(np.pi / 6)], [-np.cos(np.pi / 6), 0, np.sin(np.pi / 6)]], 5)
    assert len(normals) == 2
    assert_allclose(np.sort(normals, axis=0), np.sort(expected, axis=0), atol=1e-5)


def test_primitive_shading_follows_the_light():
    p = make_primitive("sphere", 96, light=(0, 0, 1))
    lum = p.image.mean(axis=2)
    assert lum[48, 48] > lum[48, 30] > lum[48, 24]  # brightest facing the light, darker to the side


@pytest.mark.parametrize("kwargs, match", [({"kind": "cone"}, "kind"), ({"size": 8}, "size"),
                                           ({"kind": "box", "yaw_degrees": 90}, "yaw")])
def test_primitive_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_primitive(**kwargs)
