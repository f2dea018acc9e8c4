"""The review pages over one run folder: the queue (``/``), a frame page (``/frame/<sku>/<scene>/<variant>``),
decisions (``POST /decide/...``, ``POST /bulk-approve``), and the images they show.

Everything shown comes from the run folder. Images the folder does not hold already (thumbnails, a
preview of the source photo and of the master artwork, the outline and difference heat-map layers) are
made once, on first request, into ``<run>/.packshot/`` and served from there. The source photo and master
are found through the frame's own sidecar and QA report, never through a path in the URL.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response

from .security import (CSRF_COOKIE, CSRF_FIELD, SecurityError, check_csrf, new_csrf_token, safe_path)
from .store import DECISIONS, STORE_DIR, VERDICTS, index_folder, open_store

PAGE_SIZE = 60
THUMB_SIDE = 256
PREVIEW_SIDE = 1600
_FID = re.compile(r"^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)+$")
_SERVED_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp"}
_HERE = Path(__file__).parent


class ReviewData:
    """The run folder, its store and the cache of derived images."""

    def __init__(self, run_dir: Path, store_file: Path | None = None):
        self.run_dir = Path(run_dir).resolve()
        if not self.run_dir.is_dir():
            raise ValueError(f"{run_dir}: run folder does not exist")
        self.cache = self.run_dir / STORE_DIR
        self.store = open_store(self.run_dir, store_file)
        self._locks: dict[str, threading.Lock] = {}
        self._locks_lock = threading.Lock()
        self.rescan()

    def rescan(self) -> dict[str, int]:
        return index_folder(self.run_dir, self.store)

    def lock_for(self, key: str) -> threading.Lock:
        with self._locks_lock:
            return self._locks.setdefault(key, threading.Lock())

    def sidecar(self, fid: str) -> Path:
        if not _FID.match(fid) or self.store.frame(fid) is None:
            raise SecurityError(404, f"no frame {fid}")
        return safe_path(self.run_dir, f"{fid}.json")

    def sidecar_data(self, fid: str) -> dict[str, Any]:
        return json.loads(self.sidecar(fid).read_text(encoding="utf-8"))

    def qa_report(self, fid: str) -> dict[str, Any] | None:
        path = self.sidecar(fid).with_name(f"{fid.rsplit('/', 1)[1]}_qa.json")
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def source_photo(self, fid: str) -> Path | None:
        """The frame's source photo: named by its sidecar, else the one the catalogue stored for the SKU."""
        named = (self.sidecar_data(fid).get("provenance") or {}).get("photo")
        if named and Path(named).is_file():
            return Path(named)
        return self._catalogue_source(fid, 0)

    def master(self, fid: str) -> Path | None:
        """The master artwork: named by the QA report, else the one the catalogue stored for the SKU."""
        named = (self.qa_report(fid) or {}).get("master")
        if named and Path(named).is_file():
            return Path(named)
        return self._catalogue_source(fid, 1)

    def _catalogue_source(self, fid: str, which: int) -> Path | None:
        if self.store.catalogue is None:
            return None
        path = self.store.catalogue.sku_sources(str(self.sidecar_data(fid).get("sku", "")))[which]
        if path is None or self.relative(path) is None or not path.is_file():
            return None
        return path

    def relative(self, path: Path) -> str | None:
        """``path`` relative to the run folder when it lies inside it (symlinks resolved), else None."""
        try:
            return Path(os.path.realpath(path)).relative_to(self.run_dir).as_posix()
        except ValueError:
            return None

    def cached(self, kind: str, fid: str, source_stamp: str, make, suffix: str) -> Path:
        """A derived image, made once per source version under ``.packshot/<kind>/``."""
        key = hashlib.sha1(f"{fid}|{source_stamp}".encode()).hexdigest()[:20]
        target = self.cache / kind / f"{key}{suffix}"
        if target.is_file():
            return target
        with self.lock_for(str(target)):
            if not target.is_file():
                from ..imaging import atomic_write_bytes

                target.parent.mkdir(parents=True, exist_ok=True)
                atomic_write_bytes(target, make())
        return target


def _stamp(path: Path) -> str:
    st = path.stat()
    return f"{st.st_mtime_ns}:{st.st_size}"


