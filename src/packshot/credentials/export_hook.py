"""The part of export that deals with credentials and accessibility text, kept out of deliver.py.

``ExportCredentials`` is made once per export (it loads and checks the credentials, so a bad
certificate stops the export before anything is written); ``for_frame`` gives a
:class:`FrameExtras` per frame (its alt text, description and, with credentials, a ``sign``
function per encoded file).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from .context import FrameContext, alt_text, description, frame_context

SIDECAR_SUFFIX = ".c2pa"


def sidecar_path(path: str) -> str:
    """``shop/sku_main.jpg`` -> ``shop/sku_main.c2pa`` (the C2PA sidecar convention: same stem)."""
    import posixpath

    return posixpath.splitext(path)[0] + SIDECAR_SUFFIX


@dataclass(frozen=True)
class Signed:
    data: bytes
    store: bytes
    """The manifest store (what a ``.c2pa`` sidecar holds)."""


@dataclass(frozen=True)
class FrameExtras:
    """Per-frame accessibility text and signing."""

    context: FrameContext
    alt_text: str
    description: str
    signer: Any = None
    title: str | None = None
    photo: tuple[str, bytes] | None = None
    """The source photo ``(mime, bytes)`` when it carries Content Credentials of its own."""

    def sign(self, frame: Any, profile: Any, data: bytes, fmt: str, size: tuple[int, int], provenance: Mapping,
             digest: str, quality: int | None, upscaled: bool) -> Signed | None:
        """Sign ``data`` (an encoded file) with the export's credentials; None without credentials."""
        if self.signer is None:
            return None
        from .label import needs_label
        from .manifest import build_manifest

        manifest = build_manifest(sku=frame.sku, scene=frame.scene, variant=frame.variant,
                                  source_kind=frame.source_kind, profile=profile.name, fmt=fmt, size=size,
                                  context=self.context, provenance=provenance, provenance_digest=digest,
                                  alt_text=self.alt_text, upscaled=upscaled, quality=quality,
                                  ai_label=profile.ai_label if needs_label(profile, frame.source_kind) else "")
        signed, store = self.signer.sign(data, fmt, manifest, streams={"photo": self.photo} if self.photo else None)
        return Signed(signed, store)


class ExportCredentials:
    """Credentials and per-SKU text for one export.

    Parameters
    ----------
    credentials : path, Credentials, ContentSigner or None
        A credentials folder (see :mod:`packshot.credentials.keys`); None: no signing.
    product_text : mapping, optional
        SKU -> ``{"title": ..., "alt_text": ...}``: the catalogue title used in the alt text,
        and a per-SKU alt text that replaces the generated one.

    Raises
    ------
    CredentialsError
        The credentials cannot be used (checked here, before any file is written).
    """

    def __init__(self, credentials: Any = None, product_text: Mapping[str, Mapping[str, str]] | None = None):
        self.signer = None
        if credentials is not None:
            from .keys import Credentials, load_credentials
            from .manifest import ContentSigner

            if isinstance(credentials, ContentSigner):
                self.signer = credentials
            else:
                creds = credentials if isinstance(credentials, Credentials) else load_credentials(Path(credentials))
                self.signer = ContentSigner(creds)
        self.product_text = {str(k): dict(v) for k, v in (product_text or {}).items()}

    @property
    def credentials(self) -> Any:
        return self.signer.credentials if self.signer is not None else None

    def for_frame(self, frame: Any) -> FrameExtras:
        ctx = frame_context(frame)
        text = self.product_text.get(frame.sku, {})
        alt = alt_text(frame.sku, frame.scene, ctx, title=text.get("title"), override=text.get("alt_text"))
        return FrameExtras(context=ctx, alt_text=alt, description=description(alt, frame.source_kind) if alt else "",
                           signer=self.signer, title=text.get("title"),
                           photo=self.signer.photo_with_credentials(ctx) if self.signer is not None else None)


def load_product_text(path: str | Path) -> dict[str, dict[str, str]]:
    """Per-SKU title / alt text from a CSV (columns ``sku, title, alt_text``) or JSON file
    (``{"SKU": {"title": ..., "alt_text": ...}}``).

    Raises
    ------
    InputError
        Missing file, unreadable content, no ``sku`` column.
    """
    import csv
    import json

    from ..errors import InputError

    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InputError(p, f"cannot be read ({exc.strerror or exc})") from exc
    if p.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise InputError(p, f"not valid JSON ({exc})") from exc
        if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
            raise InputError(p, 'must map each SKU to {"title": ..., "alt_text": ...}')
        return {str(k): {f: str(v[f]) for f in ("title", "alt_text") if v.get(f)} for k, v in data.items()}
    rows = list(csv.DictReader(text.splitlines()))
    if not rows or "sku" not in (rows[0].keys() if rows else ()):
        raise InputError(p, "CSV needs a header with a 'sku' column (and 'title' and/or 'alt_text')")
    return {r["sku"].strip(): {f: r[f].strip() for f in ("title", "alt_text") if (r.get(f) or "").strip()}
            for r in rows if (r.get("sku") or "").strip()}
