"""An overview sheet a person reads at a glance: photo, cut-out, maps, palette, text, flags.

:func:`overview_sheet` returns 8-bit sRGB pixels (a picture for people, not pipeline data);
:func:`save_overview` writes it as ``overview.png`` (``packshot inspect``).
"""

from __future__ import annotations

import textwrap

import numpy as np
from PIL import Image, ImageDraw

from ..imaging import float_to_uint8, linear_to_srgb8
from ..samples import font
from ..types import Cutout, ProductMaps

TILE = 320
TITLE = 24
PAD = 8
BG = (245, 245, 243)
INK = (25, 25, 30)
FLAG_COLOURS = {"transparent": (40, 120, 220), "reflective": (120, 120, 140), "regulated-text": (200, 40, 40),
                "dense-text": (210, 110, 20), "low-resolution": (150, 60, 170), "cluttered-backdrop": (110, 90, 50),
                "multiple-products": (20, 140, 100)}


def _fit(img: Image.Image, side: int = TILE) -> tuple[Image.Image, float]:
    """Scale to fit a side x side tile (keeping aspect); returns the tile and the scale used."""
    s = min(side / img.width, side / img.height)
    size = (max(1, int(round(img.width * s))), max(1, int(round(img.height * s))))
    resample = Image.Resampling.LANCZOS
    return img.resize(size, resample), s


