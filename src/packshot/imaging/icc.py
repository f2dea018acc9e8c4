"""ICC profiles: embedded profile -> sRGB, for 8-bit (Pillow's colour engine) and 16-bit (float) pixels."""

from __future__ import annotations

import functools
import io
import struct
from typing import Callable

import numpy as np
from PIL import Image, ImageCms

from .colour import srgb_to_linear

_SRGB_PROFILE = ImageCms.createProfile("sRGB")

# --- ICC profiles -----------------------------------------------------------------------------
_ICC_SPACE_FOR_MODE = {"RGB": "RGB", "L": "GRAY", "CMYK": "CMYK", "LAB": "LAB"}


class _IccMismatch(ValueError):
    """The embedded profile does not describe the image's colour space."""


@functools.lru_cache(maxsize=32)
def _icc_transform(icc: bytes, in_mode: str) -> tuple[ImageCms.ImageCmsTransform | None, str]:
    """A transform from the embedded profile to sRGB (None when it already is sRGB) and its name.

    Transforms are cached by profile bytes (building one takes milliseconds) and built with
    ``NOCACHE`` so that one transform may be applied from several threads at once.
    """
    src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    desc = (ImageCms.getProfileDescription(src) or "").strip() or "unnamed profile"
    space = src.profile.xcolor_space.strip().upper()
    if space != _ICC_SPACE_FOR_MODE.get(in_mode):
        raise _IccMismatch(f"a {space} profile on a {in_mode} image")
    if in_mode == "RGB" and "srgb" in desc.lower():
        return None, desc
    transform = ImageCms.buildTransform(
        src, _SRGB_PROFILE, in_mode, "RGB",
        renderingIntent=ImageCms.Intent.PERCEPTUAL, flags=ImageCms.Flags.NOCACHE,
    )
    return transform, desc


def _lookup_icc(icc: bytes, in_mode: str, notes: list[str]) -> ImageCms.ImageCmsTransform | None:
    try:
        transform, desc = _icc_transform(bytes(icc), in_mode)
    except _IccMismatch as exc:
        notes.append(f"icc profile ignored ({exc})")
        return None
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError) as exc:
        notes.append(f"icc profile ignored (unreadable: {exc.__class__.__name__})")
        return None
    if transform is not None:
        notes.append(f"icc->sRGB ({desc[:48]})")
    return transform


def _icc_to_srgb_pil(img: Image.Image, icc: bytes, notes: list[str]) -> Image.Image | None:
    """Convert an 8-bit RGB / L / CMYK / LAB Pillow image to sRGB RGB, or None to leave it."""
    transform = _lookup_icc(icc, img.mode, notes)
    if transform is None:
        return None
    try:
        return ImageCms.applyTransform(img, transform)
    except (ImageCms.PyCMSError, ValueError) as exc:
        notes.append(f"icc conversion failed, profile ignored ({exc})")
        return None


def _icc_tags(icc: bytes) -> dict[bytes, int]:
    """Tag signature -> offset of its data, from an ICC profile's tag table."""
    count = struct.unpack_from(">I", icc, 128)[0]
    tags = {}
    for i in range(min(count, 1000)):
        sig, offset, _size = struct.unpack_from(">4sII", icc, 132 + 12 * i)
        tags[sig] = offset
    return tags


