"""One FastAPI application: the ``/v1`` API (``packshot serve``) and, given a run folder, the review pages
(``packshot review DIR``). ``create_app(AppSettings(...))`` builds it; the CLI runs it with uvicorn.

Open without a token: ``/healthz`` only. Everything else needs the bearer token when one is set
(``Authorization: Bearer ...``; a browser uses ``/login?token=...`` once, which sets an HttpOnly cookie).
"""

from __future__ import annotations

import logging
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import Request

from .security import _BodyTooLarge  # noqa: F401  (re-raised by the guard)
from .security import (AUTH_COOKIE, Limits, SecurityError, bearer_from, body_limit_middleware, log_unexpected,
                       token_matches)

log = logging.getLogger("packshot.web")
_POOLED_ROUTES = {"/v1/cutout", "/v1/inspect", "/v1/render", "/v1/check"}
"""POST routes refused with 429 before their upload is read when the worker pool is full."""
_OPEN_PATHS = {"/healthz", "/login"}
"""Paths answered without the bearer token."""


@dataclass(frozen=True)
class AppSettings:
    """Settings of one server process (each has a safe default)."""

    host: str = "127.0.0.1"
    """Address the server binds to (only used to decide whether a token is required)."""
    token: str | None = None
    """Bearer token every request must carry (None: none required; only allowed on loopback)."""
    limits: Limits = field(default_factory=Limits)
    """Body bytes, pixels, seconds and frames per request."""
    workers: int = 2
    """Threads doing image work at once."""
    queue: int = 8
    """Requests that may wait for a worker; the next one gets 429."""
    segment_backend: str = "auto"
    """Segment backend for the API (loaded once per process)."""
    preload_models: bool = True
    """Load the models at start-up (else on the first request that needs them)."""
    work_dir: Path | None = None
    """Folder for /v1/jobs runs (jobs are disabled when None)."""
    review_dir: Path | None = None
    """Run folder whose frames the review pages show (review pages are off when None)."""
    store_path: Path | None = None
    """Decision store (default ``<review_dir>/.packshot/review.sqlite``)."""
    reviewer: str | None = None
    """Default reviewer name recorded with decisions (the page lets each person set theirs)."""


_INTERNAL_ERROR = "internal error (id {ident}; the server log has the details)"
"""The 500 answer: only an id that points into the server log, never a stack trace."""


def create_app(settings: AppSettings = AppSettings()):
    from fastapi import FastAPI

    from .. import __version__
    from .api import ApiState, JobRunner, Models, build_router
    from .security import is_loopback
    from .workers import Metrics, ResultStore, WorkerPool

    if settings.token is None and not is_loopback(settings.host):
        raise ValueError(f"--host {settings.host}: a bearer token is required off loopback")

    pool = WorkerPool(settings.workers, settings.queue)
    models = Models(settings.segment_backend)
    state = ApiState(limits=settings.limits, pool=pool, models=models, results=ResultStore(),
                     work_dir=settings.work_dir,
                     jobs=JobRunner(settings.work_dir) if settings.work_dir is not None else None)
    metrics = Metrics()

    app = FastAPI(title="packshot", version=__version__, lifespan=_lifespan(settings, state), docs_url=None,
                  redoc_url=None,
                  description="Product photography that keeps the product the product: cut out, inspect, "
                              "render, check, and catalogue jobs. Errors are JSON {\"error\": \"...\"}; 429 carries "
                              "Retry-After.")
    app.state.packshot = state
    app.state.settings = settings
    app.state.metrics = metrics
    app.include_router(build_router(state))
    _add_exception_handlers(app)
    _add_guard(app, settings, pool, metrics)
    _add_ops_routes(app, settings, state, metrics)
    add_local_docs(app)
    _add_root(app, settings)
    return app


def _error(status: int, message: str, headers: dict | None = None):
    """The JSON error answer ``{"error": message}`` every failure of the app uses."""
    from fastapi.responses import JSONResponse

    return JSONResponse({"error": message}, status_code=status, headers=headers)


