"""Rendering a clip: static layers once, only the cheap parts per frame.

Fast by construction:

* the **background** (wall, floor, textures, podium) is painted once per clip by the scene's
  renderer, at the largest magnification the camera reaches, without the product;
* the **light** (shadows, floor reflection and the product's bounded re-shading) comes from the
  relight stage itself, run on a reduced-size copy of the still at key lights only (one for a
  static light; a key every few degrees of a moving light) and stored as two smooth layers: a
  ground multiplier (shadow / reflection) and a product gain; frames between keys interpolate;
* per frame, the camera and parallax are warps of the background, the ground multiplier and the
  locked product (:func:`packshot.ops.placement.place_product`, the still's own warp), and one
  composite.

The product's pixels are never repainted: each frame shows the cut-out under an affine warp
times the relight stage's bounded gain. Frames are yielded one at a time, so a clip never sits
on disk or in memory as a whole.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from typing import Any, Iterator

import cv2
import numpy as np

from ..errors import EmptyProductError
from ..types import Cutout, Light, Placement, ProductMaps, SceneSpec, alpha_bbox
from .plan import PARALLAX_OVERSCAN, FramePlan, MotionSpec, light_moves, plan_motion


@dataclass(frozen=True)
class ClipConfig:
    """Settings of the clip renderer."""

    light_max_side: int = 768
    """Longest side (px) of the reduced still the relight stage runs on at each key light."""
    max_azimuth_step: float = 6.0
    """Most degrees the key light moves between two relit keys (frames between interpolate)."""
    max_oversample: float = 1.5
    """Largest magnification the background is painted at (beyond it, it is enlarged)."""
    wall_rate: float = 0.3
    """parallax: the wall's travel as a share of the product's (the floor goes from it to 1 at the base)."""
    relight: bool = True
    """Run the relight stage (shadows, reflection, bounded shading); False: the plain composite."""


@dataclass
class ClipFrame:
    """One rendered frame: linear RGB, the product's declared alpha and its placement."""

    index: int
    rgb: np.ndarray
    """float32 H x W x 3 linear light (reused by the next frame: copy it to keep it)."""
    product_alpha: np.ndarray
    """float32 H x W declared product alpha (times the reveal opacity)."""
    unlit_product: np.ndarray
    """float32 H x W x 3 premultiplied colour of the locked product before the relight gain."""
    matrix: np.ndarray
    """2 x 3 cut-out px -> frame px."""
    plan: FramePlan
    region: tuple[int, int, int, int]
    """(y0, y1, x0, x1) the product can touch."""


def scale_spec(spec: SceneSpec, factor: float, canvas: tuple[int, int]) -> SceneSpec:
    """The same scene at ``factor`` times the size (canvas, placement and floor line scaled)."""
    p = spec.placement
    placement = Placement((p.center[0] * factor, p.center[1] * factor), p.scale * factor, p.rotation)
    return dataclasses.replace(spec, canvas=(int(canvas[0]), int(canvas[1])), placement=placement,
                               floor_y=float(spec.floor_y) * factor)


def camera_matrix(plan: FramePlan, centre: tuple[float, float], with_drop: bool = True) -> np.ndarray:
    """2 x 3 still px -> frame px for the product layer: zoom about ``centre``, then shift (and drop)."""
    z = plan.zoom
    cx, cy = centre
    return np.array([[z, 0.0, cx * (1 - z) + plan.shift],
                     [0.0, z, cy * (1 - z) - (plan.drop if with_drop else 0.0)]], np.float64)


