"""render stage: paint the scene around the locked product.

A renderer (registered backend) paints the background of a :class:`~packshot.types.SceneSpec`;
this module places the product's cut-out with one affine warp
(:func:`packshot.ops.placement.place_product`) and composites it over the background in linear
light. The product's pixels are never repainted: shadows, reflection and the bounded relight
are added by :func:`packshot.relight.relight`.

The returned :class:`~packshot.types.Frame` carries what later stages need as typed fields: the
placement ``matrix``, the ``light``, the ``support`` surface and ``floor_y``, the scene's
``grain``, a plate's ``plate_match``, and its ``layers`` (the placed product, premultiplied, over
its region only; the background is recovered on demand by :meth:`~packshot.types.Frame.background`).

The package face (what other stages import): :func:`render`, :func:`render_many`,
:data:`RENDERERS`, :func:`product_matrix`, :func:`frame_at_photo_scale`, the light colour
(:func:`light_tint`), frame files (:func:`save_frame`, :func:`load_frame`, :func:`read_sidecar`,
:func:`find_sidecars`, :func:`frame_paths`, :func:`frame_stem`, :func:`alpha_path`,
:func:`is_byproduct_image`) and, imported on first use, the diffusion engine's model helpers
(:class:`DiffusionSettings`, :class:`ModelLoadError`, :func:`pick_device`, :func:`folder_digest`).

Backends: ``studio`` (procedural scenes), ``plate`` (a background photo) and ``diffusion`` (a
diffusion model inpaints the scene, :mod:`packshot.render.diffusion`; extra ``diffusion``).

Examples
--------
>>> from packshot.render import render                      # doctest: +SKIP
>>> frame = render(spec, cutout, maps, backend="studio")   # doctest: +SKIP
>>> frame.rgb.shape, frame.product_box                      # doctest: +SKIP
((1024, 1024, 3), (312, 180, 712, 860))
"""

from __future__ import annotations

import time
from typing import Any, Protocol

import numpy as np

from ..errors import EmptyProductError
from ..provenance import record
from ..registry import Registry
from ..types import Cutout, Frame, FrameLayers, PlateMatch, ProductMaps, RegionLayer, SceneSpec, Support, alpha_bbox
from .compose import PlacedProduct, composite, place_product
from .geometry import NEUTRAL_KELVIN, light_tint
from .pose import settle_cutout
from .flatlay import declared_shadow, light_vector
from .transmission import outline_alpha, see_through_cutout, see_through_mask, see_through_share
from .io import (alpha_path, find_sidecars, frame_paths, frame_stem, is_byproduct_image, load_frame, read_sidecar,
                 save_frame)


class Renderer(Protocol):
    """A scene painter: the background of a spec, and facts relight needs (JSON-ready).

    Optional attributes a renderer may have: ``source_kind`` (the frames' kind, default
    "embedded"), ``uses_maps`` (``background`` also takes ``maps=``), ``backgrounds(items, maps)``
    (paints several ``(spec, placed product)`` pairs at once, used by :func:`render_many`). A
    ``_provenance`` mapping in the returned facts goes into the frame's render record as is.
    """

    name: str

    def background(self, spec: SceneSpec, product: PlacedProduct) -> tuple[np.ndarray, dict[str, Any]]:
        ...


RENDERERS: Registry[Renderer] = Registry("render backend")


@RENDERERS.register("studio", doc="Procedural studio scenes: sweep, podium, plinth, arch, textures (no model).")
def _studio() -> Renderer:
    from .studio import StudioRenderer

    return StudioRenderer()


@RENDERERS.register("plate", doc="A background photo as the scene, the product on its floor line.")
def _plate() -> Renderer:
    from .plate import PlateRenderer

    return PlateRenderer()


@RENDERERS.register("diffusion", batch=4, doc="A diffusion model (SD 1.5 / SDXL / Flux, hub id or local folder) inpaints "
                                     "the scene around the locked product; ControlNet + IP-Adapter. Extra: diffusion.")
def _diffusion(**defaults: Any) -> Renderer:
    from .diffusion import DiffusionRenderer

    return DiffusionRenderer(defaults or None)


BACKENDS = RENDERERS
"""Alias: every stage names its registry ``BACKENDS``."""


