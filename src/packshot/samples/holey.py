"""Generated products with holes and thin parts (rings, handles, wire frames, chains), with exact masks.

Used by the cut-out tests and ``benchmarks/cutout.py --holes``: every kind has holes the backdrop
shows through, and ``glasses``, ``wire_frame`` and ``chain`` have parts 2-5 px wide. ``glass`` is a
clear goblet (alpha from how much of the backdrop shows through): its inside is product, never a hole.
"""

from __future__ import annotations

import numpy as np

from ..imaging import decode_image, encode_image, linear_to_srgb, srgb_to_linear
from . import BACKDROPS, SUPERSAMPLE, SampleProduct

__all__ = ["HOLE_KINDS", "make_holey_product"]

HOLE_KINDS = ("mug", "key_ring", "glasses", "wire_frame", "chain")
"""Kinds drawn by :func:`make_holey_product`: every one has holes the backdrop shows through,
and ``glasses``, ``wire_frame`` and ``chain`` have parts 2-5 px wide."""

_METALS = ((0.72, 0.72, 0.74), (0.80, 0.66, 0.32), (0.22, 0.22, 0.24), (0.55, 0.36, 0.22), (0.78, 0.20, 0.18),
           (0.15, 0.38, 0.65))

# ------------------------------------------------------------------------------------ drawing
_CANVAS_MARGIN = 2
"""Blank margin (output px, each side) around the square a silhouette is drawn in."""
_MIN_STROKE = 3
"""Thinnest mug handle and key ring wire, output px."""
_MIN_THIN = 2
"""Thinnest glasses rim, temple, wire and chain link, output px (the 2-5 px parts)."""
_MIN_KEY_BLADE = 4
"""Thinnest key blade, output px."""
_MIN_LINK_WIDTH = 1.5
"""Narrowest open chain link, output px."""

_MUG_BODY_W, _MUG_BODY_H = (0.95, 1.1), (1.35, 1.6)
"""Mug body width and height ranges, in half-sides."""
_MUG_HANDLE_R, _MUG_HANDLE_T, _MUG_HANDLE_DY = (0.26, 0.32), (0.28, 0.4), (-0.08, 0.05)
"""Mug handle radius (share of the body height), thickness (share of that radius) and vertical offset."""
_RING_R = (0.34, 0.42)
"""Key ring radius range, in half-sides."""
_RING_WIRE = 0.07
"""Key ring wire thickness, share of its radius."""
_KEYS = (2, 4)
"""Number of keys on the ring: integers(low, high)."""
_KEY_SPREAD, _KEY_HEAD, _KEY_BLADE = (24, 34), (0.17, 0.22), (0.6, 0.85)
"""Angle between keys (degrees), key head radius and blade length (half-sides)."""
_KEY_TEETH = 3
"""Teeth cut along each key's blade."""
_LENS_W, _LENS_H, _BRIDGE_GAP, _RIM = (0.36, 0.44), (0.26, 0.33), (0.12, 0.18), (0.02, 0.035)
"""Glasses lens half-width, half-height, gap between the lenses and rim thickness (half-sides)."""
_TEMPLE_END_X, _TEMPLE_END_Y = (0.55, 0.8), (0.75, 0.95)
"""Where the folded temples end: share of the hinge's x offset, and drop in half-sides."""
_FRAME_SIDE, _FRAME_WIRE, _FRAME_OUTLINE = (1.3, 1.7), (0.012, 0.02), (1.5, 2.5)
"""Wire frame width/height (half-sides), wire thickness (half-sides) and outline thickness (wires)."""
_FRAME_COLUMNS, _FRAME_ROWS = (3, 6), (2, 5)
"""Grid cells across and down the wire frame: integers(low, high)."""
_CHAIN_LINKS, _CHAIN_DROP, _CHAIN_HALF_W = (26, 40), (0.75, 0.95), (0.7, 0.9)
"""Chain links (integers(low, high)), how far the loop hangs and its half-width (half-sides)."""
_PENDANT = (0.12, 0.16)
"""Pendant half-width and half-height, in half-sides."""