def _compose(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (np.vstack([a, [0, 0, 1]]) @ np.vstack([b, [0, 0, 1]]))[:2]


def _scale(f: float) -> np.ndarray:
    """still px -> px of a copy ``f`` times the size (pixel centres kept: x' = (x + .5) f - .5)."""
    return np.array([[f, 0, 0.5 * f - 0.5], [0, f, 0.5 * f - 0.5]], np.float64)


def _shift(x: float, y: float) -> np.ndarray:
    """Crop px -> px of the array it was cut from (the crop starts at x, y)."""
    return np.array([[1.0, 0, x], [0, 1.0, y]], np.float64)


def _fill(values: np.ndarray, known: np.ndarray, sigma: float, default: float) -> np.ndarray:
    """Unknown pixels of ``values`` from known neighbours (normalised blur), ``default`` far away."""
    w = known.astype(np.float32)
    v = values * (w[..., None] if values.ndim == 3 else w)
    k = int(2 * math.ceil(3 * sigma) + 1)
    num = cv2.GaussianBlur(v, (k, k), sigma)
    den = cv2.GaussianBlur(w, (k, k), sigma)
    if values.ndim == 3:
        den = den[..., None]
    filled = np.where(den > 1e-3, num / np.maximum(den, 1e-6), default).astype(np.float32)
    return np.where((known[..., None] if values.ndim == 3 else known), values, filled).astype(np.float32)


@dataclass
class _LightKey:
    light: Light
    ground: np.ndarray   # (ground multiplier - 1) on the reduced still, H x W
    gain: np.ndarray     # (product gain - 1) on the reduced still, H x W x 3
    box: tuple[int, int, int, int] | None  # (x0, y0, x1, y1) where the ground multiplier is not 1


_GROUND_EPS = 1e-3
"""Ground multiplier changes below this (0.1 % of the light) are not drawn."""


def _ground_box(ground_m1: np.ndarray) -> tuple[int, int, int, int] | None:
    big = np.abs(ground_m1) > _GROUND_EPS
    rows = np.flatnonzero(big.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(big.any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


class ClipRenderer:
    """Renders the frames of one clip (see the module docstring).

    Parameters
    ----------
    spec : SceneSpec
        The scene at the clip's size (from :func:`packshot.condition.condition`).
    cutout, maps : the locked product and its maps.
    motion : MotionSpec
    backend : render backend name ("studio", "plate").
    config : ClipConfig
    """

    def __init__(self, spec: SceneSpec, cutout: Cutout, maps: ProductMaps | None, motion: MotionSpec,
                 backend: str = "studio", config: ClipConfig = ClipConfig()):
        from ..render import RENDERERS
        from ..ops.placement import place_product

        t0 = time.perf_counter()
        self.spec, self.cutout, self.maps, self.motion, self.config = spec, cutout, maps, motion, config
        W, H = spec.canvas
        if W % 2 or H % 2:
            raise ValueError(f"clip size {W}x{H}: yuv420p video needs even sides")
        self.size = (W, H)
        if spec.plate is not None and backend == "studio":
            backend = "plate"
        self.backend = backend
        box = alpha_bbox(cutout.alpha)
        if box is None:
            raise EmptyProductError("cutout", "the cut-out has no product pixels (alpha is empty)")
        self.plans = plan_motion(motion, spec.light, (W, H))
        self.centre = (float(spec.placement.center[0]), float(spec.placement.center[1]))
        self.still_matrix = spec.placement.matrix(box)  # cut-out px -> still px

        # ---- the static background, once, at the largest magnification needed
        zmax = max(p.zoom for p in self.plans)
        sb = min(max(zmax, 1.0), config.max_oversample)
        Wb = int(math.ceil(W * sb))
        sb = Wb / W
        Hb = int(round(H * sb))
        spec_big = scale_spec(spec, sb, (Wb, Hb))
        placed_big = place_product(cutout.rgb, cutout.alpha, _compose(_scale(sb), self.still_matrix), (Wb, Hb))
        renderer = RENDERERS.create(backend)
        self.background, self.scene_info = renderer.background(spec_big, placed_big)
        self.background = np.ascontiguousarray(self.background, np.float32)
        self.big_scale = sb
        del placed_big
        self.ground_rows = self._ground_rows()

        # ---- the light, from the relight stage on a reduced copy of the still
        ss = min(1.0, config.light_max_side / max(W, H))
        Ws, Hs = max(2, int(round(W * ss))), max(2, int(round(H * ss)))
        ss = Ws / W
        self.small_scale = ss
        self._small_spec = scale_spec(spec, ss, (Ws, Hs))
        self._keys: dict[int, _LightKey] = {}
        self.key_frames = self._key_frames()
        self._small_frame = None
        if config.relight:
            from ..render import render

            self._small_frame = render(self._small_spec, cutout, maps, backend=backend)
            # the product's box on the reduced still (plus the fill's reach): the gain lives there only
            pb = alpha_bbox(self._small_frame.product_alpha, threshold=0.0)
            if pb is None:
                raise EmptyProductError("motion", "the product falls outside the reduced still")
            hs, ws = self._small_frame.product_alpha.shape
            self._gain_box = (max(pb[0] - 3, 0), max(pb[1] - 3, 0), min(pb[2] + 3, ws), min(pb[3] + 3, hs))
        self.relit_keys = 0
        self.setup_s = time.perf_counter() - t0
        self.timings: dict[str, float] = {"setup_s": self.setup_s, "light_s": 0.0, "ground_s": 0.0,
                                          "product_s": 0.0, "composite_s": 0.0}
        self._out = np.empty((H, W, 3), np.float32)
        # the locked product, premultiplied once (place_product does this on every call)
        from ..ops.placement import crop_to_product

        crop_rgb, crop_alpha, self._crop_offset = crop_to_product(cutout.rgb, cutout.alpha)
        self._src = np.empty(crop_alpha.shape + (4,), np.float32)
        np.multiply(crop_rgb, crop_alpha[..., None], out=self._src[..., :3])
        self._src[..., 3] = crop_alpha
        self._alpha = np.zeros((H, W), np.float32)
        self._pre = np.zeros((H, W, 3), np.float32)
        self._last_region = (0, 0, 0, 0)

    # ------------------------------------------------------------------ layers
    def _ground_rows(self) -> np.ndarray:
        """Parallax rate of each row of the still: the wall at ``wall_rate``, the floor rising
        linearly from it at the wall's foot (the horizon of the set) to 1 at the product's base
        and beyond toward the camera: a flat floor's image motion is proportional to its
        nearness, which grows linearly with the row below the horizon."""
        W, H = self.size
        wall = self.config.wall_rate
        box = alpha_bbox(self.cutout.alpha)
        base = float((self.still_matrix @ np.array([0.5 * (box[0] + box[2]), box[3], 1.0]))[1])
        horizon = self.scene_info.get("horizon") if isinstance(self.scene_info, dict) else None
        if horizon is not None and np.isfinite(horizon):
            horizon = float(horizon) / self.big_scale  # painted on the magnified background
        else:
            horizon = base - 0.24 * H
        horizon = min(horizon, base - 1.0)
        slope = (1.0 - wall) / (base - horizon)
        cap = horizon + (PARALLAX_OVERSCAN - wall) / slope
        # rate = a + b * still_row on each piece: the wall, the floor, and (rows nearer than the
        # base move faster) the floor capped at the overscan the plan leaves at the frame's edges
        self._rate_pieces = ((-np.inf, horizon, wall, 0.0), (horizon, cap, wall - slope * horizon, slope),
                             (cap, np.inf, PARALLAX_OVERSCAN, 0.0))
        ys = np.arange(H, dtype=np.float64)
        rate = np.where(ys <= horizon, wall, wall + slope * (ys - horizon))
        return np.minimum(rate, PARALLAX_OVERSCAN).astype(np.float32)

    def _key_frames(self) -> list[int]:
        n = len(self.plans)
        if not (self.config.relight and light_moves(self.motion)):
            return [0]
        keys = [0]
        last = self.plans[0].light.azimuth
        for i in range(1, n):
            d = abs((self.plans[i].light.azimuth - last + 180.0) % 360.0 - 180.0)
            if d >= self.config.max_azimuth_step:
                keys.append(i)
                last = self.plans[i].light.azimuth
        if keys[-1] != n - 1:
            keys.append(n - 1)
        return keys

    def _light_key(self, frame_index: int) -> _LightKey:
        if frame_index in self._keys:
            return self._keys[frame_index]
        from ..relight import RelightConfig, relight

        t0 = time.perf_counter()
        light = self.plans[frame_index].light
        base = self._small_frame
        spec = dataclasses.replace(self._small_spec, light=light)
        relit = relight(dataclasses.replace(base, spec=spec, light=light), self.cutout, self.maps, RelightConfig(grain=False))
        a = base.product_alpha
        plain = np.maximum(base.rgb, 1e-4)
        ratio = relit.rgb / plain
        ground = _fill(ratio.mean(axis=2), a < 0.02, 2.0, 1.0)
        gain = _fill(ratio, a > 0.98, 2.0, 1.0)
        ground_m1 = np.clip(ground, 0.0, 3.0) - 1.0
        x0, y0, x1, y1 = self._gain_box
        gain_m1 = np.ascontiguousarray(np.clip(gain[y0:y1, x0:x1], 0.25, 4.0) - 1.0)
        key = _LightKey(light, ground_m1, gain_m1, _ground_box(ground_m1))
        self._keys[frame_index] = key
        self.relit_keys += 1
        self.timings["light_s"] += time.perf_counter() - t0
        return key

    def _light_at(self, i: int) -> tuple[np.ndarray, np.ndarray, tuple[int, int, int, int] | None] | None:
        if not self.config.relight:
            return None
        keys = self.key_frames
        if len(keys) == 1:
            k = self._light_key(keys[0])
            return self._ground_crop(k.ground, k.box), k.gain, k.box
        j = int(np.searchsorted(keys, i, side="right")) - 1
        j = min(max(j, 0), len(keys) - 2)
        k0, k1 = keys[j], keys[j + 1]
        a, b = self._light_key(k0), self._light_key(k1)
        for k in [k for k in self._keys if k < k0]:  # the clip runs forward: older keys are done
            del self._keys[k]
        w = (i - k0) / max(k1 - k0, 1)
        if w <= 0.0:
            return self._ground_crop(a.ground, a.box), a.gain, a.box
        if w >= 1.0:
            return self._ground_crop(b.ground, b.box), b.gain, b.box
        t0 = time.perf_counter()
        boxes = [k.box for k in (a, b) if k.box is not None]
        box = None
        if boxes:
            box = (min(q[0] for q in boxes), min(q[1] for q in boxes), max(q[2] for q in boxes), max(q[3] for q in boxes))
        ga, gb = self._ground_crop(a.ground, box), self._ground_crop(b.ground, box)
        ground = None if ga is None else ga + np.float32(w) * (gb - ga)
        out = (ground, a.gain + np.float32(w) * (b.gain - a.gain), box)
        self.timings["light_s"] += time.perf_counter() - t0
        return out

    @staticmethod
    def _ground_crop(ground: np.ndarray, box: tuple[int, int, int, int] | None) -> np.ndarray | None:
        if box is None:
            return None
        x0, y0, x1, y1 = box
        return ground[y0:y1, x0:x1]

    # ------------------------------------------------------------------ frames
    def place(self, matrix: np.ndarray) -> tuple[int, int, int, int]:
        """The product warped into the frame buffers (``_pre``, ``_alpha``); returns its region.

        The same computation as :func:`packshot.ops.placement.place_product` (the still's warp,
        which qa uses as the reference), with the premultiplied cut-out prepared once and the
        frame-size buffers reused instead of allocated per frame.
        """
        from ..ops.placement import warp_layer

        W, H = self.size
        ly0, ly1, lx0, lx1 = self._last_region
        self._alpha[ly0:ly1, lx0:lx1] = 0.0
        self._pre[ly0:ly1, lx0:lx1] = 0.0
        m = _compose(np.asarray(matrix, np.float64), self._crop_offset)
        ch, cw = self._src.shape[:2]
        corners = m @ np.array([[0, cw, 0, cw], [0, 0, ch, ch], [1, 1, 1, 1]], np.float64)
        x0 = int(np.clip(np.floor(corners[0].min()) - 2, 0, W))
        x1 = int(np.clip(np.ceil(corners[0].max()) + 2, 0, W))
        y0 = int(np.clip(np.floor(corners[1].min()) - 2, 0, H))
        y1 = int(np.clip(np.ceil(corners[1].max()) + 2, 0, H))
        self._last_region = (y0, y1, x0, x1)
        if x1 <= x0 or y1 <= y0:
            return self._last_region
        local = m.copy()
        local[:, 2] -= (x0, y0)
        region = warp_layer(self._src, local, (x1 - x0, y1 - y0))
        np.clip(region, 0.0, 1.0, out=region)
        np.minimum(region[..., :3], region[..., 3:4], out=region[..., :3])
        self._pre[y0:y1, x0:x1] = region[..., :3]
        self._alpha[y0:y1, x0:x1] = region[..., 3]
        return self._last_region

    def frame_matrix(self, plan: FramePlan) -> np.ndarray:
        """The planned placement of the product in a frame (cut-out px -> frame px)."""
        return _compose(camera_matrix(plan, self.centre), self.still_matrix)

    def _ground(self, plan: FramePlan, out: np.ndarray) -> None:
        W, H = self.size
        cam = camera_matrix(plan, self.centre, with_drop=False)
        cam[0, 2] -= plan.shift  # the ground's shift is per row
        big_to_frame = _compose(cam, np.linalg.inv(np.vstack([_scale(self.big_scale), [0, 0, 1]]))[:2])
        if plan.shift == 0.0:
            cv2.warpAffine(self.background, big_to_frame, (W, H), dst=out, flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REFLECT)
            return
        # Each piece of the rate (wall, floor, near floor) is affine in the row, so the ground's
        # map is affine on each band of frame rows: one warp per band, no per-pixel map.
        z, s = plan.zoom, plan.shift
        cx, cy = self.centre
        sb = self.big_scale
        for y_lo, y_hi, a, b in self._rate_pieces:
            # still row y = (frame row - cy (1 - z)) / z
            r0 = 0 if not np.isfinite(y_lo) else int(np.clip(np.ceil(z * y_lo + cy * (1 - z)), 0, H))
            r1 = H if not np.isfinite(y_hi) else int(np.clip(np.ceil(z * y_hi + cy * (1 - z)), 0, H))
            if r1 <= r0:
                continue
            # frame (x, y) -> still: x_s = cx + (x - cx - s (a + b y_s)) / z, y_s = cy + (y - cy) / z
            ay, cy0 = 1.0 / z, cy - cy / z  # y_s = ay * y + cy0
            still = np.array([[1.0 / z, -s * b * ay / z, cx - cx / z - s * (a + b * cy0) / z],
                              [0.0, ay, cy0]], np.float64)
            to_big = _compose(_scale(sb), still)
            to_big[:, 2] += to_big[:, 1] * r0  # the band starts at frame row r0
            cv2.warpAffine(self.background, to_big, (W, r1 - r0), dst=out[r0:r1],
                           flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REFLECT)

    def _warp_small(self, layer: np.ndarray, small_to_frame: np.ndarray, region: tuple[int, int, int, int]
                    ) -> np.ndarray:
        y0, y1, x0, x1 = region
        local = small_to_frame.copy()
        local[:, 2] -= (x0, y0)
        return cv2.warpAffine(layer, local, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=0)

    def frames(self) -> Iterator[ClipFrame]:
        """Render every frame in order (each :class:`ClipFrame` reuses the previous one's buffers)."""
        W, H = self.size
        small_inv = np.linalg.inv(np.vstack([_scale(self.small_scale), [0, 0, 1]]))[:2]
        for plan in self.plans:
            t0 = time.perf_counter()
            out = self._out
            self._ground(plan, out)
            t1 = time.perf_counter()
            light = self._light_at(plan.index)
            matrix = self.frame_matrix(plan)
            y0, y1, x0, x1 = self.place(matrix)
            if y1 <= y0 or x1 <= x0 or float(self._alpha[y0:y1, x0:x1].max()) <= 0.5:
                raise EmptyProductError("motion", f"frame {plan.index}: the product leaves the {W}x{H} frame")
            t2 = time.perf_counter()
            o = plan.opacity
            if light is not None:
                ground_m1, gain_m1, gbox = light
                # shadows and reflection stay on the floor: they follow the product's travel, not its drop
                cam = camera_matrix(plan, self.centre, with_drop=False)
                g = _compose(cam, small_inv)
                if gbox is not None:
                    bx0, by0, bx1, by1 = gbox
                    corners = g @ np.array([[bx0, bx1, bx0, bx1], [by0, by0, by1, by1], [1, 1, 1, 1]], np.float64)
                    gx0 = int(np.clip(np.floor(corners[0].min()) - 2, 0, W))
                    gx1 = int(np.clip(np.ceil(corners[0].max()) + 2, 0, W))
                    gy0 = int(np.clip(np.floor(corners[1].min()) - 2, 0, H))
                    gy1 = int(np.clip(np.ceil(corners[1].max()) + 2, 0, H))
                    if gx1 > gx0 and gy1 > gy0:
                        m = self._warp_small(ground_m1, _compose(g, _shift(bx0, by0)), (gy0, gy1, gx0, gx1))
                        if o < 1.0:
                            m *= o * o  # the shadow grows in with the product
                        m += 1.0
                        out[gy0:gy1, gx0:gx1] *= m[..., None]
            pre = self._pre[y0:y1, x0:x1]
            a = self._alpha[y0:y1, x0:x1]
            win = out[y0:y1, x0:x1]
            if light is not None:
                gain = self._warp_small(gain_m1, _compose(_compose(camera_matrix(plan, self.centre), small_inv),
                                                          _shift(self._gain_box[0], self._gain_box[1])),
                                        (y0, y1, x0, x1))
                gain += 1.0
                gain *= pre
                lit = gain
            else:
                lit = pre.copy()
            if o < 1.0:
                lit *= o
                a *= o
            keep = 1.0 - a
            win *= keep[..., None]
            win += lit
            np.minimum(win, 1.0, out=win)  # every term is >= 0; a gain above 1 can pass 1
            t3 = time.perf_counter()
            self.timings["ground_s"] += t1 - t0
            self.timings["product_s"] += t2 - t1
            self.timings["composite_s"] += t3 - t2
            yield ClipFrame(plan.index, out, self._alpha, self._pre, matrix, plan, (y0, y1, x0, x1))

    def describe(self) -> dict[str, Any]:
        """JSON-ready facts for the sidecar."""
        return {"backend": self.backend, "size": list(self.size), "frames": len(self.plans),
                "background_scale": round(self.big_scale, 4), "light_scale": round(self.small_scale, 4),
                "light_keys": list(self.key_frames), "relight": self.config.relight,
                "wall_rate": self.config.wall_rate}
