"""The product's main colours in CIELAB with their shares (seeded k-means, merged by deltaE)."""

from __future__ import annotations

import numpy as np

from ..imaging import lab_to_linear, linear_to_lab
from ..types import PaletteColor


def _kmeans(points: np.ndarray, k: int, rng: np.random.Generator, iterations: int = 15) -> tuple[np.ndarray, np.ndarray]:
    """Plain Lloyd k-means with k-means++ seeding (deterministic for a seeded ``rng``)."""
    n = points.shape[0]
    centres = [points[int(rng.integers(n))]]
    d2 = np.sum((points - centres[0]) ** 2, axis=1)
    for _ in range(1, k):
        total = float(d2.sum())
        if total <= 0:
            break
        centres.append(points[int(rng.choice(n, p=d2 / total))])
        d2 = np.minimum(d2, np.sum((points - centres[-1]) ** 2, axis=1))
    c = np.stack(centres).astype(np.float64)
    labels = np.zeros(n, np.int64)
    for _ in range(iterations):
        dist = ((points[:, None, :] - c[None, :, :]) ** 2).sum(axis=2)
        new = dist.argmin(axis=1)
        if _ and np.array_equal(new, labels):
            break
        labels = new
        for j in range(c.shape[0]):
            sel = labels == j
            if sel.any():
                c[j] = points[sel].mean(axis=0)
    return c, labels


def extract_palette(rgb_linear: np.ndarray, alpha: np.ndarray, colors: int = 5, merge_delta_e: float = 10.0,
                    min_share: float = 0.02, sample: int = 8000, seed: int = 0) -> tuple[PaletteColor, ...]:
    """Main colours of the product, largest share first.

    Parameters
    ----------
    rgb_linear : ndarray
        float32 H x W x 3 linear light.
    alpha : ndarray
        float32 H x W product alpha; pixels with alpha > 0.9 are counted (edges mix in the backdrop).
    colors : int
        Number of k-means clusters before merging.
    merge_delta_e : float
        Clusters closer than this (CIE76 distance in Lab) are merged.
    min_share : float
        Colours covering less than this share are dropped (shares are then renormalised).
    sample : int
        At most this many pixels are clustered (an evenly seeded random sample).
    seed : int
        Seed of the sampling and of k-means; the same seed gives the same palette.

    Returns
    -------
    tuple of PaletteColor
        Empty when the product has no solid pixels.
    """
    a = np.asarray(alpha, np.float32)
    solid = a > 0.9
    if not solid.any():
        solid = a > 0.5
    if not solid.any():
        return ()
    pixels = np.asarray(rgb_linear, np.float32)[solid]
    rng = np.random.default_rng(seed)
    if pixels.shape[0] > sample:
        pixels = pixels[rng.choice(pixels.shape[0], sample, replace=False)]
    lab = linear_to_lab(pixels).astype(np.float64)
    k = max(1, min(int(colors), lab.shape[0]))
    centres, labels = _kmeans(lab, k, rng)
    counts = np.bincount(labels, minlength=centres.shape[0]).astype(np.float64)
    # merge near-identical clusters, largest first (weighted mean in Lab)
    order = list(np.argsort(-counts))
    merged: list[tuple[np.ndarray, float]] = []
    for j in order:
        if counts[j] == 0:
            continue
        for i, (c, n) in enumerate(merged):
            if np.linalg.norm(c - centres[j]) < merge_delta_e:
                merged[i] = ((c * n + centres[j] * counts[j]) / (n + counts[j]), n + counts[j])
                break
        else:
            merged.append((centres[j].copy(), counts[j]))
    total = sum(n for _, n in merged)
    kept = [(c, n) for c, n in merged if n / total >= min_share] or merged[:1]
    total = sum(n for _, n in kept)
    kept.sort(key=lambda cn: -cn[1])
    out = []
    for c, n in kept:
        rgb = np.clip(lab_to_linear(c.astype(np.float32)), 0.0, 1.0)
        out.append(PaletteColor(lab=tuple(round(float(v), 3) for v in c),
                                rgb=tuple(round(float(v), 5) for v in rgb), share=round(float(n / total), 4)))
    return tuple(out)