def _ellipse(m: np.ndarray, cx, cy, ax, ay, ang, thick) -> None:
    """A full ellipse on ``m``: filled when ``thick`` is None, else an outline ``thick`` px wide."""
    import cv2

    cv2.ellipse(m, (int(cx), int(cy)), (max(1, int(ax)), max(1, int(ay))), ang, 0, 360, 255,
                -1 if thick is None else max(1, int(thick)), lineType=cv2.LINE_8)


def _draw_mug(m: np.ndarray, rng: np.random.Generator, S: int, c: float, r: float) -> None:
    """A mug body with a ring handle on its right."""
    import cv2

    bw, bh = r * rng.uniform(*_MUG_BODY_W), r * rng.uniform(*_MUG_BODY_H)
    x0, y0 = c - bw * 0.75, c - bh / 2
    cv2.rectangle(m, (int(x0), int(y0)), (int(x0 + bw), int(y0 + bh)), 255, -1)
    hr = bh * rng.uniform(*_MUG_HANDLE_R)
    ht = max(S * _MIN_STROKE, hr * rng.uniform(*_MUG_HANDLE_T))
    hx, hy = x0 + bw, c + rng.uniform(*_MUG_HANDLE_DY) * bh
    _ellipse(m, hx, hy, hr * 0.95, hr * 1.1, 0, ht)


def _draw_key(m: np.ndarray, rng: np.random.Generator, S: int, r: float, hx: float, hy: float, ang: float) -> None:
    """One key hanging from (hx, hy) along ``ang`` (radians): head with a hole, blade, teeth."""
    import cv2

    head = r * rng.uniform(*_KEY_HEAD)
    kx, ky = hx + head * np.cos(ang), hy + head * np.sin(ang)
    _ellipse(m, kx, ky, head, head * 0.9, np.rad2deg(ang), None)
    blade = r * rng.uniform(*_KEY_BLADE)
    bwid = max(S * _MIN_KEY_BLADE, head * 0.42)
    ex, ey = kx + (head + blade) * np.cos(ang), ky + (head + blade) * np.sin(ang)
    cv2.line(m, (int(kx), int(ky)), (int(ex), int(ey)), 255, int(bwid))
    # bitting: a few teeth
    for t in range(_KEY_TEETH):
        f = 0.55 + 0.13 * t
        tx, ty = kx + (head + blade * f) * np.cos(ang), ky + (head + blade * f) * np.sin(ang)
        nx_, ny_ = -np.sin(ang), np.cos(ang)
        cv2.line(m, (int(tx), int(ty)), (int(tx + nx_ * bwid * 0.9), int(ty + ny_ * bwid * 0.9)), 255,
                 int(bwid * 0.45))
    # the hole in the key's head (cut after drawing it)
    cv2.ellipse(m, (int(kx - head * 0.35 * np.cos(ang)), int(ky - head * 0.35 * np.sin(ang))),
                (max(1, int(head * 0.3)), max(1, int(head * 0.3))), 0, 0, 360, 0, -1)


def _draw_key_ring(m: np.ndarray, rng: np.random.Generator, S: int, c: float, r: float) -> None:
    """A wire ring with 2-3 keys hanging from it."""
    rr = r * rng.uniform(*_RING_R)
    rcx, rcy = c, c - r * 0.48
    _ellipse(m, rcx, rcy, rr, rr, 0, max(S * _MIN_STROKE, rr * _RING_WIRE))
    nkeys = int(rng.integers(*_KEYS))
    for k in range(nkeys):
        ang = np.deg2rad(70 + (k - (nkeys - 1) / 2) * rng.uniform(*_KEY_SPREAD))
        hx, hy = rcx + rr * np.cos(ang) * 1.0, rcy + rr * np.sin(ang) * 1.0
        _draw_key(m, rng, S, r, hx, hy, ang)
    # redraw the ring over the cut holes: the ring passes through them
    _ellipse(m, rcx, rcy, rr, rr, 0, max(S * _MIN_STROKE, rr * _RING_WIRE))


