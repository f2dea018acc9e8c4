"""Loading diffusers pipelines and running them (torch lives here, imported lazily).

One loaded pipeline per distinct model setup is kept for the process (:func:`load`), with its
prompt and IP-Adapter embeddings cached per scene (:class:`Loaded`), so frames of one scene
reuse them and variants of one scene run as one batch (:func:`paint`).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ...errors import InputError, require
from .settings import DiffusionSettings

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".gguf")

_SCHEDULERS = {
    "euler": ("EulerDiscreteScheduler", {}),
    "euler_a": ("EulerAncestralDiscreteScheduler", {}),
    "dpmpp_2m": ("DPMSolverMultistepScheduler", {}),
    "dpmpp_2m_karras": ("DPMSolverMultistepScheduler", {"use_karras_sigmas": True}),
    "ddim": ("DDIMScheduler", {}),
    "unipc": ("UniPCMultistepScheduler", {}),
    "pndm": ("PNDMScheduler", {}),
    "lms": ("LMSDiscreteScheduler", {}),
}

LATENT_SCALE = 8
"""Pixels per latent cell when the pipeline does not say (its ``vae_scale_factor``)."""
FLUX_PACK = 2
"""Flux packs FLUX_PACK x FLUX_PACK latents into one token: its canvas is a multiple of that many cells."""
CFG_ABOVE = 1.0
"""Classifier-free guidance runs (negative branch and all) only for a guidance scale above this."""
IP_OFF_SIDE, IP_OFF_GREY = 224, 128
"""The stand-in reference (a flat grey square, side px, 8-bit grey) when the IP-Adapter is loaded but
the scene has none: its scale is 0, so it changes nothing."""
NEGATIVE_QUOTED = 60
"""Characters of a refused negative prompt quoted in the error."""


class ModelLoadError(InputError):
    """A model could not be loaded (missing folder, not cached offline, wrong layout)."""


def _torch():
    return require("torch", "diffusion", "the diffusion renderer")


def _diffusers():
    return require("diffusers", "diffusion", "the diffusion renderer")


def pick_device(settings: DiffusionSettings) -> tuple[str, Any]:
    """(device, torch dtype): cuda with bf16 (fp16 where bf16 is not supported), else mps with fp16,
    else cpu with fp32; ``settings.device`` / ``settings.dtype`` (or the environment variables
    ``PACKSHOT_DIFFUSION_DEVICE`` / ``PACKSHOT_DIFFUSION_DTYPE``) override."""
    torch = _torch()
    device = settings.device if settings.device != "auto" else os.environ.get("PACKSHOT_DIFFUSION_DEVICE", "auto")
    if device == "auto":
        if torch.cuda.is_available():
            device = "cuda"
        elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            device = "mps"
        else:
            device = "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise InputError("diffusion.device", f"'{device}' asked for but no CUDA device is available")
    dtype_name = settings.dtype if settings.dtype != "auto" else os.environ.get("PACKSHOT_DIFFUSION_DTYPE", "auto")
    if dtype_name == "auto":
        if device.startswith("cuda"):
            dtype_name = "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
        elif device == "mps":
            dtype_name = "float16"
        else:
            dtype_name = "float32"
    return device, getattr(torch, dtype_name)


# ------------------------------------------------------------------------------------ provenance
_DIGESTS: dict[tuple, str] = {}


def folder_digest(folder: Path) -> str:
    """sha256 over the weight files of a local model folder (names and contents), cached by size/mtime."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in WEIGHT_SUFFIXES)
    key = tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files)
    if key in _DIGESTS:
        return _DIGESTS[key]
    h = hashlib.sha256()
    for p in files:
        h.update(str(p.relative_to(folder)).encode())
        with open(p, "rb") as f:
            for block in iter(lambda: f.read(1 << 22), b""):
                h.update(block)
    _DIGESTS[key] = h.hexdigest()
    return _DIGESTS[key]


