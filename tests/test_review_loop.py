"""The review loop of a catalogue: review required -> held back until approved; re-render requests
from the review app picked up by the next run; and /docs served without a CDN."""

from __future__ import annotations

import re

import pytest

try:  # the /docs tests need the web extra; the catalogue's review loop does not
    from fastapi.testclient import TestClient

    from packshot.web.app import AppSettings, create_app, swagger_ui_dir
    HAVE_DOCS = swagger_ui_dir() is not None
except ImportError:
    HAVE_DOCS = False

BASE = "http://127.0.0.1:8000"
needs_docs = pytest.mark.skipif(not HAVE_DOCS, reason="fastapi and swagger-ui-bundle (the web extra) are not installed")


# ------------------------------------------------------------------------------ /docs offline
def _asset_refs(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+)"', html) + re.findall(r"url:\s*'([^']+)'", html)


@needs_docs
def test_docs_reference_only_local_assets_and_serve_them():
    with TestClient(create_app(AppSettings(preload_models=False)), base_url=BASE) as c:
        r = c.get("/docs")
        assert r.status_code == 200
        html = r.text
        assert "SwaggerUIBundle" in html
        refs = _asset_refs(html)
        assert refs, html
        for ref in refs:
            assert ref.startswith("/") and not ref.startswith("//"), f"/docs references a non-local asset: {ref}"
        assert "cdn" not in html.lower() and "http://" not in html and "https://" not in html
        for ref in refs:
            got = c.get(ref)
            assert got.status_code == 200, ref
            assert got.content, ref
        js = c.get("/docs-assets/swagger-ui-bundle.js")
        assert js.headers["content-type"].startswith("text/javascript")
        assert b"SwaggerUIBundle" in js.content
        assert c.get("/docs-assets/swagger-ui.css").headers["content-type"].startswith("text/css")
        assert c.get("/openapi.json").json()["info"]["title"] == "packshot"
        assert c.get("/redoc").status_code == 404  # its page would load from a CDN: not served


@needs_docs
@pytest.mark.parametrize("path", ["/docs-assets/index.html", "/docs-assets/..%2F__init__.py",
                                  "/docs-assets/%2e%2e%2f%2e%2e%2fsetup.py", "/docs-assets/../app.py",
                                  "/docs-assets/swagger-initializer.js", "/docs-assets/"])
def test_docs_assets_only_the_fixed_files(path):
    with TestClient(create_app(AppSettings(preload_models=False)), base_url=BASE) as c:
        r = c.get(path)
        assert r.status_code == 404
        assert b"import" not in r.content and b"swagger_ui_path" not in r.content


@needs_docs
def test_docs_and_assets_need_the_token_off_loopback():
    app = create_app(AppSettings(preload_models=False, host="0.0.0.0", token="s3cret-token"))
    with TestClient(app, base_url=BASE) as c:
        for path in ("/docs", "/docs-assets/swagger-ui-bundle.js", "/openapi.json"):
            assert c.get(path).status_code == 401, path
            assert c.get(path, headers={"Authorization": "Bearer s3cret-token"}).status_code == 200, path


# ------------------------------------------------------------------------------ the catalogue's review loop
import csv  # noqa: E402
import json  # noqa: E402
import sqlite3  # noqa: E402
from pathlib import Path  # noqa: E402

from packshot.catalogue import RunSettings, run_catalogue  # noqa: E402
from packshot.catalogue.store import JobStore  # noqa: E402
from packshot.samples import make_product, write_sample  # noqa: E402
from packshot.web.store import index_folder, open_store, rerender_requests  # noqa: E402

SETTINGS = RunSettings(upscaler=None, segment_backend="u2netp", qa=False)  # QA: not what these tests are about
PROFILES = ("meta-square",)


class _InlineEngine:
    """Runs each task in this process (the engines have their own tests; here a worker pool's start-up
    and model warm-up per run would be most of the time)."""

    capacity = 1

    def __init__(self, *args, **kwargs):
        self._finished: list = []

    @property
    def inflight(self) -> int:
        return len(self._finished)

    def submit(self, task) -> None:
        from packshot.catalogue.work import run_task

        self._finished.append((task, run_task(task)))

    def wait(self, timeout: float = 0.0):
        finished, self._finished = self._finished, []
        return finished

    def close(self, kill: bool = False) -> None:
        pass


