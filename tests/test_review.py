"""The review pages and their store: queue filters and pages, the frame page, decisions with who and when,
re-render requests, bulk approve, persistence, cached thumbnails and ``packshot export --approved``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

pytest.importorskip("fastapi")

from fastapi.testclient import TestClient  # noqa: E402

from packshot.web.app import AppSettings, create_app  # noqa: E402
from packshot.web.sample_run import frame_ids, make_sample_run  # noqa: E402
from packshot.web.store import (ReviewStore, approved_frames, index_folder, keep_approved,  # noqa: E402
                                rerender_requests, store_path)

BASE = "http://127.0.0.1:8000"


@pytest.fixture()
def run(tmp_path) -> Path:
    return make_sample_run(tmp_path, skus=3, scenes=("hero", "podium"), variants=2)


def client_for(run: Path, **kw) -> TestClient:
    c = TestClient(create_app(AppSettings(review_dir=run, preload_models=False, **kw)), base_url=BASE)
    c.get("/")
    return c


def post(c: TestClient, url: str, **fields):
    return c.post(url, data={"csrf_token": c.cookies.get("packshot_csrf"), **fields},
                  headers={"Accept": "application/json"})


# --------------------------------------------------------------------------------------------- store
def test_index_reads_verdicts_and_updates_incrementally(run):
    store = ReviewStore(store_path(run))
    first = index_folder(run, store)
    assert first == {"frames": 12, "read": 12, "removed": 0, "synced": 0}
    assert index_folder(run, store)["read"] == 0  # nothing changed, nothing read again
    counts = store.counts()["verdict"]
    assert counts == {"pass": 6, "review": 3, "fail": 3}
    row = store.frame("sku-00000/hero/v0")
    assert row["verdict"] == "pass" and row["reasons"] == []
    fail = [r for r in store.query(verdict="fail")[0]][0]
    assert "critical token" in fail["reasons"][0]
    # a QA report rewritten: only that frame is read again
    qa = run / "sku-00001" / "podium" / "v1_qa.json"
    doc = json.loads(qa.read_text())
    doc.update(verdict="pass", reasons=[])
    qa.write_text(json.dumps(doc) + " ")
    assert index_folder(run, store)["read"] == 1
    # a frame removed from the folder leaves the index
    for suffix in (".json", ".png"):
        (run / "sku-00002" / "hero" / f"v0{suffix}").unlink()
    assert index_folder(run, store)["removed"] == 1
    assert store.frame("sku-00002/hero/v0") is None


def test_decisions_keep_who_when_and_history(run):
    store = ReviewStore(store_path(run))
    index_folder(run, store)
    fid = "sku-00000/hero/v1"
    store.decide(fid, "rejected", "ann", comment="label is blurred", at="2026-01-01T10:00:00Z")
    store.decide(fid, "rerender", "bob", comment="new light", seed=123, box=(1, 2, 30, 40), brief_change="floor: 0.1")
    store.decide(fid, "approved", "cy")
    history = store.history(fid)
    assert [d.decision for d in history] == ["rejected", "rerender", "approved"]
    assert history[0].who == "ann" and history[0].at == "2026-01-01T10:00:00Z"
    assert history[1].seed == 123 and history[1].box == (1, 2, 30, 40) and history[1].brief_change == "floor: 0.1"
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", history[2].at)
    assert store.frame(fid)["decision"] == "approved" and store.frame(fid)["decided_by"] == "cy"
    assert approved_frames(run) == {fid}
    with pytest.raises(ValueError, match="decision"):
        store.decide(fid, "maybe", "ann")
    with pytest.raises(ValueError, match="who"):
        store.decide(fid, "approved", " ")


def test_rerender_requests_are_read_back(run):
    store = ReviewStore(store_path(run))
    index_folder(run, store)
    store.decide("sku-00001/hero/v0", "rerender", "ann", comment="tilt", seed=9, box=(5, 6, 70, 80))
    store.decide("sku-00002/hero/v0", "rerender", "ann", comment="x")
    store.decide("sku-00002/hero/v0", "approved", "bob")  # superseded: no longer a request
    requests = rerender_requests(run)
    assert [(r.frame, r.seed, r.box, r.comment) for r in requests] == [("sku-00001/hero/v0", 9, (5, 6, 70, 80), "tilt")]


# --------------------------------------------------------------------------------------------- queue
def test_queue_lists_filters_and_pages(run, monkeypatch):
    import packshot.web.review as review_module

    monkeypatch.setattr(review_module, "PAGE_SIZE", 5)
    with client_for(run) as c:
        r = c.get("/")
        assert r.status_code == 200
        cards = re.findall(r'data-frame="([^"]+)"', r.text)
        assert cards == frame_ids(run)[:5]
        assert "page 1 of 3" in r.text
        page3 = re.findall(r'class="card[^"]*" data-frame="([^"]+)"', c.get("/?page=3").text)
        assert page3 == frame_ids(run)[10:]
        fails = re.findall(r'class="card[^"]*" data-frame="([^"]+)"', c.get("/?verdict=fail").text)
        assert len(fails) == 3
        one = re.findall(r'class="card[^"]*" data-frame="([^"]+)"', c.get("/?sku=sku-00001&scene=podium").text)
        assert one == ["sku-00001/podium/v0", "sku-00001/podium/v1"]
        assert c.get("/?verdict=bogus").status_code == 400
        assert c.get("/?decision=bogus").status_code == 400
        assert c.get("/?page=x").status_code == 400
        assert "/thumb/sku-00000/hero/v0" in r.text


def test_thumbnails_are_made_once_and_cached(run):
    with client_for(run) as c:
        r = c.get("/thumb/sku-00000/hero/v0")
        assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
        cached = list((run / ".packshot" / "thumbs").glob("*.jpg"))
        assert len(cached) == 1
        stamp = cached[0].stat().st_mtime_ns
        assert c.get("/thumb/sku-00000/hero/v0").content == r.content
        assert cached[0].stat().st_mtime_ns == stamp  # served from the cache, not made again


# --------------------------------------------------------------------------------------------- frame page
def test_frame_page_shows_everything(run):
    with client_for(run) as c:
        r = c.get("/frame/sku-00000/hero/v1?verdict=pass")
        assert r.status_code == 200
        html = r.text
        for needle in ('src="/file/sku-00000/hero/v1.png"', "/photo/sku-00000/hero/v1", "/cutout/sku-00000/hero/v1",
                       "difference heat map", "OCR boxes (1)", "silhouette outline", "Every check passed",
                       'data-next="sku-00001/hero/v0"', 'data-prev="sku-00000/hero/v0"', "Ask for a re-render",
                       "No master artwork"):
            assert needle in html, needle
        # the reasons of a failed frame, in words
        fail = c.get("/frame/sku-00000/podium/v1").text
        assert "Label text (critical): critical token" in fail
        for url in ("/photo/sku-00000/hero/v1", "/cutout/sku-00000/hero/v1", "/layer/sku-00000/hero/v1/outline.png",
                    "/layer/sku-00000/hero/v1/heat.png"):
            got = c.get(url)
            assert got.status_code == 200 and got.headers["content-type"].startswith("image/"), url
        assert c.get("/photo-size/sku-00000/hero/v1").json() == {"width": 256, "height": 256}
        assert c.get("/master/sku-00000/hero/v1").status_code == 404


def test_outline_layer_marks_the_product_edge(run):
    import io

    import numpy as np
    from PIL import Image

    with client_for(run) as c:
        img = np.asarray(Image.open(io.BytesIO(c.get("/layer/sku-00000/hero/v0/outline.png").content)))
    alpha = np.asarray(Image.open(run / "sku-00000" / "hero" / "v0_alpha.png")) > 127
    drawn = img[..., 3] > 0
    assert drawn.any()
    assert not drawn[alpha.shape[0] // 2 - 3: alpha.shape[0] // 2 + 3, :].all()  # a line, not a fill
    ys, xs = np.nonzero(alpha)
    assert drawn[ys.min(), (xs.min() + xs.max()) // 2]  # the top edge is on it


# --------------------------------------------------------------------------------------------- decisions
def test_approve_reject_rerender_persist_across_restarts(run):
    with client_for(run) as c:
        r = post(c, "/decide/sku-00000/hero/v0", decision="approve", who="ann")
        assert r.status_code == 200 and r.json()["who"] == "ann"
        r = post(c, "/decide/sku-00000/hero/v1", decision="reject", who="ann", comment="logo cut off")
        assert r.json()["decision"] == "rejected"
        r = post(c, "/decide/sku-00001/hero/v0", decision="rerender", who="bob", comment="softer shadow",
                 seed="4242", box="10,20,200,220", brief_change="lighting: {softness: 0.9}")
        assert r.json()["seed"] == 4242 and r.json()["box"] == [10, 20, 200, 220]
    with client_for(run) as c:  # a new process over the same folder
        page = c.get("/frame/sku-00000/hero/v1").text
        assert "logo cut off" in page and "rejected by ann" in page
        queue = c.get("/?decision=approved").text
        assert re.findall(r'class="card[^"]*" data-frame="([^"]+)"', queue) == ["sku-00000/hero/v0"]
        assert "rerender" in c.get("/frame/sku-00001/hero/v0").text
    [req] = rerender_requests(run)
    assert req.brief_change == "lighting: {softness: 0.9}" and req.who == "bob"


@pytest.mark.parametrize("fields,status,words", [
    ({"decision": "reject"}, 400, "say why"),
    ({"decision": "maybe"}, 400, "approve, reject or rerender"),
    ({"decision": "rerender"}, 400, "needs a note"),
    ({"decision": "rerender", "seed": "abc"}, 400, "whole number"),
    ({"decision": "rerender", "seed": str(2 ** 33)}, 400, "0..2^32-1"),
    ({"decision": "rerender", "box": "1,2,3"}, 400, "four numbers"),
    ({"decision": "approve", "who": "<script>"}, 400, "reviewer name"),
])
def test_bad_decisions_are_refused(run, fields, status, words):
    with client_for(run) as c:
        r = post(c, "/decide/sku-00000/hero/v0", **fields)
        assert r.status_code == status and words in r.json()["error"]
        assert post(c, "/decide/sku-00000/hero/v9", decision="approve").status_code == 404


def test_form_post_without_javascript_redirects_back(run):
    with client_for(run) as c:
        r = c.post("/decide/sku-00000/hero/v0", data={"decision": "approve", "who": "ann",
                                                      "csrf_token": c.cookies.get("packshot_csrf")},
                   follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/frame/sku-00000/hero/v0"


def test_bulk_approve_takes_passed_undecided_frames_only(run):
    with client_for(run) as c:
        post(c, "/decide/sku-00000/hero/v0", decision="reject", who="ann", comment="no")
        r = post(c, "/bulk-approve", who="bob")
        assert r.json()["approved"] == 5  # 6 passed, one already rejected
        store = c.app.state.review.store
        assert store.frame("sku-00000/hero/v0")["decision"] == "rejected"
        assert all(row["verdict"] == "pass" for row in store.query(decision="approved")[0])
        assert post(c, "/bulk-approve", who="bob", verdict="fail").status_code == 400
        assert post(c, "/bulk-approve", who="bob", sku="sku-00001").json()["approved"] == 0


def test_rescan_picks_up_new_frames(run, tmp_path):
    with client_for(run) as c:
        make_sample_run(tmp_path, skus=4, scenes=("hero", "podium"), variants=2)  # rewrites all, adds one SKU
        assert post(c, "/rescan").json()["frames"] == 16
        assert c.get("/frame/sku-00003/hero/v0").status_code == 200


# --------------------------------------------------------------------------------------------- export --approved
def test_keep_approved(run):
    store = ReviewStore(store_path(run))
    index_folder(run, store)
    store.decide("sku-00000/hero/v0", "approved", "ann")
    store.decide("sku-00000/hero/v1", "rejected", "ann", comment="no")
    sidecars = sorted(run.glob("sku-00000/hero/v?.json"))
    kept, held = keep_approved([*sidecars, run / "sku-00000" / "cutout.png"])
    assert kept == [run / "sku-00000" / "hero" / "v0.json"]
    reasons = {p.name: why for p, why in held}
    assert reasons["v1.json"].startswith("rejected by ann")
    assert "no sidecar" in reasons["cutout.png"]


def test_export_approved_delivers_only_approved_frames(run, tmp_path):
    from typer.testing import CliRunner

    from packshot.cli import app

    store = ReviewStore(store_path(run))
    index_folder(run, store)
    store.decide("sku-00001/podium/v0", "approved", "ann")
    store.decide("sku-00001/podium/v1", "rerender", "ann", comment="again")
    dest = tmp_path / "delivered"
    result = CliRunner().invoke(app, ["export", str(run / "sku-00001"), "--approved", "-p", "shopify", "-d", str(dest),
                                      "--upscaler", "none"])
    assert result.exit_code == 0, result.output
    delivered = sorted(p.name for p in dest.rglob("*") if p.is_file() and p.suffix in (".jpg", ".png", ".webp"))
    assert delivered and all("podium_v0" in name for name in delivered), delivered
    assert "held back" in result.output
    nothing = CliRunner().invoke(app, ["export", str(run / "sku-00002"), "--approved", "-p", "shopify",
                                       "-d", str(tmp_path / "none"), "--upscaler", "none"])
    assert nothing.exit_code == 1 and "no frame is approved" in nothing.output


# --------------------------------------------------------------------------------------------- the catalogue's job store
def test_decisions_go_to_the_catalogue_job_store(run, tmp_path):
    """A catalogue output folder (DIR/packshot.db): decisions are written there first, decisions made there by
    anyone else show up after a rescan, and the SKU's stored photo and master are shown."""
    import shutil

    from packshot.catalogue.store import JobStore

    sources = run / "sources"
    sources.mkdir()
    shutil.copy(tmp_path / "photos" / "sku-00002.png", sources / "abc.png")
    shutil.copy(tmp_path / "photos" / "sku-00002.png", sources / "master.png")
    (tmp_path / "photos" / "sku-00002.png").unlink()  # the sidecar's photo path no longer exists
    with JobStore(run) as js:
        run_id = js.start_run("local")
        js.upsert_skus(run_id, [{"sku": "sku-00002", "row": 1, "photo": "sources/abc.png", "photo_sha256": "x",
                                 "master": "sources/master.png", "master_sha256": "y", "title": "", "category": "",
                                 "profiles": [], "data": {}}])
        js.add_decision("sku-00001/hero/v0", "approve", who="carol", at="2026-01-02T00:00:00+00:00")
    with client_for(run) as c:
        # made in the job store before the app started: replayed at start-up
        assert c.app.state.review.store.frame("sku-00001/hero/v0")["decided_by"] == "carol"
        r = post(c, "/decide/sku-00002/hero/v1", decision="rerender", who="ann", comment="again", seed="11",
                 box="1,2,30,40")
        assert r.status_code == 200
        page = c.get("/frame/sku-00002/hero/v1").text
        assert "/master/sku-00002/hero/v1" in page and "/photo/sku-00002/hero/v1" in page
        assert c.get("/photo/sku-00002/hero/v1").status_code == 200
        assert c.get("/master/sku-00002/hero/v1").status_code == 200
        with JobStore(run) as js:
            js.add_decision("sku-00000/hero/v0", "reject", comment="seen elsewhere", who="dave")
        assert post(c, "/rescan").json()["synced"] == 1
        assert "seen elsewhere" in c.get("/frame/sku-00000/hero/v0").text
    with JobStore(run, readonly=True) as js:
        rows = js.decisions()
    assert [(r["frame"], r["decision"], r["who"]) for r in rows] == [
        ("sku-00001/hero/v0", "approve", "carol"), ("sku-00002/hero/v1", "rerender", "ann"),
        ("sku-00000/hero/v0", "reject", "dave")]
    assert json.loads(rows[1]["note"]) == {"seed": 11, "box": [1, 2, 30, 40], "brief_change": ""}
    assert approved_frames(run) == {"sku-00001/hero/v0"}
    [req] = rerender_requests(run)
    assert req.frame == "sku-00002/hero/v1" and req.seed == 11 and req.box == (1, 2, 30, 40)