def model_record(ref: str, revision: str | None) -> dict[str, Any]:
    """Where a model came from: a local folder with its weights' hash, or a hub id with the
    revision asked for and the commit resolved in the local cache (when known)."""
    p = Path(ref)
    if p.is_dir():
        return {"source": "local", "path": str(p), "weights_sha256": folder_digest(p)}
    rec: dict[str, Any] = {"source": "hub", "id": ref, "revision": revision or "main"}
    try:
        from huggingface_hub import snapshot_download

        snap = snapshot_download(ref, revision=revision, local_files_only=True)
        rec["commit"] = Path(snap).name
    except Exception:  # noqa: BLE001 - provenance is best effort for cached hub models
        pass
    return rec


# ------------------------------------------------------------------------------------ loading
@dataclass
class Loaded:
    """A loaded pipeline and its caches."""

    pipe: Any
    family: str
    """"sd" (SD 1.5 class), "sdxl" or "flux"."""
    device: str
    dtype: Any
    settings: DiffusionSettings
    scheduler_config: Any
    provenance: dict[str, Any]
    prompt_cache: dict[tuple, tuple] = field(default_factory=dict)
    image_cache: dict[tuple, Any] = field(default_factory=dict)
    load_s: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


_LOADED: dict[tuple, Loaded] = {}
_LOAD_LOCK = threading.Lock()


def _family(class_name: str) -> str:
    if "Flux" in class_name:
        return "flux"
    if "XL" in class_name:
        return "sdxl"
    if "StableDiffusion" in class_name:
        return "sd"
    raise ModelLoadError("diffusion.model", f"pipeline class '{class_name}' is not supported: use an SD 1.5-class, "
                                            f"SDXL-class or Flux-class model")


def _load_error(what: str, ref: str, exc: BaseException, local_only: bool) -> ModelLoadError:
    p = Path(ref)
    if p.is_absolute() or ref.startswith((".", "~")):
        if not p.exists():
            return ModelLoadError(f"{what} '{ref}'", "cannot load: the folder does not exist")
        return ModelLoadError(f"{what} '{ref}'", f"cannot load: not a diffusers folder ({type(exc).__name__}: "
                                                 f"{str(exc).strip()[:300]})")
    first = str(exc).strip().splitlines()[0].rstrip(".") if str(exc).strip() else type(exc).__name__
    how = "offline (local_files_only or HF_HUB_OFFLINE)" if local_only else "no network or no such repository"
    return ModelLoadError(f"{what} '{ref}'", f"cannot load: not in the local Hugging Face cache and not fetched "
                                             f"({how}): {first[:300]}. Give a local diffusers folder, or download "
                                             f"it once with network (huggingface-cli download {ref})")


def _offline(settings: DiffusionSettings) -> bool:
    return settings.local_files_only or os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false", "False")


def load(settings: DiffusionSettings) -> Loaded:
    """The pipeline for ``settings`` (loaded once per process and reused)."""
    key = settings.load_key()
    with _LOAD_LOCK:
        if key in _LOADED:
            return _LOADED[key]
        loaded = _load(settings)
        _LOADED[key] = loaded
        return loaded


def clear_cache() -> None:
    """Forget every loaded pipeline (frees their memory once nothing else holds them)."""
    with _LOAD_LOCK:
        _LOADED.clear()


