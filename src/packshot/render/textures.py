"""Procedural surface textures from noise: marble, wood, terrazzo, concrete, linen, paper, stone.

Each texture is a seamless (periodic) tile, float32 ``size`` x ``size`` in [0, 1], where 0 is
the surface's base colour and 1 its tint (veins, grain, chips, pits, threads). The studio
renderer maps the tile onto a floor in perspective or flat onto a wall or podium.
"""

from __future__ import annotations

import cv2
import numpy as np

TILE = 512
"""Side of a texture tile in pixels."""


def periodic_noise(rng: np.random.Generator, size: int, cells: int | tuple[int, int]) -> np.ndarray:
    """Smooth value noise in [-1, 1] that tiles: a random grid of ``cells`` (rows, columns), cubic-upsampled.

    The grid is wrapped (tiled 3 x 3) before upsampling and the centre cut out, so the
    result has no seam at its borders. Different row and column counts give streaks.
    """
    cy, cx = (cells, cells) if isinstance(cells, int) else cells
    grid = rng.uniform(-1.0, 1.0, (cy, cx)).astype(np.float32)
    if size % cy == 0 and size % cx == 0:
        # Cubic interpolation reads 2 cells either side: wrapping 2 cells of padding is
        # enough, and far cheaper than upsampling a 3 x 3 tiling.
        py, px = size // cy, size // cx
        padded = np.pad(grid, 2, mode="wrap")
        up = cv2.resize(padded, ((cx + 4) * px, (cy + 4) * py), interpolation=cv2.INTER_CUBIC)
        return up[2 * py : 2 * py + size, 2 * px : 2 * px + size]
    big = np.tile(grid, (3, 3))
    up = cv2.resize(big, (3 * size, 3 * size), interpolation=cv2.INTER_CUBIC)
    return up[size : 2 * size, size : 2 * size]


