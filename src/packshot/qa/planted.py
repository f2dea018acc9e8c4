"""Frames with planted defects, built from generated products: the ground truth the qa checks are measured on.

A case is one generated product (:func:`packshot.samples.make_product`) cut out with its exact alpha,
placed on a studio backdrop and lit by a stand-in relight (smooth shading, a tint, light wrap at the
edges, sensor grain) whose mean deltaE2000 on the product interior stays within the 3 units the relight
stage is allowed. Then one defect is planted in the finished frame:

``digit``
    one digit of the dosage/claim line changed (the label redrawn, everything else identical);
``word-removed`` / ``word-invented``
    one word of the product line removed, or a new word added;
``logo-bend``
    the brand line bent by a smooth displacement whose peak is 2 % of the brand text width;
``cap-growth``
    the cap (or the top region of capless products) grown by 5 % about its centre;
``colour``
    the product's colours shifted in CIELAB so that the mean deltaE2000 against the untouched frame is 4.

``shadow-growth`` (flat-lay frames, :data:`FLATLAY_DEFECTS`)
    the side of the product its drop shadow falls beyond (a band 15 % deep across the product, like
    the cap's, on the side away from the key, seen from above) grown by 5 % about its centre, drawn
    over the shadow: the growth qa must still see while it models the shadow the renderer declared.

``untouched`` plants nothing: a correct qa stage passes it.

Everything is deterministic in (kind, seed, defect).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from ..imaging import delta_e2000, lab_to_linear, linear_to_lab, linear_to_srgb, srgb_to_linear
from ..ops.morphology import product_interior
from ..samples import _BRANDS, _CLAIMS, _LINES, make_product
from ..types import Box, Placement, alpha_bbox
from .frames import warp_premultiplied

DEFECTS = ("untouched", "digit", "word-removed", "word-invented", "logo-bend", "cap-growth", "colour")
"""Every planted defect, ``untouched`` first."""
FLATLAY_DEFECTS = DEFECTS + ("shadow-growth",)
"""The defects planted on flat-lay frames: every one above, and growth on the shadow side."""
SHADOW_SIDE_SHARE = 0.15
"""Depth of the shadow-side band grown by ``shadow-growth``, as a share of the product's extent
across that side (the cap's share is 0.10-0.16)."""

_INVENTED_WORDS = ("Plus", "Extra", "Organic", "Max", "Fresh", "Forte")
# Share of the product height that is the cap (lid, can rim); capless kinds use their top region.
_CAP_SHARE = {"bottle": 0.12, "jar": 0.16, "can": 0.10, "box": 0.15, "pouch": 0.15}
_BACKDROPS = ((0.80, 0.80, 0.81), (0.93, 0.86, 0.78), (0.62, 0.78, 0.86), (0.55, 0.58, 0.62), (0.96, 0.96, 0.96))


@dataclass(frozen=True)
class Case:
    """One frame and what it should look like.

    Attributes
    ----------
    frame_rgb : float32 H x W x 3 linear frame (with the planted defect, if any).
    product_alpha : float32 H x W, the locked product alpha the renderer reports (never edited by a defect).
    reference_rgb, reference_alpha : the cut-out warped into the frame (the product as it should look).
    master : float32 linear flat label artwork (the approved master).
    kind, seed, defect : what was generated and planted.
    label_lines : the label text of the approved product.
    label_box : the label's box in frame pixels.
    cap_box : the cap / top region's box in frame pixels.
    cutout_rgb, cutout_alpha : the cut-out (straight alpha) in its own pixels.
    matrix : 2 x 3 affine, cut-out pixels -> frame pixels.
    """

    frame_rgb: np.ndarray
    product_alpha: np.ndarray
    reference_rgb: np.ndarray
    reference_alpha: np.ndarray
    master: np.ndarray
    kind: str
    seed: int
    defect: str
    label_lines: tuple[str, ...]
    label_box: Box
    cap_box: Box
    cutout_rgb: np.ndarray
    cutout_alpha: np.ndarray
    matrix: np.ndarray
    notes: str = ""
    shadow: np.ndarray | None = None
    """The shadow the frame declares (H x W share of the backdrop's light taken away; flat-lay
    frames of the ``pipeline`` engine, :func:`packshot.render.declared_shadow`), else None."""


def base_label(seed: int) -> tuple[str, str, str]:
    """The label make_product would draw for ``seed`` (fixed here so a changed label keeps the geometry)."""
    rng = np.random.default_rng([seed, 7])
    return (_BRANDS[int(rng.integers(len(_BRANDS)))], _LINES[int(rng.integers(len(_LINES)))],
            _CLAIMS[int(rng.integers(len(_CLAIMS)))])


@functools.lru_cache(maxsize=16)
def cutout_of(kind: str, seed: int, label: tuple[str, ...], size: int) -> tuple[np.ndarray, np.ndarray, object]:
    """Straight foreground colour and exact alpha of a generated product (flat backdrop, no shadow).

    Cached (drawing at 4x supersampling is the slow part of building a case): treat the arrays as read-only.
    """
    s = make_product(kind, seed=seed, size=(size, size), label=label, shadow=False, gradient=0.0)
    a = s.mask
    bg = np.asarray(s.background, np.float32)
    fg = (s.image - bg * (1.0 - a[..., None])) / np.maximum(a[..., None], 1e-3)
    fg = np.where(a[..., None] > 1e-3, np.clip(fg, 0.0, 1.0), 0.0).astype(np.float32)
    return fg, a.astype(np.float32), s


def _backdrop(size: tuple[int, int], colour, alpha: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Studio sweep: vertical fall-off, vignette, and a soft contact shadow under the product."""
    import cv2

    w, h = size
    yy = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
    xx = np.linspace(-1, 1, w, dtype=np.float32)[None, :, None]
    srgb = np.asarray(colour, np.float32) * (1 - 0.08 * yy) * (1 - 0.04 * xx**2)
    bg = srgb_to_linear(np.clip(srgb, 0, 1))
    box = alpha_bbox(alpha)
    if box is not None:
        x0, y0, x1, y1 = box
        shadow = np.zeros((h, w), np.float32)
        cx, cy = (x0 + x1) / 2, y1 - 1
        ax, ay = (x1 - x0) * 0.62, max(3.0, (x1 - x0) * 0.08)
        cv2.ellipse(shadow, (int(cx), int(cy)), (int(ax), int(ay)), 0, 0, 360, 1.0, -1)
        shadow = cv2.GaussianBlur(shadow, (0, 0), max(2.0, ay * 0.8))
        bg = bg * (1 - 0.5 * shadow[..., None])
    return bg.astype(np.float32)


def stand_in_relight(frame: np.ndarray, alpha: np.ndarray, backdrop: np.ndarray, rng: np.random.Generator,
                     strength: float = 1.0) -> np.ndarray:
    """What the relight stage does to a product, within its allowance: smooth shading (+-8 % luminance),
    a slight colour-temperature tint, light wrap of the backdrop into the product's edge, and grain."""
    import cv2

    h, w = alpha.shape
    box = alpha_bbox(alpha) or (0, 0, w, h)
    x0, y0, x1, y1 = box
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    u = (xx - (x0 + x1) / 2) / max(x1 - x0, 1)
    v = (yy - (y0 + y1) / 2) / max(y1 - y0, 1)
    ang = float(rng.uniform(0, 2 * np.pi))
    gain = 1.0 + strength * (0.08 * (np.cos(ang) * u + np.sin(ang) * v) * 2 - 0.02 * (u**2 + v**2))
    tint = 1.0 + strength * np.array([0.015, 0.0, -0.015], np.float32) * float(rng.choice([-1.0, 1.0]))
    lit = frame * (gain[..., None] * tint)
    a = alpha[..., None]
    relit = lit * a + frame * (1 - a)
    # light wrap: backdrop light bleeds ~2 px into the product edge
    blur = cv2.GaussianBlur(backdrop, (0, 0), 2.0)
    edge = np.clip(cv2.GaussianBlur(1.0 - alpha, (0, 0), 1.5) * alpha, 0, 1)[..., None]
    relit = relit * (1 - 0.35 * strength * edge) + blur * 0.35 * strength * edge
    # grain in sRGB, like a sensor
    s = linear_to_srgb(np.clip(relit, 0, 1)) + rng.normal(0, 0.006 * strength, relit.shape).astype(np.float32)
    return srgb_to_linear(np.clip(s, 0, 1))


def _label_box_in_frame(sample, matrix: np.ndarray) -> Box:
    x0, y0, x1, y1 = sample.label_box
    pts = np.array([[x0, y0, 1], [x1, y0, 1], [x0, y1, 1], [x1, y1, 1]], np.float64) @ np.asarray(matrix).T
    return (int(np.floor(pts[:, 0].min())), int(np.floor(pts[:, 1].min())),
            int(np.ceil(pts[:, 0].max())), int(np.ceil(pts[:, 1].max())))


PIPELINE_PRESETS = ("studio-white", "studio-grey", "marble", "wood", "concrete", "festive", "winter", "summer",
                    "flatlay-white", "flatlay-paper", "flatlay-linen", "flatlay-wood", "flatlay-stone")
"""Scene presets the ``pipeline`` engine draws from (several have glossy floors: reflections; the
``flatlay-*`` ones are top-down, with an offset drop shadow and a soft contact shadow all round)."""


def _maps_from_alpha(alpha: np.ndarray):
    """ProductMaps from the alpha alone (depth from the distance to the outline, normals from its slope):
    what relight needs, without running the understand stage."""
    import cv2

    from ..types import Materials, ProductMaps

    inside = (alpha > 0.5).astype(np.uint8)
    dist = cv2.distanceTransform(inside, cv2.DIST_L2, 5).astype(np.float32)
    depth = np.sqrt(dist / max(float(dist.max()), 1.0)).astype(np.float32)
    gy, gx = np.gradient(cv2.GaussianBlur(depth, (0, 0), 2.0))
    normals = np.dstack([-gx * 40.0, gy * 40.0, np.ones_like(gx)]).astype(np.float32)
    normals /= np.linalg.norm(normals, axis=-1, keepdims=True)
    zero = np.zeros_like(alpha, dtype=np.float32)
    return ProductMaps(depth=depth, normals=normals, edges=zero, materials=Materials(zero, zero, zero, 0.0, 0.0, 0.0),
                       palette=(), text=(), flags=())


@dataclass(frozen=True)
class PipelineFrame:
    """A frame rendered and relit by the real stages (see :func:`_pipeline_frame`)."""

    rgb: np.ndarray
    product_alpha: np.ndarray
    matrix: np.ndarray
    preset: str
    shadow: np.ndarray | None
    """The declared shadow (frame-sized), None for a front view."""
    shadow_direction: tuple[float, float] | None
    """Unit (x, y) image direction the drop shadow falls in, away from the key (flat-lays), else None."""


def _pipeline_frame(cut_rgb: np.ndarray, cut_alpha: np.ndarray, size: int, rng: np.random.Generator,
                    preset: str | None = None, preset_light: bool = False) -> PipelineFrame:
    """Render and relight the cut-out with the real stages on a random preset and light (``preset``:
    that preset; ``preset_light``: the preset's own key, not one drawn from ``rng``)."""
    from ..condition import condition, parse_brief
    from ..relight import relight
    from ..render import declared_shadow, light_vector, render
    from ..types import Cutout

    drawn = PIPELINE_PRESETS[int(rng.integers(len(PIPELINE_PRESETS)))]
    preset = preset or drawn
    lighting = {"azimuth": float(rng.uniform(0, 180)), "elevation": float(rng.uniform(15, 60)),
                "kelvin": float(rng.uniform(3200, 7500))}
    scene = {"name": "s", "preset": preset, "sizes": [f"{size}x{size}"]}
    if not preset_light:
        scene["lighting"] = lighting
    brief = parse_brief({"scenes": [scene]})
    cutout = Cutout(rgb=cut_rgb, alpha=cut_alpha, image=cut_rgb, bbox=alpha_bbox(cut_alpha), confidence=1.0)
    (spec,) = condition(brief, cutout, None, "sku")
    frame = relight(render(spec, cutout), cutout, _maps_from_alpha(cut_alpha))
    layer = declared_shadow(frame)
    shadow = direction = None
    if layer is not None:
        shadow = layer.window(slice(0, size), slice(0, size), (size, size))
        lx, ly = light_vector(frame.light)
        direction = (-lx, -ly)
    return PipelineFrame(frame.rgb, frame.product_alpha, np.asarray(frame.provenance["render"]["matrix"], np.float64),
                         preset, shadow, direction)


CAP_GROWTH = 1.05
"""Scale of the cap region in a ``cap-growth`` defect."""
COLOUR_SHIFT_DE = 4.0
"""Target CIEDE2000 shift of the product's colour in a ``colour`` defect."""


def _label_defect(label: tuple[str, ...], defect: str, drng: np.random.Generator) -> tuple[tuple[str, ...], str]:
    """The frame's label lines with a text defect planted (``digit``, ``word-*``), and a note."""
    if defect == "digit":
        claim = label[2]
        digits = [i for i, ch in enumerate(claim) if ch.isdigit()]
        i = digits[int(drng.integers(len(digits)))]
        old = int(claim[i])
        new = (old + int(drng.integers(1, 9))) % 10
        if i == digits[0] and new == 0:
            new = (old + 1) % 10 or 1
        changed = claim[:i] + str(new) + claim[i + 1:]
        return (label[0], label[1], changed), f"{claim!r} -> {changed!r}"
    if defect == "word-removed":
        words = label[1].split()
        j = int(drng.integers(len(words)))
        kept = " ".join(w for k, w in enumerate(words) if k != j)
        return (label[0], kept, label[2]), f"{label[1]!r} -> {kept!r}"
    if defect == "word-invented":
        word = _INVENTED_WORDS[int(drng.integers(len(_INVENTED_WORDS)))]
        words = label[1].split()
        j = int(drng.integers(len(words) + 1))
        added = " ".join(words[:j] + [word] + words[j:])
        return (label[0], added, label[2]), f"{label[1]!r} -> {added!r}"
    return label, ""


def _image_defect(frame: np.ndarray, defect: str, ref_alpha: np.ndarray, brand_box, cap_box: Box,
                  drng: np.random.Generator) -> tuple[np.ndarray, str]:
    """The frame with a pixel defect planted (``logo-bend``, ``cap-growth``, ``colour``), and a note.

    ``brand_box`` is called for the brand line's box (only a ``logo-bend`` needs it).
    """
    if defect == "logo-bend":
        return _bend_logo(frame, ref_alpha, brand_box(), drng)
    if defect == "cap-growth":
        return _grow_region(frame, ref_alpha, cap_box, CAP_GROWTH)
    if defect == "colour":
        return _shift_colour(frame, ref_alpha, COLOUR_SHIFT_DE, drng)
    return frame, ""


def make_case(kind: str, seed: int, defect: str = "untouched", size: int = 512, relight: bool = True,
              engine: str = "stand-in", preset: str | None = None, preset_light: bool = False) -> Case:
    """Build one frame of a generated product with ``defect`` planted (see :data:`DEFECTS`).

    Parameters
    ----------
    kind : a :data:`packshot.samples.KINDS` name.
    seed : varies product, label, placement, backdrop, light and the defect's details.
    defect : one of :data:`DEFECTS`.
    size : frame side in pixels (the cut-out is drawn at the same size).
    relight : apply the stand-in relight (shading, tint, light wrap, grain); stand-in engine only.
    engine : "stand-in" (a flat studio sweep and the stand-in relight, fast) or "pipeline" (the real
        condition -> render -> relight stages on a random preset and light: shadows, reflections,
        bounded shading, light wrap, grain).
    preset : the ``pipeline`` engine's preset (default: drawn from :data:`PIPELINE_PRESETS` by the seed).
        ``shadow-growth`` needs a flat-lay one.
    preset_light : light the ``pipeline`` frame with the preset's own key (a flat-lay's: from the top left)
        instead of one drawn by the seed.
    """
    if defect not in FLATLAY_DEFECTS:
        raise ValueError(f"defect must be one of {FLATLAY_DEFECTS}, got {defect!r}")
    if engine not in ("stand-in", "pipeline"):
        raise ValueError(f"engine must be 'stand-in' or 'pipeline', got {engine!r}")
    if preset is not None and engine != "pipeline":
        raise ValueError("a preset is drawn by the 'pipeline' engine only")
    rng = np.random.default_rng([seed, 101])
    label = base_label(seed)
    cut_rgb, cut_alpha, sample = cutout_of(kind, seed, label, size)
    src_box = alpha_bbox(cut_alpha)
    placement = Placement(center=(size * float(rng.uniform(0.45, 0.55)), size * float(rng.uniform(0.47, 0.53))),
                          scale=float(rng.uniform(0.9, 1.1)), rotation=float(rng.uniform(-4, 4)))
    matrix = placement.matrix(src_box)
    ref_rgb, ref_alpha = warp_premultiplied(cut_rgb, cut_alpha, matrix, (size, size))
    backdrop = _backdrop((size, size), _BACKDROPS[int(rng.integers(len(_BACKDROPS)))], ref_alpha, rng)
    light_seed = int(rng.integers(1 << 30))

    drng = np.random.default_rng([seed, 202, FLATLAY_DEFECTS.index(defect)])
    frame_label, notes = _label_defect(label, defect, drng)

    f_rgb, f_alpha = cut_rgb, cut_alpha
    if frame_label != label:
        f_rgb, f_alpha, _ = cutout_of(kind, seed, frame_label, size)
    shadow = shadow_direction = None
    if engine == "pipeline":
        pf = _pipeline_frame(f_rgb, f_alpha, size, np.random.default_rng([seed, 303]), preset, preset_light)
        frame, prod_alpha, matrix, shadow, shadow_direction = (pf.rgb, pf.product_alpha, pf.matrix, pf.shadow,
                                                               pf.shadow_direction)
        ref_rgb, ref_alpha = warp_premultiplied(cut_rgb, cut_alpha, matrix, (size, size))
        notes = f"{pf.preset}; {notes}" if notes else pf.preset
    else:
        prod_rgb, prod_alpha = warp_premultiplied(f_rgb, f_alpha, matrix, (size, size))
        frame = prod_rgb * prod_alpha[..., None] + backdrop * (1 - prod_alpha[..., None])
        if relight:
            frame = stand_in_relight(frame, prod_alpha, backdrop, np.random.default_rng(light_seed))
        prod_alpha = ref_alpha

    label_box = _label_box_in_frame(sample, matrix)
    box = alpha_bbox(ref_alpha)
    cap_h = (box[3] - box[1]) * _CAP_SHARE[kind]
    cap_box = (box[0], box[1], box[2], int(np.ceil(box[1] + cap_h)))

    if defect == "shadow-growth":
        if shadow_direction is None:
            raise ValueError("shadow-growth is planted on flat-lay frames (engine 'pipeline', a flatlay-* preset)")
        frame, planted = _grow_shadow_side(frame, ref_alpha, shadow_direction)
    else:
        frame, planted = _image_defect(frame, defect, ref_alpha, lambda: brand_text_box(sample, label, matrix),
                                       cap_box, drng)
    if planted:
        notes = f"{notes}; {planted}" if notes else planted

    return Case(frame_rgb=frame.astype(np.float32), product_alpha=prod_alpha, reference_rgb=ref_rgb,
                reference_alpha=ref_alpha, master=sample.artwork, kind=kind, seed=seed, defect=defect,
                label_lines=label, label_box=label_box, cap_box=cap_box, cutout_rgb=cut_rgb,
                cutout_alpha=cut_alpha, matrix=matrix, notes=notes, shadow=shadow)


def brand_text_box(sample, label: tuple[str, ...], matrix: np.ndarray) -> Box:
    """Box (frame pixels) of the brand line's ink, from the label layout of :func:`packshot.samples._label_artwork`."""
    from ..samples import font

    art_h, art_w = sample.artwork.shape[:2]
    size = max(8, int(art_h * 0.20))
    f = font(size)
    while f.getlength(label[0]) > art_w * 0.9 and size > 8:
        size -= 2
        f = font(size)
    ox, oy = (art_w - f.getlength(label[0])) / 2, art_h * 0.05
    l, t, r, btm = f.getbbox(label[0])
    lx0, ly0, lx1, ly1 = sample.label_box
    sx, sy = (lx1 - lx0) / art_w, (ly1 - ly0) / art_h
    xs = [lx0 + (ox + v) * sx for v in (l, r)]
    ys = [ly0 + (oy + v) * sy for v in (t, btm)]
    pts = np.array([[x, y, 1.0] for x in xs for y in ys]) @ np.asarray(matrix, np.float64).T
    return (int(np.floor(pts[:, 0].min())), int(np.floor(pts[:, 1].min())),
            int(np.ceil(pts[:, 0].max())), int(np.ceil(pts[:, 1].max())))


def _bend_logo(frame: np.ndarray, alpha: np.ndarray, brand_box: Box, rng: np.random.Generator
               ) -> tuple[np.ndarray, str]:
    """Bend the brand line into an arc: vertical displacement 2 % of the text width at its peak, smooth to zero."""
    import cv2

    bx0, by0, bx1, by1 = brand_box
    width = bx1 - bx0
    amp = 0.02 * width * float(rng.choice([-1.0, 1.0]))
    h, w = alpha.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    u = np.clip((xx - bx0) / max(width, 1), 0, 1)
    # a raised-cosine window in y: full displacement over the letters, fading to zero half a line height away
    pad = max(2.0, (by1 - by0) * 0.5)
    cy, half = (by0 + by1) / 2, (by1 - by0) / 2
    dist = np.clip((np.abs(yy - cy) - half) / pad, 0, 1)
    window_y = 0.5 * (1 + np.cos(np.pi * dist))
    dy = amp * np.sin(np.pi * u) * window_y
    map_x, map_y = xx, yy - dy
    bent = cv2.remap(frame.astype(np.float32), map_x, map_y, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
    return np.clip(bent, 0, 1), f"brand text {width}px wide bent by {amp:+.2f}px"


def _grow_shadow_side(frame: np.ndarray, alpha: np.ndarray, direction: tuple[float, float]
                      ) -> tuple[np.ndarray, str]:
    """Grow the product's shadow side (the :data:`SHADOW_SIDE_SHARE` of it farthest along ``direction``,
    the way its drop shadow falls) by :data:`CAP_GROWTH` about its centre, drawn over the shadow."""
    dx, dy = float(direction[0]), float(direction[1])
    x0, y0, x1, y1 = alpha_bbox(alpha)
    # the side the shadow mostly falls beyond (its direction snapped to the nearer axis), a band
    # across the whole product like the cap's
    if abs(dx) >= abs(dy):
        depth = int(np.ceil(SHADOW_SIDE_SHARE * (x1 - x0)))
        band, side = ((x1 - depth, y0, x1, y1), "right") if dx > 0 else ((x0, y0, x0 + depth, y1), "left")
    else:
        depth = int(np.ceil(SHADOW_SIDE_SHARE * (y1 - y0)))
        band, side = ((x0, y1 - depth, x1, y1), "bottom") if dy > 0 else ((x0, y0, x1, y0 + depth), "top")
    out, note = _grow_region(frame, alpha, band, CAP_GROWTH)
    return out, f"shadow side {side} (shadow direction {dx:+.2f}, {dy:+.2f}): {note}"


def _grow_region(frame: np.ndarray, alpha: np.ndarray, region: Box, factor: float) -> tuple[np.ndarray, str]:
    """Scale the product pixels inside ``region`` by ``factor`` about their centroid and paint them over the frame."""
    x0, y0, x1, y1 = region
    box = np.zeros(alpha.shape, bool)
    box[y0:y1, x0:x1] = True
    out, note = _grow_mask(frame, alpha, box, factor)
    return out, f"region {region} {note}"


def _grow_mask(frame: np.ndarray, alpha: np.ndarray, mask: np.ndarray, factor: float) -> tuple[np.ndarray, str]:
    """Scale the product pixels inside ``mask`` by ``factor`` about their centroid and paint them over the frame."""
    import cv2

    h, w = alpha.shape
    layer_a = np.where(mask, alpha, 0.0).astype(alpha.dtype)
    ys, xs = np.nonzero(layer_a > 0.5)
    cx, cy = float(xs.mean()), float(ys.mean())
    m = np.array([[factor, 0, cx * (1 - factor)], [0, factor, cy * (1 - factor)]], np.float64)
    pre = np.dstack([frame * layer_a[..., None], layer_a]).astype(np.float32)
    grown = cv2.warpAffine(pre, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    ga = np.clip(grown[..., 3:4], 0, 1)
    out = grown[..., :3] + frame * (1 - ga)
    return np.clip(out, 0, 1), f"scaled x{factor} about ({cx:.0f}, {cy:.0f})"


def _shift_colour(frame: np.ndarray, alpha: np.ndarray, target: float, rng: np.random.Generator
                  ) -> tuple[np.ndarray, str]:
    """Shift the product's CIELAB colours by one vector so that the mean deltaE2000 on its interior is ``target``."""
    from . import QAConfig

    # exactly the interior qa measures colour on
    inside = product_interior(alpha, QAConfig().interior_erode_px, fallback=True)
    lab = linear_to_lab(frame[inside])
    if len(lab) > 4000:  # the search only needs a fair sample of the interior
        lab = lab[np.linspace(0, len(lab) - 1, 4000).astype(int)]
    direction = rng.normal(size=3)
    direction /= np.linalg.norm(direction)

    def mean_de(k: float) -> float:
        shifted = linear_to_lab(np.clip(lab_to_linear(lab + k * direction), 0, 1))
        return float(delta_e2000(lab, shifted).mean())

    lo, hi = 0.0, 4 * target
    for _ in range(30):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if mean_de(mid) < target else (lo, mid)
    k = (lo + hi) / 2
    full_lab = linear_to_lab(frame)
    shifted = np.clip(lab_to_linear(full_lab + k * direction), 0, 1)
    a = alpha[..., None]
    out = shifted * a + frame * (1 - a)
    return out.astype(np.float32), f"Lab shift {np.round(k * direction, 2).tolist()} (mean dE2000 {mean_de(k):.2f})"


def with_defect(case: Case, defect: str, engine: str = "stand-in") -> Case:
    """The same product and frame with another defect planted (re-built, deterministic)."""
    return make_case(case.kind, case.seed, defect, size=case.frame_rgb.shape[0], engine=engine)


__all__ = ["DEFECTS", "FLATLAY_DEFECTS", "Case",
           "make_case", "base_label", "cutout_of", "warp_premultiplied", "brand_text_box",
           "stand_in_relight", "with_defect"]
