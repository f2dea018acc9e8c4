"""The brief as pydantic models: what keys a brief may have, their types and ranges, its JSON Schema.

:func:`packshot.condition.brief.parse_brief` validates a brief with :class:`BriefModel` first, then
builds the frozen :class:`~packshot.condition.brief.Brief` from it (defaults merged, files read,
sizes resolved against the resolution, checks that span fields). ``packshot schema brief`` prints
:func:`brief_json_schema`; point an editor's YAML language server at it to complete a brief::

    # yaml-language-server: $schema=brief.schema.json

Examples
--------
>>> BriefModel.model_validate({"scenes": [{"name": "hero", "floor": 0.3}]}).scenes[0].floor
0.3
>>> check_size("4:5", 1000)
(800, 1000)
>>> check_size([512, -5], 1024)
Traceback (most recent call last):
packshot.schemas.Bad: size must be positive, got 512x-5
"""

import re
from typing import Annotated, Any

from pydantic import BeforeValidator, ConfigDict, Field

from ..schemas import (Bad, Document, check_choice, check_flag, check_integer, check_number, check_text,
                       number_schema, typed)
from .presets import PODIUMS, PRESETS, TEXTURES

POSE_MODES = ("auto", "keep")
"""A scene's ``pose``: "auto" routes a flat-lay product to the scene's flat-lay counterpart
(:data:`packshot.condition.presets.FLATLAY_COUNTERPART`), "keep" renders the scene as written."""
from .render_options import CONTROL_KINDS, DEVICES, DTYPES, RENDERER_NAMES, SCHEDULERS

MAX_SIDE = 8192
"""Largest output side (pixels) a brief may ask for."""
MAX_VARIANTS = 64
"""Most variants per scene."""
ANCHORS = ("center", "left", "right", "left-third", "right-third")
"""Named horizontal anchors for the product (or give [x, y] shares of the canvas)."""
REVIEW_MODES = ("none", "required")
"""``required``: a catalogue run exports only approved frames; ``none``: every frame."""
MAX_SEED = 2**32 - 1

NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")  # used with fullmatch: no trailing newline
_WXH_RE = r"(-?\d+)\s*x\s*(-?\d+)"
_RATIO_RE = r"(-?\d+(?:\.\d+)?)\s*:\s*(-?\d+(?:\.\d+)?)"
_SIZE_WORDS = "must be 'WIDTHxHEIGHT', [width, height] or an aspect ratio 'W:H'"
_COLOR_WORDS = "must be a colour '#rrggbb' or [r, g, b] in 0..1"


# ------------------------------------------------------------------------------------- value checks
def check_name(value: Any) -> str:
    """A scene name: it names a folder."""
    name = check_text(value)
    if not NAME_RE.fullmatch(name):
        raise Bad(f"must be 1-64 letters, digits, '-', '_' or '.', starting with a letter or digit "
                  f"(it names a folder), got {name!r}")
    return name


def check_color(value: Any) -> tuple[float, float, float]:
    """'#rrggbb' or [r, g, b] sRGB in 0..1, as an (r, g, b) tuple in 0..1.

    >>> check_color("#ff0000")
    (1.0, 0.0, 0.0)
    """
    if isinstance(value, str):
        m = re.fullmatch(r"#?([0-9a-fA-F]{6})", value.strip())
        if not m:
            raise Bad(f"{_COLOR_WORDS}, got {value!r}")
        h = m.group(1)
        return tuple(int(h[i : i + 2], 16) / 255.0 for i in (0, 2, 4))  # type: ignore[return-value]
    if isinstance(value, (list, tuple)) and len(value) == 3:
        out = []
        for i, v in enumerate(value):
            try:
                out.append(check_number(v, 0.0, 1.0))
            except Bad as bad:
                raise Bad(bad.problem, f"[{i}]") from None
        return tuple(out)  # type: ignore[return-value]
    raise Bad(f"{_COLOR_WORDS}, got {value!r}")


def check_anchor(value: Any) -> str | tuple[float, float]:
    """A name in :data:`ANCHORS` or [x, y] shares of the canvas."""
    if isinstance(value, str):
        if value not in ANCHORS:
            raise Bad(f"unknown anchor '{value}'; use one of {', '.join(ANCHORS)} or [x, y] shares of the canvas")
        return value
    if isinstance(value, (list, tuple)) and len(value) == 2:
        out = []
        for i, v in enumerate(value):
            try:
                out.append(check_number(v, 0.0, 1.0))
            except Bad as bad:
                raise Bad(bad.problem, f"[{i}]") from None
        return (out[0], out[1])
    raise Bad(f"must be a name or [x, y] shares of the canvas, got {value!r}")