def _load(settings: DiffusionSettings) -> Loaded:
    t0 = time.perf_counter()
    diffusers = _diffusers()
    device, dtype = pick_device(settings)
    local_only = _offline(settings)
    common = {"dtype": dtype, "local_files_only": local_only}
    try:
        config = diffusers.DiffusionPipeline.load_config(settings.model, revision=settings.revision,
                                                         local_files_only=local_only)
    except Exception as exc:  # noqa: BLE001 - hub/OS errors of many kinds: one clear message
        raise _load_error("model", settings.model, exc, local_only) from exc
    family = _family(str(config.get("_class_name", "")))
    if family == "flux" and settings.ip_adapter is not None:
        raise ModelLoadError("diffusion.ip_adapter", f"model '{settings.model}' is Flux-class: IP-Adapter with the Flux "
                                                     "inpainting pipelines is not supported here; drop ip_adapter "
                                                     "for Flux models")
    net_cls = diffusers.FluxControlNetModel if family == "flux" else diffusers.ControlNetModel
    nets = []
    for c in settings.controlnets:
        try:
            nets.append(net_cls.from_pretrained(c.model, revision=c.revision, **common))
        except Exception as exc:  # noqa: BLE001
            raise _load_error(f"{c.kind} controlnet", c.model, exc, local_only) from exc
    kwargs: dict[str, Any] = dict(common, revision=settings.revision)
    if nets:
        kwargs["controlnet"] = nets[0] if len(nets) == 1 else nets
    if family == "sd":
        kwargs.update(safety_checker=None, requires_safety_checker=False)
    try:
        pipe = diffusers.AutoPipelineForInpainting.from_pretrained(settings.model, **kwargs)
    except Exception as exc:  # noqa: BLE001
        raise _load_error("model", settings.model, exc, local_only) from exc
    if settings.ip_adapter is not None:
        a = settings.ip_adapter
        try:
            pipe.load_ip_adapter(a.model, subfolder=a.subfolder or None, weight_name=a.weight_name,
                                 image_encoder_folder=a.image_encoder, local_files_only=local_only,
                                 revision=a.revision)
        except Exception as exc:  # noqa: BLE001
            raise _load_error("ip_adapter", a.model, exc, local_only) from exc
    return _prepare(pipe, family, device, dtype, settings, t0, model_records=True)


def adopt(pipe: Any, settings: DiffusionSettings, family: str) -> Loaded:
    """Use an already built pipeline (e.g. random weights in a benchmark) as the one for
    ``settings``: the same optimisations as :func:`load` are applied and it is cached."""
    torch = _torch()
    device, dtype = pick_device(settings)
    pipe.to(dtype=dtype)
    loaded = _prepare(pipe, family, device, dtype, settings, time.perf_counter(), model_records=False)
    with _LOAD_LOCK:
        _LOADED[settings.load_key()] = loaded
    del torch
    return loaded


