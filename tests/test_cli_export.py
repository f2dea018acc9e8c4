"""``export_frames`` and ``packshot export``: end to end, bad input, partial failures."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from typer.testing import CliRunner

from packshot.cli import app
from packshot.cli.export import _storage_options
from packshot.errors import InputError
from packshot.export.delivery.deliver import collect_frames, export_frames, plan_fixes
from packshot.export.delivery.metadata import read_metadata
from packshot.export.compliance.profiles import Profile, get_profile
from packshot.export.delivery.routing import DestinationError
from packshot.imaging import resize_linear, save_gray, save_image

IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"


def write_frame(root: Path, sku: str, scene: str, variant: str, kind: str = "embedded", seed: int = 0,
                size=(160, 120)) -> Path:
    """A frame in the render layout: <sku>/<scene>/<variant>.png + .json + _alpha.png."""
    w, h = size
    rng = np.random.default_rng(seed)
    rgb = np.ones((h, w, 3), np.float32)
    alpha = np.zeros((h, w), np.float32)
    y0, y1, x0, x1 = h // 6, h - h // 6, w // 3, w - w // 3
    rgb[y0:y1, x0:x1] = 0.1 + rng.random(3, dtype=np.float32) * 0.6
    alpha[y0:y1, x0:x1] = 1.0
    folder = root / sku / scene
    save_image(folder / f"{variant}.png", rgb)
    save_gray(folder / f"{variant}_alpha.png", alpha)
    sidecar = folder / f"{variant}.json"
    sidecar.write_text(json.dumps({
        "sku": sku, "scene": scene, "variant": variant, "size": [w, h], "product_box": [x0, y0, x1, y1],
        "product_alpha": f"{variant}_alpha.png", "cutout": None, "source_kind": kind,
        "placement": {"matrix": [[1, 0, 0], [0, 1, 0]], "center": [w / 2, h / 2], "scale": 1.0, "rotation": 0.0},
        "provenance": {"stage": "render", "seed": seed},
    }))
    return sidecar


class CountingFixer:
    """A stand-in fixer for API tests: fit the frame into the profile's size on white; counts calls."""

    def __init__(self, fail_for: str | None = None):
        self.calls: list[str] = []
        self.fail_for = fail_for

    def __call__(self, rgb, alpha, profile):
        self.calls.append(profile.name)
        if profile.name == self.fail_for:
            raise InputError(f"profile '{profile.name}'", "injected fixer failure")
        w, h = profile.size
        H, W = rgb.shape[:2]
        s = min(w / W, h / H)
        nw, nh = max(1, round(W * s)), max(1, round(H * s))
        out = np.ones((h, w, 3), np.float32)
        x0, y0 = (w - nw) // 2, (h - nh) // 2
        out[y0:y0 + nh, x0:x0 + nw] = resize_linear(rgb, (nw, nh))
        return SimpleNamespace(rgb=out, alpha=None, provenance={"fixer": "contain"}, upscaled=s > 1)


SQUARE_L = Profile(name="square-l", size=(200, 200), formats=("JPEG",))
SQUARE_S = Profile(name="square-s", size=(100, 100), formats=("WEBP",))
PORTRAIT = Profile(name="portrait", size=(96, 120), aspect=0.8, formats=("PNG",))
WHITE = Profile(name="white", size=(150, 150), background="white", fill_target=0.88, fill_min=0.85,
                formats=("JPEG",))


@pytest.fixture
def frames(tmp_path):
    root = tmp_path / "frames"
    return [write_frame(root, "SKU-1", "studio", "v0", "diffusion", 0),
            write_frame(root, "SKU-1", "kitchen", "v0", "embedded", 1),
            write_frame(root, "SKU-2", "studio", "v0", "capture", 2)]


