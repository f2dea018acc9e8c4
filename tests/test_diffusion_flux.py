"""The diffusion renderer's Flux-class path on tiny random components (CPU, offline, 2 steps at 64 px).

The components are built here in code, as diffusers' own fast Flux tests do (a 1+1-layer
FluxTransformer2DModel, an AutoencoderKL with the Flux latent layout: no quant convs, shift and
scaling factors, a CLIP text model and a tiny T5 encoder with tokenizers built from vocabularies
written here, the flow-matching Euler scheduler, FluxControlNetModels whose zero-initialised output
projections get random weights), saved with ``save_pretrained`` in the diffusers layout and
loaded by the renderer from that local folder.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import string
import tempfile
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("diffusers")
pytest.importorskip("transformers")

from packshot.condition import condition, parse_brief  # noqa: E402
from packshot.errors import InputError  # noqa: E402
from packshot.render import render, render_many  # noqa: E402
from packshot.render.compose import place_product  # noqa: E402
from packshot.render.diffusion import lock_masks  # noqa: E402

import diffusion_tiny as tiny  # noqa: E402
from test_render_fixtures import product_maps_for, sample_cutout  # noqa: E402

SIZE = "64x64"
HIDDEN = 32      # CLIP hidden size = the transformer's pooled projection dim
T5_DIM = 32      # T5 d_model = the transformer's joint attention dim
LATENT = 4       # VAE latent channels; packed 2 x 2 into the transformer's 16 input channels


def _flux_transformer_kwargs() -> dict:
    return dict(patch_size=1, in_channels=4 * LATENT, num_layers=1, num_single_layers=1, attention_head_dim=16,
                num_attention_heads=2, joint_attention_dim=T5_DIM, pooled_projection_dim=HIDDEN,
                axes_dims_rope=[4, 4, 8], guidance_embeds=True)


def _t5_tokenizer(folder: Path):
    from transformers import T5TokenizerFast

    vocab = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("\u2581", -1.0)]
    vocab += [(ch, -2.0) for ch in string.ascii_lowercase + string.digits + ",.-'"]
    vocab += [("\u2581" + ch, -1.5) for ch in string.ascii_lowercase]
    tok = T5TokenizerFast(vocab=vocab, extra_ids=0, model_max_length=64)
    tok.save_pretrained(str(folder))
    return T5TokenizerFast.from_pretrained(str(folder))


def _flux_controlnet(seed: int):
    import torch
    from diffusers import FluxControlNetModel

    torch.manual_seed(seed)
    kw = {k: v for k, v in _flux_transformer_kwargs().items() if k != "patch_size"}
    net = FluxControlNetModel(patch_size=1, **kw)
    # Flux ControlNets start with zero projections (they change nothing): give them weights
    with torch.no_grad():
        for module in [*net.controlnet_blocks, *net.controlnet_single_blocks, net.controlnet_x_embedder]:
            torch.nn.init.normal_(module.weight, std=0.3)
            if module.bias is not None:
                torch.nn.init.normal_(module.bias, std=0.05)
    return net


@functools.lru_cache(maxsize=None)
def tiny_flux() -> dict[str, str]:
    """A Flux inpainting folder plus two Flux ControlNet folders (written once per process)."""
    import torch
    from diffusers import AutoencoderKL, FlowMatchEulerDiscreteScheduler, FluxInpaintPipeline, FluxTransformer2DModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer, T5Config, T5EncoderModel

    root = Path(tempfile.mkdtemp(prefix="packshot-tiny-flux-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    tok_dir = root / "tokenizer-src"
    tiny.write_tokenizer(tok_dir)
    tokenizer = CLIPTokenizer.from_pretrained(str(tok_dir))
    tokenizer_2 = _t5_tokenizer(root / "t5-tokenizer-src")
    torch.manual_seed(20)
    transformer = FluxTransformer2DModel(**_flux_transformer_kwargs())
    torch.manual_seed(21)
    clip = CLIPTextModel(CLIPTextConfig(bos_token_id=0, eos_token_id=1, hidden_size=HIDDEN, intermediate_size=37,
                                        layer_norm_eps=1e-5, num_attention_heads=4, num_hidden_layers=2,
                                        pad_token_id=2, vocab_size=128, max_position_embeddings=77,
                                        projection_dim=HIDDEN))
    torch.manual_seed(22)
    t5 = T5EncoderModel(T5Config(vocab_size=len(tokenizer_2), d_model=T5_DIM, d_kv=8, d_ff=37, num_layers=2,
                                 num_heads=4, relative_attention_num_buckets=8, pad_token_id=0, eos_token_id=1,
                                 decoder_start_token_id=0))
    torch.manual_seed(23)
    vae = AutoencoderKL(sample_size=32, in_channels=3, out_channels=3, block_out_channels=(4, 4),
                        down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2,
                        layers_per_block=1, latent_channels=LATENT, norm_num_groups=1, use_quant_conv=False,
                        use_post_quant_conv=False, shift_factor=0.0609, scaling_factor=1.5035)
    scheduler = FlowMatchEulerDiscreteScheduler()
    pipe = FluxInpaintPipeline(scheduler=scheduler, vae=vae, text_encoder=clip, tokenizer=tokenizer,
                               text_encoder_2=t5, tokenizer_2=tokenizer_2, transformer=transformer)
    pipe.save_pretrained(str(root / "flux-inpaint"))
    _flux_controlnet(30).save_pretrained(str(root / "flux-controlnet-depth"))
    _flux_controlnet(31).save_pretrained(str(root / "flux-controlnet-canny"))
    return {"model": str(root / "flux-inpaint"), "depth": str(root / "flux-controlnet-depth"),
            "canny": str(root / "flux-controlnet-canny")}


@pytest.fixture(scope="module")
def flux():
    return tiny_flux()


@pytest.fixture(scope="module")
def product():
    cut = sample_cutout("jar", seed=7, size=128)
    return cut, product_maps_for(cut.alpha)


def flux_specs(models, product, variants=1, scene=None, controls=("depth",), scales=None, **block):
    cut, maps = product
    diff = {"model": models["model"], "steps": 2, "guidance": 3.5, "strength": 1.0, "lock_margin": 2,
            "local_files_only": True}
    if controls:
        scales = scales or [0.8] * len(controls)
        diff["controlnets"] = [{"kind": k, "model": models[k], "scale": s} for k, s in zip(controls, scales)]
    diff.update(block)
    sc = {"name": "hero", "renderer": "diffusion", "variants": variants, "prompt": "a bright studio photo",
          "diffusion": diff}
    sc.update(scene or {})
    brief = parse_brief({"defaults": {"sizes": [SIZE], "seed": 5}, "scenes": [sc]})
    return condition(brief, cut, maps, "jar")


def _placed(frame, cut):
    return place_product(cut.rgb, cut.alpha, np.array(frame.provenance["render"]["matrix"]), frame.spec.canvas)


def _outside(frame, cut):
    return ~lock_masks(_placed(frame, cut).alpha, 2).keep


@pytest.fixture(scope="module")
def flux_frames(flux, product):
    specs = flux_specs(flux, product, variants=2)
    return specs, render_many(specs, *product)


def test_flux_product_region_is_the_input_product_exactly(flux_frames, product):
    cut, maps = product
    specs, frames = flux_frames
    for frame in frames:
        placed = _placed(frame, cut)
        solid = placed.alpha >= 1.0
        assert solid.sum() > 200
        assert np.array_equal(frame.rgb[solid], placed.rgb[solid])
        assert frame.source_kind == "diffusion"
        d = frame.provenance["render"]["diffusion"]
        assert d["family"] == "flux" and d["pipeline"] == "FluxControlNetInpaintPipeline"
        assert d["model"]["source"] == "local" and d["batch"] == 2
        assert d["scheduler"] == "default (FlowMatchEulerDiscreteScheduler)"
        assert [c["kind"] for c in d["controlnets"]] == ["depth"]
        assert d["seam"]["ring_delta_e_after"] <= d["seam"]["ring_delta_e_before"]
    # the model painted the scene: the variants (seeds 5 and 6) differ outside the product
    outside = _outside(frames[0], cut)
    assert np.abs(frames[0].rgb[outside] - frames[1].rgb[outside]).mean() > 1e-3


def test_flux_same_seed_same_bytes(flux_frames, flux, product):
    specs, frames = flux_frames
    again = render(specs[0], *product)
    assert again.rgb.tobytes() == render(specs[0], *product).rgb.tobytes()
    # the batched frame and the single one agree to float noise
    np.testing.assert_allclose(again.rgb, frames[0].rgb, atol=2e-3)


def test_flux_without_controlnet_uses_the_inpaint_pipeline(flux, product, flux_frames):
    cut, maps = product
    spec = flux_specs(flux, product, controls=())[0]
    frame = render(spec, cut, maps)
    d = frame.provenance["render"]["diffusion"]
    assert d["pipeline"] == "FluxInpaintPipeline" and d["controlnets"] == []
    placed = _placed(frame, cut)
    solid = placed.alpha >= 1.0
    assert np.array_equal(frame.rgb[solid], placed.rgb[solid])
    # the same scene and seed with the depth ControlNet paints something else
    outside = _outside(frame, cut)
    assert np.abs(frame.rgb[outside] - flux_frames[1][0].rgb[outside]).mean() > 1e-3


def test_flux_controlnets_change_the_output(flux, product, flux_frames):
    cut, maps = product
    _, frames = flux_frames
    base = frames[0]
    outside = _outside(base, cut)

    def diff(a, b):
        return float(np.abs(a.rgb[outside] - b.rgb[outside]).mean())

    off = render(flux_specs(flux, product, scales=[0.0])[0], cut, maps)
    assert diff(off, base) > 1e-3, "the Flux ControlNet's scale did not change the painted scene"
    # two ControlNets (FluxMultiControlNetModel): each one's scale matters
    both = render(flux_specs(flux, product, controls=("depth", "canny"))[0], cut, maps)
    assert both.provenance["render"]["diffusion"]["pipeline"] == "FluxControlNetInpaintPipeline"
    no_canny = render(flux_specs(flux, product, controls=("depth", "canny"), scales=[0.8, 0.0])[0], cut, maps)
    no_depth = render(flux_specs(flux, product, controls=("depth", "canny"), scales=[0.0, 0.8])[0], cut, maps)
    assert diff(both, no_canny) > 1e-3, "the canny Flux ControlNet did not change the painted scene"
    assert diff(both, no_depth) > 1e-3, "the depth Flux ControlNet did not change the painted scene"


def test_flux_refuses_a_negative_prompt(flux, product):
    cut, maps = product
    spec = flux_specs(flux, product, scene={"negative_prompt": "dark, blurry"})[0]
    with pytest.raises(InputError) as err:
        render(spec, cut, maps)
    msg = str(err.value)
    assert "negative_prompt" in msg and "Flux" in msg and "Traceback" not in msg


def test_flux_refuses_an_ip_adapter(flux, product):
    cut, maps = product
    # refused from the model's class before any adapter is fetched (so a hub id that is not cached is fine)
    spec = flux_specs(flux, product, ip_adapter={
        "model": "packshot-test/no-such-ip-adapter", "subfolder": "models", "weight_name": "ip-adapter.safetensors",
        "scale": 1.0})[0]
    with pytest.raises(InputError) as err:
        render(spec, cut, maps)
    msg = str(err.value)
    assert "ip_adapter" in msg and "Flux" in msg and "Traceback" not in msg


def test_flux_refuses_another_scheduler(flux, product):
    cut, maps = product
    spec = flux_specs(flux, product, controls=(), scheduler="euler_a")[0]
    with pytest.raises(InputError, match="flow-matching scheduler"):
        render(spec, cut, maps)


def test_flux_canvas_off_the_latent_grid_is_padded_and_cropped(flux, product):
    cut, maps = product
    spec = flux_specs(flux, product, scene={"sizes": ["70x66"]})[0]  # not a multiple of the packed latent grid
    frame = render(spec, cut, maps)
    assert frame.rgb.shape == (66, 70, 3) and np.isfinite(frame.rgb).all()
    placed = _placed(frame, cut)
    solid = placed.alpha >= 1.0
    assert solid.sum() > 100 and np.array_equal(frame.rgb[solid], placed.rgb[solid])


def test_flux_refine_repaints_only_outside_the_product(flux_frames, product):
    from packshot.render.diffusion.refine import refine

    cut, maps = product
    _, frames = flux_frames
    frame = frames[0]
    region = np.zeros((64, 64), bool)
    region[:, :20] = True
    out = refine(frame, cut, region, maps)
    keep = lock_masks(_placed(frame, cut).alpha, 2).keep
    assert np.array_equal(out.rgb[keep], frame.rgb[keep])
    assert np.abs(out.rgb[:, :16] - frame.rgb[:, :16]).mean() > 1e-3
    assert np.array_equal(out.rgb[:, 40:], frame.rgb[:, 40:])  # far from the region: untouched
