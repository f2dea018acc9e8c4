"""Generated sample products: realistic packshots with exact ground truth.

Every sample is drawn here from code (nothing fetched, nothing copied).

:func:`make_product` draws a bottle, box, jar, can or pouch with a flat printed label (flat so
that OCR reads it), shaded as a lit 3-D form (soft studio key light, a soft specular highlight,
a rim light, darkening toward the floor), on a studio backdrop with a soft contact shadow and
optional sensor noise and JPEG compression. The mask is the exact area coverage of the product:
the outline and every internal edge (cap, lid, box faces) are drawn at 4 x 4 subpixels and
counted, and the photo is composited with that same coverage, so ``mask`` is the truth of the
photo. Shading and colour are computed once per output pixel (they are smooth), which keeps a
1024 px product at about a tenth of a second.

:func:`make_primitive` draws a sphere, cylinder, box or bottle seen by an orthographic camera
from the side, with analytically exact depth and normals, for geometry benchmarks.

Examples
--------
>>> from packshot.samples import make_product
>>> s = make_product("bottle", seed=1, size=(512, 512))
>>> s.image.shape, s.mask.shape
((512, 512, 3), (512, 512))
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..imaging import (
    decode_image,
    encode_image,
    linear_to_srgb,
    save_gray,
    save_image,
    srgb8_to_linear,
    srgb_to_linear,
)
from ..types import Box, alpha_bbox

KINDS = ("bottle", "box", "jar", "can", "pouch")
PRIMITIVE_KINDS = ("sphere", "cylinder", "box", "bottle")
SUPERSAMPLE = 4
"""Subpixels per pixel side used for the exact coverage of outlines and internal edges."""

_BRANDS = ("AURORA", "NORDIC", "VERDANT", "SOLARA", "KESTREL", "MERIDIAN", "LUMEN", "HALCYON")
_LINES = ("Vitamin C", "Oat Drink", "Green Tea", "Sea Salt", "Cold Brew", "Hand Cream", "Granola", "Omega 3")
_CLAIMS = ("500 mg", "250 ml", "1000 IU", "75 g", "120 kcal", "5 %", "330 ml", "60 CAPS")
_PALETTES = (
    ((0.93, 0.42, 0.13), (0.98, 0.96, 0.90)),
    ((0.12, 0.35, 0.62), (0.95, 0.95, 0.97)),
    ((0.20, 0.52, 0.30), (0.97, 0.93, 0.80)),
    ((0.72, 0.10, 0.18), (0.98, 0.94, 0.88)),
    ((0.18, 0.18, 0.20), (0.92, 0.80, 0.35)),
    ((0.55, 0.30, 0.62), (0.96, 0.96, 0.96)),
)
BACKDROPS = {
    "white": (0.97, 0.97, 0.97),
    "grey": (0.72, 0.72, 0.73),
    "color": (0.62, 0.78, 0.86),
    "warm": (0.93, 0.86, 0.78),
}
"""Backdrop colours by name, sRGB in [0, 1]."""

# part ids in the supersampled id map
_BODY, _CAP, _SIDE, _TOP = 1, 2, 3, 4
# key light: upper left, in front (x right, y up, z toward the camera)
_KEY_LIGHT = np.array([-0.55, 0.30, 0.78], np.float32) / np.linalg.norm([-0.55, 0.30, 0.78])


@functools.lru_cache(maxsize=64)
def font(size: int, bold: bool = True) -> ImageFont.ImageFont:
    """A scalable sans font: DejaVu where installed, else Pillow's built-in scalable font."""
    names = ("DejaVuSans-Bold.ttf", "DejaVuSans.ttf") if bold else ("DejaVuSans.ttf",)
    for name in names:
        for folder in ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu"):
            p = Path(folder) / name
            if p.exists():
                return ImageFont.truetype(str(p), size)
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default(size)


@dataclass(frozen=True)
class SampleProduct:
    """A generated packshot and its ground truth.

    Attributes
    ----------
    image : float32 H x W x 3 linear photo (product, backdrop, shadow, optional noise / JPEG).
    mask : float32 H x W exact product coverage in [0, 1] (the shadow is background).
    kind : "bottle", "box", "jar", "can" or "pouch".
    label_lines : the text printed on the label, top to bottom.
    label_box : (x0, y0, x1, y1) of the label in image pixels (x1, y1 exclusive); whole pixels,
        always inside the product.
    artwork : float32 linear RGB of the flat label (the "approved master artwork"), drawn at
        :data:`SUPERSAMPLE` times the label's size in the photo.
    background : backdrop colour, linear RGB (the backdrop is exactly this colour where
        ``gradient=0`` and ``shadow=False``).
    seed : the seed it was drawn with.
    meta : backdrop, noise, scale, jpeg_quality, cap_box (the cap / lid / rim region or None).
    """

    image: np.ndarray
    mask: np.ndarray
    kind: str
    label_lines: tuple[str, ...]
    label_box: Box
    artwork: np.ndarray
    background: tuple[float, float, float]
    seed: int
    meta: dict = field(default_factory=dict)

    @property
    def bbox(self) -> Box:
        """Bounding box of ``mask > 0.5``."""
        box = alpha_bbox(self.mask)
        if box is None:  # pragma: no cover - generated products are never empty
            raise ValueError("the sample has an empty mask")
        return box


def _label_artwork(lines: tuple[str, ...], w: int, h: int, ink, paper, accent) -> Image.Image:
    """Draw the flat label: paper, an accent band, brand, product line and claim (sRGB)."""
    img = Image.new("RGB", (w, h), tuple(int(255 * c) for c in paper))
    d = ImageDraw.Draw(img)
    band = int(h * 0.30)
    d.rectangle([0, 0, w, band], fill=tuple(int(255 * c) for c in accent))
    sizes = (0.20, 0.15, 0.14)
    ys = (0.05, 0.42, 0.68)
    colours = (paper, ink, accent)
    for text, s, y, col in zip(lines, sizes, ys, colours):
        size = max(8, int(h * s))
        f = font(size)
        while f.getlength(text) > w * 0.9 and size > 8:
            size -= 2
            f = font(size)
        tw = f.getlength(text)
        d.text(((w - tw) / 2, h * y), text, font=f, fill=tuple(int(255 * c) for c in col))
    return img


