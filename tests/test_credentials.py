"""Content Credentials: signed C2PA manifests on exported files, credentials checks, verify, alt text."""

from __future__ import annotations

import datetime as dt
import io
import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from typer.testing import CliRunner

c2pa = pytest.importorskip("c2pa")
pytest.importorskip("cryptography")

from packshot.cli import app  # noqa: E402
from packshot.credentials import CredentialsError, init_dev_credentials, load_credentials  # noqa: E402
from packshot.credentials.context import alt_text, frame_context, scene_phrase  # noqa: E402
from packshot.credentials.export_hook import load_product_text  # noqa: E402
from packshot.credentials.verify import verify_file  # noqa: E402
from packshot.export.delivery.deliver import export_frames  # noqa: E402
from packshot.export.delivery.metadata import ExportMetadata, build_xmp, encode_with_metadata, read_metadata  # noqa: E402
from packshot.export.compliance.profiles import Profile, load_profile  # noqa: E402
from packshot.imaging import load_image, resize_linear, save_gray, save_image  # noqa: E402
from packshot.provenance import sha256_file  # noqa: E402

IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"
JPEG = Profile(name="sq-jpeg", size=(160, 160), formats=("JPEG",))
PNG = Profile(name="sq-png", size=(120, 120), formats=("PNG",))
WEBP = Profile(name="sq-webp", size=(100, 100), formats=("WEBP",))
STRIP = Profile(name="strips", size=(100, 100), formats=("JPEG",), keeps_metadata=False)


def contain_fixer(rgb, alpha, profile):
    w, h = profile.size
    H, W = rgb.shape[:2]
    s = min(w / W, h / H)
    nw, nh = max(1, round(W * s)), max(1, round(H * s))
    out = np.ones((h, w, 3), np.float32)
    x0, y0 = (w - nw) // 2, (h - nh) // 2
    out[y0:y0 + nh, x0:x0 + nw] = resize_linear(rgb, (nw, nh))
    return SimpleNamespace(rgb=out, alpha=None, provenance={"fixer": "contain"}, upscaled=False)


def write_frame(root: Path, sku: str = "glue-1", scene: str = "marble", variant: str = "v0", kind: str = "embedded",
                qa: bool = True, label=("ELMER'S", "School Glue"), seed: int = 0) -> Path:
    """A frame as the pipeline leaves it: photo, cut-out + maps (OCR text), frame, sidecar, QA report."""
    rng = np.random.default_rng(seed)
    w, h = 160, 120
    rgb = np.ones((h, w, 3), np.float32) * np.float32(0.8)
    rgb += rng.random((h, w, 3), dtype=np.float32) * 0.1
    alpha = np.zeros((h, w), np.float32)
    alpha[20:100, 55:105] = 1.0
    rgb[20:100, 55:105] = [0.7, 0.2, 0.1]
    photo = root / "photos" / f"{sku}.png"
    save_image(photo, rgb)
    master = root / "photos" / f"{sku}_master.png"
    save_image(master, rgb[20:100, 55:105])
    sku_dir = root / "frames" / sku
    save_image(sku_dir / "cutout.png", rgb)
    (sku_dir / "maps").mkdir(parents=True, exist_ok=True)
    (sku_dir / "maps" / "maps.json").write_text(json.dumps({"text": [{"text": t, "box": [0, 0, 1, 1]} for t in label]}))
    folder = sku_dir / scene
    save_image(folder / f"{variant}.png", rgb)
    save_gray(folder / f"{variant}_alpha.png", alpha)
    prov = {"render": {"stage": "render", "backend": "diffusion" if kind == "diffusion" else "studio",
                       "params": {"model_id": "stabilityai/sd-test"} if kind == "diffusion" else {}},
            "relight": {"stage": "relight", "backend": "embedded"},
            "photo": str(photo), "photo_sha256": sha256_file(photo)}
    sidecar = folder / f"{variant}.json"
    sidecar.write_text(json.dumps({
        "sku": sku, "scene": scene, "variant": variant, "size": [w, h], "product_box": [55, 20, 105, 100],
        "product_alpha": f"{variant}_alpha.png", "cutout": "../cutout.png", "source_kind": kind,
        "placement": {"matrix": [[1, 0, 0], [0, 1, 0]], "center": [w / 2, h / 2], "scale": 1.0, "rotation": 0.0},
        "spec": {"prompt": "product on a white marble counter, window light"}, "provenance": prov,
    }))
    if qa:
        (folder / f"{variant}_qa.json").write_text(json.dumps({
            "verdict": "pass", "reasons": [], "checks": [{"name": "text", "status": "pass"}],
            "provenance": {"inputs": {"master": sha256_file(master)}, "ocr": {"det": "PP-OCRv6_det_small"}}}))
    return sidecar