def _shrunk_jpeg(path: Path, side: int, max_pixels: int) -> bytes:
    """An sRGB JPEG of an image, its long side at most ``side`` (resampled in linear light)."""
    from ..imaging import encode_image, load_image, resize_linear

    img = load_image(path, max_pixels=max_pixels)
    w, h = img.size
    rgb = img.rgb
    if img.alpha is not None:  # a cut-out: shown on white
        a = img.alpha[..., None]
        rgb = rgb * a + (1.0 - a)
    scale = min(1.0, side / max(w, h))
    if scale < 1.0:
        rgb = resize_linear(rgb, (max(1, round(w * scale)), max(1, round(h * scale))))
    return encode_image(rgb, "JPEG", quality=85)


def _shrunk_cutout(path: Path, side: int, max_pixels: int) -> bytes:
    """An RGBA PNG of a cut-out, its long side at most ``side`` (resampled premultiplied, in linear light)."""
    from ..imaging import encode_image, load_image, resize_linear

    img = load_image(path, max_pixels=max_pixels)
    w, h = img.size
    alpha = img.alpha if img.alpha is not None else np.ones(img.rgb.shape[:2], np.float32)
    scale = min(1.0, side / max(w, h))
    if scale >= 1.0:
        return encode_image(img.rgb, "PNG", alpha=alpha)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    premult = resize_linear(np.concatenate([img.rgb * alpha[..., None], alpha[..., None]], axis=2), size)
    a = np.clip(premult[..., 3], 0.0, 1.0)
    rgb = np.where(a[..., None] > 1e-6, premult[..., :3] / np.maximum(a[..., None], 1e-6), 0.0)
    return encode_image(np.clip(rgb, 0.0, 1.0).astype(np.float32), "PNG", alpha=a.astype(np.float32))


def _outline_png(alpha_path: Path) -> bytes:
    """The product outline (where the alpha crosses 0.5) as a cyan line on transparency."""
    import cv2

    from ..imaging import encode_png, load_mask

    alpha = load_mask(alpha_path)
    inside = (alpha > 0.5).astype(np.uint8)
    kernel = np.ones((3, 3), np.uint8)
    edge = cv2.dilate(inside, kernel) - cv2.erode(inside, kernel)
    edge = cv2.dilate(edge, kernel) > 0
    rgba = np.zeros(alpha.shape + (4,), np.uint8)
    rgba[edge] = (0, 230, 255, 255)
    return encode_png(rgba, "RGBA", compress_level=3)


def _heat_png(sidecar: Path) -> bytes:
    """Colour difference (deltaE 2000) between the frame and the locked product, as a heat map on transparency:
    clear below 1, yellow to red from 1 to 10 and more, only where the product is."""
    from ..imaging import delta_e2000, encode_png, linear_to_lab
    from ..qa import load_frame_inputs

    inputs = load_frame_inputs(sidecar)
    de = delta_e2000(linear_to_lab(inputs.frame_rgb), linear_to_lab(inputs.reference_rgb))
    where = inputs.reference_alpha > 0.5
    t = np.clip((de - 1.0) / 9.0, 0.0, 1.0) * where
    rgba = np.zeros(de.shape + (4,), np.uint8)
    rgba[..., 0] = 255
    rgba[..., 1] = (220 * (1.0 - t)).astype(np.uint8)
    rgba[..., 3] = (np.where(t > 0, 60 + 170 * t, 0)).astype(np.uint8)
    return encode_png(rgba, "RGBA", compress_level=3)


def ocr_boxes(data: ReviewData, fid: str, sidecar: dict[str, Any]) -> list[dict[str, Any]]:
    """Text regions the understand stage read on the cut-out, moved into frame pixels by the placement."""
    matrix = (sidecar.get("placement") or {}).get("matrix")
    sku_dir = data.sidecar(fid).parent.parent
    maps_json = sku_dir / "maps" / "maps.json"
    if matrix is None or data.relative(maps_json) is None or not maps_json.is_file():
        return []
    try:
        texts = json.loads(maps_json.read_text(encoding="utf-8")).get("text", [])
    except (OSError, ValueError):
        return []
    m = np.asarray(matrix, np.float64)
    boxes = []
    for t in texts:
        x0, y0, x1, y1 = (float(v) for v in t.get("box", (0, 0, 0, 0)))
        corners = np.array([[x0, y0, 1], [x1, y0, 1], [x1, y1, 1], [x0, y1, 1]]) @ m.T
        bx0, by0 = corners.min(axis=0)
        bx1, by1 = corners.max(axis=0)
        boxes.append({"x": round(bx0, 1), "y": round(by0, 1), "w": round(bx1 - bx0, 1), "h": round(by1 - by0, 1),
                      "text": str(t.get("text", ""))})
    return boxes


