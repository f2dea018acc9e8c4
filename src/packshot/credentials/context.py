"""What export knows about a frame beyond its pixels: source photo, master, QA, label text, scene.

Read once per frame from the files the pipeline wrote beside the frame sidecar
(``<variant>.json``, ``<variant>_qa.json``, the cut-out's ``maps/maps.json``) and from the
frame's provenance. Used for the C2PA manifest and for the accessibility (alt) text. Nothing here
needs ``c2pa``: alt text is written with or without credentials.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

ALT_TEXT_MAX = 250
"""Longest alt text written (characters); longer text is cut at a word with an ellipsis."""


@dataclass(frozen=True)
class FrameContext:
    """Facts about one frame for its manifest and alt text (all optional)."""

    photo_name: str | None = None
    photo_path: str | None = None
    """The source photo's path as the pipeline recorded it (it may no longer exist)."""
    photo_sha256: str | None = None
    master_sha256: str | None = None
    qa: Mapping[str, Any] | None = None
    """``verdict``, ``reasons``, ``checks`` (name -> status) from the frame's QA report."""
    approval: Mapping[str, Any] | None = None
    """Human approval from review, when review recorded one."""
    label_text: tuple[str, ...] = ()
    """Label lines OCR read on the product (understand stage)."""
    prompt: str = ""
    """The scene's brief prompt."""
    models: tuple[Mapping[str, Any], ...] = ()
    """Models named in the provenance: ``{"stage", "name", "hash"}``."""
    stages: tuple[str, ...] = ()
    """Stages present in the frame's provenance (render, relight...)."""
    render_backend: str | None = None
    relight_backend: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


_MODEL_KEYS = ("model", "model_id", "models", "checkpoint", "weights", "weights_sha256", "model_sha256", "det", "rec",
               "cls", "controlnet", "ip_adapter", "base_model", "inpaint_model")


def _collect_models(stage: str, node: Any, out: list[dict], depth: int = 0) -> None:
    if depth > 4 or not isinstance(node, Mapping):
        return
    for key, value in node.items():
        if key in _MODEL_KEYS and isinstance(value, (str, list, tuple)) and value:
            for v in (value if isinstance(value, (list, tuple)) else [value]):
                if isinstance(v, str) and v:
                    entry = {"stage": stage, "role": key, "name": v}
                    if re.fullmatch(r"(sha256:)?[0-9a-f]{64}", v):
                        entry = {"stage": stage, "role": key, "hash": v}
                    if entry not in out:
                        out.append(entry)
        elif isinstance(value, Mapping):
            _collect_models(stage, value, out, depth + 1)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def frame_context(frame: Any) -> FrameContext:
    """The :class:`FrameContext` of an :class:`packshot.export.delivery.deliver.ExportFrame`.

    A frame read from a sidecar finds its QA report, label text and prompt beside it; a frame
    from memory or a plain image has only its provenance.
    """
    prov: Mapping[str, Any] = frame.provenance or {}
    photo = prov.get("photo")
    photo_sha = prov.get("photo_sha256")
    if frame.source_kind == "capture" and not photo:  # a plain image is its own source photo
        photo = frame.source if frame.source != "<memory>" else None
        photo_sha = photo_sha or (prov.get("inputs") or {}).get("image") or frame.pixels_sha256
    models: list[dict] = []
    stages = []
    for stage in ("segment", "condition", "render", "relight", "refine"):
        if isinstance(prov.get(stage), Mapping):
            stages.append(stage)
            _collect_models(stage, prov[stage], models)
    render_backend = (prov.get("render") or {}).get("backend") if isinstance(prov.get("render"), Mapping) else None
    relight_backend = (prov.get("relight") or {}).get("backend") if isinstance(prov.get("relight"), Mapping) else None

    qa = approval = None
    master_sha = None
    label: tuple[str, ...] = ()
    prompt = ""
    src = Path(frame.source) if frame.source and frame.source != "<memory>" else None
    if src is not None and src.suffix.lower() == ".json":
        sidecar = _read_json(src) or {}
        prompt = str((sidecar.get("spec") or {}).get("prompt") or "")
        variant = sidecar.get("variant") or src.stem
        report = _read_json(src.with_name(f"{variant}_qa.json"))
        if isinstance(report, Mapping):
            qa = {"verdict": report.get("verdict"), "reasons": list(report.get("reasons") or []),
                  "checks": {c.get("name"): c.get("status") for c in report.get("checks") or [] if isinstance(c, Mapping)}}
            master_sha = ((report.get("provenance") or {}).get("inputs") or {}).get("master")
            _collect_models("qa", {k: v for k, v in (report.get("provenance") or {}).items() if k == "ocr"}, models)
            approval = report.get("approval") or None
        review = _read_json(src.with_name(f"{variant}_review.json"))
        if isinstance(review, Mapping) and review.get("decision"):
            approval = dict(review)
        cut = sidecar.get("cutout")
        if cut:
            maps = _read_json((src.parent / cut).parent / "maps" / "maps.json")
            if isinstance(maps, Mapping):
                label = tuple(str(t.get("text", "")).strip() for t in maps.get("text") or []
                              if isinstance(t, Mapping) and str(t.get("text", "")).strip())
    approval = approval or prov.get("approval") or None
    return FrameContext(photo_name=Path(str(photo)).name if photo else None, photo_path=str(photo) if photo else None,
                        photo_sha256=photo_sha,
                        master_sha256=master_sha, qa=qa, approval=approval, label_text=label, prompt=prompt,
                        models=tuple(models), stages=tuple(stages), render_backend=render_backend,
                        relight_backend=relight_backend)


