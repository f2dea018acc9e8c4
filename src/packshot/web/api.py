"""The versioned HTTP API (``/v1``): cut-out, inspect, render, check and catalogue jobs.

Every image endpoint takes ``multipart/form-data`` with the photo in the field ``image``. The photo's
header is read first (in the event loop, before any worker is taken): a body over the byte limit is
413, an image over the pixel limit is 413, something that is not an image is 422. The work itself runs
in the bounded :class:`~packshot.web.workers.WorkerPool`; when it is full the answer is 429 with
``Retry-After``; work over the time limit is 408. Errors are JSON ``{"error": "..."}`` and never
carry a stack trace.

Models (the segment backend's ONNX sessions) are created once per process by :class:`Models`.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np
from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse, Response

from ..errors import ImageTooLargeError, InputError
from .security import Limits, SecurityError, safe_path
from .workers import Busy, ResultStore, TooSlow, WorkerPool

MULTIPART_ROUTES = {"/v1/cutout", "/v1/inspect", "/v1/render", "/v1/check", "/v1/jobs"}
"""POST routes that only take multipart/form-data (anything else is 415)."""
_ID = re.compile(r"^[0-9a-f]{32}$")
"""A job or result id (a uuid4 hex): anything else is 404 before any lookup."""
_RESULT_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,80}$")
"""A result file name (plain characters, 80 at most): anything else is 404."""


class ApiError(Exception):
    """An error answered as ``{"error": message}`` with ``status`` (and optional headers)."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        self.status = status
        self.message = message
        self.headers = headers or {}
        super().__init__(message)


class Models:
    """The models an API process needs, created once (thread-safe, on first use or at start-up)."""

    def __init__(self, segment_backend: str = "auto"):
        self.segment_backend_name = segment_backend
        self._segment = None
        self._lock = threading.Lock()
        self.loads = 0

    def segment_backend(self):
        with self._lock:
            if self._segment is None:
                from ..segment import BACKENDS

                self._segment = BACKENDS.create(self.segment_backend_name)
                self.loads += 1
            return self._segment

    def warm(self) -> None:
        """Create the backend and run it once on a small generated product, so ONNX sessions load now."""
        from ..samples import make_product
        from ..segment import segment

        backend = self.segment_backend()
        sample = make_product("box", seed=0, size=(256, 256))
        segment(sample.image, backend=backend)

    @property
    def loaded(self) -> bool:
        return self._segment is not None


@dataclass
class ApiState:
    """Everything the API routes share in one process."""

    limits: Limits
    pool: WorkerPool
    models: Models
    results: ResultStore = field(default_factory=ResultStore)
    work_dir: Path | None = None
    jobs: "JobRunner | None" = None


# --------------------------------------------------------------------------------------------- input
def probe_image(data: bytes, name: str, limits: Limits) -> tuple[int, int]:
    """Read only the header: (width, height); 413 over the pixel limit, 422 when it is not an image."""
    from ..errors import ImageTooLargeError
    from ..imaging import open_image

    if not data:
        raise ApiError(422, f"{name}: the upload is empty")
    try:
        with open_image(data, name) as img:
            w, h = img.size
    except ImageTooLargeError:
        raise ApiError(413, f"{name}: image has more pixels than the limit of {limits.max_pixels}") from None
    except Exception:
        raise ApiError(422, f"{name}: not an image packshot can read (JPEG, PNG, WebP, TIFF, BMP)") from None
    if w * h > limits.max_pixels:
        raise ApiError(413, f"{name}: image is {w}x{h} = {w * h} pixels, over the limit of {limits.max_pixels}")
    return w, h


async def read_upload(upload: UploadFile | None, field_name: str, limits: Limits) -> tuple[bytes, str]:
    if upload is None or not hasattr(upload, "read"):
        raise ApiError(422, f"multipart field '{field_name}' (an image file) is required")
    data = await upload.read()
    name = Path(upload.filename or field_name).name or field_name
    if len(data) > limits.max_body_bytes:
        raise ApiError(413, f"{name}: {len(data)} bytes is over the limit of {limits.max_body_bytes}")
    return data, name


