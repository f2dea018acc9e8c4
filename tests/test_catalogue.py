"""Catalogue runner end to end on a tiny generated catalogue: outputs and reports, cache hits,
targeted invalidation, one SKU failing while the rest succeed, two runs on one folder, SIGKILL of
the parent mid-run then resume (every unit finished once, outputs byte-identical)."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from packshot.catalogue import LockedError, OutputLock, RunSettings, run_catalogue
from packshot.samples import make_product, write_sample

REPO = Path(__file__).resolve().parents[1]
SETTINGS = RunSettings(upscaler=None)  # plain interpolation: no super-resolution at test sizes
PROFILES = ("meta-square",)

BRIEF = """name: tiny
defaults:
  sizes: ["160x160"]
  variants: 1
  seed: 3
scenes:
  - {name: studio, preset: studio-white}
  - {name: marble, preset: marble, lighting: {azimuth: 150, elevation: 40}}
"""


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory):
    """Three SKUs (the third photo is corrupt), a two-scene brief, and one finished run."""
    root = tmp_path_factory.mktemp("catalogue")
    rows = ["sku,photo,master,title"]
    for i, kind in enumerate(("bottle", "box")):
        s = make_product(kind, seed=i, size=(224, 224))
        write_sample(s, root / "photos", name=f"p{i}")
        rows.append(f"SKU-{i},photos/p{i}.png,photos/p{i}_master.png,Product {i}")
    good = (root / "photos" / "p0.png").read_bytes()
    (root / "photos" / "broken.png").write_bytes(good[: len(good) // 3])  # truncated PNG
    rows.append("SKU-BAD,photos/broken.png,,Broken")
    (root / "manifest.csv").write_text("\n".join(rows) + "\n")
    (root / "brief.yaml").write_text(BRIEF)
    out = root / "out"
    outcome = run_catalogue(root / "manifest.csv", out, brief=root / "brief.yaml", profiles=PROFILES,
                            settings=SETTINGS, workers=2, progress=False)
    return root, out, outcome


def _units(out: Path) -> dict[str, dict]:
    con = sqlite3.connect(out / "packshot.db")
    con.row_factory = sqlite3.Row
    try:
        return {r["id"]: dict(r) for r in con.execute("SELECT * FROM units")}
    finally:
        con.close()


def _tree(out: Path) -> dict[str, bytes]:
    """Every output file but the job store, the lock and the run-stamped report."""
    skip = {"packshot.db", "packshot.db-wal", "packshot.db-shm", ".packshot.lock", "report.html",
            "timings.log"}  # wall-clock timings, by design
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and p.name not in skip}


def test_one_sku_fails_the_rest_succeed(catalogue):
    root, out, outcome = catalogue
    units = _units(out)
    assert outcome.exit_code == 1
    good = [u for u in units.values() if u["sku"] != "SKU-BAD"]
    assert len(good) == 2 * (2 + 2 * 3)  # cutout, maps + 2 scenes x (frame, qa, 1 export)
    assert all(u["status"] == "done" and u["completions"] == 1 for u in good), \
        [(u["id"], u["status"], u["error"]) for u in good if u["status"] != "done"]
    assert units["cutout:SKU-BAD"]["status"] == "failed"
    assert "broken.png" in units["cutout:SKU-BAD"]["error"] or "sources/" in units["cutout:SKU-BAD"]["error"]
    blocked = [u for u in units.values() if u["sku"] == "SKU-BAD" and u["id"] != "cutout:SKU-BAD"]
    assert blocked and all(u["status"] == "blocked" for u in blocked)
    assert outcome.failed == 1 and outcome.blocked == len(blocked)


def test_outputs_layout_and_sources(catalogue):
    root, out, _ = catalogue
    for sku in ("SKU-0", "SKU-1"):
        assert (out / sku / "cutout.png").is_file() and (out / sku / "maps" / "maps.json").is_file()
        for scene in ("studio", "marble"):
            for suffix in (".png", ".json", "_alpha.png", "_qa.json"):
                assert (out / sku / scene / f"v0{suffix}").is_file()
            assert (out / "export" / f"{sku}_{scene}_v0_meta-square.jpg").is_file()
    from packshot.provenance import sha256_file

    for name in ("p0.png", "p0_master.png", "p1.png", "broken.png"):
        sha = sha256_file(root / "photos" / name)
        assert (out / "sources" / f"{sha}.png").read_bytes() == (root / "photos" / name).read_bytes()
    record = json.loads((out / "SKU-0" / "studio" / "v0.json").read_text())
    assert record["provenance"]["run_key"] == _units(out)["frame:SKU-0/studio/v0"]["key"]


def test_summary_failures_and_report(catalogue):
    root, out, _ = catalogue
    with open(out / "summary.csv", newline="") as f:
        summary = list(csv.DictReader(f))
    assert {(r["sku"], r["scene"]) for r in summary} == {(s, c) for s in ("SKU-0", "SKU-1", "SKU-BAD")
                                                         for c in ("studio", "marble")}
    bad = [r for r in summary if r["sku"] == "SKU-BAD"]
    assert all(r["status"] == "blocked" and r["row"] == "3" and "cut-out" in r["error"] for r in bad)
    for r in (r for r in summary if r["sku"] != "SKU-BAD"):
        assert r["status"] == "done" and r["qa_verdict"] in ("pass", "review", "fail")
        assert r["exports"] == "1/1" and r["export_files"] == f"export/{r['sku']}_{r['scene']}_v0_meta-square.jpg"
        assert r["frame"] == f"{r['sku']}/{r['scene']}/v0.png" and r["title"].startswith("Product")
    with open(out / "failures.csv", newline="") as f:
        failures = list(csv.DictReader(f))
    cut = [r for r in failures if r["unit"] == "cutout:SKU-BAD"]
    assert len(cut) == 1 and cut[0]["row"] == "3" and cut[0]["stage"] == "cutout"
    assert cut[0]["reason"] and "readable image" in cut[0]["what_to_do"]
    assert all(r["sku"] == "SKU-BAD" for r in failures)
    assert len(failures) == 1 + 1 + 2 * 3  # the cut-out failed; maps and each scene's units blocked
    html = (out / "report.html").read_text()
    for sku in ("SKU-0", "SKU-1", "SKU-BAD"):
        assert f"id='{sku}'" in html
    assert "SKU-0/studio/v0.png" in html and "export/SKU-0_studio_v0_meta-square.jpg" in html
    assert "badge pass" in html or "badge review" in html or "badge fail" in html
    assert "cut-out failed" in html
    # the contact sheet's failures table: one row for the stopped SKU, its blocked units folded in
    table = html.split("<h2>failures</h2>", 1)[1].split("</table>", 1)[0]
    assert table.count("<tr>") == 1 + 1 and "and 7 later units blocked by it" in table
    manifest = json.loads((out / "export" / "packshot-manifest.json").read_text())
    assert len(manifest["files"]) == 4


def test_rerun_with_nothing_changed_does_nothing(catalogue):
    root, out, _ = catalogue
    before = _units(out)
    seen = []
    again = run_catalogue(root / "manifest.csv", out, brief=root / "brief.yaml", profiles=PROFILES,
                          settings=SETTINGS, workers=2, progress=False, on_results=lambda t, r: seen.extend(r))
    after = _units(out)
    # only the broken SKU is tried again (its cut-out failed); nothing that was done is redone
    assert {r.id for r in seen} == {"cutout:SKU-BAD"}
    for uid, u in before.items():
        if u["status"] == "done":
            assert after[uid]["attempts"] == u["attempts"] and after[uid]["completions"] == 1
    assert again.stages["frame"]["up_to_date"] == 4


def _copy_run(catalogue, tmp_path) -> tuple[Path, Path]:
    root, out, _ = catalogue
    dst = tmp_path / "out"
    shutil.copytree(out, dst)
    return root, dst


def test_changing_one_scene_redoes_only_that_scene(catalogue, tmp_path):
    root, out = _copy_run(catalogue, tmp_path)
    brief = tmp_path / "brief.yaml"
    brief.write_text(BRIEF.replace("azimuth: 150", "azimuth: 60"))
    before = _units(out)
    seen = []
    run_catalogue(root / "manifest.csv", out, brief=brief, profiles=PROFILES, settings=SETTINGS, workers=2,
                  progress=False, on_results=lambda t, r: seen.extend(r))
    redone = {r.id for r in seen if r.ok}
    assert redone == {f"{k}:{s}/marble/v0{p}" for s in ("SKU-0", "SKU-1")
                      for k, p in (("frame", ""), ("qa", ""), ("export", "/meta-square"))}
    after = _units(out)
    assert after["frame:SKU-0/studio/v0"]["key"] == before["frame:SKU-0/studio/v0"]["key"]
    assert after["frame:SKU-0/marble/v0"]["key"] != before["frame:SKU-0/marble/v0"]["key"]


def test_adding_a_profile_exports_only(catalogue, tmp_path):
    root, out = _copy_run(catalogue, tmp_path)
    seen = []
    run_catalogue(root / "manifest.csv", out, brief=root / "brief.yaml", profiles=PROFILES + ("amazon-main",),
                  settings=SETTINGS, workers=2, progress=False, on_results=lambda t, r: seen.extend(r))
    redone = {r.id for r in seen if r.ok}
    assert redone == {f"export:{s}/{c}/v0/amazon-main" for s in ("SKU-0", "SKU-1") for c in ("studio", "marble")}
    assert (out / "export" / "SKU-1_marble_v0_amazon-main.jpg").is_file()


def test_a_deleted_output_is_made_again(catalogue, tmp_path):
    root, out = _copy_run(catalogue, tmp_path)
    (out / "SKU-1" / "studio" / "v0_qa.json").unlink()
    seen = []
    run_catalogue(root / "manifest.csv", out, brief=root / "brief.yaml", profiles=PROFILES, settings=SETTINGS,
                  workers=1, progress=False, on_results=lambda t, r: seen.extend(r))
    assert {r.id for r in seen if r.ok} == {"qa:SKU-1/studio/v0"}


def test_second_run_on_the_same_folder_refuses(catalogue, tmp_path):
    root, out = _copy_run(catalogue, tmp_path)
    before = _tree(out)
    with OutputLock(out):  # another run holds the folder
        with pytest.raises(LockedError, match="another packshot run"):
            run_catalogue(root / "manifest.csv", out, brief=root / "brief.yaml", profiles=PROFILES,
                          settings=SETTINGS, progress=False)
        env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
        proc = subprocess.run([sys.executable, "-c", "from packshot.cli import main; raise SystemExit(main())",
                               "catalogue", str(root / "manifest.csv"), "--brief", str(root / "brief.yaml"),
                               "--out", str(out), "-p", "meta-square", "--upscaler", "none"],
                              env=env, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2 and "another packshot run" in proc.stderr
    assert _tree(out) == before


def _children(pid: int) -> list[int]:
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(d.name))
    return out


@pytest.mark.slow  # two CLI runs with worker processes: ~25 s quiet, ~60 s on a loaded machine
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_sigkill_mid_run_then_resume_is_byte_identical(catalogue, tmp_path):
    root, reference, _ = catalogue
    out = tmp_path / "out"
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    cmd = [sys.executable, "-c", "from packshot.cli import main; raise SystemExit(main())", "catalogue",
           str(root / "manifest.csv"), "--brief", str(root / "brief.yaml"), "--out", str(out), "-p", "meta-square",
           "--upscaler", "none", "--workers", "2"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    done_at_kill: set[str] = set()
    workers: list[int] = []
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
        workers = _children(proc.pid) or workers
        if (out / "packshot.db").exists():
            try:
                done = {k for k, u in _units(out).items() if u["status"] == "done"}
            except sqlite3.Error:
                continue
            if len(done) >= 3:  # some units finished, most have not
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
                done_at_kill = {k for k, u in _units(out).items() if u["status"] == "done"}
                break
    assert done_at_kill, "the run finished before it could be killed"
    assert len(done_at_kill) < 16
    assert workers
    t0 = time.monotonic()  # workers die with their parent
    while any(Path(f"/proc/{w}").exists() and "Z" not in Path(f"/proc/{w}/stat").read_text().split()[2]
              for w in workers) and time.monotonic() - t0 < 10:
        time.sleep(0.1)
    assert not [w for w in workers if Path(f"/proc/{w}").exists()
                and "Z" not in Path(f"/proc/{w}/stat").read_text().split()[2]]
    before = _units(out)
    resumed = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 1, resumed.stderr  # SKU-BAD fails again, as in the reference run
    after = _units(out)
    for uid in done_at_kill:  # finished before the kill: not redone
        assert after[uid]["attempts"] == before[uid]["attempts"] and after[uid]["run_id"] == before[uid]["run_id"]
    assert all(u["completions"] == 1 for u in after.values() if u["status"] == "done")
    assert {k: u["status"] for k, u in after.items()} == {k: u["status"] for k, u in _units(reference).items()}
    ref, got = _tree(reference), _tree(out)
    assert sorted(got) == sorted(ref)
    different = [k for k in ref if ref[k] != got[k]]
    assert not different


def test_status_prints_where_the_run_stands(catalogue):
    from typer.testing import CliRunner

    from packshot.cli import app

    root, out, _ = catalogue
    res = CliRunner().invoke(app, ["catalogue", "--status", str(out)])
    assert res.exit_code == 0, res.output
    lines = {line.split()[0]: line.split()[1:] for line in res.output.splitlines() if line.strip()}
    assert lines["frame"][:5] == ["4", "0", "0", "0", "2"]  # done, pending, running, failed, blocked
    assert lines["cutout"][:5] == ["2", "0", "0", "1", "0"]
    assert "units done" in res.output
    missing = CliRunner().invoke(app, ["catalogue", "--status", str(root / "nowhere")])
    assert missing.exit_code == 2


def test_progress_reports_rate_and_eta():
    import io

    from packshot.catalogue.runner import Progress

    stream = io.StringIO()
    bar = Progress(10, stream=stream, every=0.0)
    bar.t0 -= 60.0  # a minute ago
    bar.advance(4, failed=1)
    line = stream.getvalue().strip()
    assert line.startswith("catalogue: 4/10 units, 4 units/min, ETA 90 s") and line.endswith("1 failed")


def test_dest_delivers_every_export_and_re_exports_only(catalogue, tmp_path):
    import dataclasses

    root, out = _copy_run(catalogue, tmp_path)
    remote = tmp_path / "remote"
    seen = []
    outcome = run_catalogue(root / "manifest.csv", out, brief=root / "brief.yaml", profiles=PROFILES,
                            settings=dataclasses.replace(SETTINGS, dest=f"file://{remote}"), workers=1,
                            progress=False, on_results=lambda t, r: seen.extend(r))
    assert {r.id.split(":")[0] for r in seen if r.ok} == {"export"} and len([r for r in seen if r.ok]) == 4
    assert outcome.stages["frame"]["up_to_date"] == 4
    for sku in ("SKU-0", "SKU-1"):
        got = (remote / f"{sku}_studio_v0_meta-square.jpg").read_bytes()
        assert got == (out / "export" / f"{sku}_studio_v0_meta-square.jpg").read_bytes()
