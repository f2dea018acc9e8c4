"""Relight by a model, as IC-Light does it, with the product's detail restored from the cut-out.

An IC-Light-style model is an SD 1.5-class UNet whose input takes, next to the noisy latents,
the latents of the foreground (the product on grey: 8 input channels, "fc") and, for the
background-conditioned variant, of the background too (12 channels, "fbc"). It repaints the
product lit like the scene. Its output then goes through the same guarantees as the embedded
relight:

1. **detail transfer**: low frequencies (light, shading, colour cast) from the relit image,
   high frequencies (label print, texture, edges) from the original cut-out, in linear light;
2. **bound**: the change is scaled down until the mean CIEDE2000 of the product's interior
   against the cut-out is at most ``max_delta_e`` (the embedded relight's bound, contract <= 3);
3. composited back under the product's own alpha: nothing outside the product changes.

Weights load from a local diffusers folder (``model_index.json``, ``unet`` with 8 or 12 input
channels, ``vae``, ``text_encoder``, ``tokenizer``, ``scheduler``): IC-Light's released offsets
merged into an SD 1.5 UNet and saved with ``save_pretrained``. Backend name: ``iclight:FOLDER``.
Needs the ``diffusion`` extra.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..errors import InputError, require
from ..imaging import linear_to_srgb, srgb_to_linear
from ..provenance import record
from ..types import Cutout, Frame, ProductMaps
from . import RELIGHTERS, _Product, interior_mask, mean_delta_e, sample_indices


@dataclass(frozen=True)
class ModelRelightConfig:
    """Settings of the model relight."""

    prompt: str = "product photo, soft studio light, best quality"
    negative_prompt: str = "lowres, bad anatomy, worst quality, low quality"
    steps: int = 20
    guidance: float = 2.0
    strength: float = 0.9
    """How far from the frame's own pixels the relit image may go (img2img denoise strength)."""
    work_size: int = 512
    """Long side (pixels) of the crop the model works on (rounded to a multiple of 8); a smaller
    crop is worked on at its own size (at least 64)."""
    crop_margin: float = 0.15
    """Share of the product box added around it for the crop the model sees."""
    detail_sigma: float = 0.02
    """Gaussian sigma of the detail split, as a share of the product box's long side."""
    max_delta_e: float = 2.0
    """Bound on the mean CIEDE2000 of the product interior vs the cut-out (as the embedded relight)."""
    seed: int | None = None
    """Noise seed; None = the scene's seed + variant."""
    device: str = "auto"
    dtype: str = "auto"
    delta_e_samples: int = 20000


