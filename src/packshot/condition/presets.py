"""Scene presets: studio, style and seasonal looks with the ranges that variants draw from.

A preset is a named starting point for a scene. It fixes the look (wall and floor colours,
surface texture, podium or plinth, floor gloss, key light) and, for each of those, the range
inside which variants may move, so two variants of one scene read as one shoot.

Colours here are **sRGB** triples in [0, 1] (what a designer picks); the renderer converts them
to linear light through :mod:`packshot.imaging`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from ..types import Light

TEXTURES = ("none", "marble", "wood", "terrazzo", "concrete", "linen", "paper", "stone")
"""Procedural surface textures the studio renderer draws from noise."""

PODIUMS = ("none", "cylinder", "box", "arch")
"""Podium and plinth primitives: a cylinder or box the product stands on, or an arch panel behind it."""

VIEWS = ("front", "top-down")
"""Camera views: "front" (a sweep, table or podium seen from the front, a horizon) and
"top-down" (a flat-lay: the camera looks straight down on a surface that fills the frame)."""

RGB = tuple[float, float, float]


@dataclass(frozen=True)
class Preset:
    """One named look and the ranges variants draw from.

    Attributes
    ----------
    name : str
        The name used in briefs ("studio-white").
    description : str
        One line for ``packshot`` help and the contact sheet.
    wall : tuple of sRGB triples
        Wall (back of the sweep) colours; variant ``i`` starts from ``wall[i % len(wall)]``.
    floor : tuple of sRGB triples
        Floor colours, paired with ``wall`` by index.
    wall_texture, floor_texture : str
        One of :data:`TEXTURES`.
    texture_strength : float
        0..1, how strongly the texture modulates the surface colour.
    texture_tint : sRGB triple
        Colour of the texture's veins, grain or chips.
    podium : str
        One of :data:`PODIUMS`.
    podium_colors : tuple of sRGB triples
        Podium colours; variant ``i`` uses ``podium_colors[i % len]``.
    podium_texture : str
        Texture of the podium surface.
    floor_gloss : float
        0 matte .. 1 mirror-like.
    light : Light
        Nominal key light.
    azimuth_range, elevation_range : float
        Half-widths (degrees) within which variants move the key light.
    kelvin_range : float
        Half-width (K) within which variants move the colour temperature.
    lightness_range : float
        Relative half-width within which variants move the backdrop lightness.
    base_y : float
        Default height of the product's base line as a share of the canvas height.
    scale : float
        Default share of the canvas the product's box fills along its limiting side.
    sweep_falloff : float
        0..1, how much darker the sweep gets away from the light's hot spot.
    view : str
        One of :data:`VIEWS`. A "top-down" preset is a flat-lay: ``floor`` is the surface that
        fills the frame (no wall, horizon or podium), the product lies centred on it and relight
        casts an offset soft shadow (light from one side above) and no reflection.
    """

    name: str
    description: str
    wall: tuple[RGB, ...]
    floor: tuple[RGB, ...]
    wall_texture: str = "none"
    floor_texture: str = "none"
    texture_strength: float = 0.0
    texture_tint: RGB = (0.5, 0.5, 0.5)
    podium: str = "none"
    podium_colors: tuple[RGB, ...] = ((0.9, 0.9, 0.9),)
    podium_texture: str = "none"
    floor_gloss: float = 0.0
    light: Light = field(default_factory=Light)
    azimuth_range: float = 20.0
    elevation_range: float = 8.0
    kelvin_range: float = 300.0
    lightness_range: float = 0.04
    base_y: float = 0.84
    scale: float = 0.62
    sweep_falloff: float = 0.35
    view: str = "front"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description (for provenance)."""
        from dataclasses import asdict

        d = asdict(self)
        d["light"] = asdict(self.light)
        return d


def _hex(code: str) -> RGB:
    code = code.lstrip("#")
    return tuple(int(code[i : i + 2], 16) / 255.0 for i in (0, 2, 4))  # type: ignore[return-value]


