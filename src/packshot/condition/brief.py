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

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ..errors import InputError
from ..provenance import sha256_bytes
from ..schemas import Bad, ValidationError, check_integer, check_number, check_text, first_problem
from .brief_model import (ANCHORS, MAX_SIDE, MAX_VARIANTS, REVIEW_MODES, BriefModel, DefaultsModel,  # noqa: F401
                          MotionModel, SceneModel, check_color, check_size)
from .reference import ReferenceLook, analyse_reference

_TOP_KEYS = frozenset(BriefModel.model_fields)
_SCENE_KEYS = frozenset(SceneModel.model_fields)
_DEFAULT_KEYS = frozenset(DefaultsModel.model_fields)


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
    pose: str = "auto"
    """``auto``: a product photographed from above (class flat-lay) is rendered in this scene's
    flat-lay counterpart (:data:`packshot.condition.presets.FLATLAY_COUNTERPART`); ``keep``: as written."""

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
    """Raises :class:`BriefError` naming the file and the field path; the value checks are the
    brief model's (:mod:`packshot.condition.brief_model`), so both read the same."""

    def __init__(self, file: str | Path | None, base_dir: Path):
        self.file = file
        self.base_dir = base_dir

    def fail(self, path: str, problem: str) -> BriefError:
        return BriefError(self.file, path, problem)

    def _run(self, check: Any, path: str, *args: Any) -> Any:
        try:
            return check(*args)
        except Bad as bad:
            raise self.fail(path + bad.sub, bad.problem) from None

    def mapping(self, value: Any, path: str, allowed: set[str] | frozenset[str]) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(path, f"must be a mapping of keys to values, got {type(value).__name__}")
        for key in value:
            if key not in allowed:
                raise self.fail(f"{path}.{key}" if path else str(key),
                                f"unknown key; allowed keys are: {', '.join(sorted(allowed))}")
        return value

    def number(self, value: Any, path: str, lo: float | None = None, hi: float | None = None) -> float:
        return self._run(check_number, path, value, lo, hi)

    def integer(self, value: Any, path: str, lo: int, hi: int) -> int:
        return self._run(check_integer, path, value, lo, hi)

    def text(self, value: Any, path: str) -> str:
        return self._run(check_text, path, value)

    def color(self, value: Any, path: str) -> tuple[float, float, float]:
        """'#rrggbb' or [r, g, b] sRGB in 0..1."""
        return self._run(check_color, path, value)

    def size(self, value: Any, path: str, resolution: int) -> tuple[int, int]:
        """'WxH', [w, h] or an aspect ratio 'a:b' (long side = resolution)."""
        return self._run(check_size, path, value, resolution)

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


# ------------------------------------------------------------------------------------- building
def _plate_lines(ck: _Checker, scene: SceneModel, has_plate: bool, path: str
                 ) -> tuple[float | None, float | None]:
    """The scene's plate floor line and horizon, checked: only with a plate, the horizon above the line."""
    floor_line, horizon = scene.plate_floor_line, scene.plate_horizon
    if floor_line is not None and not has_plate:
        raise ck.fail(f"{path}.plate_floor_line", "only applies to a scene with a 'plate'")
    if horizon is not None and not has_plate:
        raise ck.fail(f"{path}.plate_horizon", "only applies to a scene with a 'plate'")
    if floor_line is not None and horizon is not None and horizon >= floor_line:
        raise ck.fail(f"{path}.plate_horizon", f"must be above the floor line ({horizon:g} >= {floor_line:g})")
    return floor_line, horizon


def _scene_diffusion(ck: _Checker, raw: Mapping[str, Any], raw_defaults: Mapping[str, Any], path: str
                     ) -> dict[str, Any]:
    """The scene's diffusion options: the defaults' block refined key by key by the scene's own."""
    from .render_options import parse_diffusion

    diffusion: dict[str, Any] = {}
    if "diffusion" in raw_defaults:
        diffusion.update(parse_diffusion(ck, raw_defaults["diffusion"], "defaults.diffusion"))
    if "diffusion" in raw:  # a scene's block refines the defaults key by key
        diffusion.update(parse_diffusion(ck, raw["diffusion"], f"{path}.diffusion"))
    return diffusion


