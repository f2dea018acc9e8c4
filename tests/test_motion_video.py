"""motion: the encoder's files read back by PyAV, video profiles failing and fixed, the pipeline's clip files."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

av = pytest.importorskip("av")

from packshot.motion.encode import ClipWriter, read_clip_facts, read_frames  # noqa: E402


def _frames(n, size=(64, 112), seed=0):
    rng = np.random.default_rng(seed)
    w, h = size
    base = np.linspace(0.05, 0.9, w, dtype=np.float32)[None, :, None] * np.ones((h, 1, 3), np.float32)
    out = []
    for i in range(n):
        f = base.copy()
        f[h // 3: 2 * h // 3, 8 + i: 24 + i] = (0.8, 0.1, 0.05)
        out.append(np.clip(f + rng.normal(0, 0.002, f.shape).astype(np.float32), 0, 1))
    return out


@pytest.mark.parametrize("fps", [10, 24])
def test_the_encoder_writes_files_pyav_reads_back(tmp_path, fps):
    frames = _frames(7)
    paths = [tmp_path / "c.mp4", tmp_path / "c.webm"]
    with ClipWriter(paths, (64, 112), fps) as w:
        for f in frames:
            w.write(f)
    mp4, webm = read_clip_facts(paths[0]), read_clip_facts(paths[1])
    for facts, codec in ((mp4, "h264"), (webm, "vp9")):
        assert (facts.width, facts.height, facts.frames, facts.codec, facts.pix_fmt) == (64, 112, 7, codec, "yuv420p")
        assert facts.fps == pytest.approx(fps)
        assert facts.duration_s == pytest.approx(7 / fps, abs=1e-3)
        assert not facts.has_audio
    assert mp4.faststart is True and webm.faststart is None
    # the decoded frames are the frames (8-bit sRGB, through 4:2:0 and the codec)
    from packshot.imaging import linear_to_srgb8

    decoded = read_frames(paths[0], [3])[0].astype(np.float32)
    want = linear_to_srgb8(frames[3], dither=False).astype(np.float32)
    assert np.abs(decoded - want).mean() < 3.0
    assert not list(tmp_path.glob(".*"))  # no temporary files left


def test_same_frames_give_the_same_bytes(tmp_path):
    frames = _frames(4)
    digests = []
    for run in range(2):
        paths = [tmp_path / f"{run}.mp4", tmp_path / f"{run}.webm"]
        with ClipWriter(paths, (64, 112), 12) as w:
            for f in frames:
                w.write(f)
        digests.append([p.read_bytes() for p in paths])
    assert digests[0] == digests[1]


def test_bad_frames_leave_no_file(tmp_path):
    path = tmp_path / "c.mp4"
    with pytest.raises(ValueError, match="even"):
        ClipWriter([path], (65, 112), 12)
    with pytest.raises(ValueError, match="frame 1 is 64x110"):
        with ClipWriter([path], (64, 112), 12) as w:
            w.write(_frames(1)[0])
            w.write(np.zeros((110, 64, 3), np.float32))
    assert not path.exists() and not list(tmp_path.iterdir())
    with pytest.raises(ValueError, match="unknown video suffix"):
        ClipWriter([tmp_path / "c.avi"], (64, 112), 12)


def test_a_broken_file_is_an_input_error(tmp_path):
    from packshot.errors import InputError

    bad = tmp_path / "x.mp4"
    bad.write_bytes(b"not a video at all")
    with pytest.raises(InputError, match="x.mp4"):
        read_clip_facts(bad)


# ----------------------------------------------------------------------------------- profiles
def _clip(tmp_path, size=(72, 128), n=10, fps=10, name="c.mp4"):
    p = tmp_path / name
    with ClipWriter([p], size, fps) as w:
        for f in _frames(n, size):
            w.write(f)
    return p


def test_a_profile_rule_fails_and_the_fixer_fixes_it(tmp_path):
    from packshot.export.compliance.video_profiles import VIDEO_PROFILES, check_clip, fix_clip

    # tiktok's rules at a test-sized frame: 9:16, at least 5 s, a bitrate floor, audio recommended
    small = dataclasses.replace(VIDEO_PROFILES["tiktok"], name="tiktok-small", size=(144, 256), min_width=144,
                                min_height=256, recommended_size=None, min_bitrate=200_000)
    clip = _clip(tmp_path, size=(96, 96), n=10, fps=10)  # square, 1 s, small, quiet
    report = check_clip(clip, small)
    failed = {r.rule for r in report.failures}
    assert {"aspect", "min-size", "min-duration", "min-bitrate"} <= failed
    assert report.rule("audio").status == "warn"
    fixed = fix_clip(clip, small, tmp_path / "fixed.mp4")
    assert fixed.report.passed, [r.to_dict() for r in fixed.report.failures]
    facts = read_clip_facts(fixed.path)
    assert (facts.width, facts.height) == (144, 256) and facts.duration_s >= 5.0 and facts.has_audio
    assert facts.faststart is True
    # padding, not cropping: the first frame's middle is the original picture, bars above and below
    first = read_frames(fixed.path, [0])[0]
    assert first.shape == (256, 144, 3)
    assert first[:40].astype(float).std(axis=(0, 1)).max() < 4.0  # a plain bar above the picture
    assert first[100:156].astype(float).std() > 20.0  # the picture itself (gradient and red block)
    assert any("padded" in a for a in fixed.actions) and any("held" in a for a in fixed.actions)


def test_a_long_landscape_clip_is_trimmed_and_padded_for_shorts(tmp_path):
    from packshot.export.compliance.video_profiles import VIDEO_PROFILES, check_clip, fix_clip

    shorts = dataclasses.replace(VIDEO_PROFILES["youtube-shorts"], size=(72, 128), max_seconds=1.0)
    clip = _clip(tmp_path, size=(128, 72), n=15, fps=10)
    report = check_clip(clip, shorts)
    assert report.rule("aspect").status == "fail" and report.rule("max-duration").status == "fail"
    fixed = fix_clip(clip, shorts, tmp_path / "short.mp4")
    assert fixed.report.passed
    facts = read_clip_facts(fixed.path)
    # Shorts takes 9:16 or 1:1: the nearest of them (square) needs the least padding
    assert facts.frames == 10 and (facts.width, facts.height) == (128, 128)


def test_cli_check_takes_clips_and_fixes_them(tmp_path):
    from typer.testing import CliRunner

    from packshot.cli import app

    clip = _clip(tmp_path, size=(128, 72), n=6, fps=10)
    runner = CliRunner()
    res = runner.invoke(app, ["check", str(clip), "-p", "youtube-shorts", "--json"])
    assert res.exit_code == 1, res.output
    (doc,) = [json.loads(line) for line in res.stdout.splitlines()]  # one JSON object per clip and profile
    assert doc["profile"] == "youtube-shorts" and not doc["passed"]
    assert any(r["rule"] == "aspect" and r["status"] == "fail" for r in doc["rules"])
    res = runner.invoke(app, ["check", str(clip), "-p", "youtube-shorts", "--fix-to", str(tmp_path / "fixed"), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["fixed"]["passed"] is True
    res = runner.invoke(app, ["check", str(clip), "-p", "amazon-main"])
    assert res.exit_code == 2 and "video profile" in res.output


# ----------------------------------------------------------------------------------- pipeline
def test_run_writes_the_clip_beside_the_still_and_resumes(tmp_path):
    from packshot.condition import parse_brief
    from packshot.pipeline import RunConfig, process_photo
    from packshot.qa.frames import is_sidecar
    from packshot.samples import make_product, write_sample

    sample = write_sample(make_product("box", seed=1, size=(160, 160)), tmp_path / "in")
    brief = parse_brief({"scenes": [{"name": "story", "sizes": ["96x160"],
                                     "motion": {"kind": ["push-in", "light-sweep"], "seconds": 0.5, "fps": 8}}]})
    result = process_photo(sample["photo"], brief, tmp_path / "out", sku="box", config=RunConfig())
    folder = tmp_path / "out" / "box" / "story"
    names = sorted(p.name for p in folder.iterdir())
    assert {"v0.png", "v0.json", "v0.mp4", "v0.webm", "v0.poster.jpg", "v0.clip.json"} <= set(names)
    assert result.clips == [folder / "v0.mp4"]
    assert result.verdicts[str(folder / "v0.mp4")] in ("pass", "review")
    record = json.loads((folder / "v0.clip.json").read_text())
    assert record["motion"]["kinds"] == ["push-in", "light-sweep"] and record["frames"] == 4
    assert record["qa"]["temporal"]["checks"]["jitter"]["max_px"] <= 0.5
    assert not is_sidecar(folder / "v0.clip.json")  # never taken for a still frame's sidecar
    facts = read_clip_facts(folder / "v0.mp4")
    assert (facts.width, facts.height, facts.frames, facts.fps) == (96, 160, 4, 8.0)
    mtime = (folder / "v0.mp4").stat().st_mtime_ns
    again = process_photo(sample["photo"], brief, tmp_path / "out", sku="box", config=RunConfig())
    assert (folder / "v0.mp4").stat().st_mtime_ns == mtime and again.clips == [folder / "v0.mp4"]


def test_the_contact_sheet_plays_the_clip(tmp_path):
    from packshot.demo import build_contact_sheet

    clip = {"sku": "bottle-000", "mp4": "clips/b/story/v0.mp4", "webm": "clips/b/story/v0.webm",
            "poster": "clips/b/story/v0.poster.jpg", "verdict": "pass", "frames": 48,
            "motion": {"kinds": ["parallax", "light-sweep"]}, "flicker": 0.1, "jitter": 0.05}
    index = build_contact_sheet(tmp_path, [], [], [clip]).read_text()
    assert "<video" in index and "v0.webm" in index and "v0.mp4" in index and "poster='clips/b/story/v0.poster.jpg'" in index


def test_the_fast_srgb_table_matches_imaging_and_clamps():
    from packshot.imaging import linear_to_srgb8
    from packshot.motion.encode import linear_to_srgb8_fast

    x = np.concatenate([np.linspace(-0.5, 5.0, 3000, dtype=np.float32),
                        np.random.default_rng(1).random(30000, dtype=np.float32)]).reshape(-1, 10, 3)
    fast = linear_to_srgb8_fast(x).astype(int)
    exact = linear_to_srgb8(np.clip(x, 0, 1), dither=False).astype(int)
    assert np.abs(fast - exact).max() <= 1 and (fast != exact).mean() < 0.01
    assert fast.min() == 0 and fast.max() == 255


def test_cli_check_of_a_folder_takes_the_files_its_profiles_are_for(tmp_path):
    from typer.testing import CliRunner

    from packshot.cli import app
    from packshot.imaging import save_image

    folder = tmp_path / "scene"
    _clip(folder, size=(72, 128), n=6, fps=10, name="v0.mp4")
    save_image(folder / "v0.png", np.full((128, 72, 3), 0.5, np.float32))
    runner = CliRunner()
    images_only = runner.invoke(app, ["check", str(folder), "-p", "meta-square", "--json"])
    assert [Path(json.loads(d)["source"]).name for d in images_only.stdout.splitlines()] == ["v0.png"]
    clips_only = runner.invoke(app, ["check", str(folder), "-p", "youtube-shorts", "--json"])
    assert [Path(json.loads(d)["source"]).name for d in clips_only.stdout.splitlines()] == ["v0.mp4"]
