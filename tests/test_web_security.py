"""Security of the review app and the API: token off loopback, path traversal (plain, encoded, double
encoded, backslash, absolute, symlinked), CSRF on every state-changing review request, no stack traces."""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")

from fastapi.testclient import TestClient  # noqa: E402

from packshot.web.app import AppSettings, create_app  # noqa: E402
from packshot.web.sample_run import frame_ids, make_sample_run  # noqa: E402
from packshot.web.security import ConfigError, SecurityError, is_loopback, resolve_token, safe_path  # noqa: E402

BASE = "http://127.0.0.1:8000"
TOKEN = "a-long-enough-test-token-42"


@pytest.fixture()
def run(tmp_path) -> Path:
    run = make_sample_run(tmp_path, skus=2, scenes=("hero",), variants=2)
    (tmp_path / "secret.txt").write_text("top secret")
    (tmp_path / "secret.png").write_bytes((run / "sku-00000" / "hero" / "v0.png").read_bytes())
    return run


@pytest.fixture()
def review(run):
    app = create_app(AppSettings(review_dir=run, preload_models=False))
    with TestClient(app, base_url=BASE) as c:
        c.get("/")  # sets the CSRF cookie
        yield c


# --------------------------------------------------------------------------------------------- binding and token
@pytest.mark.parametrize("host,loop", [("127.0.0.1", True), ("127.0.0.2", True), ("::1", True), ("localhost", True),
                                       ("0.0.0.0", False), ("::", False), ("192.168.1.5", False), ("example.org", False)])
def test_is_loopback(host, loop):
    assert is_loopback(host) is loop


def test_token_required_off_loopback(tmp_path):
    assert resolve_token("127.0.0.1", environ={}) is None
    with pytest.raises(ConfigError, match="needs a bearer token"):
        resolve_token("0.0.0.0", environ={})
    assert resolve_token("0.0.0.0", environ={"PACKSHOT_TOKEN": TOKEN}) == TOKEN
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    assert resolve_token("0.0.0.0", token_file=token_file, environ={}) == TOKEN
    assert resolve_token("0.0.0.0", environ={"PACKSHOT_TOKEN_FILE": str(token_file)}) == TOKEN
    with pytest.raises(ConfigError, match="at least 16"):
        resolve_token("0.0.0.0", environ={"PACKSHOT_TOKEN": "short"})
    with pytest.raises(ConfigError, match="cannot read"):
        resolve_token("0.0.0.0", token_file=tmp_path / "missing", environ={})
    with pytest.raises(ValueError, match="token is required"):
        create_app(AppSettings(host="0.0.0.0", preload_models=False))


def test_cli_refuses_public_bind_without_token(monkeypatch, tmp_path):
    from packshot.cli import main

    monkeypatch.delenv("PACKSHOT_TOKEN", raising=False)
    monkeypatch.delenv("PACKSHOT_TOKEN_FILE", raising=False)
    assert main(["serve", "--host", "0.0.0.0", "--port", "1", "--work-dir", str(tmp_path)]) == 2
    assert main(["review", str(tmp_path), "--host", "0.0.0.0", "--port", "1"]) == 2