@pytest.fixture(autouse=True)
def _inline_engine(monkeypatch):
    import packshot.catalogue.engines as engines

    monkeypatch.setattr(engines, "make_engine", _InlineEngine)


def _brief(review: str | None, variants: int = 1) -> str:
    head = f"review: {review}\n" if review else ""
    return head + f"""name: loop
defaults:
  sizes: ["128x128"]
  variants: {variants}
  seed: 3
scenes:
  - {{name: studio, preset: studio-white}}
"""


def _catalogue(root: Path, review_col: list[str | None], brief_review: str | None, variants: int = 1) -> Path:
    rows = ["sku,photo,title,review"]
    for i, review in enumerate(review_col):
        s = make_product(("bottle", "box")[i % 2], seed=i, size=(192, 192))
        write_sample(s, root / "photos", name=f"p{i}")
        rows.append(f"SKU-{i},photos/p{i}.png,Product {i},{review or ''}")
    (root / "manifest.csv").write_text("\n".join(rows) + "\n")
    (root / "brief.yaml").write_text(_brief(brief_review, variants))
    return root / "manifest.csv"


def _run(root: Path, out: Path):
    return run_catalogue(root / "manifest.csv", out, brief=root / "brief.yaml", profiles=PROFILES,
                         settings=SETTINGS, workers=1, progress=False)


def _units(out: Path) -> dict[str, dict]:
    con = sqlite3.connect(out / "packshot.db")
    con.row_factory = sqlite3.Row
    try:
        return {r["id"]: dict(r) for r in con.execute("SELECT * FROM units")}
    finally:
        con.close()


def _summary(out: Path) -> dict[str, dict]:
    with open(out / "summary.csv", newline="") as fh:
        return {r["frame"]: r for r in csv.DictReader(fh)}


def _exported(out: Path) -> list[str]:
    return sorted(p.name for p in (out / "export").glob("*") if p.name != "packshot-manifest.json")


def test_review_required_holds_exports_until_approved(tmp_path):
    # SKU-0 follows the brief (review required); SKU-1's row turns review off
    _catalogue(tmp_path, [None, "none"], "required", variants=2)
    out = tmp_path / "out"
    first = _run(tmp_path, out)
    assert first.exit_code == 0, (first.failed, first.blocked, first.row_errors)
    assert first.frames_awaiting_review == ["SKU-0/studio/v0", "SKU-0/studio/v1"]
    assert all(r.startswith("awaiting review: not reviewed yet") for r in first.awaiting_review.values())
    assert first.stages["export"]["awaiting_review"] == 2 and first.stages["export"]["done"] == 2
    units = _units(out)
    assert units["export:SKU-0/studio/v0/meta-square"]["status"] == "awaiting_review"
    assert units["export:SKU-1/studio/v0/meta-square"]["status"] == "done"
    assert all(n.startswith("SKU-1_") for n in _exported(out)) and len(_exported(out)) == 2
    summary = _summary(out)
    assert summary["SKU-0/studio/v0.png"]["review"] == "awaiting review"
    assert summary["SKU-1/studio/v0.png"]["review"] == ""
    assert list(csv.DictReader(open(out / "failures.csv"))) == []  # held back is not a failure
    report = (out / "report.html").read_text()
    assert "2 frames awaiting review" in report and f"Run {first.run_id} (local)" in report
    from packshot.catalogue.report import status_text

    assert "2 exports awaiting review" in status_text(out)

    # a reviewer approves one frame and rejects the other in the review app (decisions go to the job store)
    store = open_store(out)
    index_folder(out, store)
    store.decide("SKU-0/studio/v0", "approved", who="ana")
    store.decide("SKU-0/studio/v1", "rejected", who="ana", comment="label cut off")
    store.close()

    second = _run(tmp_path, out)
    assert second.exit_code == 0
    assert second.todo == 1  # the newly approved export, nothing else
    assert second.stages["frame"]["up_to_date"] == 4 and second.stages["export"]["done"] == 1
    assert second.stages["export"]["up_to_date"] == 2
    assert second.frames_awaiting_review == ["SKU-0/studio/v1"]
    assert "rejected by ana: label cut off" in second.awaiting_review["export:SKU-0/studio/v1/meta-square"]
    names = _exported(out)
    assert any(n.startswith("SKU-0_studio_v0") for n in names)
    assert not any(n.startswith("SKU-0_studio_v1") for n in names)
    summary = _summary(out)
    assert summary["SKU-0/studio/v0.png"]["review"] == "approved"
    assert summary["SKU-0/studio/v1.png"]["review"] == "awaiting review"
    manifest = json.loads((out / "export" / "packshot-manifest.json").read_text())
    assert {f["frame"] for f in manifest["files"]} == {"SKU-0/studio/v0", "SKU-1/studio/v0", "SKU-1/studio/v1"}

    third = _run(tmp_path, out)  # nothing new approved: nothing to do
    assert third.todo == 0 and third.exit_code == 0 and len(third.awaiting_review) == 1

    # an approval of an older render does not count: a changed brief re-renders SKU-0's frames
    (tmp_path / "brief.yaml").write_text(_brief("required", 2).replace("seed: 3", "seed: 5"))
    fourth = _run(tmp_path, out)
    assert fourth.frames_awaiting_review == ["SKU-0/studio/v0", "SKU-0/studio/v1"]
    assert "rendered again" in fourth.awaiting_review["export:SKU-0/studio/v0/meta-square"]
    fifth = _run(tmp_path, out)
    assert "older render" in fifth.awaiting_review["export:SKU-0/studio/v0/meta-square"]


