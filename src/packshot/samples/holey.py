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


def _holey_shapes(kind: str, rng: np.random.Generator, S: int, side: float) -> np.ndarray:
    """Binary supersampled (S x) silhouette of a ``kind`` fitting a ``side`` x ``side`` px square."""
    import cv2

    n = int(np.ceil(side * S)) + 4 * S
    m = np.zeros((n, n), np.uint8)
    c = n / 2

    def px(v: float) -> int:
        return int(round(v * S))

    def ellipse(cx, cy, ax, ay, ang, thick):
        cv2.ellipse(m, (int(cx), int(cy)), (max(1, int(ax)), max(1, int(ay))), ang, 0, 360, 255,
                    -1 if thick is None else max(1, int(thick)), lineType=cv2.LINE_8)

    r = side * S / 2
    if kind == "mug":
        bw, bh = r * rng.uniform(0.95, 1.1), r * rng.uniform(1.35, 1.6)
        x0, y0 = c - bw * 0.75, c - bh / 2
        cv2.rectangle(m, (int(x0), int(y0)), (int(x0 + bw), int(y0 + bh)), 255, -1)
        hr = bh * rng.uniform(0.26, 0.32)
        ht = max(S * 3, hr * rng.uniform(0.28, 0.4))
        hx, hy = x0 + bw, c + rng.uniform(-0.08, 0.05) * bh
        ellipse(hx, hy, hr * 0.95, hr * 1.1, 0, ht)
    elif kind == "key_ring":
        rr = r * rng.uniform(0.34, 0.42)
        rcx, rcy = c, c - r * 0.48
        ellipse(rcx, rcy, rr, rr, 0, max(S * 3, rr * 0.07))
        nkeys = int(rng.integers(2, 4))
        for k in range(nkeys):
            ang = np.deg2rad(70 + (k - (nkeys - 1) / 2) * rng.uniform(24, 34))
            hx, hy = rcx + rr * np.cos(ang) * 1.0, rcy + rr * np.sin(ang) * 1.0
            head = r * rng.uniform(0.17, 0.22)
            kx, ky = hx + head * np.cos(ang), hy + head * np.sin(ang)
            ellipse(kx, ky, head, head * 0.9, np.rad2deg(ang), None)
            blade = r * rng.uniform(0.6, 0.85)
            bwid = max(S * 4, head * 0.42)
            ex, ey = kx + (head + blade) * np.cos(ang), ky + (head + blade) * np.sin(ang)
            cv2.line(m, (int(kx), int(ky)), (int(ex), int(ey)), 255, int(bwid))
            # bitting: a few teeth
            for t in range(3):
                f = 0.55 + 0.13 * t
                tx, ty = kx + (head + blade * f) * np.cos(ang), ky + (head + blade * f) * np.sin(ang)
                nx_, ny_ = -np.sin(ang), np.cos(ang)
                cv2.line(m, (int(tx), int(ty)), (int(tx + nx_ * bwid * 0.9), int(ty + ny_ * bwid * 0.9)), 255,
                         int(bwid * 0.45))
            # the hole in the key's head (cut after drawing it)
            cv2.ellipse(m, (int(kx - head * 0.35 * np.cos(ang)), int(ky - head * 0.35 * np.sin(ang))),
                        (max(1, int(head * 0.3)), max(1, int(head * 0.3))), 0, 0, 360, 0, -1)
        # redraw the ring over the cut holes: the ring passes through them
        ellipse(rcx, rcy, rr, rr, 0, max(S * 3, rr * 0.07))
    elif kind == "glasses":
        lw, lh = r * rng.uniform(0.36, 0.44), r * rng.uniform(0.26, 0.33)
        gap = r * rng.uniform(0.12, 0.18)
        rim = max(S * 2, r * rng.uniform(0.02, 0.035))
        cy = c - r * 0.25
        for sgn in (-1, 1):
            ellipse(c + sgn * (gap / 2 + lw), cy, lw, lh, 0, rim)
        cv2.ellipse(m, (int(c), int(cy - lh * 0.2)), (int(gap / 2 + rim), int(lh * 0.25)), 0, 180, 360, 255,
                    int(rim))
        # the temples, folded behind and seen in perspective: thin lines going down and out
        temple = max(S * 2, rim * 0.8)
        for sgn in (-1, 1):
            sx, sy = c + sgn * (gap / 2 + 2 * lw), cy - lh * 0.3
            ex, ey = c + sgn * (gap / 2 + 2 * lw) * rng.uniform(0.55, 0.8), cy + r * rng.uniform(0.75, 0.95)
            cv2.line(m, (int(sx), int(sy)), (int(ex), int(ey)), 255, int(temple))
            cv2.ellipse(m, (int(ex - sgn * r * 0.06), int(ey)), (int(r * 0.06), int(r * 0.06)), 0,
                        0 if sgn > 0 else 180, 180 if sgn > 0 else 360, 255, int(temple))
    elif kind == "wire_frame":
        # a wire basket / photo stand: an outline with a grid of thin wires
        fw, fh = r * rng.uniform(1.3, 1.7), r * rng.uniform(1.3, 1.7)
        x0, y0 = c - fw / 2, c - fh / 2
        wire = max(S * 2, r * rng.uniform(0.012, 0.02))
        frame = wire * rng.uniform(1.5, 2.5)
        cv2.rectangle(m, (int(x0), int(y0)), (int(x0 + fw), int(y0 + fh)), 255, int(frame))
        nx_, ny_ = int(rng.integers(3, 6)), int(rng.integers(2, 5))
        for i in range(1, nx_):
            x = x0 + fw * i / nx_
            cv2.line(m, (int(x), int(y0)), (int(x), int(y0 + fh)), 255, int(wire))
        for j in range(1, ny_):
            y = y0 + fh * j / ny_
            cv2.line(m, (int(x0), int(y)), (int(x0 + fw), int(y)), 255, int(wire))
        # a diagonal brace and a round handle on top
        cv2.line(m, (int(x0), int(y0 + fh)), (int(x0 + fw), int(y0)), 255, int(wire))
        cv2.ellipse(m, (int(c), int(y0)), (int(fw * 0.2), int(fh * 0.14)), 0, 180, 360, 255, int(frame))
    elif kind == "chain":
        # a necklace: a hanging loop of small oval links with a pendant
        links = int(rng.integers(26, 40))
        amp = r * rng.uniform(0.75, 0.95)
        half = r * rng.uniform(0.7, 0.9)
        link_l = np.pi * (half + amp) / links * 1.1
        link_w = max(S * 1.5, link_l * 0.5)
        wire = max(S * 2, link_l * 0.22)
        ts = np.linspace(-1, 1, links)
        for i, t in enumerate(ts):
            x = c + half * np.sin(t * np.pi / 2)
            y = c - amp * 0.55 + amp * np.cos(t * np.pi / 2) ** 0.8
            ang = np.rad2deg(np.arctan2(-np.sin(t * np.pi / 2) * amp, half * np.cos(t * np.pi / 2) + 1e-3))
            if i % 2:
                ellipse(x, y, link_l / 2, link_w / 2, ang, wire)
            else:
                ellipse(x, y, link_l / 2, wire / 2, ang, None)
        py = c - amp * 0.55 + amp + r * 0.12
        ellipse(c, py, r * 0.12, r * 0.16, 0, None)
        cv2.ellipse(m, (int(c), int(py)), (int(r * 0.055), int(r * 0.075)), 0, 0, 360, 0, -1)  # its hole
    else:
        raise ValueError(f"kind must be one of {HOLE_KINDS}, got {kind!r}")
    ys, xs = np.nonzero(m)
    return m[ys.min():ys.max() + 1, xs.min():xs.max() + 1]


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
    import cv2

    if kind not in HOLE_KINDS:
        raise ValueError(f"kind must be one of {HOLE_KINDS}, got {kind!r}")
    w, h = int(size[0]), int(size[1])
    if w < 64 or h < 64:
        raise ValueError(f"size must be at least 64x64, got {size}")
    if isinstance(backdrop, str) and backdrop not in BACKDROPS:
        raise ValueError(f"backdrop must be one of {sorted(BACKDROPS)} or an sRGB triple, got {backdrop!r}")
    rng = np.random.default_rng(seed)
    if scale is None:
        scale = float(rng.uniform(0.4, 0.75))
    if not 0.1 <= scale <= 0.9:
        raise ValueError(f"scale must be in [0.1, 0.9], got {scale}")
    S = SUPERSAMPLE
    side = scale * min(w, h)
    sil = _holey_shapes(kind, rng, S, side)
    # shrink to fit the frame with a margin, in whole supersampled cells
    lim_w, lim_h = (w - 8) * S, (h - 8) * S
    f = min(1.0, lim_w / sil.shape[1], lim_h / sil.shape[0])
    if f < 1.0:
        sil = cv2.resize(sil, (max(S, int(sil.shape[1] * f)), max(S, int(sil.shape[0] * f))),
                         interpolation=cv2.INTER_NEAREST)
    ph, pw = -(-sil.shape[0] // S), -(-sil.shape[1] // S)
    pad = np.zeros((ph * S, pw * S), np.float32)
    pad[:sil.shape[0], :sil.shape[1]] = sil / 255.0
    cov = pad.reshape(ph, S, pw, S).mean(axis=(1, 3)).astype(np.float32)
    x0 = int(rng.integers(4, max(5, w - pw - 4)))
    y0 = int(rng.integers(4, max(5, h - ph - 4)))
    mask = np.zeros((h, w), np.float32)
    mask[y0:y0 + ph, x0:x0 + pw] = cov

    bg = BACKDROPS[backdrop] if isinstance(backdrop, str) else tuple(float(c) for c in backdrop)
    yy = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
    xx = np.linspace(-1, 1, w, dtype=np.float32)[None, :, None]
    image = srgb_to_linear(np.clip(np.array(bg, np.float32) * (1 - 0.06 * yy) * (1 - 0.03 * xx**2), 0, 1))
    if shadow:
        off = np.float32([[1, 0, 0.012 * w + 0.02 * pw], [0, 1, 0.02 * h + 0.03 * ph]])
        sh = cv2.warpAffine(mask, off, (w, h))
        sh = cv2.GaussianBlur(sh, (0, 0), max(1.5, 0.012 * max(pw, ph)))
        image = image * (1 - 0.42 * sh[..., None])
    # material: a colour shaded by a key light from the upper left (a metal gets a highlight)
    col = srgb_to_linear(np.array(_METALS[int(rng.integers(len(_METALS)))], np.float32))
    gy, gx = np.mgrid[0:h, 0:w].astype(np.float32)
    t = ((gx - x0) / max(pw, 1) + (gy - y0) / max(ph, 1)) / 2
    light = 1.05 - 0.45 * np.clip(t, 0, 1)
    # a cylindrical shading across each thin part, from the distance to the silhouette's outline
    inside = (mask > 0.5).astype(np.uint8)
    dist = cv2.distanceTransform(inside, cv2.DIST_L2, 3)
    local = cv2.dilate(dist, np.ones((7, 7), np.uint8))
    ridge = np.clip(dist / np.maximum(local, 1.0), 0, 1)
    shade = light * (0.6 + 0.4 * ridge)
    fg = col * shade[..., None] + (0.25 * ridge ** 6 * (1 - 0.5 * t))[..., None]
    fg = np.clip(fg, 0, 1)
    a3 = mask[..., None]
    image = fg * a3 + image * (1 - a3)
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
