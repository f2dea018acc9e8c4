"""condition stage: a brief + the product's cut-out and maps -> one SceneSpec per frame to build.

For each scene of the brief, each variant and each size, :func:`condition` resolves the look
(preset, then reference images, then the brief's explicit overrides), the key light, the floor
and the product's placement transform. Variant 0 is the preset as designed; variants 1.. move
colour, light and placement within the preset's ranges, drawn from a generator seeded by
(brief seed, scene name, variant) so every size of one variant shares one look.

Variant names (the file names of frames): ``v0``, ``v1``, ... and, when a scene asks for more
than one size, ``v0_1080x1350``, ``v0_1024x1024``, ... (see :func:`variant_name`).

Examples
--------
>>> from packshot.condition import parse_brief, variant_name
>>> brief = parse_brief({"scenes": [{"preset": "marble", "variants": 2, "sizes": ["1:1", "4:5"]}]})
>>> scene = brief.scenes[0]
>>> scene.name, scene.sizes
('scene0', ((1024, 1024), (819, 1024)))
>>> [variant_name(v, size, len(scene.sizes) > 1) for v in range(scene.variants) for size in scene.sizes]
['v0_1024x1024', 'v0_819x1024', 'v1_1024x1024', 'v1_819x1024']

With a cut-out and its maps, ``condition(brief, cutout, maps, sku="bottle-001")`` returns one
:class:`~packshot.types.SceneSpec` per frame, named as above in ``provenance["variant_name"]``.
"""

from __future__ import annotations

import dataclasses
import zlib
from typing import Any

import numpy as np

from ..errors import EmptyProductError
from ..imaging import srgb_to_linear
from ..provenance import record, sha256_array
from ..types import Cutout, Light, Placement, ProductMaps, SceneSpec, alpha_bbox
from .brief import Brief, BriefError, SceneBrief, load_brief, parse_brief
from .presets import FLATLAY_COUNTERPART, PRESETS, Preset, flatlay_counterpart, get_preset
from .reference import ReferenceLook, analyse_reference, estimate_floor_line, kelvin_to_rgb

__all__ = [
    "condition", "condition_scene", "load_brief", "parse_brief", "Brief", "BriefError", "SceneBrief",
    "PRESETS", "Preset", "get_preset", "ReferenceLook", "analyse_reference", "kelvin_to_rgb",
    "variant_name", "placement_for", "scene_preset", "FLATLAY_COUNTERPART",
]

_ANCHOR_X = {"center": 0.5, "left": 0.3, "right": 0.7, "left-third": 1 / 3, "right-third": 2 / 3}
MARGIN = 0.03
"""Smallest gap between the product's box and the canvas edge, as a share of the canvas side."""


def variant_name(variant: int, size: tuple[int, int], several_sizes: bool) -> str:
    """File-name stem of a frame: ``v{variant}``, plus ``_{w}x{h}`` when a scene has several sizes."""
    return f"v{variant}_{size[0]}x{size[1]}" if several_sizes else f"v{variant}"


def _rng(seed: int, scene: str, variant: int) -> np.random.Generator:
    # crc32 of the scene name: stable across processes (unlike hash())
    return np.random.default_rng([int(seed), zlib.crc32(scene.encode("utf-8")), int(variant)])


def placement_for(
    source_box: tuple[int, int, int, int],
    canvas: tuple[int, int],
    base: tuple[float, float],
    scale_share: float,
    rotation: float = 0.0,
) -> Placement:
    """Placement that stands the product's box with its base centre on ``base``.

    Parameters
    ----------
    source_box : (x0, y0, x1, y1)
        The product's box in the cut-out.
    canvas : (width, height)
    base : (x, y)
        Where the bottom centre of the (rotated) product box goes, in canvas pixels.
    scale_share : float
        Share of the canvas the box fills along its limiting side (0..1).
    rotation : float
        Degrees counter-clockwise.

    The scale is reduced, and the box shifted, so the whole product stays inside the canvas
    with a :data:`MARGIN` on every side.
    """
    x0, y0, x1, y1 = source_box
    bw, bh = max(x1 - x0, 1), max(y1 - y0, 1)
    W, H = canvas
    th = np.radians(rotation)
    # size of the rotated box per unit scale
    rw = abs(np.cos(th)) * bw + abs(np.sin(th)) * bh
    rh = abs(np.sin(th)) * bw + abs(np.cos(th)) * bh
    s = scale_share * min(W / rw, H / rh)
    s = min(s, (1 - 2 * MARGIN) * W / rw, (1 - 2 * MARGIN) * H / rh)
    half_w, half_h = rw * s / 2, rh * s / 2
    cx = float(np.clip(base[0], MARGIN * W + half_w, W - MARGIN * W - half_w))
    cy = float(np.clip(base[1] - half_h, MARGIN * H + half_h, H - MARGIN * H - half_h))
    return Placement(center=(cx, cy), scale=float(s), rotation=float(rotation))