def wrap_blur(tile: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of a periodic tile (wrapped borders: the result still tiles)."""
    pad = int(np.ceil(3 * sigma)) + 1
    padded = np.pad(tile, pad, mode="wrap")
    return cv2.GaussianBlur(padded, (0, 0), sigma)[pad:-pad, pad:-pad]


def fbm(rng: np.random.Generator, size: int, base_cells: int = 4, octaves: int = 5, gain: float = 0.5) -> np.ndarray:
    """Fractal (multi-octave) periodic noise, roughly in [-1, 1]."""
    out = np.zeros((size, size), np.float32)
    amp, total = 1.0, 0.0
    cells = base_cells
    for _ in range(octaves):
        if cells > size // 2:
            break
        out += amp * periodic_noise(rng, size, cells)
        total += amp
        amp *= gain
        cells *= 2
    return out / max(total, 1e-6)


def marble(rng: np.random.Generator, size: int = TILE) -> np.ndarray:
    """Carrara-like marble: thin dark veins along a turbulent diagonal, soft clouding."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    turbulence = fbm(rng, size, 4, 6)
    # integer frequencies along x and y keep the pattern periodic
    phase = 2 * np.pi * (2 * x + 1 * y) + 5.0 * turbulence
    veins = (1.0 - np.abs(np.sin(phase))) ** 10
    fine = (1.0 - np.abs(np.sin(2 * np.pi * (3 * x - 2 * y) + 7.0 * fbm(rng, size, 8, 5)))) ** 24
    cloud = 0.5 + 0.5 * fbm(rng, size, 4, 4)
    return np.clip(0.75 * veins + 0.45 * fine + 0.18 * cloud, 0, 1).astype(np.float32)


def wood(rng: np.random.Generator, size: int = TILE, planks: int = 4) -> np.ndarray:
    """Oak planks running away from the camera: grain lines, per-plank tone, dark seams.

    Rows of the tile run along the grain (v), columns across the planks (u).
    """
    # grain: noise with few cells along v and many across u gives long streaks along the grain
    streak = (periodic_noise(rng, size, (2, 64)) * 0.5 + periodic_noise(rng, size, (4, 128)) * 0.3
              + periodic_noise(rng, size, (4, 16)) * 0.6)
    u = np.arange(size, dtype=np.float32)[None, :] / size
    v = np.arange(size, dtype=np.float32)[:, None] / size
    plank = np.floor(u * planks)
    rings = 0.5 + 0.5 * np.sin(2 * np.pi * (u * planks * 9 + 3.0 * streak + 0.3 * np.sin(2 * np.pi * v)))
    tone = rng.uniform(-0.25, 0.25, planks).astype(np.float32)[plank.astype(int) % planks]
    seam_dist = np.abs(u * planks - np.round(u * planks)) * size / planks
    seam = np.exp(-(seam_dist / 1.2) ** 2)
    # plank ends at staggered positions along v
    ends = np.zeros((size, size), np.float32)
    for i in range(planks):
        cut = int(rng.integers(0, size))
        col0, col1 = i * size // planks, (i + 1) * size // planks
        d = np.abs(np.arange(size) - cut)[:, None].astype(np.float32)
        ends[:, col0:col1] = np.exp(-(d / 1.0) ** 2)
    g = 0.45 * rings ** 3 + 0.25 * (streak * 0.5 + 0.5) + tone
    return np.clip(g + 0.9 * np.maximum(seam, ends), 0, 1).astype(np.float32)


def terrazzo(rng: np.random.Generator, size: int = TILE, chips: int = 220) -> np.ndarray:
    """Terrazzo: scattered stone chips of a few tones in a fine-grained binder."""
    tile = np.zeros((3 * size, 3 * size), np.float32)
    for _ in range(chips):
        cx, cy = rng.uniform(0, size, 2)
        r = float(rng.uniform(2.5, 11.0))
        ax = (max(1, int(r)), max(1, int(r * rng.uniform(0.5, 1.0))))
        angle = float(rng.uniform(0, 180))
        val = float(rng.choice([0.35, 0.6, 0.85, 1.0]))
        for dx in (0, size, 2 * size):  # draw 3 x 3 so chips wrap across the borders
            for dy in (0, size, 2 * size):
                cv2.ellipse(tile, (int(cx + dx), int(cy + dy)), ax, angle, 0, 360, val, -1, cv2.LINE_AA)
    core = tile[size : 2 * size, size : 2 * size]
    grain = 0.06 * (0.5 + 0.5 * fbm(rng, size, 64, 3))
    return np.clip(core + grain, 0, 1).astype(np.float32)


def concrete(rng: np.random.Generator, size: int = TILE) -> np.ndarray:
    """Cast concrete: low-frequency mottling, fine sand grain and small air pits."""
    mottle = 0.5 + 0.5 * fbm(rng, size, 4, 6, gain=0.55)
    sand = 0.5 + 0.5 * periodic_noise(rng, size, size // 2)
    pits = (rng.random((size, size)) > 0.9985).astype(np.float32)
    pits = wrap_blur(pits, 1.1) * 8.0
    return np.clip(0.55 * mottle + 0.2 * sand + pits, 0, 1).astype(np.float32)


def linen(rng: np.random.Generator, size: int = TILE, threads: int = 128) -> np.ndarray:
    """Linen or kraft weave: crossing threads with slubs (thicker stretches) and soft mottling."""
    x = np.arange(size, dtype=np.float32)[None, :] / size
    y = np.arange(size, dtype=np.float32)[:, None] / size
    slub_x = cv2.resize(periodic_noise(rng, size, 32)[:, :1], (size, size), interpolation=cv2.INTER_LINEAR)
    slub_y = cv2.resize(periodic_noise(rng, size, 32)[:1, :], (size, size), interpolation=cv2.INTER_LINEAR)
    warp = 0.5 + 0.5 * np.sin(2 * np.pi * threads * x + 0.8 * slub_y)
    weft = 0.5 + 0.5 * np.sin(2 * np.pi * threads * y + 0.8 * slub_x)
    over = (np.sin(np.pi * threads * x) * np.sin(np.pi * threads * y)) > 0
    weave = np.where(over, warp, weft)
    mottle = 0.5 + 0.5 * fbm(rng, size, 4, 4)
    return np.clip(0.55 * (1 - weave) + 0.3 * mottle + 0.15 * np.abs(slub_x), 0, 1).astype(np.float32)


def paper(rng: np.random.Generator, size: int = TILE, fibres: int = 900) -> np.ndarray:
    """Heavy matte paper (watercolour / cotton stock): short random fibres over a soft cloud and a
    fine tooth; low contrast, so the surface reads as paper and never competes with the product."""
    tile = np.zeros((3 * size, 3 * size), np.float32)
    for _ in range(fibres):
        x, y = rng.uniform(0, size, 2)
        length = float(rng.uniform(3.0, 14.0))
        angle = float(rng.uniform(0, np.pi))
        dx, dy = np.cos(angle) * length, np.sin(angle) * length
        val = float(rng.uniform(0.3, 1.0))
        for ox in (0, size, 2 * size):  # 3 x 3 so fibres wrap across the borders
            for oy in (0, size, 2 * size):
                p0 = (int(round(x + ox - dx / 2)), int(round(y + oy - dy / 2)))
                p1 = (int(round(x + ox + dx / 2)), int(round(y + oy + dy / 2)))
                cv2.line(tile, p0, p1, val, 1, cv2.LINE_AA)
    fib = wrap_blur(tile[size:2 * size, size:2 * size], 0.6)
    tooth = 0.5 + 0.5 * periodic_noise(rng, size, size // 4)
    cloud = 0.5 + 0.5 * fbm(rng, size, 4, 5)
    return np.clip(0.35 * fib + 0.3 * tooth + 0.45 * cloud, 0, 1).astype(np.float32)


def stone(rng: np.random.Generator, size: int = TILE) -> np.ndarray:
    """Honed limestone / slate: broad cloudy mottling, darker speckles and faint fossil-like flecks."""
    mottle = 0.5 + 0.5 * fbm(rng, size, 3, 6, gain=0.6)
    grain = 0.5 + 0.5 * periodic_noise(rng, size, size // 2)
    specks = (rng.random((size, size)) > 0.996).astype(np.float32)
    specks = np.clip(wrap_blur(specks, 0.9) * 6.0, 0, 1)
    flecks = np.clip((0.5 + 0.5 * fbm(rng, size, 16, 3) - 0.72) * 4.0, 0, 1)
    return np.clip(0.6 * mottle + 0.15 * grain + 0.5 * specks + 0.3 * flecks, 0, 1).astype(np.float32)


_MAKERS = {"marble": marble, "wood": wood, "terrazzo": terrazzo, "concrete": concrete, "linen": linen,
           "paper": paper, "stone": stone}


def make_texture(kind: str, seed: int, size: int = TILE) -> np.ndarray | None:
    """The tile for ``kind`` (None for "none"); same kind and seed -> same tile."""
    if kind in (None, "", "none"):
        return None
    if kind not in _MAKERS:
        raise ValueError(f"unknown texture '{kind}'; choose one of: none, {', '.join(_MAKERS)}")
    return _MAKERS[kind](np.random.default_rng([int(seed), len(kind)]), size)
