"""The whole line for one photo: process_photo, ``packshot run`` and the demo."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from packshot.cli import app
from packshot.condition import parse_brief
from packshot.imaging import load_image, load_mask
from packshot.pipeline import RunConfig, process_photo, sku_from_path
from packshot.samples import make_product, write_sample
from packshot.types import alpha_bbox

SMALL_BRIEF = {
    "defaults": {"sizes": ["320x320"], "variants": 2, "seed": 3},
    "scenes": [
        {"name": "white", "preset": "studio-white", "floor": 0.4},
        {"name": "podium", "preset": "pastel-podium", "lighting": {"azimuth": 160, "elevation": 35}},
    ],
}


@pytest.fixture(scope="module")
def product_photo(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("photo")
    s = make_product("jar", seed=5, size=(384, 384))
    paths = write_sample(s, folder, name="jar-005")
    return {"sample": s, **paths}


@pytest.fixture(scope="module")
def brief(tmp_path_factory):
    return parse_brief(SMALL_BRIEF, tmp_path_factory.mktemp("brief"))


@pytest.fixture(scope="module")
def first_run(product_photo, brief, tmp_path_factory):
    out = tmp_path_factory.mktemp("run1")
    return out, process_photo(product_photo["photo"], brief, out)


def test_process_photo_writes_every_scene_and_variant(first_run):
    out, result = first_run
    assert result.sku == "jar-005"
    assert result.cutout_path.exists() and (result.maps_dir / "maps.json").exists()
    assert len(result.frames) == 4
    for png in result.frames:
        sidecar = json.loads(png.with_suffix(".json").read_text())
        assert sidecar["sku"] == "jar-005"
        frame = load_image(png)
        assert frame.size == (320, 320)
        alpha = load_mask(png.parent / sidecar["product_alpha"])
        # the recorded product box is the box of the product's alpha in the frame
        assert tuple(sidecar["product_box"]) == alpha_bbox(alpha)
        assert sidecar["provenance"]["photo_sha256"] == load_image(result.photo).sha256


def test_same_inputs_and_seed_give_the_same_bytes(first_run, product_photo, brief, tmp_path):
    out, result = first_run
    again = process_photo(product_photo["photo"], brief, tmp_path)
    for a, b in zip(sorted(result.frames), sorted(again.frames)):
        assert a.relative_to(out) == b.relative_to(tmp_path)
        assert a.read_bytes() == b.read_bytes()
        assert a.with_suffix(".json").read_bytes() == b.with_suffix(".json").read_bytes()


def test_resume_skips_frames_that_are_up_to_date(first_run, product_photo, brief):
    out, result = first_run
    before = {p: p.stat().st_mtime_ns for p in result.frames}
    again = process_photo(product_photo["photo"], brief, out)
    assert again.frames == [] and sorted(again.skipped) == sorted(result.frames)
    assert all(p.stat().st_mtime_ns == t for p, t in before.items())
    forced = process_photo(product_photo["photo"], brief, out, config=RunConfig(resume=False))
    assert len(forced.frames) == 4


def test_product_pixels_stay_inside_the_relight_bound(first_run):
    """The frame's product interior matches the cut-out placed by the recorded matrix."""
    import cv2

    from packshot.imaging import delta_e2000, linear_to_lab
    from packshot.render.compose import place_product

    out, result = first_run
    cut = load_image(result.cutout_path)
    png = result.frames[0]
    sidecar = json.loads(png.with_suffix(".json").read_text())
    frame = load_image(png).rgb
    m = np.array(sidecar["placement"]["matrix"], np.float64)
    w, h = sidecar["size"]
    placed = place_product(cut.rgb, cut.alpha, m, (w, h))  # the renderer's own warp of the locked product
    ref, ref_a = placed.rgb, placed.alpha  # straight colour, alpha
    inner = cv2.erode((ref_a > 0.99).astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)
    assert inner.sum() > 500
    ref_rgb = ref[inner]
    de = delta_e2000(linear_to_lab(frame[inner]), linear_to_lab(ref_rgb))
    assert float(de.mean()) <= 3.0  # the relight bound, 8-bit encoding of both files included


def test_sku_from_path_is_safe():
    assert sku_from_path("/a/b/My Product (2).JPG") == "My-Product-2"
    assert sku_from_path("../..jpg") == "sku"


def test_run_cli_reports_a_bad_photo_and_finishes_the_rest(product_photo, tmp_path):
    brief = tmp_path / "brief.yaml"
    import yaml

    one_scene = {"defaults": {"sizes": ["256x256"], "variants": 1}, "scenes": [SMALL_BRIEF["scenes"][0]]}
    brief.write_text(yaml.safe_dump(one_scene))
    bad = tmp_path / "broken.jpg"
    bad.write_text("this is not a jpeg")
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["run", str(bad), str(product_photo["photo"]), "--brief", str(brief), "--out", str(out)])
    assert res.exit_code == 1
    assert "broken.jpg: not an image" in res.output
    assert (out / "jar-005" / "white" / "v0.png").exists()


def test_run_cli_rejects_a_malformed_brief(product_photo, tmp_path):
    brief = tmp_path / "brief.yaml"
    brief.write_text("scenes:\n  - name: x\n    preset: no-such-preset\n")
    res = CliRunner().invoke(app, ["run", str(product_photo["photo"]), "--brief", str(brief), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert "no-such-preset" in res.output


@pytest.mark.parametrize("photo_id", ["abo_vitamin_bottle", "arc17_windex", "gs_oatly_iconic"])
def test_real_photos_through_packshot_run(photos_dir, photo_id, tmp_path):
    import yaml

    brief = tmp_path / "brief.yaml"
    brief.write_text(yaml.safe_dump({"defaults": {"sizes": ["384x384"], "variants": 1},
                                     "scenes": [{"name": "white", "preset": "studio-white"},
                                                {"name": "wood", "preset": "wood", "floor": 0.6}]}))
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["run", str(photos_dir / "images" / f"{photo_id}.jpg"), "--brief", str(brief),
                                   "--out", str(out)])
    assert res.exit_code == 0, res.output
    for scene in ("white", "wood"):
        png = out / photo_id / scene / "v0.png"
        sidecar = json.loads(png.with_suffix(".json").read_text())
        alpha = load_mask(png.parent / sidecar["product_alpha"])
        box = alpha_bbox(alpha)
        assert box is not None and tuple(sidecar["product_box"]) == box
        # the product is a substantial, fully inside part of the frame
        x0, y0, x1, y1 = box
        assert (x1 - x0) * (y1 - y0) > 0.05 * 384 * 384


def test_run_cli_with_no_images_says_so(tmp_path):
    brief = tmp_path / "brief.yaml"
    brief.write_text("scenes:\n  - name: white\n    preset: studio-white\n")
    empty = tmp_path / "empty"
    empty.mkdir()
    res = CliRunner().invoke(app, ["run", str(empty), "--brief", str(brief), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert "no input images" in res.output