class ICLight:
    """A loaded IC-Light-style model (see the module docstring)."""

    name = "iclight"

    def __init__(self, folder: str | Path, local_files_only: bool = True):
        self.folder = str(folder)
        self.local_files_only = local_files_only
        self._pipe: Any = None
        self.variant = ""

    def load(self, config: ModelRelightConfig) -> Any:
        if self._pipe is not None:
            return self._pipe
        torch = require("torch", "diffusion", "model relight")
        diffusers = require("diffusers", "diffusion", "model relight")
        from ..render import DiffusionSettings, ModelLoadError, pick_device

        device, dtype = pick_device(DiffusionSettings(device=config.device, dtype=config.dtype))
        if not Path(self.folder).is_dir():
            raise ModelLoadError(f"relight model '{self.folder}'", "folder does not exist (give a local diffusers "
                                                                  "folder with an IC-Light UNet)")
        try:
            pipe = diffusers.StableDiffusionPipeline.from_pretrained(
                self.folder, dtype=dtype, safety_checker=None, requires_safety_checker=False,
                local_files_only=self.local_files_only)
        except Exception as exc:  # noqa: BLE001 - one clear message for any loading failure
            raise ModelLoadError(f"relight model '{self.folder}'", f"cannot load: {type(exc).__name__}: "
                                                                   f"{str(exc).splitlines()[0][:300]}") from exc
        channels = int(pipe.unet.config.in_channels)
        if channels not in (8, 12):
            raise ModelLoadError(f"relight model '{self.folder}'", f"the UNet takes {channels} input channels; an "
                                                                   f"IC-Light UNet takes 8 (fc) or 12 (fbc)")
        self.variant = "fc" if channels == 8 else "fbc"
        pipe.set_progress_bar_config(disable=True)
        pipe.to(device)
        self._pipe, self.device, self.dtype, self.torch = pipe, device, dtype, torch
        from ..render import folder_digest

        self.weights_sha256 = folder_digest(Path(self.folder))
        return pipe

    # ------------------------------------------------------------------------------ model pass
    def relight_crop(self, fg_srgb: np.ndarray, bg_srgb: np.ndarray, start_srgb: np.ndarray,
                     config: ModelRelightConfig, seed: int) -> np.ndarray:
        """Relight one crop: inputs sRGB float H x W x 3 (H, W multiples of 8); returns sRGB float."""
        pipe = self.load(config)
        torch = self.torch
        vae = pipe.vae
        sf = float(vae.config.scaling_factor)

        def encode(img: np.ndarray) -> Any:
            t = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)[None] * 2.0 - 1.0))
            return vae.encode(t.to(self.device, self.dtype)).latent_dist.mode() * sf

        gen = torch.Generator("cpu").manual_seed(int(seed))
        cfg = config.guidance > 1.0
        with torch.inference_mode():
            pe, ne = pipe.encode_prompt(config.prompt, self.device, 1, cfg, negative_prompt=config.negative_prompt)
            cond = [encode(fg_srgb)] + ([encode(bg_srgb)] if self.variant == "fbc" else [])
            concat = torch.cat(cond, dim=1)
            start = encode(start_srgb)
            sched = pipe.scheduler
            sched.set_timesteps(config.steps, device=self.device)
            n_run = max(1, min(config.steps, int(round(config.steps * config.strength))))
            timesteps = sched.timesteps[config.steps - n_run:]
            noise = torch.randn(start.shape, generator=gen, dtype=torch.float32).to(self.device, self.dtype)
            latents = sched.add_noise(start, noise, timesteps[:1]) if n_run < config.steps else noise * sched.init_noise_sigma
            embeds = torch.cat([ne, pe]) if cfg else pe
            for t in timesteps:
                x = torch.cat([latents] * 2) if cfg else latents
                x = sched.scale_model_input(x, t)
                x = torch.cat([x, torch.cat([concat] * (2 if cfg else 1))], dim=1)
                eps = pipe.unet(x, t, encoder_hidden_states=embeds).sample
                if cfg:
                    e_neg, e_pos = eps.chunk(2)
                    eps = e_neg + config.guidance * (e_pos - e_neg)
                latents = sched.step(eps, t, latents).prev_sample
            img = vae.decode(latents / sf).sample
        out = ((img[0].float().clamp(-1, 1) + 1.0) / 2.0).permute(1, 2, 0).cpu().numpy()
        return out.astype(np.float32)


def load_model(backend: str) -> ICLight:
    """The model named by a model relight backend (``iclight:FOLDER``), one per folder per process
    (loaded on first use)."""
    if backend not in RELIGHTERS:
        RELIGHTERS.create(backend)  # the registry's error: unknown backend, choices listed
    name, _, folder = backend.partition(":")
    if name != "iclight" or not folder:
        raise ValueError(f"relight backend '{backend}' is not a model relight: use iclight:FOLDER")
    return _LOADED.setdefault(folder, ICLight(folder))


_LOADED: dict[str, ICLight] = {}


@dataclass(frozen=True)
class ModelRelighter:
    """:func:`relight_model` as a registered relight backend (``iclight:FOLDER``)."""

    backend: str
    config: ModelRelightConfig = ModelRelightConfig()
    name = "iclight"

    def __call__(self, frame: Frame, cutout: Cutout, maps: ProductMaps | None = None, *,
                 overwrite_input: bool = False) -> Frame:
        return relight_model(frame, cutout, maps, backend=self.backend, config=self.config)