def decode(data: bytes, name: str, limits: Limits):
    from ..imaging import decode_image

    try:
        return decode_image(data, name=name, max_pixels=limits.max_pixels)
    except ImageTooLargeError as exc:
        raise ApiError(413, str(exc)) from None
    except InputError as exc:
        raise ApiError(422, str(exc)) from None


def _numbers(text: str, field_name: str) -> list[float]:
    text = text.strip()
    try:
        value = json.loads(text) if text.startswith("[") else [float(p) for p in text.split(",")]
        return [float(v) for v in value]
    except (ValueError, TypeError):
        raise ApiError(422, f"'{field_name}' needs numbers, got {text[:80]!r}") from None


def parse_box(text: str | None) -> tuple[int, int, int, int] | None:
    """``"x0,y0,x1,y1"`` or ``[x0, y0, x1, y1]`` (pixels of the EXIF-rotated photo)."""
    if text is None or not text.strip():
        return None
    nums = _numbers(text, "box")
    if len(nums) != 4:
        raise ApiError(422, f"'box' needs four numbers x0,y0,x1,y1, got {len(nums)}")
    x0, y0, x1, y1 = (int(round(v)) for v in nums)
    if x1 <= x0 or y1 <= y0:
        raise ApiError(422, f"'box' needs x1 > x0 and y1 > y0, got {[x0, y0, x1, y1]}")
    return x0, y0, x1, y1


def parse_points(text: str | None) -> tuple[tuple[float, float, int], ...]:
    """``"x,y,label;x,y,label"`` or JSON ``[[x, y, label], ...]`` (label 1 product, 0 not product)."""
    if text is None or not text.strip():
        return ()
    text = text.strip()
    if text.startswith("["):
        try:
            raw = json.loads(text)
        except ValueError:
            raise ApiError(422, "'points' is not valid JSON") from None
    else:
        raw = [p.split(",") for p in text.split(";") if p.strip()]
    points = []
    for item in raw:
        if not isinstance(item, (list, tuple)) or len(item) not in (2, 3):
            raise ApiError(422, f"'points' entries need x,y or x,y,label, got {item!r}")
        try:
            x, y = float(item[0]), float(item[1])
            label = int(item[2]) if len(item) == 3 else 1
        except (TypeError, ValueError):
            raise ApiError(422, f"'points' entries need numbers, got {item!r}") from None
        if label not in (0, 1):
            raise ApiError(422, f"'points' label must be 0 or 1, got {label}")
        points.append((x, y, label))
    return tuple(points)


_UNSAFE_BRIEF_KEYS = ("references", "plate")


def parse_brief_text(text: str | None):
    """A brief sent as YAML or JSON text; file references (``references``, ``plate``) are refused over HTTP."""
    import yaml

    from ..condition import parse_brief

    if text is None or not text.strip():
        raise ApiError(422, "form field 'brief' (YAML or JSON text) is required")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ApiError(422, f"brief: not valid YAML or JSON ({str(exc).splitlines()[0]})") from None
    if isinstance(data, dict):
        for where, mapping in [("defaults", data.get("defaults"))] + [
                (f"scenes[{i}]", s) for i, s in enumerate(data.get("scenes") or [])]:
            if isinstance(mapping, dict):
                for key in _UNSAFE_BRIEF_KEYS:
                    if key in mapping:
                        raise ApiError(422, f"brief: {where}.{key}: files named in a brief are not accepted "
                                            "over HTTP (run packshot locally for plates and references)")
    empty = Path(tempfile.mkdtemp(prefix="packshot-brief-"))
    try:
        return parse_brief(data, base_dir=empty, source="brief")
    except InputError as exc:
        raise ApiError(422, str(exc)) from None
    finally:
        shutil.rmtree(empty, ignore_errors=True)


def _png_gray(values: np.ndarray) -> bytes:
    from ..imaging import encode_png, float_to_uint8

    return encode_png(float_to_uint8(values), "L", compress_level=6)


