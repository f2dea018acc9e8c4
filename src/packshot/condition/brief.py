"""The brief: what scenes to build around a product, read from YAML and validated.

A brief is a list of scenes. Each scene names a preset (or a background plate photo), may
override the backdrop, light, floor and placement, and says how many variants and which sizes
to make. Keys under ``defaults`` apply to every scene unless the scene sets them.

Example (see ``examples/briefs/`` for more)::

    name: spring-launch
    defaults:
      sizes: ["1024x1024", "4:5"]      # WxH, [w, h], or an aspect ratio (long side = resolution)
      resolution: 1024
      variants: 2
      seed: 7
    scenes:
      - name: hero
        preset: studio-white
        prompt: "clean studio packshot, soft shadow"
        negative_prompt: "text, watermark"
        lighting: {azimuth: 135, elevation: 45, softness: 0.7, kelvin: 5600, intensity: 1.0}
        floor: 0.3                      # 0 matte .. 1 glossy
        placement: {anchor: center, scale: 0.6, rotation: 0}
      - name: brand-mood
        preset: marble
        references: [mood/hero-2024.jpg]   # palette, light and colour temperature follow it
      - name: kitchen
        plate: plates/kitchen.jpg           # a background photo is the scene
        plate_floor_line: 0.74              # optional; estimated from the photo when missing
      - name: story
        sizes: ["1080x1920"]
        motion: {kind: [parallax, light-sweep], seconds: 6, fps: 30}   # also a clip (packshot.motion)

Every error names the brief file and the field path (``scenes[1].lighting.azimuth``).
Reference and plate files are resolved relative to the brief's folder, checked and decoded here
(this is the I/O edge), so the conditioning stage itself reads no files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ..errors import InputError
from ..provenance import sha256_bytes
from .presets import PODIUMS, PRESETS, TEXTURES
from .reference import ReferenceLook, analyse_reference

MAX_SIDE = 8192
"""Largest output side (pixels) a brief may ask for."""
MAX_VARIANTS = 64
"""Most variants per scene."""
ANCHORS = ("center", "left", "right", "left-third", "right-third")
"""Named horizontal anchors for the product (or give [x, y] shares of the canvas)."""

_SCENE_KEYS = {
    "name", "preset", "backdrop", "prompt", "negative_prompt", "references", "placement", "lighting",
    "floor", "sizes", "resolution", "variants", "seed", "plate", "plate_floor_line", "plate_horizon",
    "motion",
    "renderer", "diffusion",
}
_DEFAULT_KEYS = _SCENE_KEYS - {"name", "plate", "plate_floor_line", "plate_horizon", "motion"}
_TOP_KEYS = {"name", "defaults", "scenes", "description", "review"}
REVIEW_MODES = ("none", "required")
_BACKDROP_KEYS = {"wall", "floor", "wall_texture", "floor_texture", "texture_strength", "texture_tint",
                  "podium", "podium_color", "podium_texture", "sweep_falloff"}
_LIGHT_KEYS = {"azimuth", "elevation", "softness", "kelvin", "intensity"}
_PLACEMENT_KEYS = {"anchor", "scale", "rotation"}
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")  # used with fullmatch: no trailing newline


class BriefError(InputError):
    """A brief is invalid: the message names the file and the field path at fault."""

    def __init__(self, file: str | Path | None, field_path: str, problem: str):
        self.field_path = field_path
        where = f"{file}: {field_path}" if file else field_path
        super().__init__(where, problem)


# ------------------------------------------------------------------------------------- dataclasses
@dataclass(frozen=True)
class LightingBrief:
    """Key light asked for by the brief; None = from the references or the preset."""

    azimuth: float | None = None
    elevation: float | None = None
    softness: float | None = None
    kelvin: float | None = None
    intensity: float | None = None


@dataclass(frozen=True)
class PlacementBrief:
    """Where the product goes.

    ``anchor`` is a name in :data:`ANCHORS` or an (x, y) pair of canvas shares giving the
    product's base centre; ``scale`` is the share of the canvas the product's box fills along
    its limiting side (None = the preset's); ``rotation`` degrees counter-clockwise.
    """

    anchor: str | tuple[float, float] = "center"
    scale: float | None = None
    rotation: float = 0.0


@dataclass(frozen=True)
class ReferenceImage:
    """A mood image: its path, hash and what it says about the scene."""

    path: str
    sha256: str
    look: ReferenceLook


@dataclass(frozen=True)
class PlateImage:
    """A background photo used as the scene (linear RGB, decoded at the I/O edge)."""

    path: str
    sha256: str
    rgb: np.ndarray


@dataclass(frozen=True)
class SceneBrief:
    """One scene of a brief, validated, with defaults applied."""

    name: str
    preset: str = "studio-white"
    backdrop: Mapping[str, Any] = field(default_factory=dict)
    prompt: str = ""
    negative_prompt: str = ""
    references: tuple[ReferenceImage, ...] = ()
    placement: PlacementBrief = field(default_factory=PlacementBrief)
    lighting: LightingBrief = field(default_factory=LightingBrief)
    floor: float | None = None
    sizes: tuple[tuple[int, int], ...] = ((1024, 1024),)
    variants: int = 1
    seed: int = 0
    plate: PlateImage | None = None
    plate_floor_line: float | None = None
    plate_horizon: float | None = None
    motion: Any = None
    """A :class:`packshot.motion.MotionSpec` when the scene also asks for a clip, else None."""
    renderer: str | None = None
    """The renderer the brief names for this scene (``renderer:``); None = the run's choice."""
    diffusion: Mapping[str, Any] = field(default_factory=dict)
    """Validated ``diffusion:`` settings (see :mod:`packshot.condition.render_options`)."""

    @property
    def backend(self) -> str:
        """The renderer this scene needs: "plate" with a background photo, else the one the
        brief names, else "studio"."""
        if self.plate is not None:
            return "plate"
        return self.renderer or "studio"


@dataclass(frozen=True)
class Brief:
    """A validated brief.

    Attributes
    ----------
    name : str
        The brief's name (its file stem when not given).
    scenes : tuple of SceneBrief
    source : str
        Where it was read from ("<dict>" when parsed from data).
    sha256 : str
        Hash of the file (or of the data's repr) for provenance.
    review : str
        ``required``: a catalogue run exports only frames approved in review (``packshot review``);
        ``none`` (the default): every frame is exported.
    """

    name: str
    scenes: tuple[SceneBrief, ...]
    source: str = "<dict>"
    sha256: str = ""
    review: str = "none"


# ------------------------------------------------------------------------------------- validation helpers
class _Checker:
    def __init__(self, file: str | Path | None, base_dir: Path):
        self.file = file
        self.base_dir = base_dir

    def fail(self, path: str, problem: str) -> BriefError:
        return BriefError(self.file, path, problem)

    def mapping(self, value: Any, path: str, allowed: set[str]) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(path, f"must be a mapping of keys to values, got {type(value).__name__}")
        for key in value:
            if key not in allowed:
                raise self.fail(f"{path}.{key}" if path else str(key),
                                f"unknown key; allowed keys are: {', '.join(sorted(allowed))}")
        return value

    def number(self, value: Any, path: str, lo: float | None = None, hi: float | None = None) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
            raise self.fail(path, f"must be a number, got {value!r}")
        v = float(value)
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            rng = f"between {lo:g} and {hi:g}" if lo is not None and hi is not None else (
                f"at least {lo:g}" if lo is not None else f"at most {hi:g}")
            raise self.fail(path, f"must be {rng}, got {v:g}")
        return v

    def integer(self, value: Any, path: str, lo: int, hi: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(path, f"must be a whole number, got {value!r}")
        if not lo <= value <= hi:
            raise self.fail(path, f"must be between {lo} and {hi}, got {value}")
        return int(value)

    def text(self, value: Any, path: str) -> str:
        if not isinstance(value, str):
            raise self.fail(path, f"must be text, got {type(value).__name__}")
        return value

    def color(self, value: Any, path: str) -> tuple[float, float, float]:
        """'#rrggbb' or [r, g, b] sRGB in 0..1."""
        if isinstance(value, str):
            m = re.fullmatch(r"#?([0-9a-fA-F]{6})", value.strip())
            if not m:
                raise self.fail(path, f"must be a colour '#rrggbb' or [r, g, b] in 0..1, got {value!r}")
            h = m.group(1)
            return tuple(int(h[i : i + 2], 16) / 255.0 for i in (0, 2, 4))  # type: ignore[return-value]
        if isinstance(value, (list, tuple)) and len(value) == 3:
            return tuple(self.number(v, f"{path}[{i}]", 0.0, 1.0) for i, v in enumerate(value))  # type: ignore
        raise self.fail(path, f"must be a colour '#rrggbb' or [r, g, b] in 0..1, got {value!r}")

    def file_path(self, value: Any, path: str) -> Path:
        s = self.text(value, path)
        p = Path(s).expanduser()
        if not p.is_absolute():
            p = self.base_dir / p
        if not p.exists():
            raise self.fail(path, f"file '{s}' does not exist (looked for {p})")
        if p.is_dir():
            raise self.fail(path, f"'{s}' is a folder, not an image file")
        return p

    def size(self, value: Any, path: str, resolution: int) -> tuple[int, int]:
        """'WxH', [w, h] or an aspect ratio 'a:b' (long side = resolution)."""
        if isinstance(value, str):
            s = value.strip().lower()
            m = re.fullmatch(r"(-?\d+)\s*x\s*(-?\d+)", s)
            if m:
                w, h = int(m.group(1)), int(m.group(2))
            else:
                m = re.fullmatch(r"(-?\d+(?:\.\d+)?)\s*:\s*(-?\d+(?:\.\d+)?)", s)
                if not m:
                    raise self.fail(path, f"must be 'WIDTHxHEIGHT', [width, height] or an aspect ratio 'W:H', "
                                          f"got {value!r}")
                a, b = float(m.group(1)), float(m.group(2))
                if a <= 0 or b <= 0:
                    raise self.fail(path, f"aspect ratio must be positive, got {value!r}")
                if a >= b:
                    w, h = resolution, int(round(resolution * b / a))
                else:
                    w, h = int(round(resolution * a / b)), resolution
        elif isinstance(value, (list, tuple)) and len(value) == 2:
            w = self.integer(value[0], f"{path}[0]", -(2**31), 2**31)
            h = self.integer(value[1], f"{path}[1]", -(2**31), 2**31)
        else:
            raise self.fail(path, f"must be 'WIDTHxHEIGHT', [width, height] or an aspect ratio 'W:H', got {value!r}")
        if w <= 0 or h <= 0:
            raise self.fail(path, f"size must be positive, got {w}x{h}")
        if w < 64 or h < 64 or w > MAX_SIDE or h > MAX_SIDE:
            raise self.fail(path, f"each side must be between 64 and {MAX_SIDE} pixels, got {w}x{h}")
        return w, h


# ------------------------------------------------------------------------------------- parsing
def _parse_scene(ck: _Checker, raw: Mapping[str, Any], path: str, defaults: Mapping[str, Any],
                 seen: set[str], index: int) -> SceneBrief:
    ck.mapping(raw, path, _SCENE_KEYS)
    merged = dict(defaults)
    merged.update(raw)

    def where(key: str) -> str:
        # errors in a value inherited from defaults name the defaults entry
        return f"{path}.{key}" if key in raw else f"defaults.{key}"

    name = raw.get("name", f"scene{index}")
    name = ck.text(name, f"{path}.name")
    if not _NAME_RE.fullmatch(name):
        raise ck.fail(f"{path}.name", f"must be 1-64 letters, digits, '-', '_' or '.', starting with a letter or "
                                      f"digit (it names a folder), got {name!r}")
    if name in seen:
        raise ck.fail(f"{path}.name", f"scene name '{name}' is used twice")
    seen.add(name)

    plate = None
    if "plate" in raw:
        p = ck.file_path(raw["plate"], f"{path}.plate")
        plate = _load_plate(ck, p, f"{path}.plate")
    preset = ck.text(merged.get("preset", "studio-white"), where("preset"))
    if preset not in PRESETS:
        raise ck.fail(where("preset"), f"unknown preset '{preset}'; choose one of: {', '.join(PRESETS)}")

    backdrop: dict[str, Any] = {}
    if "backdrop" in merged:
        b = ck.mapping(merged["backdrop"], where("backdrop"), _BACKDROP_KEYS)
        for key, value in b.items():
            fp = f"{where('backdrop')}.{key}"
            if key in ("wall", "floor", "podium_color", "texture_tint"):
                backdrop[key] = ck.color(value, fp)
            elif key in ("wall_texture", "floor_texture", "podium_texture"):
                v = ck.text(value, fp)
                if v not in TEXTURES:
                    raise ck.fail(fp, f"unknown texture '{v}'; choose one of: {', '.join(TEXTURES)}")
                backdrop[key] = v
            elif key == "podium":
                v = ck.text(value, fp)
                if v not in PODIUMS:
                    raise ck.fail(fp, f"unknown podium '{v}'; choose one of: {', '.join(PODIUMS)}")
                backdrop[key] = v
            else:
                backdrop[key] = ck.number(value, fp, 0.0, 1.0)

    prompt = ck.text(merged.get("prompt", ""), where("prompt"))
    negative = ck.text(merged.get("negative_prompt", ""), where("negative_prompt"))

    refs: list[ReferenceImage] = []
    if "references" in merged:
        rp = where("references")
        items = merged["references"]
        if isinstance(items, str):
            items = [items]
        if not isinstance(items, (list, tuple)):
            raise ck.fail(rp, f"must be a list of image paths, got {type(items).__name__}")
        for i, item in enumerate(items):
            p = ck.file_path(item, f"{rp}[{i}]")
            refs.append(_load_reference(ck, p, f"{rp}[{i}]"))

    placement = PlacementBrief()
    if "placement" in merged:
        pp = where("placement")
        pl = ck.mapping(merged["placement"], pp, _PLACEMENT_KEYS)
        anchor: str | tuple[float, float] = "center"
        if "anchor" in pl:
            a = pl["anchor"]
            if isinstance(a, str):
                if a not in ANCHORS:
                    raise ck.fail(f"{pp}.anchor", f"unknown anchor '{a}'; use one of {', '.join(ANCHORS)} "
                                                  f"or [x, y] shares of the canvas")
                anchor = a
            elif isinstance(a, (list, tuple)) and len(a) == 2:
                anchor = (ck.number(a[0], f"{pp}.anchor[0]", 0.0, 1.0), ck.number(a[1], f"{pp}.anchor[1]", 0.0, 1.0))
            else:
                raise ck.fail(f"{pp}.anchor", f"must be a name or [x, y] shares of the canvas, got {a!r}")
        scale = ck.number(pl["scale"], f"{pp}.scale", 0.05, 1.0) if "scale" in pl else None
        rotation = ck.number(pl.get("rotation", 0.0), f"{pp}.rotation", -180.0, 180.0)
        placement = PlacementBrief(anchor, scale, rotation)

    lighting = LightingBrief()
    if "lighting" in merged:
        lp = where("lighting")
        li = ck.mapping(merged["lighting"], lp, _LIGHT_KEYS)
        lighting = LightingBrief(
            azimuth=ck.number(li["azimuth"], f"{lp}.azimuth", -360.0, 360.0) % 360.0 if "azimuth" in li else None,
            elevation=ck.number(li["elevation"], f"{lp}.elevation", 5.0, 90.0) if "elevation" in li else None,
            softness=ck.number(li["softness"], f"{lp}.softness", 0.0, 1.0) if "softness" in li else None,
            kelvin=ck.number(li["kelvin"], f"{lp}.kelvin", 1800.0, 12000.0) if "kelvin" in li else None,
            intensity=ck.number(li["intensity"], f"{lp}.intensity", 0.1, 3.0) if "intensity" in li else None,
        )

    floor = ck.number(merged["floor"], where("floor"), 0.0, 1.0) if "floor" in merged else None
    resolution = ck.integer(merged.get("resolution", 1024), where("resolution"), 64, MAX_SIDE)
    sizes_raw = merged.get("sizes", ["1024x1024"] if "resolution" not in merged else [f"{resolution}x{resolution}"])
    if isinstance(sizes_raw, str):
        sizes_raw = [sizes_raw]
    if not isinstance(sizes_raw, (list, tuple)) or not sizes_raw:
        raise ck.fail(where("sizes"), f"must be a non-empty list of sizes, got {sizes_raw!r}")
    # a single [w, h] pair is one size, not two
    if len(sizes_raw) == 2 and all(isinstance(v, int) and not isinstance(v, bool) for v in sizes_raw):
        sizes_raw = [list(sizes_raw)]
    sizes = tuple(ck.size(s, f"{where('sizes')}[{i}]", resolution) for i, s in enumerate(sizes_raw))
    if len(set(sizes)) != len(sizes):
        raise ck.fail(where("sizes"), f"the same size is listed twice: {sizes}")
    variants = ck.integer(merged.get("variants", 1), where("variants"), 1, MAX_VARIANTS)
    seed = ck.integer(merged.get("seed", 0), where("seed"), 0, 2**32 - 1)

    floor_line = horizon = None
    if "plate_floor_line" in raw:
        if plate is None:
            raise ck.fail(f"{path}.plate_floor_line", "only applies to a scene with a 'plate'")
        floor_line = ck.number(raw["plate_floor_line"], f"{path}.plate_floor_line", 0.05, 1.0)
    if "plate_horizon" in raw:
        if plate is None:
            raise ck.fail(f"{path}.plate_horizon", "only applies to a scene with a 'plate'")
        horizon = ck.number(raw["plate_horizon"], f"{path}.plate_horizon", 0.0, 0.95)
    if floor_line is not None and horizon is not None and horizon >= floor_line:
        raise ck.fail(f"{path}.plate_horizon", f"must be above the floor line ({horizon:g} >= {floor_line:g})")

    from .render_options import parse_diffusion, parse_renderer

    renderer = parse_renderer(ck, merged["renderer"], where("renderer")) if "renderer" in merged else None
    if renderer is not None and plate is not None and renderer != "plate":
        raise ck.fail(where("renderer"), f"a scene with a 'plate' is painted by the plate renderer, not '{renderer}'")
    diffusion: dict[str, Any] = {}
    if "diffusion" in defaults:
        diffusion.update(parse_diffusion(ck, defaults["diffusion"], "defaults.diffusion"))
    if "diffusion" in raw:  # a scene's block refines the defaults key by key
        diffusion.update(parse_diffusion(ck, raw["diffusion"], f"{path}.diffusion"))
    if renderer == "diffusion" and "model" not in diffusion:
        raise ck.fail(where("diffusion"), "renderer 'diffusion' needs diffusion.model (a hub id or a local folder)")

    motion = _parse_motion(ck, raw["motion"], f"{path}.motion", resolution) if "motion" in raw else None
    return SceneBrief(name, preset, backdrop, prompt, negative, tuple(refs), placement, lighting, floor, sizes,
                      variants, seed, plate, floor_line, horizon, motion, renderer, diffusion)


_MOTION_KEYS = {"kind", "seconds", "fps", "size", "easing", "seed", "zoom", "parallax", "sweep_degrees"}


def _parse_motion(ck: _Checker, raw: Any, path: str, resolution: int) -> Any:
    """``motion: {kind: [parallax, light-sweep], seconds: 6, fps: 30, size: 1080x1920, easing, seed}``."""
    from ..motion import EASINGS, MAX_FPS, MOTION_KINDS, MotionSpec, check_motion

    mo = ck.mapping(raw, path, _MOTION_KEYS)
    if "kind" not in mo:
        raise ck.fail(f"{path}.kind", f"is missing: name one or more of {', '.join(MOTION_KINDS)}")
    kinds = mo["kind"]
    kinds = [kinds] if isinstance(kinds, str) else kinds
    if not isinstance(kinds, (list, tuple)) or not kinds:
        raise ck.fail(f"{path}.kind", f"must be a name or a list of names from {', '.join(MOTION_KINDS)}")
    for i, k in enumerate(kinds):
        if not isinstance(k, str) or k not in MOTION_KINDS:
            raise ck.fail(f"{path}.kind[{i}]" if len(kinds) > 1 else f"{path}.kind",
                          f"unknown motion {k!r}; choose from {', '.join(MOTION_KINDS)}")
    defaults = MotionSpec()
    seconds = ck.number(mo.get("seconds", defaults.seconds), f"{path}.seconds")
    if seconds <= 0:
        raise ck.fail(f"{path}.seconds", f"must be more than 0, got {seconds:g}")
    fps = ck.integer(mo.get("fps", defaults.fps), f"{path}.fps", 1, MAX_FPS)
    size = ck.size(mo["size"], f"{path}.size", resolution) if "size" in mo else None
    easing = ck.text(mo.get("easing", defaults.easing), f"{path}.easing")
    if easing not in EASINGS:
        raise ck.fail(f"{path}.easing", f"unknown easing {easing!r}; choose from {', '.join(EASINGS)}")
    spec = MotionSpec(
        kinds=tuple(kinds), seconds=seconds, fps=fps, size=size, easing=easing,
        seed=ck.integer(mo.get("seed", 0), f"{path}.seed", 0, 2**32 - 1),
        zoom=ck.number(mo.get("zoom", defaults.zoom), f"{path}.zoom", 1.0, 2.0),
        parallax=ck.number(mo.get("parallax", defaults.parallax), f"{path}.parallax", 0.0, 0.2),
        sweep_degrees=ck.number(mo.get("sweep_degrees", defaults.sweep_degrees), f"{path}.sweep_degrees", 0.0, 180.0),
    )
    try:
        return check_motion(spec)
    except ValueError as exc:
        field_name, _, problem = str(exc).partition(": ")
        sub = field_name.split(".", 1)[1] if "." in field_name else ""
        raise ck.fail(f"{path}.{sub}" if sub else path, problem or str(exc)) from None


def _load_reference(ck: _Checker, p: Path, path: str) -> ReferenceImage:
    from ..imaging import load_image
    from ..errors import ImageLoadError

    try:
        img = load_image(p)
    except ImageLoadError as exc:
        raise ck.fail(path, f"reference image cannot be read: {exc}") from exc
    return ReferenceImage(str(p), img.sha256, analyse_reference(img.rgb))


def _load_plate(ck: _Checker, p: Path, path: str) -> PlateImage:
    from ..imaging import load_image
    from ..errors import ImageLoadError

    try:
        img = load_image(p)
    except ImageLoadError as exc:
        raise ck.fail(path, f"plate image cannot be read: {exc}") from exc
    if min(img.size) < 64:
        raise ck.fail(path, f"plate image is too small ({img.size[0]}x{img.size[1]}); use at least 64 px a side")
    return PlateImage(str(p), img.sha256, img.rgb)


def parse_brief(data: Any, base_dir: str | Path = ".", source: str | None = None) -> Brief:
    """Validate brief data (as loaded from YAML) into a :class:`Brief`.

    Parameters
    ----------
    data : mapping
        The brief: ``scenes`` (a non-empty list), optional ``name`` and ``defaults``.
    base_dir : path
        Folder that relative reference and plate paths are resolved against.
    source : str, optional
        The file the data came from, used in error messages.

    Raises
    ------
    BriefError
        Naming the field path, e.g. ``scenes[1].lighting.azimuth: must be a number``.
    """
    ck = _Checker(source, Path(base_dir))
    if not isinstance(data, Mapping):
        raise ck.fail("(top level)", f"a brief must be a mapping with a 'scenes' list, got {type(data).__name__}")
    ck.mapping(data, "", _TOP_KEYS)
    defaults = ck.mapping(data.get("defaults", {}) or {}, "defaults", _DEFAULT_KEYS)
    scenes_raw = data.get("scenes")
    if scenes_raw is None:
        raise ck.fail("scenes", "is missing: a brief needs at least one scene")
    if not isinstance(scenes_raw, (list, tuple)) or not scenes_raw:
        raise ck.fail("scenes", "must be a non-empty list of scenes")
    seen: set[str] = set()
    scenes = tuple(_parse_scene(ck, s, f"scenes[{i}]", defaults, seen, i) for i, s in enumerate(scenes_raw))
    name = data.get("name")
    if name is None:
        name = Path(source).stem if source else "brief"
    name = ck.text(name, "name")
    review = data.get("review", "none")
    if review is None or review is False:
        review = "none"
    if review not in REVIEW_MODES:
        raise ck.fail("review", f"must be one of {', '.join(REVIEW_MODES)}, got {review!r}")
    digest = sha256_bytes(repr(_canonical(data)).encode())
    return Brief(name, scenes, source or "<dict>", digest, review)


def _canonical(value: Any) -> Any:
    if isinstance(value, Mapping):
        return tuple(sorted((str(k), _canonical(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_canonical(v) for v in value)
    return value


def load_brief(path: str | Path) -> Brief:
    """Read and validate a YAML brief (references and plates relative to its folder).

    Raises
    ------
    InputError
        The file is missing or not valid YAML.
    BriefError
        A field is wrong; the message names the file and the field path.
    """
    from ..documents import load_document

    p = Path(path)
    # bounded read (regular files only, size cap), safe YAML with nesting and alias limits
    data, raw = load_document(p, "brief", fmt="yaml")
    brief = parse_brief(data, p.parent, source=str(p))
    return Brief(brief.name, brief.scenes, str(p), sha256_bytes(raw), brief.review)
