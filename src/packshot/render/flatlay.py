"""Flat-lay scenes: the camera looks straight down on a surface that fills the frame.

A top-down preset (:data:`packshot.condition.presets.VIEWS`, ``view: top-down``) has no wall,
horizon, sweep or podium: its ``floor`` colour and texture (linen, paper, wood, stone, ...) are
mapped flat across the whole canvas, lit by the scene's key from one side above (a gentle
gradient from the light's side, ``sweep_falloff`` deep, and a faint vignette). The product lies
on it centred; its shadows are drawn by relight (:func:`packshot.relight.flatlay_occlusion`: a
soft shadow offset away from the light plus a tight contact shadow, no reflection).

In the image plane the key's azimuth reads as for the front view with "the camera" at the bottom
of the frame: 0 = from the right, 90 = from the bottom, 180 = from the left, 270 = from the top
(the flat-lay presets light from the top left, about 225). Everything is linear light.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..imaging import srgb_to_linear
from ..types import Light, RegionLayer, SceneSpec
from .compose import PlacedProduct
from .geometry import light_tint
from .textures import TILE, make_texture

TILE_SPAN = 0.9
"""One texture tile spans this share of the canvas's long side."""
VIGNETTE = 0.06
"""Corners are this much darker than the centre (0 on a pure-white surface: it must stay white)."""


def light_vector(light: Light) -> tuple[float, float]:
    """Unit vector in image coordinates (x right, y down) pointing from the scene toward the key,
    seen from above: azimuth 0 = right, 90 = bottom (the camera's side), 180 = left, 270 = top."""
    az = np.radians(float(light.azimuth))
    return float(np.cos(az)), float(np.sin(az))


def flatlay_background(spec: SceneSpec, product: PlacedProduct) -> tuple[np.ndarray, dict[str, Any]]:
    """Paint a flat-lay surface for ``spec`` (float32 H x W x 3 linear) and the facts relight needs."""
    import cv2

    W, H = spec.canvas
    b = spec.backdrop
    seed = int(b.get("texture_seed", spec.seed))
    base = srgb_to_linear(np.asarray(b["floor"], np.float32))
    tint = srgb_to_linear(np.asarray(b.get("texture_tint", (0.5, 0.5, 0.5)), np.float32))
    strength = float(b.get("texture_strength", 0.0))
    tile = make_texture(b.get("floor_texture", "none"), seed)
    if tile is not None and strength > 0:
        scale = TILE / (TILE_SPAN * max(W, H))
        map_x = np.ascontiguousarray(np.broadcast_to(np.mod(np.arange(W, dtype=np.float32)[None, :] * scale, TILE), (H, W)))
        map_y = np.ascontiguousarray(np.broadcast_to(np.mod(np.arange(H, dtype=np.float32)[:, None] * scale, TILE), (H, W)))
        tex = cv2.remap(tile, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)
        t = (tex * strength)[..., None]
        albedo = base * (1.0 - t) + tint * t
    else:
        albedo = np.broadcast_to(base, (H, W, 3))
    # the key from one side above: brighter toward it, falling off across the frame
    falloff = float(b.get("sweep_falloff", 0.0))
    lx, ly = light_vector(spec.light)
    xs = (np.arange(W, dtype=np.float32)[None, :] + 0.5) / W - 0.5
    ys = (np.arange(H, dtype=np.float32)[:, None] + 0.5) / H - 0.5
    along = np.clip(0.5 - (xs * lx + ys * ly), 0.0, 1.0)  # 0 toward the light .. 1 away from it
    illum = 1.0 - falloff * along ** 1.3
    if falloff > 0:
        illum = illum * (1.0 - VIGNETTE * np.clip((xs ** 2 + ys ** 2) / 0.5, 0.0, 1.0))
    level = 0.8 + 0.2 * float(spec.light.intensity)
    gain = (light_tint(spec.light.kelvin) * level).astype(np.float32)
    background = (albedo * np.asarray(illum, np.float32)[..., None] * gain).astype(np.float32)
    np.clip(background, 0.0, 1.0, out=background)
    info: dict[str, Any] = {"podium": "none", "view": "top-down", "horizon": None, "ground_y": float(spec.floor_y),
                            "support": {"kind": "all"}, "noise": 0.0, "light_vector": [round(lx, 4), round(ly, 4)]}
    return background, info


def is_top_down(spec: SceneSpec) -> bool:
    """Whether ``spec`` is a flat-lay (top-down) scene."""
    return spec.backdrop.get("view", "front") == "top-down"


def declared_shadow(frame) -> RegionLayer | None:
    """The shadow a frame declares for qa (its :class:`~packshot.types.FrameLayers` ``shadow``: the share
    of the backdrop's light taken away), or None.

    A flat-lay's shadows (relight's offset drop shadow and contact occlusion all round) lie right beside
    the product's outline, in the band qa's silhouette check unmixes, so a flat-lay frame declares them
    (in memory, and written beside the frame by :func:`packshot.render.io.save_frame`): qa models them
    instead of reading a dark shadow as the outline grown. A front view's shadows lie under its base,
    which that check does not judge: they are not declared (nothing changes for those frames). Nor is
    the shadow of a frame a relight model repainted after it was drawn (its provenance keeps the
    bounded relight as ``relight_embedded``): the pixels need no longer show that shadow."""
    layers = getattr(frame, "layers", None)
    if layers is None or layers.shadow is None or not is_top_down(frame.spec):
        return None
    if "relight_embedded" in (frame.provenance or {}):
        return None
    return layers.shadow


__all__ = ["flatlay_background", "light_vector", "TILE_SPAN", "declared_shadow", "is_top_down"]