def _look_from_references(looks: list[ReferenceLook]) -> dict[str, Any]:
    """Wall, floor and accent colours (sRGB) and light from reference images."""
    from ..imaging import linear_to_srgb

    palette = sorted((p for look in looks for p in look.palette), key=lambda p: -p.share)
    out: dict[str, Any] = {}
    if palette:
        # The most common light colour is the backdrop; the most common other one the accent.
        light = [p for p in palette if p.lab[0] >= 45] or palette
        wall = light[0]
        out["wall"] = tuple(float(v) for v in linear_to_srgb(np.array(wall.rgb, np.float32)))
        floor_lin = np.clip(np.array(wall.rgb, np.float32) * 1.08, 0, 1)
        out["floor"] = tuple(float(v) for v in linear_to_srgb(floor_lin))
        others = [p for p in palette if abs(p.lab[0] - wall.lab[0]) + abs(p.lab[1] - wall.lab[1])
                  + abs(p.lab[2] - wall.lab[2]) > 15]
        if others:
            out["podium_color"] = tuple(float(v) for v in linear_to_srgb(np.array(others[0].rgb, np.float32)))
    confident = [look for look in looks if look.light_confidence >= 0.2]
    if confident:
        best = max(confident, key=lambda lk: lk.light_confidence)
        out["azimuth"], out["elevation"] = best.azimuth, best.elevation
    if looks:
        out["kelvin"] = float(np.median([look.kelvin for look in looks]))
    return out


def _jitter(rng: np.random.Generator, half_width: float, active: bool) -> float:
    return float(rng.uniform(-half_width, half_width)) if active else 0.0


FLOOR_LINE_OFFSET = 0.06
"""The product stands this share of the plate's height below its strongest long edge."""
FLOOR_LINE_MAX = 0.95
"""An estimated floor line is never lower than this share of the plate's height."""
PLATE_HORIZON_DEPTH = 0.35
"""Without a horizon in the brief, the plate's horizon is this share of its height above the floor line."""
PODIUM_WIDTH = 1.45
"""Podium width as a multiple of the product's width (variant 0)."""
PODIUM_WIDTH_JITTER = 0.12
"""Half-range of the variants' podium width change."""
SCALE_JITTER = 0.04
"""Half-range of the variants' relative product scale change."""
ANCHOR_JITTER = 0.02
"""Half-range of the variants' horizontal anchor change, as a share of the canvas width."""
MIN_SCALE_SHARE = 0.05
"""Smallest share of the canvas the product may fill."""
ELEVATION_RANGE = (5.0, 90.0)
"""Key light elevation limits, degrees."""
KELVIN_RANGE = (1800.0, 12000.0)
"""Key light colour temperature limits, kelvin."""
MIN_PERSPECTIVE_DEPTH = 0.05
"""Smallest floor depth below the horizon (share of the height) the perspective scale divides by."""


def _plate_geometry(scene: SceneBrief) -> tuple[float | None, float | None, str | None, dict[str, Any]]:
    """A plate's floor line, horizon (shares of its height), where the floor line came from, and
    its light (empty without a plate)."""
    if scene.plate is None:
        return None, None, None, {}
    if scene.plate_floor_line is not None:
        floor_line, floor_line_source = scene.plate_floor_line, "brief"
    else:
        edge, strength = estimate_floor_line(scene.plate.rgb)
        # The strongest long edge is most often where the surface meets the wall behind it;
        # the product stands a little in front of (below) that line.
        floor_line, floor_line_source = min(edge + FLOOR_LINE_OFFSET, FLOOR_LINE_MAX), \
            f"estimated (edge {edge:.3f}, strength {strength:.2f})"
    horizon = scene.plate_horizon if scene.plate_horizon is not None \
        else max(floor_line - PLATE_HORIZON_DEPTH, 0.0)
    look = analyse_reference(scene.plate.rgb)
    plate_look = {"azimuth": look.azimuth, "elevation": look.elevation, "kelvin": look.kelvin,
                  "light_confidence": look.light_confidence}
    return floor_line, horizon, floor_line_source, plate_look


