"""What a clip does over time: the motion a brief asks for and the per-frame path planned from it.

Pure maths, no I/O and no codec: the brief validates a :class:`MotionSpec`, :func:`plan_motion`
turns it into one :class:`FramePlan` per frame (camera zoom, parallax shift, key light, product
opacity and settle offset). The renderer follows the plan and the temporal check measures the
clip against the same plan, so "the product is where it was planned to be" is a real check.

Kinds (several combine):

``push-in``
    slow dolly toward the product: the camera zooms about the product's centre.
``parallax``
    2.5D: the camera slides sideways; the wall, the floor (row by row, nearer rows faster) and the
    product move at rates from their depth, so the product (nearest) moves most.
``light-sweep``
    the key light travels across the front of the product (azimuth swings, elevation holds);
    shading, highlights and shadows follow it through the relight stage.
``orbit-light``
    the key light circles the product once (a full turn of azimuth).
``reveal``
    the product fades in and settles onto the floor with its contact shadow.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..types import Light

MOTION_KINDS = ("push-in", "parallax", "light-sweep", "orbit-light", "reveal")
"""The motions a clip may combine."""
EASINGS = ("linear", "ease-in", "ease-out", "ease-in-out")
"""Timing curves of the motion."""
MAX_SECONDS = 60.0
"""Longest clip a brief may ask for."""
MAX_FRAMES = 3600
"""Most frames a clip may have (60 s at 60 fps)."""
MAX_FPS = 60
"""Highest frame rate."""


@dataclass(frozen=True)
class MotionSpec:
    """A clip asked for by a scene of the brief (validated by :mod:`packshot.condition.brief`)."""

    kinds: tuple[str, ...] = ("push-in",)
    """Names from :data:`MOTION_KINDS`; several combine."""
    seconds: float = 6.0
    """Duration in seconds."""
    fps: int = 30
    """Frames per second."""
    size: tuple[int, int] | None = None
    """(width, height) of the clip; even numbers (yuv420p). None: the scene's first size."""
    easing: str = "ease-in-out"
    """Timing curve, one of :data:`EASINGS`."""
    seed: int = 0
    """Seed of anything random in the clip (recorded; the built-in motions are deterministic)."""
    zoom: float = 1.12
    """push-in: zoom at the end of the clip (1 = none)."""
    parallax: float = 0.035
    """parallax: the product's sideways travel, as a share of the frame width."""
    sweep_degrees: float = 100.0
    """light-sweep: how far the key light's azimuth travels (degrees, centred on the scene's light)."""

    @property
    def frame_count(self) -> int:
        return int(round(self.seconds * self.fps))

    def to_dict(self) -> dict:
        return {"kinds": list(self.kinds), "seconds": self.seconds, "fps": self.fps,
                "size": list(self.size) if self.size else None, "easing": self.easing, "seed": self.seed,
                "zoom": self.zoom, "parallax": self.parallax, "sweep_degrees": self.sweep_degrees,
                "frames": self.frame_count}


def check_motion(spec: MotionSpec) -> MotionSpec:
    """Raise ``ValueError`` naming the field when a :class:`MotionSpec` cannot be rendered."""
    if not spec.kinds:
        raise ValueError("motion.kind: at least one kind is needed; choose from " + ", ".join(MOTION_KINDS))
    for k in spec.kinds:
        if k not in MOTION_KINDS:
            raise ValueError(f"motion.kind: unknown kind {k!r}; choose from {', '.join(MOTION_KINDS)}")
    if len(set(spec.kinds)) != len(spec.kinds):
        raise ValueError(f"motion.kind: a kind is listed twice: {list(spec.kinds)}")
    if "light-sweep" in spec.kinds and "orbit-light" in spec.kinds:
        raise ValueError("motion.kind: 'light-sweep' and 'orbit-light' both move the key light; choose one")
    if not (isinstance(spec.fps, int) and 1 <= spec.fps <= MAX_FPS):
        raise ValueError(f"motion.fps: must be a whole number between 1 and {MAX_FPS}, got {spec.fps!r}")
    if not (np.isfinite(spec.seconds) and spec.seconds > 0):
        raise ValueError(f"motion.seconds: must be more than 0, got {spec.seconds!r}")
    n = spec.frame_count
    if n < 2:
        raise ValueError(f"motion.seconds: {spec.seconds:g} s at {spec.fps} fps is {n} frame(s); a clip needs 2 or more")
    if n > MAX_FRAMES:
        raise ValueError(f"motion.seconds: {spec.seconds:g} s at {spec.fps} fps is {n} frames, more than {MAX_FRAMES}")
    if spec.seconds > MAX_SECONDS:
        raise ValueError(f"motion.seconds: at most {MAX_SECONDS:g} s, got {spec.seconds:g}")
    if spec.size is not None:
        w, h = spec.size
        if w % 2 or h % 2:
            raise ValueError(f"motion.size: yuv420p video needs even sides, got {w}x{h}")
        if min(w, h) < 64:
            raise ValueError(f"motion.size: each side must be at least 64 px, got {w}x{h}")
    if spec.easing not in EASINGS:
        raise ValueError(f"motion.easing: unknown easing {spec.easing!r}; choose from {', '.join(EASINGS)}")
    if not 1.0 <= spec.zoom <= 2.0:
        raise ValueError(f"motion.zoom: must be between 1 and 2, got {spec.zoom:g}")
    if not 0.0 <= spec.parallax <= 0.2:
        raise ValueError(f"motion.parallax: must be between 0 and 0.2, got {spec.parallax:g}")
    if not 0.0 <= spec.sweep_degrees <= 180.0:
        raise ValueError(f"motion.sweep_degrees: must be between 0 and 180, got {spec.sweep_degrees:g}")
    return spec