@pytest.fixture(scope="module")
def creds(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("creds")
    init_dev_credentials(folder)
    return folder


def _export(tmp_path, creds, profiles, kind="embedded", **kw):
    sidecar = write_frame(tmp_path / "in", kind=kind)
    out = tmp_path / "out"
    result = export_frames([sidecar], profiles, out, fixer=contain_fixer, credentials=creds, **kw)
    assert result.ok, result.failures
    return result, out, sidecar


# ---------------------------------------------------------------------------------------------
# round trip
# ---------------------------------------------------------------------------------------------
def test_round_trip_each_format(tmp_path, creds):
    result, out, _ = _export(tmp_path, creds, [JPEG, PNG, WEBP])
    plain = export_frames([tmp_path / "in/frames/glue-1/marble/v0.json"], [JPEG, PNG, WEBP], tmp_path / "plain",
                          fixer=contain_fixer)
    assert {f.format for f in result.files} == {"JPEG", "PNG", "WEBP"}
    for f, p in zip(result.files, plain.files):
        path = out / f.path
        assert f.signed and not p.signed
        v = verify_file(path)
        assert v.has_manifest and v.valid and not v.trusted, v.describe()
        assert v.problems == ()
        assert any("untrusted" in w for w in v.warnings)
        assert v.export["profile"] == f.profile and v.export["sku"] == "glue-1"
        # c2pa's own reader agrees
        with c2pa.Reader(str(path)) as reader:
            assert reader.get_validation_state() == "Valid"
            failures = reader.get_validation_results()["activeManifest"].get("failure") or []
            assert [x["code"] for x in failures] == ["signingCredential.untrusted"]
        # signing changes no pixel and keeps the XMP (alt text, digital source type)
        assert np.array_equal(load_image(path).rgb, load_image(tmp_path / "plain" / p.path).rgb)
        meta = read_metadata(path)
        assert meta.digital_source_type == IPTC + "compositeSynthetic"
        assert meta.alt_text == f.alt_text and "marble counter" in meta.alt_text
        # the unsigned file has no manifest: verify says so and fails
        assert verify_file(tmp_path / "plain" / p.path).exit_code() == 1
    manifest = json.loads((out / "packshot-manifest.json").read_text())
    assert all(f["signed"] for f in manifest["files"])


def test_signed_export_respects_byte_limit(tmp_path, creds):
    # the limit counts the manifest: a limit between the unsigned and the signed size lowers the quality
    plain = export_frames([write_frame(tmp_path / "a")], [JPEG], tmp_path / "p", fixer=contain_fixer).files[0]
    signed = export_frames([write_frame(tmp_path / "b")], [JPEG], tmp_path / "s", fixer=contain_fixer,
                           credentials=creds).files[0]
    assert signed.bytes > plain.bytes + 1000  # the manifest
    tight = Profile(name="tight", size=(160, 160), formats=("JPEG",), max_bytes=signed.bytes - 200)
    result, out, _ = _export(tmp_path, creds, [tight])
    f = result.files[0]
    assert plain.bytes < tight.max_bytes and f.bytes <= tight.max_bytes and f.quality < plain.quality
    assert verify_file(out / f.path).valid


@pytest.mark.parametrize("kind,dst", [("diffusion", "compositeWithTrainedAlgorithmicMedia"),
                                      ("embedded", "compositeSynthetic"), ("capture", None)])
def test_digital_source_type_per_source_kind(tmp_path, creds, kind, dst):
    result, out, _ = _export(tmp_path, creds, [JPEG], kind=kind)
    v = verify_file(out / result.files[0].path)
    assert v.valid
    names = [a["action"] for a in v.actions]
    assert names[0] == "c2pa.opened" and names[-2:] == ["c2pa.resized", "c2pa.converted"]
    if dst is None:
        assert v.digital_source_types == []
    else:
        assert v.digital_source_types == [IPTC + dst]
        assert "c2pa.color_adjustments" in names  # relit
    if kind == "diffusion":
        placed = next(a for a in v.actions if a.get("digitalSourceType"))
        assert placed["parameters"]["com.packshot.models"][0]["name"] == "stabilityai/sd-test"
        assert "trained generative model" in placed["description"]


def test_ingredients_hashes_and_qa_assertion(tmp_path, creds):
    result, out, sidecar = _export(tmp_path, creds, [JPEG])
    v = verify_file(out / result.files[0].path)
    by_rel = {i["relationship"]: i for i in v.ingredients}
    photo = tmp_path / "in/photos/glue-1.png"
    master = tmp_path / "in/photos/glue-1_master.png"
    assert by_rel["parentOf"]["title"] == "glue-1.png"
    assert by_rel["parentOf"]["metadata"]["com.packshot.sha256"] == sha256_file(photo)
    assert by_rel["componentOf"]["metadata"]["com.packshot.sha256"] == sha256_file(master)
    opened = v.actions[0]
    assert opened["action"] == "c2pa.opened" and opened["parameters"]["ingredients"]  # points at the photo
    assert v.qa["verdict"] == "pass" and v.qa["approval"] is None and v.qa["review"] == "not reviewed"
    assert v.export["provenance_digest"] == result.files[0].provenance_digest
    text = v.describe()
    assert "parentOf" in text and sha256_file(photo) in text and "QA verdict: pass" in text


def test_approval_recorded_when_review_wrote_one(tmp_path, creds):
    sidecar = write_frame(tmp_path / "in")
    sidecar.with_name("v0_review.json").write_text(json.dumps({"decision": "approved", "by": "ana", "at": "2026-11-30"}))
    result = export_frames([sidecar], [JPEG], tmp_path / "out", fixer=contain_fixer, credentials=creds)
    v = verify_file(tmp_path / "out" / result.files[0].path)
    assert v.qa["approval"]["by"] == "ana" and "approved by ana" in v.describe()


def test_frame_without_qa_has_no_master_ingredient(tmp_path, creds):
    sidecar = write_frame(tmp_path / "in", qa=False)
    result = export_frames([sidecar], [JPEG], tmp_path / "out", fixer=contain_fixer, credentials=creds)
    v = verify_file(tmp_path / "out" / result.files[0].path)
    assert [i["relationship"] for i in v.ingredients] == ["parentOf"]
    assert v.qa["verdict"] is None


# ---------------------------------------------------------------------------------------------
# tampering
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("profile", [JPEG, PNG, WEBP], ids=lambda p: p.formats[0])
def test_tampered_pixel_fails_validation(tmp_path, creds, profile):
    result, out, _ = _export(tmp_path, creds, [profile])
    path = out / result.files[0].path
    data = bytearray(path.read_bytes())
    with c2pa.Reader(str(path)) as reader:  # find the image data: change a byte outside the manifest
        store = reader.json()
    assert store
    # the manifest sits in one block (JPEG APP11 / PNG caBX / WebP C2PA chunk); change a byte of
    # the compressed image far from it
    marker = {"JPEG": b"\xff\xda", "PNG": b"IDAT", "WEBP": b"VP8"}[profile.formats[0]]
    start = bytes(data).index(marker) + 40
    data[start] ^= 0x5A
    path.write_bytes(bytes(data))
    v = verify_file(path)
    assert v.has_manifest and not v.valid
    assert any("dataHash.mismatch" in p for p in v.problems), v.problems
    assert v.exit_code() == 1
    r = CliRunner().invoke(app, ["verify", str(path)])
    assert r.exit_code == 1 and "INVALID" in r.output


# ---------------------------------------------------------------------------------------------
# credentials errors: before anything is written
# ---------------------------------------------------------------------------------------------
def _broken(tmp_path, creds, how: str) -> Path:
    bad = tmp_path / f"bad-{how}"
    shutil.copytree(creds, bad)
    if how == "missing-key":
        (bad / "key.pem").unlink()
    elif how == "missing-chain":
        (bad / "chain.pem").unlink()
    elif how == "garbage-cert":
        (bad / "chain.pem").write_text("-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n")
    elif how == "wrong-cert":  # a valid certificate of another signer
        other = tmp_path / "other"
        init_dev_credentials(other)
        shutil.copy(other / "chain.pem", bad / "chain.pem")
    elif how == "mismatched-key":
        other = tmp_path / "other2"
        init_dev_credentials(other)
        shutil.copy(other / "key.pem", bad / "key.pem")
    elif how == "expired":
        shutil.rmtree(bad)
        init_dev_credentials(bad, days=30, now=dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=60))
    elif how == "not-yet-valid":
        shutil.rmtree(bad)
        init_dev_credentials(bad, days=30, now=dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=2))
    elif how == "ca-only":  # the CA alone: self-signed, not a signer
        shutil.copy(bad / "dev-ca.pem", bad / "chain.pem")
    elif how == "missing-folder":
        shutil.rmtree(bad)
    return bad


