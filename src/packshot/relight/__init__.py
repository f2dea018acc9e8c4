"""relight stage: make light, shadow, reflection and edges agree, without changing the product.

Given a rendered :class:`~packshot.types.Frame` (background + locked product), this stage adds,
all from the scene's one key light:

* a **contact shadow** (occlusion right under the base) and a wider ambient occlusion;
* a **cast shadow**: the product's silhouette projected onto the floor away from the light
  (:func:`packshot.ops.geometry.shadow_matrix`), sharp at the base and softer and lighter
  with distance;
* a **floor reflection** on glossy floors: the product mirrored about its base line, fading
  and blurring with distance, only on the surface it stands on;
* **bounded product shading**: the product's normals re-shaded toward the scene light and
  tinted toward its colour temperature (and, on a plate, toward the plate's colour balance,
  contrast and softness), scaled down until the mean CIEDE2000 difference on the product's
  interior against the cut-out is at most :attr:`RelightConfig.max_delta_e`. The measured value
  is recorded in the provenance;
* **light wrap**: a little of the background's light on the product's outermost edge pixels;
* **grain** matched between product and scene.

Backends are chosen by name through :data:`RELIGHTERS` (``packshot backends`` lists them):
``bounded`` (this module, no model) and ``iclight:FOLDER`` (:mod:`packshot.relight.model`, extra
``diffusion``). Each is a :class:`Relighter`, called ``relighter(frame, cutout, maps)``;
:func:`relight_with` builds one by name and runs it.

Everything is computed in linear light. The stage reads the frame's typed fields (its product
layer, matrix, light, support surface, grain and plate match: :class:`~packshot.types.Frame`),
never the renderer's provenance, and never places the product again: the background's share of
each pixel is the frame minus the product layer. The steps are named functions below, their
numbers named constants above them.
"""

from __future__ import annotations

import dataclasses
import time
import zlib
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import cv2
import numpy as np

from ..errors import InputError
from ..imaging import delta_e2000, dlinear_dsrgb, linear_to_lab, luminance
from ..ops.filters import blur, fast_blur
from ..ops.geometry import FLOOR_FORESHORTENING, shadow_matrix, support_mask
from ..ops.morphology import product_interior
from ..ops.noise import estimate_noise
from ..ops.placement import unpremultiply, warp_layer
from ..provenance import record
from ..registry import Registry
from ..render import light_tint
from ..types import Cutout, Frame, FrameLayers, Light, PlateMatch, ProductMaps, RegionLayer, alpha_bbox

REFERENCE_LIGHT = np.array([0.0, 0.35, 1.0], np.float32) / np.linalg.norm([0.0, 0.35, 1.0])
"""Key light a packshot is assumed to have been taken under: frontal, a little above."""
AMBIENT = 0.55
"""Fill share in the product shading model (the rest is key light)."""

# ---------------------------------------------------------------- material adaptation
TRANSPARENT_SHADOW_SCALE = 0.6
"""Shadow opacity of a transparent product relative to an opaque one (light passes through)."""
TRANSPARENT_SHADING = 0.35
"""Re-shading exponent factor of a transparent product."""
REFLECTIVE_SHADING = 0.5
"""Re-shading exponent factor of a reflective product (a mirror shows its surroundings)."""

# ---------------------------------------------------------------- shadows (lengths in product heights)
SHADOW_HALF_RES_ABOVE = 640
"""Canvases whose long side exceeds this get their (soft) shadows on a half-resolution grid."""
SHADOW_GRID_LARGE_ABOVE = 4096
"""Above this long side the shadow grid is coarser still ..."""
SHADOW_GRID_LARGE_SIDE = 2048
"""... about this many cells along the long side (a dozen quarter-size layers would not fit)."""
MAX_HEIGHT = 1.5
"""Heights above the base are clipped here (product heights)."""
CONTACT_HEIGHT = 0.08
"""Lowest share of the product's height that casts the contact shadow."""
AMBIENT_HEIGHT = 0.35
"""Lowest share of the product's height that casts the wider ambient occlusion."""
CONTACT_SQUASH = (0.5, -0.25)
"""Vertical factors the contact silhouette is flattened onto the floor line with (behind, in front)."""
AMBIENT_SQUASH = (0.4, -0.15)
"""The same for the ambient occlusion."""
CONTACT_BLUR = 0.012
"""Contact shadow blur sigma, product heights ..."""
CONTACT_BLUR_PX = 0.7
"""... plus this many pixels."""
AMBIENT_BLUR = 0.06
"""Ambient occlusion blur sigma, product heights."""
FOOTPRINT_DEPTH = 0.8
"""Depth of a solid product's footprint as a share of its width (before foreshortening)."""
CAST_BLUR_HARD = (0.004, 0.01, 0.02)
"""Cast shadow blur sigmas (product heights) near, mid-way and far from the base, hard light ..."""
CAST_BLUR_SOFT = (0.015, 0.05, 0.11)
"""... added per unit of light softness."""
CAST_FADE = 0.5
"""The cast shadow is this much lighter where it ends than at the base."""
CAST_SOFT_LIGHTEN = 0.35
"""Cast shadow opacity lost per unit of light softness."""
MAX_CAST_INTENSITY = 1.5
"""Light intensity beyond which the cast shadow gets no darker."""
CONTACT_GAIN = 1.6
"""Gain on the blurred contact silhouette before it is clipped to 1."""
AMBIENT_GAIN = 1.3
"""Gain on the blurred ambient silhouette before it is clipped to 1."""
AMBIENT_OPACITY = 0.3
"""Darkening by the ambient occlusion at full strength."""
MAX_OCCLUSION = 0.95
"""The shadows never take more than this share of the background's light."""
SHADOW_EPSILON = 1e-4
"""Occlusion below this is no shadow (rows without any are not touched)."""

# ---------------------------------------------------------------- reflection (lengths in product heights)
REFLECTION_REACH = (0.15, 0.35)
"""Fade length of the reflection: the first + the second x gloss."""
REFLECTION_LENGTH = 3.0
"""The reflection is drawn down to this many fade lengths below the base."""
REFLECTION_BLUR = 0.03
"""Blur sigma of the reflection at gloss 0 (product heights), falling to 0 at gloss 1 ..."""
REFLECTION_BLUR_PX = 0.6
"""... plus this many pixels."""
REFLECTION_FAST_BLUR_ABOVE = 32.0
"""Reflection blur sigmas above this (px) are done at reduced resolution."""
MIN_GLOSS = 0.01
"""Floors less glossy than this get no reflection."""

