"""Content Credentials, continued: feeds (alt text, sidecar links), motion clips (MP4 embedded,
WebM sidecar), catalogue exports signed."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

c2pa = pytest.importorskip("c2pa")
pytest.importorskip("cryptography")

from packshot.cli import app  # noqa: E402
from packshot.credentials import init_dev_credentials  # noqa: E402
from packshot.credentials.verify import verify_file  # noqa: E402
from packshot.export.delivery.deliver import export_frames  # noqa: E402
from packshot.export.delivery.feeds import FeedImage, build_feed  # noqa: E402
from packshot.export.compliance.profiles import Profile  # noqa: E402

from test_credentials import contain_fixer, write_frame  # noqa: E402

IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"
BASE = "https://cdn.example.com/p"


@pytest.fixture(scope="module")
def creds(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("creds")
    init_dev_credentials(folder)
    return folder


# ---------------------------------------------------------------------------------------------
# feeds
# ---------------------------------------------------------------------------------------------
def _rows(feed):
    return list(csv.reader(io.StringIO(feed.text), delimiter="\t" if feed.kind == "google" else ","))


def test_feed_without_alt_text_or_sidecars_keeps_its_columns():
    feed = build_feed("google", [FeedImage("A", "google-shopping", "a.jpg")], BASE)
    assert _rows(feed)[0] == ["id", "image_link", "additional_image_link"]


def test_feed_alt_text_and_sidecar_links_unit():
    images = [FeedImage("A", "google-shopping", "a 1.jpg", "Glue bottle\ton a\nmarble counter", "a 1.c2pa"),
              FeedImage("A", "google-shopping", "a2.jpg", "second", None),
              FeedImage("A", "google-shopping", "a3.jpg", "third", "a3.c2pa"),
              FeedImage("B", "google-shopping", "b.jpg", "", None)]
    for kind in ("google", "meta"):
        rows = _rows(build_feed(kind, images, BASE))
        assert rows[0] == ["id", "image_link", "additional_image_link", "image_alt_text", "c2pa_manifest_link",
                           "additional_c2pa_manifest_link"]
        assert rows[1] == ["A", f"{BASE}/a%201.jpg", f"{BASE}/a2.jpg,{BASE}/a3.jpg", "Glue bottle on a marble counter",
                           f"{BASE}/a%201.c2pa", f",{BASE}/a3.c2pa"]
        assert rows[2] == ["B", f"{BASE}/b.jpg", "", "", "", ""]


def test_exported_feed_carries_alt_text_and_sidecar_url(tmp_path, creds):
    sidecar = write_frame(tmp_path / "in")
    strip = Profile(name="google-shopping", size=(100, 100), formats=("JPEG",), keeps_metadata=False)
    keep = Profile(name="meta-square", size=(100, 100), formats=("JPEG",))
    out = tmp_path / "out"
    result = export_frames([sidecar], [strip, keep], out, fixer=contain_fixer, credentials=creds,
                           feed=["google", "meta"], public_url=BASE)
    assert result.ok, result.failures
    by = {f.profile: f for f in result.files}
    assert by["google-shopping"].alt_text and by["google-shopping"].c2pa_sidecar
    g = list(csv.DictReader((out / "feeds/google_merchant_images.tsv").read_text().splitlines(), delimiter="\t"))
    assert g[0]["image_alt_text"] == by["google-shopping"].alt_text
    assert g[0]["c2pa_manifest_link"] == f"{BASE}/{by['google-shopping'].c2pa_sidecar}"
    assert (out / by["google-shopping"].c2pa_sidecar).is_file()
    m = list(csv.DictReader((out / "feeds/meta_catalogue_images.csv").read_text().splitlines()))
    # meta-square keeps metadata: alt text, but no sidecar columns
    assert m[0]["image_alt_text"] == by["meta-square"].alt_text and "c2pa_manifest_link" not in m[0]


# ---------------------------------------------------------------------------------------------
# motion clips
# ---------------------------------------------------------------------------------------------
def _clip_beside(sidecar: Path, suffixes=(".mp4", ".webm"), size=(64, 48), n=6, fps=10) -> list[Path]:
    pytest.importorskip("av")
    from packshot.motion.encode import ClipWriter

    paths = [sidecar.with_suffix(s) for s in suffixes]
    w, h = size
    with ClipWriter(paths, size, fps) as writer:
        for i in range(n):
            frame = np.full((h, w, 3), 0.2, np.float32)
            frame[10:30, 5 + i * 4: 20 + i * 4] = (0.8, 0.1, 0.05)
            writer.write(frame)
    return paths


@pytest.mark.parametrize("kind", ["embedded", "diffusion"])
def test_clips_signed_mp4_embedded_webm_sidecar(tmp_path, creds, kind):
    from packshot.credentials.clip import sign_clip
    from packshot.motion.encode import read_clip_facts

    sidecar = write_frame(tmp_path / "in", kind=kind)
    mp4, webm = _clip_beside(sidecar)
    assert not verify_file(mp4).has_manifest and not verify_file(webm).has_manifest
    frames_before = read_clip_facts(mp4).frames
    assert sign_clip(mp4, creds) == mp4
    side = sign_clip(webm, creds)
    assert side == webm.with_name("v0.webm.c2pa") and side.is_file()
    # the still beside the clips is not read against the clip's sidecar
    still = verify_file(sidecar.with_suffix(".png"))
    assert not still.has_manifest and still.sidecar is None
    dst = IPTC + {"embedded": "compositeSynthetic", "diffusion": "compositeWithTrainedAlgorithmicMedia"}[kind]
    for clip, sidecar_used in ((mp4, None), (webm, str(side))):
        v = verify_file(clip)
        assert v.has_manifest and v.valid and not v.trusted and v.sidecar == sidecar_used, v.problems
        assert v.digital_source_types == [dst]
        assert v.export["sku"] == "glue-1" and v.export["source_kind"] == kind
        actions = [a["action"] for a in v.actions]
        assert actions[0] == "c2pa.opened" and actions[-1] == "c2pa.converted"
        assert any("animated into a" in (a.get("description") or "") for a in v.actions)
        photo = [i for i in v.ingredients if i.get("relationship") == "parentOf"]
        assert photo and (photo[0].get("metadata") or {}).get("com.packshot.sha256")
    # the signed MP4 still plays and keeps its index first
    facts = read_clip_facts(mp4)
    assert facts.frames == frames_before and facts.faststart is True
    # trusted when the development CA is a trust anchor, for the sidecar path too
    assert verify_file(webm, trust_anchors=creds / "dev-ca.pem").trusted


def test_tampered_clips_fail(tmp_path, creds):
    from packshot.credentials.clip import sign_clip

    sidecar = write_frame(tmp_path / "in")
    mp4, webm = _clip_beside(sidecar)
    sign_clip(mp4, creds)
    sign_clip(webm, creds)
    for clip in (mp4, webm):
        data = bytearray(clip.read_bytes())
        data[-40] ^= 0xFF  # a byte of the last media data
        clip.write_bytes(bytes(data))
        v = verify_file(clip)
        assert v.has_manifest and not v.valid and v.exit_code() == 1, clip
    assert any("com.packshot.file.mismatch" in p for p in verify_file(webm).problems)
    # a WebM without a sidecar says so
    webm.with_name(webm.name + ".c2pa").unlink()
    v = verify_file(webm)
    assert not v.has_manifest and "no sidecar" in v.error


def test_clip_without_frame_sidecar_is_refused(tmp_path, creds):
    from packshot.credentials.clip import sign_clip
    from packshot.errors import InputError

    sidecar = write_frame(tmp_path / "in")
    (mp4,) = _clip_beside(sidecar, suffixes=(".mp4",))
    lone = tmp_path / "lone.mp4"
    lone.write_bytes(mp4.read_bytes())
    with pytest.raises(InputError, match="frame sidecar"):
        sign_clip(lone, creds)
    assert lone.read_bytes() == mp4.read_bytes()


def test_cli_check_fix_to_signs_and_verify_reads_clips(tmp_path, creds, monkeypatch):
    sidecar = write_frame(tmp_path / "in", kind="diffusion")
    mp4, webm = _clip_beside(sidecar, size=(96, 54))
    runner = CliRunner()
    fixed = tmp_path / "fixed"
    monkeypatch.setenv("PACKSHOT_CREDENTIALS", str(creds))
    res = runner.invoke(app, ["check", str(mp4), "-p", "youtube-shorts", "--fix-to", str(fixed)])
    assert res.exit_code == 0, res.output
    out = fixed / "v0.youtube-shorts.mp4"
    v = verify_file(out)
    assert v.valid and v.export["profile"] == "youtube-shorts"
    assert v.digital_source_types == [IPTC + "compositeWithTrainedAlgorithmicMedia"]
    # clips that `packshot run` wrote: `packshot credentials sign-clip`, then `packshot verify` on the folder
    res = runner.invoke(app, ["credentials", "sign-clip", str(mp4), str(webm)])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["verify", "--json", str(mp4), str(webm), str(out)])
    assert res.exit_code == 0, res.output
    docs = [json.loads(line) for line in res.stdout.splitlines()]  # one JSON object per file
    assert [d["ok"] for d in docs] == [True, True, True] and docs[1]["sidecar"]
    # bad credentials: nothing fixed is written
    monkeypatch.setenv("PACKSHOT_CREDENTIALS", str(tmp_path / "nowhere"))
    res = runner.invoke(app, ["check", str(mp4), "-p", "youtube-shorts", "--fix-to", str(tmp_path / "f2")])
    assert res.exit_code == 2 and not (tmp_path / "f2").exists()


# ---------------------------------------------------------------------------------------------
# catalogue runs
# ---------------------------------------------------------------------------------------------
CATALOGUE_BRIEF = """name: tiny
defaults:
  sizes: ["160x160"]
  variants: 1
  seed: 3
