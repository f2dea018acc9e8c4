"""The understand stage: what shape, surface and text does the product have, and how risky is it?

``understand(cutout, config) -> ProductMaps`` measures, from one cut-out:

- depth (relative, larger = nearer; silhouette inflation by default, ``onnx:PATH`` for a
  monocular depth network) and normals (unit, x right, y up, z toward the camera),
- edges (Canny on the product + its outline, ControlNet-ready),
- materials (specular highlights, see-through, mirror-like metal),
- palette (main colours in CIELAB with shares),
- label text (PP-OCR, any right-angle orientation),
- risk flags with reasons and recommendations.

Examples
--------
>>> from packshot.samples import make_product
>>> from packshot.types import Cutout, alpha_bbox
>>> s = make_product("bottle", seed=1, size=(384, 384))
>>> cut = Cutout(rgb=s.image, alpha=s.mask, image=s.image, bbox=alpha_bbox(s.mask), confidence=1.0)
>>> maps = understand(cut)                               # doctest: +SKIP
>>> maps.depth.shape, maps.normals.shape                  # doctest: +SKIP
((384, 384), (384, 384, 3))
"""

from __future__ import annotations

import sys
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from ..errors import EmptyProductError, InputError
from ..provenance import record, sha256_array
from ..types import Cutout, ProductMaps
from .depth import BACKENDS as DEPTH_BACKENDS
from .edges import product_edges
from .flags import FlagConfig, risk_flags
from .materials import MaterialsConfig, estimate_materials, light_neutral_glass
from ..ops import ocr
from ..ops.ocr import OcrConfig, engine_info, read_text, second_reader_info
from .palette import extract_palette
from .io import load_maps, maps_to_json, save_maps

# The OCR engine is a neutral operation (packshot.ops.ocr) that understand, qa and the compliance
# check share; ``packshot.understand.ocr`` stays an alias of that one module (the same object:
# its engine, settings and any test's patches are shared), for code written before the move.
sys.modules.setdefault(__name__ + ".ocr", ocr)

__all__ = ["understand", "UnderstandConfig", "DEPTH_BACKENDS", "read_text", "OcrConfig", "load_maps", "maps_to_json",
           "save_maps", "light_neutral_glass"]


@dataclass(frozen=True)
class UnderstandConfig:
    """Settings of the understand stage.

    Attributes
    ----------
    depth_backend : str
        A name in :data:`DEPTH_BACKENDS`: "inflate" (default, no model) or "onnx:PATH".
    ocr : bool
        Read the label text (the slowest step; off gives an empty ``text``).
    ocr_config : OcrConfig
        How the text is read (crop size, rotations, confidence). The stage reads the product's
        box in the source photo unmasked: a cut-out that clips the label must not hide its text.
        When a master artwork is given, ``replace(ocr_config, lexicon=lexicon_words(master text))``
        lets near-miss words snap to the master's words (see ``ocr.snap_to_lexicon``). The stage
        also reads a weakly read crop again with its local contrast raised (``contrast_pass``;
        QA's reader leaves it off), and lets Tesseract add words under strict rules
        (``second_reader="tesseract"``, when the Debian ``tesseract-ocr`` + ``tesseract-ocr-eng``
        packages are installed; else a one-time warning and PP-OCR alone).
    palette_colors : int
        Number of k-means clusters for the palette before near-identical ones merge.
    canny_sigma : float
        Automatic Canny thresholds are (1 -+ sigma) x the product's median grey.
    materials : MaterialsConfig
        Thresholds of the specular / transparency / reflective cues.
    flags : FlagConfig
        Thresholds of the risk flags.
    seed : int
        Seed of every random choice (palette sampling and k-means).
    """

    depth_backend: str = "inflate"
    ocr: bool = True
    ocr_config: OcrConfig = field(default_factory=lambda: OcrConfig(mask_outside=False, contrast_pass=True,
                                                                    second_reader="tesseract"))
    palette_colors: int = 5
    canny_sigma: float = 0.33
    materials: MaterialsConfig = field(default_factory=MaterialsConfig)
    flags: FlagConfig = field(default_factory=FlagConfig)
    seed: int = 0


