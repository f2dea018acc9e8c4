"""Nothing lost, nothing silently wrong (issue 8): SKU clashes, inputs never overwritten, one run per
output folder, resume by recorded hashes, byte-stable outputs, no model work on an unchanged rerun,
temp files of killed runs cleaned, clear errors for over-long names."""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
import unicodedata
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from packshot.cli import app
from packshot.locking import LOCK_NAME, OutputLock
from packshot.pipeline import sku_from_path
from packshot.samples import make_product, write_sample

BRIEF = {"defaults": {"sizes": ["96x96"], "variants": 2, "seed": 3},
         "scenes": [{"name": "white", "preset": "studio-white"}]}


@pytest.fixture(scope="module")
def photo_bytes(tmp_path_factory) -> dict[str, bytes]:
    """Two small generated product photos (PNG and JPEG bytes)."""
    folder = tmp_path_factory.mktemp("samples")
    out = {}
    for kind, fmt in (("jar", "png"), ("bottle", "jpg")):
        s = make_product(kind, seed=2, size=(128, 128))
        out[fmt] = write_sample(s, folder, name=f"{kind}", fmt=fmt)["photo"].read_bytes()
    return out


@pytest.fixture()
def brief(tmp_path) -> Path:
    p = tmp_path / "brief.yaml"
    p.write_text(yaml.safe_dump(BRIEF))
    return p


def _run(*args: str):
    return CliRunner().invoke(app, ["run", *map(str, args)])


def _tree(root: Path) -> dict[str, bytes]:
    """Every output file under root except logs (wall-clock timings)."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.suffix != ".log" and not _bookkeeping(p.relative_to(root))}


def _bookkeeping(rel: Path) -> bool:
    """The run's job store and its reports (they record when each run ran), not outputs."""
    return rel.parts[0].startswith("packshot.db") or rel.as_posix() in ("report.html", "summary.csv",
                                                                         "failures.csv")


# -- 1, 16: SKU clash and the SKU rule -------------------------------------------------------------
def test_sku_rule_keeps_non_latin_names_readable():
    assert sku_from_path("ü.jpg") == "ü"
    assert sku_from_path("日本.jpg") == "日本"
    decomposed = unicodedata.normalize("NFD", "crème brûlée.png")
    assert sku_from_path(decomposed) == "crème-brûlée" == unicodedata.normalize("NFC", "crème-brûlée")
    assert sku_from_path("a\tb\x00c.png") == "a-b-c"
    assert sku_from_path("/a/b/My Product (2).JPG") == "My-Product-2"
    assert sku_from_path("../..jpg") == "sku"


@pytest.mark.parametrize("names", [("prod.jpg", "prod.png"), ("a b.png", "a-b.png"), ("Prod.png", "prod.jpg")],
                         ids=["suffix", "slug", "case"])
def test_run_refuses_a_sku_clash_naming_both_photos(tmp_path, brief, photo_bytes, names):
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in names:
        (photos / name).write_bytes(photo_bytes["jpg" if name.endswith(".jpg") else "png"])
    out = tmp_path / "out"
    res = _run(photos, "--brief", brief, "--out", out)
    assert res.exit_code == 1, res.output
    first, second = sorted(names)
    assert "already used by" in res.output
    assert str(photos / first) in res.output and str(photos / second) in res.output
    sku = sku_from_path(first)
    sidecar = json.loads((out / sku / "white" / "v0.json").read_text())
    assert sidecar["provenance"]["photo"] == str(photos / first)  # the first photo's frames survive
    assert "1 of 2 failed" in res.output


def test_non_latin_photos_get_distinct_readable_skus(tmp_path, brief, photo_bytes):
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "ü.png").write_bytes(photo_bytes["png"])
    (photos / "日本.jpg").write_bytes(photo_bytes["jpg"])
    out = tmp_path / "out"
    res = _run(photos, "--brief", brief, "--out", out)
    assert res.exit_code == 0, res.output
    assert (out / "ü" / "white" / "v0.png").is_file() and (out / "日本" / "white" / "v1.png").is_file()


def test_a_failed_photo_does_not_reserve_its_sku(tmp_path, brief, photo_bytes):
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "prod.jpg").write_bytes(b"not a jpeg at all")
    (photos / "prod.png").write_bytes(photo_bytes["png"])
    out = tmp_path / "out"
    res = _run(photos, "--brief", brief, "--out", out)
    assert res.exit_code == 1
    assert "prod.jpg" in res.output and "already used" not in res.output
    assert json.loads((out / "prod" / "white" / "v0.json").read_text())["provenance"]["photo"] == str(photos / "prod.png")