def test_review_pages_need_the_token_off_loopback(run):
    app = create_app(AppSettings(host="0.0.0.0", token=TOKEN, review_dir=run, preload_models=False))
    with TestClient(app, base_url=BASE) as c:
        assert c.get("/").status_code == 401
        assert c.get("/file/sku-00000/hero/v0.png").status_code == 401
        assert c.get("/login?token=wrong-token-xxxxxxxxxx").status_code == 401
        r = c.get(f"/login?token={TOKEN}", follow_redirects=False)
        assert r.status_code == 303
        assert c.get("/").status_code == 200  # the HttpOnly cookie now carries the token
    with TestClient(app, base_url=BASE) as c:
        assert c.get("/", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_real_server_binds_loopback_only(run):
    """A real uvicorn server with the default host answers on 127.0.0.1 (the only address tests use)."""
    import uvicorn

    settings = AppSettings(review_dir=run, preload_models=False)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host=settings.host, port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.time() + 20
        while not server.started and time.time() < deadline:
            time.sleep(0.05)
        assert settings.host == "127.0.0.1"
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
        r = httpx.get(f"http://127.0.0.1:{port}/file/..%2F..%2Fsecret.txt")
        assert r.status_code == 404 and "top secret" not in r.text
    finally:
        server.should_exit = True
        thread.join(10)


# --------------------------------------------------------------------------------------------- files
TRAVERSALS = [
    "../secret.txt", "../secret.png", "..%2Fsecret.png", "%2e%2e/secret.png", "%2e%2e%2fsecret.png",
    "%252e%252e%252fsecret.png", "..%5csecret.png", "sku-00000/../../secret.png", "sku-00000/%2e%2e/%2e%2e/secret.png",
    "/etc/passwd", "%2Fetc%2Fpasswd", "....//secret.png", "sku-00000/hero/v0.png%00.txt", "C:/Windows/win.ini",
    ".packshot/review.sqlite", "sku-00000/hero/v0.json",
]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_no_path_traversal(review, path):
    r = review.get(f"/file/{path}")
    assert r.status_code in (400, 404), (path, r.status_code)
    assert "top secret" not in r.text and "root:" not in r.text
    assert not r.headers.get("content-type", "").startswith("image/")


def test_raw_dot_segments_are_refused(run):
    """Send ``..`` unnormalised on the wire (httpx would collapse it) and double encoded."""
    app = create_app(AppSettings(review_dir=run, preload_models=False))

    async def go():
        import asyncio  # noqa: F401

        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as c:
            out = []
            for raw in ("/file/sku-00000/../../secret.png", "/file/%2E%2E/secret.png", "/thumb/../../secret"):
                req = c.build_request("GET", BASE)
                req.url = httpx.URL(BASE + raw)
                out.append((raw, await c.send(req)))
            return out

    import asyncio

    for raw, r in asyncio.run(go()):
        assert r.status_code in (400, 404), raw


def test_symlink_escape_is_refused(run, tmp_path):
    outside = tmp_path / "secret.png"
    (run / "sku-00000" / "hero" / "link.png").symlink_to(outside)
    (run / "escape").symlink_to(tmp_path)
    app = create_app(AppSettings(review_dir=run, preload_models=False))
    with TestClient(app, base_url=BASE) as c:
        assert c.get("/file/sku-00000/hero/link.png").status_code == 404
        assert c.get("/file/escape/secret.png").status_code == 404
        assert c.get("/file/sku-00000/hero/v0.png").status_code == 200  # the ordinary file is served
    with pytest.raises(SecurityError):
        safe_path(run, "sku-00000/hero/link.png")
    with pytest.raises(SecurityError):
        safe_path(run, "escape/secret.txt")


def test_symlink_inside_the_run_is_allowed(run):
    (run / "sku-00000" / "hero" / "alias.png").symlink_to(run / "sku-00000" / "hero" / "v1.png")
    assert safe_path(run, "sku-00000/hero/alias.png") == (run / "sku-00000" / "hero" / "v1.png").resolve()


def test_frame_routes_refuse_unknown_and_crafted_ids(review):
    for url in ("/frame/../../secret", "/thumb/..%2F..%2Fsecret", "/photo/sku-00000/../../secret",
                "/frame/sku-00000/hero/v9", "/layer/..%2Fsecret/outline.png", "/cutout/%2e%2e/x/y"):
        r = review.get(url)
        assert r.status_code in (400, 404), url


# --------------------------------------------------------------------------------------------- CSRF
def _csrf(client) -> str:
    return client.cookies.get("packshot_csrf")


@pytest.mark.parametrize("url,fields", [
    ("/decide/sku-00000/hero/v0", {"decision": "approve", "who": "mallory"}),
    ("/decide/sku-00000/hero/v0", {"decision": "reject", "comment": "x", "who": "mallory"}),
    ("/bulk-approve", {"who": "mallory"}),
    ("/rescan", {}),
])
def test_forged_post_without_csrf_token_is_403(review, run, url, fields):
    r = review.post(url, data=fields)
    assert r.status_code == 403
    r = review.post(url, data={**fields, "csrf_token": "forged-value"})
    assert r.status_code == 403
    r = review.post(url, data=fields, headers={"X-CSRF-Token": "forged-value"})
    assert r.status_code == 403
    # the token without the cookie (another site cannot read or set it) is refused too
    token = _csrf(review)
    review.cookies.clear()
    assert review.post(url, data={**fields, "csrf_token": token}).status_code == 403
    from packshot.web.store import approved_frames

    assert approved_frames(run) == set()


def test_cross_origin_post_is_403_even_with_token(review):
    token = _csrf(review)
    r = review.post("/decide/sku-00000/hero/v0", data={"decision": "approve", "csrf_token": token, "who": "m"},
                    headers={"Origin": "http://evil.example"})
    assert r.status_code == 403 and "cross-origin" in r.json()["error"]
    r = review.post("/decide/sku-00000/hero/v0", data={"decision": "approve", "csrf_token": token, "who": "ann"},
                    headers={"Origin": BASE, "Accept": "application/json"})
    assert r.status_code == 200 and r.json()["decision"] == "approved"


def test_pages_send_protective_headers(review, run):
    r = review.get("/")
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-frame-options"] == "DENY"
    cookie = r.headers.get("set-cookie", "") or "samesite=strict"
    assert "samesite=strict" in cookie.lower()
    fid = frame_ids(run)[0]
    assert review.get(f"/frame/{fid}").status_code == 200


def test_review_errors_have_no_stack_trace(review, run, monkeypatch):
    def boom(*a, **k):
        raise RuntimeError("internal path /secret/place")

    monkeypatch.setattr(review.app.state.review.store, "counts", boom)
    review_no_raise = TestClient(review.app, base_url=BASE, raise_server_exceptions=False)
    r = review_no_raise.get("/")
    assert r.status_code == 500
    assert "Traceback" not in r.text and "/secret/place" not in r.text


def test_oversize_review_post_is_413(run):
    from packshot.web.security import Limits

    app = create_app(AppSettings(review_dir=run, preload_models=False, limits=Limits(max_body_bytes=2000)))
    with TestClient(app, base_url=BASE) as c:
        c.get("/")
        r = c.post("/decide/sku-00000/hero/v0", data={"decision": "reject", "comment": "x" * 5000,
                                                      "csrf_token": _csrf(c)})
        assert r.status_code == 413


def test_environment_is_not_leaked(review):
    os.environ.setdefault("PACKSHOT_TEST_SECRET", "zzz-secret")
    for url in ("/", "/healthz", "/metrics", "/openapi.json"):
        assert "zzz-secret" not in review.get(url).text


@pytest.mark.parametrize("relative", ["../secret.txt", "sku-00000/../../secret.txt", "%2e%2e/secret.txt",
                                      "%252e%252e/secret.txt", "..\\secret.txt", "/etc/passwd", "", ".",
                                      "sku-00000//hero/v0.png", "sku-00000/hero/v0.png\x00", "sku-00000/hero"])
def test_safe_path_refuses(run, relative):
    with pytest.raises(SecurityError):
        safe_path(run, relative)


def test_safe_path_allows_files_inside(run):
    assert safe_path(run, "sku-00000/hero/v0.png") == (run / "sku-00000" / "hero" / "v0.png").resolve()
    assert safe_path(run, "sku-00000/hero/%76%30.png").name == "v0.png"
