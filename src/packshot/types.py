"""The data that flows between stages: frozen dataclasses over numpy arrays.

Conventions (README, "Conventions"): colour images are float32 H x W x 3 linear light in [0, 1]; alpha is
float32 H x W in [0, 1], straight; depth is float32 H x W, relative, larger = nearer; normals are
float32 H x W x 3 unit vectors, x right, y up, z toward the camera. Boxes are
``(x0, y0, x1, y1)`` in pixels with x1, y1 exclusive.

The dataclasses are frozen: a stage returns a new object, it never edits its input. Arrays are
not copied on construction; treat them as read-only.
"""

from __future__ import annotations

import dataclasses
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
    """A SAM-style prompt: an optional box and labelled points (1 = product, 0 = not product),
    and whether a hand holding the product is to be cut away (``exclude_hands``,
    :func:`packshot.segment.hands.exclude_hands`).

    Coordinates are in pixels of the EXIF-rotated input.
    """

    box: Box | None = None
    points: tuple[tuple[float, float, int], ...] = ()
    exclude_hands: bool = False

    @property
    def empty(self) -> bool:
        """No box and no points (``exclude_hands`` alone draws nothing for the segmenter)."""
        return self.box is None and not self.points

    @property
    def nothing(self) -> bool:
        """Neither geometry nor a request: the same as no prompt at all."""
        return self.empty and not self.exclude_hands

    def key(self) -> dict:
        """The prompt for a cache key (``exclude_hands`` joins it only when set, so keys made
        before the field existed stay valid)."""
        out: dict = {"box": self.box, "points": self.points}
        if self.exclude_hands:
            out["exclude_hands"] = True
        return out


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
class Support:
    """The surface the product stands on: where its shadow and reflection may fall.

    ``kind`` is "all" (the whole frame), "below" (a floor below the row ``y``, blended over
    ``soft`` px; ``soft`` None: 2 % of the frame's height), "ellipse" (a cylinder's top,
    centre ``cx, cy``, radii ``rx, ry``) or "polygon" (a plinth's top, ``points``).
    :func:`packshot.ops.geometry.support_mask` draws it.
    """

    kind: str = "all"
    y: float | None = None
    soft: float | None = None
    cx: float | None = None
    cy: float | None = None
    rx: float | None = None
    ry: float | None = None
    points: tuple[tuple[float, float], ...] = ()

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> "Support":
        """From a renderer's JSON description (``{"kind": ..., ...}``); None or {} is "all"."""
        d = dict(d or {})
        kind = str(d.get("kind", "all"))
        if kind not in ("all", "below", "ellipse", "polygon"):
            raise ValueError(f"unknown support kind {kind!r}")
        num = {k: (None if d.get(k) is None else float(d[k])) for k in ("y", "soft", "cx", "cy", "rx", "ry")}
        pts = tuple((float(x), float(y)) for x, y in d.get("points", ()))
        return cls(kind=kind, points=pts, **num)

    def to_dict(self) -> dict[str, Any]:
        """The JSON description (only the fields the kind uses)."""
        out: dict[str, Any] = {"kind": self.kind}
        if self.kind == "below":
            out["y"] = self.y
            if self.soft is not None:
                out["soft"] = self.soft
        elif self.kind == "ellipse":
            out.update(cx=self.cx, cy=self.cy, rx=self.rx, ry=self.ry)
        elif self.kind == "polygon":
            out["points"] = [list(p) for p in self.points]
        return out


@dataclass(frozen=True)
class PlateMatch:
    """What a product placed on a background photo must match (measured by the plate renderer).

    ``gains`` linear RGB colour-balance gains (None: none), ``contrast`` a contrast factor about the
    product's mean luminance, ``blur`` extra Gaussian sigma (px), ``noise`` grain to add to the
    product (sRGB units). relight applies them within its colour bound.
    """

    gains: tuple[float, float, float] | None = None
    contrast: float = 1.0
    blur: float = 0.0
    noise: float = 0.0

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> "PlateMatch | None":
        if not d:
            return None
        g = d.get("gains")
        return cls(gains=None if not g else tuple(float(v) for v in g),  # type: ignore[arg-type]
                   contrast=float(d.get("contrast", 1.0)), blur=float(d.get("blur", 0.0)),
                   noise=float(d.get("noise", 0.0)))

    def to_dict(self) -> dict[str, Any]:
        return {"gains": None if self.gains is None else list(self.gains), "contrast": self.contrast,
                "blur": self.blur, "noise": self.noise}