@dataclass
class _Geometry:
    """A product outline in image pixels: shapes drawn in order into an id map, then bands."""

    shapes: list  # (part id, "rrect" | "rect" | "poly", coordinates, radius)
    bands: list  # (from id, to id, y0, y1): re-label a horizontal band of an existing part
    label_rect: tuple[float, float, float, float]
    x_range: tuple[float, float]
    half_w: float
    shaded: str  # "cylinder", "box" or "pouch"
    cap_rect: tuple[float, float] | None


def _geometry(kind: str, rng: np.random.Generator, cx: float, top_y: float, base_y: float, ph: float) -> _Geometry:
    if kind == "bottle":
        bw = ph * float(rng.uniform(0.36, 0.44))
        neck_w, cap_h = bw * 0.42, ph * 0.12
        shoulder = top_y + ph * 0.30
        shapes = [
            (_BODY, "rrect", (cx - bw / 2, shoulder, cx + bw / 2, base_y), bw * 0.12),
            (_BODY, "poly", ((cx - bw / 2, shoulder + bw * 0.12), (cx - neck_w / 2, top_y + cap_h + ph * 0.06),
                             (cx + neck_w / 2, top_y + cap_h + ph * 0.06), (cx + bw / 2, shoulder + bw * 0.12)), 0),
            (_BODY, "rect", (cx - neck_w / 2, top_y + cap_h * 0.9, cx + neck_w / 2, top_y + cap_h + ph * 0.08), 0),
            (_CAP, "rrect", (cx - neck_w * 0.58, top_y, cx + neck_w * 0.58, top_y + cap_h), neck_w * 0.1),
        ]
        return _Geometry(shapes, [], (cx - bw * 0.46, shoulder + ph * 0.12, cx + bw * 0.46, base_y - ph * 0.08),
                         (cx - bw / 2, cx + bw / 2), bw / 2, "cylinder", (top_y, top_y + cap_h))
    if kind == "can":
        bw = ph * float(rng.uniform(0.50, 0.58))
        shapes = [(_BODY, "rrect", (cx - bw / 2, top_y, cx + bw / 2, base_y), bw * 0.06)]
        bands = [(_BODY, _CAP, top_y, top_y + ph * 0.05), (_BODY, _CAP, base_y - ph * 0.03, base_y)]
        return _Geometry(shapes, bands, (cx - bw * 0.44, top_y + ph * 0.18, cx + bw * 0.44, base_y - ph * 0.18),
                         (cx - bw / 2, cx + bw / 2), bw / 2, "cylinder", (top_y, top_y + ph * 0.05))
    if kind == "jar":
        bw = ph * float(rng.uniform(0.80, 0.95))
        lid_h = ph * 0.16
        shapes = [
            (_BODY, "rrect", (cx - bw / 2, top_y + lid_h * 0.9, cx + bw / 2, base_y), bw * 0.10),
            (_CAP, "rrect", (cx - bw * 0.46, top_y, cx + bw * 0.46, top_y + lid_h), bw * 0.04),
        ]
        return _Geometry(shapes, [], (cx - bw * 0.42, top_y + ph * 0.34, cx + bw * 0.42, base_y - ph * 0.14),
                         (cx - bw / 2, cx + bw / 2), bw / 2, "cylinder", (top_y, top_y + lid_h))
    if kind == "box":
        bw = ph * float(rng.uniform(0.55, 0.70))
        depth = bw * 0.28
        x0 = cx - (bw + depth) / 2
        shapes = [
            (_BODY, "rect", (x0, top_y + depth * 0.5, x0 + bw, base_y), 0),
            (_SIDE, "poly", ((x0 + bw, top_y + depth * 0.5), (x0 + bw + depth, top_y),
                             (x0 + bw + depth, base_y - depth * 0.5), (x0 + bw, base_y)), 0),
            (_TOP, "poly", ((x0, top_y + depth * 0.5), (x0 + depth, top_y), (x0 + bw + depth, top_y),
                            (x0 + bw, top_y + depth * 0.5)), 0),
        ]
        label = (x0 + bw * 0.06, top_y + depth * 0.5 + ph * 0.10, x0 + bw * 0.94, base_y - ph * 0.10)
        return _Geometry(shapes, [], label,
                         (x0, x0 + bw + depth), bw / 2, "box", None)
    # pouch: a stand-up pouch with a crimped top seal
    bw = ph * float(rng.uniform(0.62, 0.72))
    pts = [(cx - bw / 2 + t * bw, top_y + ph * 0.03 * np.sin(t * np.pi * 9) ** 2) for t in np.linspace(0, 1, 40)]
    pts += [(cx + bw / 2, top_y + ph * 0.08), (cx + bw * 0.53, base_y - ph * 0.12), (cx + bw * 0.45, base_y),
            (cx - bw * 0.45, base_y), (cx - bw * 0.53, base_y - ph * 0.12), (cx - bw / 2, top_y + ph * 0.08)]
    shapes = [(_BODY, "poly", tuple(pts), 0)]
    bands = [(_BODY, _CAP, top_y - 1, top_y + ph * 0.09)]
    return _Geometry(shapes, bands, (cx - bw * 0.40, top_y + ph * 0.25, cx + bw * 0.40, base_y - ph * 0.18),
                     (cx - bw * 0.53, cx + bw * 0.53), bw / 2, "pouch", (top_y, top_y + ph * 0.09))


def _rounded_rect_polygon(x0: float, y0: float, x1: float, y1: float, radius: float) -> np.ndarray:
    """The outline of a rounded rectangle as a polygon (32 segments per corner: within 0.1 % of r)."""
    r = float(min(radius, (x1 - x0) / 2, (y1 - y0) / 2))
    if r <= 0:
        return np.array([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], np.float64)
    t = np.linspace(0, np.pi / 2, 33)
    corners = [((x1 - r, y0 + r), -np.pi / 2), ((x1 - r, y1 - r), 0.0), ((x0 + r, y1 - r), np.pi / 2),
               ((x0 + r, y0 + r), np.pi)]
    pts = [np.stack([c[0] + r * np.cos(a0 + t), c[1] + r * np.sin(a0 + t)], axis=1) for c, a0 in corners]
    return np.concatenate(pts)