def check_size(value: Any, resolution: int | None) -> tuple[int, int]:
    """'WxH', [w, h] or an aspect ratio 'a:b' (long side = ``resolution``) as (width, height).

    With ``resolution`` None an aspect ratio is only checked for form (the model does not know
    the resolution yet) and (1, 1) is returned for it.
    """
    if isinstance(value, str):
        s = value.strip().lower()
        m = re.fullmatch(_WXH_RE, s)
        if m:
            w, h = int(m.group(1)), int(m.group(2))
        else:
            m = re.fullmatch(_RATIO_RE, s)
            if not m:
                raise Bad(f"{_SIZE_WORDS}, got {value!r}")
            a, b = float(m.group(1)), float(m.group(2))
            if a <= 0 or b <= 0:
                raise Bad(f"aspect ratio must be positive, got {value!r}")
            if resolution is None:
                return (1, 1)
            if a >= b:
                w, h = resolution, int(round(resolution * b / a))
            else:
                w, h = int(round(resolution * a / b)), resolution
    elif isinstance(value, (list, tuple)) and len(value) == 2:
        sides = []
        for i, v in enumerate(value):
            try:
                sides.append(check_integer(v, -(2**31), 2**31))
            except Bad as bad:
                raise Bad(bad.problem, f"[{i}]") from None
        w, h = sides
    else:
        raise Bad(f"{_SIZE_WORDS}, got {value!r}")
    if w <= 0 or h <= 0:
        raise Bad(f"size must be positive, got {w}x{h}")
    if w < 64 or h < 64 or w > MAX_SIDE or h > MAX_SIDE:
        raise Bad(f"each side must be between 64 and {MAX_SIDE} pixels, got {w}x{h}")
    return w, h


def normalise_sizes(value: Any) -> tuple[Any, ...]:
    """``sizes`` as a tuple of size items: one text or one [w, h] pair is one size."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not value:
        raise Bad(f"must be a non-empty list of sizes, got {value!r}")
    # a single [w, h] pair is one size, not two
    if len(value) == 2 and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        value = [list(value)]
    return tuple(value)


def check_sizes(value: Any) -> tuple[Any, ...]:
    """The ``sizes`` list, each item checked for form (aspect ratios are resolved later)."""
    items = normalise_sizes(value)
    for i, item in enumerate(items):
        try:
            check_size(item, None)
        except Bad as bad:
            raise Bad(bad.problem, f"[{i}]{bad.sub}") from None
    return items


def check_paths(value: Any) -> tuple[str, ...]:
    """One image path or a list of them."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)):
        raise Bad(f"must be a list of image paths, got {type(items).__name__}")
    for i, item in enumerate(items):
        try:
            check_text(item)
        except Bad as bad:
            raise Bad(bad.problem, f"[{i}]") from None
    return tuple(items)


def check_review(value: Any) -> str:
    """``none`` (also null or false) or ``required``."""
    if value is None or value is False:
        return "none"
    if value not in REVIEW_MODES:
        raise Bad(f"must be one of {', '.join(REVIEW_MODES)}, got {value!r}")
    return value


def check_kinds(value: Any) -> tuple[str, ...]:
    """One motion name or a list of them."""
    from ..motion import MOTION_KINDS

    kinds = [value] if isinstance(value, str) else value
    if not isinstance(kinds, (list, tuple)) or not kinds:
        raise Bad(f"must be a name or a list of names from {', '.join(MOTION_KINDS)}")
    for i, k in enumerate(kinds):
        if not isinstance(k, str) or k not in MOTION_KINDS:
            raise Bad(f"unknown motion {k!r}; choose from {', '.join(MOTION_KINDS)}", f"[{i}]" if len(kinds) > 1 else "")
    return tuple(kinds)


# ------------------------------------------------------------------------------------- field types
def Number(lo: float | None = None, hi: float | None = None) -> Any:  # noqa: N802 - a type factory
    """A number in [lo, hi]."""
    return typed(float, lambda v: check_number(v, lo, hi), number_schema(lo, hi))


def Integer(lo: int, hi: int) -> Any:  # noqa: N802
    """A whole number in [lo, hi]."""
    return typed(int, lambda v: check_integer(v, lo, hi), {"type": "integer", "minimum": lo, "maximum": hi})


