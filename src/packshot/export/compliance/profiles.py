"""Marketplace and ad-platform profiles: what an image must be to be accepted where it is going.

A :class:`Profile` states the output size the fixer produces and the rules :func:`check_image
<packshot.export.check.check_image>` measures: sides, aspect, fill, background, format, quality,
colour space, byte limit, text and safe zones. The built-in profiles follow
platforms' published requirements as collected in 2026-11 (each profile's ``source`` names
its document); numbers a platform only *recommends* are kept apart from hard limits so that a check can warn without failing.

User profiles are YAML files with the same field names (validated by :class:`ProfileModel`;
``packshot schema profile`` prints its JSON Schema); ``extends: <built-in>`` starts from a
built-in profile and overrides only the fields given::

    name: my-shop
    extends: shopify
    size: [1600, 1600]
    max_bytes: 5000000
    text_allowed: false

Examples
--------
>>> from packshot.export.profiles import get_profile
>>> p = get_profile("amazon-main")
>>> p.fill_target, p.fill_min, p.background
(0.88, 0.85, 'white')
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional

from pydantic import Field

from ...errors import InputError
from ...schemas import Bad, Document, ValidationError, check_flag, check_text, first_problem, typed

BACKGROUND_RULES = ("white", "any")
"""``white``: pure RGB 255 outside the product; ``any``: no rule on the background."""

IMAGE_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "TIFF", "BMP")
"""Format names as Pillow reports them."""

_FORMAT_ALIASES = {"JPG": "JPEG", "TIF": "TIFF"}


@dataclass(frozen=True)
class SafeZone:
    """Bands of the frame that must stay free of key content (the product), as fractions of the
    frame's height (top, bottom) and width (left, right). Meta Stories keep ~250 px at the top and
    ~340 px at the bottom of 1080 x 1920 free for the interface."""

    top: float = 0.0
    """Share of the frame height at the top kept free of the product."""
    bottom: float = 0.0
    """Share of the frame height at the bottom kept free of the product."""
    left: float = 0.0
    """Share of the frame width at the left kept free of the product."""
    right: float = 0.0
    """Share of the frame width at the right kept free of the product."""

    def box(self, width: int, height: int) -> tuple[int, int, int, int]:
        """The safe area ``(x0, y0, x1, y1)`` in pixels of a ``width`` x ``height`` frame."""
        return (int(round(self.left * width)), int(round(self.top * height)),
                width - int(round(self.right * width)), height - int(round(self.bottom * height)))


@dataclass(frozen=True)
class Profile:
    """Where an image is going and what it must be there.

    Sizes are in pixels, shares in [0, 1]. ``None`` means "no rule". Fields named
    ``recommended_*`` only warn; every other rule fails the check.
    """

    name: str
    """Profile name (``amazon-main``) or the stem of a YAML profile."""
    size: tuple[int, int] = (2000, 2000)
    """(width, height) the fixer produces."""
    description: str = ""
    """One line: the platform and slot."""
    min_longest_side: int | None = None
    """Hard minimum of the longest side (px)."""
    min_shortest_side: int | None = None
    """Hard minimum of the shortest side (px)."""
    recommended_longest_side: int | None = None
    """Recommended minimum of the longest side (px): below it the check warns (zoom, sharpness)."""
    max_longest_side: int | None = None
    """Hard maximum of the longest side (px)."""
    max_pixels: int | None = None
    """Hard maximum of width x height."""
    aspect: float | None = None
    """Required width / height (1.0 square, 0.8 for 4:5, 0.5625 for 9:16)."""
    aspect_tolerance: float = 0.01
    """Allowed relative deviation from ``aspect``."""
    fill_target: float | None = None
    """Product share of the frame the fixer aims at (bounding-box extent, see check.py)."""
    fill_min: float | None = None
    """Minimum product share of the frame the check accepts."""
    background: str = "any"
    """``white`` (RGB 255 outside the product) or ``any``."""
    background_tolerance: float = 0.001
    """Largest share of background pixels allowed to differ from RGB 255 (``white`` only)."""
    edge_clearance: bool = False
    """No product or shadow may be cut by the frame edge (non-white pixels on the border)."""
    formats: tuple[str, ...] = ("JPEG", "PNG")
    """Accepted file formats (Pillow names); the first is the one the exporter writes."""
    jpeg_quality: int = 92
    """JPEG quality the exporter writes."""
    webp_quality: int = 90
    """WebP quality the exporter writes."""
    recommended_min_jpeg_quality: int | None = None
    """JPEG quality below which the check warns (estimated from the quantisation tables)."""
    color_space: str = "sRGB"
    """Colour space the pixels must be in (an embedded ICC profile must describe it)."""
    allow_alpha: bool = True
    """Whether a transparency channel with non-opaque pixels is accepted."""
    max_bytes: int | None = None
    """Hard maximum file size in bytes."""
    text_allowed: bool = True
    """Whether added text, watermarks or logos are allowed off the product."""
    safe_zone: SafeZone | None = None
    """Bands that must stay free of the product (Stories)."""
    keeps_metadata: bool = True
    """Whether the platform keeps embedded metadata on upload. False: it strips it, so export also
    writes each file's C2PA manifest as a ``.c2pa`` sidecar beside it (with credentials)."""
    ai_label: str = ""
    """Visible disclosure text (e.g. "AI-edited") drawn in a corner of files made from frames a
    trained model painted, for platforms that ask for one; "" for none."""
    source: str = ""
    """Where the numbers come from."""

    def __post_init__(self) -> None:
        _validate(self, f"profile '{self.name}'")

    @property
    def output_format(self) -> str:
        """The format the exporter writes (the first accepted one)."""
        return self.formats[0]

    @property
    def extension(self) -> str:
        """File extension of :attr:`output_format` without the dot."""
        return {"JPEG": "jpg", "TIFF": "tif"}.get(self.output_format, self.output_format.lower())

    def to_dict(self) -> dict[str, Any]:
        """JSON/YAML-friendly dict (round-trips through :func:`profile_from_dict`)."""
        d = dataclasses.asdict(self)
        d["size"] = list(self.size)
        d["formats"] = list(self.formats)
        return d