def _draw_glasses(m: np.ndarray, rng: np.random.Generator, S: int, c: float, r: float) -> None:
    """Wire-rimmed glasses: two lens rims, a bridge and the folded temples."""
    import cv2

    lw, lh = r * rng.uniform(*_LENS_W), r * rng.uniform(*_LENS_H)
    gap = r * rng.uniform(*_BRIDGE_GAP)
    rim = max(S * _MIN_THIN, r * rng.uniform(*_RIM))
    cy = c - r * 0.25
    for sgn in (-1, 1):
        _ellipse(m, c + sgn * (gap / 2 + lw), cy, lw, lh, 0, rim)
    cv2.ellipse(m, (int(c), int(cy - lh * 0.2)), (int(gap / 2 + rim), int(lh * 0.25)), 0, 180, 360, 255,
                int(rim))
    # the temples, folded behind and seen in perspective: thin lines going down and out
    temple = max(S * _MIN_THIN, rim * 0.8)
    for sgn in (-1, 1):
        sx, sy = c + sgn * (gap / 2 + 2 * lw), cy - lh * 0.3
        ex, ey = c + sgn * (gap / 2 + 2 * lw) * rng.uniform(*_TEMPLE_END_X), cy + r * rng.uniform(*_TEMPLE_END_Y)
        cv2.line(m, (int(sx), int(sy)), (int(ex), int(ey)), 255, int(temple))
        cv2.ellipse(m, (int(ex - sgn * r * 0.06), int(ey)), (int(r * 0.06), int(r * 0.06)), 0,
                    0 if sgn > 0 else 180, 180 if sgn > 0 else 360, 255, int(temple))


def _draw_wire_frame(m: np.ndarray, rng: np.random.Generator, S: int, c: float, r: float) -> None:
    """A wire basket / photo stand: an outline with a grid of thin wires, a brace and a handle."""
    import cv2

    fw, fh = r * rng.uniform(*_FRAME_SIDE), r * rng.uniform(*_FRAME_SIDE)
    x0, y0 = c - fw / 2, c - fh / 2
    wire = max(S * _MIN_THIN, r * rng.uniform(*_FRAME_WIRE))
    frame = wire * rng.uniform(*_FRAME_OUTLINE)
    cv2.rectangle(m, (int(x0), int(y0)), (int(x0 + fw), int(y0 + fh)), 255, int(frame))
    nx_, ny_ = int(rng.integers(*_FRAME_COLUMNS)), int(rng.integers(*_FRAME_ROWS))
    for i in range(1, nx_):
        x = x0 + fw * i / nx_
        cv2.line(m, (int(x), int(y0)), (int(x), int(y0 + fh)), 255, int(wire))
    for j in range(1, ny_):
        y = y0 + fh * j / ny_
        cv2.line(m, (int(x0), int(y)), (int(x0 + fw), int(y)), 255, int(wire))
    # a diagonal brace and a round handle on top
    cv2.line(m, (int(x0), int(y0 + fh)), (int(x0 + fw), int(y0)), 255, int(wire))
    cv2.ellipse(m, (int(c), int(y0)), (int(fw * 0.2), int(fh * 0.14)), 0, 180, 360, 255, int(frame))