def Choice(noun: str, choices: tuple[str, ...]) -> Any:  # noqa: N802
    """One of ``choices``."""
    return typed(str, lambda v: check_choice(v, noun, choices), {"type": "string", "enum": list(choices)})


Text = typed(str, check_text, {"type": "string"})
Flag = typed(bool, check_flag, {"type": "boolean"})
Share = Number(0.0, 1.0)
_SHARES = {"type": "array", "items": number_schema(0.0, 1.0), "minItems": 2, "maxItems": 2}
Color = typed(tuple[float, float, float], check_color, {"oneOf": [
    {"type": "string", "pattern": "^#?[0-9a-fA-F]{6}$"},
    {"type": "array", "items": number_schema(0.0, 1.0), "minItems": 3, "maxItems": 3}]})
Texture = Choice("texture", TEXTURES)
_SIZE_ITEM = {"oneOf": [
    {"type": "string", "pattern": r"^\s*\d+\s*[xX]\s*\d+\s*$", "description": "WIDTHxHEIGHT in pixels"},
    {"type": "string", "pattern": r"^\s*\d+(\.\d+)?\s*:\s*\d+(\.\d+)?\s*$",
     "description": "an aspect ratio W:H (long side = resolution)"},
    {"type": "array", "items": {"type": "integer", "minimum": 64, "maximum": MAX_SIDE}, "minItems": 2, "maxItems": 2}]}
Sizes = typed(tuple[Any, ...], check_sizes, {"oneOf": [
    {"type": "array", "items": _SIZE_ITEM, "minItems": 1}, _SIZE_ITEM]})
Paths = typed(tuple[str, ...], check_paths, {"oneOf": [
    {"type": "string"}, {"type": "array", "items": {"type": "string"}}]})


# ------------------------------------------------------------------------------------- models
class BackdropModel(Document):
    """Overrides of the preset's backdrop."""

    wall: Color = None
    floor: Color = None
    wall_texture: Texture = None
    floor_texture: Texture = None
    texture_strength: Share = None
    texture_tint: Color = None
    podium: Choice("podium", PODIUMS) = None
    podium_color: Color = None
    podium_texture: Texture = None
    sweep_falloff: Share = None


class LightingModel(Document):
    """The key light; a key left out comes from the references or the preset."""

    azimuth: Number(-360.0, 360.0) = Field(None, description="degrees around the product, 0 = from the right")
    elevation: Number(5.0, 90.0) = Field(None, description="degrees above the floor")
    softness: Share = Field(None, description="0 hard .. 1 soft")
    kelvin: Number(1800.0, 12000.0) = Field(None, description="colour temperature")
    intensity: Number(0.1, 3.0) = None


class PlacementModel(Document):
    """Where the product goes."""

    anchor: typed(Any, check_anchor, {"oneOf": [{"type": "string", "enum": list(ANCHORS)}, _SHARES]}) = \
        Field("center", description="a named anchor or [x, y] shares of the canvas (the product's base centre)")
    scale: Number(0.05, 1.0) = Field(None, description="share of the canvas the product's box fills")
    rotation: Number(-180.0, 180.0) = Field(0.0, description="degrees counter-clockwise")


class ControlNetModel(Document):
    """One ControlNet: a control image kind and its model."""

    # required, but checked by parse_diffusion, whose message names both keys
    model_config = ConfigDict(json_schema_extra={"required": ["kind", "model"]})

    kind: Choice("control", CONTROL_KINDS) = None
    model: Text = Field(None, description="a hub id 'org/name' or a local diffusers folder")
    revision: Text = None
    scale: Number(0.0, 2.0) = 0.5
    start: Share = 0.0
    end: Share = 1.0


class IPAdapterModel(Document):
    """An IP-Adapter fed with the scene's reference images."""

    # required, but checked by parse_diffusion, whose message shows an example
    model_config = ConfigDict(json_schema_extra={"required": ["model", "weight_name"]})

    model: Text = Field(None, description="a hub id or a local folder")
    weight_name: Text = Field(None, description="e.g. ip-adapter_sd15.safetensors")
    subfolder: Text = ""
    image_encoder: Text = "image_encoder"
    scale: Number(0.0, 2.0) = 0.5
    revision: Text = None


def _one_or_list(value: Any) -> Any:
    return value if isinstance(value, (list, tuple)) else [value]