@pytest.mark.parametrize("how,words", [
    ("missing-folder", "does not exist"), ("missing-key", "private key file is missing"),
    ("missing-chain", "certificate chain file is missing"), ("garbage-cert", "not a PEM certificate"),
    ("wrong-cert", "does not match the certificate"), ("mismatched-key", "does not match the certificate"),
    ("expired", "expired on"), ("not-yet-valid", "not valid before"), ("ca-only", "does not match"),
])
def test_bad_credentials_fail_before_any_write(tmp_path, creds, how, words):
    bad = _broken(tmp_path, creds, how)
    sidecar = write_frame(tmp_path / "in")
    out = tmp_path / "out"
    with pytest.raises(CredentialsError) as info:
        export_frames([sidecar], [JPEG], out, fixer=contain_fixer, credentials=bad)
    assert words in str(info.value) and str(bad) in str(info.value)
    assert not out.exists()
    r = CliRunner().invoke(app, ["export", str(sidecar), "-p", "meta-square", "-d", str(out), "--credentials", str(bad),
                                 "--upscaler", "none"])
    assert r.exit_code == 2 and words in r.output
    assert not out.exists()


def test_self_signed_signer_is_refused(tmp_path, creds):
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    bad = tmp_path / "self"
    bad.mkdir()
    ca = x509.load_pem_x509_certificate((creds / "dev-ca.pem").read_bytes())
    (bad / "chain.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (bad / "key.pem").write_bytes((creds / "key.pem").read_bytes())
    with pytest.raises(CredentialsError):
        load_credentials(bad)


def test_credentials_from_environment(tmp_path, creds, monkeypatch):
    sidecar = write_frame(tmp_path / "in")
    monkeypatch.setenv("PACKSHOT_CREDENTIALS", str(creds))
    r = CliRunner().invoke(app, ["export", str(sidecar), "-p", "meta-square", "-d", str(tmp_path / "out"),
                                 "--upscaler", "none"])
    assert r.exit_code == 0, r.output
    assert "UNTRUSTED" in r.output  # the development signer is called what it is
    files = list((tmp_path / "out").glob("*.jpg"))
    assert len(files) == 1 and verify_file(files[0]).valid


# ---------------------------------------------------------------------------------------------
# profiles that strip metadata: sidecar
# ---------------------------------------------------------------------------------------------
def test_stripping_profile_writes_sidecar(tmp_path, creds):
    result, out, _ = _export(tmp_path, creds, [JPEG, STRIP])
    by = {f.profile: f for f in result.files}
    assert by["sq-jpeg"].c2pa_sidecar is None and not list(out.glob("*sq-jpeg.c2pa"))
    side = out / by["strips"].c2pa_sidecar
    assert side.name == Path(by["strips"].path).stem + ".c2pa" and side.stat().st_size > 500
    image = out / by["strips"].path
    # the sidecar validates the delivered file on its own (c2pa's reader with manifest_data)
    with c2pa.Reader("image/jpeg", io.BytesIO(image.read_bytes()), manifest_data=side.read_bytes()) as reader:
        assert reader.get_validation_state() == "Valid"
    # a file whose embedded manifest is gone is verified from its sidecar
    stripped = out / "copy" / Path(by["strips"].path).name
    stripped.parent.mkdir()
    from PIL import Image
    Image.open(image).save(stripped, "JPEG", quality=90)  # a platform re-encoding without metadata
    shutil.copy(side, stripped.with_suffix(".c2pa"))
    v = verify_file(stripped)
    assert v.has_manifest and v.sidecar and not v.valid  # re-encoded pixels no longer match the binding


def test_profile_yaml_keeps_metadata(tmp_path):
    p = tmp_path / "shop.yaml"
    p.write_text("name: shop\nextends: shopify\nkeeps_metadata: false\n")
    assert load_profile(p).keeps_metadata is False
    p.write_text("name: shop\nkeeps_metadata: maybe\n")
    with pytest.raises(Exception, match="keeps_metadata"):
        load_profile(p)


# ---------------------------------------------------------------------------------------------
# alt text and description
# ---------------------------------------------------------------------------------------------
def test_alt_text_from_ocr_and_title(tmp_path):
    sidecar = write_frame(tmp_path / "in")
    texts = {"glue-1": {"title": "Elmer's glue bottle"}}
    result = export_frames([sidecar], [JPEG], tmp_path / "out", fixer=contain_fixer, product_text=texts)
    f = result.files[0]
    assert f.alt_text == ("Elmer's glue bottle on a white marble counter, window light; "
                          "label reads \"ELMER'S School Glue\"")
    # a title that already says what the label says is not repeated
    ctx = frame_context(SimpleNamespace(provenance={}, source_kind="embedded", source=str(sidecar), pixels_sha256=None))
    assert alt_text("glue-1", "marble", ctx, title="Elmer's School Glue bottle") == \
        "Elmer's School Glue bottle on a white marble counter, window light"
    meta = read_metadata(tmp_path / "out" / f.path)
    assert meta.alt_text == f.alt_text
    assert meta.description.startswith(f.alt_text) and "procedural" in meta.description


def test_alt_text_without_title_uses_label(tmp_path):
    ctx = frame_context(SimpleNamespace(provenance={}, source_kind="embedded", source=str(write_frame(tmp_path)),
                                        pixels_sha256=None))
    assert alt_text("glue-1", "marble", ctx) == \
        "Product labelled \"ELMER'S School Glue\" on a white marble counter, window light"


def test_alt_text_override_per_sku(tmp_path):
    sidecar = write_frame(tmp_path / "in")
    texts = {"glue-1": {"title": "ignored", "alt_text": "Glue bottle & cap <red>"}}
    result = export_frames([sidecar], [PNG], tmp_path / "out", fixer=contain_fixer, product_text=texts)
    assert read_metadata(tmp_path / "out" / result.files[0].path).alt_text == "Glue bottle & cap <red>"


def test_no_alt_text_for_a_bare_frame():
    from packshot.credentials.context import FrameContext
    assert alt_text("x", "", FrameContext()) == ""
    xmp = build_xmp(ExportMetadata(source_kind="embedded", provenance_digest="sha256:0"))
    assert b"AltTextAccessibility" not in xmp and b"/>" in xmp


def test_diffusion_description_discloses_ai(tmp_path):
    data = encode_with_metadata(np.zeros((8, 8, 3), np.uint8), "JPEG",
                                ExportMetadata(source_kind="diffusion", provenance_digest="sha256:0", alt_text="a",
                                               description="a. AI-edited"))
    assert read_metadata(data).description == "a. AI-edited"
    sidecar = write_frame(tmp_path / "in", kind="diffusion")
    f = export_frames([sidecar], [JPEG], tmp_path / "out", fixer=contain_fixer).files[0]
    assert "AI-edited" in read_metadata(tmp_path / "out" / f.path).description


def test_scene_phrase():
    assert scene_phrase("clean packshot on a seamless white sweep, soft shadow") == "on a seamless white sweep, soft shadow"
    assert scene_phrase("", "pastel-podium") == "in the pastel podium scene"


def test_load_product_text(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("sku,title,alt_text\nA,Glue bottle,\nB,,Own alt\n")
    assert load_product_text(p) == {"A": {"title": "Glue bottle"}, "B": {"alt_text": "Own alt"}}
    j = tmp_path / "t.json"
    j.write_text(json.dumps({"A": {"title": "T"}}))
    assert load_product_text(j) == {"A": {"title": "T"}}
    p.write_text("name,title\nA,B\n")
    with pytest.raises(Exception, match="sku"):
        load_product_text(p)


# ---------------------------------------------------------------------------------------------
# verify and credentials CLI
# ---------------------------------------------------------------------------------------------
def test_verify_file_without_manifest_exits_1(tmp_path):
    img = tmp_path / "plain.jpg"
    img.write_bytes(encode_with_metadata(np.zeros((8, 8, 3), np.uint8), "JPEG",
                                         ExportMetadata(source_kind="capture", provenance_digest="sha256:0")))
    r = CliRunner().invoke(app, ["verify", str(img)])
    assert r.exit_code == 1 and "no C2PA manifest" in r.output
    r = CliRunner().invoke(app, ["verify", "--json", str(img)])
    assert r.exit_code == 1
    assert json.loads(r.stdout.splitlines()[0])["has_manifest"] is False  # one JSON object per file


def test_verify_trust_options(tmp_path, creds):
    result, out, _ = _export(tmp_path, creds, [JPEG])
    path = str(out / result.files[0].path)
    runner = CliRunner()
    r = runner.invoke(app, ["verify", path])
    assert r.exit_code == 0 and "UNTRUSTED signer" in r.output and "compositeSynthetic" in r.output
    assert runner.invoke(app, ["verify", "--require-trusted", path]).exit_code == 1
    r = runner.invoke(app, ["verify", "--require-trusted", "--trust-anchors", str(creds / "dev-ca.pem"), path])
    assert r.exit_code == 0 and "trusted signer" in r.output
    r = runner.invoke(app, ["verify", str(out)])  # a folder: every image in it
    assert r.exit_code == 0 and "glue-1_marble_v0_sq-jpeg.jpg" in r.output and "packshot-manifest" not in r.output
    assert runner.invoke(app, ["verify", str(tmp_path / "in" / "frames" / "glue-1" / "maps")]).exit_code == 2
    r = runner.invoke(app, ["verify", "--json", path])
    (data,) = [json.loads(line) for line in r.stdout.splitlines()]
    assert data["valid"] and not data["trusted"] and data["ok"] and data["qa"]["verdict"] == "pass"


def test_credentials_init_and_show(tmp_path):
    runner = CliRunner()
    r = runner.invoke(app, ["credentials", "init", str(tmp_path / "c")])
    assert r.exit_code == 0 and "untrusted" in r.output.lower()
    assert {p.name for p in (tmp_path / "c").iterdir()} == {"chain.pem", "key.pem", "dev-ca.pem", "credentials.json"}
    assert runner.invoke(app, ["credentials", "init", str(tmp_path / "c")]).exit_code == 2  # no silent overwrite
    r = runner.invoke(app, ["credentials", "show", str(tmp_path / "c")])
    assert r.exit_code == 0 and "ES256" in r.output
    creds = load_credentials(tmp_path / "c")
    assert creds.development and creds.alg == "es256"


# ---------------------------------------------------------------------------------------------
# visible AI label
# ---------------------------------------------------------------------------------------------
def test_visible_ai_label_only_on_diffusion_frames(tmp_path, creds):
    labelled = Profile(name="labelled", size=(400, 300), formats=("PNG",), ai_label="AI-edited")
    plain = Profile(name="plain", size=(400, 300), formats=("PNG",))
    for kind in ("diffusion", "embedded"):
        sidecar = write_frame(tmp_path / kind, kind=kind)
        result = export_frames([sidecar], [labelled, plain], tmp_path / f"out-{kind}", fixer=contain_fixer,
                               credentials=creds)
        by = {f.profile: load_image(tmp_path / f"out-{kind}" / f.path).rgb for f in result.files}
        diff = np.abs(by["labelled"] - by["plain"]).max(axis=2) > 0.02
        if kind == "diffusion":
            ys, xs = np.nonzero(diff)
            assert diff.sum() > 100 and ys.min() > 300 * 0.8 and xs.min() > 400 * 0.6  # bottom-right corner only
            v = verify_file(tmp_path / f"out-{kind}" / next(f.path for f in result.files if f.profile == "labelled"))
            assert any("AI-edited" in (a.get("description") or "") for a in v.actions)
        else:
            assert not diff.any()  # nothing AI-made: no label


def test_ai_label_is_validated(tmp_path):
    p = tmp_path / "x.yaml"
    p.write_text("name: x\nai_label: " + "A" * 41 + "\n")
    with pytest.raises(Exception, match="ai_label"):
        load_profile(p)


def test_mp4_clip_can_be_signed_and_verified(tmp_path, creds):
    # motion clips: the same signer and manifest, MP4 container (for the motion export to call)
    av = pytest.importorskip("av")
    from packshot.credentials.context import FrameContext
    from packshot.credentials.manifest import ContentSigner, build_manifest

    buf = io.BytesIO()
    container = av.open(buf, "w", format="mp4")
    stream = container.add_stream("libx264", rate=10)
    stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
    for i in range(5):
        frame = av.VideoFrame.from_ndarray(np.full((64, 64, 3), i * 40, np.uint8), format="rgb24")
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)
    container.close()
    manifest = build_manifest(sku="a", scene="turntable", variant="v0", source_kind="diffusion", profile="clip",
                              fmt="MP4", size=(64, 64), context=FrameContext(), provenance={},
                              provenance_digest="sha256:0")
    signed, _ = ContentSigner(load_credentials(creds)).sign(buf.getvalue(), "MP4", manifest)
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(signed)
    v = verify_file(clip)
    assert v.valid and v.digital_source_types == [IPTC + "compositeWithTrainedAlgorithmicMedia"]


def test_tsa_url_is_recorded_and_checked(tmp_path):
    r = CliRunner().invoke(app, ["credentials", "init", str(tmp_path / "c"), "--tsa-url", "http://ts.example/tsa"])
    assert r.exit_code == 0
    assert load_credentials(tmp_path / "c").tsa_url == "http://ts.example/tsa"
    (tmp_path / "c" / "credentials.json").write_text('{"tsa_url": "ftp://x"}')
    with pytest.raises(CredentialsError, match="tsa_url"):
        load_credentials(tmp_path / "c")
    r = CliRunner().invoke(app, ["credentials", "init", str(tmp_path / "d"), "--tsa-url", "nope"])
    assert r.exit_code == 2 and not (tmp_path / "d").exists()


@pytest.mark.parametrize("key_type", ["ps256", "ed25519"])
def test_other_signing_algorithms(tmp_path, key_type):
    folder = tmp_path / key_type
    assert init_dev_credentials(folder, key_type=key_type).alg == key_type
    result, out, _ = _export(tmp_path, folder, [JPEG])
    v = verify_file(out / result.files[0].path)
    assert v.valid and v.signer["alg"].lower() == key_type


def test_encrypted_key_needs_its_passphrase(tmp_path, creds, monkeypatch):
    from cryptography.hazmat.primitives import serialization

    folder = tmp_path / "enc"
    shutil.copytree(creds, folder)
    key = serialization.load_pem_private_key((creds / "key.pem").read_bytes(), password=None)
    (folder / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.BestAvailableEncryption(b"s3cret")))
    monkeypatch.delenv("PACKSHOT_KEY_PASSPHRASE", raising=False)
    with pytest.raises(CredentialsError, match="encrypted"):
        load_credentials(folder)
    monkeypatch.setenv("PACKSHOT_KEY_PASSPHRASE", "wrong")
    with pytest.raises(CredentialsError, match="passphrase"):
        load_credentials(folder)
    monkeypatch.setenv("PACKSHOT_KEY_PASSPHRASE", "s3cret")
    result, out, _ = _export(tmp_path, folder, [JPEG])
    assert verify_file(out / result.files[0].path).valid


