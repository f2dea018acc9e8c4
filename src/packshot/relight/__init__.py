"""relight stage: make light, shadow, reflection and edges agree, without changing the product.

Given a rendered :class:`~packshot.types.Frame` (background + locked product), this stage adds,
all from the scene's one key light:

* a **contact shadow** (occlusion right under the base) and a wider ambient occlusion;
* a **cast shadow**: the product's silhouette projected onto the floor away from the light
  (:func:`packshot.render.geometry.shadow_matrix`), sharp at the base and softer and lighter
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

Everything is computed in linear light; the frame's background is recovered exactly as
``frame - placed product`` (the product is re-placed with the frame's own matrix), so no
intermediate layer has to travel with the frame.
"""

from __future__ import annotations

import time
import zlib
from dataclasses import asdict, dataclass
from typing import Any

import cv2
import numpy as np

from ..imaging import delta_e2000, dlinear_dsrgb, linear_to_lab, luminance
from ..provenance import record
from ..types import Cutout, Frame, ProductMaps, alpha_bbox
from ..render.compose import place_product, warp_layer
from ..render.geometry import FLOOR_FORESHORTENING, blur, fast_blur, light_tint, shadow_matrix, support_mask

REFERENCE_LIGHT = np.array([0.0, 0.35, 1.0], np.float32) / np.linalg.norm([0.0, 0.35, 1.0])
"""Key light a packshot is assumed to have been taken under: frontal, a little above."""
AMBIENT = 0.55
"""Fill share in the product shading model (the rest is key light)."""


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
    """Pixels well inside the product: alpha > 0.99, eroded by ``erode_px`` (bool H x W)."""
    core = (alpha > 0.99).astype(np.uint8)
    if erode_px > 0:
        k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * erode_px + 1, 2 * erode_px + 1))
        core = cv2.erode(core, k)
    return core > 0


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


def _cutout_noise(cutout: Cutout, max_side: int = 320) -> float:
    """Grain of the product photo (sRGB units) measured in the cut-out's own pixels.

    Measured before placement: resampling (especially enlarging) smooths grain and would hide
    it from the estimator. At most a ``max_side`` square from the middle of the product is used.
    """
    from ..render.plate import estimate_noise

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