def product_matrix(spec: SceneSpec, cutout: Cutout) -> np.ndarray:
    """The 2 x 3 placement matrix (cut-out px -> frame px) for ``spec``."""
    box = alpha_bbox(cutout.alpha)
    if box is None:
        raise EmptyProductError("cutout", "the cut-out has no product pixels (alpha is empty)")
    return spec.placement.matrix(box)


def render(spec: SceneSpec, cutout: Cutout, maps: ProductMaps | None = None, backend: str = "studio") -> Frame:
    """Build one frame: the scene's background with the locked product composited on it.

    Parameters
    ----------
    spec : SceneSpec
        From :func:`packshot.condition.condition`.
    cutout : Cutout
        The product (linear colour + alpha); placed by an affine warp only.
    maps : ProductMaps, optional
        Not used by the embedded renderers (relight uses them); accepted so every backend
        has one signature.
    backend : str
        A name in :data:`RENDERERS` ("studio", "plate"). A spec with a plate needs "plate".

    Returns
    -------
    Frame
        ``rgb`` linear H x W x 3, ``product_alpha`` the product's alpha in the frame,
        ``product_box`` its box, ``provenance["render"]`` the backend, parameters, timings and
        ``scene`` facts (support surface, grain) relight reads.
    """
    return render_many([spec], cutout, maps, backend)[0]


def _placed(spec: SceneSpec, cutout: Cutout) -> tuple[np.ndarray, PlacedProduct]:
    matrix = product_matrix(spec, cutout)
    product = place_product(cutout.rgb, cutout.alpha, matrix, spec.canvas)
    if product.box is None:
        raise EmptyProductError("placement", f"the product falls outside the {spec.canvas[0]}x{spec.canvas[1]} canvas")
    return matrix, product


def render_many(specs: list[SceneSpec], cutout: Cutout, maps: ProductMaps | None = None,
                backend: str = "studio") -> list[Frame]:
    """:func:`render` for several specs of one product; a renderer that paints in batches (the
    diffusion renderer: the variants of a scene in one model call) gets them together."""
    if not specs:
        return []
    # a scene with a background photo can only be painted by the plate renderer; a scene whose
    # brief names a renderer gets that one
    chosen = ["plate" if s.plate is not None else (s.provenance.get("renderer") or backend) for s in specs]
    if len(set(chosen)) > 1:
        frames: dict[int, Frame] = {}
        for name in dict.fromkeys(chosen):
            idx = [i for i, c in enumerate(chosen) if c == name]
            for i, f in zip(idx, render_many([specs[i] for i in idx], cutout, maps, name)):
                frames[i] = f
        return [frames[i] for i in range(len(specs))]
    backend = chosen[0]
    renderer = RENDERERS.create(backend)
    t0 = time.perf_counter()
    placed = [_placed(spec, cutout) for spec in specs]
    t1 = time.perf_counter()
    if hasattr(renderer, "backgrounds"):
        painted = renderer.backgrounds([(s, p) for s, (_, p) in zip(specs, placed)], maps)  # type: ignore[attr-defined]
    elif getattr(renderer, "uses_maps", False):
        painted = [renderer.background(s, p, maps=maps) for s, (_, p) in zip(specs, placed)]  # type: ignore[call-arg]
    else:
        painted = [renderer.background(s, p) for s, (_, p) in zip(specs, placed)]
    t2 = time.perf_counter()
    frames = [_frame(renderer, spec, matrix, product, bg, info, (t1 - t0) / len(specs), (t2 - t1) / len(specs))
              for spec, (matrix, product), (bg, info) in zip(specs, placed, painted)]
    return frames


