"""C2PA manifests for exported images: what the manifest says, and signing it into the file.

The manifest of an exported file records, in order:

1. ``c2pa.opened``: the source photo, a ``parentOf`` ingredient carrying its sha256;
2. ``c2pa.edited``: the product cut out of it (segment);
3. ``c2pa.edited``: the cut-out placed into a new scene, with a ``digitalSourceType`` from the
   frame's ``source_kind`` (below); the render backend and models as software agent/parameters;
4. ``c2pa.color_adjustments``: relit (light, shadows, reflections matched to the scene);
5. ``c2pa.resized``: fixed for the profile (size, fill, upscaling when it happened);
6. ``c2pa.converted``: encoded as JPEG / PNG / WebP in sRGB for the profile.

C2PA's ``c2pa.placed`` action must name a ``componentOf`` ingredient that was placed; packshot
places its own cut-out of the parent photo, so the placement is an ``c2pa.edited`` action that
says so in its description. The master artwork QA compared against is a ``componentOf``
ingredient with its sha256; the QA verdict and the human approval (when review recorded one) are
the custom assertion ``com.packshot.qa``; sku, scene, profile, provenance digest and alt text are
``com.packshot.export``.

=============  =================================================  ==========================
source kind    digitalSourceType of the placement step             why
=============  =================================================  ==========================
diffusion      compositeWithTrainedAlgorithmicMedia               a trained model painted
                                                                  the scene around the photo
embedded       compositeSynthetic                                 procedural (untrained)
                                                                  scene around the photo
capture        (no placement step)                                the photo on a backdrop
=============  =================================================  ==========================

Manifests carry random identifiers and the signing time, so signed files differ from run to run;
their pixels and XMP do not.
"""

from __future__ import annotations

import io
import threading
from typing import Any, Mapping

from .. import __version__
from ..errors import require
from .context import FrameContext
from .keys import Credentials, CredentialsError

IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"

PLACEMENT_SOURCE_TYPES: Mapping[str, str | None] = {
    "diffusion": IPTC + "compositeWithTrainedAlgorithmicMedia",
    "embedded": IPTC + "compositeSynthetic",
    "capture": None,
}
"""Frame ``source_kind`` -> digitalSourceType of the "placed into a new scene" action."""

MIME = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "MP4": "video/mp4"}
QA_LABEL = "com.packshot.qa"
EXPORT_LABEL = "com.packshot.export"


def _agent(what: str = "") -> dict[str, str]:
    return {"name": f"packshot{' ' + what if what else ''}", "version": __version__}


