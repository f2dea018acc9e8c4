"""The ``diffusion`` renderer: a diffusion model paints the scene around the locked product.

SD 1.5-class, SDXL-class and Flux-class models (diffusers layout, from the Hugging Face hub or
a local folder) inpaint everything but the product and a margin around it, guided by

* the brief's ``prompt`` and ``negative_prompt``;
* ControlNets on the product's own depth and edges (:class:`~packshot.types.ProductMaps`,
  warped into the scene layout with the product's placement matrix), each with its own scale;
* IP-Adapter image prompts from the scene's reference images (SD 1.5 / SDXL).

The product is never repainted (:mod:`.lock`): it is kept out of the inpainting mask, its exact
pixels are composited back after decoding, and the decoder's colour drift around it is measured
and removed. The image the model starts from is the procedural studio scene of the same spec
(so ``strength`` < 1 keeps its layout: floor line, podium, light).

Settings come from the brief's ``diffusion:`` block (:mod:`packshot.condition.render_options`),
over defaults given to the renderer. Seeds: image ``i`` of a scene uses ``seed + variant``.

Needs the ``diffusion`` extra (torch, diffusers, transformers).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import cv2
import numpy as np

from ...errors import InputError
from ...imaging import linear_to_srgb, srgb_to_linear
from ...types import ProductMaps, SceneSpec
from ..compose import PlacedProduct, composite, warp_layer
from .lock import LockMasks, lock_masks, ring_delta_e, seam_correction
from .settings import ControlNetSpec, DiffusionSettings, IPAdapterSpec

__all__ = ["DiffusionRenderer", "DiffusionSettings", "ControlNetSpec", "IPAdapterSpec", "control_image",
           "lock_masks", "seam_correction", "ring_delta_e", "settings_for"]


def settings_for(spec: SceneSpec, defaults: DiffusionSettings | None = None) -> DiffusionSettings:
    """The settings of one spec: its brief's ``diffusion`` block over ``defaults``."""
    block = dict(spec.provenance.get("diffusion", {}) or {})
    return DiffusionSettings.from_dict(block, base=defaults)


def control_image(kind: str, maps: ProductMaps, product: PlacedProduct, canvas: tuple[int, int]) -> np.ndarray:
    """A ControlNet input (float32 H x W in [0, 1]) from the product's maps, placed in the scene.

    ``depth``: the product's relative depth (larger = nearer = brighter, as depth ControlNets
    expect) where the product is, black elsewhere. ``canny``: the product's edge map plus its
    silhouette outline, binarised (white lines on black).
    """
    alpha = product.alpha
    if kind == "depth":
        d = np.asarray(maps.depth, np.float32)
        lo, hi = float(d.min()), float(d.max())
        d = (d - lo) / (hi - lo) if hi > lo else np.ones_like(d)
        placed = warp_layer(0.15 + 0.85 * d, product.matrix, canvas)
        return np.clip(placed * alpha, 0.0, 1.0).astype(np.float32)
    if kind == "canny":
        edges = warp_layer(np.asarray(maps.edges, np.float32), product.matrix, canvas) > 0.25
        outline = cv2.Canny((alpha * 255).astype(np.uint8), 64, 192) > 0
        return (edges | outline).astype(np.float32)
    raise InputError("diffusion.controlnets", f"unknown control kind '{kind}' (depth or canny)")


_REFS: dict[str, tuple[str, np.ndarray]] = {}


def _reference(path: str) -> tuple[str, np.ndarray]:
    """A reference image as sRGB uint8 (224 px short side) and its file hash (cached by path)."""
    if path not in _REFS:
        from ...imaging import linear_to_srgb8, load_image, resize_linear

        img = load_image(path)
        h, w = img.rgb.shape[:2]
        s = 224.0 / min(h, w)
        small = resize_linear(img.rgb, (max(1, round(w * s)), max(1, round(h * s))))
        _REFS[path] = (img.sha256, linear_to_srgb8(small, dither=False))
    return _REFS[path]


@dataclass(frozen=True)
class _Prepared:
    spec: SceneSpec
    product: PlacedProduct
    settings: DiffusionSettings
    init_linear: np.ndarray
    masks: LockMasks
    controls: tuple[np.ndarray, ...]
    scene_info: dict[str, Any]


