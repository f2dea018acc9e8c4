"""An overview sheet a person reads at a glance: photo, cut-out, maps, palette, text, flags.

:func:`overview_sheet` returns 8-bit sRGB pixels (a picture for people, not pipeline data);
:func:`save_overview` writes it as ``overview.png`` (``packshot inspect``).
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
from PIL import Image, ImageDraw

from ..imaging import float_to_uint8, linear_to_srgb8
from ..samples import font
from ..types import Cutout, PaletteColor, ProductMaps, TextLine

TILE = 320
"""Side of a map tile, px."""
TITLE = 24
"""Height of the sheet's title and of a tile's caption, px."""
PAD = 8
"""Space between tiles and around the sheet, px."""
BG = (245, 245, 243)
"""The sheet's background colour."""
INK = (25, 25, 30)
"""Colour of captions and body text."""
FLAG_COLOURS = {"transparent": (40, 120, 220), "reflective": (120, 120, 140), "regulated-text": (200, 40, 40),
                "dense-text": (210, 110, 20), "low-resolution": (150, 60, 170), "cluttered-backdrop": (110, 90, 50),
                "multiple-products": (20, 140, 100)}
"""Colour of each risk flag's line in the info panel (other codes in :data:`INK`)."""
GRID_COLUMNS = 4
"""Map tiles per row of the sheet's grid (two rows: six maps, then the palette in the last two)."""
SMALL_FONT, BODY_FONT, HEAD_FONT = 13, 15, 18
"""Font sizes (px): tile captions and OCR labels, info lines, headings."""
OCR_TILE_SCALE = 2
"""The OCR tile (the photo with the text boxes) fits a square this many tiles wide."""
OCR_BOX = (255, 30, 30)
"""Outline colour of a text line's polygon on the OCR tile."""
OCR_LABEL = (200, 0, 0)
"""Colour of a text line's string (and confidence) on the OCR tile."""
OCR_LABEL_RISE = 15
"""How far above its polygon's first corner a text line's label is written, px."""
INFO_MIN_WIDTH = 420
"""Least width of the column right of the grid (the OCR tile), px."""
INFO_LINE_HEIGHT = 22
"""Height of one line of the info panel, px."""
INFO_WRAP, RECOMMENDATION_WRAP = 150, 90
"""Characters per line of the info panel, and of a flag's recommendation."""
MAX_TEXT_LINES = 30
"""Text lines listed in the info panel (the rest are counted)."""
NOTE_INK = (80, 80, 80)
"""Colour of a flag's recommendation."""
PALETTE_STRIP = 60
"""Extra height below the grid for the palette swatches, px."""
PALETTE_SWATCHES = 8
"""Palette colours shown."""
SWATCH_HEIGHT, SWATCH_STEP, SWATCH_MIN = 28, 34, 4
"""A swatch bar's height, the distance between bars, and the shortest bar, px."""
SWATCH_OUTLINE = (120, 120, 120)
"""Outline colour of a swatch bar."""
NORMALS_BACKDROP, DEPTH_BACKDROP = (40, 40, 40), (30, 30, 30)
"""Colour of the normals and depth tiles off the product."""
MATERIALS_FLOOR = 25
"""Least value of each channel of the materials tile off the product (so its outline shows)."""
CHECKER_GAMMA = 2.2
"""The checkerboard behind the cut-out is made linear with this power."""


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
    coloured[~mask] = DEPTH_BACKDROP
    return np.ascontiguousarray(coloured)


@dataclass(frozen=True)
class _Fonts:
    small: Any
    body: Any
    head: Any


def _tiles(cutout: Cutout, maps: ProductMaps, photo: Image.Image) -> list[tuple[str, Image.Image]]:
    """The six grid tiles, captioned: photo, cut-out on a checkerboard, depth, normals, edges, materials."""
    mask = cutout.alpha > 0.5
    alpha = cutout.alpha[..., None]
    checker = _checker(cutout.alpha.shape[1], cutout.alpha.shape[0])
    cut_srgb = linear_to_srgb8(cutout.rgb * alpha + checker ** CHECKER_GAMMA * (1 - alpha), dither=False)
    normals8 = float_to_uint8((maps.normals + 1.0) / 2.0)
    normals8[~mask] = NORMALS_BACKDROP
    edges8 = float_to_uint8(maps.edges)
    mat = maps.materials
    mat8 = float_to_uint8(np.stack([mat.specular, mat.transparency, mat.reflective], axis=-1))
    mat8[~mask] = np.maximum(mat8[~mask], MATERIALS_FLOOR)
    return [
        ("photo", photo),
        ("cut-out", Image.fromarray(cut_srgb)),
        (f"depth (scale {maps.provenance.get('depth_scale_px', 0):.0f} px)", Image.fromarray(_depth_colour(maps.depth, mask))),
        ("normals (x right, y up, z out)", Image.fromarray(normals8)),
        ("edges", Image.fromarray(edges8).convert("RGB")),
        (f"materials R spec {mat.specular_score:.2f} G transp {mat.transparency_score:.2f} "
         f"B refl {mat.reflective_score:.2f}", Image.fromarray(mat8)),
    ]


def _ocr_tile(photo: Image.Image, text: Sequence[TextLine], small_font: Any) -> Image.Image:
    """The photo, fitted to the OCR tile, with each text line's polygon, string and confidence."""
    ocr_img, s = _fit(photo, TILE * OCR_TILE_SCALE)
    draw = ImageDraw.Draw(ocr_img)
    for line in text:
        pts = [(x * s, y * s) for x, y in line.polygon]
        draw.polygon(pts, outline=OCR_BOX, width=2)
        x, y = pts[0]
        label = f"{line.text} ({line.confidence:.2f})"
        tb = draw.textbbox((x, y - OCR_LABEL_RISE), label, font=small_font)
        draw.rectangle(tb, fill=(255, 255, 255))
        draw.text((x, y - OCR_LABEL_RISE), label, fill=OCR_LABEL, font=small_font)
    return ocr_img


