"""Hostile inputs at the command line (issue 8, items 12, 15, 17, 18): clear errors instead of
tracebacks, names validated by full match, GIFs, messages printed verbatim, no stray manifest."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from packshot.cli import app
from packshot.errors import InputError, PackshotWarning
from packshot.imaging import linear_to_srgb8, load_image, save_image
from packshot.samples import make_product

from test_cli_export import write_frame


def invoke(*args):
    return CliRunner().invoke(app, [*map(str, args)])


def assert_clean_exit(res, code):
    """The command ended with ``code`` through typer, not with an exception escaping it."""
    assert res.exit_code == code, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    assert "Traceback" not in res.output


@pytest.fixture(scope="module")
def photo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("photo")
    can = make_product("can", seed=1, size=(160, 128), noise=0.01)
    save_image(folder / "can.png", can.image)
    return folder / "can.png"


@pytest.fixture(scope="module")
def cutout_png(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cut")
    rgb = np.full((96, 96, 3), 0.4, np.float32)
    alpha = np.zeros((96, 96), np.float32)
    alpha[20:80, 30:66] = 1.0
    save_image(folder / "jar_cutout.png", rgb, alpha=alpha)
    return folder / "jar_cutout.png"


# ----------------------------------------------------------------- item 12: tracebacks -> errors
@pytest.mark.parametrize("box", ["inf,0,10,10", "0,0,nan,10", "1e999,0,10,10", "-inf,0,10,10"])
def test_non_finite_box_is_an_option_error(tmp_path, photo, box):
    from packshot.cli.cutout import parse_box

    with pytest.raises(InputError, match="finite"):
        parse_box(box)
    res = invoke("cutout", photo, "--out", tmp_path / "out", "--box", box)
    assert_clean_exit(res, 2)
    assert "--box" in res.output and "finite" in res.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("point", ["inf,3", "3,nan", "3,-inf,0"])
def test_non_finite_point_is_an_option_error(tmp_path, photo, point):
    res = invoke("cutout", photo, "--out", tmp_path / "out", "--point", point)
    assert_clean_exit(res, 2)
    assert "--point" in res.output and "finite" in res.output


def test_segment_refuses_a_non_finite_box_from_the_api():
    from packshot.segment import check_prompt
    from packshot.types import Prompt

    with pytest.raises(InputError, match="finite"):
        check_prompt(Prompt(box=(math.inf, 0, 10, 10)), (64, 64))
    with pytest.raises(InputError, match="outside"):
        check_prompt(Prompt(points=((math.nan, 3.0, 1),)), (64, 64))


@pytest.fixture
def small_profile(tmp_path):
    p = tmp_path / "mini.yaml"
    p.write_text("extends: meta-square\nsize: [120, 120]\n")
    return p


@pytest.mark.parametrize("dest,needle", [
    ("ftp://127.0.0.1:1/x", "cannot reach"),
    ("http://127.0.0.1:1/x", "cannot be written"),
    ("zip://x", "cannot be written"),
    ("nosuchproto://x", "not a usable destination"),
])
def test_unreachable_or_unsupported_destination_is_a_clear_error(tmp_path, small_profile, dest, needle):
    frame = write_frame(tmp_path / "frames", "SKU-1", "studio", "v0")
    res = invoke("export", frame, "--profile", small_profile, "--dest", dest, "--retries", "1")
    assert_clean_exit(res, 2)
    assert needle in res.output and dest.split("://")[0] in res.output


def test_destination_api_raises_destination_error():
    from packshot.export.delivery.routing import Destination, DestinationError

    with pytest.raises(DestinationError, match="cannot reach this destination"):
        Destination("ftp://127.0.0.1:1/x")


# ---------------------------------------------------------------------- item 15: names, full match
@pytest.mark.parametrize("name", ["hero\n", "he\nro", "hero\t", "\x00hero", "hero\r"])
def test_scene_name_with_a_control_character_is_refused(name):
    from packshot.condition.brief import BriefError, parse_brief

    with pytest.raises(BriefError, match=r"scenes\[0\]\.name"):
        parse_brief({"scenes": [{"name": name, "preset": "studio-white"}]})


def test_scene_name_with_a_trailing_newline_from_yaml_is_refused(tmp_path):
    from packshot.condition import load_brief
    from packshot.condition.brief import BriefError

    brief = tmp_path / "b.yaml"
    brief.write_text('scenes:\n  - name: "hero\\n"\n    preset: studio-white\n')
    with pytest.raises(BriefError, match="name"):
        load_brief(brief)


@pytest.mark.parametrize("sku", ["a\nb", "sku\n", "a/b", "..", ".", "a\\b", "x" * 201, "-rf", "a\u202eb"])
def test_bad_sku_is_refused_by_condition_and_by_render(tmp_path, cutout_png, sku):
    from packshot.condition import condition
    from packshot.condition.brief import parse_brief

    brief = parse_brief({"scenes": [{"name": "hero", "preset": "studio-white", "sizes": ["64x64"]}]})
    with pytest.raises(InputError):
        condition(brief, None, None, sku)  # the name is checked before anything else
    (tmp_path / "brief.yaml").write_text("scenes:\n  - name: hero\n    preset: studio-white\n    sizes: ['64x64']\n")
    res = invoke("render", cutout_png, "--brief", tmp_path / "brief.yaml", "--out", tmp_path / "out", "--sku", sku)
    assert_clean_exit(res, 2)
    assert "--sku" in res.output
    assert not (tmp_path / "out").exists()


def test_unicode_skus_stay_allowed():
    from packshot.export.delivery.naming import check_sku

    for sku in ("日本", "crème-brûlée", "SKU_1.2", "_a"):
        assert check_sku(sku) == sku


def test_export_template_with_a_control_character_is_refused():
    from packshot.export.delivery.naming import validate_template

    with pytest.raises(InputError, match="control character"):
        validate_template("{sku}\n{scene}.{ext}")


# ------------------------------------------------------------------------------ item 17: GIFs
def _gif(path, frames=3):
    imgs = []
    for i in range(frames):
        prod = make_product("can", seed=3 + i, size=(96, 96), noise=0.0)
        imgs.append(Image.fromarray(linear_to_srgb8(prod.image, dither=False)).convert("P"))
    imgs[0].save(path, save_all=frames > 1, append_images=imgs[1:], duration=100, loop=0)
    return path


def test_folder_expansion_includes_gif(tmp_path):
    from packshot.cli._common import expand_inputs

    _gif(tmp_path / "a.gif", frames=1)
    (tmp_path / "notes.txt").write_text("x")
    assert expand_inputs([tmp_path]) == [tmp_path / "a.gif"]


def test_animated_gif_warns_that_only_the_first_frame_is_used(tmp_path):
    path = _gif(tmp_path / "anim.gif")
    with pytest.warns(PackshotWarning, match="first frame") as record:
        image = load_image(path)
    assert str(path) in str(record[0].message) and "3 frames" in str(record[0].message)
    assert image.size == (96, 96)
    with warnings.catch_warnings():
        warnings.simplefilter("error", PackshotWarning)
        load_image(_gif(tmp_path / "still.gif", frames=1))  # a still GIF: no warning


def test_cli_cutout_of_a_folder_with_an_animated_gif(tmp_path):
    (tmp_path / "in").mkdir()
    _gif(tmp_path / "in" / "anim.gif")
    res = invoke("cutout", tmp_path / "in", "--out", tmp_path / "out", "--segmenter", "u2netp")
    assert_clean_exit(res, 0)
    assert (tmp_path / "out" / "anim.png").exists()
    assert "warning" in res.output and "first frame" in res.output and "anim.gif" in res.output


# ------------------------------------------------------- item 18: verbatim messages, no stray files
def test_brief_error_keeps_its_brackets(tmp_path, cutout_png):
    (tmp_path / "brief.yaml").write_text("scenes:\n  - name: hero\n    sizes: ['big']\n")
    res = invoke("render", cutout_png, "--brief", tmp_path / "brief.yaml", "--out", tmp_path / "out")
    assert_clean_exit(res, 2)
    assert "[width, height]" in res.output, res.output


def test_failure_message_with_markup_like_text_is_printed_verbatim(tmp_path):
    bad = tmp_path / "[red]x [bold]y [link=z].png"
    bad.write_bytes(b"not an image")
    res = invoke("cutout", bad, "--out", tmp_path / "out", "--segmenter", "u2netp")
    assert_clean_exit(res, 1)
    assert "[red]x [bold]y [link=z].png" in res.output.replace("\n", "")


def test_memory_destination_writes_no_manifest_in_the_current_folder(tmp_path, small_profile, monkeypatch):
    frame = write_frame(tmp_path / "frames", "SKU-1", "studio", "v0")
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    res = invoke("export", frame, "--profile", small_profile, "--dest", "memory://hostile-test/out")
    assert_clean_exit(res, 0)
    assert list(cwd.iterdir()) == []
    import fsspec

    manifest = json.loads(fsspec.filesystem("memory").cat_file("/hostile-test/out/packshot-manifest.json"))
    assert manifest["files"]


def test_cli_modules_never_interpolate_into_rich_markup():
    """Item 18 as a rule: CLI messages carrying file names or errors go through print_error /
    print_info (printed verbatim); an f-string handed to Rich would read "[width, height]" or a
    file called "[red].png" as markup."""
    import re
    from pathlib import Path

    import packshot.cli as cli

    offenders = []
    for path in sorted(Path(cli.__file__).parent.glob("*.py")):
        for no, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"(err_console|console)\.print\(\s*f[\"']", line) and path.name != "_common.py":
                offenders.append(f"{path.name}:{no}: {line.strip()}")
    assert not offenders, "\n".join(offenders)
