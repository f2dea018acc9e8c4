"""Tiny random diffusers components for the diffusion tests (built in code, saved with save_pretrained).

Shapes follow diffusers' own fast tests: a 2-level UNet (block_out_channels (4, 8),
cross_attention_dim 8) with the 9-channel inpainting input, a 4-level VAE (so latents are 1/8 of
the image, as in SD), ControlNets whose zero-initialised output convolutions get random weights
(so each one really changes the output), a 2-layer CLIP text model with a tokenizer built from a
vocabulary written here, and a CLIP vision encoder with an IP-Adapter projection.
"""

from __future__ import annotations

import atexit
import functools
import json
import shutil
import string
import tempfile
from pathlib import Path

import torch

CROSS = 8


def _seeded(seed: int):
    torch.manual_seed(seed)


def write_tokenizer(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    tokens = ["<|startoftext|>", "<|endoftext|>", "!"]
    for ch in string.ascii_lowercase + string.digits + ",.-'":
        tokens += [ch, ch + "</w>"]
    vocab = {t: i for i, t in enumerate(dict.fromkeys(tokens))}
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    from transformers import CLIPTokenizer

    tok = CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"), model_max_length=77,
                        pad_token="!")
    tok.save_pretrained(str(folder))


def unet(in_channels: int = 9):
    from diffusers import UNet2DConditionModel

    _seeded(0)
    return UNet2DConditionModel(
        block_out_channels=(4, 8), layers_per_block=1, sample_size=8, in_channels=in_channels, out_channels=4,
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=CROSS, norm_num_groups=4, attention_head_dim=2)


def vae():
    from diffusers import AutoencoderKL

    _seeded(1)
    return AutoencoderKL(block_out_channels=(4, 4, 4, 4), in_channels=3, out_channels=3, latent_channels=4,
                         down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
                         norm_num_groups=2, layers_per_block=1, sample_size=64)


def controlnet(seed: int):
    from diffusers import ControlNetModel

    _seeded(seed)
    net = ControlNetModel(block_out_channels=(4, 8), layers_per_block=1, in_channels=4,
                          down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"), cross_attention_dim=CROSS,
                          conditioning_embedding_out_channels=(4, 4, 4, 4), norm_num_groups=4, attention_head_dim=2)
    # ControlNets start with zero output convolutions (they change nothing): give them weights
    with torch.no_grad():
        for module in list(net.controlnet_down_blocks) + [net.controlnet_mid_block, net.controlnet_cond_embedding.conv_out]:
            torch.nn.init.normal_(module.weight, std=0.5)
            if module.bias is not None:
                torch.nn.init.normal_(module.bias, std=0.1)
    return net


def text_encoder():
    from transformers import CLIPTextConfig, CLIPTextModel

    _seeded(2)
    cfg = CLIPTextConfig(bos_token_id=0, eos_token_id=1, hidden_size=CROSS, intermediate_size=16, layer_norm_eps=1e-5,
                         num_attention_heads=2, num_hidden_layers=2, pad_token_id=2, vocab_size=128,
                         max_position_embeddings=77)
    return CLIPTextModel(cfg)


def image_encoder():
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    _seeded(3)
    cfg = CLIPVisionConfig(hidden_size=CROSS, projection_dim=CROSS, num_hidden_layers=2, num_attention_heads=2,
                           image_size=32, intermediate_size=16, patch_size=8)
    return CLIPVisionModelWithProjection(cfg)


def ip_adapter_state(unet_model) -> dict[str, torch.Tensor]:
    """IP-Adapter weights for ``unet_model`` in the flat safetensors layout (image_proj.* / ip_adapter.*)."""
    from diffusers.models.attention_processor import IPAdapterAttnProcessor
    from diffusers.models.embeddings import ImageProjection

    _seeded(4)
    out: dict[str, torch.Tensor] = {}
    key_id = 1
    cfg = unet_model.config
    for name in unet_model.attn_processors.keys():
        if name.endswith("attn1.processor"):
            continue
        if name.startswith("mid_block"):
            hidden = cfg.block_out_channels[-1]
        elif name.startswith("up_blocks"):
            hidden = list(reversed(cfg.block_out_channels))[int(name[len("up_blocks.")])]
        else:
            hidden = cfg.block_out_channels[int(name[len("down_blocks.")])]
        sd = IPAdapterAttnProcessor(hidden_size=hidden, cross_attention_dim=cfg.cross_attention_dim, scale=1.0).state_dict()
        out[f"ip_adapter.{key_id}.to_k_ip.weight"] = sd["to_k_ip.0.weight"] * 4
        out[f"ip_adapter.{key_id}.to_v_ip.weight"] = sd["to_v_ip.0.weight"] * 4
        key_id += 2
    proj = ImageProjection(cross_attention_dim=CROSS, image_embed_dim=CROSS, num_image_text_embeds=4).state_dict()
    out.update({"image_proj.proj.weight": proj["image_embeds.weight"], "image_proj.proj.bias": proj["image_embeds.bias"],
                "image_proj.norm.weight": proj["norm.weight"], "image_proj.norm.bias": proj["norm.bias"]})
    return {k: v.contiguous() for k, v in out.items()}


