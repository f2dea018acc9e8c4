"""The ``plate`` renderer: a user's background photo is the scene.

The plate is cropped to the canvas' aspect ratio (centred) and resized in linear light. The
product stands on the floor line the brief gives or :mod:`packshot.condition` estimated, scaled
for perspective there. This renderer measures what the product must match, so the relight
stage can adjust it within its bound: the plate's colour balance, contrast, grain and softness.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from ..imaging import LUMINANCE_WEIGHTS, linear_to_srgb, luminance, resize_linear
from ..types import SceneSpec
from ..ops.morphology import product_interior
from ..ops.noise import estimate_noise  # noqa: F401 (re-exported: render's face)
from .compose import PlacedProduct


PLATE_INTERIOR_ERODE_PX = 2
"""Erosion of the product interior the plate renderer measures the product's grain and softness on."""


def cover_crop(image: np.ndarray, canvas: tuple[int, int]) -> np.ndarray:
    """Crop ``image`` (centred) to the aspect ratio of ``canvas`` (w, h), then resize to it."""
    W, H = canvas
    h, w = image.shape[:2]
    target = W / H
    if w / h > target:
        nw = max(1, int(round(h * target)))
        x0 = (w - nw) // 2
        image = image[:, x0 : x0 + nw]
    else:
        nh = max(1, int(round(w / target)))
        y0 = (h - nh) // 2
        image = image[y0 : y0 + nh]
    return resize_linear(image, (W, H))


def estimate_softness(rgb_linear: np.ndarray, mask: np.ndarray | None = None) -> float:
    """How soft (blurred) an image is: an edge-width estimate in pixels (Gaussian sigma, 0.5..4).

    For a step edge blurred by a Gaussian of sigma s, the peak second derivative over the
    peak first derivative is 1 / (s * sqrt(e)); the strongest edges give the estimate.
    """
    s = luminance(linear_to_srgb(rgb_linear)).astype(np.float32)
    gx = cv2.Sobel(s, cv2.CV_32F, 1, 0, ksize=3) / 8.0
    gy = cv2.Sobel(s, cv2.CV_32F, 0, 1, ksize=3) / 8.0
    grad = np.hypot(gx, gy)
    lap = np.abs(cv2.Laplacian(s, cv2.CV_32F, ksize=1))
    if mask is not None:
        grad, lap = grad[mask], lap[mask]
    if grad.size < 16:
        return 0.5
    g = float(np.percentile(grad, 99.5))
    la = float(np.percentile(lap, 99.5))
    if g <= 1e-4 or la <= 1e-6:
        return 4.0
    return float(np.clip(g / (la * np.sqrt(np.e)), 0.5, 4.0))


def colour_balance(rgb_linear: np.ndarray) -> np.ndarray:
    """Grey-world gains of an image: its mean colour normalised to luminance 1 (linear RGB)."""
    mean = rgb_linear.reshape(-1, 3).mean(axis=0).astype(np.float64)
    lum = float(mean @ LUMINANCE_WEIGHTS)
    if lum <= 1e-6:
        return np.ones(3, np.float32)
    return (mean / lum).astype(np.float32)


class PlateRenderer:
    """A background photo as the scene. Registered as ``plate``."""

    name = "plate"

    def background(self, spec: SceneSpec, product: PlacedProduct) -> tuple[np.ndarray, dict[str, Any]]:
        """The plate at canvas size, and what the product must match (JSON-ready ``info``)."""
        if spec.plate is None:
            raise ValueError(f"scene '{spec.scene}': the plate renderer needs a background photo (spec.plate)")
        W, H = spec.canvas
        plate = cover_crop(np.asarray(spec.plate, np.float32)[..., :3], (W, H))
        floor_y = float(spec.floor_y)
        noise = estimate_noise(plate)
        softness = estimate_softness(plate)
        interior = product_interior(product.alpha, PLATE_INTERIOR_ERODE_PX)
        product_softness = estimate_softness(product.rgb, interior)
        product_noise = estimate_noise(product.rgb, interior)
        gains = colour_balance(plate)
        # Match part of the way: a product photographed under neutral light takes on some of
        # the plate's cast, as it would have in the room, without turning its colour.
        match_gains = gains.astype(np.float64) ** 0.35
        match_gains = match_gains / (match_gains @ LUMINANCE_WEIGHTS)
        lum = luminance(plate)
        spread = float(np.std(np.log(lum + 0.01)))
        contrast = float(np.clip((spread / 0.9) ** 0.15, 0.92, 1.08))
        extra_blur = float(np.sqrt(max(softness**2 - product_softness**2, 0.0)))
        info = {
            "support": {"kind": "below", "y": floor_y - 0.04 * H, "soft": 0.03 * H},
            "noise": noise,
            "match": {
                "gains": [float(g) for g in match_gains],
                "contrast": contrast,
                "blur": float(min(extra_blur, 2.0)),
                "noise": float(np.sqrt(max(noise**2 - product_noise**2, 0.0))),
            },
            "plate_stats": {"noise": noise, "softness": softness, "gains": [float(g) for g in gains],
                            "log_spread": spread, "product_softness": product_softness,
                            "product_noise": product_noise},
            "floor_line_source": spec.backdrop.get("floor_line_source"),
        }
        return plate, info