def _icc_curve(icc: bytes, offset: int) -> Callable[[np.ndarray], np.ndarray]:
    """The tone curve stored at ``offset`` ('curv' or 'para' type) as a float function on [0, 1]."""
    kind = icc[offset : offset + 4]
    if kind == b"curv":
        count = struct.unpack_from(">I", icc, offset + 8)[0]
        if count == 0:
            return lambda v: v
        if count == 1:
            gamma = struct.unpack_from(">H", icc, offset + 12)[0] / 256.0
            return lambda v: np.power(v, np.float32(gamma))
        table = np.frombuffer(icc, ">u2", count, offset + 12).astype(np.float32) / 65535.0
        nodes = np.linspace(0.0, 1.0, count, dtype=np.float32)
        return lambda v: np.interp(v, nodes, table).astype(np.float32)
    if kind == b"para":
        function = struct.unpack_from(">H", icc, offset + 8)[0]
        n = {0: 1, 1: 3, 2: 4, 3: 5, 4: 7}[function]
        p = [v / 65536.0 for v in struct.unpack_from(f">{n}i", icc, offset + 12)]
        g, a, b, c, d, e, f = (p + [0.0] * 7)[:7] if function != 0 else (p[0], 1.0, 0.0, 0.0, 0.0, 0.0, 0.0)
        if function == 1:  # Y = (aX + b)^g above -b/a, else 0
            c, d, e, f = 0.0, -b / a, 0.0, 0.0
        elif function == 2:  # Y = (aX + b)^g + c above -b/a, else c
            c, d, e, f = 0.0, -b / a, p[3], p[3]
        elif function == 3:  # Y = (aX + b)^g above d, else cX
            e, f = 0.0, 0.0

        def curve(v: np.ndarray) -> np.ndarray:
            power = np.power(np.maximum(a * v + b, 0.0), g) + e
            return np.where(v >= d, power, c * v + f).astype(np.float32)

        return curve
    raise ValueError(f"unsupported ICC curve type {kind!r}")


@functools.lru_cache(maxsize=1)
def _srgb_colorants() -> np.ndarray:
    """The sRGB profile's D50-adapted colorant matrix (linear sRGB -> PCS XYZ), as lcms uses it."""
    profile = ImageCms.ImageCmsProfile(_SRGB_PROFILE).profile
    return np.array([profile.red_colorant[0], profile.green_colorant[0], profile.blue_colorant[0]], np.float64).T


def _matrix_shaper_to_linear(colour: np.ndarray, icc: bytes) -> np.ndarray | None:
    """Convert with a matrix/TRC profile in float, exactly; None for other (table-based) profiles.

    Most RGB working spaces (Adobe RGB, Display P3, ProPhoto) and grey profiles are matrix/TRC:
    a tone curve per channel, then a 3 x 3 matrix into the profile connection space. Applying
    them in float keeps 16-bit precision and colours near the sRGB gamut edge exact (a sampled
    8-bit table cannot). Returns linear sRGB H x W x 3 in [0, 1] (outside colours are clipped).
    """
    try:
        tags = _icc_tags(icc)
        if b"A2B0" in tags:  # a table-based profile: the colour engine uses its tables
            return None
        if colour.shape[2] == 1:
            if b"kTRC" not in tags:
                return None
            grey = _icc_curve(icc, tags[b"kTRC"])(np.clip(colour[..., 0], 0.0, 1.0))
            return np.repeat(np.clip(grey, 0.0, 1.0)[..., None], 3, axis=2)
        needed = (b"rXYZ", b"gXYZ", b"bXYZ", b"rTRC", b"gTRC", b"bTRC")
        if not all(t in tags for t in needed):
            return None
        colorants = np.array([[v / 65536.0 for v in struct.unpack_from(">3i", icc, tags[t] + 8)]
                              for t in needed[:3]], np.float64).T
        to_srgb = (np.linalg.inv(_srgb_colorants()) @ colorants).astype(np.float32)
        curves = [_icc_curve(icc, tags[t]) for t in needed[3:]]
    except (struct.error, ValueError, KeyError, np.linalg.LinAlgError):
        return None
    linear = np.stack([curve(np.clip(colour[..., c], 0.0, 1.0)) for c, curve in enumerate(curves)], axis=-1)
    return np.clip(linear @ to_srgb.T, 0.0, 1.0).astype(np.float32)


