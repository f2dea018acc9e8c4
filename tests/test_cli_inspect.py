"""``packshot inspect``: a photo and an RGBA cut-out in, a folder of maps and an overview sheet out."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from packshot.cli import app
from packshot.imaging import save_image
from packshot.samples import make_product
from packshot.understand.io import load_maps

runner = CliRunner()


@pytest.fixture(scope="module")
def inspected(tmp_path_factory, photos_dir):
    """One real photo (segmented by the CLI) and one RGBA cut-out, inspected in one call."""
    root = tmp_path_factory.mktemp("inspect")
    s = make_product("bottle", seed=2, size=(360, 360), label=("LUMEN", "Hand Cream", "75 ml"))
    cutout_png = root / "bottle_cutout.png"
    save_image(cutout_png, s.image, alpha=s.mask)
    out = root / "out"
    result = runner.invoke(app, ["inspect", str(photos_dir / "images" / "gs_oatly_iconic.jpg"), str(cutout_png),
                                 "--out", str(out)])
    return result, out, s


def test_inspect_writes_every_file(inspected):
    result, out, _ = inspected
    assert result.exit_code == 0, result.output
    for stem in ("gs_oatly_iconic", "bottle_cutout"):
        folder = out / stem
        for name in ("depth.png", "normals.png", "edges.png", "materials.png", "maps.json", "overview.png"):
            assert (folder / name).is_file(), f"{stem}/{name} missing"
        with Image.open(folder / "depth.png") as im:
            assert im.mode.startswith("I")  # 16-bit
        meta = json.loads((folder / "maps.json").read_text())
        assert {"palette", "text", "flags", "provenance"} <= set(meta)
        assert "timings" not in meta and (folder / "timings.log").read_text().strip()  # timings in a log
        assert all({"code", "reason", "recommendation"} <= set(f) for f in meta["flags"])
        with Image.open(folder / "overview.png") as im:
            assert im.width > 1000 and im.height > 600


def test_inspect_reads_the_photo_and_flags_it(inspected):
    _, out, _ = inspected
    maps = load_maps(out / "gs_oatly_iconic")
    assert maps.has_flag("low-resolution")  # a 198 px packshot
    assert maps.provenance["cutout"]["stage"] == "segment"


def test_inspect_uses_the_cutout_alpha_and_reads_its_label(inspected):
    _, out, s = inspected
    maps = load_maps(out / "bottle_cutout")
    # the RGBA input's alpha is the product: depth is zero exactly where alpha is
    assert (maps.depth[s.mask < 0.002] == 0).all()
    assert maps.depth[s.mask > 0.99].min() > 0
    text = " ".join(t.text for t in maps.text).lower()
    assert "lumen" in text and "hand cream" in text and "75" in text, text
    meta = json.loads((out / "bottle_cutout" / "maps.json").read_text())
    box = meta["text"][0]["box"]
    assert len(box) == 4 and box[0] < box[2] and box[1] < box[3]
    assert maps.has_flag("regulated-text")  # "75 ml"


def test_inspect_resumes_and_reports_bad_inputs(inspected, tmp_path):
    _, out, _ = inspected
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"this is not a jpeg")
    # both good inputs are complete already: skipped, not redone; the bad one fails by name
    result = runner.invoke(app, ["inspect", str(out.parent / "bottle_cutout.png"), str(bad), "--out", str(out)])
    assert result.exit_code == 1
    assert "broken.jpg" in result.output
    assert "up to date" in result.output


def test_inspect_rejects_unknown_depth_backend(tmp_path):
    result = runner.invoke(app, ["inspect", str(tmp_path), "--out", str(tmp_path / "o"), "--depth", "nope"])
    assert result.exit_code == 2
    assert "unknown depth backend" in result.output and "inflate" in result.output


def test_inspect_empty_cutout_fails_clearly(tmp_path):
    img = np.full((64, 64, 3), 0.5, np.float32)
    path = tmp_path / "empty.png"
    save_image(path, img, alpha=np.zeros((64, 64), np.float32))
    result = runner.invoke(app, ["inspect", str(path), "--out", str(tmp_path / "o"), "--no-ocr"])
    assert result.exit_code == 1
    assert "empty.png" in result.output and "no product" in result.output


def test_inspect_resume_follows_the_record(tmp_path):
    """inspect.json keys the photo's bytes and options and hashes every output: an intact folder is
    up to date, a damaged output or another option makes it again, --force always does."""
    s = make_product("jar", seed=4, size=(160, 160))
    path = tmp_path / "jar.png"
    save_image(path, s.image, alpha=s.mask)
    args = ["inspect", str(tmp_path), "--out", str(tmp_path / "o"), "--no-ocr", "--json"]

    def once(*extra):
        result = runner.invoke(app, [*args, *extra])
        assert result.exit_code == 0, result.output
        (record,) = [json.loads(line) for line in result.stdout.splitlines()]
        return record

    first = once()
    assert first["ok"] and not first["up_to_date"] and first["size"] == [160, 160]
    folder = tmp_path / "o" / "jar"
    record = json.loads((folder / "inspect.json").read_text())
    assert {"overview.png", "depth.png", "maps.json"} <= set(record["outputs"])
    assert once()["up_to_date"]
    (folder / "depth.png").write_bytes(b"")
    assert not once()["up_to_date"] and (folder / "depth.png").stat().st_size > 0
    assert once()["up_to_date"] and not once("--force")["up_to_date"]
    assert not once("--depth", "inflate", "-s", "u2netp")["up_to_date"]  # another segmenter: another key