def test_cutout_a_failed_photo_does_not_reserve_its_name(tmp_path, photo_bytes):
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "prod.jpg").write_bytes(b"not a jpeg at all")
    (photos / "prod.png").write_bytes(photo_bytes["png"])
    res = CliRunner().invoke(app, ["cutout", str(photos), "--out", str(tmp_path / "cut")])
    assert res.exit_code == 1 and "1 of 2 failed" in res.output
    assert "would overwrite" not in res.output
    assert (tmp_path / "cut" / "prod.png").is_file()


# -- 12 (names): an over-long stem is refused before any segmentation ---------------------------------
def test_over_long_stem_is_a_clear_error_before_segmentation(tmp_path, brief, photo_bytes, monkeypatch):
    import packshot.segment

    def no_segment(*a, **k):
        raise AssertionError("segmentation ran for a photo whose outputs cannot be written")

    monkeypatch.setattr(packshot.segment, "segment", no_segment)
    photo = tmp_path / ("x" * 251 + ".png")
    photo.write_bytes(photo_bytes["png"])
    res = _run(photo, "--brief", brief, "--out", tmp_path / "out")
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert "251 characters long; at most 100" in res.output
    res = CliRunner().invoke(app, ["cutout", str(photo), "--out", str(tmp_path / "cut")])
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert isinstance(res.exception, SystemExit)  # a reported failure, not an escaped error
    assert "output file name is 255 bytes" in res.output


# -- 2: inputs are never overwritten -------------------------------------------------------------------
def test_cutout_never_writes_over_its_input(tmp_path, photo_bytes):
    folder = tmp_path / "dir"
    folder.mkdir()
    photo = folder / "prod.png"
    photo.write_bytes(photo_bytes["png"])
    res = CliRunner().invoke(app, ["cutout", str(photo), "--out", str(folder)])
    assert res.exit_code == 1
    assert "would overwrite the input" in res.output
    assert photo.read_bytes() == photo_bytes["png"]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory, photo_bytes) -> Path:
    root = tmp_path_factory.mktemp("rendered")
    (root / "prod.png").write_bytes(photo_bytes["png"])
    (root / "brief.yaml").write_text(yaml.safe_dump(BRIEF))
    res = _run(root / "prod.png", "--brief", root / "brief.yaml", "--out", root / "frames")
    assert res.exit_code == 0, res.output
    return root / "frames"


def test_export_never_writes_over_its_source_frames(rendered, tmp_path):
    frames = tmp_path / "frames"
    shutil.copytree(rendered, frames)
    before = _tree(frames)
    png_shop = tmp_path / "png-shop.yaml"
    png_shop.write_text("extends: shopify\nname: png-shop\nformats: [png]\n")
    res = CliRunner().invoke(app, ["export", str(frames), "-p", str(png_shop), "-d", str(frames),
                                   "-t", "{sku}/{scene}/{variant}.{ext}", "--upscaler", "none"])
    assert res.exit_code != 0
    assert "would overwrite the input" in res.output and str(frames / "prod" / "white" / "v0.png") in res.output
    after = _tree(frames)
    assert {k: v for k, v in after.items() if k in before} == before  # every source byte-identical


# -- 4, 5: unreadable sidecars are errors, maps / masks / cut-outs are never products -----------------
def _break_sidecars(frames: Path) -> None:
    for p in frames.rglob("v*.json"):
        p.write_text("{ not json")


def test_export_of_unreadable_sidecars_is_an_error_not_plain_images(rendered, tmp_path):
    frames = tmp_path / "frames"
    shutil.copytree(rendered, frames)
    _break_sidecars(frames)
    res = CliRunner().invoke(app, ["export", str(frames), "-p", "shopify", "-d", str(tmp_path / "dest"),
                                   "--upscaler", "none"])
    assert res.exit_code == 1
    assert "0 files" in res.output and "2 failed" in res.output
    for v in ("v0", "v1"):
        assert f"{v}.json: frame sidecar is not valid JSON" in res.output
    assert not any((tmp_path / "dest").rglob("*.jpg")) and not any((tmp_path / "dest").rglob("*.png"))


def test_export_of_one_unreadable_sidecar_exports_the_rest(rendered, tmp_path):
    frames = tmp_path / "frames"
    shutil.copytree(rendered, frames)
    (frames / "prod" / "white" / "v1.json").write_text("[]")
    res = CliRunner().invoke(app, ["export", str(frames), "-p", "shopify", "-d", str(tmp_path / "dest"),
                                   "--upscaler", "none"])
    assert res.exit_code == 1
    assert "v1.json: frame sidecar is not a JSON object" in res.output
    assert [p.name for p in (tmp_path / "dest").rglob("*.jpg")] == ["prod_white_v0_shopify.jpg"]


def test_plain_image_folders_skip_maps_masks_and_cutouts(rendered, tmp_path):
    from packshot.export.delivery.deliver import collect_frames

    frames = tmp_path / "frames"
    shutil.copytree(rendered, frames)
    for p in frames.rglob("v*.json"):
        p.unlink()  # no sidecars at all: the folder is read as plain images
    found = collect_frames([frames])
    names = {p.name for p in found}
    assert names == {"v0.png", "v1.png"}, names


