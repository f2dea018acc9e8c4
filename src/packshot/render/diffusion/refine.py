"""Refine: targeted inpainting of the regions QA flags, with the renderer's own components.

The product stays locked exactly as in rendering: the region to repaint is first cut down to
pixels outside the product and its margin, so no product pixel can change. Only the repainted
region (feathered at its border, never into the kept area) takes the model's pixels; the
decoder's colour drift is measured on a ring just outside the region and removed, as at the
product's seam.
"""

from __future__ import annotations

import dataclasses

import time
from typing import Any

import cv2
import numpy as np

from ...errors import InputError
from ...imaging import linear_to_srgb, srgb_to_linear
from ...provenance import record
from ...types import Cutout, Frame, ProductMaps
from ..compose import place_product
from . import DiffusionSettings, control_image, settings_for
from .lock import LockMasks, lock_masks, seam_correction

REFINE_SEED_OFFSET = 7919
"""Added to the frame's seed so a refine pass draws other noise than the render did."""


def regions_from_qa(details: Any, frame_size: tuple[int, int], threshold: float = 0.2, grow: int = 3) -> np.ndarray:
    """Frame-sized bool mask of what QA flagged outside the product: coverage growing out of the
    locked silhouette (:attr:`packshot.qa.silhouette.SilhouetteResult.growth_map`), dilated by ``grow``."""
    W, H = frame_size
    x0, y0, x1, y1 = details.crop
    mask = np.zeros((H, W), bool)
    if details.silhouette is None:  # the silhouette check did not run: nothing flagged
        return mask
    growth = np.asarray(details.silhouette.growth_map) > threshold
    mask[y0:y0 + growth.shape[0], x0:x0 + growth.shape[1]] = growth[: H - y0, : W - x0]
    if grow > 0 and mask.any():
        k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1))
        mask = cv2.dilate(mask.astype(np.uint8), k) > 0
    return mask


def refine(frame: Frame, cutout: Cutout, region: np.ndarray, maps: ProductMaps | None = None,
           defaults: DiffusionSettings | None = None, prompt: str | None = None, feather: float = 3.0) -> Frame:
    """Repaint ``region`` (H x W bool, frame pixels) of a frame; the product and its margin are never touched.

    Parameters
    ----------
    frame : Frame
        A rendered frame whose spec carries the diffusion settings (or give ``defaults``).
    cutout : Cutout
        The locked product.
    region : ndarray
        Pixels to repaint, e.g. :func:`regions_from_qa`.
    maps : ProductMaps, optional
        For the ControlNets the settings name.
    prompt : str, optional
        Replaces the scene's prompt for this pass.
    feather : float
        Gaussian sigma (pixels) of the blend into the frame, cut off 2 x feather pixels from the
        region and never inside the kept area.
    """
    from . import engine

    t_start = time.perf_counter()
    W, H = frame.size
    region = np.asarray(region, bool)
    if region.shape != (H, W):
        raise InputError("refine region", f"is {region.shape[1]}x{region.shape[0]}, the frame is {W}x{H}")
    settings = settings_for(frame.spec, defaults)
    matrix = np.array(frame.provenance.get("render", {}).get("matrix", frame.spec.placement.matrix(cutout.bbox)))
    placed = place_product(cutout.rgb, cutout.alpha, matrix, (W, H))
    lock = lock_masks(placed.alpha, settings.lock_margin)
    repaint = region & ~lock.keep
    if not repaint.any():
        return frame
    controls = tuple(control_image(c.kind, maps, placed, (W, H)) for c in settings.controlnets) if maps is not None \
        else ()
    if settings.controlnets and maps is None:
        raise InputError("refine", "the settings name ControlNets: pass the product's maps")
    seed = (int(frame.spec.seed) + int(frame.spec.variant) + REFINE_SEED_OFFSET) % 2**63
    loaded = engine.load(settings)
    job = engine.PaintJob(init_srgb=linear_to_srgb(np.clip(frame.rgb, 0, 1)), mask=repaint.astype(np.float32),
                          controls=controls, seed=seed)
    refs = []
    if settings.ip_adapter is not None:
        from . import _reference

        refs = [_reference(r) for r in frame.spec.references]
    images, timings = engine.paint(loaded, [job], frame.spec.prompt if prompt is None else prompt,
                                   frame.spec.negative_prompt, refs, settings)
    decoded = srgb_to_linear(images[0])
    # drift measured on a ring just outside the region (decoded vs the frame there), removed inside it
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 9))
    ring = (cv2.dilate(repaint.astype(np.uint8), k) > 0) & ~repaint & ~lock.product
    fake = LockMasks(product=np.zeros_like(repaint), keep=~repaint, ring=ring, band=np.zeros_like(repaint))
    decoded, seam = seam_correction(decoded, np.asarray(frame.rgb, np.float32), fake, feather=8.0)
    weight = cv2.GaussianBlur(repaint.astype(np.float32), (0, 0), max(feather, 0.5)) if feather > 0 \
        else repaint.astype(np.float32)
    weight = np.maximum(weight, repaint.astype(np.float32))
    reach = int(np.ceil(2 * feather))
    if reach > 0:  # the feather stops 2 x feather pixels from the region
        near = cv2.dilate(repaint.astype(np.uint8), cv2.getStructuringElement(
            cv2.MORPH_ELLIPSE, (2 * reach + 1, 2 * reach + 1))) > 0
        weight[~near] = 0.0
    weight[lock.keep] = 0.0  # the product and its margin keep their pixels exactly
    out = frame.rgb + (decoded - frame.rgb) * weight[..., None]
    out = out.astype(np.float32)
    rec = record("refine", "diffusion", params={"steps": settings.steps, "guidance": settings.guidance,
                                                "strength": settings.strength, "feather": feather,
                                                "prompt": frame.spec.prompt if prompt is None else prompt},
                 seed=seed, region_pixels=int(repaint.sum()), asked_pixels=int(region.sum()), seam=seam,
                 model=loaded.provenance["model"],
                 timings={**{k2: round(v, 4) for k2, v in timings.items()},
                          "total_s": round(time.perf_counter() - t_start, 4)})
    provenance = dict(frame.provenance)
    provenance.setdefault("refine", [])
    provenance["refine"] = list(provenance["refine"]) + [rec]
    # the product and its margin keep their pixels: the frame is still product over a (repainted) background
    return dataclasses.replace(frame, rgb=out, source_kind="diffusion", provenance=provenance)