def check_frame_budget(brief, limits: Limits) -> None:
    """Refuse a brief for /v1/render before any work: too many frames (422) or a canvas over the pixel limit (413)."""
    frames = sum(s.variants * len(s.sizes) for s in brief.scenes)
    if frames > limits.max_frames:
        raise ApiError(422, f"brief: asks for {frames} frames; /v1/render makes at most {limits.max_frames} "
                            "(use /v1/jobs for more)")
    for s in brief.scenes:
        for w, h in s.sizes:
            if w * h > limits.max_pixels:
                raise ApiError(413, f"brief: scene {s.name} size {w}x{h} is over the pixel limit of {limits.max_pixels}")


# --------------------------------------------------------------------------------------------- router
def build_router(state: ApiState) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["v1"])
    ctx = _RouteContext(state)
    _add_image_routes(router, ctx)
    _add_render_route(router, ctx)
    _add_check_route(router, ctx)
    _add_job_routes(router, ctx)
    _add_result_routes(router, ctx)
    return router


class _RouteContext:
    """What the ``/v1`` routes share: the process state, its limits, and the steps several routes take."""

    def __init__(self, state: ApiState):
        self.state = state
        self.limits = state.limits

    async def in_pool(self, fn, *args):
        """Run ``fn(*args)`` in the worker pool: 429 when it is full, 408 over the time limit."""
        limits = self.limits
        try:
            return await self.state.pool.run(fn, *args, timeout=limits.max_seconds)
        except Busy as exc:
            raise ApiError(429, "every worker is busy and the queue is full; retry later",
                           {"Retry-After": str(exc.retry_after)}) from None
        except TooSlow:
            raise ApiError(408, f"processing took longer than the limit of {limits.max_seconds:g} s") from None

    @staticmethod
    def prompt_from(box: str | None, points: str | None):
        from ..types import Prompt

        prompt = Prompt(box=parse_box(box), points=parse_points(points))
        return None if prompt.empty else prompt

    def cutout_of(self, data: bytes, name: str, prompt):
        from ..errors import EmptyProductError
        from ..segment import SegmentConfig, segment

        image = decode(data, name, self.limits)
        try:
            cut = segment(image, SegmentConfig(), backend=self.state.models.segment_backend(), prompt=prompt)
        except InputError as exc:
            raise ApiError(422, f"{name}: {exc}") from None
        if cut.is_empty:
            raise ApiError(422, str(EmptyProductError(name, "no product found (the photo looks like plain backdrop)")))
        return image, cut


def _add_image_routes(router: APIRouter, ctx: _RouteContext) -> None:
    """``POST /v1/cutout`` and ``POST /v1/inspect``."""
    state, limits = ctx.state, ctx.limits

    @router.post("/cutout", summary="Cut the product out of a photo",
                 responses={200: {"content": {"image/png": {}, "application/json": {}},
                                  "description": "RGBA PNG (default) or JSON with URLs when Accept: application/json"}})
    async def cutout(request: Request, image: UploadFile = File(..., description="The photo"),
                     box: Optional[str] = Form(None, description="Box prompt x0,y0,x1,y1 in photo pixels"),
                     points: Optional[str] = Form(None, description="Point prompts x,y,label;... (label 1 product, 0 not)")):
        data, name = await read_upload(image, "image", limits)
        probe_image(data, name, limits)
        prompt = ctx.prompt_from(box, points)

        def work():
            from ..segment import encode_cutout

            _, cut = ctx.cutout_of(data, name, prompt)
            return cut, encode_cutout(cut)

        cut, png = await ctx.in_pool(work)
        if "application/json" not in request.headers.get("accept", ""):
            return Response(png, media_type="image/png")
        ident = uuid.uuid4().hex
        state.results.put(f"{ident}/cutout.png", png, "image/png")
        state.results.put(f"{ident}/mask.png", await ctx.in_pool(_png_gray, cut.alpha), "image/png")
        h, w = cut.alpha.shape
        return {"id": ident, "width": w, "height": h, "bbox": list(cut.bbox) if cut.bbox else None,
                "confidence": float(cut.confidence), "flags": list(cut.flags),
                "mask_url": f"/v1/results/{ident}/mask.png", "cutout_url": f"/v1/results/{ident}/cutout.png"}

    @router.post("/inspect", summary="Cut out and measure a product: depth, materials, palette, text, risk flags")
    async def inspect(image: UploadFile = File(...), box: Optional[str] = Form(None),
                      points: Optional[str] = Form(None)):
        data, name = await read_upload(image, "image", limits)
        probe_image(data, name, limits)
        prompt = ctx.prompt_from(box, points)

        def work():
            from ..understand import understand
            from ..understand import maps_to_json

            _, cut = ctx.cutout_of(data, name, prompt)
            maps = understand(cut)
            return json.loads(json.dumps(maps_to_json(maps, cut), default=_plain))

        doc = await ctx.in_pool(work)
        doc.pop("files", None)
        return doc


