"""``packshot render`` end to end on a generated product: cut-out PNG + maps folder + brief -> frames."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from packshot.cli import app
from packshot.imaging import load_image, save_image, srgb_to_linear
from packshot.types import alpha_bbox

from test_render_fixtures import product_maps_for, sample_cutout

BRIEF = """
name: cli-test
defaults:
  sizes: ["256x256"]
  seed: 3
scenes:
  - name: hero
    preset: studio-white
    variants: 2
    floor: 0.5
    prompt: "clean studio shot"
    negative_prompt: "watermark"
  - name: mood
    preset: pastel-podium
    references: [mood.png]
    sizes: ["240x300", "1:1"]
    resolution: 200
  - name: room
    plate: plate.png
"""


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    from packshot.understand.io import save_maps

    root = tmp_path_factory.mktemp("cli_render")
    cutout = sample_cutout("jar", seed=7, size=256)
    save_image(root / "jar-7_cutout.png", cutout.rgb, alpha=cutout.alpha)
    save_maps(root / "maps", product_maps_for(cutout.alpha), cutout)
    mood = np.zeros((64, 96, 3), np.float32)
    mood[:] = srgb_to_linear(np.array([0.95, 0.8, 0.85], np.float32))
    save_image(root / "mood.png", mood)
    plate = np.zeros((240, 320, 3), np.float32)
    plate[:150] = 0.7
    plate[150:] = 0.3
    save_image(root / "plate.png", plate)
    (root / "brief.yaml").write_text(BRIEF)
    return root


def test_render_command_writes_every_frame(workspace):
    out = workspace / "out"
    runner = CliRunner()
    args = ["render", str(workspace / "jar-7_cutout.png"), "--maps", str(workspace / "maps"),
            "--brief", str(workspace / "brief.yaml"), "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    frames = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png") if not p.stem.endswith("_alpha"))
    assert frames == ["jar-7/hero/v0.png", "jar-7/hero/v1.png", "jar-7/mood/v0_200x200.png",
                      "jar-7/mood/v0_240x300.png", "jar-7/room/v0.png"]
    for rel in frames:
        png = out / rel
        data = json.loads(png.with_suffix(".json").read_text())
        image = load_image(png)
        assert list(image.size) == data["size"]
        alpha = load_image(png.parent / data["product_alpha"]).rgb[..., 0]
        box = alpha_bbox(alpha)
        assert box is not None and max(abs(a - b) for a, b in zip(box, data["product_box"])) <= 1
        assert (png.parent / data["cutout"]).resolve() == (workspace / "jar-7_cutout.png").resolve()
        prov = data["provenance"]
        assert prov["relight"]["product_delta_e2000_mean"] <= 3.0
        assert prov["condition"]["seed"] == 3
        assert prov["condition"]["inputs"]["brief"]
    hero = json.loads((out / "jar-7/hero/v0.json").read_text())
    assert hero["spec"]["prompt"] == "clean studio shot" and hero["spec"]["negative_prompt"] == "watermark"
    assert json.loads((out / "jar-7/room/v0.json").read_text())["provenance"]["render"]["backend"] == "plate"
    assert all(json.loads((out / rel).with_suffix(".json").read_text())["provenance"]["run_key"] for rel in frames)
    # running again: every frame is up to date (its sidecar's run key and file hashes match), same bytes
    first = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    again = runner.invoke(app, args)
    assert again.exit_code == 0
    assert "0 frames written, 5 up to date" in again.output
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == first
    # a damaged frame is made again (and only it), with the same bytes; --force redoes them all
    (out / "jar-7/hero/v1.png").write_bytes(b"")
    again = runner.invoke(app, [*args, "--json"])
    assert again.exit_code == 0
    (record,) = [json.loads(line) for line in again.stdout.splitlines()]
    assert record["ok"] and [Path(p).relative_to(out).as_posix() for p in record["frames"]] == ["jar-7/hero/v1.png"]
    assert len(record["skipped"]) == 4
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == first
    assert "5 frames written, 0 up to date" in runner.invoke(app, [*args, "--force"]).output


def test_render_command_reports_brief_errors(workspace):
    bad = workspace / "bad.yaml"
    bad.write_text("scenes:\n  - name: a\n    references: [missing.jpg]\n")
    result = CliRunner().invoke(app, ["render", str(workspace / "jar-7_cutout.png"), "--maps",
                                      str(workspace / "maps"), "--brief", str(bad), "--out",
                                      str(workspace / "out-bad")])
    assert result.exit_code == 2
    assert "scenes[0].references[0]" in result.output and "missing.jpg" in result.output
    assert not (workspace / "out-bad").exists()


def test_render_command_reports_a_bad_cutout(workspace):
    flat = workspace / "no_alpha.png"
    save_image(flat, np.full((64, 64, 3), 0.5, np.float32))
    result = CliRunner().invoke(app, ["render", str(flat), "--maps", str(workspace / "maps"), "--brief",
                                      str(workspace / "brief.yaml"), "--out", str(workspace / "out2")])
    assert result.exit_code == 1
    assert "no_alpha.png" in result.output


def test_render_takes_folders_and_new_inputs_make_new_frames(workspace, tmp_path):
    """A folder of cut-outs in packshot's <sku>/cutout.png layout; the maps beside each; a changed
    cut-out or --seed changes the run key, so the frames are made again."""
    import shutil

    run = tmp_path / "run"
    (run / "jar-7").mkdir(parents=True)
    shutil.copy(workspace / "jar-7_cutout.png", run / "jar-7" / "cutout.png")
    shutil.copytree(workspace / "maps", run / "jar-7" / "maps")
    brief = tmp_path / "brief.yaml"
    brief.write_text("scenes:\n  - name: hero\n    preset: studio-white\n    sizes: [128x128]\n")
    out = tmp_path / "out"
    args = ["render", str(run), "-b", str(brief), "-o", str(out), "-r", "studio", "--no-relight", "--json"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    (record,) = [json.loads(line) for line in res.stdout.splitlines()]
    assert record["sku"] == "jar-7" and len(record["frames"]) == 1
    assert json.loads(CliRunner().invoke(app, args).stdout)["skipped"]  # up to date
    res = CliRunner().invoke(app, [*args, "--seed", "5"])  # another seed: another run key
    assert len(json.loads(res.stdout)["frames"]) == 1
    sidecar = json.loads((out / "jar-7/hero/v0.json").read_text())
    assert sidecar["spec"]["seed"] == 5 and sidecar["provenance"]["condition"]["seed"] == 5
    (run / "jar-7" / "cutout.png").write_bytes((workspace / "jar-7_cutout.png").read_bytes() + b"\0")  # new bytes
    res = CliRunner().invoke(app, [*args, "--seed", "5"])
    assert res.exit_code == 0, res.output
    assert len(json.loads(res.stdout)["frames"]) == 1