def ease(t: np.ndarray | float, easing: str) -> np.ndarray:
    """The timing curve at ``t`` in [0, 1] (0 -> 0, 1 -> 1)."""
    t = np.clip(np.asarray(t, np.float64), 0.0, 1.0)
    if easing == "linear":
        return t
    if easing == "ease-in":
        return t * t
    if easing == "ease-out":
        return 1.0 - (1.0 - t) ** 2
    if easing == "ease-in-out":
        return t * t * (3.0 - 2.0 * t)
    raise ValueError(f"unknown easing {easing!r}; choose from {', '.join(EASINGS)}")


@dataclass(frozen=True)
class FramePlan:
    """One frame of the plan.

    ``zoom`` is the camera's magnification about the product centre (1 = the still's framing);
    ``shift`` the product layer's sideways offset in output pixels (parallax; the floor and wall
    move by their own, smaller rates); ``light`` the key light; ``opacity`` the product's
    opacity (reveal) and ``drop`` how far above its resting place it is (output pixels).
    """

    index: int
    t: float
    zoom: float
    shift: float
    light: Light
    opacity: float
    drop: float


SETTLE_SHARE = 0.45
"""reveal: share of the clip in which the product fades and settles; it rests after that."""
DROP_SHARE = 0.04
"""reveal: how high above its resting place the product starts, as a share of the frame height."""
PARALLAX_OVERSCAN = 1.5
"""parallax: extra zoom per unit of travel share, so no layer moving up to 1.5 times the product's
travel (the floor nearest the camera) shows the background's edge."""


def plan_motion(motion: MotionSpec, light: Light, size: tuple[int, int]) -> list[FramePlan]:
    """One :class:`FramePlan` per frame for a clip of ``size`` (w, h) under the scene's key ``light``."""
    check_motion(motion)
    n = motion.frame_count
    w, h = size
    kinds = set(motion.kinds)
    plans = []
    for i in range(n):
        t = i / (n - 1)
        e = float(ease(t, motion.easing))
        zoom = 1.0
        shift = 0.0
        if "parallax" in kinds:
            zoom *= 1.0 + PARALLAX_OVERSCAN * motion.parallax
            shift = (e - 0.5) * motion.parallax * w
        if "push-in" in kinds:
            zoom *= 1.0 + (motion.zoom - 1.0) * e
        lt = light
        if "light-sweep" in kinds:
            az = light.azimuth + (e - 0.5) * motion.sweep_degrees
            lt = replace(light, azimuth=float(az % 360.0))
        elif "orbit-light" in kinds:
            lt = replace(light, azimuth=float((light.azimuth + 360.0 * e) % 360.0))
        opacity, drop = 1.0, 0.0
        if "reveal" in kinds:
            r = float(ease(min(t / SETTLE_SHARE, 1.0), "ease-out"))
            opacity = r
            drop = (1.0 - r) * DROP_SHARE * h
        plans.append(FramePlan(i, t, float(zoom), float(shift), lt, float(opacity), float(drop)))
    return plans


def light_moves(motion: MotionSpec) -> bool:
    """Does the key light change during the clip?"""
    return "light-sweep" in motion.kinds or "orbit-light" in motion.kinds