def _variant_backdrop(scene: SceneBrief, preset: Preset, ref_look: dict[str, Any], variant: int,
                      rng: np.random.Generator) -> dict[str, Any]:
    """The look of one variant: preset -> references -> brief overrides (draws from ``rng``)."""
    vary = variant > 0
    pick = variant % len(preset.wall)
    lightness = 1.0 + _jitter(rng, preset.lightness_range, vary)
    wall = ref_look.get("wall", preset.wall[pick])
    floor = ref_look.get("floor", preset.floor[pick % len(preset.floor)])
    podium_color = ref_look.get("podium_color", preset.podium_colors[variant % len(preset.podium_colors)])
    wall = tuple(float(np.clip(c * lightness, 0, 1)) for c in scene.backdrop.get("wall", wall))
    floor = tuple(float(np.clip(c * lightness, 0, 1)) for c in scene.backdrop.get("floor", floor))
    podium_color = tuple(float(c) for c in scene.backdrop.get("podium_color", podium_color))
    return {
        "wall": wall, "floor": floor, "podium_color": podium_color,
        "wall_texture": scene.backdrop.get("wall_texture", preset.wall_texture),
        "floor_texture": scene.backdrop.get("floor_texture", preset.floor_texture),
        "podium": scene.backdrop.get("podium", preset.podium),
        "podium_texture": scene.backdrop.get("podium_texture", preset.podium_texture),
        "texture_strength": float(scene.backdrop.get("texture_strength", preset.texture_strength)),
        "texture_tint": tuple(scene.backdrop.get("texture_tint", preset.texture_tint)),
        "sweep_falloff": float(scene.backdrop.get("sweep_falloff", preset.sweep_falloff)),
        "texture_seed": int(rng.integers(0, 2**31 - 1)),
        "podium_width": float(PODIUM_WIDTH + _jitter(rng, PODIUM_WIDTH_JITTER, vary)),
    }


def _variant_light(scene: SceneBrief, preset: Preset, ref_look: dict[str, Any], plate_look: dict[str, Any],
                   rng: np.random.Generator, vary: bool) -> Light:
    """The key light of one variant: preset (+ variant jitter) -> references / plate -> brief."""
    nominal = preset.light
    azimuth = plate_look.get("azimuth", ref_look.get("azimuth", nominal.azimuth))
    elevation = plate_look.get("elevation", ref_look.get("elevation", nominal.elevation))
    kelvin = plate_look.get("kelvin", ref_look.get("kelvin", nominal.kelvin))
    azimuth += _jitter(rng, preset.azimuth_range, vary)
    elevation += _jitter(rng, preset.elevation_range, vary)
    kelvin += _jitter(rng, preset.kelvin_range, vary)
    li = scene.lighting
    return Light(
        azimuth=float((li.azimuth if li.azimuth is not None else azimuth) % 360.0),
        elevation=float(np.clip(li.elevation if li.elevation is not None else elevation, *ELEVATION_RANGE)),
        softness=float(li.softness if li.softness is not None else nominal.softness),
        kelvin=float(np.clip(li.kelvin if li.kelvin is not None else kelvin, *KELVIN_RANGE)),
        intensity=float(li.intensity if li.intensity is not None else nominal.intensity),
    )


def _base_line(placement: Placement, source_box: tuple[int, int, int, int]) -> float:
    """The product's base line in the canvas: the lowest corner of its placed box."""
    m = placement.matrix(source_box)
    x0, y0, x1, y1 = source_box
    corners = m @ np.array([[x0, x1, x0, x1], [y0, y0, y1, y1], [1, 1, 1, 1]], np.float64)
    return float(corners[1].max())


def _condition_record(scene: SceneBrief, maps: ProductMaps | None, params: dict[str, Any], name: str,
                      brief_name: str, brief_sha256: str, cutout_sha256: str) -> dict[str, Any]:
    """The ``condition`` provenance record of one frame."""
    return record(
        "condition", "presets",
        params=params,
        inputs={"brief": brief_sha256, "cutout": cutout_sha256,
                **{f"reference[{i}]": r.sha256 for i, r in enumerate(scene.references)},
                **({"plate": scene.plate.sha256} if scene.plate is not None else {})},
        brief=brief_name, variant_name=name, seed=scene.seed, render_backend=scene.backend,
        **({"renderer": scene.renderer} if scene.renderer else {}),
        **({"diffusion": dict(scene.diffusion)} if scene.diffusion else {}),
        references=[dict(path=r.path, **r.look.to_dict()) for r in scene.references],
        product_palette=[list(p.rgb) for p in (maps.palette if maps is not None else ())],
        product_flags=[f.code for f in (maps.flags if maps is not None else ())],
    )