def test_qa_counts_every_unreadable_sidecar_as_an_error(rendered, tmp_path):
    frames = tmp_path / "frames"
    shutil.copytree(rendered, frames)
    (frames / "prod" / "white" / "v1.json").write_text("{ not json")
    res = CliRunner().invoke(app, ["qa", str(frames), "--no-overlay"])
    assert res.exit_code == 1
    assert "1 error(s)" in res.output
    assert "v1.json" in res.output and "not valid JSON" in res.output


# -- 6, 7, 8: resume by hashes, same bytes, no model work when nothing changed ------------------------
def test_damaged_outputs_are_redone_and_match(rendered, tmp_path, brief):
    frames = tmp_path / "frames"
    shutil.copytree(rendered, frames)
    photo = rendered.parent / "prod.png"
    reference = _tree(frames)
    white = frames / "prod" / "white"
    v0 = white / "v0.png"
    v0.write_bytes(v0.read_bytes()[: v0.stat().st_size // 2])
    (white / "v1_alpha.png").write_bytes(b"")
    (white / "v0_alpha.png").unlink()
    res = _run(photo, "--brief", rendered.parent / "brief.yaml", "--out", frames)
    assert res.exit_code == 0, res.output
    assert "prod: 2 frames written, 0 up to date" in res.output
    assert _tree(frames) == reference


def test_one_damaged_frame_is_redone_alone(rendered, tmp_path):
    frames = tmp_path / "frames"
    shutil.copytree(rendered, frames)
    reference = _tree(frames)
    v1 = frames / "prod" / "white" / "v1.png"
    v1.write_bytes(b"\x89PNG" + v1.read_bytes()[4:-8] + b"garbage!")  # same size, other bytes
    res = _run(rendered.parent / "prod.png", "--brief", rendered.parent / "brief.yaml", "--out", frames)
    assert res.exit_code == 0, res.output
    assert "prod: 1 frames written, 1 up to date" in res.output
    assert _tree(frames) == reference


def test_two_runs_give_the_same_bytes_and_maps_hold_no_timings(rendered, tmp_path):
    res = _run(rendered.parent / "prod.png", "--brief", rendered.parent / "brief.yaml", "--out", tmp_path / "again")
    assert res.exit_code == 0, res.output
    assert _tree(tmp_path / "again") == _tree(rendered)
    meta = json.loads((rendered / "prod" / "maps" / "maps.json").read_text())
    assert "timings" not in meta
    assert (rendered / "prod" / "maps" / "timings.log").read_text().strip()
    from packshot.catalogue.store import JobStore

    with JobStore(rendered, readonly=True) as store:  # wall-clock timings live in the job store
        assert all(u["seconds"] > 0 for u in store.units("kind IN ('cutout', 'frame')"))


def test_unchanged_rerun_does_no_model_work(rendered, tmp_path, monkeypatch):
    import packshot.imaging
    import packshot.pipeline
    import packshot.segment
    import packshot.understand

    frames = tmp_path / "frames"
    shutil.copytree(rendered, frames)

    def forbidden(*a, **k):
        raise AssertionError("model work on an unchanged rerun")

    monkeypatch.setattr(packshot.segment, "segment", forbidden)
    monkeypatch.setattr(packshot.understand, "understand", forbidden)
    monkeypatch.setattr(packshot.pipeline, "load_image", forbidden)
    res = _run(rendered.parent / "prod.png", "--brief", rendered.parent / "brief.yaml", "--out", frames)
    assert res.exit_code == 0, res.output
    assert "prod: 0 frames written, 2 up to date" in res.output
    # a changed brief (seed) redoes the frames only: the cut-out and maps are shared by every scene
    changed = tmp_path / "brief2.yaml"
    changed.write_text(yaml.safe_dump({**BRIEF, "defaults": {**BRIEF["defaults"], "seed": 4}}))
    res = _run(rendered.parent / "prod.png", "--brief", changed, "--out", frames)
    assert res.exit_code == 0 and "prod: 2 frames written, 0 up to date" in res.output, res.output
    # a changed photo is not up to date: the model work runs again (and is forbidden here)
    other = tmp_path / "other" / "prod.png"
    other.parent.mkdir()
    other.write_bytes((rendered.parent / "prod.png").read_bytes() + b"\0")
    res = _run(other, "--brief", changed, "--out", frames, "--workers", "1")  # in this process: the patch holds
    assert res.exit_code == 1 and "model work on an unchanged rerun" in res.output


# -- 3: one run per output folder ----------------------------------------------------------------------
def test_second_run_into_a_locked_folder_refuses_or_waits(rendered, tmp_path):
    out = tmp_path / "out"
    photo, brief = rendered.parent / "prod.png", rendered.parent / "brief.yaml"
    with OutputLock(out, command="packshot run --seed 7"):
        res = _run(photo, "--brief", brief, "--out", out)
        assert res.exit_code == 3
        assert f"pid {os.getpid()}" in res.output and "--seed 7" in res.output and "--wait" in res.output
        assert not (out / "prod").exists()
    lock = OutputLock(out).acquire()
    threading.Timer(1.0, lock.release).start()
    t0 = time.monotonic()
    res = _run(photo, "--brief", brief, "--out", out, "--wait")
    assert res.exit_code == 0, res.output
    assert time.monotonic() - t0 >= 0.9
    assert (out / "prod" / "white" / "v0.png").is_file() and not (out / LOCK_NAME).exists()


# -- 13: temp files of a killed run are cleaned by the next run ----------------------------------------
def test_next_run_removes_temp_files_left_by_a_killed_run(rendered, tmp_path):
    frames = tmp_path / "frames"
    shutil.copytree(rendered, frames)
    left = [frames / "prod" / "white" / ".v0.png.k1ll3d_x.tmp", frames / "prod" / "maps" / ".normals.png.abcd1234.tmp"]
    for p in left:
        p.write_bytes(b"half a file")
    (frames / LOCK_NAME).write_text(json.dumps({"pid": 999999999, "host": __import__("socket").gethostname()}))
    res = _run(rendered.parent / "prod.png", "--brief", rendered.parent / "brief.yaml", "--out", frames)
    assert res.exit_code == 0, res.output
    assert not any(p.exists() for p in left) and not (frames / LOCK_NAME).exists()
    assert _tree(frames) == _tree(rendered)


def test_a_job_store_can_keep_the_run_records(rendered, tmp_path, monkeypatch):
    """process_photo's records= takes any load/save store (the catalogue runner's database)."""
    import packshot.segment
    from packshot.condition import load_brief
    from packshot.integrity import is_up_to_date
    from packshot.pipeline import process_photo

    class Store:
        def __init__(self):
            self.rows = {}

        def load(self, out, sku):
            return self.rows.get((str(out), sku))

        def save(self, out, sku, record):
            self.rows[(str(out), sku)] = json.loads(json.dumps(record))

    frames = tmp_path / "frames"
    brief = load_brief(rendered.parent / "brief.yaml")
    process_photo(rendered.parent / "prod.png", brief, frames)  # frames of the library call, recorded in run.json
    (frames / "prod" / "run.json").unlink()
    store = Store()
    first = process_photo(rendered.parent / "prod.png", brief, frames, records=store)
    assert len(first.skipped) == 2 and not (frames / "prod" / "run.json").exists()
    record = store.rows[(str(frames), "prod")]
    assert is_up_to_date(record, record["key"], frames / "prod") and "white/v0.png" in record["outputs"]
    monkeypatch.setattr(packshot.segment, "segment", lambda *a, **k: pytest.fail("model work"))
    again = process_photo(rendered.parent / "prod.png", brief, frames, records=store)
    assert len(again.skipped) == 2 and again.frames == []


def test_rerun_with_qa_checks_frames_an_earlier_run_rendered(rendered, tmp_path):
    frames = tmp_path / "frames"
    shutil.copytree(rendered, frames)
    res = _run(rendered.parent / "prod.png", "--brief", rendered.parent / "brief.yaml", "--out", frames, "--qa")
    assert res.exit_code == 0, res.output
    assert "0 frames written, 2 up to date" in res.output
    for v in ("v0", "v1"):
        assert json.loads((frames / "prod" / "white" / f"{v}_qa.json").read_text())["verdict"] in ("pass", "review", "fail")
    from packshot.catalogue.store import JobStore

    with JobStore(frames, readonly=True) as store:  # the job store (not a run.json) records the checks
        qa = {u["frame"]: u for u in store.units("kind='qa'")}
    assert set(qa) == {"prod/white/v0", "prod/white/v1"} and all(u["status"] == "done" for u in qa.values())
    assert qa["prod/white/v0"]["outputs"]["report"]["path"] == "prod/white/v0_qa.json"


def test_a_run_from_another_photo_with_the_same_sku_says_what_it_replaced(rendered, tmp_path, photo_bytes):
    frames = tmp_path / "frames"
    shutil.copytree(rendered, frames)
    other = tmp_path / "elsewhere" / "prod.jpg"
    other.parent.mkdir()
    other.write_bytes(photo_bytes["jpg"])
    res = _run(other, "--brief", rendered.parent / "brief.yaml", "--out", frames)
    assert res.exit_code == 0, res.output
    assert f"replaced the outputs an earlier run made from {rendered.parent / 'prod.png'}" in res.output
