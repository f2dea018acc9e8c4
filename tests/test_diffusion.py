"""The diffusion renderer on tiny random components (CPU, offline, 2 steps at 64 px).

The components are built once per process (``diffusion_tiny.tiny_models``) and loaded from the
folders ``save_pretrained`` wrote, so every test here also exercises local-folder loading.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

pytest.importorskip("diffusers")
pytest.importorskip("transformers")

from packshot.condition import BriefError, condition, parse_brief  # noqa: E402
from packshot.render import RENDERERS, render, render_many  # noqa: E402
from packshot.render.compose import place_product  # noqa: E402
from packshot.render.diffusion import lock_masks, ring_delta_e, seam_correction  # noqa: E402

import diffusion_tiny as tiny  # noqa: E402
from test_render_fixtures import product_maps_for, sample_cutout  # noqa: E402

SIZE = "64x64"


@pytest.fixture(scope="module")
def models():
    return tiny.tiny_models()


@pytest.fixture(scope="module")
def product():
    cut = sample_cutout("jar", seed=7, size=128)
    return cut, product_maps_for(cut.alpha)


@pytest.fixture(scope="module")
def mood(tmp_path_factory):
    from packshot.imaging import save_image

    root = tmp_path_factory.mktemp("mood")
    rng = np.random.default_rng(0)
    img = np.clip(rng.random((48, 48, 3)).astype(np.float32) ** 2, 0, 1)
    img[:, :24] = [0.9, 0.2, 0.1]
    save_image(root / "mood.png", img)
    return root


def specs_for(models, product, base_dir=".", variants=1, scene=None, **block):
    cut, maps = product
    sc = {"name": "hero", "renderer": "diffusion", "variants": variants, "prompt": "a bright studio photo",
          "negative_prompt": "dark", "diffusion": tiny.brief_block(models, **block)}
    sc.update(scene or {})
    brief = parse_brief({"defaults": {"sizes": [SIZE], "seed": 3}, "scenes": [sc]}, base_dir=base_dir)
    return condition(brief, cut, maps, "jar")


def test_registered_and_listed():
    assert "diffusion" in RENDERERS.names()
    assert "diffusion" in RENDERERS.describe()["diffusion"].lower() or RENDERERS.describe()["diffusion"]


# ------------------------------------------------------------------------------- brief fields
@pytest.mark.parametrize("block, message", [
    ({"model": "org/model", "controlnets": [{"kind": "pose", "model": "a/b"}]}, "unknown control 'pose'"),
    ({"model": "org/model", "steps": 2, "strength": 0.3}, "at least one denoising step"),
    ({"model": "./no/such/folder"}, "does not exist"),
    ({"model": "org/model", "scheduler": "magic"}, "unknown scheduler"),
    ({"model": "org/model", "dtype": "int8"}, "unknown dtype"),
    ({"model": "org/model", "seam_correction": "yes"}, "true or false"),
    ({"model": "org/model", "ip_adapter": {"model": "h94/IP-Adapter"}}, "needs 'weight_name'"),
    ({"steps": 4}, "needs diffusion.model"),
])
def test_brief_rejects_bad_diffusion_settings(block, message):
    with pytest.raises(BriefError, match=message):
        parse_brief({"scenes": [{"renderer": "diffusion", "diffusion": block}]})


def test_brief_renderer_and_defaults_merge(tmp_path):
    (tmp_path / "models" / "sd").mkdir(parents=True)
    brief = parse_brief({"defaults": {"renderer": "diffusion", "diffusion": {"model": "models/sd", "steps": 20}},
                         "scenes": [{"name": "a", "diffusion": {"steps": 8, "guidance": 3.0}}, {"name": "b"}]},
                        base_dir=tmp_path)
    a, b = brief.scenes
    assert a.backend == "diffusion" and a.diffusion["model"] == str((tmp_path / "models" / "sd").resolve())
    assert a.diffusion["steps"] == 8 and a.diffusion["guidance"] == 3.0 and b.diffusion["steps"] == 20
    with pytest.raises(BriefError, match="unknown renderer 'dall-e'"):
        parse_brief({"scenes": [{"renderer": "dall-e"}]})
    # scenes that name no renderer keep exactly the provenance they had before
    plain = parse_brief({"scenes": [{"name": "p"}]})
    assert plain.scenes[0].backend == "studio" and plain.scenes[0].diffusion == {}


# ------------------------------------------------------------------------------- lock (numpy)
def test_lock_masks_keep_product_and_margin_and_free_the_base_band():
    alpha = np.zeros((64, 64), np.float32)
    alpha[20:40, 24:40] = 1.0
    alpha[19, 24:40] = 0.3
    m = lock_masks(alpha, margin=3, base_band=8)
    assert m.keep[alpha > 0].all() and not m.band[alpha > 0].any()
    assert m.keep[17, 30] and not m.keep[10, 30]        # margin above the product kept
    assert m.band[42, 30] and not m.keep[42, 30]        # under the base: handed back
    assert m.inpaint[42, 30] == 1.0 and m.inpaint[30, 30] == 0.0
    no_band = lock_masks(alpha, margin=3)
    assert no_band.keep[42, 30] and not no_band.band.any()


def test_seam_correction_removes_smooth_drift():
    rng = np.random.default_rng(1)
    ref = np.clip(rng.random((64, 64, 3)).astype(np.float32) * 0.2 + 0.4, 0, 1)
    alpha = np.zeros((64, 64), np.float32)
    alpha[20:44, 20:44] = 1.0
    m = lock_masks(alpha, margin=4)
    yy = np.linspace(0, 1, 64, dtype=np.float32)[:, None, None]
    decoded = np.clip(ref + 0.06 * yy * np.array([1.0, 0.5, -0.8], np.float32) + 0.02, 0, 1)
    fixed, info = seam_correction(decoded, ref, m, feather=8)
    assert info["ring_delta_e_after"] < 0.35 * info["ring_delta_e_before"]
    assert ring_delta_e(fixed, ref, m.ring) == pytest.approx(info["ring_delta_e_after"], abs=1e-3)
    far = (slice(0, 4), slice(0, 4))  # > feather away from the kept region: untouched
    assert np.array_equal(fixed[far], decoded[far])


# ------------------------------------------------------------------------------- rendering
@pytest.fixture(scope="module")
def two_variants(models, product):
    specs = specs_for(models, product, variants=2, ip=False)
    return specs, render_many(specs, *product)


def test_product_pixels_are_the_input_product_exactly(two_variants, product):
    cut, _ = product
    specs, frames = two_variants
    for spec, frame in zip(specs, frames):
        placed = place_product(cut.rgb, cut.alpha, np.array(frame.provenance["render"]["matrix"]), spec.canvas)
        solid = placed.alpha >= 1.0
        assert solid.sum() > 200
        assert np.array_equal(frame.rgb[solid], placed.rgb[solid])
        assert frame.source_kind == "diffusion"
        # and the model did paint the rest: not the studio start image
        plain = dataclasses.replace(spec, provenance={k: v for k, v in spec.provenance.items() if k != "renderer"})
        studio = render(plain, cut, product[1], backend="studio")
        outside = ~lock_masks(placed.alpha, 2).keep
        assert np.abs(frame.rgb[outside] - studio.rgb[outside]).mean() > 0.02


def test_provenance_records_models_and_parameters(two_variants, models):
    _, frames = two_variants
    d = frames[1].provenance["render"]["diffusion"]
    assert d["model"]["source"] == "local" and len(d["model"]["weights_sha256"]) == 64
    assert [c["kind"] for c in d["controlnets"]] == ["depth", "canny"]
    assert all(c["scale"] == 0.8 and len(c["weights_sha256"]) == 64 for c in d["controlnets"])
    assert d["steps"] == 2 and d["guidance"] == 5.0 and d["strength"] == 1.0 and d["seed"] == 3 + 1
    assert d["scheduler"].startswith("default (DDIMScheduler") and d["batch"] == 2
    assert d["family"] == "sd" and d["device"] == "cpu" and d["dtype"] == "float32"
    assert d["seam"]["ring_delta_e_after"] < d["seam"]["ring_delta_e_before"]
    json.dumps(frames[1].provenance)  # JSON-ready


def test_variants_differ_and_batch_matches_single(two_variants, models, product):
    specs, frames = two_variants
    assert not np.array_equal(frames[0].rgb, frames[1].rgb)
    single = render(specs[1], *product)
    assert single.provenance["render"]["diffusion"]["batch"] == 1
    np.testing.assert_allclose(single.rgb, frames[1].rgb, atol=2e-3)


def test_same_seed_same_bytes(models, product, two_variants):
    specs, frames = two_variants
    again = render(specs[0], *product)
    first_single = render(specs[0], *product)
    assert again.rgb.tobytes() == first_single.rgb.tobytes()
    other = specs_for(models, product, ip=False, scene={"seed": 4})[0]
    assert not np.array_equal(render(other, *product).rgb, again.rgb)


def test_seam_correction_reduces_the_ring_delta_e(models, product):
    spec = specs_for(models, product, ip=False, controls=False)[0]
    on = render(spec, *product).provenance["render"]["diffusion"]["seam"]
    spec_off = specs_for(models, product, ip=False, controls=False, seam_correction=False)[0]
    off = render(spec_off, *product).provenance["render"]["diffusion"]["seam"]
    assert off["correction"] is False and "ring_delta_e_after" not in off
    assert on["ring_delta_e_before"] == pytest.approx(off["ring_delta_e_before"], rel=1e-4)
    assert on["ring_delta_e_after"] < 0.8 * on["ring_delta_e_before"]


def _outside(frame, cut):
    placed = place_product(cut.rgb, cut.alpha, np.array(frame.provenance["render"]["matrix"]), frame.spec.canvas)
    return ~lock_masks(placed.alpha, 2).keep


def test_each_control_changes_the_output(models, product, mood):
    cut, maps = product
    refs = {"references": ["mood.png"]}
    base = render(specs_for(models, product, mood, scene=refs)[0], cut, maps)
    outside = _outside(base, cut)
    variants = {
        "prompt": specs_for(models, product, mood, scene=dict(refs, prompt="a dark wooden table"))[0],
        "negative_prompt": specs_for(models, product, mood, scene=dict(refs, negative_prompt="bright"))[0],
        "depth controlnet": specs_for(models, product, mood, scene=refs, controlnets=[
            {"kind": "depth", "model": models["depth"], "scale": 0.0},
            {"kind": "canny", "model": models["canny"], "scale": 0.8}])[0],
        "canny controlnet": specs_for(models, product, mood, scene=refs, controlnets=[
            {"kind": "depth", "model": models["depth"], "scale": 0.8},
            {"kind": "canny", "model": models["canny"], "scale": 0.0}])[0],
        "ip-adapter": specs_for(models, product, mood)[0],  # no reference image: adapter scale 0
    }
    for what, spec in variants.items():
        frame = render(spec, cut, maps)
        diff = float(np.abs(frame.rgb[outside] - base.rgb[outside]).mean())
        assert diff > 1e-3, f"changing the {what} did not change the painted scene ({diff:.2e})"
    ip = base.provenance["render"]["diffusion"]["ip_adapter"]
    assert ip["scale"] == 1.0 and len(ip["references"]) == 1


def test_missing_model_offline_is_a_clear_error(product, models):
    from packshot.errors import InputError

    cut, maps = product
    brief = parse_brief({"defaults": {"sizes": [SIZE]}, "scenes": [{"renderer": "diffusion", "diffusion": {
        "model": "packshot-test/no-such-model", "local_files_only": True}}]})
    spec = condition(brief, cut, maps, "jar")[0]
    with pytest.raises(InputError) as err:
        render(spec, cut, maps)
    msg = str(err.value)
    assert "packshot-test/no-such-model" in msg and "cannot load" in msg and "local diffusers folder" in msg
    assert "Traceback" not in msg and len(msg) < 900


# ------------------------------------------------------------------------------- refine
def test_refine_repaints_only_the_region_outside_the_product(models, product, two_variants):
    from packshot.render.diffusion.refine import refine, regions_from_qa

    cut, maps = product
    specs, frames = two_variants
    frame = frames[0]
    region = np.zeros((64, 64), bool)
    region[:, :20] = True  # a flagged strip on the left, plus the whole product column it crosses
    region[30:40, 20:44] = True
    out = refine(frame, cut, region, maps)
    placed = place_product(cut.rgb, cut.alpha, np.array(frame.provenance["render"]["matrix"]), (64, 64))
    keep = lock_masks(placed.alpha, 2).keep
    assert np.array_equal(out.rgb[keep], frame.rgb[keep])          # product and margin untouched
    far = np.ones((64, 64), bool)
    far[:, :27] = False  # the region (x < 20) plus its feather (cut off at 2 x 3 px)
    far[20:50, :] = False
    assert np.array_equal(out.rgb[far], frame.rgb[far])            # nothing far from the region moves
    assert np.abs(out.rgb[:, :16] - frame.rgb[:, :16]).mean() > 1e-3  # the region was repainted
    rec = out.provenance["refine"][-1]
    assert rec["region_pixels"] < rec["asked_pixels"] and out.source_kind == "diffusion"

    class _Sil:
        growth_map = np.zeros((10, 10), np.float32)

    class _Details:
        crop = (5, 6, 15, 16)
        silhouette = _Sil()

    _Sil.growth_map[2:4, 3:5] = 1.0
    mask = regions_from_qa(_Details(), (64, 64), grow=0)
    assert mask.sum() == 4 and mask[8:10, 8:10].all()


# ------------------------------------------------------------------------------- packshot run
@pytest.mark.slow
def test_packshot_run_with_the_diffusion_renderer(models, tmp_path):
    import yaml
    from typer.testing import CliRunner

    from packshot.cli import app
    from packshot.samples import make_product, write_sample

    # the photo alone: the folder also holds the sample's mask and master artwork, which are not photos
    photo = str(write_sample(make_product("jar", seed=2, size=(160, 160)), tmp_path / "photos", name="jar-2")["photo"])
    brief = {"name": "gen", "defaults": {"sizes": [SIZE], "seed": 1},
             "scenes": [{"name": "hero", "renderer": "diffusion", "variants": 2, "prompt": "marble table",
                         "diffusion": tiny.brief_block(models, ip=False)},
                        {"name": "plain", "preset": "studio-white"}]}
    (tmp_path / "brief.yaml").write_text(yaml.safe_dump(brief))
    result = CliRunner().invoke(app, ["run", photo, "--brief", str(tmp_path / "brief.yaml"),
                                      "--out", str(tmp_path / "out"), "--qa",
                                      "--relight-model", f"iclight:{tiny.tiny_iclight('fc')}"])
    assert result.exit_code == 0, result.output
    hero = json.loads((tmp_path / "out" / "jar-2" / "hero" / "v1.json").read_text())
    assert hero["source_kind"] == "diffusion"
    assert hero["provenance"]["render"]["diffusion"]["seed"] == 2
    assert hero["provenance"]["render"]["diffusion"]["batch"] == 2  # both variants in one model call
    assert hero["provenance"]["relight"]["backend"] == "iclight-fc"      # the model relight ran last,
    assert hero["provenance"]["relight_embedded"]["backend"] == "embedded"  # after the embedded pass
    plain = json.loads((tmp_path / "out" / "jar-2" / "plain" / "v0.json").read_text())
    assert plain["provenance"]["render"]["backend"] == "studio"
    assert plain["source_kind"] == "diffusion"  # a model relit its product
    assert (tmp_path / "out" / "jar-2" / "hero" / "v0_qa.json").exists()
    # a model that is not there: the SKU fails with one clear line, not a traceback
    brief["scenes"][0]["diffusion"]["model"] = "packshot-test/absent-model"
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(brief))
    bad = CliRunner().invoke(app, ["run", photo, "--brief", str(tmp_path / "bad.yaml"),
                                   "--out", str(tmp_path / "out2")])
    assert bad.exit_code != 0
    assert "packshot-test/absent-model" in bad.output and "Traceback" not in bad.output


def test_device_and_dtype_choice_and_overrides(monkeypatch):
    import torch

    from packshot.render.diffusion import DiffusionSettings
    from packshot.render.diffusion.engine import pick_device

    assert pick_device(DiffusionSettings()) == ("cpu", torch.float32)  # no GPU here: cpu fp32
    assert pick_device(DiffusionSettings(dtype="bfloat16"))[1] is torch.bfloat16
    monkeypatch.setenv("PACKSHOT_DIFFUSION_DTYPE", "float16")
    assert pick_device(DiffusionSettings())[1] is torch.float16
    assert pick_device(DiffusionSettings(dtype="float32"))[1] is torch.float32  # the brief wins
    if not torch.cuda.is_available():
        from packshot.errors import InputError

        with pytest.raises(InputError, match="no CUDA device"):
            pick_device(DiffusionSettings(device="cuda"))


def test_renderer_without_a_model_says_so(product):
    from packshot.errors import InputError

    cut, maps = product
    spec = condition(parse_brief({"scenes": [{"sizes": [SIZE]}]}), cut, maps, "jar")[0]
    with pytest.raises(InputError, match="needs a model"):
        render(spec, cut, maps, backend="diffusion")


def test_sdxl_class_model_from_a_local_folder(product):
    cut, maps = product
    folder = tiny.tiny_sdxl()
    brief = parse_brief({"defaults": {"sizes": [SIZE], "seed": 9}, "scenes": [{
        "renderer": "diffusion", "prompt": "a studio photo", "negative_prompt": "dark",
        "diffusion": {"model": folder, "steps": 2, "guidance": 5.0, "lock_margin": 2, "scheduler": "euler_a",
                      "local_files_only": True}}]})
    spec = condition(brief, cut, maps, "jar")[0]
    frame = render(spec, cut, maps)
    d = frame.provenance["render"]["diffusion"]
    assert d["family"] == "sdxl" and d["pipeline"] == "StableDiffusionXLInpaintPipeline"
    assert d["scheduler"] == "euler_a" and d["model"]["source"] == "local"
    placed = place_product(cut.rgb, cut.alpha, np.array(frame.provenance["render"]["matrix"]), spec.canvas)
    solid = placed.alpha >= 1.0
    assert np.array_equal(frame.rgb[solid], placed.rgb[solid])
    assert render(spec, cut, maps).rgb.tobytes() == frame.rgb.tobytes()