def _check_spec_budget(specs, limits: Limits) -> None:
    """Refuse conditioned frame specs over the frame count (422) or with a canvas over the pixel limit (413)."""
    if len(specs) > limits.max_frames:
        raise ApiError(422, f"brief: asks for {len(specs)} frames; /v1/render makes at most "
                            f"{limits.max_frames} (use /v1/jobs for more)")
    for spec in specs:
        if spec.canvas[0] * spec.canvas[1] > limits.max_pixels:
            raise ApiError(413, f"brief: scene {spec.scene} canvas {spec.canvas[0]}x{spec.canvas[1]} "
                                f"is over the pixel limit of {limits.max_pixels}")


def _render_and_store(ctx: _RouteContext, data: bytes, name: str, parsed, relight: bool) -> dict:
    """The work of ``/v1/render`` (in a worker): cut out, understand, condition, render (and relight) each
    frame, keep each frame and its alpha as results, and answer their URLs."""
    from ..condition import condition
    from ..imaging import encode_image
    from ..relight import relight as relight_frame
    from ..render import render
    from ..understand import understand

    photo, cut = ctx.cutout_of(data, name, None)
    maps = understand(cut)
    specs = condition(parsed, cut, maps, Path(name).stem or "sku")
    _check_spec_budget(specs, ctx.limits)
    ident = uuid.uuid4().hex
    out = []
    for spec in specs:
        frame = render(spec, cut, maps, backend="plate" if spec.plate is not None else "studio")
        if relight:
            frame = relight_frame(frame, cut, maps)
        from ..render import frame_stem

        stem = f"{spec.scene}_{frame_stem(spec)}"
        ctx.state.results.put(f"{ident}/{stem}.png", encode_image(frame.rgb, "PNG"), "image/png")
        ctx.state.results.put(f"{ident}/{stem}_alpha.png", _png_gray(frame.product_alpha), "image/png")
        out.append({"scene": spec.scene, "variant": frame_stem(spec), "width": frame.size[0],
                    "height": frame.size[1], "product_box": list(frame.product_box),
                    "seed": spec.seed, "url": f"/v1/results/{ident}/{stem}.png",
                    "alpha_url": f"/v1/results/{ident}/{stem}_alpha.png"})
    return {"id": ident, "brief": parsed.name, "frames": out}


def _add_render_route(router: APIRouter, ctx: _RouteContext) -> None:
    """``POST /v1/render``."""
    limits = ctx.limits

    @router.post("/render", summary="Render the frames of a brief around the product in a photo")
    async def render_frames(image: UploadFile = File(...),
                            brief: str = Form(..., description="The brief as YAML or JSON text"),
                            relight: bool = Form(True)):
        data, name = await read_upload(image, "image", limits)
        probe_image(data, name, limits)
        parsed = parse_brief_text(brief)
        check_frame_budget(parsed, limits)

        def work():
            return _render_and_store(ctx, data, name, parsed, relight)

        return await ctx.in_pool(work)