PRESETS: Mapping[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "studio-white", "Seamless white sweep, soft key from the front left: the catalogue hero.",
            wall=(_hex("f4f4f2"), _hex("f7f6f3")), floor=(_hex("fafaf9"), _hex("fbfaf8")),
            floor_gloss=0.12, light=Light(azimuth=130, elevation=50, softness=0.75, kelvin=5600),
            sweep_falloff=0.22, lightness_range=0.02,
        ),
        Preset(
            "studio-grey", "Mid-grey sweep with a glossy acrylic floor and a crisper key.",
            wall=(_hex("9c9fa3"), _hex("a7a6a2")), floor=(_hex("b4b6b9"), _hex("bdbbb7")),
            floor_gloss=0.45, light=Light(azimuth=125, elevation=45, softness=0.55, kelvin=5600),
            sweep_falloff=0.45,
        ),
        Preset(
            "pastel-podium", "Pastel sweep with a cylinder podium in a paired pastel.",
            wall=(_hex("f3d9dc"), _hex("d6ebe3"), _hex("e1dcf0"), _hex("f6e7cf")),
            floor=(_hex("f6e1e3"), _hex("e0f0ea"), _hex("e9e4f5"), _hex("f8ecd9")),
            podium="cylinder",
            podium_colors=(_hex("eab8bf"), _hex("b9dccd"), _hex("c9bfe6"), _hex("efd3a8")),
            floor_gloss=0.0, light=Light(azimuth=135, elevation=50, softness=0.7, kelvin=5400),
            base_y=0.66, scale=0.48, sweep_falloff=0.3,
        ),
        Preset(
            "marble", "White Carrara marble counter, soft window light, light reflection.",
            wall=(_hex("e9e6e1"), _hex("e2e1de")), floor=(_hex("f1efec"), _hex("ecebe8")),
            floor_texture="marble", texture_strength=0.55, texture_tint=_hex("8d8f95"),
            floor_gloss=0.35, light=Light(azimuth=150, elevation=40, softness=0.7, kelvin=5800),
            base_y=0.80, sweep_falloff=0.3,
        ),
        Preset(
            "wood", "Warm oak table top against an off-white wall.",
            wall=(_hex("efe8df"), _hex("e8e3da")), floor=(_hex("b88a5a"), _hex("a97c4f")),
            floor_texture="wood", texture_strength=0.6, texture_tint=_hex("6b4528"),
            floor_gloss=0.12, light=Light(azimuth=140, elevation=35, softness=0.6, kelvin=4600),
            base_y=0.80, sweep_falloff=0.35,
        ),
        Preset(
            "concrete", "Raw concrete floor and wall with a concrete box plinth.",
            wall=(_hex("b5b3ae"), _hex("a9a8a5")), floor=(_hex("a6a49f"), _hex("9d9c98")),
            wall_texture="concrete", floor_texture="concrete", texture_strength=0.45,
            texture_tint=_hex("6e6c68"), podium="box", podium_colors=(_hex("c2c0bb"), _hex("b8b6b1")),
            podium_texture="concrete",
            floor_gloss=0.05, light=Light(azimuth=35, elevation=45, softness=0.35, kelvin=5200),
            base_y=0.68, scale=0.5, sweep_falloff=0.5,
        ),
        Preset(
            "terrazzo", "Terrazzo plinth on a warm plaster sweep.",
            wall=(_hex("eadfd3"),), floor=(_hex("efe6dc"),),
            podium="box", podium_colors=(_hex("f0ebe4"),), podium_texture="terrazzo",
            texture_strength=0.7, texture_tint=_hex("b0644a"),
            floor_gloss=0.0, light=Light(azimuth=135, elevation=45, softness=0.6, kelvin=5000),
            base_y=0.68, scale=0.5,
        ),
        Preset(
            "summer", "Bright sand and sunshine yellow, hard sun, coral podium.",
            wall=(_hex("fbe3a6"), _hex("ffd9b0")), floor=(_hex("f3dcb8"), _hex("f6e2c2")),
            podium="cylinder", podium_colors=(_hex("f49f85"), _hex("f7c26b")),
            floor_gloss=0.0, light=Light(azimuth=40, elevation=60, softness=0.2, kelvin=5200),
            base_y=0.66, scale=0.52, sweep_falloff=0.3, azimuth_range=25,
        ),
        Preset(
            "winter", "Cool blue-white sweep, icy gloss, a pale arch behind the product.",
            wall=(_hex("dfe9f2"), _hex("e6ecf4")), floor=(_hex("eef3f8"), _hex("f2f5f9")),
            podium="arch", podium_colors=(_hex("c9d9ea"), _hex("d3dcec")),
            floor_gloss=0.4, light=Light(azimuth=120, elevation=40, softness=0.8, kelvin=7500),
            sweep_falloff=0.35, kelvin_range=500,
        ),
        Preset(
            "festive", "Deep red sweep, warm tungsten key, gold podium, glossy floor.",
            wall=(_hex("7a1620"), _hex("1f4a34")), floor=(_hex("8c1d27"), _hex("24573d")),
            podium="cylinder", podium_colors=(_hex("d8b55e"), _hex("cfae62")),
            floor_gloss=0.5, light=Light(azimuth=135, elevation=45, softness=0.5, kelvin=3400),
            base_y=0.66, scale=0.46, sweep_falloff=0.6,
        ),
        Preset(
            "back-to-school", "Kraft-paper linen desk against a school-bus yellow wall, box plinth.",
            wall=(_hex("f5c542"), _hex("8fc1e3")), floor=(_hex("d8c4a0"), _hex("d2bf9c")),
            floor_texture="linen", texture_strength=0.45, texture_tint=_hex("9d8763"),
            podium="box", podium_colors=(_hex("e94f37"), _hex("3a7bd5")),
            floor_gloss=0.0, light=Light(azimuth=45, elevation=50, softness=0.45, kelvin=5400),
            base_y=0.7, scale=0.5,
        ),
        # ---- flat-lays: the camera looks straight down; the light comes from the top left above
        Preset(
            "flatlay-white", "Top-down on pure white, a soft shadow offset from a key above the top left.",
            wall=(_hex("ffffff"),), floor=(_hex("ffffff"),),
            floor_gloss=0.0, light=Light(azimuth=225, elevation=55, softness=0.75, kelvin=5600),
            azimuth_range=15, lightness_range=0.0, kelvin_range=0.0, sweep_falloff=0.0, scale=0.62,
            view="top-down",
        ),
        Preset(
            "flatlay-linen", "Top-down on natural linen, window light from the top left.",
            wall=(_hex("e6ddcd"), _hex("dcd6cb")), floor=(_hex("e6ddcd"), _hex("dcd6cb")),
            floor_texture="linen", texture_strength=0.32, texture_tint=_hex("a8977b"),
            floor_gloss=0.0, light=Light(azimuth=220, elevation=50, softness=0.7, kelvin=5200),
            sweep_falloff=0.18, scale=0.58, view="top-down",
        ),
        Preset(
            "flatlay-paper", "Top-down on matte paper (warm white, then pastels), soft key from the top left.",
            wall=(_hex("f3efe8"), _hex("f3dcdc"), _hex("d9e9e1"), _hex("e3def0")),
            floor=(_hex("f3efe8"), _hex("f3dcdc"), _hex("d9e9e1"), _hex("e3def0")),
            floor_texture="paper", texture_strength=0.18, texture_tint=_hex("b9b2a6"),
            floor_gloss=0.0, light=Light(azimuth=225, elevation=55, softness=0.75, kelvin=5500),
            sweep_falloff=0.15, scale=0.58, view="top-down",
        ),
        Preset(
            "flatlay-wood", "Top-down on an oak table top, warm light from the top left.",
            wall=(_hex("c39a6b"), _hex("b48b5e")), floor=(_hex("c39a6b"), _hex("b48b5e")),
            # seen from above the grain runs right up to the product's outline: at the standing wood's
            # strength (0.55) its dark lines next to the edge read as growth in qa.silhouette (up to
            # 1.5 px on untouched generated flat-lays); at 0.3 the oak still shows its grain
            floor_texture="wood", texture_strength=0.3, texture_tint=_hex("6b4528"),
            floor_gloss=0.0, light=Light(azimuth=215, elevation=45, softness=0.6, kelvin=4700),
            sweep_falloff=0.22, scale=0.58, view="top-down",
        ),
        Preset(
            "flatlay-stone", "Top-down on honed pale limestone, cool soft light from the top left.",
            wall=(_hex("dcd8d0"), _hex("cfccc6")), floor=(_hex("dcd8d0"), _hex("cfccc6")),
            floor_texture="stone", texture_strength=0.4, texture_tint=_hex("8c8880"),
            floor_gloss=0.0, light=Light(azimuth=230, elevation=50, softness=0.65, kelvin=5800),
            sweep_falloff=0.2, scale=0.58, view="top-down",
        ),
    )
}