def relight(frame: Frame, cutout: Cutout, maps: ProductMaps | None = None, config: RelightConfig = RelightConfig(),
            *, overwrite_input: bool = False) -> Frame:
    """Add shadows, reflection, bounded shading, light wrap and grain to a rendered frame.

    Parameters
    ----------
    frame : Frame
        From :func:`packshot.render.render` (its provenance carries the placement matrix and
        the scene facts: support surface, grain, plate match).
    cutout : Cutout
        The same cut-out the frame was rendered from (the locked product).
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
        Same size, alpha and box; ``provenance["relight"]`` records the parameters, the
        shading strength applied and the measured ``product_delta_e2000_mean``.
    """
    timings: dict[str, float] = {}
    t_start = time.perf_counter()
    spec = frame.spec
    W, H = frame.size
    render_prov = frame.provenance.get("render", {})
    scene: dict[str, Any] = dict(render_prov.get("scene", {}))
    if "matrix" in render_prov:
        matrix = np.array(render_prov["matrix"], np.float64)
    else:
        from ..render import product_matrix

        matrix = product_matrix(spec, cutout)
    placed = place_product(cutout.rgb, cutout.alpha, matrix, (W, H))
    # the product's alpha is read in windows (placed.alpha_window): a full-canvas copy is only
    # made for the shadows, and freed there
    box = placed.box or frame.product_box
    # the background's share of every pixel: B * (1 - alpha)
    if overwrite_input and frame.rgb.dtype == np.float32 and frame.rgb.flags.writeable \
            and frame.rgb.flags.c_contiguous:
        background_part = frame.rgb
    else:
        background_part = np.array(frame.rgb, dtype=np.float32, copy=True)
    ry0, ry1, rx0, rx1 = placed.region
    if ry1 > ry0 and rx1 > rx0:  # outside the product's region the frame is all background
        win = background_part[ry0:ry1, rx0:rx1]
        win -= placed.region_rgba[..., :3]
        np.maximum(win, 0.0, out=win)
    light = spec.light
    lx, ly, lz = (float(v) for v in light.direction())
    base_y = float(box[3]) - 0.5
    prod_h = float(max(box[3] - box[1], 1))
    support_desc = scene.get("support", {"kind": "all"})
    support = None if support_desc.get("kind", "all") == "all" else support_mask(support_desc, (W, H))
    timings["place_s"] = time.perf_counter() - t_start
    transparent = bool(config.respect_material_flags and maps is not None and maps.has_flag("transparent"))
    reflective = bool(config.respect_material_flags and maps is not None and maps.has_flag("reflective"))
    shadow_scale = 0.6 if transparent else 1.0
    shading_exponent = config.shading_strength * (0.35 if transparent else 1.0) * (0.5 if reflective else 1.0)

    # ------------------------------------------------------------------ shadows
    t0 = time.perf_counter()
    occlusion = None
    if config.shadows:
        # shadows are soft: computed on a coarser grid (2x up to 4096 px, then 1/2048 of the long
        # side, so a very large canvas does not hold a dozen quarter-size float layers)
        f = 2 if max(W, H) > 640 else 1
        if max(W, H) > 4096:
            f = int(np.ceil(max(W, H) / 2048))
        ws, hs = max(1, W // f), max(1, H // f)
        a_s = placed.full_alpha()
        if f > 1:
            a_s = cv2.resize(a_s, (ws, hs), interpolation=cv2.INTER_AREA)
        bs, ph = base_y / f, prod_h / f
        soft = float(light.softness)

        ys = np.arange(hs, dtype=np.float32)[:, None]
        height = np.clip((bs - ys) / ph, 0.0, 1.5)

        def squash(layer: np.ndarray, k: float) -> np.ndarray:
            # y' = base + k (y - base): the layer flattened onto the floor line
            return warp_layer(layer, np.array([[1.0, 0, 0], [0, k, bs * (1 - k)]]), (ws, hs))

        # Only the parts of the product near the floor occlude it: the lowest few percent of
        # its height for the contact shadow, the lower third for the wider ambient occlusion
        # (a tilted product touches with a corner, a pouch with its narrow base).
        near = a_s * np.clip(1.0 - height / 0.08, 0.0, 1.0)
        low = a_s * np.clip(1.0 - height / 0.35, 0.0, 1.0)
        contact = fast_blur(np.maximum(squash(near, 0.5), squash(near, -0.25)), 0.012 * ph + 0.7)
        ambient = fast_blur(np.maximum(squash(low, 0.4), squash(low, -0.15)), 0.06 * ph)
        m = shadow_matrix(bs, light)
        cast0 = warp_layer(a_s, m, (ws, hs))
        dist0 = warp_layer(a_s * height, m, (ws, hs))
        # A solid product is not a card: its footprint reaches behind the front of its base, and
        # the shadow is the union of every depth slice's shadow, so spread it back (up the image)
        # by the footprint's on-screen depth (about its width, foreshortened).
        depth_px = int(round(FLOOR_FORESHORTENING * 0.8 * max(box[2] - box[0], 1) / f))
        if depth_px >= 2:
            kernel = np.ones((depth_px, 1), np.uint8)
            cast0 = cv2.dilate(cast0, kernel, anchor=(0, 0))
            dist0 = cv2.dilate(dist0, kernel, anchor=(0, 0))
        sigmas = ((0.004 + 0.015 * soft) * ph, (0.01 + 0.05 * soft) * ph, (0.02 + 0.11 * soft) * ph)
        levels = [fast_blur(cast0, s) for s in sigmas]
        dist = fast_blur(dist0, sigmas[1]) / np.maximum(levels[1], 1e-4)  # 0 at the base .. 1 at the top's shadow
        tt = np.clip(dist * 2.0, 0.0, 2.0)
        w1 = np.clip(tt, 0, 1)
        w2 = np.clip(tt - 1, 0, 1)
        cast = levels[0] * (1 - w1) + levels[1] * (w1 - w2) + levels[2] * w2
        cast = cast * (1.0 - 0.5 * np.clip(dist, 0, 1))  # lighter further from the contact
        cast_opacity = config.cast_strength * (1.0 - 0.35 * soft) * min(float(light.intensity), 1.5) * shadow_scale
        occ = 1.0 - (1.0 - config.contact_strength * (0.5 + 0.5 * shadow_scale) * np.clip(contact * 1.6, 0, 1)) \
            * (1.0 - 0.3 * np.clip(ambient * 1.3, 0, 1)) * (1.0 - cast_opacity * np.clip(cast, 0, 1))
        # the half-size layers are no longer needed: free them before the full-size ones
        del near, low, contact, ambient, cast0, dist0, levels, dist, tt, w1, w2, cast
        if f > 1:
            occ = cv2.resize(occ, (W, H), interpolation=cv2.INTER_LINEAR)
        occlusion = np.clip(occ, 0.0, 0.95, out=occ if occ.dtype == np.float32 else None)
        if support is not None:
            occlusion *= support
        # darken only where there is shadow (in bands: no full-size temporary)
        rows_any = np.flatnonzero(occlusion.max(axis=1) > 1e-4)
        if rows_any.size:
            r0, r1 = int(rows_any[0]), int(rows_any[-1]) + 1
            for b0 in range(r0, r1, 256):
                b1 = min(r1, b0 + 256)
                background_part[b0:b1] *= (1.0 - occlusion[b0:b1, :, None])
        del occ, occlusion
    timings["shadows_s"] = time.perf_counter() - t0

    # ------------------------------------------------------------------ floor reflection
    t0 = time.perf_counter()
    gloss = float(spec.floor_gloss)
    reflection_drawn = False
    if config.reflection and gloss > 0.01:
        reach = (0.15 + 0.35 * gloss) * prod_h
        y0 = int(max(np.floor(base_y), 0))
        y1 = int(min(np.ceil(base_y + 3.0 * reach), H))
        if y1 > y0:
            rows = y1 - y0
            sigma = (1.0 - gloss) * 0.03 * prod_h + 0.6
            pad = int(np.ceil(3 * sigma)) + 2
            cx0, cx1 = max(box[0] - pad, 0), min(box[2] + pad, W)
            # the source rows the mirrored band needs: y_src = 2 base_y - y
            sy0 = int(max(np.floor(2 * base_y - y1) - 1, 0))
            sy1 = int(min(np.ceil(2 * base_y - y0) + 2, H))
            # mirror about the base line, straight into the band below it
            mirror = np.array([[1.0, 0, 0], [0, -1.0, 2 * base_y - y0 - sy0]])
            mirrored = warp_layer(placed.window(slice(sy0, sy1), slice(cx0, cx1)), mirror, (cx1 - cx0, rows))
            # a very soft reflection (a large canvas: sigma of tens of pixels) is blurred at reduced
            # resolution, as the shadows are; smaller ones keep the exact Gaussian
            refl = fast_blur(mirrored, sigma) if sigma > 32 else blur(mirrored, sigma)
            del mirrored
            yy = np.arange(y0, y1, dtype=np.float32)[:, None] - base_y
            fade = np.where(yy > 0, np.exp(-np.maximum(yy, 0) / reach), 0.0).astype(np.float32)
            weight = config.reflection_strength * gloss * fade
            if support is not None:
                weight = weight * support[y0:y1, cx0:cx1]
            band = background_part[y0:y1, cx0:cx1]
            keep = 1.0 - placed.alpha_window(slice(y0, y1), slice(cx0, cx1))[..., None]
            if weight.dtype == np.float32 and refl.dtype == np.float32:
                # in place (band is a view), the same float32 arithmetic as the expression below
                lit = weight[..., None] * refl[..., :3]
                lit *= keep
                band *= (1.0 - (weight * refl[..., 3])[..., None])
                band += lit
                del lit
            else:
                background_part[y0:y1, cx0:cx1] = band * (1.0 - (weight * refl[..., 3])[..., None]) \
                    + weight[..., None] * refl[..., :3] * keep
            del keep, refl
            reflection_drawn = True
    timings["reflection_s"] = time.perf_counter() - t0

    # ------------------------------------------------------------------ bounded product shading
    t0 = time.perf_counter()
    ys_c, xs_c = _crop(box, 8, (W, H))
    product = placed.straight(ys_c, xs_c)
    a_c = placed.alpha_window(ys_c, xs_c)
    wrap_sigma = max(1.0, 0.0025 * max(W, H))
    interior = interior_mask(a_c, int(np.ceil(2 * wrap_sigma)) + 2)
    idx = sample_indices(interior, config.delta_e_samples)
    match = scene.get("match", {})
    gain = None
    if config.shading:
        tint = light_tint(light.kelvin, 0.3)
        if maps is not None and maps.normals is not None and maps.normals.shape[:2] == cutout.alpha.shape:
            local = np.array(matrix, np.float64)
            local[:, 2] -= (xs_c.start, ys_c.start)
            normals = warp_layer(np.asarray(maps.normals, np.float32), local,
                                 (xs_c.stop - xs_c.start, ys_c.stop - ys_c.start))
            normals = _rotate_normals(normals, spec.placement.rotation)
            key = np.array([lx, ly, lz], np.float32)
            shade = np.empty(normals.shape[:2], np.float32)
            for b0 in range(0, normals.shape[0], 256):  # in bands of rows: per-pixel steps only
                n = normals[b0:b0 + 256]
                n /= np.maximum(np.linalg.norm(n, axis=-1, keepdims=True), 1e-6)
                lam = np.clip(n @ key, 0, None)
                lam0 = np.clip(n @ REFERENCE_LIGHT, 0, None)
                shade[b0:b0 + 256] = (AMBIENT + (1 - AMBIENT) * lam) / (AMBIENT + (1 - AMBIENT) * lam0)
            del normals, n, lam, lam0
            shade = blur(shade, 1.5) ** shading_exponent
        else:
            shade = np.ones(a_c.shape, np.float32)
        gain = shade[..., None] * tint[None, None, :]
        if match.get("gains"):
            gain = gain * np.array(match["gains"], np.float32)
    contrast = float(match.get("contrast", 1.0))
    extra_blur = float(match.get("blur", 0.0))
    if extra_blur > 0.3:
        # blur the product within itself (premultiplied), never mixing in the background
        pa = blur(product * a_c[..., None], extra_blur)
        soft_product = pa / np.maximum(blur(a_c, extra_blur), 1e-4)[..., None]
        soft_product = np.where(a_c[..., None] > 1e-4, soft_product, product)
    else:
        soft_product = product
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

    # the search for the strength runs on a smaller evenly spaced subset of the sample
    search_idx = idx[np.linspace(0, idx.size - 1, min(idx.size, 2500)).astype(np.int64)] if idx.size else idx
    search_ref_lab = linear_to_lab(np.clip(product.reshape(-1, 3)[search_idx], 0, 1))

    def de_at(t: float) -> float:
        if search_idx.size == 0:
            return 0.0
        return float(delta_e2000(linear_to_lab(adjusted(t, search_idx)), search_ref_lab).mean())

    strength = 1.0
    # aim a little under the bound so the full-sample measurement (and grain) stays within it
    target = config.max_delta_e * 0.97
    if de_at(1.0) > target:
        lo, hi = 0.0, 1.0
        for _ in range(6):  # strength to 1/64
            mid_t = 0.5 * (lo + hi)
            if de_at(mid_t) > target:
                hi = mid_t
            else:
                lo = mid_t
        strength = lo
    relit = adjusted(strength, last=True)
    # the measurement at the end needs the cut-out's colour on the sampled pixels only
    product_samples = product.reshape(-1, 3)[idx]
    del product, soft_product, gain
    timings["shading_s"] = time.perf_counter() - t0

    # ------------------------------------------------------------------ light wrap
    t0 = time.perf_counter()
    bg_c = background_part[ys_c, xs_c]
    if config.light_wrap > 0:
        inv = 1.0 - a_c
        wrap_colour = blur(bg_c, wrap_sigma)
        if wrap_colour is bg_c:  # (no blur below sigma 0.3: never a view of the frame to divide in place)
            wrap_colour = np.array(bg_c)
        wrap_colour /= np.maximum(blur(inv, wrap_sigma), 1e-3)[..., None]
        # w = light_wrap * clip(2 clip(1 - blur(a), 0, 1) [a > 0], 0, 1) ** 2, in place
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
        edge *= config.light_wrap
        w = edge[..., None]
        np.clip(wrap_colour, 0, 1, out=wrap_colour)
        wrap_colour *= w
        relit *= 1.0 - w
        relit += wrap_colour
        del wrap_colour, edge, w
    timings["light_wrap_s"] = time.perf_counter() - t0

    # ------------------------------------------------------------------ grain
    t0 = time.perf_counter()
    product_noise = 0.0
    background_grain = 0.0
    product_grain = 0.0
    out = background_part  # ours: no copy needed
    relit *= a_c[..., None]  # bg_c + relit * a_c, in place
    relit += bg_c
    out[ys_c, xs_c] = relit
    del relit
    if config.grain:
        product_noise = _cutout_noise(cutout) * min(float(spec.placement.scale), 1.0)
        scene_noise = float(scene.get("noise", 0.0))
        background_grain = max(product_noise - scene_noise, config.min_grain) if scene_noise <= 0 else 0.0
        product_grain = float(match.get("noise", 0.0))
        rng = np.random.default_rng([int(spec.seed), zlib.crc32(spec.scene.encode()), int(spec.variant), W, H])
        if background_grain > 0 or product_grain > 0:
            # in bands of rows: the generator gives the same stream drawn in pieces, and every
            # step is per pixel, so the result is the same as one full-size pass
            for b0 in range(0, H, 256):
                b1 = min(H, b0 + 256)
                noise = rng.standard_normal((b1 - b0, W), dtype=np.float32)
                a_b = placed.alpha_window(slice(b0, b1), slice(0, W))
                sigma_map = (1.0 - a_b) * background_grain
                if product_grain > 0:
                    sigma_map += a_b * product_grain
                lum = luminance(out[b0:b1])
                slope = dlinear_dsrgb(lum)
                noise *= sigma_map
                noise *= slope
                out[b0:b1] += noise[..., None]
    np.clip(out, 0.0, 1.0, out=out)
    timings["grain_s"] = time.perf_counter() - t0

    # ------------------------------------------------------------------ measure the bound on the result
    t0 = time.perf_counter()
    # on interior pixels alpha is 1: the frame shows the product itself
    final_samples = out[ys_c, xs_c][np.unravel_index(idx, a_c.shape)]
    de_mean, de_p95 = mean_delta_e(final_samples, product_samples, np.arange(idx.size))
    timings["measure_s"] = time.perf_counter() - t0
    timings["total_s"] = time.perf_counter() - t_start

    rec = record(
        "relight", "embedded",
        params={k: v for k, v in asdict(config).items()},
        inputs=dict(render_prov.get("inputs", {})),
        light={"azimuth": light.azimuth, "elevation": light.elevation, "softness": light.softness,
               "kelvin": light.kelvin, "intensity": light.intensity, "direction": [lx, ly, lz]},
        shadow_matrix=[[float(v) for v in row] for row in shadow_matrix(base_y, light)],
        base_y=base_y,
        reflection=reflection_drawn,
        material_adaptation={"transparent": transparent, "reflective": reflective,
                             "shading_exponent": shading_exponent, "shadow_scale": shadow_scale},
        floor_gloss=gloss,
        shading_strength_applied=round(strength, 4),
        product_delta_e2000_mean=round(de_mean, 4),
        product_delta_e2000_p95=round(de_p95, 4),
        delta_e_pixels=int(idx.size),
        grain={"product_noise": product_noise, "background": background_grain, "product": product_grain},
        plate_match=match or None,
        timings={k: round(v, 4) for k, v in timings.items()},
    )
    provenance = dict(frame.provenance)
    provenance["relight"] = rec
    return Frame(rgb=out, product_alpha=frame.product_alpha, product_box=frame.product_box, spec=spec,
                 source_kind=frame.source_kind, provenance=provenance)


__all__ = ["relight", "RelightConfig", "interior_mask", "mean_delta_e", "sample_indices"]