# ---------------------------------------------------------------- shading, light wrap, grain
SHADING_CROP_MARGIN = 8
"""Pixels around the product box the shading and light wrap work on."""
SHADING_NORMALS_BLUR = 1.5
"""Blur sigma (px) of the shading ratio (no per-pixel normal noise on the product)."""
SHADING_TINT = 0.3
"""How far the product's colour follows the key light's temperature (0 none, 1 fully)."""
WRAP_SIGMA = 0.0025
"""Light wrap blur sigma, share of the canvas' long side (at least 1 px)."""
SEARCH_SAMPLES = 2500
"""Pixels the shading strength search measures (an even subset of the deltaE sample)."""
SEARCH_TARGET = 0.97
"""The search aims at this share of ``max_delta_e`` (the full measurement and grain stay within it)."""
SEARCH_STEPS = 6
"""Bisection steps of the strength search (strength to 1/64)."""
MIN_MATCH_BLUR = 0.3
"""A plate's softness (blur sigma, px) below this is not applied to the product (no visible change)."""
GRAIN_SAMPLE_SIDE = 320
"""Side of the square from the middle of the product the product photo's grain is measured on."""
BAND_ROWS = 256
"""Rows per band where full-width work is done in bands (no full-size temporaries)."""


@dataclass(frozen=True)
class RelightConfig:
    """Settings of the relight stage (defaults suit catalogue studio shots)."""

    shadows: bool = True
    """Draw the contact and cast shadows."""
    contact_strength: float = 0.7
    """Darkening right under the product's base, 0..1."""
    cast_strength: float = 0.6
    """Opacity of the cast shadow where it leaves the base (hard light; soft light halves it)."""
    reflection: bool = True
    """Draw a floor reflection when the scene's floor gloss is above 0."""
    reflection_strength: float = 0.45
    """Reflection opacity at the base line for a gloss-1 floor."""
    shading: bool = True
    """Re-shade the product toward the scene light (bounded by ``max_delta_e``)."""
    shading_strength: float = 0.6
    """Exponent on the shading gain before the bound: 0 none, 1 full Lambert re-shading."""
    max_delta_e: float = 2.0
    """Bound on the mean CIEDE2000 difference of the product interior vs the cut-out (contract: <= 3)."""
    light_wrap: float = 0.25
    """Share of background light wrapped onto the product's outermost edge pixels, 0..1."""
    grain: bool = True
    """Match grain between product and scene."""
    min_grain: float = 0.0025
    """Least background grain (sRGB units): real photos have some, and it hides 8-bit steps."""
    delta_e_samples: int = 20000
    """Most interior pixels the deltaE bound is measured on (a fixed, evenly spaced sample)."""
    respect_material_flags: bool = True
    """Products flagged transparent get lighter shadows and little re-shading (light passes
    through; relighting them as opaque is a known failure), reflective ones half the re-shading
    (a mirror shows its surroundings, not Lambert shading)."""


def interior_mask(alpha: np.ndarray, erode_px: int) -> np.ndarray:
    """Pixels well inside the product (bool H x W): :func:`packshot.ops.morphology.product_interior`."""
    return product_interior(alpha, erode_px)


def sample_indices(mask: np.ndarray, max_samples: int) -> np.ndarray:
    """Flat indices of at most ``max_samples`` evenly spaced True pixels (deterministic)."""
    idx = np.flatnonzero(mask)
    if idx.size > max_samples:
        idx = idx[np.linspace(0, idx.size - 1, max_samples).astype(np.int64)]
    return idx


def mean_delta_e(rgb: np.ndarray, reference: np.ndarray, idx: np.ndarray) -> tuple[float, float]:
    """Mean and 95th-percentile CIEDE2000 between two linear images on flat pixel indices."""
    if idx.size == 0:
        return 0.0, 0.0
    a = rgb.reshape(-1, 3)[idx]
    b = reference.reshape(-1, 3)[idx]
    de = delta_e2000(linear_to_lab(np.clip(a, 0, 1)), linear_to_lab(np.clip(b, 0, 1)))
    return float(de.mean()), float(np.percentile(de, 95))


def _rotate_normals(normals: np.ndarray, rotation_deg: float) -> np.ndarray:
    if abs(rotation_deg) < 1e-6:
        return normals
    th = np.radians(rotation_deg)
    c, s = np.cos(th), np.sin(th)
    out = normals.copy()
    out[..., 0] = c * normals[..., 0] - s * normals[..., 1]
    out[..., 1] = s * normals[..., 0] + c * normals[..., 1]
    return out


def _crop(box: tuple[int, int, int, int], margin: int, size: tuple[int, int]) -> tuple[slice, slice]:
    w, h = size
    x0, y0, x1, y1 = box
    return slice(max(y0 - margin, 0), min(y1 + margin, h)), slice(max(x0 - margin, 0), min(x1 + margin, w))


def _cutout_noise(cutout: Cutout, max_side: int = GRAIN_SAMPLE_SIDE) -> float:
    """Grain of the product photo (sRGB units) measured in the cut-out's own pixels.

    Measured before placement: resampling (especially enlarging) smooths grain and would hide
    it from the estimator. At most a ``max_side`` square from the middle of the product is used.
    """
    box = cutout.bbox or alpha_bbox(cutout.alpha)
    if box is None:
        return 0.0
    x0, y0, x1, y1 = box
    cx, cy = (x0 + x1) // 2, (y0 + y1) // 2
    half = max_side // 2
    ys = slice(max(cy - half, y0), min(cy + half, y1))
    xs = slice(max(cx - half, x0), min(cx + half, x1))
    inside = interior_mask(cutout.alpha[ys, xs], 2)
    if inside.sum() < 64:
        return 0.0
    return estimate_noise(cutout.rgb[ys, xs], inside)


# ------------------------------------------------------------------------------------ the product layer
@dataclass(frozen=True)
class _Product:
    """The placed product (the frame's product layer), read by window."""

    layer: RegionLayer
    canvas: tuple[int, int]

    def window(self, rows: slice, cols: slice) -> np.ndarray:
        return self.layer.window(rows, cols, self.canvas)

    def alpha_window(self, rows: slice, cols: slice) -> np.ndarray:
        return self.layer.window(rows, cols, self.canvas, channel=3)

    def full_alpha(self) -> np.ndarray:
        W, H = self.canvas
        return self.alpha_window(slice(0, H), slice(0, W))

    def straight(self, rows: slice, cols: slice) -> np.ndarray:
        """Straight (un-premultiplied) linear colour of a window, 0 where alpha is 0."""
        return unpremultiply(self.window(rows, cols))