def _fill_polygon(points, origin: tuple[float, float], shape: tuple[int, int], scale: int) -> np.ndarray:
    """Subpixels of a ``shape`` = (rows, cols) grid whose centres lie inside the polygon.

    The grid has ``scale`` subpixels per image pixel and starts at image point ``origin``.
    Even-odd scanline fill with a half-open rule, so a subpixel on a shared edge belongs to
    exactly one side, and coverage counts are exact for the outline as given.
    """
    p = np.asarray(points, np.float64)
    q = np.roll(p, -1, axis=0)
    rows, cols = shape
    yc = origin[1] + (np.arange(rows) + 0.5) / scale
    ya, yb, xa, xb = p[:, 1], q[:, 1], p[:, 0], q[:, 0]
    crosses = (yc[:, None] >= np.minimum(ya, yb)) & (yc[:, None] < np.maximum(ya, yb))
    with np.errstate(divide="ignore", invalid="ignore"):
        xs = xa + (yc[:, None] - ya) * (xb - xa) / (yb - ya)
    xs = np.sort(np.where(crosses, xs, np.inf), axis=1)
    n_cross = crosses.sum(axis=1)
    inside = np.zeros((rows, cols), bool)
    columns = np.arange(cols, dtype=np.int32)[None, :]
    for k in range(0, int(n_cross.max(initial=0)), 2):
        r = np.flatnonzero(n_cross > k + 1)
        if r.size == 0:
            continue
        start = np.ceil((xs[r, k] - origin[0]) * scale - 0.5).astype(np.int32)[:, None]
        stop = np.ceil((xs[r, k + 1] - origin[0]) * scale - 0.5).astype(np.int32)[:, None]
        band = slice(r[0], r[-1] + 1)
        if r.size == r[-1] - r[0] + 1:  # contiguous rows (the usual case): no fancy indexing
            inside[band] ^= (columns >= start) & (columns < stop)
        else:
            inside[r] ^= (columns >= start) & (columns < stop)
    return inside


def _part_coverage(geom: _Geometry, crop: tuple[int, int, int, int]) -> dict[int, np.ndarray]:
    """Exact area coverage of each part inside ``crop`` (x0, y0, x1, y1), from 4 x 4 subpixels.

    Shapes are filled in order (a later part covers an earlier one), then bands re-label rows.
    """
    import cv2

    S = SUPERSAMPLE
    x0, y0, x1, y1 = crop
    cw, ch = x1 - x0, y1 - y0
    ids = np.zeros((ch * S, cw * S), np.uint8)
    for part, shape, coords, radius in geom.shapes:
        outline = coords if shape == "poly" else _rounded_rect_polygon(*coords, radius if shape == "rrect" else 0)
        ids[_fill_polygon(outline, (x0, y0), ids.shape, S)] = part
    parts = sorted({shape[0] for shape in geom.shapes} | {band[1] for band in geom.bands})
    for src, dst, band0, band1 in geom.bands:
        # subpixel rows whose centre lies in [band0, band1)
        r0 = int(np.clip(np.ceil((band0 - y0) * S - 0.5), 0, ch * S))
        r1 = int(np.clip(np.ceil((band1 - y0) * S - 0.5), 0, ch * S))
        rows = ids[r0:r1]
        rows[rows == src] = dst
    coverage = {}
    for part in parts:
        # 0/16 per subpixel averaged over 4 x 4 = the number of covered subpixels, exactly
        count = cv2.resize((ids == part).view(np.uint8) * np.uint8(16), (cw, ch), interpolation=cv2.INTER_AREA)
        if count.any():
            coverage[int(part)] = count.astype(np.float32) / (S * S)
    return coverage


def _row_extents(alpha: np.ndarray, default_centre: float, default_half: float) -> tuple[np.ndarray, np.ndarray]:
    """Per row of ``alpha`` (crop coordinates): the centre and half width of the covered span."""
    inside = alpha > 0.5
    any_row = inside.any(axis=1)
    w = alpha.shape[1]
    left = np.argmax(inside, axis=1).astype(np.float32)
    right = (w - np.argmax(inside[:, ::-1], axis=1)).astype(np.float32)
    # sub-pixel refinement from the coverage of the edge pixels
    rows = np.arange(alpha.shape[0])
    left_cov = alpha[rows, np.clip(left.astype(int) - 1, 0, w - 1)]
    right_cov = alpha[rows, np.clip(right.astype(int), 0, w - 1)]
    left = left - left_cov
    right = right + right_cov
    centre = np.where(any_row, (left + right) / 2, default_centre)
    half = np.where(any_row, np.maximum((right - left) / 2, 1.0), default_half)
    return centre.astype(np.float32), half.astype(np.float32)


def _cylinder_shade(nx: np.ndarray, specular: float, rim: float) -> tuple[np.ndarray, np.ndarray]:
    """Multiplicative diffuse shade and additive highlight for a vertical cylinder (linear light)."""
    nz = np.sqrt(np.clip(1.0 - nx * nx, 0.0, 1.0))
    half_lambert = 0.5 + 0.5 * (nx * _KEY_LIGHT[0] + nz * _KEY_LIGHT[2])
    diffuse = 0.10 + 0.95 * half_lambert**2
    # a soft vertical highlight (the reflection of a large softbox) and a thin rim light
    highlight = specular * np.exp(-(((nx + 0.36) / 0.11) ** 2)) + rim * np.exp(-(((nx - 0.90) / 0.05) ** 2))
    return diffuse.astype(np.float32), highlight.astype(np.float32)