scenes:
  - {name: studio, preset: studio-white}
"""


def test_catalogue_exports_are_signed_and_verify(tmp_path, creds, monkeypatch):
    from packshot.samples import make_product, write_sample

    root = tmp_path / "cat"
    s = make_product("bottle", seed=0, size=(224, 224))
    write_sample(s, root / "photos", name="p0")
    (root / "manifest.csv").write_text("sku,photo,master,title\nSKU-0,photos/p0.png,photos/p0_master.png,Amber Bottle\n")
    (root / "brief.yaml").write_text(CATALOGUE_BRIEF)
    (root / "strip.yaml").write_text("name: shop-strip\nextends: meta-square\nkeeps_metadata: false\n")
    runner = CliRunner()
    # bad credentials: the run does not start, nothing is written
    res = runner.invoke(app, ["catalogue", str(root / "manifest.csv"), "--brief", str(root / "brief.yaml"),
                              "--out", str(root / "bad"), "-p", "meta-square", "--upscaler", "none",
                              "--credentials", str(tmp_path / "nowhere"), "--workers", "1"])
    assert res.exit_code == 2 and not (root / "bad").exists(), res.output
    monkeypatch.setenv("PACKSHOT_CREDENTIALS", str(creds))
    out = root / "out"
    args = ["catalogue", str(root / "manifest.csv"), "--brief", str(root / "brief.yaml"), "--out", str(out),
            "-p", "meta-square", "-p", str(root / "strip.yaml"), "--upscaler", "none", "--workers", "1",
            "--no-relight"]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    files = sorted(p for p in (out / "export").rglob("*") if p.suffix in (".jpg", ".png", ".webp"))
    assert len(files) == 2
    for f in files:
        v = verify_file(f)
        assert v.has_manifest and v.valid and v.sidecar is None, (f, v.problems, v.error)
        assert v.export["sku"] == "SKU-0" and v.digital_source_types == [IPTC + "compositeSynthetic"]
        assert v.qa is not None and v.qa["master_sha256"]  # QA compared against the master artwork
        assert v.export["alt_text"].startswith("Amber Bottle")  # the manifest's title names the product
    sidecars = list((out / "export").rglob("*.c2pa"))
    assert [p.stem for p in sidecars] == [f.stem for f in files if "shop-strip" in f.name]
    # the job store records that the exports are signed
    import sqlite3
    con = sqlite3.connect(out / "packshot.db")
    infos = [json.loads(r[0]) for r in con.execute("SELECT info FROM units WHERE kind = 'export'")]
    con.close()
    assert len(infos) == 2 and all(i.get("signed") for i in infos)
    # a rerun with the same credentials redoes nothing; without them the exports are redone, unsigned
    before = {f: f.read_bytes() for f in files}
    assert runner.invoke(app, args).exit_code == 0
    assert {f: f.read_bytes() for f in files} == before
    monkeypatch.delenv("PACKSHOT_CREDENTIALS")
    assert runner.invoke(app, args).exit_code == 0
    assert [(f.name, verify_file(f).has_manifest, verify_file(f).sidecar) for f in files] == [(f.name, False, None)
                                                                                              for f in files]
    assert not list((out / "export").rglob("*.c2pa"))  # no stale sidecar describes the unsigned file