def _product_layer(frame: Frame) -> _Product:
    if frame.layers is None:
        raise InputError("frame", "has no layers: relight needs the frame packshot.render.render returned "
                                  "(a frame read back from a file carries none)")
    if frame.layers.flattened:
        raise InputError("frame", "was relit already: its background cannot be recovered")
    return _Product(frame.layers.product, frame.size)


def _background_share(frame: Frame, product: _Product, overwrite_input: bool) -> np.ndarray:
    """The background's share of every pixel, B x (1 - alpha): the frame minus the product layer
    (:meth:`packshot.types.Frame.background`), into the frame's own array when it may be reused."""
    if overwrite_input and frame.rgb.dtype == np.float32 and frame.rgb.flags.writeable \
            and frame.rgb.flags.c_contiguous:
        background_part = frame.rgb
    else:
        background_part = np.array(frame.rgb, dtype=np.float32, copy=True)
    x0, y0, x1, y1 = product.layer.box
    if y1 > y0 and x1 > x0:  # outside the product's region the frame is all background
        win = background_part[y0:y1, x0:x1]
        win -= product.layer.data[..., :3]
        np.maximum(win, 0.0, out=win)
    return background_part


# ------------------------------------------------------------------------------------ shadows
def _shadow_grid(W: int, H: int) -> int:
    """Reduction factor of the grid the (soft) shadows are computed on."""
    f = 2 if max(W, H) > SHADOW_HALF_RES_ABOVE else 1
    if max(W, H) > SHADOW_GRID_LARGE_ABOVE:
        f = int(np.ceil(max(W, H) / SHADOW_GRID_LARGE_SIDE))
    return f