def _add_check_route(router: APIRouter, ctx: _RouteContext) -> None:
    """``POST /v1/check``."""
    limits = ctx.limits

    @router.post("/check", summary="Check an image against a marketplace profile: every rule measured")
    async def check(image: UploadFile = File(...),
                    profile: str = Form(..., description="A built-in profile name"),
                    alpha: Optional[UploadFile] = File(None, description="Optional product alpha (grey PNG)")):
        from ..export import profile_names

        names = profile_names()
        if profile not in names:  # names only: a path would let a caller read files on the server
            raise ApiError(422, f"unknown profile {profile!r}; choose one of: {', '.join(names)}")
        data, name = await read_upload(image, "image", limits)
        size = probe_image(data, name, limits)
        alpha_data = None
        if alpha is not None and getattr(alpha, "filename", None):
            alpha_data, alpha_name = await read_upload(alpha, "alpha", limits)
            if probe_image(alpha_data, alpha_name, limits) != size:
                raise ApiError(422, f"{alpha_name}: the alpha must be {size[0]}x{size[1]} like the image")

        def work():
            from ..export import check_image

            mask = None
            if alpha_data is not None:
                loaded = decode(alpha_data, "alpha", limits)
                mask = loaded.alpha if loaded.alpha is not None else loaded.rgb.mean(axis=2)
            try:
                report = check_image(data, profile, product_alpha=mask, name=name)
            except InputError as exc:
                raise ApiError(422, str(exc)) from None
            return json.loads(json.dumps(report.to_dict(), default=_plain))

        return await ctx.in_pool(work)


def _add_job_routes(router: APIRouter, ctx: _RouteContext) -> None:
    """``POST /v1/jobs``, ``GET /v1/jobs/{job_id}`` and ``GET /v1/jobs/{job_id}/files/{path}``."""
    state, limits = ctx.state, ctx.limits

    @router.post("/jobs", status_code=202, summary="Start a catalogue run: photos x brief -> frames (poll the job)")
    async def create_job(images: list[UploadFile] = File(..., description="Product photos, one SKU each"),
                         brief: str = Form(...), qa: bool = Form(False)):
        if state.jobs is None:
            raise ApiError(503, "jobs are not enabled on this server (no work folder)")
        parsed = parse_brief_text(brief)
        if not images:
            raise ApiError(422, "multipart field 'images' needs at least one photo")
        if len(images) > state.jobs.max_photos:
            raise ApiError(413, f"a job takes at most {state.jobs.max_photos} photos, got {len(images)}")
        photos = []
        for upload in images:
            data, name = await read_upload(upload, "images", limits)
            probe_image(data, name, limits)
            photos.append((name, data))
        job = state.jobs.submit(photos, parsed, brief, qa=qa)
        return JSONResponse(job, status_code=202, headers={"Location": f"/v1/jobs/{job['id']}"})

    @router.get("/jobs/{job_id}", summary="A job's status, progress and frames")
    async def get_job(job_id: str):
        if state.jobs is None or not _ID.match(job_id):
            raise ApiError(404, f"no job {job_id!r}")
        job = state.jobs.status(job_id)
        if job is None:
            raise ApiError(404, f"no job {job_id!r}")
        return job

    @router.get("/jobs/{job_id}/files/{path:path}", summary="A file a job wrote")
    async def get_job_file(job_id: str, path: str):
        if state.jobs is None or not _ID.match(job_id):
            raise ApiError(404, "not found")
        try:
            target = safe_path(state.jobs.out_dir(job_id), path)
        except SecurityError:
            raise ApiError(404, "not found") from None
        media = {".png": "image/png", ".json": "application/json"}.get(target.suffix.lower(),
                                                                        "application/octet-stream")
        return Response(target.read_bytes(), media_type=media)


def _add_result_routes(router: APIRouter, ctx: _RouteContext) -> None:
    """``GET /v1/results/{ident}/{name}``."""
    state = ctx.state

    @router.get("/results/{ident}/{name}", summary="A result an earlier call handed out a URL for (kept a while)")
    async def get_result(ident: str, name: str):
        if not _ID.match(ident) or not _RESULT_NAME.match(name):
            raise ApiError(404, "not found")
        item = state.results.get(f"{ident}/{name}")
        if item is None:
            raise ApiError(404, "no such result (results are kept for the most recent calls only)")
        return Response(item[0], media_type=item[1])


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, Path):
        return str(value)
    return str(value)


