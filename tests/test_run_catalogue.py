"""``packshot run`` is a catalogue of the given photos over the job store (issue 12): JSON lines per
frame on stdout, exports with --profile, master artwork with --master, one resume mechanism."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from packshot.cli import app
from packshot.samples import make_product, write_sample

BRIEF = {"defaults": {"sizes": ["96x96"], "variants": 2, "seed": 3},
         "scenes": [{"name": "white", "preset": "studio-white"}]}


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("runcat")
    s = write_sample(make_product("box", seed=4, size=(128, 128)), root / "art", name="box")
    photos = root / "photos"
    photos.mkdir()
    (photos / "box.png").write_bytes(s["photo"].read_bytes())
    (root / "brief.yaml").write_text(yaml.safe_dump(BRIEF))
    return {"root": root, "photo": photos / "box.png", "master": s["master"], "brief": root / "brief.yaml"}


def _lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_run_json_profile_master_then_resume_without_model_work(sample, tmp_path, monkeypatch):
    out = tmp_path / "out"
    args = ["run", str(sample["photo"]), "-b", str(sample["brief"]), "-o", str(out), "--json", "-p", "amazon-main",
            "-m", str(sample["master"]), "--qa", "-s", "auto", "-r", "studio", "--workers", "1"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    frames = _lines(res.stdout)
    assert [f["frame"] for f in frames] == ["box/white/v0", "box/white/v1"]
    assert all(f["status"] == "written" and f["qa"] in ("pass", "review", "fail") for f in frames)
    assert all([e["profile"] for e in f["exports"]] == ["amazon-main"] for f in frames)
    for f in frames:
        assert (out / f["png"]).is_file() and (out / f["exports"][0]["file"]).is_file()
        assert (out / f"{f['frame']}_qa.json").is_file()
    assert (out / "packshot.db").is_file() and not (out / "box" / "run.json").exists()
    assert "box: 2 frames written, 0 up to date" in res.stderr
    assert (out / "box" / "cutout.png").is_file()
    sidecar = json.loads((out / "box" / "white" / "v0.json").read_text())
    assert sidecar["provenance"]["photo"] == str(sample["photo"])
    # the master was used for QA (its copy lies under sources/, by content hash)
    from packshot.catalogue.store import JobStore

    with JobStore(out, readonly=True) as store:
        (row,) = store.skus()
    assert row["master"] and (out / row["master"]).is_file()

    import packshot.render
    import packshot.segment
    import packshot.understand

    def forbidden(*a, **k):
        raise AssertionError("model work on an unchanged rerun")

    for mod, name in ((packshot.segment, "segment"), (packshot.understand, "understand"),
                      (packshot.render, "render_many")):
        monkeypatch.setattr(mod, name, forbidden)
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0, again.output
    assert [f["status"] for f in _lines(again.stdout)] == ["up to date", "up to date"]
    assert "box: 0 frames written, 2 up to date" in again.stderr


def test_old_flag_spellings_still_work_and_quiet_prints_no_lines(sample, tmp_path):
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["run", str(sample["photo"]), "--brief", str(sample["brief"]), "--out", str(out),
                                   "--backend", "auto", "--renderer", "studio", "-q", "--seed", "9"])
    assert res.exit_code == 0, res.output
    assert res.stderr.strip() == "" and res.stdout.strip() == ""
    sidecar = json.loads((out / "box" / "white" / "v0.json").read_text())
    assert sidecar["spec"]["seed"] == 9  # the brief says 3


def test_run_writes_motion_clips_beside_the_stills(sample, tmp_path):
    brief = tmp_path / "motion.yaml"
    brief.write_text(yaml.safe_dump({"scenes": [{"name": "story", "sizes": ["96x160"],
                                                 "motion": {"kind": ["push-in"], "seconds": 0.5, "fps": 8}}]}))
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["run", str(sample["photo"]), "-b", str(brief), "-o", str(out), "-w", "1"])
    assert res.exit_code == 0, res.output
    folder = out / "box" / "story"
    assert {"v0.png", "v0.json", "v0.mp4", "v0.webm", "v0.poster.jpg", "v0.clip.json"} <= {p.name for p in
                                                                                           folder.iterdir()}
    assert json.loads((folder / "v0.clip.json").read_text())["frames"] == 4
