"""The review loop of a catalogue: review required -> held back until approved; re-render requests
from the review app picked up by the next run; and /docs served without a CDN."""

from __future__ import annotations

import re

import pytest

fastapi = pytest.importorskip("fastapi")

from fastapi.testclient import TestClient  # noqa: E402

from packshot.web.app import AppSettings, create_app, swagger_ui_dir  # noqa: E402

BASE = "http://127.0.0.1:8000"


# ------------------------------------------------------------------------------ /docs offline
def _asset_refs(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+)"', html) + re.findall(r"url:\s*'([^']+)'", html)


@pytest.mark.skipif(swagger_ui_dir() is None, reason="swagger-ui-bundle (the web extra) is not installed")
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


@pytest.mark.skipif(swagger_ui_dir() is None, reason="swagger-ui-bundle (the web extra) is not installed")
@pytest.mark.parametrize("path", ["/docs-assets/index.html", "/docs-assets/..%2F__init__.py",
                                  "/docs-assets/%2e%2e%2f%2e%2e%2fsetup.py", "/docs-assets/../app.py",
                                  "/docs-assets/swagger-initializer.js", "/docs-assets/"])
def test_docs_assets_only_the_fixed_files(path):
    with TestClient(create_app(AppSettings(preload_models=False)), base_url=BASE) as c:
        r = c.get(path)
        assert r.status_code == 404
        assert b"import" not in r.content and b"swagger_ui_path" not in r.content


@pytest.mark.skipif(swagger_ui_dir() is None, reason="swagger-ui-bundle (the web extra) is not installed")
def test_docs_and_assets_need_the_token_off_loopback():
    app = create_app(AppSettings(preload_models=False, host="0.0.0.0", token="s3cret-token"))
    with TestClient(app, base_url=BASE) as c:
        for path in ("/docs", "/docs-assets/swagger-ui-bundle.js", "/openapi.json"):
            assert c.get(path).status_code == 401, path
            assert c.get(path, headers={"Authorization": "Bearer s3cret-token"}).status_code == 200, path