def build_manifest(*, sku: str, scene: str, variant: str, source_kind: str, profile: str, fmt: str,
                   size: tuple[int, int], context: FrameContext, provenance: Mapping[str, Any],
                   provenance_digest: str, alt_text: str = "", upscaled: bool = False,
                   quality: int | None = None, title: str | None = None, ai_label: str = "") -> dict[str, Any]:
    """The C2PA manifest definition (c2pa-python ``Builder`` JSON) for one exported file."""
    if source_kind not in PLACEMENT_SOURCE_TYPES:
        raise CredentialsError("source_kind", f"'{source_kind}' is not one of {', '.join(PLACEMENT_SOURCE_TYPES)}")
    ingredients: list[dict[str, Any]] = []
    actions: list[dict[str, Any]] = []
    photo_meta = {"com.packshot.sha256": context.photo_sha256} if context.photo_sha256 else {}
    ingredients.append({"title": context.photo_name or f"{sku} source photo", "format": "image/*" if not context.photo_name
                        else _guess_mime(context.photo_name), "relationship": "parentOf", "label": "photo",
                        **({"metadata": photo_meta} if photo_meta else {})})
    actions.append({"action": "c2pa.opened", "softwareAgent": _agent(), "description": "source product photo opened",
                    "parameters": {"ingredientIds": ["photo"]}})
    if source_kind != "capture":
        actions.append({"action": "c2pa.edited", "softwareAgent": _agent("segment"),
                        "description": "product cut out of the photo (product pixels kept as photographed)"})
        models = [dict(m) for m in context.models if m.get("stage") in ("render", "condition", "refine")]
        placed: dict[str, Any] = {
            "action": "c2pa.edited", "softwareAgent": _agent(f"render ({context.render_backend or source_kind})"),
            "description": "cut-out placed into a new scene" + (" painted by a trained generative model"
                                                                if source_kind == "diffusion" else
                                                                " built procedurally (no trained model)"),
            "digitalSourceType": PLACEMENT_SOURCE_TYPES[source_kind],
            "parameters": {"com.packshot.scene": scene, **({"com.packshot.models": models} if models else {})},
        }
        actions.append(placed)
        if "relight" in context.stages:
            actions.append({"action": "c2pa.color_adjustments", "softwareAgent": _agent(
                f"relight ({context.relight_backend or 'embedded'})"),
                "description": "relit: light, shadows and reflections matched to the scene"})
    else:
        actions.append({"action": "c2pa.edited", "softwareAgent": _agent(),
                        "description": "product placed on a plain background"})
    actions.append({"action": "c2pa.resized", "softwareAgent": _agent("export"),
                    "description": f"fitted to the {profile} profile" + (" (super-resolved to reach its minimum size)"
                                                                        if upscaled else ""),
                    "parameters": {"com.packshot.width": int(size[0]), "com.packshot.height": int(size[1])}})
    if ai_label:
        actions.append({"action": "c2pa.edited", "softwareAgent": _agent("export"),
                        "description": f"visible disclosure label \"{ai_label}\" drawn in the bottom-right corner"})
    actions.append({"action": "c2pa.converted", "softwareAgent": _agent("export"),
                    "description": f"encoded as {fmt} in sRGB" + (f" at quality {quality}" if quality else "")})
    if context.master_sha256:
        ingredients.append({"title": f"{sku} master artwork", "format": "image/*", "relationship": "componentOf",
                            "label": "master", "metadata": {"com.packshot.sha256": context.master_sha256},
                            "description": "approved master artwork the frame was checked against"})
    qa = {"verdict": (context.qa or {}).get("verdict"), "reasons": list((context.qa or {}).get("reasons") or []),
          "checks": dict((context.qa or {}).get("checks") or {}),
          "master_sha256": context.master_sha256, "approval": dict(context.approval) if context.approval else None,
          "review": "approved" if context.approval else "not reviewed"}
    export = {"sku": sku, "scene": scene, "variant": variant, "profile": profile, "source_kind": source_kind,
              "provenance_digest": provenance_digest, "alt_text": alt_text or None, "packshot_version": __version__,
              "models": [dict(m) for m in context.models]}
    return {
        "claim_generator_info": [{"name": "packshot", "version": __version__}],
        "title": title or f"{sku}/{scene}/{variant} for {profile}",
        "format": MIME.get(fmt, "application/octet-stream"),
        "ingredients": ingredients,
        "assertions": [
            {"label": "c2pa.actions.v2", "data": {"actions": actions}},
            {"label": QA_LABEL, "data": qa},
            {"label": EXPORT_LABEL, "data": export},
        ],
    }


def _guess_mime(name: str) -> str:
    ext = name.rsplit(".", 1)[-1].lower()
    return {"jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp",
            "tif": "image/tiff", "tiff": "image/tiff", "heic": "image/heic", "avif": "image/avif"}.get(ext, "image/*")