# ---------------------------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------------------------
def _fail(where: str, field_name: str, problem: str) -> InputError:
    return InputError(where, f"field '{field_name}': {problem}")


def _check_name(v: Any) -> str:
    if not isinstance(v, str) or not v.strip():
        raise Bad(f"must be a non-empty string, got {v!r}")
    return v


def _check_size(v: Any) -> tuple[int, int]:
    if (not isinstance(v, (list, tuple)) or len(v) != 2
            or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in v)):
        raise Bad(f"must be [width, height] in positive whole pixels, got {v!r}")
    return (v[0], v[1])


def _check_pixels(v: Any) -> int | None:
    if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v <= 0):
        raise Bad(f"must be a positive whole number or null, got {v!r}")
    return v


def _check_fill(v: Any) -> float | None:
    if v is not None and (not _is_number(v) or not 0.0 < v <= 1.0):
        raise Bad(f"must be a share in (0, 1] or null, got {v!r}")
    return v


def _check_aspect(v: Any) -> float | None:
    if v is not None and (not _is_number(v) or v <= 0):
        raise Bad(f"must be a positive width/height ratio or null, got {v!r}")
    return v


def _check_tolerance(v: Any) -> float:
    if not _is_number(v) or not 0 <= v < 1:
        raise Bad(f"must be in [0, 1), got {v!r}")
    return v


def _check_background_tolerance(v: Any) -> float:
    if not _is_number(v) or not 0 <= v < 1:
        raise Bad(f"must be a share in [0, 1), got {v!r}")
    return v


def _check_background(v: Any) -> str:
    if v not in BACKGROUND_RULES:
        raise Bad(f"must be one of {', '.join(BACKGROUND_RULES)}, got {v!r}")
    return v


def _check_formats(v: Any) -> tuple[str, ...]:
    if not isinstance(v, tuple) or not v:
        raise Bad("must be a non-empty list of formats")
    for f in v:
        if f not in IMAGE_FORMATS:
            raise Bad(f"unknown format {f!r}; use some of {', '.join(IMAGE_FORMATS)}")
    return v