def _frame(renderer: Renderer, spec: SceneSpec, matrix: np.ndarray, product: PlacedProduct, background: np.ndarray,
           scene_info: dict[str, Any], place_s: float, background_s: float) -> Frame:
    scene_info = dict(scene_info)
    extra = scene_info.pop("_provenance", {})
    t2 = time.perf_counter()
    # a renderer that paints a new background on every call (``fresh_background``) lets the
    # composite go into it rather than into a second full-size copy
    own = bool(getattr(renderer, "fresh_background", False)) and \
        (spec.plate is None or not np.shares_memory(background, spec.plate))
    rgb = composite(background, product, overwrite_background=own)
    t3 = time.perf_counter()
    prov = record(
        "render", renderer.name,
        params={"canvas": list(spec.canvas), "preset": spec.preset, "seed": spec.seed,
                "placement": {"center": list(spec.placement.center), "scale": spec.placement.scale,
                              "rotation": spec.placement.rotation}},
        inputs=dict(spec.provenance.get("inputs", {})),
        matrix=[[float(v) for v in row] for row in matrix],
        scene=scene_info,
        timings={"place_s": round(place_s, 4), "background_s": round(background_s, 4),
                 "composite_s": round(t3 - t2, 4)},
        **extra,
    )
    assert product.box is not None
    y0, y1, x0, x1 = product.region
    return Frame(rgb=rgb, product_alpha=product.alpha, product_box=product.box, spec=spec,
                 source_kind=getattr(renderer, "source_kind", "embedded"),
                 provenance={"condition": dict(spec.provenance), "render": prov},
                 matrix=np.asarray(matrix, np.float64), light=spec.light,
                 support=Support.from_dict(scene_info.get("support")), floor_y=float(spec.floor_y),
                 grain=float(scene_info.get("noise", 0.0) or 0.0),
                 plate_match=PlateMatch.from_dict(scene_info.get("match")),
                 layers=FrameLayers(product=RegionLayer((x0, y0, x1, y1), product.region_rgba)))


def frame_at_photo_scale(frame: Frame, factor: int) -> Frame:
    """The same frame with its placement expressed in pixels of the photo-size cut-out.

    A photo analysed at ``1 / factor`` of its size (:func:`packshot.imaging.load_image_working`)
    is rendered from the working cut-out, but ``cutout.png`` is written at the photo's size, so
    the matrix and scale recorded with the frame (what qa and export read) are converted:
    full-resolution pixel ``x`` is working pixel ``(x - (factor - 1) / 2) / factor``. The
    pixels are untouched; ``factor == 1`` returns ``frame`` itself.
    """
    import dataclasses

    if factor == 1:
        return frame
    k = float(factor)
    c = (k - 1.0) / 2.0
    prov = {key: (dict(v) if isinstance(v, dict) else v) for key, v in frame.provenance.items()}
    rprov = prov.get("render")
    if isinstance(rprov, dict) and rprov.get("matrix") is not None:
        m = np.asarray(rprov["matrix"], np.float64)
        full = np.empty_like(m)
        full[:, :2] = m[:, :2] / k
        full[:, 2] = m[:, 2] - m[:, :2] @ np.array([c, c]) / k
        rprov["matrix"] = [[float(v) for v in row] for row in full]
        rprov["working_resolution"] = {"factor": int(factor)}
    matrix = frame.matrix
    if matrix is not None:
        matrix = np.empty_like(frame.matrix)
        matrix[:, :2] = frame.matrix[:, :2] / k
        matrix[:, 2] = frame.matrix[:, 2] - frame.matrix[:, :2] @ np.array([c, c]) / k
    spec = dataclasses.replace(frame.spec, placement=dataclasses.replace(
        frame.spec.placement, scale=frame.spec.placement.scale / k))
    return dataclasses.replace(frame, spec=spec, provenance=prov, matrix=matrix)


_LAZY = {"DiffusionSettings": ".diffusion.settings", "ModelLoadError": ".diffusion.engine",
         "pick_device": ".diffusion.engine", "folder_digest": ".diffusion.engine"}


def __getattr__(name: str) -> Any:
    """The diffusion engine's model helpers, imported on first use (they are torch-free to import,
    but the diffusion package is not loaded until someone asks)."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["frame_at_photo_scale", "render", "render_many", "RENDERERS", "BACKENDS", "Renderer", "product_matrix",
           "place_product", "PlacedProduct", "NEUTRAL_KELVIN", "light_tint", "alpha_path", "find_sidecars",
           "frame_paths", "frame_stem", "is_byproduct_image", "load_frame", "read_sidecar", "save_frame",
           "DiffusionSettings", "ModelLoadError", "pick_device", "folder_digest", "settle_cutout", "outline_alpha",
           "see_through_cutout", "see_through_mask", "see_through_share", "light_vector",
           "declared_shadow"]