def _lifespan(settings: AppSettings, state):
    """Start-up (preload the models unless told not to) and shut-down (stop the worker pool and the jobs)."""

    @asynccontextmanager
    async def lifespan(app):
        if settings.preload_models:
            try:
                state.models.warm()
            except Exception as exc:  # the API still starts; /healthz says the models are not loaded
                log_unexpected("model preload", exc)
        yield
        state.pool.shutdown()
        if state.jobs is not None:
            state.jobs.shutdown()

    return lifespan


def _add_exception_handlers(app) -> None:
    """Every error becomes ``{"error": "..."}`` with its status (and headers such as Retry-After)."""
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException as StarletteHTTPException

    from .api import ApiError

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError):
        return _error(exc.status, exc.message, exc.headers)

    @app.exception_handler(SecurityError)
    async def _security_error(request: Request, exc: SecurityError):
        return _error(exc.status, exc.message)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        problems = []
        for e in exc.errors():
            where = ".".join(str(p) for p in e.get("loc", ()) if p != "body")
            problems.append(f"{where}: {e.get('msg', 'invalid')}")
        return _error(422, "; ".join(problems) or "invalid request")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        message = exc.detail if isinstance(exc.detail, str) else "error"
        return _error(exc.status_code, message, getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        ident = log_unexpected(request.url.path, exc)
        return _error(500, _INTERNAL_ERROR.format(ident=ident))


def _refusal(request: Request, settings: AppSettings, pool):
    """The early answer for a request the guard refuses before any route runs, as (response, metrics label),
    or None: no token (401), not multipart (415), every worker and queue place taken (429)."""
    from .api import MULTIPART_ROUTES

    path = request.url.path
    if settings.token is not None and path not in _OPEN_PATHS:
        if not token_matches(settings.token, bearer_from(request.headers, request.cookies)):
            return _error(401, "a bearer token is required (Authorization: Bearer <token>)",
                          {"WWW-Authenticate": "Bearer"}), "unauthorised"
    if request.method == "POST" and path in MULTIPART_ROUTES:
        ctype = request.headers.get("content-type", "")
        if not ctype.lower().startswith("multipart/form-data"):
            return _error(415, f"{path} takes multipart/form-data, got {ctype or 'no content type'}"), path
    if request.method == "POST" and path in _POOLED_ROUTES and pool.pending >= pool.workers + pool.queue:
        # full already: refuse before reading the upload (the pool's own check stays authoritative)
        return _error(429, "every worker is busy and the queue is full; retry later",
                      {"Retry-After": str(pool.retry_after())}), path
    return None


def _add_guard(app, settings: AppSettings, pool, metrics) -> None:
    """The ``http`` middleware (token, content type, full pool, no stack trace, metrics per route), then the
    raw body-limit middleware."""

    @app.middleware("http")
    async def guard(request: Request, call_next):
        t0 = time.perf_counter()
        path = request.url.path
        refused = _refusal(request, settings, pool)
        if refused is not None:
            response, label = refused
            metrics.observe(request.method, label, response.status_code, time.perf_counter() - t0)
            return response
        try:
            response = await call_next(request)
        except _BodyTooLarge:
            raise  # answered 413 by the body-limit middleware
        except Exception as exc:  # never a stack trace to the client
            ident = log_unexpected(path, exc)
            response = _error(500, _INTERNAL_ERROR.format(ident=ident))
        route = request.scope.get("route")
        metrics.observe(request.method, getattr(route, "path", "unmatched"), response.status_code,
                        time.perf_counter() - t0)
        return response

    app.add_middleware(_RawASGI, wrap=body_limit_middleware(settings.limits.max_body_bytes))


def _add_ops_routes(app, settings: AppSettings, state, metrics) -> None:
    """``/healthz``, ``/metrics`` and ``/login``."""
    from fastapi.responses import PlainTextResponse, RedirectResponse

    from .. import __version__
    from .workers import resident_bytes

    pool, models = state.pool, state.models

    @app.get("/healthz", tags=["ops"], summary="Liveness: ok, with whether the models are loaded")
    async def healthz():
        return {"status": "ok", "version": __version__, "models_loaded": models.loaded,
                "workers": pool.workers, "queue": pool.queue, "pending": pool.pending}

    @app.get("/metrics", tags=["ops"], summary="Prometheus text metrics", response_class=PlainTextResponse)
    async def metrics_endpoint():
        text = metrics.render({
            "packshot_inflight": ("Requests running in a worker.", pool.running),
            "packshot_pending": ("Requests running or waiting for a worker.", pool.pending),
            "packshot_queue_capacity": ("Workers plus queue places.", pool.workers + pool.queue),
            "packshot_results_bytes": ("Bytes of results kept for their URLs.", state.results.bytes),
            "packshot_model_loads": ("Times a model was created in this process.", models.loads),
            "process_resident_memory_bytes": ("Resident memory of the server process.", resident_bytes()),
            "process_start_time_seconds": ("Start time of the process (unix seconds).", metrics.started),
        })
        return PlainTextResponse(text, media_type="text/plain; version=0.0.4; charset=utf-8")

    @app.get("/login", include_in_schema=False)
    async def login(request: Request, token: str = ""):
        if settings.token is None:
            return RedirectResponse("/", status_code=303)
        if not token_matches(settings.token, token):
            return _error(401, "wrong token")
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(AUTH_COOKIE, token, httponly=True, samesite="strict")
        return response


def _add_root(app, settings: AppSettings) -> None:
    """``/``: the review queue when a run folder is given, else a small JSON pointer to the docs and the API."""
    if settings.review_dir is not None:
        from .review import build_review

        build_review(app, settings)
    else:
        from .. import __version__

        @app.get("/", include_in_schema=False)
        async def root():
            return {"name": "packshot", "version": __version__, "docs": "/docs", "api": "/v1"}


# ------------------------------------------------------------------------------ /docs without a CDN
DOCS_ASSETS = "/docs-assets"
_DOCS_FILES = {"swagger-ui-bundle.js": "text/javascript; charset=utf-8", "swagger-ui.css": "text/css; charset=utf-8",
               "favicon-32x32.png": "image/png"}
"""The only Swagger UI files served (a fixed list: no path from the request ever reaches the disk)."""


def swagger_ui_dir() -> Path | None:
    """The Swagger UI files of the ``swagger-ui-bundle`` package (the ``web`` extra), or None."""
    try:
        from swagger_ui_bundle import swagger_ui_path
    except ImportError:
        return None
    folder = Path(swagger_ui_path)
    return folder if all((folder / name).is_file() for name in _DOCS_FILES) else None


def add_local_docs(app) -> None:
    """``/docs``: FastAPI's Swagger UI page, with its JavaScript, CSS and icon served by this app from
    the ``swagger-ui-bundle`` package instead of a CDN (so the docs work offline and on a closed network).
    The routes go through the same guard as the rest of the app (bearer token off loopback). Without
    the package, ``/docs`` says how to install it (503); ``/openapi.json`` works either way."""
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.responses import HTMLResponse, JSONResponse, Response

    folder = swagger_ui_dir()

    @app.get("/docs", include_in_schema=False)
    async def docs():
        if folder is None:
            return HTMLResponse("<!DOCTYPE html><title>packshot API docs</title><p>The API docs page needs the "
                                "Swagger UI files: <code>pip install 'packshot[web]'</code> (package "
                                "swagger-ui-bundle). The OpenAPI document is at <a href=\"/openapi.json\">"
                                "/openapi.json</a>.</p>", status_code=503)
        return get_swagger_ui_html(openapi_url=app.openapi_url, title=f"{app.title} - API docs",
                                   swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
                                   swagger_favicon_url=f"{DOCS_ASSETS}/favicon-32x32.png")

    @app.get(DOCS_ASSETS + "/{name}", include_in_schema=False)
    async def docs_asset(name: str):
        media = _DOCS_FILES.get(name)
        if folder is None or media is None:
            return JSONResponse({"error": "not found"}, status_code=404)
        return Response((folder / name).read_bytes(), media_type=media,
                        headers={"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"})


class _RawASGI:
    """Adapter so a plain ASGI middleware function can go through ``app.add_middleware``."""

    def __init__(self, app, wrap):
        self._inner = wrap(app)

    async def __call__(self, scope, receive, send):
        await self._inner(scope, receive, send)