def _draw_chain(m: np.ndarray, rng: np.random.Generator, S: int, c: float, r: float) -> None:
    """A necklace: a hanging loop of small oval links (open and solid in turn) with a pendant."""
    import cv2

    links = int(rng.integers(*_CHAIN_LINKS))
    amp = r * rng.uniform(*_CHAIN_DROP)
    half = r * rng.uniform(*_CHAIN_HALF_W)
    link_l = np.pi * (half + amp) / links * 1.1
    link_w = max(S * _MIN_LINK_WIDTH, link_l * 0.5)
    wire = max(S * _MIN_THIN, link_l * 0.22)
    ts = np.linspace(-1, 1, links)
    for i, t in enumerate(ts):
        x = c + half * np.sin(t * np.pi / 2)
        y = c - amp * 0.55 + amp * np.cos(t * np.pi / 2) ** 0.8
        ang = np.rad2deg(np.arctan2(-np.sin(t * np.pi / 2) * amp, half * np.cos(t * np.pi / 2) + 1e-3))
        if i % 2:
            _ellipse(m, x, y, link_l / 2, link_w / 2, ang, wire)
        else:
            _ellipse(m, x, y, link_l / 2, wire / 2, ang, None)
    py = c - amp * 0.55 + amp + r * 0.12
    _ellipse(m, c, py, r * _PENDANT[0], r * _PENDANT[1], 0, None)
    cv2.ellipse(m, (int(c), int(py)), (int(r * 0.055), int(r * 0.075)), 0, 0, 360, 0, -1)  # its hole


_DRAWERS = {"mug": _draw_mug, "key_ring": _draw_key_ring, "glasses": _draw_glasses,
            "wire_frame": _draw_wire_frame, "chain": _draw_chain}
"""How each of :data:`HOLE_KINDS` is drawn: ``draw(canvas, rng, S, centre, half_side)``."""


def _holey_shapes(kind: str, rng: np.random.Generator, S: int, side: float) -> np.ndarray:
    """Binary supersampled (S x) silhouette of a ``kind`` fitting a ``side`` x ``side`` px square."""
    if kind not in _DRAWERS:
        raise ValueError(f"kind must be one of {HOLE_KINDS}, got {kind!r}")
    n = int(np.ceil(side * S)) + 2 * _CANVAS_MARGIN * S
    m = np.zeros((n, n), np.uint8)
    _DRAWERS[kind](m, rng, S, n / 2, side * S / 2)
    ys, xs = np.nonzero(m)
    return m[ys.min():ys.max() + 1, xs.min():xs.max() + 1]


# ------------------------------------------------------------------------------------ the photo
_MIN_SIZE = 64
"""Smallest width and height of a generated photo, px."""
_SCALE_RANDOM = (0.4, 0.75)
"""The product's side, as a share of the image's short side, when ``scale`` is None."""
_SCALE_LIMITS = (0.1, 0.9)
"""Allowed range of ``scale``."""
_FIT_MARGIN = 8
"""The silhouette is shrunk to fit the frame less this many px (width and height)."""
_PLACE_MARGIN = 4
"""Least distance from the product's box to the image's top/left edge, px."""
_SWEEP_FALLOFF, _SWEEP_VIGNETTE = 0.06, 0.03
"""The backdrop darkens by this share top to bottom, and by this share towards the sides."""
_SHADOW_OFFSET_X, _SHADOW_OFFSET_Y = (0.012, 0.02), (0.02, 0.03)
"""Drop shadow offset: (share of the image side, share of the product side), right and down."""
_SHADOW_BLUR, _SHADOW_BLUR_MIN, _SHADOW_DARKNESS = 0.012, 1.5, 0.42
"""Shadow blur sigma (share of the product's longer side, at least the minimum px) and its darkness."""
_KEY_LIGHT = (1.05, 0.45)
"""Key light from the upper left: brightness at the product's top-left corner and its fall across it."""
_RIDGE_WINDOW = 7
"""Window (px) over which a thin part's widest inner distance is taken for its cylindrical shading."""
_RIDGE_SHADE = (0.6, 0.4)
"""Cylindrical shading of a thin part: its brightness at the edge, plus this much more on its ridge."""
_HIGHLIGHT, _HIGHLIGHT_POWER = 0.25, 6
"""Strength of the highlight along a thin part's ridge, and how narrow it is (power of the ridge)."""


