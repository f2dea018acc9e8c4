"""Generated products held by a hand, with exact masks (the hand-exclusion tests and benchmark).

A carton (a tilted box with a label band and a skin-coloured print on it, sometimes a tan band
across its far side) is held by a hand and arm of skin colour entering from one edge of the
frame: the palm covers the carton's near side, fingers cross its front. The exact mask is the
carton's visible coverage (the hand is in front of it). ``clutter=True`` adds a second product
the hand does not touch (it is not the held product, so not in the mask).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..imaging import srgb_to_linear
from . import BACKDROPS, SUPERSAMPLE

__all__ = ["HeldProduct", "make_held_product"]

SKIN_TONES = ((0.86, 0.66, 0.55), (0.80, 0.58, 0.47), (0.68, 0.47, 0.36), (0.55, 0.36, 0.27), (0.42, 0.27, 0.20))
"""sRGB skin tones, light to dark (all inside the YCrCb skin locus)."""
_CARTON_COLOURS = ((0.10, 0.12, 0.30), (0.08, 0.35, 0.15), (0.55, 0.08, 0.10), (0.12, 0.12, 0.12),
                   (0.20, 0.45, 0.75), (0.90, 0.90, 0.88))
_BAND_COLOURS = ((0.95, 0.82, 0.20), (0.92, 0.92, 0.92), (0.30, 0.65, 0.30), (0.85, 0.40, 0.10))
_PRINT_TONE = (0.85, 0.60, 0.48)
"""A peach-coloured print on the label: skin colour inside the product, never reaching the frame."""


@dataclass(frozen=True)
class HeldProduct:
    """A generated photo of a held product and its ground truth.

    image : float32 H x W x 3 linear photo. mask : float32 H x W exact coverage of the held
    product's visible part. print_centre : (x, y) of the skin-coloured print on its label.
    meta : side the hand enters from, clutter, tan_band, skin_tone, backdrop.
    """

    image: np.ndarray
    mask: np.ndarray
    print_centre: tuple[float, float]
    hand: np.ndarray
    meta: dict


def _poly(m: np.ndarray, pts, value: float = 1.0) -> None:
    cv2.fillPoly(m, [np.round(np.asarray(pts) * SUPERSAMPLE).astype(np.int32)], value, lineType=cv2.LINE_8)


def _capsule(m: np.ndarray, p0, p1, r: float) -> None:
    a = (int(round(p0[0] * SUPERSAMPLE)), int(round(p0[1] * SUPERSAMPLE)))
    b = (int(round(p1[0] * SUPERSAMPLE)), int(round(p1[1] * SUPERSAMPLE)))
    cv2.line(m, a, b, 1.0, max(1, int(round(2 * r * SUPERSAMPLE))), lineType=cv2.LINE_8)
    cv2.circle(m, b, int(round(r * SUPERSAMPLE)), 1.0, -1)


def _rotated_rect(cx, cy, w, h, ang):
    c, s = np.cos(ang), np.sin(ang)
    corners = np.array([(-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2)])
    return corners @ np.array([[c, s], [-s, c]]) + (cx, cy)


def _down(m: np.ndarray, w: int, h: int) -> np.ndarray:
    return cv2.resize(m, (w, h), interpolation=cv2.INTER_AREA)


def _draw_hand(rng: np.random.Generator, side: str, carton: tuple, size: tuple[int, int]):
    """The hand (supersampled coverage): an arm from the frame edge to a palm on the carton's near
    side, fingers across its front; returns (coverage, grip centre, palm radius)."""
    cx, cy, cw, ch, ang = carton
    w, h = size
    c, s = np.cos(ang), np.sin(ang)
    ux, vy = np.array([c, -s]), np.array([s, c])          # the carton's across and down axes
    hand = np.zeros((h * SUPERSAMPLE, w * SUPERSAMPLE), np.float32)
    palm_r = rng.uniform(0.075, 0.095) * min(w, h)
    finger_r = palm_r * rng.uniform(0.22, 0.28)
    if side == "bottom":
        grip = np.array((cx, cy)) + vy * ch * rng.uniform(0.15, 0.3) - ux * cw * 0.5
        start = np.array((grip[0] - 0.1 * w, h + palm_r))
        across = ux
    else:
        sgn = -1.0 if side == "left" else 1.0
        grip = np.array((cx, cy)) + ux * sgn * cw * 0.5 + vy * ch * rng.uniform(-0.05, 0.25)
        start = np.array((-palm_r if side == "left" else w + palm_r, grip[1] + rng.uniform(0.05, 0.2) * h))
        across = -ux * sgn
    _capsule(hand, start, grip, palm_r)
    cv2.ellipse(hand, tuple(int(round(v * SUPERSAMPLE)) for v in grip),
                (int(palm_r * 1.2 * SUPERSAMPLE), int(palm_r * SUPERSAMPLE)), float(np.rad2deg(ang)), 0, 360, 1.0, -1)
    for k in range(int(rng.integers(2, 5))):
        base = grip + vy * (k - 1) * finger_r * 2.3
        _capsule(hand, base, base + across * cw * rng.uniform(0.45, 0.7), finger_r)
    return hand, grip, palm_r


def make_held_product(seed: int, size: tuple[int, int] = (320, 320), backdrop: str = "grey",
                      clutter: bool = False, tan_band: bool | None = None, tone: int | None = None) -> HeldProduct:
    """A carton held by a hand entering from the left, right or bottom edge, on a plain backdrop.

    ``tan_band`` (None: drawn at random) and ``tone`` (index into :data:`SKIN_TONES`; None: at
    random) fix what is otherwise drawn from ``seed``.
    """
    rng = np.random.default_rng(seed)
    w, h = size
    W, H = w * SUPERSAMPLE, h * SUPERSAMPLE
    side = ("left", "right", "bottom")[int(rng.integers(0, 3))]
    # the carton: about half the frame tall, tilted up to 20 degrees
    cw, ch = rng.uniform(0.22, 0.30) * w, rng.uniform(0.50, 0.62) * h
    cx, cy = rng.uniform(0.45, 0.55) * w, rng.uniform(0.42, 0.50) * h
    ang = np.deg2rad(rng.uniform(-20, 20))
    carton = np.zeros((H, W), np.float32)
    _poly(carton, _rotated_rect(cx, cy, cw, ch, ang))
    c, s = np.cos(ang), np.sin(ang)
    ux, vy = np.array([c, -s]), np.array([s, c])          # the carton's across and down axes
    band = np.zeros((H, W), np.float32)
    bc = np.array((cx, cy)) + vy * ch * rng.uniform(-0.1, 0.05)
    _poly(band, _rotated_rect(bc[0], bc[1], cw, ch * 0.18, ang))
    pc = np.array((cx, cy)) - vy * ch * 0.25 + ux * cw * rng.uniform(-0.1, 0.1)
    prt = np.zeros((H, W), np.float32)
    cv2.circle(prt, tuple(int(round(v * SUPERSAMPLE)) for v in pc), int(round(0.12 * cw * SUPERSAMPLE)), 1.0, -1)
    tan = np.zeros((H, W), np.float32)
    drawn_tan = bool(rng.integers(0, 2))  # always drawn, so fixing it leaves the rest of the picture as it was
    if drawn_tan if tan_band is None else tan_band:
        # a tan strip down the carton's side away from the hand: skin colour reaching the product's edge
        away = -1.0 if side == "right" else 1.0
        tc = np.array((cx, cy)) + ux * away * cw * 0.4
        _poly(tan, _rotated_rect(tc[0], tc[1], cw * 0.2, ch * 0.6, ang))
    hand, grip, palm_r = _draw_hand(rng, side, (cx, cy, cw, ch, ang), (w, h))
    other = np.zeros((H, W), np.float32)
    if clutter:
        ox = 0.86 * w if side != "right" else 0.14 * w
        _poly(other, _rotated_rect(ox, 0.78 * h, 0.14 * w, 0.22 * h, 0.0))
    # coverage at output size
    hand_c = _down(hand, w, h)
    carton_c = _down(carton, w, h)
    other_c = _down(other, w, h) * (1 - hand_c)
    mask = np.clip(carton_c * (1.0 - hand_c), 0, 1).astype(np.float32)
    bg = np.array(BACKDROPS[backdrop], np.float32)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = bg * (1.0 + 0.05 * (yy / h - 0.5))[..., None] * np.ones((h, w, 3), np.float32)
    col = np.array(_CARTON_COLOURS[int(rng.integers(0, len(_CARTON_COLOURS)))], np.float32)
    bcol = np.array(_BAND_COLOURS[int(rng.integers(0, len(_BAND_COLOURS)))], np.float32)
    face = np.ones((h, w, 3), np.float32) * col
    for layer, colour in ((band, bcol), (prt, np.array(_PRINT_TONE, np.float32)), (tan, np.array(SKIN_TONES[1], np.float32))):
        cov = _down(layer, w, h)[..., None]
        face = face * (1 - cov) + colour * cov
    face *= (0.92 + 0.08 * (xx / w))[..., None]
    drawn = int(rng.integers(0, len(SKIN_TONES)))
    tone = np.array(SKIN_TONES[drawn if tone is None else tone], np.float32)
    shade = 0.85 + 0.15 * np.clip(1 - np.hypot(xx - grip[0], yy - grip[1]) / (3 * palm_r), 0, 1)
    skin = tone * shade[..., None]
    ocol = np.array((0.7, 0.15, 0.5), np.float32)
    img = img * (1 - carton_c[..., None]) + face * carton_c[..., None]
    img = img * (1 - other_c[..., None]) + ocol * other_c[..., None]
    img = img * (1 - hand_c[..., None]) + skin * hand_c[..., None]
    img = np.clip(img + rng.normal(0, 0.008, img.shape).astype(np.float32), 0, 1)
    meta = {"side": side, "clutter": clutter, "tan_band": bool(tan.any()), "skin_tone": list(map(float, tone)),
            "backdrop": backdrop}
    return HeldProduct(srgb_to_linear(img.astype(np.float32)), mask, (float(pc[0]), float(pc[1])), hand_c.astype(np.float32), meta)