def test_manifest_review_column_alone_and_bad_value(tmp_path):
    _catalogue(tmp_path, ["required", "maybe"], None)
    out = tmp_path / "out"
    outcome = _run(tmp_path, out)
    assert [e.field for e in outcome.row_errors] == ["review"] and outcome.row_errors[0].sku == "SKU-1"
    assert "'maybe'" in outcome.row_errors[0].problem
    assert outcome.frames_awaiting_review == ["SKU-0/studio/v0"]
    assert _exported(out) == []


def test_brief_review_key_is_validated(tmp_path):
    from packshot.condition import load_brief
    from packshot.errors import InputError

    (tmp_path / "b.yaml").write_text(_brief("sometimes"))
    with pytest.raises(InputError, match="review"):
        load_brief(tmp_path / "b.yaml")
    (tmp_path / "b.yaml").write_text(_brief("required"))
    assert load_brief(tmp_path / "b.yaml").review == "required"
    (tmp_path / "b.yaml").write_text(_brief(None))
    assert load_brief(tmp_path / "b.yaml").review == "none"


def test_rerender_request_with_seed_then_box(tmp_path):
    _catalogue(tmp_path, [None], None, variants=2)
    out = tmp_path / "out"
    first = _run(tmp_path, out)
    assert first.exit_code == 0
    v0, v1 = out / "SKU-0/studio/v0.png", out / "SKU-0/studio/v1.png"
    before_v0, before_v1 = v0.read_bytes(), v1.read_bytes()

    store = open_store(out)
    index_folder(out, store)
    store.decide("SKU-0/studio/v0", "rerender", who="ben", comment="too plain", seed=99,
                 brief_change="warmer light")
    store.close()
    assert [d.frame for d in rerender_requests(out)] == ["SKU-0/studio/v0"]

    second = _run(tmp_path, out)
    assert second.exit_code == 0
    assert [(r.frame, r.seed, r.box, r.brief_change) for r in second.rerenders] == \
        [("SKU-0/studio/v0", 99, None, "warmer light")]
    units = _units(out)
    assert units["frame:SKU-0/studio/v0"]["run_id"] == second.run_id
    assert units["frame:SKU-0/studio/v1"]["run_id"] == first.run_id  # the other frame is up to date
    assert second.stages["frame"]["done"] == 1 and second.stages["cutout"]["up_to_date"] == 1
    assert v0.read_bytes() != before_v0 and v1.read_bytes() == before_v1
    record = json.loads((out / "SKU-0/studio/v0.json").read_text())
    assert 99 in _find_ints(record, "seed")
    with JobStore(out, readonly=True) as js:
        rows = js.decisions("SKU-0/studio/v0")
    assert rows[-1]["decision"] == "rerender" and rows[-1]["handled_run"] == second.run_id
    assert rerender_requests(out) == []  # handled
    store = open_store(out)
    index_folder(out, store)
    assert store.frame("SKU-0/studio/v0")["decision"] is None  # back in the queue, undecided
    assert [d.decision for d in store.history("SKU-0/studio/v0")] == ["rerender"]  # history kept
    store.close()

    third = _run(tmp_path, out)  # the seed is kept: nothing to redo, nothing applied twice
    assert third.todo == 0 and third.rerenders == []

    # a box drawn on the photo: the SKU is cut out again with that prompt, every frame redone
    store = open_store(out)
    index_folder(out, store)
    store.decide("SKU-0/studio/v1", "rerender", who="ben", box=(8, 8, 184, 184))
    store.close()
    fourth = _run(tmp_path, out)
    assert fourth.exit_code == 0, [u for u in _units(out).values() if u["status"] != "done"]
    units = _units(out)
    assert units["cutout:SKU-0"]["run_id"] == fourth.run_id
    assert units["frame:SKU-0/studio/v0"]["run_id"] == fourth.run_id
    assert units["frame:SKU-0/studio/v1"]["run_id"] == fourth.run_id
    with JobStore(out, readonly=True) as js:
        assert js.overrides()[("SKU-0", "prompt")] == {"box": [8, 8, 184, 184]}
        assert js.overrides()[("SKU-0/studio/v0", "seed")] == 99  # the earlier seed stays
    from packshot.segment.io import load_cutout

    prov = load_cutout(out / "SKU-0" / "cutout.png").provenance
    assert prov["params"]["prompt"]["box"] == [8, 8, 184, 184]  # the new cut-out used the drawn box
    assert _run(tmp_path, out).todo == 0