class DiffusionModel(Document):
    """Settings of the diffusion renderer (see :mod:`packshot.condition.render_options`)."""

    model: Text = Field(None, description="a hub id 'org/name' or a local diffusers folder")
    revision: Text = None
    controlnets: Annotated[list[ControlNetModel], BeforeValidator(_one_or_list)] = None
    ip_adapter: IPAdapterModel = None
    scheduler: Choice("scheduler", SCHEDULERS) = None
    steps: Integer(1, 500) = None
    guidance: Number(0.0, 50.0) = None
    strength: Number(0.01, 1.0) = None
    lock_margin: Integer(0, 512) = None
    base_band: Integer(0, 512) = None
    seam_correction: Flag = None
    seam_feather: Number(0.0, 512.0) = None
    device: typed(str, check_text, {"type": "string", "pattern": f"^({'|'.join(DEVICES)})(:\\d+)?$"}) = None
    dtype: Choice("dtype", DTYPES) = None
    compile: Flag = None
    channels_last: Flag = None
    attention_slicing: Flag = None
    vae_tiling: Flag = None
    cpu_offload: Flag = None
    local_files_only: Flag = None


def _motion_kinds_schema() -> dict[str, Any]:
    from ..motion import MOTION_KINDS

    one = {"type": "string", "enum": list(MOTION_KINDS)}
    return {"oneOf": [one, {"type": "array", "items": one, "minItems": 1}]}


def _easing() -> Any:
    from ..motion import EASINGS

    return Choice("easing", EASINGS)


def _max_fps() -> int:
    from ..motion import MAX_FPS

    return MAX_FPS


class MotionModel(Document):
    """A clip made from the scene (see :mod:`packshot.motion`)."""

    kind: typed(tuple[str, ...], check_kinds, _motion_kinds_schema()) = Field(
        description="one or more of the motions, combined")
    seconds: Number(0.0, None) = None
    fps: Integer(1, _max_fps()) = None
    size: typed(Any, lambda v: check_size(v, None), _SIZE_ITEM) = None
    easing: _easing() = None
    seed: Integer(0, MAX_SEED) = None
    zoom: Number(1.0, 2.0) = None
    parallax: Number(0.0, 0.2) = None
    sweep_degrees: Number(0.0, 180.0) = None


class _SceneFields(Document):
    preset: Choice("preset", tuple(PRESETS)) = Field(None, description="the scene's look (default studio-white)")
    backdrop: BackdropModel = None
    prompt: Text = None
    negative_prompt: Text = None
    references: Paths = Field(None, description="mood images: palette, light and colour temperature follow them")
    placement: PlacementModel = None
    lighting: LightingModel = None
    floor: Share = Field(None, description="0 matte .. 1 glossy")
    pose: Choice("pose", POSE_MODES) = Field(
        None, description="auto (default): a product photographed from above (flat-lay) gets this scene's flat-lay "
                          "counterpart; keep: this scene as written for every product")
    sizes: Sizes = Field(None, description="'WxH', [w, h] or an aspect ratio 'W:H' (long side = resolution)")
    resolution: Integer(64, MAX_SIDE) = Field(None, description="long side of aspect-ratio sizes (default 1024)")
    variants: Integer(1, MAX_VARIANTS) = None
    seed: Integer(0, MAX_SEED) = None
    renderer: Choice("renderer", RENDERER_NAMES) = Field(None, description="default: the run's renderer")
    diffusion: DiffusionModel = None


class DefaultsModel(_SceneFields):
    """Keys every scene gets unless it sets them."""


class SceneModel(_SceneFields):
    """One scene."""

    name: typed(str, check_name, {"type": "string", "pattern": f"^{NAME_RE.pattern}$"}) = Field(
        None, description="names the scene's folder (default sceneN)")
    plate: Text = Field(None, description="a background photo that is the scene")
    plate_floor_line: Number(0.05, 1.0) = Field(None, description="share of the plate's height where the base sits")
    plate_horizon: Number(0.0, 0.95) = Field(None, description="share of the plate's height of the horizon")
    motion: MotionModel = None


class BriefModel(Document):
    """A brief: scenes to build around each product."""

    name: Text = Field(None, description="the brief's name (default: the file's stem)")
    description: Any = None
    review: typed(str, check_review, {"enum": [*REVIEW_MODES, None, False]}) = "none"
    defaults: Annotated[DefaultsModel, BeforeValidator(lambda v: v or {})] = None
    scenes: list[SceneModel] = Field(description="a brief needs at least one scene", min_length=1)


def brief_json_schema() -> dict[str, Any]:
    """The JSON Schema of a brief (``packshot schema brief``)."""
    schema = BriefModel.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema, "title": "packshot brief"}
