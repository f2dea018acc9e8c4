"""Encoding for delivery: one profile's file, and the one byte-limit loop.

Linear light -> 8-bit sRGB is :func:`packshot.imaging.linear_to_srgb8_fast` (its lookup table and
ordered dither; re-exported here for code that imported it from export).

:func:`fit_byte_limit` is the only quality step-down loop of export: the delivery encode
(:func:`encode_fixed`, metadata and Content Credentials counted in the bytes) and the compliance
fixer's :func:`packshot.export.compliance.fixer.encode_for_profile` both use it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Mapping, TypeVar


from ...errors import InputError
from ...imaging import linear_to_srgb8_fast, resize_linear
from ...provenance import record
from .metadata import FORMATS, ExportMetadata, digital_source_type, encode_with_metadata, provenance_digest

if TYPE_CHECKING:  # pragma: no cover
    from .deliver import ExportFrame, Fixed

QUALITY_STEP = 5
"""JPEG / WebP quality lowered by this much per try when a file is over its profile's byte limit."""

MIN_QUALITY_FOR_BYTE_LIMIT = 60
"""Lowest JPEG / WebP quality the step-down goes to; a file still over the limit there is an error."""

DEFAULT_QUALITY = 90
"""Quality handed to the encoder for lossless formats (PNG ignores it)."""

LOSSY_FORMATS = ("JPEG", "WEBP")

T = TypeVar("T")


def fit_byte_limit(encode: Callable[[int | None], tuple[bytes, T]], quality: int | None, max_bytes: int | None,
                   *, fmt: str, source: str, subject: str = "", step: int = QUALITY_STEP,
                   min_quality: int = MIN_QUALITY_FOR_BYTE_LIMIT) -> tuple[bytes, int | None, T]:
    """Encode at ``quality``, then lower it by ``step`` (not below ``min_quality``) until the
    bytes fit ``max_bytes``. ``encode(quality) -> (bytes, anything)``; ``quality`` None (a lossless
    format) is tried once. Returns the bytes, the quality used and what ``encode`` returned with them.

    Raises
    ------
    InputError
        Still over ``max_bytes`` at the lowest quality (or a lossless file over it), naming ``source``.
    """
    while True:
        data, extra = encode(quality)
        if not max_bytes or len(data) <= max_bytes:
            return data, quality, extra
        if quality is None or quality - step < min_quality:
            raise InputError(source, f"{subject}the {fmt} file is {len(data):,} bytes, over the profile's limit of "
                                     f"{max_bytes:,} bytes even at quality {quality or '-'}")
        quality -= step


@dataclass(frozen=True)
class _MetadataFields:
    """What the file's metadata says about the frame (all but the provenance digest, which
    changes with the quality)."""

    frame: Any
    profile: Any
    upscaled: bool
    extras: Any

    def metadata(self, digest: str) -> ExportMetadata:
        f, extras = self.frame, self.extras
        return ExportMetadata(source_kind=f.source_kind, provenance_digest=digest, sku=f.sku, scene=f.scene,
                              variant=f.variant, profile=self.profile.name, upscaled=self.upscaled,
                              alt_text=extras.alt_text if extras else "",
                              description=extras.description if extras else "")


def output_format(profile: Any) -> str:
    for fmt in getattr(profile, "formats", ()) or (getattr(profile, "output_format", "JPEG"),):
        if fmt in FORMATS:
            return fmt
    raise InputError(f"profile '{profile.name}'", f"accepts only {', '.join(profile.formats)}; export writes "
                                                  f"{', '.join(FORMATS)}")


def profile_quality(profile: Any, fmt: str) -> int:
    """The profile's starting quality for a lossy ``fmt`` (JPEG or WebP)."""
    if fmt == "WEBP":
        return int(getattr(profile, "webp_quality", 90))
    return int(getattr(profile, "jpeg_quality", 92))


