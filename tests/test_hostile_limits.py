"""Hostile inputs, unbounded resources (issue 8, items 9-11): the bomb guard cannot be switched
off, every file read is bounded and regular-only, YAML/JSON documents have alias and depth limits."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from packshot.cli import app
from packshot.documents import MAX_ALIAS_NODES, MAX_DEPTH, DocumentError, load_document, parse_json, parse_yaml
from packshot.errors import ImageLoadError, InputError
from packshot.imaging import (
    MAX_PIXELS_CEILING,
    check_max_pixels,
    decode_image,
    load_image,
    load_mask,
    read_bounded,
    save_image,
)

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="devices and FIFOs are POSIX")


def _png(w=64, h=48) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), (200, 120, 40)).save(buf, "PNG")
    return buf.getvalue()


def _finishes(fn, timeout=10.0):
    """Run ``fn`` in a daemon thread; return (finished, result or exception)."""
    box: dict = {}

    def target():
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - the test inspects it
            box["value"] = exc

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(timeout)
    return not t.is_alive(), box.get("value")


# ------------------------------------------------------------------------------ item 9: max_pixels
@pytest.mark.parametrize("value", [0, -1, -100_000_000])
def test_max_pixels_zero_or_negative_is_refused(value):
    with pytest.raises(InputError, match="positive"):
        decode_image(_png(), "small.png", max_pixels=value)
    with pytest.raises(InputError, match="positive"):
        check_max_pixels(value, "--max-pixels")


def test_max_pixels_is_capped_at_the_documented_ceiling():
    assert check_max_pixels(MAX_PIXELS_CEILING) == MAX_PIXELS_CEILING
    with pytest.raises(InputError, match="ceiling"):
        decode_image(_png(), "small.png", max_pixels=MAX_PIXELS_CEILING + 1)
    # None no longer means "no limit": it means the ceiling, so a header over it is refused
    assert check_max_pixels(None) == MAX_PIXELS_CEILING
    assert decode_image(_png(), "small.png", max_pixels=None).size == (64, 48)
    assert decode_image(_png(), "small.png", max_pixels=64 * 48).size == (64, 48)


def test_a_bomb_header_is_refused_at_the_ceiling_before_decoding():
    # a PNG whose header claims 30000 x 30000 (900 MP) with almost no data
    w = h = 30000
    buf = io.BytesIO()
    Image.new("1", (1, 1)).save(buf, "PNG")
    data = bytearray(buf.getvalue())
    data[16:24] = w.to_bytes(4, "big") + h.to_bytes(4, "big")
    import zlib

    data[29:33] = zlib.crc32(bytes(data[12:29])).to_bytes(4, "big")
    with pytest.raises(ImageLoadError, match="over the limit"):
        decode_image(bytes(data), "bomb.png", max_pixels=None)


@pytest.mark.parametrize("value", ["0", "-5", str(MAX_PIXELS_CEILING + 1)])
@pytest.mark.parametrize("command", ["cutout", "inspect", "run"])
def test_cli_max_pixels_out_of_range_exits_2_naming_the_option(tmp_path, command, value):
    photo = tmp_path / "p.png"
    photo.write_bytes(_png())
    args = [command, str(photo), "--out", str(tmp_path / "out"), "--max-pixels", value]
    if command == "run":
        args += ["--brief", str(tmp_path / "brief.yaml")]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 2, res.output
    assert "--max-pixels" in res.output
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------- item 10: bounded, regular reads
def test_dev_zero_as_a_photo_or_mask_is_refused_at_once():
    done, value = _finishes(lambda: load_image("/dev/zero"))
    assert done, "reading /dev/zero did not finish"
    assert isinstance(value, ImageLoadError) and "device" in str(value) and "/dev/zero" in str(value)
    done, value = _finishes(lambda: load_mask("/dev/zero"))
    assert done and isinstance(value, ImageLoadError) and "device" in str(value)


def test_a_symlink_to_dev_zero_and_a_fifo_are_refused_without_blocking(tmp_path):
    link = tmp_path / "photo.jpg"
    link.symlink_to("/dev/zero")
    done, value = _finishes(lambda: load_image(link))
    assert done and isinstance(value, ImageLoadError) and "device" in str(value) and str(link) in str(value)
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    done, value = _finishes(lambda: load_image(fifo), timeout=5)
    assert done, "opening a FIFO blocked"
    assert isinstance(value, ImageLoadError) and "pipe" in str(value)


def test_read_bounded_caps_the_bytes_read(tmp_path):
    p = tmp_path / "big.bin"
    p.write_bytes(b"x" * 1000)
    assert read_bounded(p, "file", max_bytes=1000) == b"x" * 1000
    with pytest.raises(ImageLoadError, match="over the limit of 999 bytes"):
        read_bounded(p, "file", max_bytes=999)
    with pytest.raises(ImageLoadError, match="does not exist"):
        read_bounded(tmp_path / "nope.png", "image file")
    with pytest.raises(ImageLoadError, match="is a folder"):
        read_bounded(tmp_path, "image file")


def test_dev_zero_as_a_brief_or_a_plate_in_a_brief_is_refused(tmp_path):
    from packshot.condition import load_brief
    from packshot.condition.brief import BriefError

    (tmp_path / "plate.png").symlink_to("/dev/zero")
    brief = tmp_path / "brief.yaml"
    brief.write_text("scenes:\n  - name: room\n    plate: plate.png\n")
    done, value = _finishes(lambda: load_brief(brief))
    assert done and isinstance(value, BriefError), value
    assert "scenes[0].plate" in str(value) and "device" in str(value)
    (tmp_path / "zero.yaml").symlink_to("/dev/zero")
    done, value = _finishes(lambda: load_brief(tmp_path / "zero.yaml"))
    assert done and isinstance(value, InputError) and "device" in str(value)


def test_cli_cutout_of_dev_zero_fails_that_input_only(tmp_path):
    good = tmp_path / "good.png"
    save_image(good, np.full((64, 64, 3), 0.5, np.float32))
    res = CliRunner().invoke(app, ["cutout", "/dev/zero", "--out", str(tmp_path / "out"), "--max-pixels", "1000000"])
    assert res.exit_code == 1, res.output
    assert "/dev/zero" in res.output and "device" in res.output


# ------------------------------------------------------------------ item 11: YAML aliases and depth
def _laughs(levels=9, width=9) -> str:
    lines = ["name: laughs", "description:", "  a0: &a0 [" + ",".join(["lol"] * width) + "]"]
    for i in range(1, levels):
        lines.append(f"  a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * width) + "]")
    lines += ["scenes:", "  - name: hero", "    preset: studio-white"]
    return "\n".join(lines) + "\n"


def test_alias_bomb_brief_is_refused_quickly(tmp_path):
    from packshot.condition import load_brief

    brief = tmp_path / "bomb.yaml"
    brief.write_text(_laughs())
    assert len(brief.read_bytes()) < 800
    start = time.perf_counter()
    done, value = _finishes(lambda: load_brief(brief), timeout=20)
    assert done, "the alias bomb is still expanding"
    assert time.perf_counter() - start < 5
    assert isinstance(value, InputError) and str(brief) in str(value) and "alias" in str(value)


def test_self_referencing_alias_is_an_error_not_a_recursion_error(tmp_path):
    from packshot.condition import load_brief

    brief = tmp_path / "loop.yaml"
    brief.write_text("description: &a [*a]\nscenes:\n  - name: hero\n")
    with pytest.raises(InputError, match="contains itself") as info:
        load_brief(brief)
    assert str(brief) in str(info.value)


def test_nesting_depth_is_limited_in_yaml_and_json(tmp_path):
    deep = "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)
    with pytest.raises(DocumentError, match="deeper than"):
        parse_yaml(f"description: {deep}\n", "b.yaml")
    with pytest.raises(DocumentError, match="deeper than"):
        parse_json("[" * 100_000 + "]" * 100_000, "m.json")  # would be a RecursionError
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"skus": [{"id": "a"}]}))
    assert load_document(manifest, "manifest") == ({"skus": [{"id": "a"}]}, manifest.read_bytes())


def test_ordinary_aliases_and_merge_keys_still_work():
    data = parse_yaml("base: &b {sizes: ['1:1'], seed: 3}\nscenes:\n  - {<<: *b, name: hero}\n  - {<<: *b, name: mood}\n")
    assert data["scenes"][1] == {"sizes": ["1:1"], "seed": 3, "name": "mood"}
    # a moderate expansion under the budget is fine
    parse_yaml(_laughs(levels=4, width=9))
    assert 9 ** 4 < MAX_ALIAS_NODES < 9 ** 9


def test_profile_yaml_goes_through_the_same_loader(tmp_path):
    from packshot.export.compliance.profiles import load_profile

    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(_laughs().replace("scenes:", "x:"))
    done, value = _finishes(lambda: load_profile(bomb), timeout=20)
    assert done and isinstance(value, InputError) and "alias" in str(value)


def test_decompression_bomb_warning_never_reaches_the_terminal(tmp_path):
    """Pillow warns between its two limits; packshot's own limit applies, the warning is noise."""
    code = (
        "import io, PIL.Image as I\n"
        "from packshot.imaging import decode_image\n"
        "I.MAX_IMAGE_PIXELS = 2000\n"  # a 40 x 40 image (1600 px) is now above Pillow's warning level
        "b = io.BytesIO(); I.new('RGB', (40, 40)).save(b, 'PNG')\n"
        "print(decode_image(b.getvalue(), 'x.png').size)\n"
        "I.MAX_IMAGE_PIXELS = 1000\n"
        "print(decode_image(b.getvalue(), 'x.png').size)\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run([sys.executable, "-W", "default", "-c", code], capture_output=True, text=True, env=env,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["(40,", "40)", "(40,", "40)"]
    assert "DecompressionBomb" not in out.stderr, out.stderr


def test_every_reader_refuses_a_device(tmp_path):
    """Cut-outs, maps, sidecars, metadata and export checks read through the same bounded reader."""
    from packshot.export.compliance.check import check_image
    from packshot.export.delivery.metadata import read_metadata
    from packshot.export.compliance.profiles import get_profile
    from packshot.render.io import read_sidecar
    from packshot.segment.io import load_cutout
    from packshot.understand.io import load_maps

    (tmp_path / "maps").mkdir()
    (tmp_path / "maps" / "maps.json").symlink_to("/dev/zero")
    for name in ("cut.png", "v0.json", "meta.jpg", "check.jpg"):
        (tmp_path / name).symlink_to("/dev/zero")
    calls = [
        lambda: load_cutout(tmp_path / "cut.png"),
        lambda: load_maps(tmp_path / "maps"),
        lambda: read_sidecar(tmp_path / "v0.json"),
        lambda: read_metadata(tmp_path / "meta.jpg"),
        lambda: check_image(tmp_path / "check.jpg", get_profile("amazon-main")),
    ]
    for call in calls:
        done, value = _finishes(call)
        assert done and isinstance(value, InputError) and "device" in str(value), value