def qa_words(report: dict[str, Any] | None) -> list[dict[str, str]]:
    """The QA reasons in words: every check that did not pass, then the warnings."""
    if report is None:
        return [{"status": "unchecked", "text": "No QA report: this frame was not checked (run with --qa)."}]
    out = [{"status": c.get("status", ""), "text": f"{_check_title(c.get('name', ''))}: {c.get('message', '')}"}
           for c in report.get("checks", []) if c.get("status") != "pass"]
    for w in (report.get("metrics") or {}).get("warnings", []) or []:
        out.append({"status": "note", "text": str(w)})
    if not out:
        out.append({"status": "pass", "text": "Every check passed."})
    return out


def reason_words(reason: str) -> str:
    """``"colour.mean_de: mean deltaE ..."`` -> ``"Colour (mean de): mean deltaE ..."``."""
    name, sep, message = reason.partition(": ")
    if not sep or " " in name or "." not in name:
        return reason
    return f"{_check_title(name)}: {message}"


_TITLES = {"silhouette": "Outline", "colour": "Colour", "geometry": "Print geometry", "text": "Label text"}


def _check_title(name: str) -> str:
    group, _, detail = name.partition(".")
    return f"{_TITLES.get(group, group.title())} ({detail.replace('_', ' ')})" if detail else _TITLES.get(group, name)


# --------------------------------------------------------------------------------------------- routes
_PREVIEW_QUEUE = 4096
"""Preview requests that may wait for a worker (a page of thumbnails asks for many at once)."""
_FILE_MAX_AGE_S = 60
"""Browser cache lifetime of run-folder files served as they are."""
_IMAGE_MAX_AGE_S = 3600
"""Browser cache lifetime of derived images (thumbnails, previews, layers)."""
_MAX_REVIEWER_CHARS = 80
"""Longest reviewer name recorded with a decision."""
_MAX_NOTE_CHARS = 4000
"""Longest comment, and longest brief change, recorded with a decision."""
_SEED_LIMIT = 2 ** 32
"""Seeds of a re-render request lie in 0.._SEED_LIMIT-1."""
_PAGE_HEADERS = {"Cache-Control": "no-store", "X-Frame-Options": "DENY",
                 "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
                                           "style-src 'self'; script-src 'self'"}
"""Headers of every HTML page: never cached, never framed, only this server's scripts, styles and images."""


def build_review(app, settings) -> None:
    from fastapi.staticfiles import StaticFiles
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    from .workers import WorkerPool

    data = ReviewData(settings.review_dir, settings.store_path)
    app.state.review = data
    env = Environment(loader=FileSystemLoader(str(_HERE / "templates")), autoescape=select_autoescape(["html"]))
    env.filters["words"] = reason_words
    app.mount("/static", StaticFiles(directory=str(_HERE / "static")), name="static")
    ctx = _ReviewContext(data, settings.limits, env, settings.reviewer or os.environ.get("USER") or "reviewer")
    _add_page_routes(app, ctx)
    # previews have their own pool: a page of 60 thumbnails must not be refused by the API's small queue
    ctx.previews = WorkerPool(settings.workers, queue=_PREVIEW_QUEUE, name="packshot-preview")
    app.state.review_pool = ctx.previews
    _add_image_routes(app, ctx)
    _add_decision_routes(app, ctx)


