"""Generated sample products: realistic packshots with exact ground-truth masks.

Every sample is drawn here from code (nothing fetched, nothing copied): a bottle, box, jar, can
or pouch with a printed label, shaded as a lit 3-D form, on a studio backdrop with a soft contact
shadow. The mask is the exact pixel coverage of the product (soft only where the outline crosses
a pixel), computed by drawing at 4x and averaging.

Examples
--------
>>> from packshot.samples import make_product
>>> s = make_product("bottle", seed=1, size=(512, 512))
>>> s.image.shape, s.mask.shape
((512, 512, 3), (512, 512))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from ..imaging import save_gray, save_image, srgb_to_linear
from ..types import Box, alpha_bbox

KINDS = ("bottle", "box", "jar", "can", "pouch")
SUPERSAMPLE = 4

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
    image : float32 H x W x 3 linear photo (product, backdrop, shadow, optional noise).
    mask : float32 H x W exact product coverage in [0, 1] (the shadow is background).
    kind : "bottle", "box", "jar", "can" or "pouch".
    label_lines : the text printed on the label, top to bottom.
    label_box : where the label sits in the image.
    artwork : float32 linear RGB of the flat label (the "approved master artwork").
    background : backdrop colour, linear RGB.
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
        box = alpha_bbox(self.mask)
        assert box is not None  # generated products are never empty
        return box


def _label_artwork(lines: tuple[str, ...], w: int, h: int, ink, paper, accent) -> Image.Image:
    """Draw the flat label: paper, an accent band, brand, product line and claim."""
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
) -> SampleProduct:
    """Draw one product packshot.

    Parameters
    ----------
    kind : one of :data:`KINDS`.
    seed : varies colours, text, proportions and position.
    size : (width, height) of the image.
    backdrop : a name in :data:`BACKDROPS` or an sRGB triple in [0, 1].
    label : lines of label text (brand, product, claim); random from the seed when None.
    shadow : draw a soft contact shadow on the floor.
    noise : standard deviation of sensor noise in sRGB units (0.01 = 1 %).
    gradient : strength of the backdrop's top-to-bottom light fall-off.
    scale : product height as a share of the image height.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    w, h = int(size[0]), int(size[1])
    if w < 32 or h < 32:
        raise ValueError(f"size must be at least 32x32, got {size}")
    rng = np.random.default_rng(seed)
    bg = BACKDROPS[backdrop] if isinstance(backdrop, str) else tuple(float(c) for c in backdrop)
    accent, paper = _PALETTES[int(rng.integers(len(_PALETTES)))]
    if label is None:
        label = (
            _BRANDS[int(rng.integers(len(_BRANDS)))],
            _LINES[int(rng.integers(len(_LINES)))],
            _CLAIMS[int(rng.integers(len(_CLAIMS)))],
        )
    S = SUPERSAMPLE
    W, H = w * S, h * S
    ph = scale * H * float(rng.uniform(0.92, 1.05))
    cx = W / 2 + float(rng.uniform(-0.05, 0.05)) * W
    base_y = H * 0.5 + ph / 2 + float(rng.uniform(-0.02, 0.03)) * H
    top_y = base_y - ph

    mask_img = Image.new("L", (W, H), 0)
    md = ImageDraw.Draw(mask_img)
    body_col = np.array(accent if kind in ("can", "pouch") else paper, np.float32)
    glass = kind == "jar"
    if kind == "bottle":
        bw = ph * float(rng.uniform(0.36, 0.44))
        neck_w, cap_h = bw * 0.42, ph * 0.12
        shoulder = top_y + ph * 0.30
        md.rounded_rectangle([cx - bw / 2, shoulder, cx + bw / 2, base_y], radius=bw * 0.12, fill=255)
        md.polygon([(cx - bw / 2, shoulder + bw * 0.12), (cx - neck_w / 2, top_y + cap_h + ph * 0.06),
                    (cx + neck_w / 2, top_y + cap_h + ph * 0.06), (cx + bw / 2, shoulder + bw * 0.12)], fill=255)
        md.rectangle([cx - neck_w / 2, top_y + cap_h, cx + neck_w / 2, top_y + cap_h + ph * 0.08], fill=255)
        md.rounded_rectangle([cx - neck_w * 0.58, top_y, cx + neck_w * 0.58, top_y + cap_h], radius=neck_w * 0.1, fill=255)
        half_w = bw / 2
        label_rect = (cx - bw * 0.46, shoulder + ph * 0.12, cx + bw * 0.46, base_y - ph * 0.08)
        cap_rect = (top_y, top_y + cap_h)
    elif kind == "can":
        bw = ph * float(rng.uniform(0.50, 0.58))
        md.rounded_rectangle([cx - bw / 2, top_y, cx + bw / 2, base_y], radius=bw * 0.06, fill=255)
        half_w = bw / 2
        label_rect = (cx - bw * 0.44, top_y + ph * 0.18, cx + bw * 0.44, base_y - ph * 0.18)
        cap_rect = (top_y, top_y + ph * 0.05)
    elif kind == "jar":
        bw = ph * float(rng.uniform(0.80, 0.95))
        lid_h = ph * 0.16
        md.rounded_rectangle([cx - bw / 2, top_y + lid_h * 0.9, cx + bw / 2, base_y], radius=bw * 0.10, fill=255)
        md.rounded_rectangle([cx - bw * 0.46, top_y, cx + bw * 0.46, top_y + lid_h], radius=bw * 0.04, fill=255)
        half_w = bw / 2
        label_rect = (cx - bw * 0.42, top_y + ph * 0.34, cx + bw * 0.42, base_y - ph * 0.14)
        cap_rect = (top_y, top_y + lid_h)
    elif kind == "box":
        bw = ph * float(rng.uniform(0.55, 0.70))
        depth = bw * 0.28
        x0 = cx - (bw + depth) / 2
        md.rectangle([x0, top_y + depth * 0.5, x0 + bw, base_y], fill=255)
        md.polygon([(x0 + bw, top_y + depth * 0.5), (x0 + bw + depth, top_y), (x0 + bw + depth, base_y - depth * 0.5),
                    (x0 + bw, base_y)], fill=255)
        md.polygon([(x0, top_y + depth * 0.5), (x0 + depth, top_y), (x0 + bw + depth, top_y), (x0 + bw, top_y + depth * 0.5)], fill=255)
        half_w = bw / 2
        label_rect = (x0 + bw * 0.06, top_y + depth * 0.5 + ph * 0.10, x0 + bw * 0.94, base_y - ph * 0.10)
        cap_rect = None
    else:  # pouch
        bw = ph * float(rng.uniform(0.62, 0.72))
        pts = []
        for t in np.linspace(0, 1, 40):
            pts.append((cx - bw / 2 + t * bw, top_y + ph * 0.03 * np.sin(t * np.pi * 9) ** 2))
        pts += [(cx + bw / 2, top_y + ph * 0.08), (cx + bw * 0.53, base_y - ph * 0.12), (cx + bw * 0.45, base_y),
                (cx - bw * 0.45, base_y), (cx - bw * 0.53, base_y - ph * 0.12), (cx - bw / 2, top_y + ph * 0.08)]
        md.polygon(pts, fill=255)
        half_w = bw / 2
        label_rect = (cx - bw * 0.40, top_y + ph * 0.25, cx + bw * 0.40, base_y - ph * 0.18)
        cap_rect = None

    m_ss = np.asarray(mask_img, np.float32) / 255.0

    # --- product colour at supersampled resolution (sRGB) ---
    xs = (np.arange(W, dtype=np.float32) - cx) / max(half_w, 1.0)
    ys = np.arange(H, dtype=np.float32)[:, None]
    nx = np.clip(xs, -1, 1)[None, :]
    nz = np.sqrt(np.clip(1 - nx**2, 0, 1))
    if kind == "box":
        shade = np.full((1, W), 0.95, np.float32)
        shade = np.where(xs[None, :] * half_w > (x0 + bw - cx), 0.70, shade)
    elif kind == "pouch":
        shade = 0.80 + 0.2 * nz
    else:
        light = np.array([-0.45, 0.5, 0.74], np.float32)
        lam = np.clip(nx * light[0] + nz * light[2], 0, 1)
        spec = np.clip(nx * -0.35 + nz * 0.94, 0, 1) ** 60
        shade = 0.30 + 0.72 * lam + (0.5 if kind in ("can", "jar") else 0.3) * spec
    vertical = 1.0 - 0.06 * (ys - top_y) / max(ph, 1)
    colour = np.empty((H, W, 3), np.float32)
    colour[:] = body_col
    if cap_rect is not None:
        cap_col = np.array((0.25, 0.25, 0.27) if kind != "jar" else accent, np.float32)
        in_cap = (ys >= cap_rect[0]) & (ys < cap_rect[1])
        colour = np.where(in_cap[..., None], cap_col, colour)
    if kind == "box":
        top_face = np.broadcast_to(ys < top_y + depth * 0.5, (H, W))
        colour = np.where(top_face[..., None], np.array(paper) * 0.9 + 0.1, colour)

    lx0, ly0, lx1, ly1 = (int(round(v)) for v in label_rect)
    art = _label_artwork(label, max(lx1 - lx0, 8), max(ly1 - ly0, 8), (0.1, 0.1, 0.12), paper, accent)
    label_arr = np.asarray(art, np.float32) / 255.0
    colour[ly0:ly1, lx0:lx1] = label_arr[: ly1 - ly0, : lx1 - lx0]
    colour = colour * shade[..., None] * vertical[..., None] if shade.ndim == 2 else colour * shade * vertical
    if glass:
        colour = colour * 0.9 + 0.08
    colour = np.clip(colour, 0, 1)

    # --- downsample to the output size (area average = exact coverage) ---
    def down(a: np.ndarray) -> np.ndarray:
        return a.reshape(h, S, w, S, *a.shape[2:]).mean(axis=(1, 3))

    lin_ss = srgb_to_linear(colour) * m_ss[..., None]
    alpha = down(m_ss).astype(np.float32)
    fg = np.where(alpha[..., None] > 1e-6, down(lin_ss) / np.maximum(alpha[..., None], 1e-6), 0).astype(np.float32)

    # --- backdrop with light fall-off and a soft contact shadow ---
    yy = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
    xx = np.linspace(-1, 1, w, dtype=np.float32)[None, :, None]
    bg_srgb = np.array(bg, np.float32) * (1 - gradient * yy) * (1 - gradient * 0.5 * xx**2)
    background = srgb_to_linear(np.clip(bg_srgb, 0, 1))
    if shadow:
        sh = Image.new("L", (w, h), 0)
        sd = ImageDraw.Draw(sh)
        by, ex = base_y / S, half_w / S * 1.15
        sd.ellipse([cx / S - ex, by - ex * 0.12, cx / S + ex, by + ex * 0.12], fill=200)
        sh = sh.filter(ImageFilter.GaussianBlur(radius=max(2, ex * 0.18)))
        occ = np.asarray(sh, np.float32) / 255.0
        background = background * (1 - 0.55 * occ[..., None])
    image = fg * alpha[..., None] + background * (1 - alpha[..., None])
    if noise > 0:
        from ..imaging import linear_to_srgb
        s = linear_to_srgb(image) + rng.normal(0, noise, image.shape).astype(np.float32)
        image = srgb_to_linear(np.clip(s, 0, 1))
    box = (int(lx0 / S), int(ly0 / S), int(np.ceil(lx1 / S)), int(np.ceil(ly1 / S)))
    artwork = srgb_to_linear(label_arr)
    return SampleProduct(
        image=image.astype(np.float32), mask=alpha, kind=kind, label_lines=tuple(label), label_box=box,
        artwork=artwork, background=tuple(float(c) for c in srgb_to_linear(np.array(bg, np.float32))),
        seed=seed, meta={"backdrop": backdrop, "noise": noise, "scale": scale},
    )


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