def scene_preset(scene: SceneBrief, cutout: Cutout) -> tuple[Preset, dict[str, Any] | None]:
    """The preset a scene is rendered in for this cut-out, and why (None: the scene's own preset
    for a product that is not a flat-lay).

    A cut-out classed flat-lay (photographed from above lying on a surface:
    ``provenance["params"]["pose"]["view"] == "top-down"``, see
    :func:`packshot.render.pose.classify_view`) is rendered in the scene's flat-lay counterpart
    (:data:`~packshot.condition.presets.FLATLAY_COUNTERPART`) unless the scene says ``pose: keep``
    or is painted on a plate (a photo has its own floor); then it is rendered as written (a box
    photographed face-up stands on its base, its front to the camera).
    """
    preset = get_preset(scene.preset)
    pose = dict(cutout.provenance.get("params", {}).get("pose") or {})
    if pose.get("view") != "top-down":
        return preset, None
    record = {"requested": preset.name, "product_pose": "flat-lay",
              "evidence": list((pose.get("flatlay") or {}).get("reasons", []))}
    if preset.view == "top-down":
        return preset, {**record, "rendered": preset.name, "reason": "the scene is a flat-lay already"}
    if scene.pose == "keep":
        return preset, {**record, "rendered": preset.name, "reason": "pose: keep (the brief renders the scene as "
                                                                      "written: the product stands)"}
    if scene.plate is not None:
        return preset, {**record, "rendered": preset.name, "reason": "a plate scene is kept (the photo sets the view)"}
    routed = get_preset(flatlay_counterpart(preset.name))
    return routed, {**record, "rendered": routed.name,
                    "reason": f"the product was photographed from above: {preset.name}'s flat-lay counterpart"}


FLATLAY_PROMPT = "top-down flat lay photograph, seen from directly above, the product lying on the surface"
"""What a top-down scene tells the diffusion renderer about its camera (the scene's own prompt
follows it): a flat-lay's product was photographed from above, and a painted scene must agree."""


def view_prompt(prompt: str, preset: Preset) -> str:
    """The renderer's prompt for a scene in ``preset``: a top-down (flat-lay) preset's prompt
    starts with :data:`FLATLAY_PROMPT` unless it already says "flat lay" or "top-down"; a front
    view's prompt is the scene's own.

    >>> view_prompt("on oak", get_preset("flatlay-wood"))
    'top-down flat lay photograph, seen from directly above, the product lying on the surface, on oak'
    >>> view_prompt("on oak", get_preset("wood"))
    'on oak'
    """
    if preset.view != "top-down":
        return prompt
    said = prompt.lower().replace("-", " ").replace("  ", " ")
    if "flat lay" in said or "flatlay" in said or "top down" in said:
        return prompt
    return f"{FLATLAY_PROMPT}, {prompt}" if prompt.strip() else FLATLAY_PROMPT


