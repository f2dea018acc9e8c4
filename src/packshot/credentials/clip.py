"""Content Credentials for motion clips (``<variant>.mp4`` / ``.webm``).

An MP4 clip gets its manifest embedded (c2pa binds it to the file's bytes outside the manifest
box). WebM cannot carry a C2PA manifest and c2pa cannot hash it, so a WebM clip gets a sidecar
``<stem>.c2pa``: a manifest store signed over the clip's bytes that also records their sha256 in
the signed assertion ``com.packshot.file``; ``packshot verify`` checks that sha256 against the
clip (the binding) and the signature with c2pa's reader. Other C2PA readers validate the
signature of such a sidecar but not its binding to the WebM.

The clip's manifest is that of its frame (``<variant>.json`` beside the clip, or named): the same
steps, with the placement's digitalSourceType from the frame's ``source_kind``, then "animated
into a clip" and the encoding.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..provenance import sha256_bytes
from .export_hook import ExportCredentials
from .manifest import _agent, build_manifest

FILE_LABEL = "com.packshot.file"
CLIP_MIME = {".mp4": "video/mp4", ".m4v": "video/mp4", ".webm": "video/webm"}


def clip_sidecar_path(clip: str | Path) -> Path:
    """``v0.webm`` -> ``v0.webm.c2pa`` (see the module docstring)."""
    p = Path(clip)
    return p.with_name(p.name + ".c2pa")


def clip_frame_sidecar(clip: str | Path) -> Path | None:
    """The frame sidecar a clip was animated from: ``<variant>.json`` beside ``<variant>.mp4``
    (a fixed copy ``<variant>.<profile>.mp4`` is matched by its first stem part)."""
    p = Path(clip)
    for stem in dict.fromkeys((p.stem, p.stem.split(".")[0])):
        cand = p.with_name(f"{stem}.json")
        if cand.is_file():
            return cand
    return None


def clip_manifest(clip: Path, frame_sidecar: Path | None, signing: ExportCredentials, profile: str) -> dict[str, Any]:
    from ..motion import read_clip_facts

    facts = read_clip_facts(clip)
    size = (int(facts.width), int(facts.height))
    fmt = "MP4" if clip.suffix.lower() in (".mp4", ".m4v") else "WEBM"
    if frame_sidecar is not None:
        from ..export import load_export_frame, provenance_digest

        frame = load_export_frame(frame_sidecar)
        extras = signing.for_frame(frame)
        manifest = build_manifest(sku=frame.sku, scene=frame.scene, variant=frame.variant,
                                  source_kind=frame.source_kind, profile=profile, fmt=fmt, size=size,
                                  context=extras.context, provenance=frame.provenance or {},
                                  provenance_digest=provenance_digest(frame.provenance or {}), alt_text=extras.alt_text)
    else:
        raise InputError(clip, "no frame sidecar (<variant>.json) beside the clip: its manifest needs the frame it "
                               "was animated from (its source photo and source kind)")
    actions = manifest["assertions"][0]["data"]["actions"]
    actions.insert(len(actions) - 1, {"action": "c2pa.edited", "softwareAgent": _agent("motion"),
                                      "description": f"animated into a {facts.duration_s:.2f} s clip "
                                                     f"({facts.frames} frames at {facts.fps:g} fps)"})
    actions[-1]["description"] = f"encoded as {fmt} video ({facts.codec or 'video'})"
    return manifest


def sign_clip(clip: str | Path, credentials: Any, *, frame_sidecar: str | Path | None = None,
              profile: str = "clip") -> Path:
    """Sign a clip in place (MP4: embedded manifest, atomically rewritten) or beside it (WebM: a
    ``.c2pa`` sidecar). Returns the file that now holds the manifest.

    ``credentials``: a folder, :class:`Credentials` or :class:`ExportCredentials`.

    Raises
    ------
    InputError
        Not an MP4 / WebM clip, or no frame sidecar to describe it.
    CredentialsError
        The credentials cannot be used.
    """
    from ..imaging import atomic_write_bytes

    p = Path(clip)
    suffix = p.suffix.lower()
    if suffix not in CLIP_MIME:
        raise InputError(p, "only .mp4 and .webm clips can be signed")
    signing = credentials if isinstance(credentials, ExportCredentials) else ExportCredentials(credentials)
    if signing.signer is None:
        raise InputError(p, "no credentials to sign the clip with")
    side = Path(frame_sidecar) if frame_sidecar is not None else clip_frame_sidecar(p)
    manifest = clip_manifest(p, side, signing, profile)
    data = p.read_bytes()
    if suffix in (".mp4", ".m4v"):
        signed, _ = signing.signer.sign(data, "MP4", manifest)
        atomic_write_bytes(p, signed)
        return p
    manifest["format"] = "video/webm"
    manifest["assertions"].append({"label": FILE_LABEL, "data": {"name": p.name, "sha256": sha256_bytes(data),
                                                                 "bytes": len(data), "format": "video/webm"}})
    store = _sign_detached(signing.signer, data, manifest)
    out = clip_sidecar_path(p)
    atomic_write_bytes(out, store)
    return out


def _sign_detached(signer: Any, data: bytes, manifest: dict[str, Any]) -> bytes:
    c2pa = signer.c2pa
    with signer._lock:
        builder = c2pa.Builder(manifest, context=signer._context)
        try:
            store = builder.sign(signer._signer, "application/c2pa", io.BytesIO(data), io.BytesIO())
        finally:
            builder.close()
    return bytes(store)