_SCENE_START = re.compile(r"\b(on|in|against|atop|beside|under|over|with)\b\s", re.IGNORECASE)


def scene_phrase(prompt: str, scene: str = "") -> str:
    """Where the product stands, from the brief's prompt: ``"product on a white marble counter,
    window light"`` -> ``"on a white marble counter, window light"``; else ``in the <scene> scene``."""
    text = " ".join(str(prompt or "").split())
    m = _SCENE_START.search(text)
    if m:
        return text[m.start():].rstrip(" .")
    return f"in the {scene.replace('-', ' ')} scene" if scene else ""


def alt_text(sku: str, scene: str, context: FrameContext, title: str | None = None,
             override: str | None = None) -> str:
    """Accessibility text for a frame: ``"<title> on <scene>"`` plus the label text OCR read.

    Parameters
    ----------
    title : str, optional
        The SKU's title from the catalogue (e.g. "Elmer's School Glue bottle").
    override : str, optional
        A per-SKU alt text that replaces the generated one.

    Returns
    -------
    str
        At most :data:`ALT_TEXT_MAX` characters; "" when nothing is known about the frame.
    """
    if override:
        return _cap(" ".join(str(override).split()))
    label = " ".join(context.label_text)
    where = scene_phrase(context.prompt, scene if context.prompt or title or label else "")
    if title:
        subject = " ".join(str(title).split())
    elif label:
        subject = f"Product labelled \"{label}\""
    elif where:
        subject = "Product"
    else:
        return ""
    text = f"{subject} {where}".strip()
    if title and label and label.lower() not in subject.lower():
        text += f"; label reads \"{label}\""
    return _cap(text[:1].upper() + text[1:])


def _cap(text: str) -> str:
    if len(text) <= ALT_TEXT_MAX:
        return text
    cut = text[:ALT_TEXT_MAX - 1].rsplit(" ", 1)[0]
    return cut.rstrip(" ,;") + "\u2026"


_DISCLOSURE = {
    "diffusion": "AI-edited: a real product photo placed into a scene painted by a generative AI model",
    "embedded": "Edited: a real product photo composited into a computer-generated (procedural, non-AI) scene",
    "capture": "Product photo cut out and placed on a plain background",
}


def description(alt: str, source_kind: str) -> str:
    """The IPTC description: the alt text and how the image was made, in words."""
    how = _DISCLOSURE.get(source_kind, "")
    return ". ".join(p for p in (alt.rstrip(". "), how) if p) + ("." if (alt or how) else "")