MIN_IMAGE_PX = 32
"""Least width and height (px) of a generated photo."""
MIN_PRODUCT_PX = 16
"""Least height (px) of a generated product."""
SCALE_RANGE = (0.05, 0.95)
"""Allowed product height as a share of the image height."""
CROP_PAD_PX = 2
"""Pixels around the product's extent in the crop its coverage is computed in."""
CYLINDER_SPECULAR = {"can": 0.55, "jar": 0.40, "bottle": 0.28}
"""Specular strength of the cylindrical kinds."""
CYLINDER_RIM = 0.12
"""Rim darkening of the cylindrical kinds."""
CAP_SRGB = {"bottle": (0.25, 0.25, 0.27), "can": (0.78, 0.78, 0.80)}
"""sRGB colour of a cap (the jar's lid is the accent colour, the pouch's seal the body's, darker)."""
POUCH_SEAL_SHADE = 0.85
"""Share of the body colour a pouch's seal has."""
JAR_TRANSMIT = (0.88, 0.04)
"""Glass jar: its colour x JAR_TRANSMIT[0] + JAR_TRANSMIT[1] (a little of the backdrop's light comes through)."""
GRADIENT_GRID = 4
"""The backdrop's fall-off is evaluated on a grid this many times coarser than the image."""
LABEL_INK = (0.1, 0.1, 0.12)
"""sRGB colour of the label's text."""


def _check_product_args(kind, size, scale, noise, jpeg_quality, backdrop) -> tuple[int, int]:
    """The image's (width, height); a ValueError names any argument out of range."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    w, h = int(size[0]), int(size[1])
    if w < MIN_IMAGE_PX or h < MIN_IMAGE_PX:
        raise ValueError(f"size must be at least 32x32, got {size}")
    if not SCALE_RANGE[0] <= scale <= SCALE_RANGE[1]:
        raise ValueError(f"scale must be in [0.05, 0.95], got {scale}")
    if noise < 0:
        raise ValueError(f"noise must be >= 0, got {noise}")
    if jpeg_quality is not None and not 1 <= int(jpeg_quality) <= 100:
        raise ValueError(f"jpeg_quality must be in [1, 100], got {jpeg_quality}")
    if isinstance(backdrop, str) and backdrop not in BACKDROPS:
        raise ValueError(f"backdrop must be one of {sorted(BACKDROPS)} or an sRGB triple, got {backdrop!r}")
    return w, h


def _place_product(kind: str, rng: np.random.Generator, w: int, h: int, scale: float):
    """The product's geometry, centre x, top and base y and height (px), moved inside the image."""
    ph = scale * h * float(rng.uniform(0.92, 1.05))
    cx = w / 2 + float(rng.uniform(-0.05, 0.05)) * w
    base_y = h * 0.5 + ph / 2 + float(rng.uniform(-0.02, 0.03)) * h
    top_y = base_y - ph
    if ph < MIN_PRODUCT_PX:
        raise ValueError(f"the product would be {ph:.1f} px tall at scale {scale}: it needs at least 16 px "
                         "(raise scale or the image height)")
    state = rng.bit_generator.state
    geom = _geometry(kind, rng, cx, top_y, base_y, ph)
    # the random placement may push a large product over the edge: move it back in if it fits
    dx = max(0.0, 1.0 - geom.x_range[0]) - max(0.0, geom.x_range[1] - (w - 1.0))
    dy = max(0.0, 1.0 - top_y) - max(0.0, base_y - (h - 1.0))
    if dx or dy:
        cx, top_y, base_y = cx + dx, top_y + dy, base_y + dy
        rng.bit_generator.state = state  # the same proportions, redrawn at the new place
        geom = _geometry(kind, rng, cx, top_y, base_y, ph)
    if geom.x_range[0] < 0 or geom.x_range[1] > w or top_y < 0 or base_y > h:
        raise ValueError(f"a {kind} at scale {scale} does not fit in a {w}x{h} image "
                         f"(it spans x {geom.x_range[0]:.0f}..{geom.x_range[1]:.0f}, y {top_y:.0f}..{base_y:.0f}): "
                         "lower scale or widen the image")
    return geom, cx, top_y, base_y, ph


def _label_pixels(geom, label, paper, accent):
    """The label's whole-pixel rectangle, its master artwork (linear) and the artwork at photo size.

    The label is drawn at SUPERSAMPLE x its size (the master artwork) and area-averaged into the
    photo; whole pixels inside the label's rectangle, so the label box lies wholly on the product.
    """
    import cv2

    S = SUPERSAMPLE
    lx0, ly0 = (int(np.ceil(v)) for v in geom.label_rect[:2])
    lx1, ly1 = (int(np.floor(v)) for v in geom.label_rect[2:])
    lw, lh = max(lx1 - lx0, 1), max(ly1 - ly0, 1)
    lx1, ly1 = lx0 + lw, ly0 + lh
    art = _label_artwork(tuple(label), lw * S, lh * S, LABEL_INK, paper, accent)
    artwork = srgb8_to_linear(np.asarray(art))
    label_lin = cv2.resize(artwork, (lw, lh), interpolation=cv2.INTER_AREA)  # exact S x S means
    return (lx0, ly0, lx1, ly1), artwork, label_lin


def _part_shading(kind, geom, rng, nx, t, xs, ys, centre, cx0, top_y, base_y, ph, parts):
    """Diffuse ``shade`` and additive ``glow`` maps per part for the kind's shape."""
    if geom.shaded == "cylinder":
        diffuse, highlight = _cylinder_shade(nx, CYLINDER_SPECULAR[kind], rim=CYLINDER_RIM)
        shade = {p: diffuse for p in parts}
        glow = {p: highlight for p in parts}
    elif geom.shaded == "box":
        front = 0.90 - 0.05 * t - 0.06 * np.clip((xs - cx0 - centre[:, None]) / geom.half_w, -1, 1)
        shade = {_BODY: front, _SIDE: np.full_like(front, 0.50), _TOP: np.full_like(front, 1.05)}
        glow = {p: 0.0 for p in parts}
    else:  # pouch: a soft pillow with faint creases
        mid = (top_y + base_y) / 2
        v = (ys - mid) / max(ph / 2, 1.0)
        nz = np.sqrt(np.clip(1.0 - 0.75 * nx * nx - 0.35 * v * v, 0.05, 1.0))
        phase = float(rng.uniform(0, 2 * np.pi))
        crease = 1.0 + 0.025 * np.sin(ys * (9.0 / max(ph, 1.0)) * np.pi + phase) * np.cos(xs * 0.021 + phase)
        lam = 0.5 + 0.5 * (nx * _KEY_LIGHT[0] + nz * _KEY_LIGHT[2] - v * _KEY_LIGHT[1] * 0.5)
        shade = {p: (0.12 + 0.95 * lam**2) * crease for p in parts}
        glow = {p: 0.10 * np.exp(-(((nx + 0.30) / 0.22) ** 2)) * nz for p in parts}
    return shade, glow