def _check_quality(v: Any) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= 100:
        raise Bad(f"must be a whole number in 1..100, got {v!r}")
    return v


def _check_quality_or_none(v: Any) -> int | None:
    return None if v is None else _check_quality(v)


def _check_ai_label(v: Any) -> str:
    if not isinstance(v, str) or len(v) > 40:
        raise Bad(f"must be a text of at most 40 characters (\"\" for none), got {v!r}")
    return v


def _check_color_space(v: Any) -> str:
    if v != "sRGB":
        raise Bad(f"only 'sRGB' is supported, got {v!r}")
    return v


def _check_side(v: Any) -> float:
    if not _is_number(v) or not 0 <= v < 1:
        raise Bad(f"must be a share of the frame in [0, 1), got {v!r}")
    return v


_FIELD_CHECKS: dict[str, Any] = {
    "name": _check_name, "size": _check_size,
    **{n: _check_pixels for n in ("min_longest_side", "min_shortest_side", "recommended_longest_side",
                                  "max_longest_side", "max_pixels", "max_bytes")},
    "fill_target": _check_fill, "fill_min": _check_fill, "aspect": _check_aspect,
    "aspect_tolerance": _check_tolerance, "background": _check_background,
    "background_tolerance": _check_background_tolerance, "formats": _check_formats,
    "jpeg_quality": _check_quality, "webp_quality": _check_quality,
    "recommended_min_jpeg_quality": _check_quality_or_none, "ai_label": _check_ai_label,
    "color_space": _check_color_space,
    **{n: check_flag for n in ("allow_alpha", "text_allowed", "edge_clearance", "keeps_metadata")},
}
"""The check of each field that has one on its own (the user-profile model uses the same)."""


def _validate(p: Profile, where: str) -> None:
    for name, check in _FIELD_CHECKS.items():
        try:
            check(getattr(p, name))
        except Bad as bad:
            raise _fail(where, name, bad.problem) from None
    if p.fill_target is not None and p.fill_min is not None and p.fill_target < p.fill_min:
        raise _fail(where, "fill_target", f"{p.fill_target} is below fill_min {p.fill_min}: the fixer would "
                    "produce frames its own check rejects")
    if p.aspect is not None and abs(p.size[0] / p.size[1] / p.aspect - 1) > p.aspect_tolerance:
        raise _fail(where, "size", f"{p.size[0]}x{p.size[1]} does not have the profile's aspect {p.aspect}")
    if p.safe_zone is not None:
        if not isinstance(p.safe_zone, SafeZone):
            raise _fail(where, "safe_zone", f"must be a SafeZone, got {type(p.safe_zone).__name__}")
        z = p.safe_zone
        for side in ("top", "bottom", "left", "right"):
            try:
                _check_side(getattr(z, side))
            except Bad as bad:
                raise _fail(where, f"safe_zone.{side}", bad.problem) from None
        if z.top + z.bottom >= 0.9 or z.left + z.right >= 0.9:
            raise _fail(where, "safe_zone", "leaves less than 10 % of the frame for the product")
    if p.min_longest_side and p.max_longest_side and p.min_longest_side > p.max_longest_side:
        raise _fail(where, "min_longest_side", "is larger than max_longest_side")
    for name, ok in (("size", lambda: p.min_longest_side is None or max(p.size) >= p.min_longest_side),
                     ("size", lambda: p.min_shortest_side is None or min(p.size) >= p.min_shortest_side),
                     ("size", lambda: p.max_longest_side is None or max(p.size) <= p.max_longest_side),
                     ("size", lambda: p.max_pixels is None or p.size[0] * p.size[1] <= p.max_pixels)):
        if not ok():
            raise _fail(where, name, f"{p.size[0]}x{p.size[1]} breaks the profile's own size limits")


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


# ---------------------------------------------------------------------------------------------
# built-in profiles (the platforms' requirements, collected 2026-11; see each ``source``)
# ---------------------------------------------------------------------------------------------
_MB = 1_000_000  # platforms state limits in MB; decimal megabytes are the stricter reading

_AMAZON = "Amazon Seller Central product image requirements (G9FUUH87RBNXGKB7)"

PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile(
            name="amazon-main", size=(2000, 2000), description="Amazon main (first) product image",
            min_longest_side=500, recommended_longest_side=1000, max_longest_side=10_000,
            fill_target=0.88, fill_min=0.85, background="white", edge_clearance=True,
            formats=("JPEG", "PNG", "TIFF", "GIF"), allow_alpha=False, text_allowed=False, source=_AMAZON,
        ),
        Profile(
            name="amazon-additional", size=(2000, 2000), description="Amazon additional images (lifestyle allowed)",
            min_longest_side=500, recommended_longest_side=1000, max_longest_side=10_000,
            formats=("JPEG", "PNG", "TIFF", "GIF"), allow_alpha=False, text_allowed=True, source=_AMAZON,
        ),
        Profile(
            name="google-shopping", size=(1500, 1500), description="Google Merchant Center image_link",
            min_shortest_side=100, recommended_longest_side=1500, max_pixels=64_000_000, max_bytes=16 * _MB,
            formats=("JPEG", "WEBP", "PNG", "GIF", "BMP", "TIFF"), text_allowed=False,
            source="Google Merchant Center image_link spec (answer 6324350)",
        ),
        Profile(
            name="shopify", size=(2048, 2048), description="Shopify product media (square recommended)",
            max_longest_side=4472, max_pixels=20_000_000, max_bytes=20 * _MB,
            formats=("JPEG", "PNG", "GIF", "WEBP"), source="Shopify help (secondary sources)",
        ),
        Profile(
            name="meta-square", size=(1080, 1080), description="Meta (Facebook/Instagram) feed 1:1",
            aspect=1.0, max_bytes=30 * _MB, formats=("JPEG", "PNG"), source="Meta ads guide (secondary sources)",
        ),
        Profile(
            name="meta-portrait", size=(1080, 1350), description="Meta (Facebook/Instagram) feed 4:5",
            aspect=0.8, max_bytes=30 * _MB, formats=("JPEG", "PNG"), source="Meta ads guide (secondary sources)",
        ),
        Profile(
            name="meta-story", size=(1080, 1920), description="Meta Stories / Reels 9:16",
            aspect=9 / 16, max_bytes=30 * _MB, formats=("JPEG", "PNG"),
            safe_zone=SafeZone(top=250 / 1920, bottom=340 / 1920),
            source="Meta ads guide (secondary sources)",
        ),
        Profile(
            name="ebay", size=(1600, 1600), description="eBay listing picture",
            min_longest_side=500, recommended_longest_side=1000, recommended_min_jpeg_quality=90,
            formats=("JPEG", "PNG"), text_allowed=False, source="eBay picture policy",
        ),
        Profile(
            name="etsy", size=(2000, 2000), description="Etsy listing photo",
            min_longest_side=635, recommended_longest_side=2000, max_bytes=10 * _MB,
            formats=("JPEG", "PNG"), source="Etsy seller handbook (secondary sources)",
        ),
    )
}
"""The built-in profiles by name."""


# ---------------------------------------------------------------------------------------------
# user profiles
# ---------------------------------------------------------------------------------------------
_FIELDS = {f.name: f for f in dataclasses.fields(Profile)}


def _user_formats(v: Any) -> tuple[str, ...]:
    """Format names as a user writes them (``jpg``, ``[png, webp]``) in Pillow's names."""
    if isinstance(v, str):
        v = [v]
    if not isinstance(v, (list, tuple)):
        raise Bad(f"must be a list, got {v!r}")
    return _check_formats(tuple(_FORMAT_ALIASES.get(str(f).upper(), str(f).upper()) for f in v))


def _user_number(check: Any) -> Any:
    """A number, or a ratio written ``W:H`` ("4:5" = 0.8), then ``check``."""

    def parse(v: Any) -> Any:
        if isinstance(v, str) and ":" in v:
            a, _, b = v.partition(":")
            try:
                v = float(a) / float(b)
            except (ValueError, ZeroDivisionError):
                raise Bad(f"cannot read ratio {v!r}; write it as W:H or a number") from None
        return check(v)

    return parse


