"""``packshot cutout``: outputs, EXIF rotation, --mask-only, prompts, failures and exit codes."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from packshot.cli import app
from packshot.imaging import linear_to_srgb8, save_image
from packshot.samples import make_product


def run(*args):
    return CliRunner().invoke(app, ["cutout", *map(str, args)])


def iou(pred, truth):
    p, t = pred > 0.5, truth > 0.5
    return float((p & t).sum()) / max(float((p | t).sum()), 1.0)


@pytest.fixture(scope="module")
def products(tmp_path_factory):
    folder = tmp_path_factory.mktemp("in")
    can = make_product("can", seed=1, size=(200, 160), noise=0.01)
    save_image(folder / "can.png", can.image)
    return folder, can


def test_good_bad_and_blank_inputs_in_one_run(tmp_path, products):
    folder, can = products
    (tmp_path / "bad.jpg").write_text("this is text, not a JPEG")
    save_image(tmp_path / "blank.png", np.full((90, 120, 3), 0.96, np.float32))
    out = tmp_path / "out"
    res = run(folder / "can.png", tmp_path / "bad.jpg", tmp_path / "blank.png", "--out", out)
    assert res.exit_code == 1
    # each failure named with its reason, the good input still written
    assert "bad.jpg" in res.output and "not" in res.output
    assert "blank.png" in res.output and "no product found" in res.output
    assert "2 of 3 failed" in res.output
    with Image.open(out / "can.png") as im:
        assert im.mode == "RGBA" and im.size == (200, 160)
        alpha = np.asarray(im)[..., 3].astype(np.float32) / 255
    assert iou(alpha, can.mask) > 0.95
    assert not (out / "bad.png").exists() and not (out / "blank.png").exists()


def test_all_good_exits_zero_and_mask_only_writes_grey(tmp_path, products):
    folder, can = products
    res = run(folder, "--out", tmp_path, "--mask-only", "--segmenter", "u2netp")
    assert res.exit_code == 0, res.output
    with Image.open(tmp_path / "can.png") as im:
        assert im.mode == "L" and im.size == (200, 160)
        mask = np.asarray(im).astype(np.float32) / 255
    assert iou(mask, can.mask) > 0.9


def test_exif_rotated_input_keeps_its_displayed_size(tmp_path):
    s = make_product("bottle", seed=2, size=(120, 180), noise=0.0)
    # store the photo on its side with EXIF orientation 6 (rotate 90 cw to display)
    stored = Image.fromarray(linear_to_srgb8(s.image)).transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    stored.save(buf, "JPEG", quality=95, exif=exif.tobytes())
    (tmp_path / "side.jpg").write_bytes(buf.getvalue())
    res = run(tmp_path / "side.jpg", "--out", tmp_path / "out")
    assert res.exit_code == 0, res.output
    with Image.open(tmp_path / "out" / "side.png") as im:
        assert im.size == (120, 180)
        alpha = np.asarray(im)[..., 3].astype(np.float32) / 255
    assert iou(alpha, s.mask) > 0.9


def test_box_and_point_prompts(tmp_path):
    left = make_product("can", seed=2, size=(160, 160), noise=0.005)
    right = make_product("jar", seed=6, size=(160, 160), noise=0.005)
    save_image(tmp_path / "two.png", np.concatenate([left.image, right.image], axis=1))
    res = run(tmp_path / "two.png", "--out", tmp_path / "box", "--box", "160,0,320,160", "--mask-only")
    assert res.exit_code == 0, res.output
    mask = np.asarray(Image.open(tmp_path / "box" / "two.png")).astype(np.float32) / 255
    assert mask[:, :158].max() == 0 and iou(mask[:, 160:], right.mask) > 0.9
    res = run(tmp_path / "two.png", "--out", tmp_path / "pt", "--point", "80,80", "--point", "240,80,0", "--mask-only")
    assert res.exit_code == 0, res.output
    mask = np.asarray(Image.open(tmp_path / "pt" / "two.png")).astype(np.float32) / 255
    assert iou(mask[:, :160], left.mask) > 0.9 and mask[:, 160:].max() == 0


@pytest.mark.parametrize("args,needle", [
    (["--box", "1,2,3"], "--box"),
    (["--box", "10,10,5,5"], "x1 > x0"),
    (["--point", "1,2,7"], "label"),
    (["--point", "a,b"], "numbers"),
    (["--segmenter", "nope"], "unknown segmenter 'nope'; choose one of: auto"),
    (["-s", "onnx"], "needs an argument"),
    (["-s", "onnx:/no/such/model.onnx"], "does not exist"),
    (["--backend", "nope"], "unknown segmenter"),  # the deprecated spelling is checked alike
    (["--orientation", "45"], "'90'"),
])
def test_bad_options_exit_2_with_the_option_named(tmp_path, products, args, needle):
    folder, _ = products
    res = run(folder / "can.png", "--out", tmp_path, *args)
    assert res.exit_code == 2
    assert needle in " ".join(res.output.replace("│", " ").split())  # parse errors come in a wrapped box
    assert not any(tmp_path.iterdir())


def test_pixel_limit_and_prompt_outside_the_photo_fail_per_input(tmp_path, products):
    folder, _ = products
    res = run(folder / "can.png", "--out", tmp_path / "a", "--max-pixels", "1000")
    assert res.exit_code == 1 and "over the limit" in res.output
    res = run(folder / "can.png", "--out", tmp_path / "b", "--box", "500,500,600,600")
    assert res.exit_code == 1 and "outside" in res.output
    res = run(tmp_path / "missing.jpg", "--out", tmp_path / "c")
    assert res.exit_code == 1 and "does not exist" in res.output


def test_same_input_gives_the_same_bytes(tmp_path, products):
    folder, _ = products
    assert run(folder / "can.png", "--out", tmp_path / "a").exit_code == 0
    assert run(folder / "can.png", "--out", tmp_path / "b").exit_code == 0
    assert (tmp_path / "a" / "can.png").read_bytes() == (tmp_path / "b" / "can.png").read_bytes()