def _composite_parts(kind, coverage, base, shade, glow, floor_darkening, alpha_crop) -> np.ndarray:
    """The product's straight (un-premultiplied) colour: every part lit and added by its coverage."""
    ch, cw = alpha_crop.shape
    fg_sum = np.zeros((ch, cw, 3), np.float32)
    full = (ch, cw)
    for part, cov in coverage.items():
        # work on the part's own bounding box only (the box's faces, a cap: small regions)
        rows, cols = np.flatnonzero(cov.any(axis=1)), np.flatnonzero(cov.any(axis=0))
        win = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))

        def crop(a):
            """The part's window of a map (H x W, H x 1, 1 x W, scalar), colour image or constant colour."""
            a = np.asarray(a, np.float32)
            if a.ndim == 3:
                return a[win]
            if a.ndim == 1:  # a constant colour
                return a
            return np.broadcast_to(a, full)[win]

        light = crop(shade[part]) * crop(floor_darkening)
        colour = crop(base[part]) * light[..., None] + crop(glow[part])[..., None]
        if kind == "jar":  # glass: a little of the backdrop's light comes through
            colour = colour * JAR_TRANSMIT[0] + JAR_TRANSMIT[1]
        fg_sum[win] += np.clip(colour, 0.0, 1.0) * cov[win][..., None]
    return fg_sum / np.maximum(alpha_crop, 1e-6)[..., None]