# ------------------------------------------------------------------------------------------------
# export_frames
# ------------------------------------------------------------------------------------------------
def test_export_names_sizes_tags_and_manifest(frames, tmp_path):
    fixer = CountingFixer()
    out = tmp_path / "out"
    result = export_frames(frames, [SQUARE_L, SQUARE_S, PORTRAIT, WHITE], out, fixer=fixer,
                           public_url="https://cdn.test/p", feed=["google", "meta"])
    assert result.ok, result.failures
    assert len(result.files) == 12
    # square-s shares square-l's fix (same aspect and rules): 3 fixer calls per frame, not 4
    assert len(fixer.calls) == 9 and "square-s" not in fixer.calls
    kinds = {"SKU-1/studio/v0": "compositeWithTrainedAlgorithmicMedia", "SKU-1/kitchen/v0": "compositeSynthetic",
             "SKU-2/studio/v0": "digitalCapture"}
    for f in result.files:
        path = out / f.path
        assert path.name == f"{f.sku}_{f.scene}_{f.variant}_{f.profile}.{ {'JPEG': 'jpg', 'PNG': 'png', 'WEBP': 'webp'}[f.format] }"
        meta = read_metadata(path)
        assert meta.size == (f.width, f.height) == {"square-l": (200, 200), "square-s": (100, 100),
                                                    "portrait": (96, 120), "white": (150, 150)}[f.profile]
        assert meta.digital_source_type == IPTC + kinds[f.frame]
        assert meta.provenance_digest == f.provenance_digest and meta.has_srgb_icc
        assert f.public_url == f"https://cdn.test/p/{f.path}"
    manifest = json.loads((out / "packshot-manifest.json").read_text())
    assert len(manifest["files"]) == 12 and manifest["failures"] == []
    assert {Path(u).name for u in manifest["feeds"]} == {"google_merchant_images.tsv", "meta_catalogue_images.csv"}
    rows = (out / "feeds" / "google_merchant_images.tsv").read_text().splitlines()
    assert rows[0] == "id\timage_link\tadditional_image_link" and len(rows) == 3


def test_same_inputs_give_the_same_bytes(frames, tmp_path):
    a = export_frames(frames[:1], [SQUARE_L, PORTRAIT], tmp_path / "a", fixer=CountingFixer())
    b = export_frames(frames[:1], [SQUARE_L, PORTRAIT], tmp_path / "b", fixer=CountingFixer())
    assert [f.sha256 for f in a.files] == [f.sha256 for f in b.files]