def _info_lines(maps: ProductMaps, fonts: _Fonts) -> list[tuple[str, tuple[int, int, int], Any]]:
    """The info panel's lines (text, colour, font), wrapped: the flags with their recommendations,
    then the text lines read."""
    lines: list[tuple[str, tuple[int, int, int], Any]] = [("Flags", INK, fonts.head)]
    if maps.flags:
        for f in maps.flags:
            lines.append((f"[{f.code}] {f.reason}", FLAG_COLOURS.get(f.code, INK), fonts.body))
            for wrapped in textwrap.wrap(f"-> {f.recommendation}", RECOMMENDATION_WRAP):
                lines.append((wrapped, NOTE_INK, fonts.small))
    else:
        lines.append(("none", INK, fonts.body))
    lines.append(("", INK, fonts.body))
    lines.append((f"Text ({len(maps.text)} lines)", INK, fonts.head))
    for line in maps.text[:MAX_TEXT_LINES]:
        lines.append((f"{line.confidence:.2f}  {line.text}", INK, fonts.body))
    if len(maps.text) > MAX_TEXT_LINES:
        lines.append((f"... {len(maps.text) - MAX_TEXT_LINES} more", INK, fonts.body))
    return [(part, colour, fnt) for text, colour, fnt in lines for part in (textwrap.wrap(text, INFO_WRAP) or [""])]


def _draw_tiles(sheet: Image.Image, d: ImageDraw.ImageDraw, tiles: list[tuple[str, Image.Image]],
                small_font: Any) -> None:
    """Each tile fitted and centred in its grid cell, under its caption."""
    for i, (name, img) in enumerate(tiles):
        r, c = divmod(i, GRID_COLUMNS)
        x = PAD + c * (TILE + PAD)
        y = TITLE + r * (TILE + TITLE + PAD)
        d.text((x, y + 4), name, fill=INK, font=small_font)
        fitted, _ = _fit(img)
        sheet.paste(fitted, (x + (TILE - fitted.width) // 2, y + TITLE + (TILE - fitted.height) // 2))


def _draw_palette(d: ImageDraw.ImageDraw, palette: Sequence[PaletteColor], small_font: Any) -> None:
    """Palette swatches in the two free tiles of row 2: a bar as long as the colour's share, and its L*a*b*."""
    px, py = PAD + 2 * (TILE + PAD), TITLE + (TILE + TITLE + PAD)
    d.text((px, py + 4), "palette (share, L*a*b*)", fill=INK, font=small_font)
    sw_y = py + TITLE
    for p in palette[:PALETTE_SWATCHES]:
        rgb8 = tuple(int(v) for v in linear_to_srgb8(np.array(p.rgb, np.float32)[None, None], dither=False)[0, 0])
        bar = max(int(p.share * (2 * TILE)), SWATCH_MIN)
        d.rectangle([px, sw_y, px + bar, sw_y + SWATCH_HEIGHT], fill=rgb8, outline=SWATCH_OUTLINE)
        d.text((px + bar + 6, sw_y + 6), f"{p.share * 100:.0f}%  ({p.lab[0]:.0f}, {p.lab[1]:.0f}, {p.lab[2]:.0f})",
               fill=INK, font=small_font)
        sw_y += SWATCH_STEP


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
    fonts = _Fonts(font(SMALL_FONT, bold=False), font(BODY_FONT, bold=False), font(HEAD_FONT))
    photo = Image.fromarray(linear_to_srgb8(cutout.image, dither=False))
    tiles = _tiles(cutout, maps, photo)
    ocr_img = _ocr_tile(photo, maps.text, fonts.small)
    grid_w = GRID_COLUMNS * (TILE + PAD) + PAD
    width = grid_w + max(ocr_img.width + 2 * PAD, INFO_MIN_WIDTH)
    # no timings here: they differ run to run and the image must not (they are in maps/timings.log)
    info = _info_lines(maps, fonts)
    grid_h = TITLE + 2 * (TILE + TITLE + PAD) + PAD + PALETTE_STRIP
    info_h = INFO_LINE_HEIGHT * len(info) + 2 * PAD
    height = max(grid_h, ocr_img.height + 2 * TITLE + PAD) + info_h
    sheet = Image.new("RGB", (width, height), BG)
    d = ImageDraw.Draw(sheet)
    d.text((PAD, 4), title or "packshot inspect", fill=INK, font=fonts.head)
    _draw_tiles(sheet, d, tiles, fonts.small)
    _draw_palette(d, maps.palette, fonts.small)
    # OCR tile on the right
    d.text((grid_w, TITLE + 4), "label text (OCR)", fill=INK, font=fonts.small)
    sheet.paste(ocr_img, (grid_w, 2 * TITLE))
    # info panel at the bottom
    y = height - info_h + PAD
    for text, colour, fnt in info:
        d.text((PAD, y), text, fill=colour, font=fnt)
        y += INFO_LINE_HEIGHT
    return np.asarray(sheet)


def save_overview(path, cutout: Cutout, maps: ProductMaps, title: str = ""):
    """Compose the overview sheet and write it as a PNG, atomically. Returns the path."""
    from pathlib import Path

    from ..imaging import atomic_write_bytes, encode_png

    sheet = overview_sheet(cutout, maps, title=title)
    atomic_write_bytes(path, encode_png(np.ascontiguousarray(sheet), "RGB", compress_level=6))
    return Path(path)