def _wide_icc_to_linear(colour: np.ndarray, icc: bytes, notes: list[str]) -> np.ndarray | None:
    """Wide (16-bit) colour H x W x C (C = 1 or 3) with a profile -> linear sRGB, or None to leave it."""
    transform = _lookup_icc(icc, "L" if colour.shape[2] == 1 else "RGB", notes)
    if transform is None:
        return None  # already sRGB, or the profile is unusable (noted)
    exact = _matrix_shaper_to_linear(colour, icc)
    if exact is not None:
        return exact
    notes.append("icc applied through a sampled table")
    return srgb_to_linear(_icc_to_srgb_float(colour, transform))


_ICC_GRID_STEP = 5  # 8-bit levels between nodes of the 3-D lookup table: 52^3 nodes, all exact


def _icc_to_srgb_float(colour: np.ndarray, transform: ImageCms.ImageCmsTransform) -> np.ndarray:
    """Convert wide (16-bit) colour H x W x C (C = 1 grey or 3 RGB) in [0, 1] to sRGB-encoded.

    For table-based profiles. Pillow's colour engine works on 8-bit images only, so the
    transform is sampled on a lookup table (every 8-bit grey level; every 5th level per RGB
    channel) and interpolated in float: smooth 16-bit gradients stay smooth and in-gamut colours
    are within about one 8-bit step; next to the sRGB gamut edge the table's clipped nodes can
    put a colour a few steps off. Returns H x W x 3.
    """
    channels = colour.shape[2]
    if channels == 1:
        nodes = Image.fromarray(np.arange(256, dtype=np.uint8)[None, :], "L")
        table = np.asarray(ImageCms.applyTransform(nodes, transform), np.float32)[0] / 255.0  # 256 x 3
        x = colour[..., 0] * 255.0
        return np.stack([np.interp(x, np.arange(256), table[:, c]) for c in range(3)], -1).astype(np.float32)
    levels = np.arange(0, 256, _ICC_GRID_STEP, dtype=np.uint8)
    n = len(levels)
    grid = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), -1).reshape(1, -1, 3)
    table = np.asarray(ImageCms.applyTransform(Image.fromarray(np.ascontiguousarray(grid), "RGB"), transform))
    # one contiguous 1-D table per output channel: 1-D gathers are far faster than row gathers
    tables = [np.ascontiguousarray(table.reshape(n * n * n, 3)[:, c], dtype=np.float32) / 255.0 for c in range(3)]
    h, w = colour.shape[:2]
    flat = colour.reshape(-1, 3)
    out = np.empty((flat.shape[0], 3), np.float32)
    chunk = 1 << 19  # bounded temporary memory on large images
    for start in range(0, flat.shape[0], chunk):
        # trilinear interpolation between the 8 lattice nodes around each colour
        g = np.clip(flat[start : start + chunk], 0.0, 1.0) * np.float32(n - 1)
        cell = np.minimum(g.astype(np.int32), n - 2)
        frac = [np.ascontiguousarray(g[:, a] - cell[:, a]) for a in range(3)]
        base = (cell[:, 0] * (n * n) + cell[:, 1] * n + cell[:, 2]).astype(np.intp)
        acc = [np.zeros(len(base), np.float32) for _ in range(3)]
        for corner in range(8):
            bits = ((corner >> 2) & 1, (corner >> 1) & 1, corner & 1)
            weight = np.ones(len(base), np.float32)
            for axis, bit in enumerate(bits):
                weight *= frac[axis] if bit else 1.0 - frac[axis]
            index = base + (bits[0] * n * n + bits[1] * n + bits[2])
            for c in range(3):
                acc[c] += tables[c][index] * weight
        out[start : start + chunk] = np.stack(acc, axis=1)
    return np.clip(out, 0.0, 1.0).reshape(h, w, 3)



def icc_description(icc: bytes | None) -> str | None:
    """The description of an embedded ICC profile (stripped); None when there is none,
    ``"<unreadable ICC profile>"`` when the profile cannot be parsed."""
    if not icc:
        return None
    try:
        return ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc))).strip()
    except (ImageCms.PyCMSError, OSError, ValueError):
        return "<unreadable ICC profile>"