def test_a_bad_frame_among_good_ones(frames, tmp_path):
    broken_png = write_frame(tmp_path / "frames", "SKU-3", "studio", "v0")
    broken_png.with_suffix(".png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    no_alpha = write_frame(tmp_path / "frames", "SKU-4", "studio", "v0")
    (no_alpha.parent / "v0_alpha.png").unlink()
    not_json = tmp_path / "frames" / "notes.json"
    not_json.write_text("{not json")
    items = [frames[0], broken_png, no_alpha, not_json, frames[2]]
    result = export_frames(items, [SQUARE_L], tmp_path / "out", fixer=CountingFixer())
    assert [f.sku for f in result.files] == ["SKU-1", "SKU-2"]
    assert [Path(f.source) for f in result.failures] == [broken_png, no_alpha, not_json]
    assert all(f.profile is None for f in result.failures)
    assert "v0.png" in result.failures[0].error and "v0_alpha.png" in result.failures[1].error
    manifest = json.loads((tmp_path / "out" / "packshot-manifest.json").read_text())
    assert len(manifest["failures"]) == 3 and len(manifest["files"]) == 2


def test_unknown_profile_fails_before_anything_is_written(frames, tmp_path):
    with pytest.raises(InputError, match="unknown profile 'amazon-mian'.*amazon-main"):
        export_frames(frames, ["amazon-main", "amazon-mian"], tmp_path / "out", fixer=CountingFixer())
    assert not (tmp_path / "out").exists()


def test_unwritable_destination_is_named(frames, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(DestinationError, match=f"{blocker}/out.*cannot write"):
        export_frames(frames, [SQUARE_L], blocker / "out", fixer=CountingFixer())


def test_unwritable_part_of_the_destination_fails_alone(frames, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "portrait").write_text("a file where the portrait folder should be")
    result = export_frames(frames, [SQUARE_L, PORTRAIT], out, template="{profile}/{sku}_{scene}.{ext}",
                           fixer=CountingFixer())
    assert len(result.files) == 3 and {f.profile for f in result.files} == {"square-l"}
    assert len(result.failures) == 3 and {f.profile for f in result.failures} == {"portrait"}
    assert all(str(out / "portrait") in f.error for f in result.failures)
    assert (out / "square-l" / "SKU-1_studio.jpg").exists()


def test_fixer_failure_for_one_profile_spares_the_others(frames, tmp_path):
    result = export_frames(frames[:1], [SQUARE_L, PORTRAIT], tmp_path / "out", fixer=CountingFixer("portrait"))
    assert [f.profile for f in result.files] == ["square-l"]
    assert [(f.profile, "injected fixer failure" in f.error) for f in result.failures] == [("portrait", True)]


def test_collisions_suffix_or_error(frames, tmp_path):
    ok = export_frames(frames, [SQUARE_L], tmp_path / "a", template="{sku}.{ext}", fixer=CountingFixer())
    assert [f.path for f in ok.files] == ["SKU-1.jpg", "SKU-1-2.jpg", "SKU-2.jpg"]
    strict = export_frames(frames, [SQUARE_L], tmp_path / "b", template="{sku}.{ext}", on_collision="error",
                           fixer=CountingFixer())
    assert [f.path for f in strict.files] == ["SKU-1.jpg", "SKU-2.jpg"]
    (failure,) = strict.failures
    assert "would both be written to 'SKU-1.jpg'" in failure.error


def test_byte_limit_steps_quality_down_or_fails(frames, tmp_path):
    noisy = tmp_path / "noisy.png"
    rng = np.random.default_rng(0)
    save_image(noisy, rng.random((200, 200, 3), dtype=np.float32))
    roomy = Profile(name="roomy", size=(200, 200), formats=("JPEG",), jpeg_quality=95)
    first = export_frames([noisy], [roomy], tmp_path / "probe", fixer=CountingFixer()).files[0]
    limited = Profile(name="limited", size=(200, 200), formats=("JPEG",), jpeg_quality=95,
                      max_bytes=int(first.bytes * 0.8))
    res = export_frames([noisy], [limited], tmp_path / "limited", fixer=CountingFixer())
    assert res.ok, res.failures
    assert res.files[0].bytes <= limited.max_bytes and res.files[0].quality < 95
    tiny = Profile(name="tiny", size=(200, 200), formats=("JPEG",), max_bytes=1000)
    res = export_frames([noisy], [tiny], tmp_path / "tiny", fixer=CountingFixer())
    assert not res.files and "over the profile's limit of 1,000 bytes" in res.failures[0].error


def test_fix_plan_groups_by_rules_not_by_size():
    groups = plan_fixes([SQUARE_S, PORTRAIT, SQUARE_L, WHITE])
    by_largest = {largest.name: [m.name for m in members] for largest, members in groups}
    assert by_largest == {"square-l": ["square-s", "square-l"], "portrait": ["portrait"], "white": ["white"]}


def test_collect_frames_finds_sidecars_only(frames, tmp_path):
    (tmp_path / "frames" / "SKU-1" / "studio" / "qa.json").write_text(json.dumps({"verdict": "pass"}))
    assert collect_frames([tmp_path / "frames"]) == sorted(frames)
    with pytest.raises(InputError, match="does not exist"):
        collect_frames([tmp_path / "nope"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no frame sidecar"):
        collect_frames([tmp_path / "empty"])
    (tmp_path / "cutouts" / "sub").mkdir(parents=True)
    save_image(tmp_path / "cutouts" / "b.png", np.ones((8, 8, 3), np.float32))
    save_image(tmp_path / "cutouts" / "sub" / "a.jpg", np.ones((8, 8, 3), np.float32))
    (tmp_path / "cutouts" / "notes.txt").write_text("x")
    assert collect_frames([tmp_path / "cutouts"]) == [tmp_path / "cutouts" / "b.png", tmp_path / "cutouts" / "sub" / "a.jpg"]


def test_storage_option_parsing():
    opts = _storage_options(["key=testing", "client_kwargs.endpoint_url=http://127.0.0.1:9", "anon=false"],
                            '{"secret": "s"}')
    assert opts == {"secret": "s", "key": "testing", "anon": False,
                    "client_kwargs": {"endpoint_url": "http://127.0.0.1:9"}}


# ------------------------------------------------------------------------------------------------
# the command line, with the real fixer and YAML profiles small enough for a fast test
# ------------------------------------------------------------------------------------------------
@pytest.fixture
def small_profiles(tmp_path):
    main = tmp_path / "mini-main.yaml"
    main.write_text("extends: amazon-main\nsize: [320, 320]\nmin_longest_side: 100\nrecommended_longest_side: 300\n")
    square = tmp_path / "mini-square.yaml"
    square.write_text("extends: meta-square\nsize: [240, 240]\n")
    return [main, square]


def _run(args):
    return CliRunner().invoke(app, ["export", *map(str, args)])


def test_cli_exports_frames_folder_with_feed(tmp_path, small_profiles):
    for i, sku in enumerate(["SKU-1", "SKU-2"]):
        write_frame(tmp_path / "frames", sku, "studio", "v0", "embedded", i, size=(256, 256))
    out = tmp_path / "out"
    res = _run([tmp_path / "frames", "--profile", small_profiles[0], "--profile", small_profiles[1], "--dest", out,
                "--feed", "google", "--public-url", "https://cdn.test/x"])
    assert res.exit_code == 0, res.output
    names = sorted(p.name for p in out.glob("*.jpg"))
    assert names == ["SKU-1_studio_v0_mini-main.jpg", "SKU-1_studio_v0_mini-square.jpg",
                     "SKU-2_studio_v0_mini-main.jpg", "SKU-2_studio_v0_mini-square.jpg"]
    assert read_metadata(out / names[0]).size == (320, 320)
    assert "4 files" in res.output
    feed = (out / "feeds" / "google_merchant_images.tsv").read_text()
    # no google profile among these: the feed lists the first profile's files
    assert feed.splitlines()[1] == "SKU-1\thttps://cdn.test/x/SKU-1_studio_v0_mini-main.jpg\t"
    assert json.loads((out / "packshot-manifest.json").read_text())["profiles"] == ["mini-main", "mini-square"]


def test_cli_fixed_amazon_frame_passes_the_amazon_check(tmp_path, small_profiles):
    from packshot.export.compliance.check import check_image

    frame = write_frame(tmp_path / "frames", "SKU-1", "studio", "v0", size=(256, 256))
    out = tmp_path / "out"
    res = _run([frame, "--profile", small_profiles[0], "--dest", out])
    assert res.exit_code == 0, res.output
    report = check_image(out / "SKU-1_studio_v0_mini-main.jpg", get_profile(small_profiles[0]))
    assert report.passed, report


def test_cli_bad_frame_among_good_ones_exits_1(tmp_path, small_profiles):
    good = write_frame(tmp_path / "frames", "SKU-1", "studio", "v0", size=(256, 256))
    bad = write_frame(tmp_path / "frames", "SKU-9", "studio", "v0", size=(256, 256))
    bad.with_suffix(".png").write_bytes(b"not a png")
    res = _run([good, bad, "--profile", small_profiles[1], "--dest", tmp_path / "out"])
    assert res.exit_code == 1
    assert "SKU-9" in res.output and "failed" in res.output
    assert (tmp_path / "out" / "SKU-1_studio_v0_mini-square.jpg").exists()


def test_cli_unknown_profile_exits_2(tmp_path):
    frame = write_frame(tmp_path / "frames", "SKU-1", "studio", "v0")
    res = _run([frame, "--profile", "amazon-mian", "--dest", tmp_path / "out"])
    assert res.exit_code == 2
    assert "unknown profile 'amazon-mian'" in res.output


def test_cli_unwritable_destination_exits_2_naming_it(tmp_path, small_profiles):
    frame = write_frame(tmp_path / "frames", "SKU-1", "studio", "v0")
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    res = _run([frame, "--profile", small_profiles[1], "--dest", blocker / "out"])
    assert res.exit_code == 2
    assert str(blocker / "out") in res.output.replace("\n", "")


def test_cli_feed_without_public_url_exits_2(tmp_path, small_profiles):
    frame = write_frame(tmp_path / "frames", "SKU-1", "studio", "v0")
    res = _run([frame, "--profile", small_profiles[1], "--dest", tmp_path / "out", "--feed", "meta"])
    assert res.exit_code == 2 and "--public-url" in res.output


def test_smaller_size_resampled_from_a_shared_fix_still_passes_its_check(tmp_path):
    """Two white-background profiles that differ only in size share one fix; the smaller one is
    resampled from the larger and must still pass its own compliance check."""
    from packshot.export.compliance.check import check_image
    from packshot.export.compliance.profiles import profile_from_dict

    large = profile_from_dict({"name": "white-l", "extends": "amazon-main", "size": [400, 400], "min_longest_side": 100})
    small = profile_from_dict({"name": "white-s", "extends": "amazon-main", "size": [300, 300], "min_longest_side": 100})
    frame = write_frame(tmp_path / "frames", "SKU-1", "studio", "v0", size=(256, 256))
    result = export_frames([frame], [large, small], tmp_path / "out")
    assert result.ok, result.failures
    (fix_of_small,) = [f for f in result.files if f.profile == "white-s"]
    assert fix_of_small.provenance["params"]["resampled_from"] == [400, 400]
    for f, profile in zip(result.files, (large, small)):
        report = check_image(tmp_path / "out" / f.path, profile)
        assert report.passed, report


def test_exporting_again_overwrites_in_place(frames, tmp_path):
    first = export_frames(frames, [SQUARE_L], tmp_path / "out", fixer=CountingFixer())
    again = export_frames(frames, [SQUARE_L], tmp_path / "out", fixer=CountingFixer())
    assert [f.path for f in again.files] == [f.path for f in first.files]  # no -2 suffixes across runs
    assert sorted(p.name for p in (tmp_path / "out").glob("*.jpg")) == sorted(f.path for f in first.files)


def test_in_memory_render_frames_are_exported(tmp_path):
    from packshot.types import Frame, Light, Placement, SceneSpec

    rgb = np.ones((90, 120, 3), np.float32)
    rgb[20:70, 40:80] = 0.2
    alpha = np.zeros((90, 120), np.float32)
    alpha[20:70, 40:80] = 1.0
    spec = SceneSpec(sku="SKU-7", scene="garden", variant=2, canvas=(120, 90), placement=Placement((60, 45), 1.0),
                     light=Light(), preset="studio", backdrop={}, floor_y=70.0, floor_gloss=0.0)
    frame = Frame(rgb=rgb, product_alpha=alpha, product_box=(40, 20, 80, 70), spec=spec, source_kind="diffusion",
                  provenance={"render": {"backend": "test"}})
    result = export_frames([frame], [SQUARE_L], tmp_path / "out", fixer=CountingFixer())
    assert result.ok, result.failures
    (f,) = result.files
    assert f.path == "SKU-7_garden_v2_square-l.jpg"
    assert read_metadata(tmp_path / "out" / f.path).digital_source_type == IPTC + "compositeWithTrainedAlgorithmicMedia"
    assert f.provenance["frame"] == {"render": {"backend": "test"}}