def test_a_full_page_of_thumbnails_is_never_refused(tmp_path):
    """60 thumbnails requested at once (what a browser does on the first visit) are all made, none 429."""
    import asyncio

    import httpx

    run = make_sample_run(tmp_path, skus=8, scenes=("hero", "podium"), variants=4, reuse_images=True)
    app = create_app(AppSettings(review_dir=run, preload_models=False, workers=1, queue=0))

    async def burst():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as c:
            return await asyncio.gather(*(c.get(f"/thumb/{fid}") for fid in frame_ids(run)[:60]))

    assert [r.status_code for r in asyncio.run(burst())] == [200] * 60


def test_unreadable_source_photo_is_a_clean_error(run, tmp_path):
    (tmp_path / "photos" / "sku-00000.png").write_text("not an image")
    with client_for(run) as c:
        r = c.get("/photo/sku-00000/hero/v0")
        assert r.status_code == 422 and "cannot be read" in r.json()["error"]
        assert c.get("/photo-size/sku-00000/hero/v0").status_code == 422


def test_review_cli_refuses_a_missing_folder(tmp_path):
    from packshot.cli import main

    assert main(["review", str(tmp_path / "nope")]) == 2


def test_review_requests_are_counted_in_metrics(run):
    with client_for(run) as c:
        c.get("/frame/sku-00000/hero/v0")
        text = c.get("/metrics").text
    assert 'route="/frame/{fid:path}",status="200"' in text
    assert 'route="/",status="200"' in text


def test_queue_shows_reasons_in_words(run):
    with client_for(run) as c:
        text = c.get("/?verdict=review").text
    assert "Colour (mean de): mean deltaE2000 on the product interior 3.40" in text


def test_rescan_button_posts_with_csrf(run, tmp_path):
    with client_for(run) as c:
        page = c.get("/").text
        assert 'action="/rescan"' in page and f'value="{c.cookies.get("packshot_csrf")}"' in page
        r = c.post("/rescan", data={"csrf_token": c.cookies.get("packshot_csrf")}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/"