_SHARE_OR_NULL = {"type": ["number", "null"], "exclusiveMinimum": 0, "maximum": 1}
_PIXELS = {"type": ["integer", "null"], "exclusiveMinimum": 0}
_RATIO = {"oneOf": [{"type": "number", "exclusiveMinimum": 0}, {"type": "string", "pattern": r"^\d+(\.\d+)?:\d+(\.\d+)?$"},
                    {"type": "null"}]}
_QUALITY = {"type": "integer", "minimum": 1, "maximum": 100}
_TOLERANCE = {"type": "number", "minimum": 0, "exclusiveMaximum": 1}
_BOOL = {"type": "boolean"}


class SafeZoneModel(Document):
    """Bands kept free of the product, as shares of the frame (see :class:`SafeZone`)."""

    top: typed(float, _check_side, _TOLERANCE) = 0.0
    bottom: typed(float, _check_side, _TOLERANCE) = 0.0
    left: typed(float, _check_side, _TOLERANCE) = 0.0
    right: typed(float, _check_side, _TOLERANCE) = 0.0


class ProfileModel(Document):
    """A user profile file (YAML): the fields of :class:`Profile`, each optional but ``name``
    (the file's stem when missing), plus ``extends``: a built-in profile to start from.

    The checks that span fields (fill_target >= fill_min, size within the profile's own limits)
    run on the merged :class:`Profile`.
    """

    extends: typed(str, lambda v: _check_choice(v), {"type": "string", "enum": list(PROFILES)}) = Field(
        None, description="a built-in profile whose fields this one starts from")
    name: typed(str, _check_name, {"type": "string", "minLength": 1}) = None
    size: typed(tuple, _check_size, {"type": "array", "items": {"type": "integer", "exclusiveMinimum": 0},
                                     "minItems": 2, "maxItems": 2}) = None
    description: typed(str, check_text, {"type": "string"}) = None
    min_longest_side: typed(int, _check_pixels, _PIXELS) = None
    min_shortest_side: typed(int, _check_pixels, _PIXELS) = None
    recommended_longest_side: typed(int, _check_pixels, _PIXELS) = None
    max_longest_side: typed(int, _check_pixels, _PIXELS) = None
    max_pixels: typed(int, _check_pixels, _PIXELS) = None
    aspect: typed(float, _user_number(_check_aspect), _RATIO) = None
    aspect_tolerance: typed(float, _user_number(_check_tolerance), _TOLERANCE) = None
    fill_target: typed(float, _user_number(_check_fill), _SHARE_OR_NULL) = None
    fill_min: typed(float, _user_number(_check_fill), _SHARE_OR_NULL) = None
    background: typed(str, _check_background, {"type": "string", "enum": list(BACKGROUND_RULES)}) = None
    background_tolerance: typed(float, _user_number(_check_background_tolerance), _TOLERANCE) = None
    edge_clearance: typed(bool, check_flag, _BOOL) = None
    formats: typed(tuple, _user_formats, {"oneOf": [
        {"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 1}],
        "description": f"some of {', '.join(IMAGE_FORMATS)} (JPG, TIF accepted); the first is written"}) = None
    jpeg_quality: typed(int, _check_quality, _QUALITY) = None
    webp_quality: typed(int, _check_quality, _QUALITY) = None
    recommended_min_jpeg_quality: typed(int, _check_quality_or_none, {"type": ["integer", "null"], "minimum": 1,
                                                                      "maximum": 100}) = None
    color_space: typed(str, _check_color_space, {"const": "sRGB"}) = None
    allow_alpha: typed(bool, check_flag, _BOOL) = None
    max_bytes: typed(int, _check_pixels, _PIXELS) = None
    text_allowed: typed(bool, check_flag, _BOOL) = None
    safe_zone: Optional[SafeZoneModel] = None
    keeps_metadata: typed(bool, check_flag, _BOOL) = None
    ai_label: typed(str, _check_ai_label, {"type": "string", "maxLength": 40}) = None
    source: typed(str, check_text, {"type": "string"}) = None


def _check_choice(v: Any) -> str:
    if v not in PROFILES:
        raise Bad(f"unknown built-in profile {v!r}; choose one of {', '.join(PROFILES)}")
    return v


def profile_json_schema() -> dict[str, Any]:
    """The JSON Schema of a user profile file (``packshot schema profile``)."""
    schema = ProfileModel.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema,
            "title": "packshot marketplace profile"}


def profile_from_dict(data: Mapping[str, Any], where: str = "profile") -> Profile:
    """Build a :class:`Profile` from a mapping (parsed YAML), validating every field.

    Parameters
    ----------
    data : mapping
        Field names as in :class:`Profile`; ``extends`` names a built-in profile to start from.
    where : str
        The file or source named in error messages.

    Raises
    ------
    InputError
        An unknown field or a bad value; the message names ``where`` and the field.

    Examples
    --------
    >>> p = profile_from_dict({"name": "my-shop", "extends": "shopify", "size": [1600, 1600], "formats": "jpg"})
    >>> p.size, p.formats, p.max_longest_side
    ((1600, 1600), ('JPEG',), 4472)
    >>> profile_from_dict({"name": "x", "fill_min": 1.5}, where="shop.yaml")
    Traceback (most recent call last):
    packshot.errors.InputError: shop.yaml: field 'fill_min': must be a share in (0, 1] or null, got 1.5
    """
    if not isinstance(data, Mapping):
        raise InputError(where, f"a profile must be a mapping of fields, got {type(data).__name__}")
    try:
        model = ProfileModel.model_validate(dict(data))
    except ValidationError as exc:
        raise _fail(where, *first_problem(exc, ProfileModel)) from None
    base: dict[str, Any] = {}
    if model.extends is not None:
        base = {f: getattr(PROFILES[model.extends], f) for f in _FIELDS}
    given = {key: getattr(model, key) for key in model.model_fields_set if key != "extends"}
    if isinstance(given.get("safe_zone"), SafeZoneModel):
        given["safe_zone"] = SafeZone(**given["safe_zone"].model_dump())
    merged = {**base, **given}
    if "name" not in merged:
        raise _fail(where, "name", "is missing")
    profile = Profile.__new__(Profile)
    for f in _FIELDS.values():
        object.__setattr__(profile, f.name, merged[f.name] if f.name in merged else _default(f))
    _validate(profile, where)
    return profile


def _default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:  # pragma: no cover - no factories today
        return f.default_factory()
    raise KeyError(f.name)  # pragma: no cover - only 'name', checked above


def load_profile(path: str | Path) -> Profile:
    """Read a YAML profile file.

    Raises
    ------
    InputError
        The file is missing, is not YAML, or a field is unknown or invalid (named in the message).
    """
    from ...documents import load_document

    p = Path(path)
    # bounded read (regular files only, size cap), safe YAML with nesting and alias limits
    data, _raw = load_document(p, "profile file", fmt="yaml")
    if data is None:
        raise InputError(p, "profile file is empty")
    if isinstance(data, Mapping) and "name" not in data:
        data = {**data, "name": p.stem}
    return profile_from_dict(data, where=str(p))


def profile_names() -> list[str]:
    """Names of the built-in profiles."""
    return list(PROFILES)


def get_profile(name_or_path: str | Path | Profile) -> Profile:
    """A built-in profile by name, or a user profile from a ``.yaml`` / ``.yml`` file.

    Raises
    ------
    InputError
        Unknown name (the message lists the choices) or an invalid profile file.
    """
    if isinstance(name_or_path, Profile):
        return name_or_path
    key = str(name_or_path)
    if key in PROFILES:
        return PROFILES[key]
    p = Path(key)
    if p.suffix.lower() in (".yaml", ".yml") or p.exists():
        return load_profile(p)
    raise InputError(
        "--profile", f"unknown profile '{key}'; choose one of: {', '.join(PROFILES)}, or give the path of a "
        "YAML profile file",
    )


__all__ = ["BACKGROUND_RULES", "IMAGE_FORMATS", "PROFILES", "Profile", "ProfileModel", "SafeZone", "get_profile",
           "load_profile", "profile_from_dict", "profile_json_schema", "profile_names"]


def video_profile_names() -> list[str]:
    """Names of the built-in marketplace *video* profiles (:mod:`packshot.export.video_profiles`)."""
    from .video_profiles import video_profile_names as names

    return names()