def _backdrop_image(bg, background_lin, gradient: float, w: int, h: int) -> np.ndarray:
    """The backdrop (linear) with its top-to-bottom light fall-off and side vignette."""
    import cv2

    if gradient:
        # the fall-off is smooth: evaluate it on a coarse grid and interpolate (16x fewer powers)
        gh, gw = max(2, h // GRADIENT_GRID), max(2, w // GRADIENT_GRID)
        yy = np.linspace(0, 1, gh, dtype=np.float32)[:, None, None]
        xx = np.linspace(-1, 1, gw, dtype=np.float32)[None, :, None]
        bg_srgb = np.array(bg, np.float32) * (1 - gradient * yy) * (1 - gradient * 0.5 * xx**2)
        return cv2.resize(srgb_to_linear(np.clip(bg_srgb, 0, 1)), (w, h), interpolation=cv2.INTER_LINEAR)
    image = np.empty((h, w, 3), np.float32)
    image[:] = background_lin
    return image


def _product_crop(geom, top_y: float, base_y: float, w: int, h: int) -> tuple[int, int, int, int]:
    """The crop (x0, y0, x1, y1) around the product that its coverage is computed in."""
    cx0 = int(np.clip(np.floor(geom.x_range[0]) - CROP_PAD_PX, 0, w))
    cx1 = int(np.clip(np.ceil(geom.x_range[1]) + CROP_PAD_PX, 0, w))
    cy0 = int(np.clip(np.floor(top_y) - CROP_PAD_PX, 0, h))
    cy1 = int(np.clip(np.ceil(base_y) + CROP_PAD_PX, 0, h))
    return cx0, cy0, cx1, cy1


def _surface_grid(geom, alpha_crop, crop_box, cx: float, top_y: float, base_y: float, ph: float):
    """Pixel centres ``ys``, ``xs`` of the crop, row centres, the horizontal surface coordinate
    ``nx`` in [-1, 1], ``t`` (0 at the top, 1 at the floor) and the darkening near the floor."""
    cx0, cy0, cx1, cy1 = crop_box
    ys = (np.arange(cy0, cy1, dtype=np.float32) + 0.5)[:, None]
    xs = (np.arange(cx0, cx1, dtype=np.float32) + 0.5)[None, :]
    centre, half = _row_extents(alpha_crop, cx - cx0, geom.half_w)
    nx = np.clip((xs - cx0 - centre[:, None]) / half[:, None], -1.0, 1.0)
    t = np.clip((ys - top_y) / max(ph, 1.0), 0.0, 1.0)  # 0 at the top, 1 at the floor
    floor_darkening = 1.0 - 0.06 * t - 0.22 * np.exp(-(base_y - ys) / max(0.015 * ph, 0.75))
    return ys, xs, centre, nx, t, floor_darkening


def _cap_box(geom) -> tuple[int, int, int, int] | None:
    """The cap's box in image pixels (None for a kind without one)."""
    if geom.cap_rect is None:
        return None
    return (int(np.floor(geom.x_range[0])), int(np.floor(geom.cap_rect[0])),
            int(np.ceil(geom.x_range[1])), int(np.ceil(geom.cap_rect[1])))


def _part_colours(kind, coverage, paper, accent, label_box, label_lin, origin, shape) -> dict:
    """Base colour (linear) per part: a constant (3,) except the body, which carries the label."""
    cx0, cy0 = origin
    ch, cw = shape
    lx0, ly0, lx1, ly1 = label_box
    paper_lin = srgb_to_linear(np.array(paper, np.float32))
    accent_lin = srgb_to_linear(np.array(accent, np.float32))
    body_lin = accent_lin if kind in ("can", "pouch") else paper_lin
    base = {part: body_lin for part in coverage}
    if _BODY in base:
        base[_BODY] = np.broadcast_to(body_lin, (ch, cw, 3)).copy()
        base[_BODY][ly0 - cy0 : ly1 - cy0, lx0 - cx0 : lx1 - cx0] = label_lin
    if _CAP in base:
        cap_srgb = accent if kind == "jar" else CAP_SRGB.get(kind)
        if cap_srgb is None:  # pouch seal: the body colour, a little darker
            base[_CAP] = body_lin * POUCH_SEAL_SHADE
        else:
            base[_CAP] = srgb_to_linear(np.array(cap_srgb, np.float32))
    if kind == "box" and _TOP in base:
        base[_TOP] = paper_lin * 0.9 + 0.06
    return base


def _sensor(image: np.ndarray, noise: float, jpeg_quality: int | None, rng: np.random.Generator) -> np.ndarray:
    """The photo with sensor noise (sRGB units) and a JPEG round trip, when asked for."""
    if noise > 0:
        s = linear_to_srgb(image) + rng.normal(0, noise, image.shape).astype(np.float32)
        image = srgb_to_linear(np.clip(s, 0, 1))
    if jpeg_quality is not None:
        image = decode_image(encode_image(image, "JPEG", quality=int(jpeg_quality), icc=False), "<sample>").rgb
    return image


def make_product(
    kind: str = "bottle",
    seed: int = 0,
    size: tuple[int, int] = (1024, 1024),
    backdrop: str | tuple[float, float, float] = "white",
    label: tuple[str, ...] | None = None,
    shadow: bool = True,
    noise: float = 0.0,
    gradient: float = 0.06,
    scale: float = 0.62,
    jpeg_quality: int | None = None,
) -> SampleProduct:
    """Draw one product packshot.

    Parameters
    ----------
    kind : one of :data:`KINDS`.
    seed : varies colours, text, proportions and position. The same arguments give the same bytes.
    size : (width, height) of the image, at least 32 x 32; the product must fit in it (a
        ValueError says so otherwise).
    backdrop : a name in :data:`BACKDROPS` or an sRGB triple in [0, 1].
    label : lines of label text (brand, product, claim); random from the seed when None.
    shadow : draw a soft contact shadow on the floor.
    noise : standard deviation of sensor noise in sRGB units (0.01 = 1 %).
    gradient : strength of the backdrop's top-to-bottom light fall-off and side vignette
        (0 gives a perfectly flat backdrop).
    scale : product height as a share of the image height, in [0.05, 0.95]; the product must
        be at least 16 px tall.
    jpeg_quality : when given, the photo goes through a JPEG encode / decode at this quality
        (compression artefacts, as in a delivered photo); the mask is unchanged.

    Returns
    -------
    SampleProduct
    """
    w, h = _check_product_args(kind, size, scale, noise, jpeg_quality, backdrop)
    rng = np.random.default_rng(seed)
    bg = BACKDROPS[backdrop] if isinstance(backdrop, str) else tuple(float(c) for c in backdrop)
    accent, paper = _PALETTES[int(rng.integers(len(_PALETTES)))]
    if label is None:
        label = (
            _BRANDS[int(rng.integers(len(_BRANDS)))],
            _LINES[int(rng.integers(len(_LINES)))],
            _CLAIMS[int(rng.integers(len(_CLAIMS)))],
        )
    geom, cx, top_y, base_y, ph = _place_product(kind, rng, w, h, scale)

    # --- exact coverage of every part, inside the product's crop only ---
    cx0, cy0, cx1, cy1 = _product_crop(geom, top_y, base_y, w, h)
    coverage = _part_coverage(geom, (cx0, cy0, cx1, cy1))
    alpha_crop = sum(coverage.values()).astype(np.float32)

    # --- colour and shading, once per pixel, in linear light ---
    ys, xs, centre, nx, t, floor_darkening = _surface_grid(geom, alpha_crop, (cx0, cy0, cx1, cy1), cx, top_y,
                                                           base_y, ph)
    label_box, artwork, label_lin = _label_pixels(geom, label, paper, accent)
    base = _part_colours(kind, coverage, paper, accent, label_box, label_lin, (cx0, cy0), alpha_crop.shape)
    shade, glow = _part_shading(kind, geom, rng, nx, t, xs, ys, centre, cx0, top_y, base_y, ph, base)
    fg = _composite_parts(kind, coverage, base, shade, glow, floor_darkening, alpha_crop)

    # --- backdrop with light fall-off and a soft contact shadow ---
    background_lin = srgb_to_linear(np.array(bg, np.float32))
    image = _backdrop_image(bg, background_lin, gradient, w, h)
    if shadow:
        _contact_shadow(image, (geom.x_range[0] + geom.x_range[1]) / 2, base_y, (geom.x_range[1] - geom.x_range[0]) / 2)
    region = image[cy0:cy1, cx0:cx1]
    a3 = alpha_crop[..., None]
    image[cy0:cy1, cx0:cx1] = fg * a3 + region * (1 - a3)
    mask = np.zeros((h, w), np.float32)
    mask[cy0:cy1, cx0:cx1] = alpha_crop
    image = _sensor(image, noise, jpeg_quality, rng)
    cap_box = _cap_box(geom)
    return SampleProduct(
        image=np.ascontiguousarray(image, dtype=np.float32), mask=mask, kind=kind, label_lines=tuple(label),
        label_box=label_box, artwork=artwork,
        background=tuple(float(c) for c in background_lin), seed=seed,
        meta={"backdrop": backdrop, "noise": noise, "scale": scale, "jpeg_quality": jpeg_quality,
              "cap_box": cap_box},
    )


def _contact_shadow(image: np.ndarray, cx: float, base_y: float, half_w: float) -> None:
    """Darken the floor under the product in place: a wide soft shadow and a tight contact line."""
    import cv2

    h, w = image.shape[:2]
    ex = half_w * 1.15
    ey = max(ex * 0.12, 1.5)
    sigma_soft = max(2.0, ex * 0.18)
    reach = ex + 4 * sigma_soft
    x0, x1 = int(max(0, np.floor(cx - reach))), int(min(w, np.ceil(cx + reach)))
    y0, y1 = int(max(0, np.floor(base_y - ey - 4 * sigma_soft))), int(min(h, np.ceil(base_y + ey + 4 * sigma_soft)))
    if x1 <= x0 or y1 <= y0:
        return
    ys = (np.arange(y0, y1, dtype=np.float32) + 0.5)[:, None]
    xs = (np.arange(x0, x1, dtype=np.float32) + 0.5)[None, :]
    # the wide shadow is smooth: blur it at a reduced scale and interpolate back
    k = max(1, int(sigma_soft // 3))
    sw, sh = max(1, (x1 - x0) // k), max(1, (y1 - y0) // k)
    sxs = x0 + (np.arange(sw, dtype=np.float32) + 0.5) * (x1 - x0) / sw
    sys_ = y0 + (np.arange(sh, dtype=np.float32) + 0.5) * (y1 - y0) / sh
    soft = ((((sxs[None, :] - cx) / ex) ** 2 + ((sys_[:, None] - base_y) / ey) ** 2) <= 1.0).astype(np.float32)
    soft = cv2.GaussianBlur(soft, (0, 0), sigma_soft * sw / (x1 - x0))
    soft = cv2.resize(soft, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
    tight_y = max(ey * 0.30, 1.0)
    band = slice(max(0, int(base_y - 4 * tight_y) - y0), max(0, int(base_y + 4 * tight_y) + 1 - y0))
    contact = np.zeros_like(soft)
    near = ((((xs - cx) / (half_w * 0.98)) ** 2 + ((ys[band] - base_y + tight_y * 0.3) / tight_y) ** 2) <= 1.0)
    if near.size:
        contact[band] = cv2.GaussianBlur(near.astype(np.float32), (0, 0), max(1.0, tight_y * 0.6))
    occlusion = 1.0 - (1.0 - 0.50 * soft) * (1.0 - 0.55 * contact)
    image[y0:y1, x0:x1] *= (1.0 - occlusion)[..., None]


# ---------------------------------------------------------------------------------------------
# primitives with exact geometry
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Primitive:
    """A shape with analytically exact geometry, seen by an orthographic camera from the side.

    Coordinates: x right, y up, z toward the camera, in pixels; the shape's vertical axis passes
    through the image centre. Depth and normals are defined at pixel centres that fall on the
    shape (``valid``); elsewhere depth is 0 and normals are (0, 0, 0).

    Attributes
    ----------
    image : float32 H x W x 3 linear photo: a matte shape lit by ``light`` on a flat backdrop.
    mask : float32 H x W exact area coverage in [0, 1] (4 x 4 subpixels).
    depth : float32 H x W, larger = nearer: the surface's z in pixels plus an offset that puts
        every surface pixel above 0 (the backdrop, 0, is farthest). Exactly z(x, y) of the shape.
    normals : float32 H x W x 3 unit normals, x right, y up, z toward the camera.
    valid : bool H x W, pixel centre on the shape.
    kind : "sphere", "cylinder", "box" or "bottle".
    light : the unit light direction used for the shading.
    """

    image: np.ndarray
    mask: np.ndarray
    depth: np.ndarray
    normals: np.ndarray
    valid: np.ndarray
    kind: str
    light: tuple[float, float, float]


def _bottle_profile(height: float, radius: float):
    """Radius r(y) and dr/dy of a bottle (y up, 0 at the centre): body, cosine shoulder, neck, cap."""
    bottom, top = -height / 2, height / 2
    shoulder0, shoulder1 = bottom + 0.55 * height, bottom + 0.75 * height
    neck_r, cap0, cap_r = radius * 0.38, bottom + 0.86 * height, radius * 0.46

    def profile(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        t = np.clip((y - shoulder0) / (shoulder1 - shoulder0), 0.0, 1.0)
        r = neck_r + (radius - neck_r) * 0.5 * (1 + np.cos(np.pi * t))
        slope = -(radius - neck_r) * 0.5 * np.pi * np.sin(np.pi * t) / (shoulder1 - shoulder0)
        dr = np.where((t > 0) & (t < 1), slope, 0.0)
        r = np.where(y >= cap0, cap_r, r)
        dr = np.where(y >= cap0, 0.0, dr)
        inside = (y >= bottom) & (y <= top)
        return np.where(inside, r, -1.0), np.where(inside, dr, 0.0)

    return profile


MIN_PRIMITIVE_PX = 16
"""Least side (px) of a primitive's image."""
PRIMITIVE_AMBIENT = 0.18
PRIMITIVE_LAMBERT = 0.82
"""A primitive's shading: PRIMITIVE_AMBIENT + PRIMITIVE_LAMBERT x Lambert."""


def _primitive_surface(kind: str, x: np.ndarray, y: np.ndarray, side: int, h: int, yaw_degrees: float,
                       inside_only: bool = False):
    """(inside, z, normal) at points (x, y) in centred pixel units, y up (broadcast together)."""
    if kind == "box":
        phi = np.deg2rad(yaw_degrees)
        a, b, hh = 0.42 * side, 0.28 * side, 0.70 * side
        s, c = np.sin(phi), np.cos(phi)
        u_front = (x - b / 2 * s) / c  # on the face w = +b/2, normal (sin, 0, cos)
        on_front = np.abs(u_front) <= a / 2
        w_left = (x + a / 2 * c) / s  # on the face u = -a/2, normal (-cos, 0, sin)
        on_left = (np.abs(w_left) <= b / 2) & ~on_front
        z = np.where(on_front, -u_front * s + b / 2 * c, a / 2 * s + w_left * c)
        n = np.where(on_front[..., None], np.array([s, 0.0, c]), np.array([-c, 0.0, s]))
        inside = (on_front | on_left) & (np.abs(y) <= hh / 2)
        return inside, z, n
    if kind == "sphere":
        radius = 0.38 * side
        r = np.sqrt(np.clip(radius**2 - y**2, 0, None))
        dr = -y / np.maximum(r, 1e-6)  # r r' = -y on a sphere
        r = np.where(np.abs(y) < radius, r, -1.0)
    elif kind == "cylinder":
        radius, height = 0.26 * side, 0.80 * h
        r = np.where(np.abs(y) <= height / 2, radius, -1.0)
        dr = np.zeros_like(r)
    else:
        r, dr = _bottle_profile(0.84 * h, 0.22 * side)(y)
    inside = np.abs(x) < r
    if inside_only:
        return inside, None, None
    z = np.sqrt(np.clip(r**2 - x**2, 0.0, None))
    # F(x, y, z) = x^2 + z^2 - r(y)^2 = 0  ->  grad F = (2x, -2 r r'(y), 2z)
    n = np.stack(np.broadcast_arrays(x, -r * dr, z), axis=-1)
    n = n / np.maximum(np.linalg.norm(n, axis=-1, keepdims=True), 1e-12)
    return inside, z, n


def _shading_normals(normals: np.ndarray, valid: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The normals, edge pixels whose centre misses the shape taking the nearest valid normal."""
    shading_normals = normals.copy()
    if (~valid & (mask > 0)).any():
        import cv2

        _, labels = cv2.distanceTransformWithLabels((~valid).astype(np.uint8), cv2.DIST_L2, 5,
                                                    labelType=cv2.DIST_LABEL_PIXEL)
        ys_valid, xs_valid = np.nonzero(valid)
        lookup = np.zeros(labels.max() + 1, np.int64)
        lookup[labels[ys_valid, xs_valid]] = np.arange(len(ys_valid))
        nearest = lookup[labels]
        shading_normals = normals[ys_valid[nearest], xs_valid[nearest]]
    return shading_normals


def make_primitive(
    kind: str = "sphere",
    size: int | tuple[int, int] = 256,
    albedo: tuple[float, float, float] = (0.60, 0.45, 0.35),
    backdrop: tuple[float, float, float] = (0.85, 0.85, 0.85),
    light: tuple[float, float, float] = (-0.4, 0.5, 0.77),
    yaw_degrees: float = 30.0,
) -> Primitive:
    """Draw a primitive with exact mask, depth and normals (for the understand stage's benchmark).

    Parameters
    ----------
    kind : one of :data:`PRIMITIVE_KINDS`. "sphere" (radius 0.38 of the smaller side),
        "cylinder" and "bottle" (surfaces of revolution about the vertical axis), "box"
        (turned ``yaw_degrees`` about the vertical axis, so two faces show).
    size : side in pixels, or (width, height); at least 16.
    albedo : linear RGB of the matte surface.
    backdrop : linear RGB of the flat backdrop.
    light : direction toward the light (x right, y up, z toward the camera); normalised.
    yaw_degrees : the box's turn, in (0, 90).

    Returns
    -------
    Primitive
    """
    if kind not in PRIMITIVE_KINDS:
        raise ValueError(f"kind must be one of {PRIMITIVE_KINDS}, got {kind!r}")
    w, h = (int(size), int(size)) if np.isscalar(size) else (int(size[0]), int(size[1]))
    if w < MIN_PRIMITIVE_PX or h < MIN_PRIMITIVE_PX:
        raise ValueError(f"size must be at least 16, got {size}")
    if not 0 < yaw_degrees < 90:
        raise ValueError(f"yaw_degrees must be in (0, 90), got {yaw_degrees}")
    light_dir = np.asarray(light, np.float64)
    light_dir = light_dir / np.linalg.norm(light_dir)
    side = min(w, h)

    # exact coverage from 4 x 4 subpixel centres
    S = SUPERSAMPLE
    sx = (np.arange(w * S, dtype=np.float64) + 0.5) / S - w / 2
    sy = h / 2 - (np.arange(h * S, dtype=np.float64) + 0.5) / S
    inside_ss, _, _ = _primitive_surface(kind, sx[None, :], sy[:, None], side, h, yaw_degrees, inside_only=True)
    inside_ss = np.broadcast_to(inside_ss, (h * S, w * S))
    mask = inside_ss.reshape(h, S, w, S).mean(axis=(1, 3)).astype(np.float32)

    px = (np.arange(w, dtype=np.float64) + 0.5) - w / 2
    py = h / 2 - (np.arange(h, dtype=np.float64) + 0.5)
    valid, z, normals = _primitive_surface(kind, px[None, :], py[:, None], side, h, yaw_degrees)
    valid = np.broadcast_to(valid, (h, w))
    z = np.broadcast_to(z, (h, w))
    normals = np.broadcast_to(normals, (h, w, 3))
    offset = side  # every visible z is > -side / 2, so depth = z + side > 0 on the shape
    depth = np.where(valid, z + offset, 0.0).astype(np.float32)
    normals = np.where(valid[..., None], normals, 0.0).astype(np.float32)

    # shading: Lambert + ambient; edge pixels whose centre misses the shape take the nearest normal
    shading_normals = _shading_normals(normals, valid, mask)
    lambert = np.clip(shading_normals @ light_dir.astype(np.float32), 0.0, 1.0)
    fg = np.asarray(albedo, np.float32) * (PRIMITIVE_AMBIENT + PRIMITIVE_LAMBERT * lambert)[..., None]
    a3 = mask[..., None]
    image = (fg * a3 + np.asarray(backdrop, np.float32) * (1 - a3)).astype(np.float32)
    return Primitive(image=image, mask=mask, depth=depth, normals=normals, valid=valid, kind=kind,
                     light=tuple(float(v) for v in light_dir))


# ---------------------------------------------------------------------------------------------
# files
# ---------------------------------------------------------------------------------------------
def write_sample(sample: SampleProduct, folder: str | Path, name: str | None = None, fmt: str = "png") -> dict:
    """Write ``<name>.<fmt>`` (photo), ``<name>_mask.png`` and ``<name>_master.png`` (artwork)."""
    folder = Path(folder)
    name = name or f"{sample.kind}_{sample.seed}"
    photo = save_image(folder / f"{name}.{fmt}", sample.image, quality=95)
    mask = save_gray(folder / f"{name}_mask.png", sample.mask)
    master = save_image(folder / f"{name}_master.png", sample.artwork)
    return {"photo": photo, "mask": mask, "master": master}


def make_catalogue(folder: str | Path, size: tuple[int, int] = (768, 768), seed: int = 0) -> list[dict]:
    """One sample of each kind, written to ``folder``; returns their paths."""
    out = []
    for i, kind in enumerate(KINDS):
        s = make_product(kind, seed=seed + i, size=size)
        paths = write_sample(s, folder, name=f"{kind}-{seed + i:03d}")
        paths.update(sku=f"{kind}-{seed + i:03d}", label=s.label_lines)
        out.append(paths)
    return out