@dataclass(frozen=True)
class RegionLayer:
    """A frame-sized layer held only over a box of the frame; it is 0 (transparent) elsewhere.

    ``data`` is float32 ``(y1 - y0) x (x1 - x0)`` (x C) for ``box = (x0, y0, x1, y1)`` in frame
    pixels. A large frame never holds a full-size copy of a layer: read it by window.
    """

    box: Box
    data: np.ndarray

    @property
    def channels(self) -> int:
        return 1 if self.data.ndim == 2 else int(self.data.shape[2])

    def window(self, rows: slice, cols: slice, canvas: tuple[int, int], channel: int | None = None) -> np.ndarray:
        """float32 copy of the layer over a window of a ``canvas`` (w, h) frame, 0 outside ``box``;
        ``channel``: that channel only (H x W)."""
        W, H = int(canvas[0]), int(canvas[1])
        r0, r1, _ = rows.indices(H)
        c0, c1, _ = cols.indices(W)
        data = self.data if channel is None else self.data[..., channel]
        out = np.zeros((max(r1 - r0, 0), max(c1 - c0, 0)) + data.shape[2:], np.float32)
        x0, y0, x1, y1 = self.box
        iy0, iy1 = max(r0, y0), min(r1, y1)
        ix0, ix1 = max(c0, x0), min(c1, x1)
        if iy1 > iy0 and ix1 > ix0:
            out[iy0 - r0:iy1 - r0, ix0 - c0:ix1 - c0] = data[iy0 - y0:iy1 - y0, ix0 - x0:ix1 - x0]
        return out


@dataclass(frozen=True)
class FrameLayers:
    """The layers a frame was composed from, each held over its own region only.

    Attributes
    ----------
    product : RegionLayer
        The locked product as placed (the cut-out warped by the frame's matrix): premultiplied
        linear colour and alpha (4 channels) over the product's region. It is the reference the
        product in the frame must match; relight changes the frame, never this layer.
    shadow : RegionLayer or None
        The product's shadows (1 channel, 0..0.95: the share of the background's light they
        take away), where relight drew them.
    reflection : RegionLayer or None
        The floor reflection (premultiplied colour + opacity, 4 channels), where relight drew one.
    flattened : bool
        False while the frame's pixels are exactly product over background (render's output):
        :meth:`Frame.background` recovers the background from them. True once a later stage
        re-shaded the product (the background under it can no longer be recovered).
    """

    product: RegionLayer
    shadow: RegionLayer | None = None
    reflection: RegionLayer | None = None
    flattened: bool = False


@dataclass(frozen=True)
class Frame:
    """A rendered frame: linear RGB, the product's alpha in frame coordinates, and its box.

    ``source_kind`` is "embedded" (procedural or plate, no trained model), "diffusion"
    (pixels painted by a trained model) or "capture" (a plain cut-out on a backdrop).

    What later stages need from the render is carried as typed fields (relight and qa read
    these, never another stage's provenance):

    ``matrix``
        float64 2 x 3 placement, cut-out pixels -> frame pixels (None: a frame not placed by
        render, e.g. read from a file).
    ``light``
        The scene's key light (default: the spec's).
    ``support``, ``floor_y``
        The surface the product stands on and the floor line (row of the product's base; default:
        the spec's).
    ``grain``
        The scene's own grain level (sRGB units; a photo plate has some, procedural scenes none).
    ``plate_match``
        What the product must match on a background photo (None elsewhere).
    ``layers``
        The layers composed (:class:`FrameLayers`); None for a frame read from a file.
    """

    rgb: np.ndarray
    product_alpha: np.ndarray
    product_box: Box
    spec: SceneSpec
    source_kind: str = "embedded"
    provenance: Mapping[str, Any] = field(default_factory=dict)
    matrix: np.ndarray | None = None
    light: Light | None = None
    support: Support = Support()
    floor_y: float | None = None
    grain: float = 0.0
    plate_match: PlateMatch | None = None
    layers: FrameLayers | None = None

    def __post_init__(self) -> None:
        if self.light is None:
            object.__setattr__(self, "light", self.spec.light)
        if self.floor_y is None:
            object.__setattr__(self, "floor_y", float(self.spec.floor_y))

    @property
    def size(self) -> tuple[int, int]:
        return self.rgb.shape[1], self.rgb.shape[0]

    def without_layers(self) -> "Frame":
        """The same frame without its layers (every other field shared, nothing copied): for a
        caller that only saves it once relight is done, so a large frame's product, shadow and
        reflection layers are not held through the save (a frame written to disk carries none)."""
        return self if self.layers is None else dataclasses.replace(self, layers=None)

    def background(self, rows: slice, cols: slice) -> np.ndarray:
        """The background without the product over a window, premultiplied by (1 - product alpha).

        The frame is ``product + background x (1 - alpha)`` (linear light), so this is the frame
        minus the product layer, computed on demand (no full-size copy is kept). Only for a frame
        whose pixels are still that composite (``layers.flattened`` False).
        """
        if self.layers is None or self.layers.flattened:
            raise ValueError("the frame's background cannot be recovered: "
                             + ("it has no layers" if self.layers is None else "its product was re-shaded"))
        out = np.array(self.rgb[rows, cols], np.float32, copy=True)
        out -= self.layers.product.window(rows, cols, self.size)[..., :3]
        np.maximum(out, 0.0, out=out)
        return out


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