def detail_transfer(relit: np.ndarray, original: np.ndarray, sigma: float) -> np.ndarray:
    """Low frequencies of ``relit`` plus the high frequencies of ``original`` (linear H x W x 3)."""
    def low(a: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(a, (0, 0), max(sigma, 0.5), borderType=cv2.BORDER_REFLECT)

    return np.clip(low(relit) + (original - low(original)), 0.0, 1.0).astype(np.float32)


def _product_layer_any(frame: Frame) -> "_Product":
    """The frame's placed product layer (after the embedded relight too: the layer is the locked
    product as placed, which relight never changes)."""
    assert frame.layers is not None
    return _Product(frame.layers.product, frame.size)


MIN_WORK_SIDE = 64
"""The model's smallest working side (px)."""
WORK_MULTIPLE = 8
"""The model's working sides are multiples of this (the latent's downscale factor)."""
NEUTRAL_GREY = 0.5
"""sRGB grey the product is composited over for the model's foreground input."""
INPAINT_RADIUS = 5
"""Radius (px) of the inpainting that removes the product from the model's background input."""
INTERIOR_ERODE_PX = 2
"""Erosion (px) of the product's interior the deltaE bound is measured on."""
STRENGTH_SEARCH_STEPS = 12
"""Bisection steps of the search for the strength within the deltaE bound."""


def _model_crop(box: tuple[int, int, int, int], size: tuple[int, int], crop_margin: float
                ) -> tuple[int, int, int, int]:
    """The crop (x0, y0, x1, y1) the model relights: the product's box plus a margin, within the canvas."""
    x0, y0, x1, y1 = box
    W, H = size
    m = int(round(crop_margin * max(x1 - x0, y1 - y0)))
    return max(x0 - m, 0), max(y0 - m, 0), min(x1 + m, W), min(y1 + m, H)


def _work_size(cw: int, ch: int, work_size: int) -> tuple[int, int]:
    """The model works at ``work_size``, or at the crop's own size when that is smaller (never upscaled
    beyond it: a small product gains nothing from a larger pass); sides are multiples of 8."""
    q = WORK_MULTIPLE
    s = min(work_size, max(MIN_WORK_SIDE, -(-max(cw, ch) // q) * q)) / max(cw, ch)
    return max(q, int(round(cw * s / q)) * q), max(q, int(round(ch * s / q)) * q)


def _model_inputs(product: np.ndarray, a: np.ndarray, scene: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The model's inputs: the product over neutral grey (linear) and the scene without the product
    (sRGB, inpainted)."""
    grey = float(srgb_to_linear(np.float32(NEUTRAL_GREY)))
    fg = product * a[..., None] + grey * (1.0 - a[..., None])
    hole = (a > 1.0 / 255.0).astype(np.uint8)
    bg8 = np.clip(linear_to_srgb(scene) * 255 + 0.5, 0, 255).astype(np.uint8)
    bg = cv2.inpaint(bg8, hole, INPAINT_RADIUS, cv2.INPAINT_TELEA).astype(np.float32) / 255.0
    return fg, bg


def _bounded_change(scene: np.ndarray, detailed: np.ndarray, product: np.ndarray, a: np.ndarray,
                    idx: np.ndarray, max_delta_e: float) -> tuple[np.ndarray, float, float, float]:
    """The bound: the change is scaled until the final interior's mean deltaE against the cut-out
    is within ``max_delta_e`` (measured on the output pixels, whatever the frame had before).
    Returns (final crop, strength, mean deltaE, p95 deltaE)."""
    delta = (detailed - product) * a[..., None]  # only the product's own share of each pixel changes
    touched = (a > 0)[..., None]

    def final(k: float) -> np.ndarray:
        return np.where(touched, np.clip(scene + k * delta, 0.0, 1.0), scene)

    strength = 1.0
    de, de95 = mean_delta_e(final(1.0), product, idx)
    if de > max_delta_e:
        lo, hi = 0.0, 1.0
        for _ in range(STRENGTH_SEARCH_STEPS):
            mid = (lo + hi) / 2
            if mean_delta_e(final(mid), product, idx)[0] > max_delta_e:
                hi = mid
            else:
                lo = mid
        strength = lo
        de, de95 = mean_delta_e(final(strength), product, idx)
    return final(strength), strength, de, de95


def relight_model(frame: Frame, cutout: Cutout, maps: ProductMaps | None = None, backend: str = "",
                  config: ModelRelightConfig = ModelRelightConfig()) -> Frame:
    """Relight the product of a rendered frame with an IC-Light-style model.

    Parameters
    ----------
    frame : Frame
        A rendered frame (any renderer): its product layer is read (the product is not placed again)
        and only the product's pixels change.
    cutout : Cutout
        The locked product the frame was rendered from.
    maps : ProductMaps, optional
        Unused (accepted so every relight backend has one signature).
    backend : str
        ``iclight:FOLDER``.
    config : ModelRelightConfig

    Returns
    -------
    Frame
        Only product pixels change; ``provenance["relight"]`` records the model (folder and
        weight hash), parameters, the strength kept by the bound and the measured deltaE.
    """
    t_start = time.perf_counter()
    model = load_model(backend)
    spec = frame.spec
    W, H = frame.size
    if frame.layers is None:
        raise InputError("frame", "has no layers: relight needs the frame packshot.render.render returned "
                                  "(a frame read back from a file carries none)")
    placed = _product_layer_any(frame)
    x0, y0, x1, y1 = frame.product_box
    cx0, cy0, cx1, cy1 = _model_crop(frame.product_box, (W, H), config.crop_margin)
    ys, xs = slice(cy0, cy1), slice(cx0, cx1)
    cw, ch = cx1 - cx0, cy1 - cy0
    ww, wh = _work_size(cw, ch, config.work_size)

    a = placed.alpha_window(ys, xs)
    product = placed.straight(ys, xs)
    scene = np.asarray(frame.rgb[ys, xs], np.float32)
    fg, bg = _model_inputs(product, a, scene)

    def work(img_srgb: np.ndarray) -> np.ndarray:
        return cv2.resize(img_srgb, (ww, wh), interpolation=cv2.INTER_AREA)

    seed = config.seed if config.seed is not None else (int(spec.seed) + int(spec.variant)) % 2**63
    t0 = time.perf_counter()
    relit_srgb = model.relight_crop(work(linear_to_srgb(fg)), work(bg), work(linear_to_srgb(scene)), config, seed)
    t_model = time.perf_counter() - t0
    relit = srgb_to_linear(cv2.resize(relit_srgb, (cw, ch), interpolation=cv2.INTER_CUBIC))
    sigma = config.detail_sigma * max(x1 - x0, y1 - y0)
    detailed = detail_transfer(relit, product, sigma)

    # the bound: the change scaled until the interior's mean deltaE against the cut-out is within it
    idx = sample_indices(interior_mask(a, INTERIOR_ERODE_PX), config.delta_e_samples)
    final, strength, de, de95 = _bounded_change(scene, detailed, product, a, idx, config.max_delta_e)
    out = np.array(frame.rgb, np.float32, copy=True)
    out[ys, xs] = final
    rec = record(
        "relight", f"iclight-{model.variant}",
        params={k: v for k, v in asdict(config).items()},
        inputs=dict(frame.spec.provenance.get("inputs", {})),  # the hashes render recorded, from the spec
        model={"source": "local", "path": model.folder, "weights_sha256": model.weights_sha256,
               "variant": model.variant},
        seed=seed, work_size=[ww, wh], crop=[cx0, cy0, cx1, cy1], detail_sigma_px=round(sigma, 3),
        shading_strength_applied=round(strength, 4), product_delta_e2000_mean=round(de, 4),
        product_delta_e2000_p95=round(de95, 4), delta_e_pixels=int(idx.size),
        timings={"model_s": round(t_model, 4), "total_s": round(time.perf_counter() - t_start, 4)},
    )
    provenance = dict(frame.provenance)
    if "relight" in provenance:
        provenance["relight_embedded"] = provenance["relight"]
    provenance["relight"] = rec
    layers = dataclasses.replace(frame.layers, flattened=True)
    return dataclasses.replace(frame, rgb=out, source_kind="diffusion", provenance=provenance, layers=layers)


__all__ = ["relight_model", "ModelRelightConfig", "ModelRelighter", "ICLight", "RELIGHTERS", "detail_transfer",
           "load_model"]