def test_rerender_without_seed_or_box_takes_the_next_seed(tmp_path):
    _catalogue(tmp_path, [None], None)
    out = tmp_path / "out"
    _run(tmp_path, out)
    with JobStore(out) as js:
        js.add_decision("SKU-0/studio/v0", "rerender", note=json.dumps({"seed": None, "box": None}), who="cy")
    outcome = _run(tmp_path, out)
    assert [(r.frame, r.seed) for r in outcome.rerenders] == [("SKU-0/studio/v0", 4)]  # brief seed 3 + 1
    assert outcome.stages["frame"]["done"] == 1


def _find_ints(value, key):
    found = []
    if isinstance(value, dict):
        for k, v in value.items():
            if k == key and isinstance(v, int):
                found.append(v)
            found += _find_ints(v, key)
    elif isinstance(value, list):
        for v in value:
            found += _find_ints(v, key)
    return found


def test_cli_reports_awaiting_review_and_applied_requests(tmp_path):
    from typer.testing import CliRunner

    from packshot.cli import app

    _catalogue(tmp_path, [None], "required")
    out = tmp_path / "out"
    args = ["catalogue", str(tmp_path / "manifest.csv"), "--brief", str(tmp_path / "brief.yaml"), "--out", str(out),
            "-p", "meta-square", "--backend", "u2netp", "--no-qa", "--upscaler", "none", "--workers", "1"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "1 frames awaiting review (1 exports held back, not failures)" in " ".join(res.output.split())
    with JobStore(out) as js:
        js.add_decision("SKU-0/studio/v0", "rerender", note=json.dumps({"seed": 11}), who="dee")
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert "1 re-render requests from review applied: SKU-0/studio/v0" in text
    assert "1 frames awaiting review" in text  # the new render waits for review again


def test_rerender_box_outside_the_photo_fails_that_sku_clearly(tmp_path):
    _catalogue(tmp_path, [None, None], None)
    out = tmp_path / "out"
    _run(tmp_path, out)
    with JobStore(out) as js:
        js.add_decision("SKU-0/studio/v0", "rerender", note=json.dumps({"box": [500, 500, 600, 600]}), who="eve")
    outcome = _run(tmp_path, out)
    units = _units(out)
    assert outcome.exit_code == 1 and units["cutout:SKU-0"]["status"] == "failed"
    assert "box" in units["cutout:SKU-0"]["error"].lower() or "prompt" in units["cutout:SKU-0"]["error"].lower()
    assert units["cutout:SKU-1"]["status"] == "done" and units["frame:SKU-1/studio/v0"]["status"] == "done"