class DiffusionRenderer:
    """Registered as ``diffusion``; see the module docstring.

    Parameters
    ----------
    defaults : DiffusionSettings or mapping, optional
        Settings used where a scene's brief does not set them (a brief block always wins).
    """

    name = "diffusion"
    source_kind = "diffusion"
    uses_maps = True

    def __init__(self, defaults: DiffusionSettings | Mapping[str, Any] | None = None):
        if isinstance(defaults, Mapping):
            defaults = DiffusionSettings.from_dict(defaults, check=False)
        self.defaults = defaults or DiffusionSettings()

    # -------------------------------------------------------------------------------- prepare
    def _prepare(self, spec: SceneSpec, product: PlacedProduct, maps: ProductMaps | None) -> _Prepared:
        from ..studio import StudioRenderer

        settings = settings_for(spec, self.defaults)
        start, scene_info = StudioRenderer().background(spec, product)
        init = composite(start, product)
        masks = lock_masks(product.alpha, settings.lock_margin, settings.base_band)
        controls: list[np.ndarray] = []
        if settings.controlnets:
            if maps is None:
                raise InputError(f"scene '{spec.scene}'", "ControlNets need the product's maps (depth, edges)")
            controls = [control_image(c.kind, maps, product, spec.canvas) for c in settings.controlnets]
        return _Prepared(spec, product, settings, init, masks, tuple(controls), dict(scene_info))

    # -------------------------------------------------------------------------------- paint
    def backgrounds(self, items: Sequence[tuple[SceneSpec, PlacedProduct]], maps: ProductMaps | None = None
                    ) -> list[tuple[np.ndarray, dict[str, Any]]]:
        """Paint several specs; those sharing canvas, prompt, references and settings (the variants
        of one scene) run as one batch. Results are in the order of ``items``."""
        from . import engine

        prepared = [self._prepare(spec, product, maps) for spec, product in items]
        groups: dict[tuple, list[int]] = {}
        for i, p in enumerate(prepared):
            key = (p.spec.canvas, p.settings.call_key(), p.spec.prompt, p.spec.negative_prompt, p.spec.references)
            groups.setdefault(key, []).append(i)
        results: list[tuple[np.ndarray, dict[str, Any]] | None] = [None] * len(prepared)
        for indices in groups.values():
            first = prepared[indices[0]]
            settings = first.settings
            loaded = engine.load(settings)
            refs = [_reference(r) for r in first.spec.references] if settings.ip_adapter is not None else []
            jobs = [engine.PaintJob(init_srgb=linear_to_srgb(prepared[i].init_linear), mask=prepared[i].masks.inpaint,
                                    controls=prepared[i].controls,
                                    seed=(int(prepared[i].spec.seed) + int(prepared[i].spec.variant)) % 2**63)
                    for i in indices]
            images, timings = engine.paint(loaded, jobs, first.spec.prompt, first.spec.negative_prompt, refs, settings)
            for k, i in enumerate(indices):
                p = prepared[i]
                t0 = time.perf_counter()
                decoded = srgb_to_linear(images[k])
                seam: dict[str, Any] = {"ring_delta_e_before": round(ring_delta_e(decoded, p.init_linear, p.masks.ring), 4)}
                if settings.seam_correction:
                    decoded, seam = seam_correction(decoded, p.init_linear, p.masks, settings.seam_feather)
                seam["correction"] = settings.seam_correction
                info = dict(p.scene_info)
                info["painted_by"] = "diffusion"
                info["_provenance"] = {"diffusion": {
                    **loaded.provenance,
                    "scheduler": settings.scheduler if settings.scheduler != "default"
                    else f"default ({loaded.scheduler_config.get('_class_name', '')})",
                    "steps": settings.steps, "guidance": settings.guidance, "strength": settings.strength,
                    "seed": jobs[k].seed,
                    "controlnets": [dict(rec, scale=c.scale, start=c.start, end=c.end)
                                    for rec, c in zip(loaded.provenance["controlnets"], settings.controlnets)],
                    "ip_adapter": None if settings.ip_adapter is None else dict(
                        loaded.provenance["ip_adapter"], scale=settings.ip_adapter.scale if refs else 0.0,
                        references=[h for h, _ in refs]),
                    "prompt": p.spec.prompt, "negative_prompt": p.spec.negative_prompt,
                    "lock": {"margin": settings.lock_margin, "base_band": settings.base_band,
                             "kept_pixels": int(p.masks.keep.sum()), "band_pixels": int(p.masks.band.sum())},
                    "seam": seam, "batch": len(indices),
                    "timings": {**{k2: round(v, 4) for k2, v in timings.items()},
                                "post_s": round(time.perf_counter() - t0, 4), "load_s": round(loaded.load_s, 4)},
                }}
                results[i] = (decoded, info)
        return [r for r in results if r is not None]

    def background(self, spec: SceneSpec, product: PlacedProduct, maps: ProductMaps | None = None
                   ) -> tuple[np.ndarray, dict[str, Any]]:
        """Paint one spec (see :meth:`backgrounds`)."""
        return self.backgrounds([(spec, product)], maps)[0]