def _prepare(pipe: Any, family: str, device: str, dtype: Any, settings: DiffusionSettings, t0: float,
             model_records: bool) -> Loaded:
    """Throughput and memory options, then the provenance of the setup."""
    torch = _torch()
    diffusers = _diffusers()
    pipe.set_progress_bar_config(disable=True)
    nets = getattr(pipe, "controlnet", None)
    if settings.channels_last:
        for module in (getattr(pipe, "unet", None), nets, getattr(pipe, "vae", None)):
            if module is not None and hasattr(module, "to"):
                module.to(memory_format=torch.channels_last)
    # scaled-dot-product attention: diffusers' default processors on torch 2 call F.sdpa
    attention = "sdpa" if hasattr(torch.nn.functional, "scaled_dot_product_attention") else "eager"
    if settings.attention_slicing:
        pipe.enable_attention_slicing()
        attention = "sliced"
    if settings.vae_tiling:
        pipe.vae.enable_tiling()
    if settings.cpu_offload and device != "cpu":
        pipe.enable_model_cpu_offload(device=device)
    else:
        pipe.to(device)
    fused = False
    if settings.compile:
        # fused q/k/v projections (one matmul instead of three), then compiled graphs of the
        # denoiser, the ControlNet(s) and the VAE decoder; shapes are static per canvas and batch
        if hasattr(pipe, "fuse_qkv_projections") and settings.ip_adapter is None:
            try:
                pipe.fuse_qkv_projections()
                fused = True
            except (AttributeError, ValueError, NotImplementedError):
                fused = False
        # "default" compiles in a minute or two; PACKSHOT_COMPILE_MODE=max-autotune-no-cudagraphs
        # tunes the matmuls too (longer warm-up, sometimes faster)
        mode = os.environ.get("PACKSHOT_COMPILE_MODE", "default")
        name = "unet" if getattr(pipe, "unet", None) is not None else "transformer"
        setattr(pipe, name, torch.compile(getattr(pipe, name), mode=mode, fullgraph=False))
        if nets is not None:
            pipe.controlnet = torch.compile(nets, mode=mode, fullgraph=False)
        pipe.vae.decode = torch.compile(pipe.vae.decode, mode=mode, fullgraph=False)
    if device.startswith("cuda"):
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.benchmark = True
    if model_records:
        records = {
            "model": model_record(settings.model, settings.revision),
            "controlnets": [dict(kind=c.kind, **model_record(c.model, c.revision)) for c in settings.controlnets],
            "ip_adapter": None if settings.ip_adapter is None else dict(
                weight_name=settings.ip_adapter.weight_name, subfolder=settings.ip_adapter.subfolder,
                **model_record(settings.ip_adapter.model, settings.ip_adapter.revision)),
        }
    else:
        records = {"model": {"source": "in-memory", "id": settings.model},
                   "controlnets": [{"kind": c.kind, "source": "in-memory", "id": c.model} for c in settings.controlnets],
                   "ip_adapter": None}
    prov = {
        "family": family, "pipeline": type(pipe).__name__, "device": device, "dtype": str(dtype).replace("torch.", ""),
        **records,
        "attention": attention, "channels_last": settings.channels_last, "compile": settings.compile,
        "fused_qkv": fused, "cpu_offload": settings.cpu_offload, "vae_tiling": settings.vae_tiling,
        "torch": torch.__version__, "diffusers": diffusers.__version__,
    }
    return Loaded(pipe=pipe, family=family, device=device, dtype=dtype, settings=settings,
                  scheduler_config=pipe.scheduler.config, provenance=prov, load_s=time.perf_counter() - t0)


def set_scheduler(loaded: Loaded, name: str) -> None:
    diffusers = _diffusers()
    if name == "default":
        cls_name = loaded.scheduler_config.get("_class_name", type(loaded.pipe.scheduler).__name__)
        if type(loaded.pipe.scheduler).__name__ != cls_name:
            loaded.pipe.scheduler = getattr(diffusers, cls_name).from_config(loaded.scheduler_config)
        return
    if loaded.family == "flux":
        raise InputError("diffusion.scheduler", "Flux models use their flow-matching scheduler: use 'default'")
    cls_name, extra = _SCHEDULERS[name]
    loaded.pipe.scheduler = getattr(diffusers, cls_name).from_config(loaded.scheduler_config, **extra)


# ------------------------------------------------------------------------------------ embeddings
def prompt_embeddings(loaded: Loaded, prompt: str, negative: str, cfg: bool) -> dict[str, Any]:
    """Text embeddings for one prompt pair, computed once per pipeline and reused (batch 1)."""
    key = (prompt, negative, cfg)
    if key in loaded.prompt_cache:
        return dict(loaded.prompt_cache[key])
    torch = _torch()
    pipe = loaded.pipe
    with torch.inference_mode():
        if loaded.family == "sd":
            pe, ne = pipe.encode_prompt(prompt, loaded.device, 1, cfg, negative_prompt=negative or None)
            out = {"prompt_embeds": pe} | ({"negative_prompt_embeds": ne} if cfg else {})
        elif loaded.family == "sdxl":
            pe, ne, pp, npp = pipe.encode_prompt(prompt, device=loaded.device, num_images_per_prompt=1,
                                                 do_classifier_free_guidance=cfg, negative_prompt=negative or None)
            out = {"prompt_embeds": pe, "pooled_prompt_embeds": pp}
            if cfg:
                out.update(negative_prompt_embeds=ne, negative_pooled_prompt_embeds=npp)
        else:  # flux: no negative prompt in its ControlNet inpainting pipeline
            pe, pp, _ids = pipe.encode_prompt(prompt, prompt_2=None, device=loaded.device, num_images_per_prompt=1)
            out = {"prompt_embeds": pe, "pooled_prompt_embeds": pp}
    loaded.prompt_cache[key] = tuple(out.items())
    return out