def _checker(w: int, h: int, cell: int = 10) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    c = ((yy // cell + xx // cell) % 2).astype(np.float32)
    return (0.75 + 0.15 * c)[..., None].repeat(3, axis=2)


def _depth_colour(depth: np.ndarray, mask: np.ndarray) -> np.ndarray:
    import cv2

    d8 = float_to_uint8(depth)
    coloured = cv2.applyColorMap(d8, cv2.COLORMAP_TURBO)[..., ::-1]
    coloured[~mask] = (30, 30, 30)
    return np.ascontiguousarray(coloured)


def overview_sheet(cutout: Cutout, maps: ProductMaps, title: str = "") -> np.ndarray:
    """Compose the overview sheet.

    Parameters
    ----------
    cutout : Cutout
    maps : ProductMaps
    title : str
        Shown on top (usually the input file name).

    Returns
    -------
    ndarray
        uint8 H x W x 3 sRGB image.
    """
    mask = cutout.alpha > 0.5
    photo = Image.fromarray(linear_to_srgb8(cutout.image, dither=False))
    alpha = cutout.alpha[..., None]
    checker = _checker(cutout.alpha.shape[1], cutout.alpha.shape[0])
    cut_srgb = linear_to_srgb8(cutout.rgb * alpha + checker ** 2.2 * (1 - alpha), dither=False)
    normals8 = float_to_uint8((maps.normals + 1.0) / 2.0)
    normals8[~mask] = (40, 40, 40)
    edges8 = float_to_uint8(maps.edges)
    mat = maps.materials
    mat8 = float_to_uint8(np.stack([mat.specular, mat.transparency, mat.reflective], axis=-1))
    mat8[~mask] = np.maximum(mat8[~mask], 25)

    small_font, body_font, head_font = font(13, bold=False), font(15, bold=False), font(18)
    tiles: list[tuple[str, Image.Image]] = [
        ("photo", photo),
        ("cut-out", Image.fromarray(cut_srgb)),
        (f"depth (scale {maps.provenance.get('depth_scale_px', 0):.0f} px)", Image.fromarray(_depth_colour(maps.depth, mask))),
        ("normals (x right, y up, z out)", Image.fromarray(normals8)),
        ("edges", Image.fromarray(edges8).convert("RGB")),
        (f"materials R spec {mat.specular_score:.2f} G transp {mat.transparency_score:.2f} "
         f"B refl {mat.reflective_score:.2f}", Image.fromarray(mat8)),
    ]
    # OCR tile: boxes and strings on the photo
    ocr_img, s = _fit(photo, TILE * 2)
    draw = ImageDraw.Draw(ocr_img)
    for line in maps.text:
        pts = [(x * s, y * s) for x, y in line.polygon]
        draw.polygon(pts, outline=(255, 30, 30), width=2)
        x, y = pts[0]
        label = f"{line.text} ({line.confidence:.2f})"
        tb = draw.textbbox((x, y - 15), label, font=small_font)
        draw.rectangle(tb, fill=(255, 255, 255))
        draw.text((x, y - 15), label, fill=(200, 0, 0), font=small_font)

    cols = 4
    grid_w = cols * (TILE + PAD) + PAD
    ocr_w = ocr_img.width + 2 * PAD
    width = grid_w + max(ocr_w, 420)
    info_lines: list[tuple[str, tuple[int, int, int], object]] = []
    info_lines.append(("Flags", INK, head_font))
    if maps.flags:
        for f in maps.flags:
            info_lines.append((f"[{f.code}] {f.reason}", FLAG_COLOURS.get(f.code, INK), body_font))
            for wrapped in textwrap.wrap(f"-> {f.recommendation}", 90):
                info_lines.append((wrapped, (80, 80, 80), small_font))
    else:
        info_lines.append(("none", INK, body_font))
    info_lines.append(("", INK, body_font))
    info_lines.append((f"Text ({len(maps.text)} lines)", INK, head_font))
    for line in maps.text[:30]:
        info_lines.append((f"{line.confidence:.2f}  {line.text}", INK, body_font))
    if len(maps.text) > 30:
        info_lines.append((f"... {len(maps.text) - 30} more", INK, body_font))
    # no timings here: they differ run to run and the image must not (they are in maps/timings.log)

    grid_h = TITLE + 2 * (TILE + TITLE + PAD) + PAD + 60  # + palette strip
    wrapped_info: list[tuple[str, tuple[int, int, int], object]] = []
    for text, colour, fnt in info_lines:
        for part in (textwrap.wrap(text, 150) or [""]):
            wrapped_info.append((part, colour, fnt))
    info_h = 22 * len(wrapped_info) + 2 * PAD
    height = max(grid_h, ocr_img.height + 2 * TITLE + PAD) + info_h
    sheet = Image.new("RGB", (width, height), BG)
    d = ImageDraw.Draw(sheet)
    d.text((PAD, 4), title or "packshot inspect", fill=INK, font=head_font)
    for i, (name, img) in enumerate(tiles):
        r, c = divmod(i, cols)
        x = PAD + c * (TILE + PAD)
        y = TITLE + r * (TILE + TITLE + PAD)
        d.text((x, y + 4), name, fill=INK, font=small_font)
        fitted, _ = _fit(img)
        sheet.paste(fitted, (x + (TILE - fitted.width) // 2, y + TITLE + (TILE - fitted.height) // 2))
    # palette swatches in the two free tiles of row 2
    px, py = PAD + 2 * (TILE + PAD), TITLE + (TILE + TITLE + PAD)
    d.text((px, py + 4), "palette (share, L*a*b*)", fill=INK, font=small_font)
    sw_y = py + TITLE
    for p in maps.palette[:8]:
        rgb8 = tuple(int(v) for v in linear_to_srgb8(np.array(p.rgb, np.float32)[None, None], dither=False)[0, 0])
        bar = max(int(p.share * (2 * TILE)), 4)
        d.rectangle([px, sw_y, px + bar, sw_y + 28], fill=rgb8, outline=(120, 120, 120))
        d.text((px + bar + 6, sw_y + 6), f"{p.share * 100:.0f}%  ({p.lab[0]:.0f}, {p.lab[1]:.0f}, {p.lab[2]:.0f})",
               fill=INK, font=small_font)
        sw_y += 34
    # OCR tile on the right
    ox = grid_w
    d.text((ox, TITLE + 4), "label text (OCR)", fill=INK, font=small_font)
    sheet.paste(ocr_img, (ox, 2 * TITLE))
    # info panel at the bottom
    y = height - info_h + PAD
    for text, colour, fnt in wrapped_info:
        d.text((PAD, y), text, fill=colour, font=fnt)
        y += 22
    return np.asarray(sheet)


def save_overview(path, cutout: Cutout, maps: ProductMaps, title: str = ""):
    """Compose the overview sheet and write it as a PNG, atomically. Returns the path."""
    from pathlib import Path

    from ..imaging import atomic_write_bytes, encode_png

    sheet = overview_sheet(cutout, maps, title=title)
    atomic_write_bytes(path, encode_png(np.ascontiguousarray(sheet), "RGB", compress_level=6))
    return Path(path)
