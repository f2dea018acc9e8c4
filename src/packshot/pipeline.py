"""The whole assembly line for one photo: cut, measure, brief, build (and optionally check).

This module is an edge, like the CLI: it reads and writes files; the stages it calls do not.

Layout written for one SKU under ``out``::

    out/<sku>/cutout.png                    RGBA cut-out at the photo's size
    out/<sku>/maps/                         depth, normals, edges, materials, maps.json, overview.png
    out/<sku>/<scene>/<variant>.png         frames, each with <variant>.json and <variant>_alpha.png

A frame whose sidecar already records the same inputs (photo hash, brief scene, seed, backends)
is not rendered again, so a killed run resumes where it stopped.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import EmptyProductError
from .imaging import DEFAULT_MAX_PIXELS, load_image
from .provenance import sha256_bytes


BATCH = 4
"""Most frames of one scene handed to the renderer at once (a batching renderer paints them in one call)."""


@dataclass(frozen=True)
class RunConfig:
    """Settings of a pipeline run."""

    segment_backend: str = "auto"
    """Segment backend name (see ``packshot cutout --help``)."""
    render_backend: str = "studio"
    """Renderer used when a scene does not name a plate."""
    max_pixels: int = DEFAULT_MAX_PIXELS
    """Pixel limit for input photos (decompression-bomb guard)."""
    relight: bool = True
    """Run the relight pass (shadows, reflection, bounded shading)."""
    relight_model: str | None = None
    """A model relight backend run after it (``iclight:FOLDER``, :mod:`packshot.relight.model`)."""
    resume: bool = True
    """Skip frames whose sidecar records identical inputs."""
    qa: bool = False
    """Run the fidelity checks on each frame and write qa.json beside it."""


@dataclass
class SkuResult:
    """What one SKU produced."""

    sku: str
    photo: Path
    cutout_path: Path | None = None
    maps_dir: Path | None = None
    frames: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    verdicts: dict[str, str] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


_SLUG = re.compile(r"[^A-Za-z0-9._-]+")


def sku_from_path(path: str | Path) -> str:
    """A safe SKU id from a photo's file name."""
    stem = _SLUG.sub("-", Path(path).stem).strip("-.")
    return stem or "sku"


def _frame_key(photo_hash: str, spec: Any, config: RunConfig) -> str:
    fields = {
        "photo": photo_hash,
        "scene": spec.scene,
        "variant": spec.variant,
        "canvas": list(spec.canvas),
        "seed": spec.seed,
        "preset": spec.preset,
        "scene_provenance": spec.provenance,
        "segment": config.segment_backend,
        "render": config.render_backend,
        "relight": config.relight,
        **({"relight_model": config.relight_model} if config.relight_model else {}),
    }
    return sha256_bytes(json.dumps(fields, sort_keys=True, default=str).encode())


def process_photo(photo: str | Path, brief: Any, out_dir: str | Path, sku: str | None = None,
                  config: RunConfig = RunConfig(), master: str | Path | None = None) -> SkuResult:
    """Run every stage for one photo and write its cut-out, maps and frames under ``out_dir/<sku>``.

    Parameters
    ----------
    photo : path of the product photo.
    brief : a parsed :class:`packshot.condition.Brief`.
    out_dir : output root.
    sku : SKU id; the photo's stem when None.
    config : :class:`RunConfig`.
    master : optional master artwork for the fidelity checks (with ``config.qa``).

    Raises
    ------
    InputError
        The photo cannot be read, or no product was found in it.
    """
    from .condition import condition
    from .relight import relight
    from .render import render_many
    from .render.io import save_frame
    from .segment import segment
    from .segment.io import save_cutout
    from .understand import understand
    from .understand.io import save_maps

    photo = Path(photo)
    sku = sku or sku_from_path(photo)
    out = Path(out_dir)
    result = SkuResult(sku=sku, photo=photo)

    t0 = time.perf_counter()
    image = load_image(photo, max_pixels=config.max_pixels)
    cutout = segment(image, backend=config.segment_backend)
    result.timings["segment"] = time.perf_counter() - t0
    if cutout.is_empty:
        raise EmptyProductError(photo, "no product found in the photo (the cut-out is empty)")
    sku_dir = out / sku
    result.cutout_path = sku_dir / "cutout.png"
    save_cutout(result.cutout_path, cutout)

    t0 = time.perf_counter()
    maps = understand(cutout)
    result.timings["understand"] = time.perf_counter() - t0
    result.maps_dir = sku_dir / "maps"
    save_maps(result.maps_dir, maps, cutout)
    result.flags = [f.code for f in maps.flags]

    specs = condition(brief, cutout, maps, sku)
    master_rgb = load_image(master).rgb if master else None
    t_render = 0.0
    pending = []
    for spec in specs:
        key = _frame_key(image.sha256, spec, config)
        existing = _existing_frame(out, spec)
        if config.resume and existing is not None and existing[1] == key:
            result.skipped.append(existing[0])
            continue
        pending.append((spec, key))
    # the frames of one scene go to the renderer together (at most BATCH at a time), so a
    # batching renderer (diffusion) paints the variants of a scene in one model call
    groups: list[list] = []
    for item in pending:
        if groups and groups[-1][0][0].scene == item[0].scene and len(groups[-1]) < BATCH:
            groups[-1].append(item)
        else:
            groups.append([item])
    for group in groups:
        t0 = time.perf_counter()
        frames = render_many([spec for spec, _ in group], cutout, maps, backend=config.render_backend)
        for (spec, key), frame in zip(group, frames):
            if config.relight:
                frame = relight(frame, cutout, maps)
            if config.relight_model:
                from .relight.model import relight_model

                frame = relight_model(frame, cutout, maps, backend=config.relight_model)
            frame = _with_provenance(frame, run_key=key, photo=str(photo), photo_sha256=image.sha256)
            sidecar = Path(save_frame(out, frame, result.cutout_path))
            png = sidecar.with_suffix(".png")
            result.frames.append(png)
            if config.qa:
                t_render += time.perf_counter() - t0
                t0 = time.perf_counter()
                result.verdicts[str(png)] = _qa_frame(sidecar, master_rgb)
                result.timings["qa"] = result.timings.get("qa", 0.0) + time.perf_counter() - t0
                t0 = time.perf_counter()
        t_render += time.perf_counter() - t0
    result.timings["render"] = t_render
    return result


def _with_provenance(frame: Any, **extra: Any) -> Any:
    import dataclasses

    prov = dict(frame.provenance)
    prov.update(extra)
    return dataclasses.replace(frame, provenance=prov)


def _existing_frame(out: Path, spec: Any) -> tuple[Path, str] | None:
    """The sidecar of a frame already written for ``spec`` and its run key, if any."""
    from .render.io import frame_paths

    png, sidecar = frame_paths(out, spec)
    if not (png.exists() and sidecar.exists()):
        return None
    try:
        data = json.loads(sidecar.read_text())
    except (OSError, ValueError):
        return None
    return png, data.get("provenance", {}).get("run_key", "")


def check_frame(sidecar: str | Path, master_rgb: Any = None, overlay: bool = True) -> Any:
    """Run the fidelity checks on one written frame; write ``<variant>_qa.json`` (and the overlay)
    beside it, atomically. Returns the :class:`packshot.types.QAReport`."""
    from .qa.frames import check_frame_file

    report, _ = check_frame_file(Path(sidecar), master_rgb, overlay=overlay)
    return report


def _qa_frame(sidecar: Path, master_rgb: Any) -> str:
    return check_frame(sidecar, master_rgb).verdict
