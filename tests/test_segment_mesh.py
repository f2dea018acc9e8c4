"""A fine mesh on a desk: the desk seen through its gaps is unmixed (segment.surface.unmix_mesh)."""

from __future__ import annotations

import cv2
import numpy as np

from packshot.imaging import linear_to_srgb, srgb_to_linear
from packshot.segment.backdrop import border_mask, fit_backdrop
from packshot.segment.surface import unmix_mesh

DESK = np.array((0.80, 0.68, 0.55), np.float32)
WIRE = np.array((0.06, 0.06, 0.07), np.float32)


def _desk(rng, h, w):
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    grain = 0.03 * np.sin(xx / 3.0 + 2 * np.sin(yy / 17.0))[..., None] + rng.normal(0, 0.01, (h, w, 1))
    return np.clip(DESK + grain.astype(np.float32) * np.array((1.0, 0.8, 0.6), np.float32), 0, 1)


def _mesh_scene(seed: int = 3, h: int = 300, w: int = 400, pitch: float = 14.0, wire_px: float = 3.0):
    """A desk (sRGB grain), on it a dark rim around a diamond lattice of wire: the exact alpha is
    the wire's coverage (4x supersampled). Returns the linear photo, the exact alpha, the mesh's
    inside and the solid product mask the desk path gives (the lattice filled)."""
    rng = np.random.default_rng(seed)
    ss = 4
    yy, xx = np.mgrid[0:h * ss, 0:w * ss].astype(np.float32) / ss
    u, v = (xx + yy) / pitch, (xx - yy) / pitch
    half = wire_px / pitch / 2 * np.sqrt(2)
    wire = (np.abs(u - np.round(u)) < half) | (np.abs(v - np.round(v)) < half)
    x0, y0, x1, y1 = 80, 60, 320, 240
    inside = np.zeros_like(wire)
    inside[y0 * ss:y1 * ss, x0 * ss:x1 * ss] = True
    rim = np.zeros_like(wire)
    rim[(y0 - 8) * ss:(y1 + 8) * ss, (x0 - 8) * ss:(x1 + 8) * ss] = True
    rim &= ~inside
    cover = (rim | (inside & wire)).astype(np.float32)
    truth = cv2.resize(cover, (w, h), interpolation=cv2.INTER_AREA)
    desk_lin = srgb_to_linear(_desk(rng, h, w))
    photo = truth[..., None] * srgb_to_linear(WIRE) + (1 - truth[..., None]) * desk_lin
    inner = np.zeros((h, w), bool)
    inner[y0 + 2:y1 - 2, x0 + 2:x1 - 2] = True
    solid = np.zeros((h, w), np.float32)
    solid[y0 - 8:y1 + 8, x0 - 8:x1 + 8] = 1.0
    return photo.astype(np.float32), truth, inner, solid


def _model(photo):
    srgb = cv2.GaussianBlur(linear_to_srgb(photo), (0, 0), 1.0)
    return fit_backdrop(srgb, border_mask(srgb.shape[:2]), min_inliers=0.8)


def test_the_desk_is_unmixed_from_a_mesh():
    photo, truth, inner, solid = _mesh_scene()
    model = _model(photo)
    params: dict = {}
    alpha, fg = unmix_mesh(photo, solid.copy(), photo.copy(), model, max(3.0 * model.noise, 0.025), params)
    assert params["mesh_gaps"] >= 40 and params["mesh_share"] > 0.5
    before = float(np.abs(solid - truth)[inner].mean())
    after = float(np.abs(alpha - truth)[inner].mean())
    assert before > 0.4 and after < 0.05, (before, after)  # measured: 0.487 -> 0.016
    # on a green scene the gaps show green, not the desk: no desk colour left in fg x alpha
    green = srgb_to_linear(np.array((0.1, 0.6, 0.2), np.float32))
    comp = linear_to_srgb(fg * alpha[..., None] + green * (1 - alpha[..., None]))
    gaps = inner & (truth < 0.05)
    assert np.abs(comp[gaps] - np.array((0.1, 0.6, 0.2))).max(axis=1).mean() < 0.06
    # the rim (opaque wire colour, no gaps) stays opaque
    rim = (solid > 0) & ~cv2.dilate(inner.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    assert float(alpha[rim].min()) > 0.95


def test_a_solid_product_with_a_desk_coloured_print_is_untouched():
    rng = np.random.default_rng(5)
    h, w = 300, 400
    srgb = _desk(rng, h, w)
    srgb[60:240, 80:320] = (0.93, 0.93, 0.91)                 # a white card
    srgb[100:140, 120:280] = DESK                              # a desk-coloured print on it
    for k in range(8):                                         # a few small desk-coloured dots
        srgb[160 + 8 * (k % 3):163 + 8 * (k % 3), 100 + 20 * k:103 + 20 * k] = DESK
    photo = srgb_to_linear(srgb).astype(np.float32)
    solid = np.zeros((h, w), np.float32)
    solid[60:240, 80:320] = 1.0
    model = _model(photo)
    params: dict = {}
    alpha, _ = unmix_mesh(photo, solid.copy(), photo.copy(), model, max(3.0 * model.noise, 0.025), params)
    assert params["mesh_share"] == 0.0
    np.testing.assert_array_equal(alpha, solid)
