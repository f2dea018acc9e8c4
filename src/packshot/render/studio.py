"""The ``studio`` renderer: procedural studio scenes built around the product, no model needed.

A seamless paper sweep (or a table top meeting a wall) lit by the scene's key light, with
light fall-off away from the hot spot, an optional podium or plinth (cylinder, box) the product
stands on or an arch panel behind it, shaded from the same light and casting its own shadow,
and procedural surface textures (marble, wood, terrazzo, concrete, linen) mapped onto the floor
in perspective. Everything is linear light; the product itself is not drawn here (it is placed
by :mod:`packshot.render.compose`, its shadows and reflection by :mod:`packshot.relight`).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import cv2
import numpy as np

from ..imaging import srgb_to_linear
from ..types import SceneSpec
from .compose import PlacedProduct, warp_layer
from .geometry import (
    ellipse_coverage,
    fast_blur,
    light_tint,
    polygon_coverage,
    shadow_matrix,
    smoothstep,
)
from .textures import TILE, make_texture, wrap_blur

AMBIENT = 0.55
"""Share of light that is fill (ambient) rather than key: studio fill is generous."""


def _lin(color) -> np.ndarray:
    return srgb_to_linear(np.asarray(color, np.float32))


def _surface(base: np.ndarray, tint: np.ndarray, texture: np.ndarray | None, strength: float) -> np.ndarray:
    """Albedo of a textured surface: base colour moved toward ``tint`` where the texture is high."""
    if texture is None or strength <= 0:
        return np.broadcast_to(base, base.shape)
    t = (texture * strength)[..., None]
    return base * (1.0 - t) + tint * t


def _floor_texture(tile: np.ndarray, shape: tuple[int, int], horizon: float, base_y: float, cx: float) -> tuple[np.ndarray, np.ndarray]:
    """Map a texture tile onto the floor in perspective; returns (texture, visibility).

    Pinhole model: a floor point at distance D appears ``f * hc / D`` below the horizon, so the
    tile coordinates of pixel (x, y) are ``u = (x - cx) * q``, ``v = K * q`` with
    ``q = 1 / (y - horizon)``. Far rows sample a blurred tile (cheap mip-mapping) and fade
    out near the horizon, where texture detail would alias. Only rows below the horizon are
    computed (the rest is 0).
    """
    h, w = shape
    tex = np.zeros((h, w), np.float32)
    visibility = np.zeros((h, w), np.float32)
    y0 = int(np.clip(np.floor(horizon), 0, h))
    if y0 >= h:
        return tex, visibility
    ys = np.arange(y0, h, dtype=np.float32)[:, None]
    rows = h - y0
    dist = np.maximum(ys - horizon, 1.0)
    d_base = max(base_y - horizon, 8.0)
    # tile pixels per image pixel across the floor at the product's base: one tile spans 0.7 W
    k_u = TILE / (0.7 * w) * d_base
    # foreshortening at the base row: 0.35 image px per floor px (f chosen to match)
    k_v = k_u * d_base / 0.35
    map_x = np.mod((np.arange(w, dtype=np.float32)[None, :] - cx) * (k_u / dist), TILE).astype(np.float32)
    map_y = np.ascontiguousarray(np.broadcast_to(np.mod(k_v / dist, TILE), (rows, w)), dtype=np.float32)
    sharp = cv2.remap(tile, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)
    soft = cv2.remap(wrap_blur(tile, 3.0), map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)
    footprint = k_v / dist**2  # tile px per image row: large near the horizon
    w_soft = np.clip((footprint - 1.5) / 4.0, 0.0, 1.0)
    tex[y0:] = sharp + w_soft * (soft - sharp)
    visibility[y0:] = np.clip((ys - horizon) / (0.05 * h), 0.0, 1.0)
    return tex, visibility


def _flat_texture(tile: np.ndarray, shape: tuple[int, int], scale: float) -> np.ndarray:
    """A tile repeated flat (wall, podium front) at ``scale`` tile px per image px."""
    h, w = shape
    map_x = np.broadcast_to(np.mod(np.arange(w, dtype=np.float32)[None, :] * scale, TILE), (h, w))
    map_y = np.broadcast_to(np.mod(np.arange(h, dtype=np.float32)[:, None] * scale, TILE), (h, w))
    return cv2.remap(tile, np.ascontiguousarray(map_x), np.ascontiguousarray(map_y), cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_WRAP)


def _project_shadow(silhouette: np.ndarray, base_y: float, spec: SceneSpec, height: float) -> np.ndarray:
    """Soft cast shadow of an upright silhouette on the floor (0..1)."""
    m = shadow_matrix(base_y, spec.light)
    h, w = silhouette.shape
    shadow = warp_layer(silhouette, m, (w, h))
    return fast_blur(shadow, (0.01 + 0.05 * spec.light.softness) * height)


PODIUM_MIN_RADIUS = 0.16
"""Narrowest podium half-width, as a share of the canvas width."""
PODIUM_MAX_RADIUS = 0.45
"""Widest podium half-width, as a share of the canvas width."""
PODIUM_ASPECT = 0.2
"""Podium top ellipse: vertical radius over horizontal radius (the camera's view down onto it)."""
PODIUM_HEIGHT = 0.22
"""Podium body height, as a share of the canvas height (clipped to the room below it)."""
PODIUM_MIN_HEIGHT = 0.04
"""Lowest podium body, as a share of the canvas height."""
PODIUM_FLOOR_LIMIT = 0.985
"""The podium's bottom rim stays above this share of the canvas height."""
HORIZON_TABLE = 0.2
"""Wall/table-top junction above the ground line, as a share of the canvas height."""
HORIZON_SWEEP = 0.24
"""Centre of a paper sweep's curve above the ground line, as a share of the canvas height."""
HORIZON_MIN = 0.12
"""The horizon never rises above this share of the canvas height."""
EDGE_BAND_TABLE = 0.004
"""Half-width of the table-top edge blend, as a share of the canvas height."""
EDGE_BAND_SWEEP = 0.12
"""Half-width of the sweep's wall-to-floor blend, as a share of the canvas height."""
BAND_ROWS = 256
"""Rows per band when the lit room is assembled (bounds the temporary's size)."""
ILLUM_COARSE = 4
"""The smooth illumination is computed on a grid this many times coarser, then interpolated."""


class _Room(NamedTuple):
    """Where the room's surfaces are, in canvas pixels (podium fields are 0 without a cylinder/box)."""

    W: int
    H: int
    px: float
    prod_w: float
    base_y: float
    ground_y: float
    horizon: float
    textured_floor: bool
    rx: float
    ry: float
    top_cy: float
    podium_h: float


def _room_geometry(spec: SceneSpec, box) -> _Room:
    """The room's layout: product centre, ground line, horizon and the podium's ellipse."""
    W, H = spec.canvas
    b = spec.backdrop
    px = (box[0] + box[2]) / 2.0
    prod_w = max(box[2] - box[0], 1)
    base_y = float(spec.floor_y)
    rx = ry = top_cy = podium_h = 0.0
    if b.get("podium", "none") in ("cylinder", "box"):
        rx = float(np.clip(prod_w / 2 * b.get("podium_width", 1.45), PODIUM_MIN_RADIUS * W, PODIUM_MAX_RADIUS * W))
        ry = rx * PODIUM_ASPECT
        top_cy = base_y - 0.25 * ry
        bottom_room = PODIUM_FLOOR_LIMIT * H - ry
        podium_h = float(np.clip(PODIUM_HEIGHT * H, PODIUM_MIN_HEIGHT * H,
                                 max(bottom_room - top_cy, PODIUM_MIN_HEIGHT * H)))
        ground_y = top_cy + podium_h
    else:
        ground_y = base_y
    textured_floor = b.get("floor_texture", "none") != "none"
    horizon = ground_y - (HORIZON_TABLE if textured_floor else HORIZON_SWEEP) * H
    horizon = max(horizon, HORIZON_MIN * H)
    return _Room(W, H, px, prod_w, base_y, ground_y, horizon, textured_floor, rx, ry, top_cy, podium_h)


def _room_albedo(spec: SceneSpec, room: _Room, seed: int) -> np.ndarray:
    """Wall and floor albedo: a sweep blends over a wide curve, a table top has an edge."""
    W, H = room.W, room.H
    b = spec.backdrop
    ys = np.arange(H, dtype=np.float32)[:, None]
    wall, floor = _lin(b["wall"]), _lin(b["floor"])
    tex_tint = _lin(b.get("texture_tint", (0.5, 0.5, 0.5)))
    strength = float(b.get("texture_strength", 0.0))
    band = (EDGE_BAND_TABLE if room.textured_floor else EDGE_BAND_SWEEP) * H
    t = smoothstep(room.horizon - band, room.horizon + band, ys)  # H x 1: 0 wall, 1 floor
    wall_tex = make_texture(b.get("wall_texture", "none"), seed + 1)
    wall_alb = _surface(wall, tex_tint, None if wall_tex is None else _flat_texture(wall_tex, (H, W), TILE / (0.8 * W)),
                        strength * 0.6)
    floor_tex = make_texture(b.get("floor_texture", "none"), seed)
    if floor_tex is not None:
        ftex, vis = _floor_texture(floor_tex, (H, W), room.horizon, room.ground_y, W / 2.0)
        floor_alb = _surface(floor, tex_tint, ftex * vis, strength)
    else:
        floor_alb = np.broadcast_to(floor, (H, W, 3))
    t3 = t[..., None]  # H x 1 x 1
    if wall_alb.ndim == 1 and floor_tex is None:
        return wall_alb * (1.0 - t3) + floor * t3  # H x 1 x 3: constant along rows
    return np.asarray(wall_alb).reshape((-1, W, 3) if wall_alb.ndim == 3 else (1, 1, 3)) * (1.0 - t3) \
        + floor_alb * t3


def _lit_room(spec: SceneSpec, room: _Room, albedo: np.ndarray) -> np.ndarray:
    """The room's albedo under the key: a hot spot on the light's side of the product, falling off.

    The hot spot is smooth, so it is computed on a coarser grid and interpolated.
    """
    W, H = room.W, room.H
    light = spec.light
    lx = float(light.direction()[0])
    horizon = room.horizon
    ys = np.arange(H, dtype=np.float32)[:, None]
    falloff = float(spec.backdrop.get("sweep_falloff", 0.3))
    hx = room.px + 0.45 * W * lx
    hy = room.base_y - 0.3 * H
    ws_, hs_ = max(2, W // ILLUM_COARSE), max(2, H // ILLUM_COARSE)
    xs_s = (np.arange(ws_, dtype=np.float32)[None, :] + 0.5) * (W / ws_) - 0.5
    ys_s = (np.arange(hs_, dtype=np.float32)[:, None] + 0.5) * (H / hs_) - 0.5
    r2 = ((xs_s - hx) / W) ** 2 + 1.4 * ((ys_s - hy) / H) ** 2
    illum_s = (1.0 - falloff * np.clip(r2 * 1.8, 0.0, 1.0) ** 0.85).astype(np.float32)
    illum = cv2.resize(illum_s, (W, H), interpolation=cv2.INTER_LINEAR)
    # the wall darkens toward the top, away from the key (a function of the row only)
    row_light = 1.0 - 0.4 * falloff * (1.0 - np.clip(ys / max(horizon, 1.0), 0, 1)) ** 2
    if room.textured_floor:
        # a table top meeting the wall: a soft occlusion line along the junction
        row_light = row_light * (1.0 - 0.18 * np.exp(-np.abs(ys - horizon) / (0.012 * H)))
    level = 0.8 + 0.2 * float(light.intensity)
    illum *= row_light
    # in bands of rows: the same arithmetic, without a full-size temporary beside the result
    background = np.empty((H, W, 3), np.float32)
    gain = (light_tint(light.kelvin) * level).astype(np.float32)
    for r0 in range(0, H, BAND_ROWS):
        r1 = min(H, r0 + BAND_ROWS)
        alb = albedo[r0:r1] if albedo.ndim == 3 and albedo.shape[0] == H else albedo
        band = (alb * illum[r0:r1, :, None]).astype(np.float32)
        band *= gain
        background[r0:r1] = band
    return background


def _cylinder_podium(room: _Room, light, r0: int, Hr: int, ys_r, xs):
    """Coverage, shade, shadow support and height of a cylinder podium (rows from ``r0``)."""
    lx, ly, lz = (float(v) for v in light.direction())
    px, rx, ry, top_cy, ground_y = room.px, room.rx, room.ry, room.top_cy, room.ground_y
    key_top = AMBIENT + (1 - AMBIENT) * max(ly, 0.0)
    top = ellipse_coverage((Hr, room.W), px, top_cy - r0, rx, ry)
    bottom = ellipse_coverage((Hr, room.W), px, ground_y - r0, rx, ry)
    xcov = np.clip(np.minimum(xs - (px - rx), (px + rx) - xs) + 0.5, 0, 1)
    rect = xcov * ((ys_r >= top_cy) & (ys_r <= ground_y))
    body = np.maximum(rect, bottom) * (1.0 - top)
    nx = np.clip((xs - px) / rx, -1, 1)
    nz = np.sqrt(1 - nx**2)
    lam = np.clip(nx * lx + nz * lz, 0, None)
    # cylinder body: key from the light side, darker toward the floor (occlusion)
    body_shade = (AMBIENT + (1 - AMBIENT) * lam) * (1.0 - 0.12 * smoothstep(top_cy, ground_y + ry, ys_r))
    top_shade = key_top * (1.0 - 0.08 * np.abs(nx))
    pod_cov = np.clip(top + body, 0, 1)
    shade = (body * body_shade + top * top_shade) / np.maximum(pod_cov, 1e-6)
    support = {"kind": "ellipse", "cx": px, "cy": top_cy, "rx": rx, "ry": ry}
    return pod_cov, shade, support, room.podium_h + ry


def _box_podium(room: _Room, light, r0: int, Hr: int, ys_r):
    """Coverage, shade, shadow support and height of a box plinth (rows from ``r0``)."""
    _, ly, lz = (float(v) for v in light.direction())
    px, rx, ry, ground_y, base_y, H = room.px, room.rx, room.ry, room.ground_y, room.base_y, room.H
    key_top = AMBIENT + (1 - AMBIENT) * max(ly, 0.0)
    key_front = AMBIENT + (1 - AMBIENT) * max(lz, 0.0)
    front_top = base_y + 0.8 * ry
    back = base_y - 1.2 * ry
    shrink = 0.93
    top_pts = np.array([[px - rx, front_top], [px + rx, front_top],
                        [px + rx * shrink, back], [px - rx * shrink, back]])
    front_pts = np.array([[px - rx, front_top], [px + rx, front_top], [px + rx, ground_y + ry],
                          [px - rx, ground_y + ry]])
    shift = np.array([0.0, r0])
    top = polygon_coverage((Hr, room.W), top_pts - shift)
    front = polygon_coverage((Hr, room.W), front_pts - shift) * (1.0 - top)
    # the front face turns away from a key above it: a step darker than the top
    front_shade = 0.9 * key_front * (1.0 - 0.1 * smoothstep(front_top, ground_y + ry, ys_r))
    # a light bevel along the front top edge catches the key
    bevel = np.exp(-((ys_r - front_top) / max(0.002 * H, 0.8)) ** 2) * 0.12 * max(ly, 0)
    pod_cov = np.clip(top + front, 0, 1)
    shade = (front * (front_shade + bevel) + top * key_top) / np.maximum(pod_cov, 1e-6)
    support = {"kind": "polygon", "points": top_pts.tolist()}
    return pod_cov, shade, support, ground_y + ry - back


def _arch_panel(room: _Room, light, region: np.ndarray, arch_top: float, r0: int, Hr: int, ys_r, xs):
    """Coverage and shade of an arch panel behind the product; darkens ``region`` with its wall shadow."""
    lx, _, lz = (float(v) for v in light.direction())
    W, H, px = room.W, room.H, room.px
    key_front = AMBIENT + (1 - AMBIENT) * max(lz, 0.0)
    aw = float(np.clip(room.prod_w * 1.7, 0.25 * W, 0.8 * W))
    arch_bottom = room.base_y - 0.05 * H
    r = aw / 2
    rect = polygon_coverage((Hr, W), np.array([[px - r, arch_top + r - r0], [px + r, arch_top + r - r0],
                                               [px + r, arch_bottom - r0], [px - r, arch_bottom - r0]]))
    dome = ellipse_coverage((Hr, W), px, arch_top + r - r0, r, r) * (ys_r <= arch_top + r + 1)
    pod_cov = np.clip(np.maximum(rect, dome), 0, 1)
    shade = np.broadcast_to(key_front * (1.0 + 0.08 * lx * np.clip((xs - px) / r, -1, 1)), (Hr, W))
    # the arch throws a soft shadow onto the wall on the side away from the light
    offset = np.array([[1, 0, -lx * 0.03 * W], [0, 1, 0.01 * H]], np.float64)
    wall_shadow = fast_blur(warp_layer(pod_cov, offset, (W, Hr)), 0.02 * H)
    region *= (1.0 - 0.25 * wall_shadow * (1 - pod_cov))[..., None]
    return pod_cov, shade, {"kind": "all"}, 0.0


def _paint_podium(background: np.ndarray, spec: SceneSpec, room: _Room, box, seed: int) -> dict[str, Any]:
    """Paint the podium / plinth / arch into ``background`` (in place); returns the shadow support.

    The podium only touches rows below its top (and its shadow a little above): the work is
    done on that band of rows, with absolute coordinates shifted by ``r0``.
    """
    W, H = room.W, room.H
    b = spec.backdrop
    light = spec.light
    podium = b.get("podium", "none")
    arch_top = 0.0
    if podium == "arch":
        arch_top = max(box[1] - 0.1 * H, 0.04 * H)
        r0 = int(max(arch_top - 2, 0))
    else:
        r0 = int(max(room.top_cy - room.ry - 0.1 * H, 0))
    Hr = H - r0
    ys_r = np.arange(H, dtype=np.float32)[:, None][r0:]
    xs = np.arange(W, dtype=np.float32)[None, :]
    tex_tint = _lin(b.get("texture_tint", (0.5, 0.5, 0.5)))
    strength = float(b.get("texture_strength", 0.0))
    pod = _lin(b.get("podium_color", (0.9, 0.9, 0.9)))
    pod_tex_tile = make_texture(b.get("podium_texture", "none"), seed + 2)
    pod_alb = _surface(pod, tex_tint, None if pod_tex_tile is None else
                       _flat_texture(pod_tex_tile, (H, W), TILE / (0.6 * W))[r0:], strength)
    region = background[r0:]
    if podium == "cylinder":
        pod_cov, shade, support, pod_height = _cylinder_podium(room, light, r0, Hr, ys_r, xs)
    elif podium == "box":
        pod_cov, shade, support, pod_height = _box_podium(room, light, r0, Hr, ys_r)
    else:  # arch panel on the floor behind the product
        pod_cov, shade, support, pod_height = _arch_panel(room, light, region, arch_top, r0, Hr, ys_r, xs)
    level = 0.8 + 0.2 * float(light.intensity)
    pod_rgb = pod_alb * shade[..., None]
    pod_rgb *= (light_tint(light.kelvin) * level).astype(np.float32)
    if pod_height > 0:
        # podium's own shadow and contact occlusion on the room floor
        ground_y, rx, ry = room.ground_y, room.rx, room.ry
        cast = _project_shadow(pod_cov, ground_y + ry * 0.5 - r0, spec, pod_height)
        contact = fast_blur(ellipse_coverage((Hr, W), room.px, ground_y - r0, rx * 1.05, ry * 1.2), 0.01 * H)
        occ = np.clip(0.35 * (1 - 0.5 * light.softness) * cast + 0.35 * contact, 0, 0.8)
        region *= (1.0 - occ)[..., None]
    cov3 = pod_cov[..., None]
    background[r0:] = region * (1.0 - cov3) + pod_rgb * cov3
    return support


class StudioRenderer:
    """Procedural studio scenes (sweep, podium, plinth, arch, textures). Registered as ``studio``."""

    name = "studio"
    fresh_background = True
    """Every call paints a new array (render may composite into it)."""

    def background(self, spec: SceneSpec, product: PlacedProduct) -> tuple[np.ndarray, dict[str, Any]]:
        """Paint the scene without the product.

        Returns
        -------
        background : ndarray
            float32 H x W x 3 linear light.
        info : dict
            JSON-ready facts relight needs: ``support`` (where the product's shadow may
            fall, see :func:`packshot.render.geometry.support_mask`), ``noise`` (the
            scene's grain level, 0 here) and the geometry used.
        """
        W, H = spec.canvas
        b = spec.backdrop
        if b.get("view", "front") == "top-down":  # a flat-lay: the surface fills the frame (render.flatlay)
            from .flatlay import flatlay_background

            return flatlay_background(spec, product)
        box = product.box or (0, 0, W, H)
        podium = b.get("podium", "none")
        seed = int(b.get("texture_seed", spec.seed))
        info: dict[str, Any] = {"podium": podium}
        room = _room_geometry(spec, box)
        info["horizon"] = room.horizon
        info["ground_y"] = room.ground_y
        albedo = _room_albedo(spec, room, seed)
        background = _lit_room(spec, room, albedo)
        support: dict[str, Any] = {"kind": "all"}
        if podium in ("cylinder", "box", "arch"):
            support = _paint_podium(background, spec, room, box, seed)
            info["podium_box"] = [float(room.px - room.rx), float(room.top_cy - room.ry), float(room.px + room.rx),
                                  float(room.ground_y + room.ry)] if podium != "arch" else None
        info["support"] = support
        info["noise"] = 0.0
        background = np.asarray(background, np.float32)
        np.clip(background, 0.0, 1.0, out=background)
        return background, info