def _check_cutout(cutout: Cutout) -> None:
    if not isinstance(cutout, Cutout):
        raise InputError("cutout", f"expected a packshot.types.Cutout, got {type(cutout).__name__}")
    a = np.asarray(cutout.alpha)
    if a.ndim != 2:
        raise InputError("cutout.alpha", f"alpha must be H x W, got shape {a.shape}")
    for name, arr in (("cutout.rgb", cutout.rgb), ("cutout.image", cutout.image)):
        arr = np.asarray(arr)
        if arr.shape != a.shape + (3,):
            raise InputError(name, f"must be H x W x 3 matching alpha {a.shape}, got shape {arr.shape}")
    # resampling leaves alpha a hair outside [0, 1]; more than that is a wrong input
    if not np.isfinite(a).all() or a.min() < -1e-3 or a.max() > 1 + 1e-3:
        raise InputError("cutout.alpha", "alpha must be finite and in [0, 1]")
    if not (a > 0.5).any():
        raise EmptyProductError("cutout", "the cut-out has no product pixels (alpha is empty); nothing to measure")


def _understand_record(cutout: Cutout, config: UnderstandConfig, depth_params: dict, rgb: np.ndarray,
                       alpha: np.ndarray, scale: float) -> dict:
    """The ``understand`` provenance record: every step's parameters, the inputs' hashes, the depth scale."""
    params = {
        "depth_backend": config.depth_backend,
        "depth": depth_params,
        "ocr": config.ocr,
        "ocr_config": asdict(config.ocr_config),
        "palette_colors": config.palette_colors,
        "canny_sigma": config.canny_sigma,
        "materials": asdict(config.materials),
        "flags": asdict(config.flags),
    }
    return record(
        "understand",
        config.depth_backend,
        params=params,
        inputs={"cutout_rgb": sha256_array(rgb), "cutout_alpha": sha256_array(alpha)},
        seed=config.seed,
        depth_scale_px=round(scale, 4),
        ocr_engine=engine_info() if config.ocr else None,
        ocr_second_reader=second_reader_info(config.ocr_config) if config.ocr else None,
        cutout=dict(cutout.provenance) if cutout.provenance else {},
    )


def understand(cutout: Cutout, config: UnderstandConfig = UnderstandConfig()) -> ProductMaps:
    """Measure shape, surface, text and risks of the product in a cut-out.

    Parameters
    ----------
    cutout : Cutout
        From the segment stage (or built from a known mask).
    config : UnderstandConfig

    Returns
    -------
    ProductMaps
        ``depth`` float32 H x W in [0, 1] (relative, larger = nearer, 0 outside the product;
        multiply by ``provenance["depth_scale_px"]`` for heights in pixels), ``normals``
        float32 H x W x 3 unit vectors, ``edges`` float32 H x W in {0, 1}, ``materials``,
        ``palette``, ``text``, ``flags``, ``timings`` (seconds per step) and ``provenance``.

    Raises
    ------
    EmptyProductError
        The cut-out has no product pixels.
    InputError
        Arrays of the wrong shape or range.
    """
    _check_cutout(cutout)
    timings: dict[str, float] = {}
    t_all = time.perf_counter()
    rgb = np.asarray(cutout.rgb, np.float32)
    alpha = np.clip(np.asarray(cutout.alpha, np.float32), 0.0, 1.0)
    image = np.asarray(cutout.image, np.float32)

    t = time.perf_counter()
    backend = DEPTH_BACKENDS.create(config.depth_backend)
    estimate = backend.estimate(rgb, alpha)
    scale = float(estimate.height_px.max())
    depth = (estimate.height_px / scale).astype(np.float32) if scale > 0 else estimate.height_px.astype(np.float32)
    timings["depth"] = time.perf_counter() - t

    t = time.perf_counter()
    edges = product_edges(rgb, alpha, sigma=config.canny_sigma)
    timings["edges"] = time.perf_counter() - t

    t = time.perf_counter()
    text = read_text(image, alpha, config.ocr_config) if config.ocr else ()
    timings["ocr"] = time.perf_counter() - t

    t = time.perf_counter()
    materials = estimate_materials(rgb, alpha, image=image, text_boxes=tuple(line.box for line in text),
                                   config=config.materials)
    timings["materials"] = time.perf_counter() - t

    t = time.perf_counter()
    palette = extract_palette(rgb, alpha, colors=config.palette_colors, seed=config.seed)
    timings["palette"] = time.perf_counter() - t

    t = time.perf_counter()
    flags = risk_flags(cutout, materials, text, config.flags)
    timings["flags"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - t_all

    provenance = _understand_record(cutout, config, estimate.params, rgb, alpha, scale)
    return ProductMaps(depth=depth, normals=estimate.normals, edges=edges, materials=materials, palette=palette,
                       text=text, flags=flags, timings={k: round(v, 4) for k, v in timings.items()},
                       provenance=provenance)