class _ReviewContext:
    """What the review routes share: the run folder's data, the limits, the page templates, the reviewer
    name used when a person has not set theirs, and the preview worker pool."""

    def __init__(self, data: ReviewData, limits, env, default_who: str):
        self.data = data
        self.limits = limits
        self.env = env
        self.default_who = default_who
        self.previews = None

    def page(self, request: Request, template: str, **context) -> HTMLResponse:
        """A rendered page, with the CSRF cookie set when the browser does not hold it yet."""
        token = request.cookies.get(CSRF_COOKIE) or new_csrf_token()
        body = self.env.get_template(template).render(csrf=token, default_who=self.default_who, **context)
        response = HTMLResponse(body, headers=_PAGE_HEADERS)
        if request.cookies.get(CSRF_COOKIE) != token:
            response.set_cookie(CSRF_COOKIE, token, httponly=False, samesite="strict")
        return response

    async def in_pool(self, fn, *args):
        """Run ``fn(*args)`` in the preview pool: 429 when full, 408 over the time limit, 422 unreadable."""
        from ..errors import PackshotError
        from .api import ApiError
        from .workers import Busy, TooSlow

        limits = self.limits
        try:
            return await self.previews.run(fn, *args, timeout=limits.max_seconds)
        except Busy as exc:
            raise ApiError(429, "busy; retry later", {"Retry-After": str(exc.retry_after)}) from None
        except TooSlow:
            raise ApiError(408, f"making the image took longer than {limits.max_seconds:g} s") from None
        except (PackshotError, OSError, ValueError) as exc:
            from .security import log_unexpected

            log_unexpected("preview", exc)
            raise ApiError(422, "the image for this view cannot be read (the server log names the file)") from None

    def who_of(self, form: dict[str, str], request: Request) -> str:
        who = (form.get("who") or request.cookies.get("packshot_reviewer") or self.default_who).strip()
        if len(who) > _MAX_REVIEWER_CHARS or not re.match(r"^[\w .@'-]+$", who):
            raise SecurityError(400, "who: a reviewer name of letters, digits, spaces and . @ ' - "
                                     f"({_MAX_REVIEWER_CHARS} at most)")
        return who


def _filters_from(params) -> dict[str, str | None]:
    f = {k: (params.get(k) or None) for k in ("verdict", "sku", "scene", "decision")}
    if f["verdict"] not in (None, *VERDICTS):
        raise SecurityError(400, f"verdict must be one of {', '.join(VERDICTS)}")
    if f["decision"] not in (None, "undecided", *DECISIONS):
        raise SecurityError(400, f"decision must be one of undecided, {', '.join(DECISIONS)}")
    return f


def _query_string(f: dict[str, str | None], **extra) -> str:
    from urllib.parse import urlencode

    items = {k: v for k, v in {**f, **extra}.items() if v not in (None, "")}
    return ("?" + urlencode(items)) if items else ""


def _image_response(path: Path) -> Response:
    media = "image/jpeg" if path.suffix == ".jpg" else "image/png"
    return FileResponse(path, media_type=media, headers={"Cache-Control": f"private, max-age={_IMAGE_MAX_AGE_S}"})


async def _form_of(request: Request) -> dict[str, str]:
    """The posted fields: a JSON object's values as text, or the text fields of a form."""
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("application/json"):
        try:
            body = await request.json()
        except ValueError:
            raise SecurityError(400, "body is not JSON") from None
        if not isinstance(body, dict):
            raise SecurityError(400, "body must be a JSON object")
        return {k: "" if v is None else str(v) for k, v in body.items()}
    form = await request.form()
    return {k: str(v) for k, v in form.items() if isinstance(v, str)}


async def _checked_form(request: Request) -> dict[str, str]:
    """The posted fields, after the CSRF check (a token matching the cookie, and the request's own host)."""
    form = await _form_of(request)
    check_csrf(request.method, request.headers, request.cookies, form.get(CSRF_FIELD), request.headers.get("host"))
    return form


def _answer(request: Request, payload: dict, back: str):
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse(payload)
    return RedirectResponse(back, status_code=303)


