"""``packshot qa`` end to end on a frame folder written by the render stage's save_frame."""

from __future__ import annotations

import json

import numpy as np
from typer.testing import CliRunner

from packshot.cli import app
from packshot.imaging import save_image
from packshot.qa.planted import make_case
from packshot.render.io import save_frame
from packshot.types import Frame, Light, Placement, SceneSpec, alpha_bbox

runner = CliRunner()


def write_frame(root, case, sku, variant):
    cut = root / "cutouts" / f"{sku}.png"
    if not cut.exists():
        save_image(cut, case.cutout_rgb, alpha=case.cutout_alpha)
    spec = SceneSpec(sku=sku, scene="studio", variant=variant, canvas=case.frame_rgb.shape[1::-1],
                     placement=Placement((256.0, 256.0), 1.0), light=Light(), preset="studio", backdrop={},
                     floor_y=400.0, floor_gloss=0.0)
    frame = Frame(rgb=case.frame_rgb, product_alpha=case.product_alpha, product_box=alpha_bbox(case.product_alpha),
                  spec=spec, provenance={"render": {"matrix": np.asarray(case.matrix).tolist()}})
    return save_frame(root / "frames", frame, cut)


def test_cli_qa_end_to_end(tmp_path):
    good = make_case("bottle", 8, "untouched")
    bad = make_case("bottle", 8, "digit")
    other = make_case("pouch", 6, "untouched")
    write_frame(tmp_path, good, "vitc", 0)
    write_frame(tmp_path, bad, "vitc", 1)
    write_frame(tmp_path, other, "oat", 0)
    masters = tmp_path / "masters"
    save_image(masters / "vitc_master.png", good.master)  # no master for "oat"

    result = runner.invoke(app, ["qa", str(tmp_path / "frames"), "--master", str(masters)])
    out = result.output
    assert result.exit_code == 1, out  # one frame fails
    assert "no master artwork for SKU 'oat'" in out
    assert "2 pass, 0 review, 1 fail, 0 error(s)" in out

    folder = tmp_path / "frames" / "vitc" / "studio"
    r0 = json.loads((folder / "v0_qa.json").read_text())
    r1 = json.loads((folder / "v1_qa.json").read_text())
    assert r0["verdict"] == "pass" and r0["master"].endswith("vitc_master.png")
    assert r1["verdict"] == "fail" and any("critical token" in r for r in r1["reasons"])
    assert (folder / "v1_qa_overlay.png").stat().st_size > 1000
    r_oat = json.loads((tmp_path / "frames" / "oat" / "studio" / "v0_qa.json").read_text())
    assert r_oat["verdict"] == "pass" and r_oat["metrics"]["text"]["source"] == "cutout"
    # no leftovers from the atomic writes, and qa's own json is not mistaken for a frame on a re-run
    assert not list(tmp_path.rglob("*.tmp"))
    again = runner.invoke(app, ["qa", str(folder / "v0.json"), "--no-overlay"])
    assert again.exit_code == 0, again.output


def test_cli_qa_bad_input(tmp_path):
    result = runner.invoke(app, ["qa", str(tmp_path / "nowhere")])
    assert result.exit_code == 2 and "does not exist" in result.output
    (tmp_path / "empty").mkdir()
    result = runner.invoke(app, ["qa", str(tmp_path / "empty")])
    assert result.exit_code == 2 and "no frame sidecars" in result.output
    result = runner.invoke(app, ["qa", str(tmp_path / "empty"), "--master", str(tmp_path / "no-masters")])
    assert result.exit_code == 2 and "master folder does not exist" in result.output
    result = runner.invoke(app, ["qa", str(tmp_path / "empty"), "--fail-on", "sometimes"])
    assert result.exit_code != 0 and "--fail-on" in result.output
    # a sidecar whose cut-out is gone: reported, exit code 1, no qa.json
    case = make_case("can", 5, "untouched")
    sidecar = write_frame(tmp_path, case, "gone", 0)
    (tmp_path / "cutouts" / "gone.png").unlink()
    result = runner.invoke(app, ["qa", str(tmp_path / "frames")])
    assert result.exit_code == 1 and "gone.png" in result.output and "does not exist" in result.output
    assert not sidecar.with_name("v0_qa.json").exists()


def test_cli_qa_ocr_threads_default_one_like_a_catalogue_worker(tmp_path, monkeypatch):
    """``packshot qa`` runs OCR on one onnxruntime thread by default (as each catalogue worker
    does), ``--ocr-threads N`` on N; the verdicts and readings are the same."""
    import packshot.ops.ocr as ocr

    monkeypatch.setattr(ocr, "_THREADS", [0])  # the engine made here is dropped afterwards
    monkeypatch.setattr(ocr, "_ENGINE", None)
    made = []
    real_set = ocr.set_threads
    monkeypatch.setattr(ocr, "set_threads", lambda n: (made.append(n), real_set(n)))
    sidecar = write_frame(tmp_path, make_case("bottle", 8, "untouched"), "vitc", 0)
    reports = []
    for args in ([], ["--ocr-threads", "2"]):
        result = runner.invoke(app, ["qa", str(sidecar), "--no-overlay", *args])
        assert result.exit_code == 0, result.output
        data = json.loads(sidecar.with_name("v0_qa.json").read_text())
        reports.append((data["verdict"], data["metrics"]["text"]))
        assert ocr._THREADS[0] == made[-1]
    assert made == [1, 2]
    assert reports[0] == reports[1]
    bad = runner.invoke(app, ["qa", str(sidecar), "--ocr-threads", "-1"])
    assert bad.exit_code == 2