def condition_scene(scene: SceneBrief, cutout: Cutout, maps: ProductMaps | None, sku: str,
                    brief_name: str = "brief", brief_sha256: str = "", cutout_sha256: str = "") -> list[SceneSpec]:
    """SceneSpecs for one scene: every variant x size (variant-major order)."""
    if cutout.bbox is None:
        raise EmptyProductError("cutout", "the cut-out has no product pixels (alpha is empty)")
    preset, routing = scene_preset(scene, cutout)
    top_down = preset.view == "top-down"
    routed = routing is not None and routing["rendered"] != routing["requested"]
    ref_look = _look_from_references([r.look for r in scene.references])
    floor_line, horizon, floor_line_source, plate_look = _plate_geometry(scene)

    source_box = alpha_bbox(cutout.alpha)
    assert source_box is not None  # checked through cutout.bbox above
    several = len(scene.sizes) > 1
    specs: list[SceneSpec] = []
    for variant in range(scene.variants):
        rng = _rng(scene.seed, scene.name, variant)
        vary = variant > 0
        # a scene routed to its flat-lay counterpart takes none of the standing scene's backdrop overrides
        backdrop = _variant_backdrop(dataclasses.replace(scene, backdrop={}) if routed else scene, preset, ref_look,
                                     variant, rng)
        if top_down:
            backdrop.update(view="top-down", podium="none")
        wall, floor, podium_color = backdrop["wall"], backdrop["floor"], backdrop["podium_color"]
        if scene.plate is not None:
            backdrop.update(floor_line=floor_line, horizon=horizon, floor_line_source=floor_line_source,
                            plate=scene.plate.path, plate_sha256=scene.plate.sha256)
        light = _variant_light(scene, preset, ref_look, plate_look, rng, vary)
        gloss = float(scene.floor if scene.floor is not None else (0.0 if scene.plate is not None else preset.floor_gloss))
        if top_down:
            gloss = 0.0  # seen from above a surface shows no mirror image of the product

        # --- placement
        pl = scene.placement
        scale_share = pl.scale if pl.scale is not None else preset.scale
        scale_share = float(np.clip(scale_share * (1.0 + _jitter(rng, SCALE_JITTER, vary)), MIN_SCALE_SHARE, 1.0))
        if isinstance(pl.anchor, tuple):
            ax, ay = pl.anchor
        else:
            ax = _ANCHOR_X[pl.anchor]
            ay = floor_line if floor_line is not None else preset.base_y
        ax = float(ax + _jitter(rng, ANCHOR_JITTER, vary))
        palette = tuple(tuple(float(v) for v in srgb_to_linear(np.array(c, np.float32)))
                        for c in (wall, floor, podium_color))
        for size in scene.sizes:
            W, H = size
            share = scale_share
            if floor_line is not None and horizon is not None and isinstance(pl.anchor, tuple):
                # perspective: things nearer the camera (lower in the plate) look bigger
                share = scale_share * max(ay - horizon, MIN_PERSPECTIVE_DEPTH) \
                    / max(floor_line - horizon, MIN_PERSPECTIVE_DEPTH)
            placement = placement_for(source_box, (W, H), (ax * W, ay * H), min(share, 1.0), pl.rotation)
            if top_down and not isinstance(pl.anchor, tuple):
                # seen from above there is no floor line: the product lies centred (its box fits
                # inside the margins wherever placement_for put it, so centring keeps it inside)
                placement = dataclasses.replace(placement, center=(placement.center[0], H / 2.0))
            # the product's base line in this canvas (after any clamping into the frame)
            floor_y = _base_line(placement, source_box)
            name = variant_name(variant, size, several)
            params = {"preset": preset.name, "variant": variant, "size": [W, H], "light": light.__dict__,
                      "floor_gloss": gloss, "scale_share": share, "anchor": [ax, ay],
                      "rotation": pl.rotation, "backdrop": {k: v for k, v in backdrop.items()}}
            if routing is not None:
                params["pose_routing"] = routing
            prov = _condition_record(scene, maps, params, name, brief_name, brief_sha256, cutout_sha256)
            specs.append(SceneSpec(
                sku=sku, scene=scene.name, variant=variant, canvas=(W, H), placement=placement, light=light,
                preset=preset.name, backdrop=backdrop, floor_y=floor_y, floor_gloss=gloss, palette=palette,
                prompt=view_prompt(scene.prompt, preset), negative_prompt=scene.negative_prompt, seed=scene.seed,
                plate=scene.plate.rgb if scene.plate is not None else None,
                references=tuple(r.path for r in scene.references), provenance=prov,
            ))
    return specs


def cutout_hash(cutout: Cutout) -> str:
    """A hash identifying the cut-out's pixels (rgb and alpha)."""
    return sha256_array(np.concatenate([cutout.rgb.reshape(-1), cutout.alpha.reshape(-1)]))


def condition(brief: Brief, cutout: Cutout, maps: ProductMaps | None, sku: str) -> list[SceneSpec]:
    """Resolve a brief into one :class:`SceneSpec` per scene x variant x size.

    Parameters
    ----------
    brief : Brief
        From :func:`load_brief` or :func:`parse_brief` (references and plates already decoded).
    cutout : Cutout
        The locked product: its box sets the placement transform.
    maps : ProductMaps or None
        The product's maps (palette and risk flags are recorded in the provenance).
    sku : str
        The product's id, used in frame paths.

    Returns
    -------
    list of SceneSpec
        Scene-major, then variant, then size, in brief order.

    Raises
    ------
    EmptyProductError
        The cut-out has no product pixels.
    """
    from ..export import check_sku

    check_sku(sku, "sku")  # it names a folder: full match, no control characters (InputError, a ValueError)
    digest = cutout_hash(cutout)
    specs: list[SceneSpec] = []
    for scene in brief.scenes:
        specs.extend(condition_scene(scene, cutout, maps, sku, brief.name, brief.sha256, digest))
    return specs