@functools.lru_cache(maxsize=None)
def tiny_models() -> dict[str, str]:
    """Write every component once per process; returns folder paths by name."""
    from diffusers import DDIMScheduler, StableDiffusionInpaintPipeline
    from safetensors.torch import save_file
    from transformers import CLIPImageProcessor, CLIPTokenizer

    root = Path(tempfile.mkdtemp(prefix="packshot-tiny-diffusion-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    tok_dir = root / "tokenizer-src"
    write_tokenizer(tok_dir)
    tokenizer = CLIPTokenizer.from_pretrained(str(tok_dir))
    u = unet()
    scheduler = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False, steps_offset=1,
                              set_alpha_to_one=False)
    pipe = StableDiffusionInpaintPipeline(vae=vae(), text_encoder=text_encoder(), tokenizer=tokenizer, unet=u,
                                          scheduler=scheduler, safety_checker=None, feature_extractor=None,
                                          image_encoder=None, requires_safety_checker=False)
    pipe.save_pretrained(str(root / "sd-inpaint"))
    controlnet(10).save_pretrained(str(root / "controlnet-depth"))
    controlnet(11).save_pretrained(str(root / "controlnet-canny"))
    ip = root / "ip-adapter"
    (ip / "models").mkdir(parents=True)
    save_file(ip_adapter_state(u), str(ip / "models" / "ip-adapter_tiny.safetensors"))
    image_encoder().save_pretrained(str(ip / "models" / "image_encoder"))
    CLIPImageProcessor(size=32, crop_size=32).save_pretrained(str(ip / "models" / "image_encoder"))
    return {"model": str(root / "sd-inpaint"), "depth": str(root / "controlnet-depth"),
            "canny": str(root / "controlnet-canny"), "ip_adapter": str(ip), "root": str(root)}


def brief_block(models: dict[str, str], controls: bool = True, ip: bool = True, **extra) -> dict:
    block: dict = {"model": models["model"], "steps": 2, "guidance": 5.0, "strength": 1.0, "lock_margin": 2,
                   "local_files_only": True}
    if controls:
        block["controlnets"] = [{"kind": "depth", "model": models["depth"], "scale": 0.8},
                                {"kind": "canny", "model": models["canny"], "scale": 0.8}]
    if ip:
        block["ip_adapter"] = {"model": models["ip_adapter"], "subfolder": "models",
                               "weight_name": "ip-adapter_tiny.safetensors", "image_encoder": "image_encoder",
                               "scale": 1.0}
    block.update(extra)
    return block


@functools.lru_cache(maxsize=None)
def tiny_iclight(variant: str = "fc") -> str:
    """An IC-Light-style folder: an SD 1.5 pipeline whose UNet takes 8 (fc) or 12 (fbc) channels."""
    from diffusers import DDIMScheduler, StableDiffusionPipeline
    from transformers import CLIPTokenizer

    channels = {"fc": 8, "fbc": 12, "plain": 4}[variant]
    root = Path(tiny_models()["root"])
    tokenizer = CLIPTokenizer.from_pretrained(str(root / "sd-inpaint" / "tokenizer"))
    scheduler = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False,
                              set_alpha_to_one=False, steps_offset=1)
    pipe = StableDiffusionPipeline(vae=vae(), text_encoder=text_encoder(), tokenizer=tokenizer,
                                   unet=unet(in_channels=channels), scheduler=scheduler, safety_checker=None,
                                   feature_extractor=None, image_encoder=None, requires_safety_checker=False)
    folder = root / f"iclight-{variant}"
    pipe.save_pretrained(str(folder))
    return str(folder)


@functools.lru_cache(maxsize=None)
def tiny_sdxl() -> str:
    """An SDXL-class inpainting folder: two CLIP text encoders (one with projection), a UNet with
    the text_time additional embedding; saved with save_pretrained."""
    from diffusers import EulerDiscreteScheduler, StableDiffusionXLInpaintPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

    root = Path(tiny_models()["root"])
    tokenizer = CLIPTokenizer.from_pretrained(str(root / "sd-inpaint" / "tokenizer"))
    _seeded(5)
    u = UNet2DConditionModel(
        block_out_channels=(4, 8), layers_per_block=1, sample_size=8, in_channels=9, out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=16, norm_num_groups=4, attention_head_dim=2, use_linear_projection=True,
        addition_embed_type="text_time", addition_time_embed_dim=4, projection_class_embeddings_input_dim=32,
        transformer_layers_per_block=(1, 1))
    cfg = dict(bos_token_id=0, eos_token_id=1, hidden_size=8, intermediate_size=16, layer_norm_eps=1e-5,
               num_attention_heads=2, num_hidden_layers=2, pad_token_id=2, vocab_size=128, max_position_embeddings=77,
               projection_dim=8)
    te1 = CLIPTextModel(CLIPTextConfig(**cfg))
    te2 = CLIPTextModelWithProjection(CLIPTextConfig(**cfg))
    scheduler = EulerDiscreteScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                                       steps_offset=1, timestep_spacing="leading")
    pipe = StableDiffusionXLInpaintPipeline(vae=vae(), text_encoder=te1, text_encoder_2=te2, tokenizer=tokenizer,
                                            tokenizer_2=tokenizer, unet=u, scheduler=scheduler,
                                            requires_aesthetics_score=False, force_zeros_for_empty_prompt=True)
    folder = root / "sdxl-inpaint"
    pipe.save_pretrained(str(folder))
    return str(folder)