FLATLAY_COUNTERPART: Mapping[str, str] = {
    "studio-white": "flatlay-white",     # the catalogue hero stays pure white (Amazon's main image)
    "studio-grey": "flatlay-paper",
    "pastel-podium": "flatlay-paper",
    "winter": "flatlay-paper",
    "marble": "flatlay-stone",
    "concrete": "flatlay-stone",
    "terrazzo": "flatlay-stone",
    "wood": "flatlay-wood",
    "festive": "flatlay-wood",
    "summer": "flatlay-linen",
    "back-to-school": "flatlay-linen",
}
"""The flat-lay scene a standing scene becomes for a product photographed from above (a flat-lay,
:func:`packshot.render.pose.classify_view`) when the brief leaves ``pose: auto``: the same mood
seen from above (white stays white, stone-like surfaces become stone, wood stays wood, soft
colours become paper, sand and fabric become linen)."""


def flatlay_counterpart(name: str) -> str:
    """The flat-lay preset for ``name`` (a flat-lay preset is its own counterpart)."""
    preset = get_preset(name)
    if preset.view == "top-down":
        return preset.name
    return FLATLAY_COUNTERPART[preset.name]


def get_preset(name: str) -> Preset:
    """The preset called ``name``; a ValueError listing the known names otherwise."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset '{name}'; choose one of: {', '.join(PRESETS)}") from None