def _add_page_routes(app, ctx: _ReviewContext) -> None:
    """``/`` (the queue), ``/frame/<fid>`` and ``/file/<path>`` (run-folder images as they are)."""
    data = ctx.data

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def queue(request: Request):
        f = _filters_from(request.query_params)
        try:
            page_no = max(1, int(request.query_params.get("page", "1")))
        except ValueError:
            raise SecurityError(400, "page must be a whole number") from None
        rows, total = data.store.query(**f, offset=(page_no - 1) * PAGE_SIZE, limit=PAGE_SIZE)
        pages = max(1, -(-total // PAGE_SIZE))
        return ctx.page(request, "queue.html", rows=rows, total=total, page=page_no, pages=pages, filters=f,
                        counts=data.store.counts(), facets=data.store.facets(), verdicts=VERDICTS,
                        decisions=("undecided", *DECISIONS), qs=lambda **kw: _query_string(f, **kw),
                        filter_qs=_query_string(f))

    @app.get("/frame/{fid:path}", response_class=HTMLResponse, include_in_schema=False)
    async def frame_page(request: Request, fid: str):
        f = _filters_from(request.query_params)
        row = data.store.frame(fid) if _FID.match(fid) else None
        if row is None:
            raise SecurityError(404, f"no frame {fid}")
        side = data.sidecar_data(fid)
        report = data.qa_report(fid)
        sidecar = data.sidecar(fid)
        stem = fid.rsplit("/", 1)[1]
        cut = side.get("cutout")
        cut_rel = data.relative(sidecar.parent / cut) if cut and not Path(cut).is_absolute() else None
        overlay = sidecar.with_name(f"{stem}_qa_overlay.png")
        prev_fid, next_fid = data.store.neighbours(fid, **f)
        w, h = side.get("size", [0, 0])
        return ctx.page(request, "frame.html", row=row, fid=fid, side=side, width=w, height=h,
                        words=qa_words(report), verdict=row["verdict"], cutout=cut_rel,
                        overlay=data.relative(overlay) if overlay.is_file() else None,
                        has_photo=data.source_photo(fid) is not None,
                        has_master=data.master(fid) is not None,
                        ocr=ocr_boxes(data, fid, side), history=data.store.history(fid),
                        prev_fid=prev_fid, next_fid=next_fid, filter_qs=_query_string(f),
                        seed=(side.get("spec") or {}).get("seed"))

    @app.get("/file/{path:path}", include_in_schema=False)
    async def run_file(path: str):
        target = safe_path(data.run_dir, path)
        rel = target.relative_to(data.run_dir)
        if target.suffix.lower() not in _SERVED_SUFFIXES or any(p.startswith(".") for p in rel.parts):
            raise SecurityError(404, "not found")
        return FileResponse(target, headers={"Cache-Control": f"private, max-age={_FILE_MAX_AGE_S}"})


def _add_image_routes(app, ctx: _ReviewContext) -> None:
    """The derived images, each made once into the cache: thumbnails, photo / cut-out / master previews, the
    photo's pixel size, and the outline and heat-map layers."""
    data, limits, in_pool = ctx.data, ctx.limits, ctx.in_pool

    @app.get("/thumb/{fid:path}", include_in_schema=False)
    async def thumb(fid: str):
        png = data.sidecar(fid).with_suffix(".png")
        return _image_response(await in_pool(data.cached, "thumbs", fid, _stamp(png),
                                             lambda: _shrunk_jpeg(png, THUMB_SIDE, limits.max_pixels), ".jpg"))

    @app.get("/photo/{fid:path}", include_in_schema=False)
    async def photo(fid: str):
        src = data.source_photo(fid)
        if src is None:
            raise SecurityError(404, "the source photo named by this frame is not on this machine")
        return _image_response(await in_pool(data.cached, "photos", str(src), _stamp(src),
                                             lambda: _shrunk_jpeg(src, PREVIEW_SIDE, limits.max_pixels), ".jpg"))

    @app.get("/photo-size/{fid:path}", include_in_schema=False)
    async def photo_size(fid: str):
        """Pixel size of the (EXIF-rotated) source photo: box prompts are drawn in these pixels."""
        from ..imaging import image_size

        src = data.source_photo(fid)
        if src is None:
            raise SecurityError(404, "no source photo")
        w, h = await in_pool(image_size, src, limits.max_pixels)  # an unreadable photo: 422
        return {"width": w, "height": h}

    @app.get("/cutout/{fid:path}", include_in_schema=False)
    async def cutout_preview(fid: str):
        cut = data.sidecar_data(fid).get("cutout")
        rel = data.relative(data.sidecar(fid).parent / cut) if cut and not Path(cut).is_absolute() else None
        if rel is None:
            raise SecurityError(404, "no cut-out in the run folder for this frame")
        src = safe_path(data.run_dir, rel)
        return _image_response(await in_pool(data.cached, "cutouts", rel, _stamp(src),
                                             lambda: _shrunk_cutout(src, PREVIEW_SIDE, limits.max_pixels), ".png"))

    @app.get("/master/{fid:path}", include_in_schema=False)
    async def master(fid: str):
        src = data.master(fid)
        if src is None:
            raise SecurityError(404, "no master artwork for this frame")
        return _image_response(await in_pool(data.cached, "masters", str(src), _stamp(src),
                                             lambda: _shrunk_jpeg(src, PREVIEW_SIDE, limits.max_pixels), ".jpg"))

    @app.get("/layer/{fid:path}/outline.png", include_in_schema=False)
    async def outline(fid: str):
        sidecar = data.sidecar(fid)
        alpha = safe_path(data.run_dir, (sidecar.parent.relative_to(data.run_dir) /
                                         data.sidecar_data(fid)["product_alpha"]).as_posix())
        return _image_response(await in_pool(data.cached, "layers", fid + "/outline", _stamp(alpha),
                                             lambda: _outline_png(alpha), ".png"))

    @app.get("/layer/{fid:path}/heat.png", include_in_schema=False)
    async def heat(fid: str):
        sidecar = data.sidecar(fid)
        png = sidecar.with_suffix(".png")
        return _image_response(await in_pool(data.cached, "layers", fid + "/heat", _stamp(png) + _stamp(sidecar),
                                             lambda: _heat_png(sidecar), ".png"))


def _rerender_request(form: dict[str, str], comment: str) -> tuple[int | None, tuple[int, int, int, int] | None]:
    """The (seed, box) of a re-render request; it must carry a note, a seed, a box or a brief change."""
    seed = box = None
    if form.get("seed", "").strip():
        try:
            seed = int(form["seed"])
        except ValueError:
            raise SecurityError(400, "seed must be a whole number") from None
        if not 0 <= seed < _SEED_LIMIT:
            raise SecurityError(400, "seed must be in 0..2^32-1")
    if form.get("box", "").strip():
        from .api import ApiError, parse_box

        try:
            box = parse_box(form["box"])
        except ApiError as exc:
            raise SecurityError(400, exc.message) from None
    if not (comment or seed is not None or box or form.get("brief_change", "").strip()):
        raise SecurityError(400, "a re-render request needs a note, a new seed, a box or a brief change")
    return seed, box


def _add_decision_routes(app, ctx: _ReviewContext) -> None:
    """``POST /decide/<fid>``, ``POST /bulk-approve`` and ``POST /rescan`` (each checks the CSRF token)."""
    data = ctx.data

    @app.post("/decide/{fid:path}", include_in_schema=False)
    async def decide(request: Request, fid: str):
        form = await _checked_form(request)
        if not _FID.match(fid) or data.store.frame(fid) is None:
            raise SecurityError(404, f"no frame {fid}")
        decision = {"approve": "approved", "reject": "rejected", "rerender": "rerender"}.get(
            form.get("decision", ""), form.get("decision", ""))
        if decision not in DECISIONS:
            raise SecurityError(400, "decision must be approve, reject or rerender")
        comment = (form.get("comment") or "").strip()
        if len(comment) > _MAX_NOTE_CHARS or len(form.get("brief_change", "")) > _MAX_NOTE_CHARS:
            raise SecurityError(413, f"comment and brief change are limited to {_MAX_NOTE_CHARS} characters")
        if decision == "rejected" and not comment:
            raise SecurityError(400, "comment: say why the frame is rejected")
        seed, box = _rerender_request(form, comment) if decision == "rerender" else (None, None)
        made = data.store.decide(fid, decision, ctx.who_of(form, request), comment=comment, seed=seed, box=box,
                                 brief_change=(form.get("brief_change") or "").strip())
        payload = {"frame": fid, "decision": made.decision, "who": made.who, "at": made.at, "seed": made.seed,
                   "box": list(made.box) if made.box else None, "comment": made.comment}
        return _answer(request, payload, f"/frame/{fid}")

    @app.post("/bulk-approve", include_in_schema=False)
    async def bulk_approve(request: Request):
        form = await _checked_form(request)
        f = _filters_from(form)
        if f["verdict"] not in (None, "pass"):
            raise SecurityError(400, "bulk approve takes frames that passed QA only")
        frames = data.store.frames_matching(**{**f, "verdict": "pass", "decision": "undecided"})
        n = data.store.decide_many(frames, "approved", ctx.who_of(form, request), comment="bulk approve (QA passed)")
        return _answer(request, {"approved": n}, "/" + _query_string(f))

    @app.post("/rescan", include_in_schema=False)
    async def rescan(request: Request):
        await _checked_form(request)
        return _answer(request, await ctx.in_pool(data.rescan), "/")