# --------------------------------------------------------------------------------------------- jobs
class JobRunner:
    """Catalogue runs started over HTTP (:func:`packshot.catalogue.runner.run_photos`): one job at a time in its
    own thread, state in ``job.json``.

    Each job writes under ``work_dir/jobs/<id>/``: ``input/`` (the uploaded photos, one SKU each, named after
    the file), ``brief.yaml``, ``out/`` (a catalogue output folder: job store ``packshot.db``, frames
    ``<sku>/<scene>/<variant>.png`` with sidecars and QA reports, ``report.html``; ``packshot review`` opens
    it) and ``job.json`` (status, units done, per-SKU frames and verdicts). One SKU failing never stops the others.
    """

    def __init__(self, work_dir: Path, max_pending: int = 16, max_photos: int = 64, catalogue_workers: int = 1):
        self.root = Path(work_dir) / "jobs"
        self.root.mkdir(parents=True, exist_ok=True)
        self.max_pending = max_pending
        self.max_photos = max_photos
        self.catalogue_workers = catalogue_workers
        self._lock = threading.Lock()
        self._pending = 0
        self._executor = __import__("concurrent.futures").futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="packshot-job")

    def out_dir(self, job_id: str) -> Path:
        return self.root / job_id / "out"

    def _write(self, job_id: str, doc: dict) -> None:
        from ..imaging import atomic_write_text

        atomic_write_text(self.root / job_id / "job.json", json.dumps(doc, indent=1, sort_keys=True))

    def status(self, job_id: str) -> dict | None:
        path = self.root / job_id / "job.json"
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            return None

    def submit(self, photos: list[tuple[str, bytes]], brief, brief_text: str, qa: bool = False) -> dict:
        from ..imaging import atomic_write_bytes
        from ..pipeline import sku_from_path

        with self._lock:
            if self._pending >= self.max_pending:
                raise ApiError(429, f"{self._pending} jobs are waiting; retry later", {"Retry-After": "30"})
            self._pending += 1
        job_id = uuid.uuid4().hex
        job_dir = self.root / job_id
        (job_dir / "input").mkdir(parents=True)
        names: dict[str, int] = {}
        inputs = []
        for name, data in photos:
            stem = sku_from_path(name)
            names[stem] = names.get(stem, 0) + 1
            if names[stem] > 1:
                stem = f"{stem}-{names[stem]}"
            suffix = Path(name).suffix.lower() if re.match(r"^\.[a-z0-9]{1,5}$", Path(name).suffix.lower()) else ".img"
            path = job_dir / "input" / f"{stem}{suffix}"
            atomic_write_bytes(path, data)
            inputs.append((stem, path))
        (job_dir / "brief.yaml").write_text(brief_text, encoding="utf-8")
        doc = {"id": job_id, "status": "queued", "created": _now(), "started": None, "finished": None,
               "brief": brief.name, "qa": qa, "photos": len(inputs), "units_done": 0, "units_failed": 0,
               "skus": [{"sku": s, "frames": [], "verdicts": {}} for s, _ in inputs],
               "url": f"/v1/jobs/{job_id}"}
        self._write(job_id, doc)
        self._executor.submit(self._run, job_id, doc, [p for _, p in inputs], qa)
        return doc

    def _run(self, job_id: str, doc: dict, photos: list[Path], qa: bool) -> None:
        """Run the catalogue in a child process: its engine forks workers, which is only safe from a process
        without the server's threads; a crash of the run never takes the server down."""
        import subprocess
        import sys

        from .security import log_unexpected

        out = self.out_dir(job_id)
        code = ("import json, sys\n"
                "from pathlib import Path\n"
                "from packshot.catalogue.plan import RunSettings\n"
                "from packshot.catalogue.runner import run_photos\n"
                "a = json.loads(sys.argv[1])\n"
                "o = run_photos([Path(p) for p in a['photos']], a['out'], brief=a['brief'], "
                "settings=RunSettings(qa=a['qa']), workers=a['workers'], progress=False)\n"
                "print(json.dumps({'planned': o.planned, 'done': o.done, 'failed': o.failed, 'blocked': o.blocked, "
                "'row_errors': [str(e) for e in o.row_errors]}))\n")
        args = json.dumps({"photos": [str(p) for p in photos], "out": str(out), "qa": qa,
                           "brief": str(self.root / job_id / "brief.yaml"), "workers": self.catalogue_workers})
        try:
            doc.update(status="running", started=_now())
            self._write(job_id, doc)
            with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
                proc = subprocess.Popen([sys.executable, "-c", code, args], stdout=stdout, stderr=stderr,
                                        cwd=str(self.root / job_id))
                while proc.poll() is None:
                    time.sleep(1.0)
                    self._progress(job_id, doc, out)
                stdout.seek(0)
                stderr.seek(0)
                result_text, log_text = stdout.read().decode(errors="replace"), stderr.read().decode(errors="replace")
            self._progress(job_id, doc, out)
            outcome = None
            for line in reversed(result_text.splitlines()):
                if line.startswith("{"):
                    outcome = json.loads(line)
                    break
            if outcome is None:
                ident = log_unexpected("job", RuntimeError(f"catalogue run exited {proc.returncode}: {log_text[-4000:]}"))
                doc.update(status="failed", finished=_now(), error=f"the catalogue run did not finish (id {ident})")
                self._write(job_id, doc)
                return
            self._collect_frames(job_id, doc, out)
            doc.update(status="done" if outcome["failed"] == 0 and outcome["blocked"] == 0 else "failed",
                       finished=_now(), units_planned=outcome["planned"], units_failed=outcome["failed"],
                       units_blocked=outcome["blocked"], row_errors=outcome["row_errors"])
            if outcome["failed"] or outcome["blocked"]:
                doc["errors"] = _unit_errors(out)
            self._write(job_id, doc)
        except Exception as exc:  # a bug: logged with its traceback here, an id in the job
            doc.update(status="failed", finished=_now(), error=f"internal error (id {log_unexpected('job', exc)})")
            self._write(job_id, doc)
        finally:
            with self._lock:
                self._pending -= 1

    def _progress(self, job_id: str, doc: dict, out: Path) -> None:
        from ..catalogue.store import JobStore, db_path

        if not db_path(out).is_file():
            return
        try:
            with JobStore(out, readonly=True) as js:
                counts = js.counts()
        except Exception:  # the run is creating its store: try again next time
            return
        done = sum(c.get("done", 0) for c in counts.values())
        failed = sum(c.get("failed", 0) for c in counts.values())
        if (done, failed) != (doc["units_done"], doc["units_failed"]):
            doc.update(units_done=done, units_failed=failed)
            self._write(job_id, doc)

    def _collect_frames(self, job_id: str, doc: dict, out: Path) -> None:
        for entry in doc["skus"]:
            sku_dir = out / entry["sku"]
            for sidecar in sorted(sku_dir.glob("*/*.json")) if sku_dir.is_dir() else []:
                if sidecar.name.endswith("_qa.json") or not sidecar.with_suffix(".png").is_file():
                    continue
                rel = sidecar.with_suffix(".png").relative_to(out).as_posix()
                entry["frames"].append(f"/v1/jobs/{job_id}/files/{rel}")
                qa_file = sidecar.with_name(f"{sidecar.stem}_qa.json")
                if qa_file.is_file():
                    try:
                        entry["verdicts"][rel] = json.loads(qa_file.read_text()).get("verdict")
                    except ValueError:
                        pass

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def _unit_errors(out: Path) -> list[dict]:
    from ..catalogue.store import JobStore

    try:
        with JobStore(out, readonly=True) as js:
            return [{"unit": u["id"], "status": u["status"], "error": u["error"], "hint": u["hint"]}
                    for u in js.units("status IN ('failed', 'blocked')")][:50]
    except (OSError, FileNotFoundError):
        return []


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