def _grid_alpha(product: _Product, f: int) -> np.ndarray:
    """The product's alpha on the shadow grid (the canvas area-averaged by ``f``). When ``f`` divides
    the canvas, each grid cell is the mean of its own f x f block, so only the blocks over the
    product's region are resized (the same cells, no full-size alpha); else the whole canvas is."""
    W, H = product.canvas
    if f == 1:
        return product.full_alpha()
    ws, hs = max(1, W // f), max(1, H // f)
    if ws * f != W or hs * f != H:
        return cv2.resize(product.full_alpha(), (ws, hs), interpolation=cv2.INTER_AREA)
    out = np.zeros((hs, ws), np.float32)
    x0, y0, x1, y1 = product.layer.box
    if x1 > x0 and y1 > y0:
        gx0, gy0, gx1, gy1 = x0 // f, y0 // f, -(-x1 // f), -(-y1 // f)
        win = product.alpha_window(slice(gy0 * f, gy1 * f), slice(gx0 * f, gx1 * f))
        out[gy0:gy1, gx0:gx1] = cv2.resize(win, (gx1 - gx0, gy1 - gy0), interpolation=cv2.INTER_AREA)
    return out


def _shadow_occlusion(product: _Product, box: tuple[int, int, int, int], base_y: float, prod_h: float,
                      light: Light, config: RelightConfig, shadow_scale: float, canvas: tuple[int, int]
                      ) -> np.ndarray:
    """The share of the background's light the product's shadows take away (float32 H x W, 0..0.95):
    contact shadow, ambient occlusion and cast shadow, computed on a coarser grid."""
    W, H = canvas
    f = _shadow_grid(W, H)
    ws, hs = max(1, W // f), max(1, H // f)
    a_s = _grid_alpha(product, f)
    bs, ph = base_y / f, prod_h / f
    soft = float(light.softness)

    ys = np.arange(hs, dtype=np.float32)[:, None]
    height = np.clip((bs - ys) / ph, 0.0, MAX_HEIGHT)

    def squash(layer: np.ndarray, k: float) -> np.ndarray:
        # y' = base + k (y - base): the layer flattened onto the floor line
        return warp_layer(layer, np.array([[1.0, 0, 0], [0, k, bs * (1 - k)]]), (ws, hs))

    # Only the parts of the product near the floor occlude it: the lowest few percent of its
    # height for the contact shadow, the lower third for the wider ambient occlusion (a tilted
    # product touches with a corner, a pouch with its narrow base).
    near = a_s * np.clip(1.0 - height / CONTACT_HEIGHT, 0.0, 1.0)
    low = a_s * np.clip(1.0 - height / AMBIENT_HEIGHT, 0.0, 1.0)
    contact = fast_blur(np.maximum(squash(near, CONTACT_SQUASH[0]), squash(near, CONTACT_SQUASH[1])),
                        CONTACT_BLUR * ph + CONTACT_BLUR_PX)
    ambient = fast_blur(np.maximum(squash(low, AMBIENT_SQUASH[0]), squash(low, AMBIENT_SQUASH[1])), AMBIENT_BLUR * ph)
    m = shadow_matrix(bs, light)
    cast0 = warp_layer(a_s, m, (ws, hs))
    dist0 = warp_layer(a_s * height, m, (ws, hs))
    # A solid product is not a card: its footprint reaches behind the front of its base, and the
    # shadow is the union of every depth slice's shadow, so spread it back (up the image) by the
    # footprint's on-screen depth (about its smaller on-screen side, foreshortened: a wide lying
    # product is not as deep as it is wide).
    depth_px = int(round(FLOOR_FORESHORTENING * FOOTPRINT_DEPTH * max(min(box[2] - box[0], box[3] - box[1]), 1) / f))
    if depth_px >= 2:
        kernel = np.ones((depth_px, 1), np.uint8)
        cast0 = cv2.dilate(cast0, kernel, anchor=(0, 0))
        dist0 = cv2.dilate(dist0, kernel, anchor=(0, 0))
    sigmas = tuple((hard + per_soft * soft) * ph for hard, per_soft in zip(CAST_BLUR_HARD, CAST_BLUR_SOFT))
    levels = [fast_blur(cast0, s) for s in sigmas]
    dist = fast_blur(dist0, sigmas[1]) / np.maximum(levels[1], 1e-4)  # 0 at the base .. 1 at the top's shadow
    tt = np.clip(dist * 2.0, 0.0, 2.0)
    w1 = np.clip(tt, 0, 1)
    w2 = np.clip(tt - 1, 0, 1)
    cast = levels[0] * (1 - w1) + levels[1] * (w1 - w2) + levels[2] * w2
    cast = cast * (1.0 - CAST_FADE * np.clip(dist, 0, 1))  # lighter further from the contact
    cast_opacity = config.cast_strength * (1.0 - CAST_SOFT_LIGHTEN * soft) \
        * min(float(light.intensity), MAX_CAST_INTENSITY) * shadow_scale
    occ = 1.0 - (1.0 - config.contact_strength * (0.5 + 0.5 * shadow_scale) * np.clip(contact * CONTACT_GAIN, 0, 1)) \
        * (1.0 - AMBIENT_OPACITY * np.clip(ambient * AMBIENT_GAIN, 0, 1)) * (1.0 - cast_opacity * np.clip(cast, 0, 1))
    # the reduced layers are no longer needed: free them before the full-size ones
    del near, low, contact, ambient, cast0, dist0, levels, dist, tt, w1, w2, cast
    if f > 1:
        occ = cv2.resize(occ, (W, H), interpolation=cv2.INTER_LINEAR)
    return np.clip(occ, 0.0, MAX_OCCLUSION, out=occ if occ.dtype == np.float32 else None)


FLATLAY_OFFSET = 0.07
"""Flat-lay drop shadow: offset from the product, away from the light, as a share of the
product's larger side at a key 45 degrees up (longer for a lower key, shorter for a higher one)."""
FLATLAY_OFFSET_LIMITS = (0.35, 2.0)
"""Limits of the elevation factor (cot of the key's elevation) on that offset."""
FLATLAY_BLUR = (0.035, 0.03)
"""Drop shadow blur sigma, product sizes: hard light, plus this much per unit of softness. A
flat-lay's shadow is a soft one even under the hardest key the brief allows (flat-lays are shot
under broad light; a crisp dark shadow edge pressed against the product's outline is also what
qa.silhouette cannot tell from the outline grown: with 0.012 untouched generated flat-lays
measured up to 2.2 px of growth, with 0.035 and opacity 0.5 at most 0.47 px, while a 5 % cap
growth still measured >= 1.35 px; tune set: 5 products x 3 key azimuths x 3 flat-lay presets, seed 100,
not the QA benchmark's cases)."""
FLATLAY_OPACITY = 0.5
"""Drop shadow opacity under hard light (soft light lightens it by ``FLATLAY_SOFT_LIGHTEN`` of that)."""
FLATLAY_SOFT_LIGHTEN = 0.35
FLATLAY_CONTACT_BLUR = 0.05
"""Contact shadow (ambient occlusion of the surface around the product) blur sigma, product sizes.
Seen from above, the key's own contact shadow lies under the product; what shows that it rests
is the drop shadow attached to its far side plus a faint, soft occlusion all round. A tight dark
line hugging the whole outline (the first flat-lay renderer) is not what a lying product shows,
and it reads as the outline grown outward (qa.silhouette measured 0.6-2.6 px on untouched frames)."""
FLATLAY_CONTACT_OPACITY = 0.12


def flatlay_occlusion(product: _Product, box: tuple[int, int, int, int], light: Light, shadow_scale: float,
                      canvas: tuple[int, int]) -> np.ndarray:
    """The share of the background's light a product lying on a flat-lay surface takes away
    (float32 H x W): its alpha blurred and offset away from the key (light from one side above,
    seen top-down; :func:`packshot.render.flatlay.light_vector`) plus a faint, soft contact
    shadow (ambient occlusion) around it. Computed on the same reduced grid as the standing shadows."""
    from ..render import light_vector

    W, H = canvas
    f = _shadow_grid(W, H)
    ws, hs = max(1, W // f), max(1, H // f)
    a_s = _grid_alpha(product, f)
    size = max(box[2] - box[0], box[3] - box[1], 1) / f
    soft = float(light.softness)
    lx, ly = light_vector(light)
    cot = 1.0 / max(np.tan(np.radians(float(light.elevation))), 1e-3)
    offset = FLATLAY_OFFSET * size * float(np.clip(cot, *FLATLAY_OFFSET_LIMITS))
    shifted = warp_layer(a_s, np.array([[1.0, 0.0, -lx * offset], [0.0, 1.0, -ly * offset]]), (ws, hs))
    drop = fast_blur(shifted, (FLATLAY_BLUR[0] + FLATLAY_BLUR[1] * soft) * size)
    contact = fast_blur(a_s, FLATLAY_CONTACT_BLUR * size + 1.0)
    drop_opacity = FLATLAY_OPACITY * (1.0 - FLATLAY_SOFT_LIGHTEN * soft) \
        * min(float(light.intensity), MAX_CAST_INTENSITY) * shadow_scale
    occ = 1.0 - (1.0 - drop_opacity * np.clip(drop, 0, 1)) \
        * (1.0 - FLATLAY_CONTACT_OPACITY * (0.5 + 0.5 * shadow_scale) * np.clip(contact, 0, 1))
    occ = np.asarray(occ, np.float32)
    if f > 1:
        occ = cv2.resize(occ, (W, H), interpolation=cv2.INTER_LINEAR)
    return np.clip(occ, 0.0, MAX_OCCLUSION, out=occ)


def _draw_shadows(background_part: np.ndarray, occlusion: np.ndarray, support: np.ndarray | None
                  ) -> RegionLayer | None:
    """Darken the background by ``occlusion`` (limited to the support surface), in bands of rows;
    returns the shadow layer over the box where there is shadow (None when there is none)."""
    if support is not None:
        occlusion *= support
    rows_any = np.flatnonzero(occlusion.max(axis=1) > SHADOW_EPSILON)
    if not rows_any.size:
        return None
    r0, r1 = int(rows_any[0]), int(rows_any[-1]) + 1
    for b0 in range(r0, r1, BAND_ROWS):
        b1 = min(r1, b0 + BAND_ROWS)
        background_part[b0:b1] *= (1.0 - occlusion[b0:b1, :, None])
    cols_any = np.flatnonzero(occlusion[r0:r1].max(axis=0) > SHADOW_EPSILON)
    c0, c1 = int(cols_any[0]), int(cols_any[-1]) + 1
    return RegionLayer((c0, r0, c1, r1), np.array(occlusion[r0:r1, c0:c1], np.float32))


# ------------------------------------------------------------------------------------ floor reflection
def _draw_reflection(background_part: np.ndarray, product: _Product, box: tuple[int, int, int, int],
                     base_y: float, prod_h: float, gloss: float, support: np.ndarray | None,
                     config: RelightConfig) -> RegionLayer | None:
    """The product mirrored about its base line, fading and blurring with distance, drawn on the
    support surface into ``background_part``; returns the reflection layer (None: none drawn)."""
    W, H = product.canvas
    reach = (REFLECTION_REACH[0] + REFLECTION_REACH[1] * gloss) * prod_h
    y0 = int(max(np.floor(base_y), 0))
    y1 = int(min(np.ceil(base_y + REFLECTION_LENGTH * reach), H))
    if y1 <= y0:
        return None
    rows = y1 - y0
    sigma = (1.0 - gloss) * REFLECTION_BLUR * prod_h + REFLECTION_BLUR_PX
    pad = int(np.ceil(3 * sigma)) + 2
    cx0, cx1 = max(box[0] - pad, 0), min(box[2] + pad, W)
    # the source rows the mirrored band needs: y_src = 2 base_y - y
    sy0 = int(max(np.floor(2 * base_y - y1) - 1, 0))
    sy1 = int(min(np.ceil(2 * base_y - y0) + 2, H))
    # mirror about the base line, straight into the band below it
    mirror = np.array([[1.0, 0, 0], [0, -1.0, 2 * base_y - y0 - sy0]])
    mirrored = warp_layer(product.window(slice(sy0, sy1), slice(cx0, cx1)), mirror, (cx1 - cx0, rows))
    # a very soft reflection (a large canvas: sigma of tens of pixels) is blurred at reduced
    # resolution, as the shadows are; smaller ones keep the exact Gaussian
    refl = fast_blur(mirrored, sigma) if sigma > REFLECTION_FAST_BLUR_ABOVE else blur(mirrored, sigma)
    del mirrored
    yy = np.arange(y0, y1, dtype=np.float32)[:, None] - base_y
    fade = np.where(yy > 0, np.exp(-np.maximum(yy, 0) / reach), 0.0).astype(np.float32)
    weight = config.reflection_strength * gloss * fade
    if support is not None:
        weight = weight * support[y0:y1, cx0:cx1]
    band = background_part[y0:y1, cx0:cx1]
    keep = 1.0 - product.alpha_window(slice(y0, y1), slice(cx0, cx1))[..., None]
    layer = np.empty(band.shape[:2] + (4,), np.float32)
    layer[..., 3] = weight * refl[..., 3]
    if weight.dtype == np.float32 and refl.dtype == np.float32:
        # in place (band is a view), the same float32 arithmetic as the expression below
        lit = weight[..., None] * refl[..., :3]
        lit *= keep
        band *= (1.0 - (weight * refl[..., 3])[..., None])
        band += lit
        layer[..., :3] = lit
        del lit
    else:
        lit = weight[..., None] * refl[..., :3] * keep
        background_part[y0:y1, cx0:cx1] = band * (1.0 - (weight * refl[..., 3])[..., None]) + lit
        layer[..., :3] = lit
    return RegionLayer((cx0, y0, cx1, y1), layer)


# ------------------------------------------------------------------------------------ bounded shading
@dataclass
class _Shading:
    relit: np.ndarray
    """Straight linear colour of the product crop after the bounded shading."""
    strength: float
    idx: np.ndarray
    """Flat indices (in the crop) of the interior pixels the bound is measured on."""
    product_samples: np.ndarray
    """The placed cut-out's colour on those pixels."""


def _shade_gain(frame: Frame, maps: ProductMaps | None, cutout: Cutout, a_c: np.ndarray, ys_c: slice, xs_c: slice,
                shading_exponent: float) -> np.ndarray:
    """Per-pixel linear RGB gain on the product crop: the normals re-shaded from the reference
    light toward the key light (a flat card without maps), times the light's colour tint."""
    light = frame.light
    assert light is not None
    tint = light_tint(light.kelvin, SHADING_TINT)
    if maps is not None and maps.normals is not None and maps.normals.shape[:2] == cutout.alpha.shape \
            and frame.matrix is not None:
        local = np.array(frame.matrix, np.float64)
        local[:, 2] -= (xs_c.start, ys_c.start)
        normals = warp_layer(np.asarray(maps.normals, np.float32), local,
                             (xs_c.stop - xs_c.start, ys_c.stop - ys_c.start))
        normals = _rotate_normals(normals, frame.spec.placement.rotation)
        key = np.asarray(light.direction(), np.float32)
        shade = np.empty(normals.shape[:2], np.float32)
        for b0 in range(0, normals.shape[0], BAND_ROWS):  # in bands of rows: per-pixel steps only
            n = normals[b0:b0 + BAND_ROWS]
            n /= np.maximum(np.linalg.norm(n, axis=-1, keepdims=True), 1e-6)
            lam = np.clip(n @ key, 0, None)
            lam0 = np.clip(n @ REFERENCE_LIGHT, 0, None)
            shade[b0:b0 + BAND_ROWS] = (AMBIENT + (1 - AMBIENT) * lam) / (AMBIENT + (1 - AMBIENT) * lam0)
        del normals, n, lam, lam0
        shade = blur(shade, SHADING_NORMALS_BLUR) ** shading_exponent
    else:
        shade = np.ones(a_c.shape, np.float32)
    return shade[..., None] * tint[None, None, :]


def _bounded_shading(frame: Frame, cutout: Cutout, maps: ProductMaps | None, product: np.ndarray, a_c: np.ndarray,
                     ys_c: slice, xs_c: slice, interior_erode: int, shading_exponent: float,
                     match: PlateMatch | None, config: RelightConfig) -> _Shading:
    """Re-shade the product crop (and, on a plate, match its colour balance, contrast and softness),
    scaled down until the mean deltaE2000 of the interior against the cut-out is within the bound.
    ``product`` is the caller's own crop, not used after: its array may become the result."""
    interior = interior_mask(a_c, interior_erode)
    idx = sample_indices(interior, config.delta_e_samples)
    gain = None
    if config.shading:
        gain = _shade_gain(frame, maps, cutout, a_c, ys_c, xs_c, shading_exponent)
        if match is not None and match.gains:
            gain = gain * np.array(match.gains, np.float32)
    contrast = float(match.contrast) if match is not None else 1.0
    soft_product = _softened(product, a_c, float(match.blur) if match is not None else 0.0)
    mean_lum = float(luminance(product.reshape(-1, 3)[idx]).mean()) if idx.size else 0.18

    def adjusted(t: float, sel: np.ndarray | None = None, last: bool = False) -> np.ndarray:
        if sel is None:
            p, s, g = product, soft_product, gain
        else:
            p = product.reshape(-1, 3)[sel]
            s = soft_product.reshape(-1, 3)[sel]
            g = None if gain is None else gain.reshape(-1, 3)[sel]
        # p + t (s - p), then x (1 + t (g - 1)): in place, the same float32 operations (a large
        # product crop would otherwise hold several temporaries of its size)
        if last and sel is None and s is p and p.dtype == np.float32 and p.flags.writeable:
            out = p  # p + t (p - p) is p: the last call turns the crop itself into the result
        else:
            out = np.subtract(s, p, dtype=np.float32)
            out *= t
            out += p
        if g is not None:  # no shading gain: x 1.0, which changes nothing
            # the last call may turn the gain layer itself into the factor (it is not used again)
            factor = g if (last and sel is None and g.dtype == np.float32) else np.subtract(g, 1.0, dtype=np.float32)
            if factor is g:
                factor -= 1.0
            factor *= t
            factor += 1.0
            out *= factor
            del factor
        if contrast != 1.0:
            out -= mean_lum
            out *= 1.0 + t * (contrast - 1.0)
            out += mean_lum
        np.clip(out, 0.0, 1.0, out=out)
        return out

    strength = _search_strength(adjusted, product, idx, config.max_delta_e)
    # the measurement at the end needs the cut-out's colour on the sampled pixels only (taken
    # before the last step, which may reuse the crop's array)
    product_samples = product.reshape(-1, 3)[idx]
    relit = adjusted(strength, last=True)
    return _Shading(relit, strength, idx, product_samples)


def _softened(product: np.ndarray, a_c: np.ndarray, extra_blur: float) -> np.ndarray:
    """The product crop blurred by a plate's softness, within itself (premultiplied), never mixing
    in the background; the crop itself when the blur is too small to matter."""
    if extra_blur > MIN_MATCH_BLUR:
        pa = blur(product * a_c[..., None], extra_blur)
        soft_product = pa / np.maximum(blur(a_c, extra_blur), 1e-4)[..., None]
        return np.where(a_c[..., None] > 1e-4, soft_product, product)
    return product


def _search_strength(adjusted: Any, product: np.ndarray, idx: np.ndarray, max_delta_e: float) -> float:
    """The largest shading strength (bisection on 0..1) whose mean deltaE2000 against the cut-out,
    on an evenly spaced subset of the sampled pixels, stays a little under ``max_delta_e``.
    ``adjusted(t, sel)`` gives the adjusted colour of the pixels ``sel`` at strength ``t``."""
    search_idx = idx[np.linspace(0, idx.size - 1, min(idx.size, SEARCH_SAMPLES)).astype(np.int64)] \
        if idx.size else idx
    search_ref_lab = linear_to_lab(np.clip(product.reshape(-1, 3)[search_idx], 0, 1))

    def de_at(t: float) -> float:
        if search_idx.size == 0:
            return 0.0
        return float(delta_e2000(linear_to_lab(adjusted(t, search_idx)), search_ref_lab).mean())

    strength = 1.0
    # aim a little under the bound so the full-sample measurement (and grain) stays within it
    target = max_delta_e * SEARCH_TARGET
    if de_at(1.0) > target:
        lo, hi = 0.0, 1.0
        for _ in range(SEARCH_STEPS):
            mid_t = 0.5 * (lo + hi)
            if de_at(mid_t) > target:
                hi = mid_t
            else:
                lo = mid_t
        strength = lo
    return strength


# ------------------------------------------------------------------------------------ light wrap
def _light_wrap(relit: np.ndarray, bg_c: np.ndarray, a_c: np.ndarray, wrap_sigma: float, amount: float) -> None:
    """A little of the background's light on the product's outermost edge pixels (in place)."""
    inv = 1.0 - a_c
    wrap_colour = blur(bg_c, wrap_sigma)
    if wrap_colour is bg_c:  # (no blur below sigma 0.3: never a view of the frame to divide in place)
        wrap_colour = np.array(bg_c)
    wrap_colour /= np.maximum(blur(inv, wrap_sigma), 1e-3)[..., None]
    # w = amount * clip(2 clip(1 - blur(a), 0, 1) [a > 0], 0, 1) ** 2, in place
    edge = blur(a_c, wrap_sigma)
    if edge is a_c:
        edge = np.array(a_c)
    np.subtract(1.0, edge, out=edge)
    np.clip(edge, 0.0, 1.0, out=edge)
    edge *= a_c > 0
    edge *= 2.0
    np.clip(edge, 0, 1, out=edge)
    # squared: strongest on the outermost pixels, gone two pixels in (a wider band reads as a fringe)
    np.square(edge, out=edge)
    edge *= amount
    w = edge[..., None]
    np.clip(wrap_colour, 0, 1, out=wrap_colour)
    wrap_colour *= w
    relit *= 1.0 - w
    relit += wrap_colour


# ------------------------------------------------------------------------------------ grain
def _add_grain(out: np.ndarray, product: _Product, frame: Frame, background_grain: float, product_grain: float
               ) -> None:
    """Gaussian grain in sRGB units (converted to linear by the local slope), per pixel: the
    background's share on the background, the product's on the product (in place, in bands)."""
    spec = frame.spec
    W, H = frame.size
    rng = np.random.default_rng([int(spec.seed), zlib.crc32(spec.scene.encode()), int(spec.variant), W, H])
    clipped_white = spec.backdrop.get("view", "front") == "top-down"
    # in bands of rows: the generator gives the same stream drawn in pieces, and every step is
    # per pixel, so the result is the same as one full-size pass
    for b0 in range(0, H, BAND_ROWS):
        b1 = min(H, b0 + BAND_ROWS)
        noise = rng.standard_normal((b1 - b0, W), dtype=np.float32)
        a_b = product.alpha_window(slice(b0, b1), slice(0, W))
        sigma_map = (1.0 - a_b) * background_grain
        if product_grain > 0:
            sigma_map += a_b * product_grain
        lum = luminance(out[b0:b1])
        slope = dlinear_dsrgb(lum)  # sRGB-unit grain -> linear, at this pixel's level
        if clipped_white:
            # a pure-white surface is a clipped highlight: no grain shows there (it stays 255)
            sigma_map *= (out[b0:b1].min(axis=2) < 1.0) | (a_b > 0)
        noise *= sigma_map
        noise *= slope
        out[b0:b1] += noise[..., None]


# ------------------------------------------------------------------------------------ the stage
def _floor_layers(background_part: np.ndarray, placed: _Product, frame: Frame, base_y: float, prod_h: float,
                  support: np.ndarray | None, config: RelightConfig, shadow_scale: float,
                  timings: dict[str, float]) -> tuple[RegionLayer | None, RegionLayer | None]:
    """Draw the product's shadows and floor reflection into ``background_part`` (in place);
    returns the (shadow, reflection) layers, None where not drawn."""
    W, H = frame.size
    box = frame.product_box
    t0 = time.perf_counter()
    shadow_layer = None
    top_down = frame.spec.backdrop.get("view", "front") == "top-down"  # a flat-lay (render.flatlay)
    if config.shadows:
        occlusion = flatlay_occlusion(placed, box, frame.light, shadow_scale, (W, H)) if top_down else \
            _shadow_occlusion(placed, box, base_y, prod_h, frame.light, config, shadow_scale, (W, H))
        shadow_layer = _draw_shadows(background_part, occlusion, support)
        del occlusion
    timings["shadows_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    gloss = float(frame.spec.floor_gloss)
    reflection_layer = None
    if config.reflection and gloss > MIN_GLOSS and not top_down:
        reflection_layer = _draw_reflection(background_part, placed, box, base_y, prod_h, gloss, support, config)
    timings["reflection_s"] = time.perf_counter() - t0
    return shadow_layer, reflection_layer


def _shade_product(background_part: np.ndarray, placed: _Product, frame: Frame, cutout: Cutout,
                   maps: ProductMaps | None, a_c: np.ndarray, ys_c: slice, xs_c: slice, shading_exponent: float,
                   config: RelightConfig, timings: dict[str, float]) -> _Shading:
    """Bounded shading and light wrap of the product crop, composited over ``background_part``
    (in place); returns the shading's strength and samples (its ``relit`` array is released)."""
    W, H = frame.size
    t0 = time.perf_counter()
    product = placed.straight(ys_c, xs_c)
    wrap_sigma = max(1.0, WRAP_SIGMA * max(W, H))
    shading = _bounded_shading(frame, cutout, maps, product, a_c, ys_c, xs_c, int(np.ceil(2 * wrap_sigma)) + 2,
                               shading_exponent, frame.plate_match, config)
    relit = shading.relit
    del product
    timings["shading_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    bg_c = background_part[ys_c, xs_c]
    if config.light_wrap > 0:
        _light_wrap(relit, bg_c, a_c, wrap_sigma, config.light_wrap)
    timings["light_wrap_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    relit *= a_c[..., None]  # bg_c + relit * a_c, in place
    relit += bg_c
    background_part[ys_c, xs_c] = relit
    del relit, shading.relit
    timings["grain_s"] = time.perf_counter() - t0  # the composite is timed with the grain (added there)
    return shading


def _material_adaptation(maps: ProductMaps | None, config: RelightConfig) -> dict[str, Any]:
    """How the product's material flags soften the relight: a transparent product casts a lighter
    shadow and takes less shading, a reflective one takes less shading (JSON-ready, recorded)."""
    transparent = bool(config.respect_material_flags and maps is not None and maps.has_flag("transparent"))
    reflective = bool(config.respect_material_flags and maps is not None and maps.has_flag("reflective"))
    shadow_scale = TRANSPARENT_SHADOW_SCALE if transparent else 1.0
    shading_exponent = config.shading_strength * (TRANSPARENT_SHADING if transparent else 1.0) \
        * (REFLECTIVE_SHADING if reflective else 1.0)
    return {"transparent": transparent, "reflective": reflective,
            "shading_exponent": shading_exponent, "shadow_scale": shadow_scale}


def _grain_levels(frame: Frame, cutout: Cutout, config: RelightConfig) -> dict[str, float]:
    """Grain levels (sRGB units): the cut-out's own noise at its placed scale, the background's
    share (only on a scene without grain of its own) and the product's (a plate's match)."""
    product_noise = _cutout_noise(cutout) * min(float(frame.spec.placement.scale), 1.0)
    scene_noise = float(frame.grain)
    background_grain = max(product_noise - scene_noise, config.min_grain) if scene_noise <= 0 else 0.0
    match = frame.plate_match
    product_grain = float(match.noise) if match is not None else 0.0
    return {"product_noise": product_noise, "background": background_grain, "product": product_grain}


def _relight_record(frame: Frame, config: RelightConfig, base_y: float, adaptation: dict[str, Any],
                    strength: float, delta_e: tuple[float, float], delta_e_pixels: int, grain: dict[str, float],
                    reflection: bool, timings: dict[str, float]) -> dict[str, Any]:
    """The ``relight`` provenance record: parameters, light, geometry and the measured bound."""
    light = frame.light
    assert light is not None
    lx, ly, lz = (float(v) for v in light.direction())
    match = frame.plate_match
    de_mean, de_p95 = delta_e
    return record(
        "relight", "embedded",
        params={k: v for k, v in asdict(config).items()},
        inputs=dict(frame.spec.provenance.get("inputs", {})),  # the hashes render recorded, from the spec
        light={"azimuth": light.azimuth, "elevation": light.elevation, "softness": light.softness,
               "kelvin": light.kelvin, "intensity": light.intensity, "direction": [lx, ly, lz]},
        shadow_matrix=[[float(v) for v in row] for row in shadow_matrix(base_y, light)],
        base_y=base_y,
        reflection=reflection,
        material_adaptation=adaptation,
        floor_gloss=float(frame.spec.floor_gloss),
        shading_strength_applied=round(strength, 4),
        product_delta_e2000_mean=round(de_mean, 4),
        product_delta_e2000_p95=round(de_p95, 4),
        delta_e_pixels=delta_e_pixels,
        grain=grain,
        plate_match=None if match is None else match.to_dict(),
        timings={k: round(v, 4) for k, v in timings.items()},
    )


def relight(frame: Frame, cutout: Cutout, maps: ProductMaps | None = None, config: RelightConfig = RelightConfig(),
            *, overwrite_input: bool = False) -> Frame:
    """Add shadows, reflection, bounded shading, light wrap and grain to a rendered frame.

    Parameters
    ----------
    frame : Frame
        From :func:`packshot.render.render`: its typed fields are read (the placed product layer,
        the placement matrix, the light, the support surface, the scene's grain and a plate's
        match), never the renderer's provenance; the product is not placed again.
    cutout : Cutout
        The same cut-out the frame was rendered from (its own grain is measured on it; the
        normals of ``maps`` are in its pixels).
    maps : ProductMaps, optional
        Normals for the shading; without maps the product is shaded as a flat card (colour
        temperature only).
    config : RelightConfig
    overwrite_input : bool
        The caller no longer needs ``frame``: its pixel array may be reused for the result
        (one full-size image less; a large canvas needs it). Default False: ``frame`` is left
        untouched.

    Returns
    -------
    Frame
        Same size, alpha, box and product layer, with the shadow and reflection layers drawn;
        ``provenance["relight"]`` records the parameters, the shading strength applied and the
        measured ``product_delta_e2000_mean``.
    """
    timings: dict[str, float] = {}
    t_start = time.perf_counter()
    W, H = frame.size
    placed = _product_layer(frame)
    box = frame.product_box
    background_part = _background_share(frame, placed, overwrite_input)
    assert frame.light is not None
    base_y = float(box[3]) - 0.5
    prod_h = float(max(box[3] - box[1], 1))
    # a floor below a line varies by row only: held as one column, broadcast (no full-size array)
    support = None if frame.support.kind == "all" else support_mask(frame.support, (W, H), broadcast=True)
    timings["place_s"] = time.perf_counter() - t_start
    adaptation = _material_adaptation(maps, config)
    shadow_scale, shading_exponent = adaptation["shadow_scale"], adaptation["shading_exponent"]

    shadow_layer, reflection_layer = _floor_layers(background_part, placed, frame, base_y, prod_h, support,
                                                   config, shadow_scale, timings)
    ys_c, xs_c = _crop(box, SHADING_CROP_MARGIN, (W, H))
    a_c = placed.alpha_window(ys_c, xs_c)
    shading = _shade_product(background_part, placed, frame, cutout, maps, a_c, ys_c, xs_c, shading_exponent,
                             config, timings)

    t0 = time.perf_counter()
    grain = {"product_noise": 0.0, "background": 0.0, "product": 0.0}
    out = background_part  # ours: no copy needed
    if config.grain:
        grain = _grain_levels(frame, cutout, config)
        if grain["background"] > 0 or grain["product"] > 0:
            _add_grain(out, placed, frame, grain["background"], grain["product"])
    np.clip(out, 0.0, 1.0, out=out)
    timings["grain_s"] += time.perf_counter() - t0

    # ------------------------------------------------------------------ measure the bound on the result
    t0 = time.perf_counter()
    idx = shading.idx
    # on interior pixels alpha is 1: the frame shows the product itself
    final_samples = out[ys_c, xs_c][np.unravel_index(idx, a_c.shape)]
    de_mean, de_p95 = mean_delta_e(final_samples, shading.product_samples, np.arange(idx.size))
    timings["measure_s"] = time.perf_counter() - t0
    timings["total_s"] = time.perf_counter() - t_start

    rec = _relight_record(frame, config, base_y, adaptation, shading.strength, (de_mean, de_p95), int(idx.size),
                          grain, reflection_layer is not None, timings)
    provenance = dict(frame.provenance)
    provenance["relight"] = rec
    assert frame.layers is not None
    layers = FrameLayers(product=frame.layers.product, shadow=shadow_layer, reflection=reflection_layer,
                         flattened=True)
    return dataclasses.replace(frame, rgb=out, provenance=provenance, layers=layers)


# ------------------------------------------------------------------------------------ the backends
class Relighter(Protocol):
    """A relight backend: the frame relit, its product layer read from the frame's typed fields.

    ``overwrite_input`` says the caller no longer needs ``frame`` (its pixels may be reused).
    """

    name: str

    def __call__(self, frame: Frame, cutout: Cutout, maps: ProductMaps | None = None, *,
                 overwrite_input: bool = False) -> Frame:
        ...


@dataclass(frozen=True)
class BoundedRelighter:
    """The embedded relight (:func:`relight`) as a registered backend."""

    config: RelightConfig = RelightConfig()
    name = "bounded"

    def __call__(self, frame: Frame, cutout: Cutout, maps: ProductMaps | None = None, *,
                 overwrite_input: bool = False) -> Frame:
        return relight(frame, cutout, maps, self.config, overwrite_input=overwrite_input)


RELIGHTERS: Registry[Relighter] = Registry("relight backend")
"""Relight backends by name: ``bounded`` and ``iclight:FOLDER``."""


@RELIGHTERS.register("bounded", doc="Shadows, floor reflection, shading bounded by mean deltaE2000, light wrap "
                                    "and grain from the scene's key light (no model).")
def _bounded(config: RelightConfig | None = None) -> Relighter:
    return BoundedRelighter(config or RelightConfig())


@RELIGHTERS.register("iclight", takes_argument=True,
                     doc="IC-Light-style model relight (SD 1.5 UNet, fc or fbc) from a local folder, with detail "
                         "transfer and the deltaE bound. Extra: diffusion.")
def _iclight(folder: str, config: Any = None) -> Relighter:
    from .model import ModelRelighter, ModelRelightConfig

    return ModelRelighter(f"iclight:{folder}", config or ModelRelightConfig())


BACKENDS = RELIGHTERS
"""Alias: every stage names its registry ``BACKENDS``."""


def relight_with(backend: str, frame: Frame, cutout: Cutout, maps: ProductMaps | None = None, config: Any = None,
                 *, overwrite_input: bool = False) -> Frame:
    """Relight ``frame`` with the backend named ``backend`` (a name in :data:`RELIGHTERS`);
    ``config`` is that backend's config (:class:`RelightConfig`, :class:`~packshot.relight.model.ModelRelightConfig`),
    None for its defaults."""
    relighter = RELIGHTERS.create(backend, **({"config": config} if config is not None else {}))
    return relighter(frame, cutout, maps, overwrite_input=overwrite_input)


__all__ = ["relight", "relight_with", "RelightConfig", "Relighter", "BoundedRelighter", "RELIGHTERS", "BACKENDS",
           "interior_mask", "mean_delta_e", "sample_indices"]