def test_source_photo_with_its_own_credentials_continues_the_history(tmp_path, creds):
    # the photo was itself signed (a C2PA camera, an earlier edit): it becomes the parentOf
    # ingredient with its manifest, and the reader validates the chain
    from packshot.credentials.context import FrameContext
    from packshot.credentials.manifest import ContentSigner, build_manifest

    sidecar = write_frame(tmp_path / "in")
    photo = tmp_path / "in/photos/glue-1.png"
    signer = ContentSigner(load_credentials(creds))
    camera = build_manifest(sku="glue-1", scene="camera", variant="-", source_kind="capture", profile="camera",
                            fmt="PNG", size=(160, 120), context=FrameContext(), provenance={},
                            provenance_digest="sha256:0", title="camera original")
    photo.write_bytes(signer.sign(photo.read_bytes(), "PNG", camera)[0])
    prov = json.loads(sidecar.read_text())
    prov["provenance"]["photo_sha256"] = sha256_file(photo)
    sidecar.write_text(json.dumps(prov))
    result = export_frames([sidecar], [JPEG], tmp_path / "out", fixer=contain_fixer, credentials=signer)
    path = tmp_path / "out" / result.files[0].path
    v = verify_file(path)
    assert v.valid, v.problems
    parent = next(i for i in v.ingredients if i["relationship"] == "parentOf")
    assert parent.get("active_manifest")  # the photo's own manifest travelled with it
    assert parent["metadata"]["com.packshot.sha256"] == sha256_file(photo)
    with c2pa.Reader(str(path)) as reader:
        store = json.loads(reader.json())
    assert len(store["manifests"]) == 2
    titles = {m.get("title") for m in store["manifests"].values()}
    assert "camera original" in titles
    # a photo changed since the pipeline read it is not taken as the frame's source
    photo.write_bytes(photo.read_bytes() + b"\0")
    result = export_frames([sidecar], [JPEG], tmp_path / "out2", fixer=contain_fixer, credentials=signer)
    v = verify_file(tmp_path / "out2" / result.files[0].path)
    assert not next(i for i in v.ingredients if i["relationship"] == "parentOf").get("active_manifest")
