"""Reading and validating the Content Credentials of a file (``packshot verify``).

c2pa-python's Reader validates the claim signature and the hard binding (the data hash over
the file's bytes outside the manifest), and reports a signer on no trust list as
``signingCredential.untrusted``. packshot counts a file as *valid* when the signature and the
binding hold (an untrusted signer is a warning) and *trusted* when the signer chains to a trust
anchor (the reader's defaults or ``trust_anchors``).

A file without an embedded manifest is read with its sidecar ``<stem>.c2pa`` when there is one.
A WebM clip, which can carry no manifest, is always read from its sidecar ``<name>.webm.c2pa``: c2pa validates the
sidecar's signature, and the binding is the clip's sha256 recorded in the signed assertion
``com.packshot.file`` (see :mod:`.clip`), checked here; c2pa's own data-hash check of such a
detached store hashes the store, not the clip, so its ``assertion.dataHash.mismatch`` is not
counted there.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from ..errors import require
from .manifest import EXPORT_LABEL, MIME, QA_LABEL

UNTRUSTED = "signingCredential.untrusted"
# codes that say nothing against the signature or the binding
_NOT_FAILURES = {UNTRUSTED}

_MIME_BY_SUFFIX = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".webp": "image/webp",
                   ".mp4": "video/mp4", ".m4v": "video/mp4", ".mov": "video/quicktime", ".tif": "image/tiff",
                   ".tiff": "image/tiff", ".avif": "image/avif", ".heic": "image/heic", ".gif": "image/gif"}

DETACHED_SUFFIXES = frozenset({".webm"})
"""Formats that cannot carry a manifest: read from the ``.c2pa`` sidecar only."""

MEDIA_SUFFIXES = frozenset(_MIME_BY_SUFFIX) | DETACHED_SUFFIXES
"""File suffixes ``packshot verify`` reads."""


@dataclass(frozen=True)
class Verification:
    """What ``packshot verify`` found in one file."""

    path: str
    has_manifest: bool
    valid: bool
    """Signature and hard binding hold."""
    trusted: bool
    """The signer chains to a trust anchor."""
    state: str
    """c2pa's validation state: Invalid, Valid or Trusted ("" without a manifest)."""
    problems: tuple[str, ...] = ()
    """Failures other than an untrusted signer: ``code: explanation``."""
    warnings: tuple[str, ...] = ()
    sidecar: str | None = None
    """The ``.c2pa`` sidecar the manifest was read from, None when embedded."""
    signer: Mapping[str, Any] = field(default_factory=dict)
    ingredients: tuple[Mapping[str, Any], ...] = ()
    actions: tuple[Mapping[str, Any], ...] = ()
    qa: Mapping[str, Any] | None = None
    export: Mapping[str, Any] | None = None
    error: str | None = None
    manifest: Mapping[str, Any] | None = field(default=None, repr=False)

    def exit_code(self, require_trusted: bool = False) -> int:
        if not self.has_manifest or not self.valid:
            return 1
        return 1 if require_trusted and not self.trusted else 0

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "has_manifest": self.has_manifest, "valid": self.valid, "trusted": self.trusted,
                "state": self.state, "problems": list(self.problems), "warnings": list(self.warnings),
                "sidecar": self.sidecar, "signer": dict(self.signer), "ingredients": [dict(i) for i in self.ingredients],
                "actions": [dict(a) for a in self.actions], "qa": self.qa, "export": self.export, "error": self.error,
                "digital_source_types": self.digital_source_types}

    @property
    def digital_source_types(self) -> list[str]:
        return [a["digitalSourceType"] for a in self.actions if a.get("digitalSourceType")]

    def describe(self) -> str:
        """The provenance chain in words."""
        lines = [self.path]
        if not self.has_manifest:
            lines.append(f"  no Content Credentials: {self.error or 'the file has no C2PA manifest'}")
            return "\n".join(lines)
        status = ("VALID, trusted signer" if self.valid and self.trusted else
                  "VALID signature and binding, UNTRUSTED signer" if self.valid else "INVALID")
        lines.append(f"  status: {status} (c2pa state {self.state})" + (f"; manifest from sidecar {self.sidecar}"
                                                                          if self.sidecar else ""))
        for p in self.problems:
            lines.append(f"  problem: {p}")
        for w in self.warnings:
            lines.append(f"  warning: {w}")
        s = self.signer
        if s:
            lines.append(f"  signer: {s.get('common_name') or '?'}, issued by {s.get('issuer') or '?'}"
                         f" ({s.get('alg') or '?'})" + (f", signed {s['time']}" if s.get("time") else ""))
        for ing in self.ingredients:
            sha = (ing.get("metadata") or {}).get("com.packshot.sha256")
            own = ", carries its own Content Credentials" if ing.get("active_manifest") else ""
            lines.append(f"  ingredient ({ing.get('relationship')}): {ing.get('title')}" + (f", sha256 {sha}" if sha else "")
                         + own)
        for i, a in enumerate(self.actions, 1):
            agent = (a.get("softwareAgent") or {})
            agent_s = f" [{agent.get('name')} {agent.get('version', '')}]".rstrip() if isinstance(agent, Mapping) else ""
            dst = a.get("digitalSourceType")
            models = (a.get("parameters") or {}).get("com.packshot.models")
            lines.append(f"  step {i}: {a.get('action')}: {a.get('description') or ''}{agent_s}"
                         + (f"; digitalSourceType {dst.rsplit('/', 1)[-1]}" if dst else "")
                         + (f"; models {', '.join(m.get('name') or m.get('hash', '') for m in models)}" if models else ""))
        if self.export:
            models = self.export.get("models") or []
            if models:
                lines.append("  models: " + ", ".join(f"{m.get('stage')}:{m.get('name') or m.get('hash')}" for m in models))
            if self.export.get("alt_text"):
                lines.append(f"  alt text: {self.export['alt_text']}")
        if self.qa is not None:
            verdict = self.qa.get("verdict") or "not checked"
            lines.append(f"  QA verdict: {verdict}" + (f" ({'; '.join(self.qa.get('reasons') or [])})"
                                                       if self.qa.get("reasons") else ""))
            approval = self.qa.get("approval")
            lines.append(f"  approval: {_approval_words(approval)}")
        return "\n".join(lines)