class ContentSigner:
    """Signs manifests into encoded files with one set of :class:`Credentials`.

    Built once per export; checks, by signing a tiny probe image, that c2pa accepts the
    credentials, so a problem surfaces before any file is written. Safe to share between threads.

    Raises
    ------
    CredentialsError
        c2pa refuses the credentials.
    MissingExtraError
        c2pa-python is not installed (extra ``credentials``).
    """

    def __init__(self, credentials: Credentials):
        self.c2pa = require("c2pa", "credentials", "Content Credentials (C2PA)")
        self.credentials = credentials
        c2pa = self.c2pa
        tsa = credentials.tsa_url.encode() if credentials.tsa_url else None
        try:
            info = c2pa.C2paSignerInfo(credentials.alg.encode(), credentials.chain_pem, credentials.key_pem, tsa)
            self._signer = c2pa.Signer.from_info(info)
            self._context = c2pa.Context(settings=c2pa.Settings.from_dict({"builder": {"thumbnail": {"enabled": False}}}))
        except c2pa.C2paError as exc:
            raise CredentialsError(credentials.folder, f"c2pa cannot load these credentials: {exc}") from exc
        self._lock = threading.Lock()
        self._probe()

    def _probe(self) -> None:
        import numpy as np

        from ..imaging import encode_srgb8

        probe = encode_srgb8(np.full((8, 8, 3), 255, np.uint8), "JPEG", quality=75, icc=False, optimize=False)
        manifest = {"claim_generator_info": [{"name": "packshot", "version": __version__}],
                    "assertions": [{"label": "c2pa.actions.v2", "data": {"actions": [
                        {"action": "c2pa.created", "digitalSourceType": IPTC + "digitalCreation"}]}}]}
        try:
            self.sign(probe, "JPEG", manifest)
        except self.c2pa.C2paError as exc:
            raise CredentialsError(self.credentials.folder, f"c2pa refuses to sign with these credentials: {exc}") from exc

    def photo_with_credentials(self, context: FrameContext) -> tuple[str, bytes] | None:
        """``(mime, bytes)`` of the frame's source photo when it still exists, is the photo the
        pipeline hashed, and carries Content Credentials of its own (a C2PA camera, an earlier
        edit): then it becomes the ``parentOf`` ingredient with its manifest, and the history
        continues. None otherwise (the ingredient is then described by its name and sha256)."""
        from pathlib import Path

        from ..provenance import sha256_bytes
        from .verify import _MIME_BY_SUFFIX

        if not context.photo_path:
            return None
        path = Path(context.photo_path)
        mime = _MIME_BY_SUFFIX.get(path.suffix.lower())
        if mime is None or not path.is_file():
            return None
        try:
            data = path.read_bytes()
        except OSError:
            return None
        if context.photo_sha256 and sha256_bytes(data) != context.photo_sha256:
            return None  # changed since the pipeline read it: not the photo this frame came from
        try:
            with self.c2pa.Reader(mime, io.BytesIO(data)):
                pass
        except self.c2pa.C2paError:
            return None
        return mime, data

    def sign(self, data: bytes, fmt: str, manifest: Mapping[str, Any],
             streams: Mapping[str, tuple[str, bytes]] | None = None) -> tuple[bytes, bytes]:
        """Embed and sign ``manifest`` into the encoded file ``data``.

        ``streams`` maps an ingredient label (``"photo"``) to ``(mime, bytes)``: that ingredient is
        read from the file itself (carrying its own manifest) instead of its JSON description.

        Returns
        -------
        (signed file bytes, manifest store bytes) -- the latter is what a ``.c2pa`` sidecar holds.
        """
        mime = MIME[fmt]
        out = io.BytesIO()
        with self._lock:
            definition = dict(manifest)
            streamed = [i for i in definition.get("ingredients", []) if i.get("label") in (streams or {})]
            definition["ingredients"] = [i for i in definition.get("ingredients", []) if i not in streamed]
            builder = self.c2pa.Builder(definition, context=self._context)
            keep = []  # ingredient streams stay referenced until the signing is done
            try:
                for ingredient in streamed:
                    ingredient_mime, blob = streams[ingredient["label"]]
                    keep.append(io.BytesIO(blob))
                    builder.add_ingredient({k: v for k, v in ingredient.items() if k != "format"}, ingredient_mime,
                                           keep[-1])
                store = builder.sign(self._signer, mime, io.BytesIO(data), out)
            finally:
                builder.close()
        return out.getvalue(), bytes(store)