def _check_arguments(kind: str, size: tuple[int, int], backdrop) -> tuple[int, int]:
    """(width, height) once ``kind``, ``size`` and ``backdrop`` are known good; ValueError otherwise."""
    if kind not in HOLE_KINDS:
        raise ValueError(f"kind must be one of {HOLE_KINDS}, got {kind!r}")
    w, h = int(size[0]), int(size[1])
    if w < _MIN_SIZE or h < _MIN_SIZE:
        raise ValueError(f"size must be at least {_MIN_SIZE}x{_MIN_SIZE}, got {size}")
    if isinstance(backdrop, str) and backdrop not in BACKDROPS:
        raise ValueError(f"backdrop must be one of {sorted(BACKDROPS)} or an sRGB triple, got {backdrop!r}")
    return w, h


def _coverage(sil: np.ndarray, w: int, h: int, S: int) -> np.ndarray:
    """The supersampled silhouette, shrunk to fit the frame, area-averaged to output px coverage."""
    import cv2

    # shrink to fit the frame with a margin, in whole supersampled cells
    lim_w, lim_h = (w - _FIT_MARGIN) * S, (h - _FIT_MARGIN) * S
    f = min(1.0, lim_w / sil.shape[1], lim_h / sil.shape[0])
    if f < 1.0:
        sil = cv2.resize(sil, (max(S, int(sil.shape[1] * f)), max(S, int(sil.shape[0] * f))),
                         interpolation=cv2.INTER_NEAREST)
    ph, pw = -(-sil.shape[0] // S), -(-sil.shape[1] // S)
    pad = np.zeros((ph * S, pw * S), np.float32)
    pad[:sil.shape[0], :sil.shape[1]] = sil / 255.0
    return pad.reshape(ph, S, pw, S).mean(axis=(1, 3)).astype(np.float32)


def _backdrop(bg: tuple[float, ...], w: int, h: int) -> np.ndarray:
    """The studio sweep in linear light: ``bg``, darker towards the bottom and the sides."""
    yy = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
    xx = np.linspace(-1, 1, w, dtype=np.float32)[None, :, None]
    return srgb_to_linear(np.clip(np.array(bg, np.float32) * (1 - _SWEEP_FALLOFF * yy)
                                  * (1 - _SWEEP_VIGNETTE * xx**2), 0, 1))


def _drop_shadow(image: np.ndarray, mask: np.ndarray, pw: int, ph: int) -> np.ndarray:
    """``image`` darkened by the product's soft shadow, offset down and to the right."""
    import cv2

    h, w = mask.shape
    off = np.float32([[1, 0, _SHADOW_OFFSET_X[0] * w + _SHADOW_OFFSET_X[1] * pw],
                      [0, 1, _SHADOW_OFFSET_Y[0] * h + _SHADOW_OFFSET_Y[1] * ph]])
    sh = cv2.warpAffine(mask, off, (w, h))
    sh = cv2.GaussianBlur(sh, (0, 0), max(_SHADOW_BLUR_MIN, _SHADOW_BLUR * max(pw, ph)))
    return image * (1 - _SHADOW_DARKNESS * sh[..., None])


def _material(mask: np.ndarray, col: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The product's colour ``col`` (linear) shaded by a key light from the upper left, with a
    cylindrical shading and highlight across each thin part; ``box`` is (x0, y0, pw, ph)."""
    import cv2

    x0, y0, pw, ph = box
    h, w = mask.shape
    gy, gx = np.mgrid[0:h, 0:w].astype(np.float32)
    t = ((gx - x0) / max(pw, 1) + (gy - y0) / max(ph, 1)) / 2
    light = _KEY_LIGHT[0] - _KEY_LIGHT[1] * np.clip(t, 0, 1)
    # a cylindrical shading across each thin part, from the distance to the silhouette's outline
    inside = (mask > 0.5).astype(np.uint8)
    dist = cv2.distanceTransform(inside, cv2.DIST_L2, 3)
    local = cv2.dilate(dist, np.ones((_RIDGE_WINDOW, _RIDGE_WINDOW), np.uint8))
    ridge = np.clip(dist / np.maximum(local, 1.0), 0, 1)
    shade = light * (_RIDGE_SHADE[0] + _RIDGE_SHADE[1] * ridge)
    fg = col * shade[..., None] + (_HIGHLIGHT * ridge ** _HIGHLIGHT_POWER * (1 - 0.5 * t))[..., None]
    return np.clip(fg, 0, 1)


def make_holey_product(
    kind: str = "mug",
    seed: int = 0,
    size: tuple[int, int] = (768, 768),
    backdrop: str | tuple[float, float, float] = "white",
    noise: float = 0.01,
    scale: float | None = None,
    shadow: bool = True,
    jpeg_quality: int | None = None,
) -> SampleProduct:
    """Draw a product with holes and thin parts on a studio backdrop, with its exact mask.

    The silhouette is drawn at :data:`SUPERSAMPLE` x and area-averaged, so ``mask`` is the exact
    coverage of the drawn shape and the photo is composited with that coverage. The product (a
    metal, gold, dark or coloured material, shaded by a key light) is placed at a random scale and
    place; a soft drop shadow falls on the backdrop, also seen through the holes.

    Parameters
    ----------
    kind : one of :data:`HOLE_KINDS`.
    seed : the same arguments give the same bytes.
    size : (width, height), at least 64 x 64.
    backdrop : a name in :data:`BACKDROPS` or an sRGB triple.
    noise : sensor noise, sRGB units.
    scale : the product's side as a share of the image's short side (random in 0.4-0.75 when None).
    shadow : draw the soft drop shadow.
    jpeg_quality : when given, the photo goes through JPEG at this quality.
    """
    w, h = _check_arguments(kind, size, backdrop)
    rng = np.random.default_rng(seed)
    if scale is None:
        scale = float(rng.uniform(*_SCALE_RANDOM))
    if not _SCALE_LIMITS[0] <= scale <= _SCALE_LIMITS[1]:
        raise ValueError(f"scale must be in [{_SCALE_LIMITS[0]}, {_SCALE_LIMITS[1]}], got {scale}")
    cov = _coverage(_holey_shapes(kind, rng, SUPERSAMPLE, scale * min(w, h)), w, h, SUPERSAMPLE)
    ph, pw = cov.shape
    x0 = int(rng.integers(_PLACE_MARGIN, max(_PLACE_MARGIN + 1, w - pw - _PLACE_MARGIN)))
    y0 = int(rng.integers(_PLACE_MARGIN, max(_PLACE_MARGIN + 1, h - ph - _PLACE_MARGIN)))
    mask = np.zeros((h, w), np.float32)
    mask[y0:y0 + ph, x0:x0 + pw] = cov

    bg = BACKDROPS[backdrop] if isinstance(backdrop, str) else tuple(float(c) for c in backdrop)
    image = _backdrop(bg, w, h)
    if shadow:
        image = _drop_shadow(image, mask, pw, ph)
    col = srgb_to_linear(np.array(_METALS[int(rng.integers(len(_METALS)))], np.float32))
    a3 = mask[..., None]
    image = _material(mask, col, (x0, y0, pw, ph)) * a3 + image * (1 - a3)
    if noise > 0:
        s = linear_to_srgb(image) + rng.normal(0, noise, image.shape).astype(np.float32)
        image = srgb_to_linear(np.clip(s, 0, 1))
    if jpeg_quality is not None:
        image = decode_image(encode_image(image, "JPEG", quality=int(jpeg_quality), icc=False), "<sample>").rgb
    background_lin = srgb_to_linear(np.array(bg, np.float32))
    return SampleProduct(
        image=np.ascontiguousarray(image, dtype=np.float32), mask=mask, kind=kind, label_lines=(),
        label_box=(x0, y0, x0 + 1, y0 + 1), artwork=np.zeros((1, 1, 3), np.float32),
        background=tuple(float(c) for c in background_lin), seed=seed,
        meta={"backdrop": backdrop, "noise": noise, "scale": scale, "jpeg_quality": jpeg_quality,
              "cap_box": None},
    )