def _approval_words(approval: Any) -> str:
    if not approval:
        return "not reviewed"
    if isinstance(approval, Mapping):
        who = approval.get("by") or approval.get("reviewer") or approval.get("user")
        what = approval.get("decision") or approval.get("status") or "approved"
        when = approval.get("at") or approval.get("time")
        return " ".join(str(x) for x in (what, f"by {who}" if who else "", f"at {when}" if when else "") if x)
    return str(approval)


def _reader_context(c2pa: Any, trust_anchors: bytes | None) -> Any:
    if not trust_anchors:
        return None
    return c2pa.Context(settings=c2pa.Settings.from_dict({"trust": {"trust_anchors": trust_anchors.decode("ascii")}}))


def verify_file(path: str | Path, trust_anchors: str | Path | bytes | None = None) -> Verification:
    """Read and validate the Content Credentials of ``path`` (embedded, else a ``.c2pa`` sidecar).

    Parameters
    ----------
    trust_anchors : path or bytes, optional
        PEM certificates to trust besides the reader's defaults (e.g. a development CA's
        ``dev-ca.pem`` in tests).
    """
    c2pa = require("c2pa", "credentials", "reading Content Credentials")
    p = Path(path)
    anchors = Path(trust_anchors).read_bytes() if isinstance(trust_anchors, (str, Path)) else trust_anchors
    if not p.is_file():
        return Verification(str(p), False, False, False, "", error="file does not exist")
    if p.suffix.lower() in DETACHED_SUFFIXES:
        return _verify_detached(c2pa, p, _reader_context(c2pa, anchors))
    mime = _MIME_BY_SUFFIX.get(p.suffix.lower())
    if mime is None:
        return Verification(str(p), False, False, False, "", error=f"'{p.suffix}' files cannot carry a C2PA manifest "
                                                                       "packshot reads")
    data = p.read_bytes()
    context = _reader_context(c2pa, anchors)
    sidecar = None
    try:
        reader = c2pa.Reader(mime, io.BytesIO(data), context=context)
    except c2pa.C2paError as exc:
        side = p.with_suffix(".c2pa")
        if not side.is_file():
            return Verification(str(p), False, False, False, "", error=_no_manifest(exc))
        sidecar = str(side)
        try:
            reader = c2pa.Reader(mime, io.BytesIO(data), manifest_data=side.read_bytes(), context=context)
        except c2pa.C2paError as exc2:
            return Verification(str(p), False, False, False, "", sidecar=sidecar,
                                error=f"sidecar {side.name} cannot be read: {exc2}")
    return _from_reader(p, reader, sidecar)


