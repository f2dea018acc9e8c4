"""The clip edge: render, check and write one scene's clip beside its still.

Files written for a scene with ``motion`` (``<stem>`` is the variant name, ``v0``)::

    out/<sku>/<scene>/<stem>.mp4          H.264, yuv420p, faststart
    out/<sku>/<scene>/<stem>.webm         VP9
    out/<sku>/<scene>/<stem>.poster.jpg   the poster (the clip's last frame): no frame sidecar,
                                          so qa and export never take it for a still
    out/<sku>/<scene>/<stem>.clip.json    motion parameters, plan, files, checks, provenance

A clip whose ``.clip.json`` records the same run key is not rendered again (resume).
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..provenance import sha256_bytes
from ..types import Cutout, ProductMaps, SceneSpec
from .plan import MotionSpec
from .qa import TemporalConfig, TemporalMeter, qa_frame, qa_sample_indices, worst
from .render import ClipConfig, ClipRenderer

CLIP_SIDECAR_VERSION = 1


@dataclass
class ClipResult:
    """What one clip produced."""

    sidecar: Path
    files: list[Path] = field(default_factory=list)
    verdict: str = "unchecked"
    record: dict[str, Any] = field(default_factory=dict)
    skipped: bool = False


def clip_paths(out_dir: str | Path, spec: SceneSpec) -> dict[str, Path]:
    from ..render import frame_stem

    folder = Path(out_dir) / spec.sku / spec.scene
    stem = frame_stem(spec)
    return {"mp4": folder / f"{stem}.mp4", "webm": folder / f"{stem}.webm",
            "poster": folder / f"{stem}.poster.jpg", "sidecar": folder / f"{stem}.clip.json"}


def render_clip_files(out_dir: str | Path, spec: SceneSpec, cutout: Cutout, maps: ProductMaps | None,
                      motion: MotionSpec, backend: str = "studio", run_key: str = "", check: bool = True,
                      master: np.ndarray | None = None, config: ClipConfig = ClipConfig(),
                      temporal: TemporalConfig = TemporalConfig(), formats: tuple[str, ...] = ("mp4", "webm"),
                      provenance: dict[str, Any] | None = None) -> ClipResult:
    """Render one clip, encode it while rendering, check it, and write its files atomically.

    ``check`` runs the still checks on sampled frames (OCR included: seconds per frame); the
    temporal checks always run (they cost little).
    """
    from ..imaging import atomic_write_text, save_image
    from .encode import ClipWriter

    paths = clip_paths(out_dir, spec)
    t0 = time.perf_counter()
    renderer = ClipRenderer(spec, cutout, maps, motion, backend=backend, config=config)
    meter = TemporalMeter(cutout, temporal)
    samples = set(qa_sample_indices([p.opacity for p in renderer.plans], temporal.qa_samples)) if check else set()
    kept: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    last_rgb = None
    video = [paths[f] for f in formats]
    t_encode = 0.0
    with ClipWriter(video, spec.canvas, motion.fps) as writer:
        for frame in renderer.frames():
            meter.add(frame)
            if frame.index in samples:
                kept[frame.index] = (frame.rgb.copy(), frame.product_alpha.copy(), frame.matrix)
            t1 = time.perf_counter()
            writer.write(frame.rgb)
            t_encode += time.perf_counter() - t1
            if frame.index == len(renderer.plans) - 1:
                last_rgb = frame.rgb.copy()
    t_render = time.perf_counter() - t0
    save_image(paths["poster"], last_rgb, quality=90)

    temporal_result = meter.result()
    sampled = []
    t1 = time.perf_counter()
    for i in sorted(kept):
        rgb, alpha, matrix = kept[i]
        report = qa_frame(rgb, alpha, matrix, cutout, master)
        sampled.append({"frame": i, "verdict": report.verdict, "reasons": list(report.reasons)})
    t_qa = time.perf_counter() - t1
    statuses = [temporal_result["verdict"]] + [s["verdict"] for s in sampled]
    verdict = worst(statuses)
    files = []
    for key in list(formats) + ["poster"]:
        data = paths[key].read_bytes()
        files.append({"kind": key, "path": paths[key].name, "sha256": sha256_bytes(data), "bytes": len(data)})
    record = {
        "version": CLIP_SIDECAR_VERSION,
        "kind": "packshot-clip",
        "sku": spec.sku, "scene": spec.scene, "clip_variant": spec.variant,
        "size": list(spec.canvas), "fps": motion.fps, "frames": len(renderer.plans),
        "motion": motion.to_dict(),
        "renderer": renderer.describe(),
        "files": files,
        "qa": {"verdict": verdict, "temporal": temporal_result, "sampled_frames": sampled,
               "still_checks_run": bool(check)},
        "provenance": {"run_key": run_key, **(provenance or {}),
                       "scene_spec": {"preset": spec.preset, "seed": spec.seed,
                                      "placement": {"center": list(spec.placement.center),
                                                    "scale": spec.placement.scale,
                                                    "rotation": spec.placement.rotation},
                                      "light": dataclasses.asdict(spec.light)}},
    }
    atomic_write_text(paths["sidecar"], json.dumps(record, indent=2, sort_keys=True, default=str))
    record["timings"] = {"render_encode_s": round(t_render, 3), "encode_s": round(t_encode, 3),
                         "qa_s": round(t_qa, 3), **{k: round(v, 3) for k, v in renderer.timings.items()}}
    return ClipResult(paths["sidecar"], [paths[f] for f in formats] + [paths["poster"]], verdict, record)


def clip_run_key(photo_hash: str, spec: SceneSpec, motion: MotionSpec, backend: str, relight: bool) -> str:
    fields = {"photo": photo_hash, "scene": spec.scene, "canvas": list(spec.canvas), "seed": spec.seed,
              "preset": spec.preset, "motion": motion.to_dict(), "backend": backend, "relight": relight,
              "scene_provenance": spec.provenance, "sidecar": CLIP_SIDECAR_VERSION}
    return sha256_bytes(json.dumps(fields, sort_keys=True, default=str).encode())


def write_scene_clips(out_dir: str | Path, brief: Any, cutout: Cutout, maps: ProductMaps | None, sku: str,
                      photo_hash: str, render_backend: str = "studio", relight: bool = True, check: bool = False,
                      master: np.ndarray | None = None, resume: bool = True) -> list[ClipResult]:
    """Every clip a brief asks for (scenes with ``motion``), written beside the stills.

    Each clip scene is conditioned again at the clip's size (``motion.size``, else the scene's
    first size), one variant, so placement and light are the still's at that size.
    """
    from ..condition import condition

    results = []
    for scene in brief.scenes:
        motion = getattr(scene, "motion", None)
        if motion is None:
            continue
        size = motion.size or scene.sizes[0]
        if size[0] % 2 or size[1] % 2:  # the scene's own size may be odd; video needs even sides
            size = (size[0] - size[0] % 2, size[1] - size[1] % 2)
        clip_scene = dataclasses.replace(scene, sizes=(tuple(size),), variants=1)
        clip_brief = dataclasses.replace(brief, scenes=(clip_scene,))
        spec = condition(clip_brief, cutout, maps, sku)[0]
        backend = "plate" if spec.plate is not None else render_backend
        key = clip_run_key(photo_hash, spec, motion, backend, relight)
        paths = clip_paths(out_dir, spec)
        if resume and paths["sidecar"].exists() and all(paths[k].exists() for k in ("mp4", "webm", "poster")):
            try:
                old = json.loads(paths["sidecar"].read_text())
            except (OSError, ValueError):
                old = {}
            if old.get("provenance", {}).get("run_key") == key:
                results.append(ClipResult(paths["sidecar"], [paths["mp4"], paths["webm"], paths["poster"]],
                                          old.get("qa", {}).get("verdict", "unchecked"), old, skipped=True))
                continue
        results.append(render_clip_files(out_dir, spec, cutout, maps, motion, backend=backend, run_key=key,
                                         check=check, master=master, config=ClipConfig(relight=relight)))
    return results