@dataclass(frozen=True)
class Encoded:
    """One encoded output before it is named and routed."""

    profile: str
    data: bytes
    format: str
    quality: int | None
    size: tuple[int, int]
    upscaled: bool
    provenance: Mapping[str, Any]
    digest: str
    c2pa_store: bytes | None = None
    """The signed C2PA manifest store (with credentials), for a ``.c2pa`` sidecar."""


def encode_fixed(frame: "ExportFrame", profile: Any, fixed: "Fixed", fixed_by: str, frame_hash: str,
                 extras: Any = None) -> Encoded:
    """One profile's file from a fixed frame: resample to the profile's size (linear light), 8-bit
    sRGB, the AI label where the platform asks for one, provenance, metadata, Content Credentials
    (``extras``), and the quality stepped down until the file fits the profile's byte limit."""
    fmt = output_format(profile)
    w, h = profile.size
    # The fixer's alpha says where the product is (for checks); it is not transparency: the
    # fixed frame is opaque and is written without an alpha channel.
    rgb = fixed.rgb
    resampled = (rgb.shape[1], rgb.shape[0]) != (w, h)
    if resampled:
        rgb = resize_linear(rgb, (w, h))
    rgb8 = linear_to_srgb8_fast(rgb)
    from ...credentials.label import draw_label, needs_label

    if needs_label(profile, frame.source_kind):  # a visible "AI-edited" label the platform asks for
        rgb8 = draw_label(rgb8, profile.ai_label)
    quality = profile_quality(profile, fmt) if fmt in LOSSY_FORMATS else None
    params = {"profile": profile.name, "format": fmt, "size": [w, h], "fixed_by": fixed_by,
              "resampled_from": list(fixed.rgb.shape[1::-1]) if resampled else None,
              "profile_definition": profile_dict(profile)}
    prov = record("export", "packshot.export", params=params, inputs={"frame_pixels": frame_hash},
                  source_kind=frame.source_kind, digital_source_type=digital_source_type(frame.source_kind),
                  fix=dict(fixed.provenance), upscaled=fixed.upscaled, frame=dict(frame.provenance))
    fields = _MetadataFields(frame, profile, fixed.upscaled, extras)

    def encode_at(quality: int | None) -> tuple[bytes, tuple[str, Any]]:
        prov["params"]["quality"] = quality
        digest = provenance_digest(prov)
        data = encode_with_metadata(rgb8, fmt, fields.metadata(digest), quality=quality or DEFAULT_QUALITY)
        signed = extras.sign(frame, profile, data, fmt, (w, h), prov, digest, quality, fixed.upscaled) if extras else None
        if signed is not None:  # Content Credentials (packshot.credentials): the byte limit counts them
            data = signed.data
        return data, (digest, signed)

    data, quality, (digest, signed) = fit_byte_limit(
        encode_at, quality, getattr(profile, "max_bytes", None), fmt=fmt, source=f"profile '{profile.name}'",
        subject=f"{frame.key}: ")
    return Encoded(profile=profile.name, data=data, format=fmt, quality=quality, size=(w, h),
                   upscaled=fixed.upscaled, provenance=prov, digest=digest,
                   c2pa_store=signed.store if signed is not None and not getattr(profile, "keeps_metadata", True)
                   else None)


def profile_dict(profile: Any) -> dict[str, Any]:
    """The profile's definition as recorded in provenance."""
    if hasattr(profile, "to_dict"):
        return profile.to_dict()
    if dataclasses.is_dataclass(profile):
        return dataclasses.asdict(profile)
    return {"name": getattr(profile, "name", str(profile))}


__all__ = ["DEFAULT_QUALITY", "Encoded", "LOSSY_FORMATS", "MIN_QUALITY_FOR_BYTE_LIMIT", "QUALITY_STEP", "encode_fixed",
           "fit_byte_limit", "linear_to_srgb8_fast", "output_format", "profile_dict", "profile_quality"]