def _from_reader(p: Path, reader: Any, sidecar: str | None, ignore: frozenset = frozenset(),
                 extra_problems: tuple[str, ...] = ()) -> Verification:
    try:
        state = reader.get_validation_state() or ""
        results = reader.get_validation_results() or {}
        manifest = reader.get_active_manifest() or {}
    finally:
        reader.close()
    active = results.get("activeManifest") or {}
    failures = [f for f in (active.get("failure") or []) if f.get("code") not in ignore]
    for delta in results.get("ingredientDeltas") or []:
        failures.extend((delta.get("validationDeltas") or {}).get("failure") or [])
    problems = tuple(f"{f.get('code')}: {f.get('explanation', '')}" for f in failures
                     if f.get("code") not in _NOT_FAILURES) + extra_problems
    untrusted = any(f.get("code") == UNTRUSTED for f in failures)
    if ignore and not [f for f in failures if f.get("code") not in _NOT_FAILURES] and state == "Invalid":
        # the only failure c2pa saw is the one a detached store always has; no untrusted code: trusted
        state = "Valid" if untrusted else "Trusted"
    valid = state in ("Valid", "Trusted") and not problems
    trusted = valid and state == "Trusted" and not untrusted
    warnings = (f"{UNTRUSTED}: the signer is on no trust list this reader knows (a development CA is never "
                "trusted)",) if untrusted and valid else ()
    sig = manifest.get("signature_info") or {}
    signer = {k: sig.get(k) for k in ("common_name", "issuer", "alg", "time", "cert_serial_number") if sig.get(k)}
    actions: tuple = ()
    qa = export = None
    for a in manifest.get("assertions") or []:
        label = a.get("label", "")
        if label.startswith("c2pa.actions"):
            actions = tuple((a.get("data") or {}).get("actions") or [])
        elif label == QA_LABEL:
            qa = a.get("data")
        elif label == EXPORT_LABEL:
            export = a.get("data")
    return Verification(str(p), True, valid, trusted, state, problems=problems, warnings=warnings, sidecar=sidecar,
                        signer=signer, ingredients=tuple(manifest.get("ingredients") or []), actions=actions, qa=qa,
                        export=export, manifest=manifest)


def _verify_detached(c2pa: Any, p: Path, context: Any) -> Verification:
    """A WebM clip: the manifest from its sidecar, the binding by the recorded sha256."""
    from ..provenance import sha256_bytes
    from .clip import FILE_LABEL, clip_sidecar_path

    side = clip_sidecar_path(p)
    if not side.is_file():
        return Verification(str(p), False, False, False, "", error=f"'{p.suffix}' files cannot embed a C2PA manifest "
                                                                       f"and there is no sidecar {side.name}")
    try:
        reader = c2pa.Reader("application/c2pa", io.BytesIO(side.read_bytes()), context=context)
    except c2pa.C2paError as exc:
        return Verification(str(p), False, False, False, "", sidecar=str(side),
                            error=f"sidecar {side.name} cannot be read: {exc}")
    try:
        manifest = reader.get_active_manifest() or {}
    except c2pa.C2paError:
        manifest = {}
    record = next((a.get("data") or {} for a in manifest.get("assertions") or [] if a.get("label") == FILE_LABEL), None)
    if record is None:
        extra = (f"{FILE_LABEL}: the sidecar records no hash of the clip, so nothing binds it to {p.name}",)
    elif record.get("sha256") != sha256_bytes(p.read_bytes()):
        extra = (f"{FILE_LABEL}.mismatch: {p.name} is not the clip that was signed (its sha256 differs from the "
                 "one the sidecar records)",)
    else:
        extra = ()
    return _from_reader(p, reader, str(side), ignore=frozenset({"assertion.dataHash.mismatch"}), extra_problems=extra)


def _no_manifest(exc: Exception) -> str:
    text = str(exc)
    if "ManifestNotFound" in type(exc).__name__ or "JUMBF" in text or "not found" in text.lower():
        return "the file has no C2PA manifest (no Content Credentials) and no .c2pa sidecar"
    return f"the manifest cannot be read: {text}"


__all__ = ["MEDIA_SUFFIXES", "Verification", "verify_file", "MIME"]
