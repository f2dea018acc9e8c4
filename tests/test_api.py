"""The /v1 API over httpx: every endpoint, and every error it answers (bad image, bomb, wrong content
type, unknown profile, missing token, oversize upload, full queue, time limit, internal error)."""

from __future__ import annotations

import asyncio
import io
import json
import struct
import threading
import time
import zlib
from pathlib import Path

import numpy as np
import pytest

fastapi = pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")

from fastapi.testclient import TestClient  # noqa: E402

from packshot.imaging import encode_image  # noqa: E402
from packshot.samples import make_product  # noqa: E402
from packshot.web.app import AppSettings, create_app  # noqa: E402
from packshot.web.security import Limits  # noqa: E402

BASE = "http://127.0.0.1:8000"


@pytest.fixture(scope="module")
def product_png() -> bytes:
    sample = make_product("box", seed=3, size=(192, 192))
    return encode_image(sample.image, "PNG")


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    # u2netp alone: the same API path as the default backend, without its matting time
    app = create_app(AppSettings(work_dir=tmp_path_factory.mktemp("serve"), segment_backend="u2netp"))
    with TestClient(app, base_url=BASE) as c:  # the lifespan loads the models once
        yield c


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width x height`` (a decompression bomb's calling card)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 16)) + chunk(b"IEND", b"")


# --------------------------------------------------------------------------------------------- cutout
def test_cutout_returns_png_with_alpha(client, product_png):
    from PIL import Image

    r = client.post("/v1/cutout", files={"image": ("p.png", product_png, "image/png")})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/png"
    img = Image.open(io.BytesIO(r.content))
    assert img.mode == "RGBA" and img.size == (192, 192)
    alpha = np.asarray(img.getchannel("A"))
    assert alpha.max() == 255 and alpha.min() == 0  # a product and a cleared backdrop


def test_cutout_json_gives_mask_url(client, product_png):
    r = client.post("/v1/cutout", files={"image": ("p.png", product_png, "image/png")},
                    headers={"Accept": "application/json"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    doc = r.json()
    assert doc["width"] == 192 and doc["height"] == 192 and len(doc["bbox"]) == 4
    mask = client.get(doc["mask_url"])
    assert mask.status_code == 200 and mask.headers["content-type"] == "image/png"
    from PIL import Image

    assert Image.open(io.BytesIO(mask.content)).mode == "L"
    assert client.get(doc["cutout_url"]).status_code == 200
    assert client.get("/v1/results/" + "0" * 32 + "/mask.png").status_code == 404
    assert client.get("/v1/results/not-an-id/mask.png").status_code == 404


def test_cutout_box_and_points_prompts(client, product_png):
    r = client.post("/v1/cutout", files={"image": ("p.png", product_png, "image/png")},
                    data={"box": "20,20,170,170", "points": "96,96,1"}, headers={"Accept": "application/json"})
    assert r.status_code == 200, r.text
    r = client.post("/v1/cutout", files={"image": ("p.png", product_png, "image/png")},
                    data={"points": "[[96, 96, 1], [5, 5, 0]]"})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("field,value,words", [
    ("box", "1,2,3", "four numbers"),
    ("box", "50,50,10,10", "x1 > x0"),
    ("box", "a,b,c,d", "numbers"),
    ("box", "500,500,900,900", "outside"),
    ("points", "1,2,7", "label must be 0 or 1"),
    ("points", "[[1]]", "x,y"),
])
def test_cutout_bad_prompts_are_422(client, product_png, field, value, words):
    r = client.post("/v1/cutout", files={"image": ("p.png", product_png, "image/png")}, data={field: value})
    assert r.status_code == 422
    assert words in r.json()["error"]


def test_bad_image_is_422_naming_the_file(client):
    r = client.post("/v1/cutout", files={"image": ("notes.jpg", b"this is text, not a photo", "image/jpeg")})
    assert r.status_code == 422
    assert "notes.jpg" in r.json()["error"]
    r = client.post("/v1/cutout", files={"image": ("empty.png", b"", "image/png")})
    assert r.status_code == 422 and "empty" in r.json()["error"]


def test_truncated_image_is_422(client, product_png):
    r = client.post("/v1/cutout", files={"image": ("cut.png", product_png[: len(product_png) // 2], "image/png")})
    assert r.status_code == 422
    assert "cut.png" in r.json()["error"]


def test_decompression_bomb_is_413_before_decoding(client):
    r = client.post("/v1/cutout", files={"image": ("bomb.png", png_header_only(60000, 60000), "image/png")})
    assert r.status_code == 413
    assert "60000x60000" in r.json()["error"] or "pixels" in r.json()["error"]


def test_wrong_content_type_is_415(client):
    for route in ("/v1/cutout", "/v1/inspect", "/v1/render", "/v1/check", "/v1/jobs"):
        r = client.post(route, json={"image": "abc"})
        assert r.status_code == 415, route
        assert "multipart/form-data" in r.json()["error"]


def test_missing_image_field_is_422(client):
    r = client.post("/v1/cutout", files={"other": ("p.png", b"x", "image/png")})
    assert r.status_code == 422
    assert "image" in r.json()["error"]


# --------------------------------------------------------------------------------------------- inspect / render / check
def test_inspect_returns_maps_json(client, product_png):
    r = client.post("/v1/inspect", files={"image": ("p.png", product_png, "image/png")})
    assert r.status_code == 200, r.text
    doc = r.json()
    for key in ("size", "product_box", "palette", "text", "flags", "materials", "provenance"):
        assert key in doc
    assert doc["size"] == [192, 192]


def test_inspect_bad_image(client):
    r = client.post("/v1/inspect", files={"image": ("x.png", b"GIF89a-not-really", "image/png")})
    assert r.status_code == 422


BRIEF = "scenes:\n  - name: hero\n    preset: studio-white\n    sizes: ['96x96']\n"


def test_render_returns_frames(client, product_png):
    r = client.post("/v1/render", files={"image": ("p.png", product_png, "image/png")},
                    data={"brief": BRIEF, "relight": "false"})
    assert r.status_code == 200, r.text
    doc = r.json()
    assert [f["scene"] for f in doc["frames"]] == ["hero"]
    frame = client.get(doc["frames"][0]["url"])
    assert frame.status_code == 200
    from PIL import Image

    assert Image.open(io.BytesIO(frame.content)).size == (96, 96)


@pytest.mark.parametrize("brief,words", [
    ("scenes: [", "not valid YAML"),
    ("name: x\n", "scenes"),
    ("scenes:\n  - name: a\n    preset: nope\n", "preset"),
    ("scenes:\n  - name: a\n    plate: /etc/hosts\n", "not accepted over HTTP"),
    ("defaults:\n  references: [/etc/passwd]\nscenes:\n  - name: a\n", "not accepted over HTTP"),
    ("scenes:\n  - name: a\n    variants: 40\n    sizes: ['64x64']\n", "at most"),
    ("scenes:\n  - name: a\n    sizes: ['8000x8000']\n", "pixel limit"),
])
def test_render_bad_brief_is_422(client, product_png, brief, words):
    r = client.post("/v1/render", files={"image": ("p.png", product_png, "image/png")}, data={"brief": brief})
    assert r.status_code in (413, 422), r.text
    assert (r.status_code == 413) == ("pixel limit" in words)
    assert words in r.json()["error"]


def test_check_reports_every_rule(client, product_png):
    r = client.post("/v1/check", files={"image": ("p.png", product_png, "image/png")}, data={"profile": "amazon-main"})
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["profile"] == "amazon-main" and {"rules", "passed"} <= set(doc)
    assert any(rule["rule"] == "format" for rule in doc["rules"])


def test_check_with_alpha_and_size_mismatch(client, product_png):
    alpha = encode_image(np.ones((10, 10, 3), np.float32), "PNG")
    r = client.post("/v1/check", files={"image": ("p.png", product_png, "image/png"),
                                        "alpha": ("a.png", alpha, "image/png")}, data={"profile": "amazon-main"})
    assert r.status_code == 422 and "192x192" in r.json()["error"]


@pytest.mark.parametrize("profile", ["no-such-profile", "/etc/passwd", "../profiles/x.yaml"])
def test_check_unknown_profile_lists_choices(client, product_png, profile):
    r = client.post("/v1/check", files={"image": ("p.png", product_png, "image/png")}, data={"profile": profile})
    assert r.status_code == 422
    assert "amazon-main" in r.json()["error"]


# --------------------------------------------------------------------------------------------- jobs
def _poll(client, job, seconds):
    deadline = time.time() + seconds
    while job["status"] not in ("done", "failed") and time.time() < deadline:
        time.sleep(0.3)
        job = client.get(f"/v1/jobs/{job['id']}").json()
    return job


def test_job_lifecycle_and_files(client, product_png, monkeypatch):
    """The job plumbing (validation, job.json, polling, the files route) with the catalogue run replaced by a
    stand-in child process that writes one frame; the real run is the slow test below."""
    import subprocess
    import sys

    real_popen = subprocess.Popen

    def fake_popen(argv, **kw):
        args = json.loads(argv[-1])
        assert [Path(p).name for p in args["photos"]] == ["prod-a.png"] and args["brief"].endswith("brief.yaml")
        frame = Path(args["out"]) / "prod-a" / "hero"
        frame.mkdir(parents=True)
        (frame / "v0.png").write_bytes(product_png)
        (frame / "v0.json").write_text("{}")
        (frame / "v0_qa.json").write_text(json.dumps({"verdict": "review"}))
        summary = json.dumps({"planned": 4, "done": 4, "failed": 0, "blocked": 0, "row_errors": []})
        return real_popen([sys.executable, "-c", f"print({summary!r})"], **kw)

    monkeypatch.setattr(subprocess, "Popen", fake_popen)
    r = client.post("/v1/jobs", files=[("images", ("prod a.png", product_png, "image/png")),
                                       ("images", ("broken.png", b"nope", "image/png"))], data={"brief": BRIEF})
    assert r.status_code == 422  # every photo is checked before the job starts
    r = client.post("/v1/jobs", files=[("images", ("prod a.png", product_png, "image/png"))],
                    data={"brief": "scenes: ["})
    assert r.status_code == 422
    r = client.post("/v1/jobs", files=[("images", ("prod a.png", product_png, "image/png"))], data={"brief": BRIEF})
    assert r.status_code == 202, r.text
    job = r.json()
    assert r.headers["location"] == f"/v1/jobs/{job['id']}"
    job = _poll(client, job, 30)
    assert job["status"] == "done", job
    assert job["skus"][0]["sku"] == "prod-a"
    url = job["skus"][0]["frames"][0]
    assert url.endswith("/prod-a/hero/v0.png") and job["skus"][0]["verdicts"] == {"prod-a/hero/v0.png": "review"}
    assert client.get(url).content == product_png
    # only files of the job, never anything else
    for bad in ("../job.json", "..%2F..%2Fjob.json", "%2e%2e/%2e%2e/brief.yaml", "/etc/passwd"):
        assert client.get(f"/v1/jobs/{job['id']}/files/{bad}").status_code == 404, bad


@pytest.mark.slow
def test_job_is_a_real_catalogue_run(client, product_png):
    r = client.post("/v1/jobs", files=[("images", ("prod b.png", product_png, "image/png"))],
                    data={"brief": BRIEF, "qa": "true"})
    assert r.status_code == 202, r.text
    job = _poll(client, r.json(), 600)
    assert job["status"] == "done", job
    [url] = job["skus"][0]["frames"]
    assert url.endswith("/prod-b/hero/v0.png") and client.get(url).status_code == 200
    assert job["skus"][0]["verdicts"]["prod-b/hero/v0.png"] in ("pass", "review", "fail")
    # the job folder is a catalogue output folder: its job store is there for packshot review
    from packshot.catalogue.store import JobStore

    out = client.app.state.packshot.jobs.out_dir(job["id"])
    with JobStore(out, readonly=True) as js:
        assert [f["frame"] for f in js.frames()] == ["prod-b/hero/v0"]


def test_unknown_job_is_404(client):
    assert client.get("/v1/jobs/" + "f" * 32).status_code == 404
    assert client.get("/v1/jobs/../../etc").status_code == 404


def test_jobs_disabled_without_work_dir(product_png):
    with TestClient(create_app(AppSettings(preload_models=False)), base_url=BASE) as c:
        r = c.post("/v1/jobs", files=[("images", ("p.png", product_png, "image/png"))], data={"brief": BRIEF})
        assert r.status_code == 503


# --------------------------------------------------------------------------------------------- ops
def test_healthz_metrics_docs(client, product_png):
    h = client.get("/healthz").json()
    assert h["status"] == "ok" and h["models_loaded"] is True
    client.post("/v1/cutout", files={"image": ("p.png", product_png, "image/png")})
    text = client.get("/metrics").text
    assert "# TYPE packshot_requests_total counter" in text
    assert 'packshot_requests_total{method="POST",route="/v1/cutout",status="200"}' in text
    for line in text.splitlines():  # every sample line is "name{labels} number"
        if line and not line.startswith("#"):
            float(line.rsplit(" ", 1)[1])
    assert "process_resident_memory_bytes" in text
    assert client.get("/docs").status_code == 200
    spec = client.get("/openapi.json").json()
    for path in ("/v1/cutout", "/v1/inspect", "/v1/render", "/v1/check", "/v1/jobs", "/v1/jobs/{job_id}"):
        assert path in spec["paths"], path


def test_models_are_loaded_once_per_process(client, product_png):
    state = client.app.state.packshot
    before = state.models.loads
    for _ in range(2):
        assert client.post("/v1/cutout", files={"image": ("p.png", product_png, "image/png")}).status_code == 200
    assert state.models.loads == before == 1


# --------------------------------------------------------------------------------------------- limits and failures
class _BlockingBackend:
    name = "blocking"
    handles_prompt = False

    def __init__(self, release: threading.Event, error: Exception | None = None):
        self.release = release
        self.error = error
        self.started = threading.Event()

    def predict(self, rgb, prompt, config):
        self.started.set()
        self.release.wait(10)
        if self.error is not None:
            raise self.error
        from packshot.segment import BACKENDS

        return BACKENDS.create("u2netp").predict(rgb, prompt, config)


def _app_with_backend(backend, **settings):
    app = create_app(AppSettings(preload_models=False, **settings))
    app.state.packshot.models._segment = backend
    return app


def test_full_queue_is_429_with_retry_after(product_png):
    release = threading.Event()
    backend = _BlockingBackend(release)
    app = _app_with_backend(backend, workers=1, queue=0)

    async def scenario():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as c:
            first = asyncio.create_task(c.post("/v1/cutout", files={"image": ("p.png", product_png, "image/png")}))
            while not backend.started.is_set():
                await asyncio.sleep(0.01)
            second = await c.post("/v1/cutout", files={"image": ("p.png", product_png, "image/png")})
            release.set()
            return await first, second

    first, second = asyncio.run(scenario())
    assert second.status_code == 429
    assert int(second.headers["retry-after"]) >= 1
    assert first.status_code == 200  # the accepted one is answered


def test_time_limit_is_408(product_png):
    release = threading.Event()
    app = _app_with_backend(_BlockingBackend(release), limits=Limits(max_seconds=0.3))
    with TestClient(app, base_url=BASE) as c:
        r = c.post("/v1/cutout", files={"image": ("p.png", product_png, "image/png")})
    release.set()
    assert r.status_code == 408
    assert "0.3 s" in r.json()["error"]


def test_internal_error_has_no_stack_trace(product_png, caplog):
    release = threading.Event()
    release.set()
    app = _app_with_backend(_BlockingBackend(release, RuntimeError("secret detail /srv/x.py")))
    with TestClient(app, base_url=BASE, raise_server_exceptions=False) as c:
        r = c.post("/v1/cutout", files={"image": ("p.png", product_png, "image/png")})
    assert r.status_code == 500
    body = r.text
    assert "Traceback" not in body and "secret detail" not in body and "RuntimeError" not in body
    assert "internal error (id " in r.json()["error"]


def test_oversize_upload_is_413(product_png):
    app = create_app(AppSettings(preload_models=False, limits=Limits(max_body_bytes=20_000)))
    big = b"\x89PNG" + b"0" * 50_000
    with TestClient(app, base_url=BASE) as c:
        r = c.post("/v1/cutout", files={"image": ("big.png", big, "image/png")})
        assert r.status_code == 413 and "limit" in r.json()["error"]

        def chunks():  # no Content-Length: counted while it streams
            boundary = b"--xyz\r\nContent-Disposition: form-data; name=\"image\"; filename=\"b.png\"\r\n" \
                       b"Content-Type: image/png\r\n\r\n"
            yield boundary
            for _ in range(10):
                yield b"0" * 5000
            yield b"\r\n--xyz--\r\n"

        r = c.post("/v1/cutout", content=chunks(), headers={"content-type": "multipart/form-data; boundary=xyz"})
        assert r.status_code == 413


def test_pixel_limit_is_413(product_png):
    app = create_app(AppSettings(preload_models=False, limits=Limits(max_pixels=10_000)))
    with TestClient(app, base_url=BASE) as c:
        r = c.post("/v1/cutout", files={"image": ("p.png", product_png, "image/png")})
    assert r.status_code == 413 and "192x192" in r.json()["error"]


def test_missing_token_is_401(product_png):
    token = "s3cret-token-0123456789"
    app = create_app(AppSettings(host="0.0.0.0", token=token, preload_models=False))
    with TestClient(app, base_url=BASE) as c:
        assert c.post("/v1/cutout", files={"image": ("p.png", product_png, "image/png")}).status_code == 401
        assert c.get("/metrics").status_code == 401
        r = c.get("/v1/jobs/" + "a" * 32, headers={"Authorization": "Bearer wrong-token-000000000"})
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
        assert c.get("/metrics", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        assert c.get("/healthz").status_code == 200  # liveness stays open, and says nothing secret


def test_unknown_route_is_json_404(client):
    r = client.get("/v2/nothing")
    assert r.status_code == 404 and r.json() == {"error": "Not Found"}


def test_openapi_is_valid_json(client):
    json.dumps(client.get("/openapi.json").json())


def test_worker_pool_bounds_and_frees_slots():
    from packshot.web.workers import Busy, TooSlow, WorkerPool

    pool = WorkerPool(workers=1, queue=1)
    release = threading.Event()

    async def scenario():
        first = asyncio.ensure_future(pool.run(release.wait, 10))
        second = asyncio.ensure_future(pool.run(lambda: "queued"))
        await asyncio.sleep(0.05)
        assert pool.pending == 2
        with pytest.raises(Busy) as busy:
            await pool.run(lambda: "refused")
        assert busy.value.retry_after >= 1
        release.set()
        assert await first is True and await second == "queued"
        assert pool.pending == 0
        # work over the time limit is abandoned with TooSlow, and its slot stays taken until it really ends
        slow = threading.Event()
        with pytest.raises(TooSlow):
            await pool.run(slow.wait, 10, timeout=0.05)
        assert pool.pending == 1
        slow.set()
        for _ in range(100):
            if pool.pending == 0:
                break
            await asyncio.sleep(0.01)
        assert pool.pending == 0

    asyncio.run(scenario())
    pool.shutdown()


def test_result_store_is_bounded():
    from packshot.web.workers import ResultStore

    store = ResultStore(max_items=3, max_bytes=10)
    for i in range(5):
        store.put(f"k{i}", b"xxxx", "image/png")
    assert len(store) == 2 and store.bytes == 8  # the byte bound bites first
    assert store.get("k0") is None and store.get("k4") == (b"xxxx", "image/png")