def _parse_scene(ck: _Checker, scene: SceneModel, raw: Mapping[str, Any], path: str, defaults: DefaultsModel,
                 raw_defaults: Mapping[str, Any], seen: set[str], index: int) -> SceneBrief:
    """Build one :class:`SceneBrief` from its validated model, the scene's keys over the defaults'."""

    def given(key: str) -> bool:
        return key in scene.model_fields_set or key in defaults.model_fields_set

    def value(key: str, fallback: Any = None) -> Any:
        if key in scene.model_fields_set:
            return getattr(scene, key)
        if key in defaults.model_fields_set:
            return getattr(defaults, key)
        return fallback

    def where(key: str) -> str:
        # errors in a value inherited from defaults name the defaults entry
        return f"{path}.{key}" if key in raw else f"defaults.{key}"

    def raw_value(key: str) -> Any:
        return raw[key] if key in raw else raw_defaults[key]

    name = scene.name if scene.name is not None else f"scene{index}"
    if name in seen:
        raise ck.fail(f"{path}.name", f"scene name '{name}' is used twice")
    seen.add(name)

    plate = None
    if scene.plate is not None:
        plate = _load_plate(ck, ck.file_path(scene.plate, f"{path}.plate"), f"{path}.plate")
    preset = value("preset", "studio-white")

    backdrop: dict[str, Any] = {}
    if given("backdrop"):
        model = value("backdrop")
        # in the brief's own key order (it reaches provenance)
        backdrop = {key: getattr(model, key) for key in raw_value("backdrop")}

    prompt = value("prompt", "")
    negative = value("negative_prompt", "")

    refs: list[ReferenceImage] = []
    if given("references"):
        rp = where("references")
        for i, item in enumerate(value("references")):
            refs.append(_load_reference(ck, ck.file_path(item, f"{rp}[{i}]"), f"{rp}[{i}]"))

    placement = PlacementBrief()
    if given("placement"):
        pl = value("placement")
        placement = PlacementBrief(pl.anchor, pl.scale, pl.rotation)

    lighting = LightingBrief()
    if given("lighting"):
        li = value("lighting")
        lighting = LightingBrief(
            azimuth=li.azimuth % 360.0 if li.azimuth is not None else None,
            elevation=li.elevation, softness=li.softness, kelvin=li.kelvin, intensity=li.intensity)

    floor = value("floor")
    resolution = value("resolution", 1024)
    sizes_raw = value("sizes", ("1024x1024",) if not given("resolution") else (f"{resolution}x{resolution}",))
    sizes = tuple(ck.size(s, f"{where('sizes')}[{i}]", resolution) for i, s in enumerate(sizes_raw))
    if len(set(sizes)) != len(sizes):
        raise ck.fail(where("sizes"), f"the same size is listed twice: {sizes}")
    variants = value("variants", 1)
    seed = value("seed", 0)

    floor_line, horizon = _plate_lines(ck, scene, plate is not None, path)
    renderer = value("renderer")
    if renderer is not None and plate is not None and renderer != "plate":
        raise ck.fail(where("renderer"), f"a scene with a 'plate' is painted by the plate renderer, not '{renderer}'")
    diffusion = _scene_diffusion(ck, raw, raw_defaults, path)
    if renderer == "diffusion" and "model" not in diffusion:
        raise ck.fail(where("diffusion"), "renderer 'diffusion' needs diffusion.model (a hub id or a local folder)")

    motion = _parse_motion(ck, raw["motion"], f"{path}.motion", resolution) if "motion" in raw else None
    return SceneBrief(name, preset, backdrop, prompt, negative, tuple(refs), placement, lighting, floor, sizes,
                      variants, seed, plate, floor_line, horizon, motion, renderer, diffusion, pose=value("pose", "auto"))


_MOTION_KEYS = frozenset(MotionModel.model_fields)


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

    Examples
    --------
    >>> brief = parse_brief({"defaults": {"variants": 2}, "scenes": [{"name": "hero", "floor": 0.3},
    ...                                                              {"name": "mood", "preset": "marble"}]})
    >>> [(s.name, s.preset, s.variants, s.floor) for s in brief.scenes]
    [('hero', 'studio-white', 2, 0.3), ('mood', 'marble', 2, None)]
    >>> parse_brief({"scenes": [{"name": "hero"}, {"lighting": {"azimuth": "left"}}]}, source="brief.yaml")
    Traceback (most recent call last):
    packshot.condition.brief.BriefError: brief.yaml: scenes[1].lighting.azimuth: must be a number, got 'left'
    """
    ck = _Checker(source, Path(base_dir))
    if not isinstance(data, Mapping):
        raise ck.fail("(top level)", f"a brief must be a mapping with a 'scenes' list, got {type(data).__name__}")
    try:
        model = BriefModel.model_validate(data)
    except ValidationError as exc:
        raise ck.fail(*first_problem(exc, BriefModel)) from None
    defaults = model.defaults if model.defaults is not None else DefaultsModel()
    raw_defaults = data.get("defaults") or {}
    seen: set[str] = set()
    scenes = tuple(_parse_scene(ck, scene, data["scenes"][i], f"scenes[{i}]", defaults, raw_defaults, seen, i)
                   for i, scene in enumerate(model.scenes))
    name = model.name
    if name is None:
        name = Path(source).stem if source else "brief"
    digest = sha256_bytes(repr(_canonical(data)).encode())
    return Brief(name, scenes, source or "<dict>", digest, model.review)


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