def image_embeddings(loaded: Loaded, references: Sequence[tuple[str, np.ndarray]], cfg: bool) -> list[Any]:
    """IP-Adapter embeddings of the reference images (sRGB uint8), [negative; positive] when ``cfg``."""
    key = (tuple(h for h, _ in references), cfg)
    if key in loaded.image_cache:
        return loaded.image_cache[key]
    torch = _torch()
    from PIL import Image

    images = [Image.fromarray(a) for _, a in references]
    with torch.inference_mode():
        embeds = loaded.pipe.prepare_ip_adapter_image_embeds([images], None, loaded.device, 1, cfg)
    loaded.image_cache[key] = embeds
    return embeds


def _repeat(t: Any, n: int) -> Any:
    return t if n == 1 else t.repeat_interleave(n, dim=0)


@dataclass(frozen=True)
class PaintJob:
    """One image of a batch: sRGB float inputs (H x W x 3 / H x W) and its seed."""

    init_srgb: np.ndarray
    mask: np.ndarray
    controls: tuple[np.ndarray, ...]
    seed: int


def _padded_size(loaded: Loaded, H: int, W: int) -> tuple[int, int]:
    """(Hp, Wp): the canvas rounded up to the pipeline's latent grid (Flux packs 2 x 2 latents into one token)."""
    multiple = int(getattr(loaded.pipe, "vae_scale_factor", LATENT_SCALE))
    if loaded.family == "flux":
        multiple *= FLUX_PACK
    return -(-H // multiple) * multiple, -(-W // multiple) * multiple


def _pad(a: np.ndarray, size: tuple[int, int], fill: float | None) -> np.ndarray:
    """``a`` (H x W or H x W x C) padded at the bottom and right to ``size`` (Hp, Wp): edge pixels
    repeated when ``fill`` is None, else that constant."""
    (H, W), (Hp, Wp) = a.shape[:2], size
    if (Hp, Wp) == (H, W):
        return a
    widths = ((0, Hp - H), (0, Wp - W)) + (((0, 0),) if a.ndim == 3 else ())
    return np.pad(a, widths, mode="edge") if fill is None else np.pad(a, widths, constant_values=fill)


def _pil(a: np.ndarray) -> Any:
    """An 8-bit PIL image ("L" for H x W, "RGB" for H x W x 3) of float values in [0, 1]."""
    from PIL import Image

    u8 = np.clip(np.rint(a * 255.0), 0, 255).astype(np.uint8)
    return Image.fromarray(u8, mode="L" if u8.ndim == 2 else "RGB")


def _refuse_flux_negative(loaded: Loaded, negative: str, settings: DiffusionSettings) -> None:
    """InputError when a Flux-class model is given a negative prompt (it has no use for one)."""
    if loaded.family == "flux" and negative.strip():
        raise InputError("negative_prompt", f"model '{settings.model}' is Flux-class: the Flux inpainting "
                                            f"pipelines used here take no negative prompt (Flux guidance is distilled, "
                                            f"not classifier-free); drop "
                                            f"negative_prompt ('{negative[:NEGATIVE_QUOTED]}') from this scene")


def _ip_adapter_embeds(loaded: Loaded, references: Sequence[tuple[str, np.ndarray]], cfg: bool, B: int,
                       scale: float) -> list[Any]:
    """The IP-Adapter's image embeddings for a batch of ``B`` (its scale set on the pipeline): the
    references at ``scale``, or a grey stand-in at scale 0 when the scene has none."""
    torch = _torch()
    if references:
        ip = image_embeddings(loaded, references, cfg)
    else:  # the adapter is loaded but this scene has no reference: switch it off
        ip = image_embeddings(loaded, [("grey", np.full((IP_OFF_SIDE, IP_OFF_SIDE, 3), IP_OFF_GREY, np.uint8))], cfg)
        scale = 0.0
    loaded.pipe.set_ip_adapter_scale(scale)
    out_ip = []
    for e in ip:
        if cfg:
            neg, pos = e.chunk(2)
            out_ip.append(torch.cat([_repeat(neg, B), _repeat(pos, B)]))
        else:
            out_ip.append(_repeat(e, B))
    return out_ip


def _controlnet_kwargs(loaded: Loaded, jobs: Sequence[PaintJob], nets: Sequence[Any],
                       size: tuple[int, int]) -> dict[str, Any]:
    """The pipeline's ControlNet arguments: one (B, 3, H, W) tensor in [0, 1] per ControlNet (every
    image of the batch has its own control: the product sits differently in each variant), with
    each net's scale and guidance window."""
    torch = _torch()
    per_net = [torch.from_numpy(np.stack([_pad(j.controls[i], size, 0.0) for j in jobs]).astype(np.float32))
               [:, None].repeat(1, 3, 1, 1) for i in range(len(nets))]
    if len(nets) == 1:
        return dict(control_image=per_net[0], controlnet_conditioning_scale=nets[0].scale,
                    control_guidance_start=nets[0].start, control_guidance_end=nets[0].end)
    kwargs = dict(control_image=per_net, controlnet_conditioning_scale=[c.scale for c in nets],
                  control_guidance_start=[c.start for c in nets], control_guidance_end=[c.end for c in nets])
    if loaded.family == "flux":
        # FluxMultiControlNetModel zips its nets with one control mode each: without modes it
        # runs none of them (None = not a ControlNet-Union mode)
        kwargs["control_mode"] = [None] * len(nets)
    return kwargs


def paint(loaded: Loaded, jobs: Sequence[PaintJob], prompt: str, negative: str,
          references: Sequence[tuple[str, np.ndarray]], settings: DiffusionSettings) -> tuple[np.ndarray, dict]:
    """Run the inpainting pipeline once for a batch of jobs that share canvas and settings.

    Returns the decoded images (B x H x W x 3 float32 sRGB in [0, 1]) and timings.
    """
    torch = _torch()
    pipe = loaded.pipe
    B = len(jobs)
    H, W = jobs[0].mask.shape
    size = _padded_size(loaded, H, W)
    _refuse_flux_negative(loaded, negative, settings)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    cfg = settings.guidance > CFG_ABOVE and loaded.family != "flux"
    embeds = prompt_embeddings(loaded, prompt, negative, cfg)
    kwargs: dict[str, Any] = {k: _repeat(v, B) for k, v in embeds.items()}
    if settings.ip_adapter is not None:
        kwargs["ip_adapter_image_embeds"] = _ip_adapter_embeds(loaded, references, cfg, B, settings.ip_adapter.scale)
    timings["embed_s"] = time.perf_counter() - t0
    set_scheduler(loaded, settings.scheduler)
    kwargs.update(
        image=[_pil(_pad(j.init_srgb, size, None)) for j in jobs],
        mask_image=[_pil(_pad(j.mask, size, 1.0)) for j in jobs],
        height=size[0], width=size[1], strength=settings.strength, num_inference_steps=settings.steps,
        generator=[torch.Generator("cpu").manual_seed(int(j.seed)) for j in jobs], output_type="np",
    )
    kwargs["guidance_scale"] = settings.guidance  # flux: the distilled guidance embedding
    if settings.controlnets:
        kwargs.update(_controlnet_kwargs(loaded, jobs, settings.controlnets, size))
    t0 = time.perf_counter()
    with loaded.lock, torch.inference_mode():
        result = pipe(**kwargs)
    timings["pipeline_s"] = time.perf_counter() - t0
    images = np.asarray(result.images, np.float32)[:, :H, :W, :3]
    return images, timings


def settings_json(settings: DiffusionSettings) -> str:
    return json.dumps(settings.to_dict(), sort_keys=True, default=str)
