"""The review in the pipeline: a cut-out that fails the gate is not rendered ("needs a prompt"),
a turned product is rendered upright and its cut-out saved upright."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from packshot.cli import app
from packshot.condition import parse_brief
from packshot.imaging import load_image, save_image
from packshot.pipeline import RunConfig, process_photo
from packshot.samples import make_product
from packshot.segment.review import NeedsPromptError

BRIEF = {"defaults": {"sizes": ["256x256"], "variants": 1, "seed": 3},
         "scenes": [{"name": "white", "preset": "studio-white", "floor": 0.4}]}


@pytest.fixture(scope="module")
def brief(tmp_path_factory):
    return parse_brief(BRIEF, tmp_path_factory.mktemp("brief"))


@pytest.fixture(scope="module")
def turned_photo(tmp_path_factory):
    s = make_product("box", seed=3, size=(320, 320), label=("AURORA", "Oat Drink", "250 ml"))
    path = tmp_path_factory.mktemp("turned") / "upside.png"
    save_image(path, np.ascontiguousarray(np.rot90(s.image, 2)))
    return s, path


def test_run_turns_a_photographed_upside_down_product_upright(turned_photo, brief, tmp_path):
    s, path = turned_photo
    result = process_photo(path, brief, tmp_path)
    assert "orientation-uncertain" not in result.flags and len(result.frames) == 1
    cut = load_image(result.cutout_path)
    # the saved cut-out is the upright one: its alpha matches the product as drawn upright
    inter = float(((cut.alpha > 0.5) & (s.mask > 0.5)).sum()) / float(((cut.alpha > 0.5) | (s.mask > 0.5)).sum())
    assert inter > 0.9
    sidecar = json.loads(result.frames[0].with_suffix(".json").read_text())
    assert sidecar["provenance"]["orientation"]["turn"] == 180
    record = json.loads((tmp_path / "upside" / "cutout_gate.json").read_text())
    assert record["gate"]["verdict"] == "pass" and record["orientation"]["source"] == "text"


def test_keep_renders_as_shot(turned_photo, brief, tmp_path):
    _, path = turned_photo
    result = process_photo(path, brief, tmp_path, config=RunConfig(orientation="keep"))
    sidecar = json.loads(result.frames[0].with_suffix(".json").read_text())
    assert sidecar["provenance"]["orientation"]["source"] == "keep"
    assert sidecar["provenance"]["orientation"]["turn"] == 0


@pytest.fixture(scope="module")
def cut_by_frame(tmp_path_factory):
    s = make_product("bottle", seed=1, size=(320, 320), scale=0.7)
    rows = np.flatnonzero(s.mask.max(axis=1) > 0.5)
    cut_at = int(rows[-1] - 0.3 * (rows[-1] - rows[0]))
    path = tmp_path_factory.mktemp("cut") / "cut-off.png"
    save_image(path, np.ascontiguousarray(s.image[:cut_at]))
    return path


def test_a_failing_cut_out_is_not_rendered_and_needs_a_prompt(cut_by_frame, brief, tmp_path):
    with pytest.raises(NeedsPromptError, match="needs-prompt.*cut by the bottom edge"):
        process_photo(cut_by_frame, brief, tmp_path)
    record = json.loads((tmp_path / "cut-off" / "cutout_gate.json").read_text())
    assert record["gate"]["verdict"] == "needs-prompt" and "needs-prompt" in record["flags"]
    assert not list((tmp_path / "cut-off").glob("white/*.png"))  # no frame
    assert not (tmp_path / "cut-off" / "cutout.png").exists()


def test_cli_run_reports_needs_prompt_and_goes_on(cut_by_frame, turned_photo, tmp_path):
    brief_path = tmp_path / "brief.yaml"
    import yaml

    brief_path.write_text(yaml.safe_dump(BRIEF))
    r = CliRunner().invoke(app, ["run", str(cut_by_frame), str(turned_photo[1]), "--brief", str(brief_path),
                                 "--out", str(tmp_path / "out"), "--orientation", "keep"])
    assert r.exit_code == 1
    assert "needs-prompt" in r.output and "cut by the bottom edge" in r.output
    assert list((tmp_path / "out" / "upside" / "white").glob("*.png"))
    bad = CliRunner().invoke(app, ["run", str(turned_photo[1]), "--brief", str(brief_path),
                                   "--out", str(tmp_path / "o2"), "--orientation", "sideways"])
    assert bad.exit_code == 2 and "--orientation must be one of" in bad.output


def test_cli_cutout_keeps_geometry_unless_asked(turned_photo, tmp_path):
    _, path = turned_photo
    r = CliRunner().invoke(app, ["cutout", str(path), "--out", str(tmp_path / "keep")])
    assert r.exit_code == 0, r.output
    kept = load_image(tmp_path / "keep" / "upside.png")
    r = CliRunner().invoke(app, ["cutout", str(path), "--out", str(tmp_path / "auto"), "--orientation", "auto"])
    assert r.exit_code == 0, r.output
    turned = load_image(tmp_path / "auto" / "upside.png")
    assert np.allclose(np.rot90(kept.alpha, 2), turned.alpha, atol=1 / 255)
