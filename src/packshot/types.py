"""The data that flows between stages: frozen dataclasses over numpy arrays.

Conventions (README, "Conventions"): colour images are float32 H x W x 3 linear light in [0, 1]; alpha is
float32 H x W in [0, 1], straight; depth is float32 H x W, relative, larger = nearer; normals are
float32 H x W x 3 unit vectors, x right, y up, z toward the camera. Boxes are
``(x0, y0, x1, y1)`` in pixels with x1, y1 exclusive.

The dataclasses are frozen: a stage returns a new object, it never edits its input. Arrays are
not copied on construction; treat them as read-only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

Box = tuple[int, int, int, int]
"""(x0, y0, x1, y1) in pixels, x1 and y1 exclusive."""


def alpha_bbox(alpha: np.ndarray, threshold: float = 0.5) -> Box | None:
    """Bounding box of ``alpha > threshold`` or None when it is empty."""
    m = np.asarray(alpha) > threshold
    rows = np.flatnonzero(m.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(m.any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


# ------------------------------------------------------------------------------------ segment
@dataclass(frozen=True)
class Prompt:
    """A SAM-style prompt: an optional box and labelled points (1 = product, 0 = not product).

    Coordinates are in pixels of the EXIF-rotated input.
    """

    box: Box | None = None
    points: tuple[tuple[float, float, int], ...] = ()

    @property
    def empty(self) -> bool:
        return self.box is None and not self.points


@dataclass(frozen=True)
class Cutout:
    """The product's pixels.

    Attributes
    ----------
    rgb : ndarray
        float32 H x W x 3 linear foreground colour: the old backdrop removed from edge pixels
        (valid where alpha > 0).
    alpha : ndarray
        float32 H x W soft alpha in [0, 1].
    image : ndarray
        float32 H x W x 3 linear source photo as loaded (for checks against the original).
    bbox : Box or None
        Box of alpha > 0.5; None when no product was found.
    confidence : float
        0..1: how sure the backend is that this is the whole product and only it.
    background : tuple of float or None
        Estimated backdrop colour (linear RGB) when the photo had a clean backdrop.
    flags : tuple of str
        Notes such as "empty", "not-studio-backdrop", "touches-frame", "fallback-u2netp".
    provenance : dict
        See :func:`packshot.provenance.record`.
    """

    rgb: np.ndarray
    alpha: np.ndarray
    image: np.ndarray
    bbox: Box | None
    confidence: float
    background: tuple[float, float, float] | None = None
    flags: tuple[str, ...] = ()
    provenance: Mapping[str, Any] = field(default_factory=dict)

    @property
    def size(self) -> tuple[int, int]:
        """(width, height)."""
        return self.alpha.shape[1], self.alpha.shape[0]

    @property
    def is_empty(self) -> bool:
        return self.bbox is None


# ------------------------------------------------------------------------------------ understand
@dataclass(frozen=True)
class TextLine:
    """One line of label text: ``polygon`` is 4 (x, y) corners in image pixels, clockwise from top-left."""

    text: str
    polygon: tuple[tuple[float, float], ...]
    confidence: float

    @property
    def box(self) -> Box:
        xs = [p[0] for p in self.polygon]
        ys = [p[1] for p in self.polygon]
        return int(min(xs)), int(min(ys)), int(np.ceil(max(xs))), int(np.ceil(max(ys)))


@dataclass(frozen=True)
class PaletteColor:
    """A main colour of the product: CIELAB (D65), linear RGB, and its share of product pixels."""

    lab: tuple[float, float, float]
    rgb: tuple[float, float, float]
    share: float


@dataclass(frozen=True)
class Materials:
    """Surface evidence, each map float32 H x W in [0, 1], each score in [0, 1]."""

    specular: np.ndarray
    transparency: np.ndarray
    reflective: np.ndarray
    specular_score: float
    transparency_score: float
    reflective_score: float


@dataclass(frozen=True)
class RiskFlag:
    """Why re-rendering this product is risky, and what to do about it.

    ``code`` is one of "transparent", "reflective", "regulated-text", "dense-text",
    "low-resolution", "cluttered-backdrop", "multiple-products".
    """

    code: str
    reason: str
    recommendation: str
    score: float = 1.0


@dataclass(frozen=True)
class ProductMaps:
    """What shape, surface and text the product has (all maps at the cut-out's size)."""

    depth: np.ndarray
    normals: np.ndarray
    edges: np.ndarray
    materials: Materials
    palette: tuple[PaletteColor, ...]
    text: tuple[TextLine, ...]
    flags: tuple[RiskFlag, ...]
    timings: Mapping[str, float] = field(default_factory=dict)
    provenance: Mapping[str, Any] = field(default_factory=dict)

    def has_flag(self, code: str) -> bool:
        return any(f.code == code for f in self.flags)


# ------------------------------------------------------------------------------------ condition
@dataclass(frozen=True)
class Light:
    """A key light.

    ``azimuth`` is measured in the horizontal plane: 0 deg = light from the right of the frame
    (+x), 90 = from the camera side (+z, front light), 180 = from the left, 270 = from behind the
    product (back light). ``elevation`` 0 = horizon, 90 = overhead. ``softness`` 0 = hard point
    light .. 1 = large soft box; ``kelvin`` colour temperature; ``intensity`` relative key level.
    """

    azimuth: float = 45.0
    elevation: float = 45.0
    softness: float = 0.5
    kelvin: float = 5500.0
    intensity: float = 1.0

    def direction(self) -> np.ndarray:
        """Unit vector toward the light in image coordinates (x right, y up, z to camera)."""
        az, el = np.radians(self.azimuth), np.radians(self.elevation)
        return np.array([np.cos(el) * np.cos(az), np.sin(el), np.cos(el) * np.sin(az)], np.float32)


@dataclass(frozen=True)
class Placement:
    """Where the product sits: its cut-out is scaled by ``scale``, rotated by ``rotation`` degrees
    (counter-clockwise) about its box centre, and its box centre moved to ``center`` (pixels of
    the canvas)."""

    center: tuple[float, float]
    scale: float
    rotation: float = 0.0

    def matrix(self, source_box: Box) -> np.ndarray:
        """2 x 3 affine matrix mapping cut-out pixels to canvas pixels."""
        x0, y0, x1, y1 = source_box
        cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
        th = np.radians(self.rotation)
        c, s = np.cos(th) * self.scale, np.sin(th) * self.scale
        # rotation counter-clockwise on screen (y down): [c, s; -s, c]
        m = np.array([[c, s, 0.0], [-s, c, 0.0]], np.float64)
        m[:, 2] = np.array(self.center) - m[:, :2] @ np.array([cx, cy])
        return m


@dataclass(frozen=True)
class SceneSpec:
    """One frame to build: canvas, placement, light, floor, look and the brief's words."""

    sku: str
    scene: str
    variant: int
    canvas: tuple[int, int]
    placement: Placement
    light: Light
    preset: str
    backdrop: Mapping[str, Any]
    floor_y: float
    floor_gloss: float
    palette: tuple[tuple[float, float, float], ...] = ()
    prompt: str = ""
    negative_prompt: str = ""
    seed: int = 0
    plate: np.ndarray | None = None
    references: tuple[str, ...] = ()
    provenance: Mapping[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------------------------------ render
@dataclass(frozen=True)
class Frame:
    """A rendered frame: linear RGB, the product's alpha in frame coordinates, and its box.

    ``source_kind`` is "embedded" (procedural or plate, no trained model), "diffusion"
    (pixels painted by a trained model) or "capture" (a plain cut-out on a backdrop).
    """

    rgb: np.ndarray
    product_alpha: np.ndarray
    product_box: Box
    spec: SceneSpec
    source_kind: str = "embedded"
    provenance: Mapping[str, Any] = field(default_factory=dict)

    @property
    def size(self) -> tuple[int, int]:
        return self.rgb.shape[1], self.rgb.shape[0]


# ------------------------------------------------------------------------------------ qa
@dataclass(frozen=True)
class CheckResult:
    """One measured check: value, threshold, status "pass" / "review" / "fail", message."""

    name: str
    status: str
    value: Any
    threshold: Any = None
    message: str = ""


@dataclass(frozen=True)
class QAReport:
    """Verdict of the fidelity checks for one frame."""

    verdict: str
    checks: tuple[CheckResult, ...]
    reasons: tuple[str, ...]
    metrics: Mapping[str, Any] = field(default_factory=dict)
    provenance: Mapping[str, Any] = field(default_factory=dict)
