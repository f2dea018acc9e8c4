"""The segment stage: which pixels are the product?

One public function, :func:`segment`, turns a photo (and an optional SAM-style prompt) into a
:class:`~packshot.types.Cutout`: the product's foreground colour with the old backdrop removed
from edge pixels, its soft alpha, bounding box, a confidence and provenance.

Backends live in :data:`BACKENDS` (one per file in this package):

``auto`` (default)
    Built for studio packshots: a model of the backdrop (colour and gradient, fitted on the
    border), fused with u2netp saliency, edges refined by known-background alpha matting and
    the foreground colours decontaminated. Falls back to saliency + GrabCut when the photo has
    no clean backdrop, and says so in ``flags`` and ``confidence``.
``u2netp``
    The u2netp salient-object model alone (the rembg-style baseline).
``onnx:PATH``
    Any salient-object ONNX model with the U2Net / ISNet / BiRefNet layout.
``sam:CHECKPOINT``
    Segment Anything (``segment-anything`` package) with a user checkpoint.

Examples
--------
>>> from packshot.samples import make_product
>>> from packshot.segment import segment
>>> sample = make_product("bottle", seed=1, size=(256, 256))
>>> cut = segment(sample.image)                      # doctest: +SKIP
>>> cut.bbox, round(cut.confidence, 2)               # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ..errors import InputError
from ..imaging import LoadedImage
from ..provenance import record, sha256_array
from ..registry import Registry
from ..types import Cutout, Prompt, alpha_bbox

__all__ = [
    "BACKENDS",
    "SegmentBackend",
    "SegmentConfig",
    "Prediction",
    "segment",
    "cutout_from_mask",
    "check_prompt",
]


@dataclass(frozen=True)
class SegmentConfig:
    """Settings of the segment stage (every backend reads the fields it needs)."""

    work_size: int = 768
    """Long side, in pixels, of the coarse pass (backdrop model, fusion, GrabCut)."""
    saliency_size: int = 320
    """Square input size of the u2netp saliency model."""
    refine_edges: bool = True
    """Refine the edge band at full resolution with known-background alpha matting."""
    band_px: float = 2.5
    """Half-width of the refined edge band in coarse-pass pixels (scaled to full resolution)."""
    decontaminate: bool = True
    """Estimate foreground colours so no halo of the old backdrop survives at the edges."""
    prompt_margin: float = 0.08
    """Margin added around a box prompt before cropping, as a share of the box's long side."""
    min_product_area: float = 0.0004
    """Below this share of the image the result is called empty (flag "empty", bbox None)."""
    clean_backdrop_inliers: float = 0.80
    """Share of border pixels the backdrop model must explain for a photo to count as studio."""
    onnx_input_size: int | None = None
    """Input size of an ``onnx:PATH`` model (None: read it from the model, else 320)."""
    onnx_mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    """Per-channel mean subtracted from sRGB values in [0, 1] for ``onnx:PATH`` models."""
    onnx_std: tuple[float, float, float] = (0.229, 0.224, 0.225)
    """Per-channel standard deviation dividing sRGB values for ``onnx:PATH`` models."""
    onnx_activation: str = "auto"
    """Output activation of ``onnx:PATH`` models: "auto", "sigmoid" or "none"."""
    threads: int = 0
    """onnxruntime / torch intra-op threads (0: the library default)."""

    def __post_init__(self) -> None:
        if self.work_size < 64:
            raise ValueError(f"work_size must be at least 64, got {self.work_size}")
        if self.saliency_size < 32:
            raise ValueError(f"saliency_size must be at least 32, got {self.saliency_size}")
        if self.onnx_activation not in ("auto", "sigmoid", "none"):
            raise ValueError(f"onnx_activation must be auto, sigmoid or none, got {self.onnx_activation!r}")
        if not 0 <= self.prompt_margin <= 1:
            raise ValueError(f"prompt_margin must be in [0, 1], got {self.prompt_margin}")


@dataclass(frozen=True)
class Prediction:
    """What a backend returns: alpha at the size of the image it was given.

    Attributes
    ----------
    alpha : float32 H x W in [0, 1].
    confidence : 0..1, how sure the backend is.
    background : estimated backdrop colour (linear RGB) or None.
    flags : notes ("not-studio-backdrop", "fallback-u2netp", ...).
    params : what the backend did (JSON-serialisable), recorded in provenance.
    foreground : float32 H x W x 3 decontaminated foreground when the backend solved it along
        with alpha (None: :func:`cutout_from_mask` estimates it).
    """

    alpha: np.ndarray
    confidence: float
    background: tuple[float, float, float] | None = None
    flags: tuple[str, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)
    foreground: np.ndarray | None = None


@runtime_checkable
class SegmentBackend(Protocol):
    """A segment backend: ``predict(rgb, prompt, config) -> Prediction``.

    ``handles_prompt`` says whether the backend reads the prompt itself; when False
    :func:`segment` crops to the box and filters by points around it.
    """

    name: str
    handles_prompt: bool

    def predict(self, rgb: np.ndarray, prompt: Prompt | None, config: SegmentConfig) -> Prediction:
        ...


BACKENDS: Registry[SegmentBackend] = Registry("segment backend")


def _register_builtin() -> None:
    # Each backend module registers itself; imported here so the registry is complete.
    from . import auto, onnx_model, sam, u2netp  # noqa: F401


# ---------------------------------------------------------------------------------------------
def _as_rgb(image: LoadedImage | np.ndarray) -> tuple[np.ndarray, str]:
    """The linear RGB array of ``image`` and a name for error messages."""
    if isinstance(image, LoadedImage):
        rgb, name = image.rgb, image.path
    else:
        rgb, name = image, "image"
    if not isinstance(rgb, np.ndarray):
        raise InputError(name, f"expected a LoadedImage or a numpy array, got {type(rgb).__name__}")
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise InputError(name, f"expected an H x W x 3 linear RGB array, got shape {rgb.shape}")
    if rgb.shape[0] < 8 or rgb.shape[1] < 8:
        raise InputError(name, f"image is too small to segment ({rgb.shape[1]}x{rgb.shape[0]}, need 8x8)")
    if rgb.dtype != np.float32:
        raise InputError(name, f"expected float32 linear RGB (see packshot.imaging), got {rgb.dtype}")
    return rgb, name


def check_prompt(prompt: Prompt | None, size: tuple[int, int], name: str = "prompt") -> Prompt | None:
    """Validate a prompt against the image ``size`` = (width, height); clip the box to the image.

    Raises
    ------
    InputError
        A box with no area inside the image, or a point outside it, or a label other than 0/1.
    """
    if prompt is None or prompt.empty:
        return None
    w, h = size
    box = prompt.box
    if box is not None:
        if len(box) != 4:
            raise InputError(f"{name} box", f"needs 4 numbers x0,y0,x1,y1, got {box}")
        try:
            values = [float(v) for v in box]
        except (TypeError, ValueError) as exc:
            raise InputError(f"{name} box", f"needs 4 numbers x0,y0,x1,y1, got {box}") from exc
        if not all(np.isfinite(values)):
            raise InputError(f"{name} box", f"needs finite numbers (no inf or nan), got {box}")
        x0, y0, x1, y1 = (int(round(v)) for v in values)
        if x1 <= x0 or y1 <= y0:
            raise InputError(f"{name} box", f"x1 > x0 and y1 > y0 are needed, got {box}")
        cx0, cy0, cx1, cy1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
        if cx1 - cx0 < 2 or cy1 - cy0 < 2:
            raise InputError(f"{name} box", f"{box} lies outside the {w}x{h} image")
        box = (cx0, cy0, cx1, cy1)
    points = []
    for p in prompt.points:
        if len(p) != 3:
            raise InputError(f"{name} point", f"needs x, y and a label 0 or 1, got {p}")
        x, y, label = float(p[0]), float(p[1]), int(p[2])
        if label not in (0, 1):
            raise InputError(f"{name} point", f"label must be 0 (not product) or 1 (product), got {p[2]}")
        if not (0 <= x < w and 0 <= y < h):
            raise InputError(f"{name} point", f"({x:g}, {y:g}) lies outside the {w}x{h} image")
        points.append((x, y, label))
    return Prompt(box=box, points=tuple(points))


_EMPTY_DROPS_FLAGS = ("empty", "touches-frame", "saliency-disagrees")
"""Flags dropped from an empty cut-out: notes about a product that is not there would only confuse."""


def _run_backend(backend: str | SegmentBackend, rgb: np.ndarray, prompt: Prompt | None,
                 config: SegmentConfig) -> tuple[Prediction, str]:
    """The backend's prediction (a prompt it cannot take is applied around it) and its name."""
    if isinstance(backend, str):
        backend_obj = BACKENDS.create(backend)
        backend_name = backend
    else:
        backend_obj = backend
        backend_name = getattr(backend, "name", type(backend).__name__)

    if prompt is not None and not backend_obj.handles_prompt:
        from .prompt import predict_with_prompt

        pred = predict_with_prompt(backend_obj, rgb, prompt, config)
    else:
        pred = backend_obj.predict(rgb, prompt, config)
    return pred, backend_name


def _checked_alpha(pred: Prediction, backend_name: str, shape: tuple[int, int],
                   config: SegmentConfig) -> tuple[np.ndarray, list[str], bool]:
    """The prediction's alpha in [0, 1] (zero when too little product is found), its flags, empty."""
    alpha = np.clip(np.asarray(pred.alpha, np.float32), 0.0, 1.0)
    if alpha.shape != shape:
        raise RuntimeError(f"backend {backend_name} returned alpha of shape {alpha.shape}, expected {shape}")
    flags = list(pred.flags)
    empty = alpha_bbox(alpha) is None or float((alpha > 0.5).mean()) < config.min_product_area
    if empty:
        alpha = np.zeros_like(alpha)
        # notes about a product that is not there would only confuse
        flags = ["empty", *[f for f in flags if f not in _EMPTY_DROPS_FLAGS]]
    return alpha, flags, empty


def segment(
    image: LoadedImage | np.ndarray,
    config: SegmentConfig = SegmentConfig(),
    backend: str | SegmentBackend = "auto",
    prompt: Prompt | None = None,
) -> Cutout:
    """Cut the product out of a photo.

    Parameters
    ----------
    image : LoadedImage or ndarray
        The photo: float32 H x W x 3 linear RGB in [0, 1] (EXIF-rotated, as
        :func:`packshot.imaging.load_image` returns it).
    config : SegmentConfig
        Stage settings.
    backend : str or SegmentBackend
        A name from :data:`BACKENDS` (``"auto"``, ``"u2netp"``, ``"onnx:PATH"``,
        ``"sam:CHECKPOINT"``) or a backend object.
    prompt : Prompt, optional
        A box and/or labelled points (pixels of ``image``) naming the intended product.

    Returns
    -------
    Cutout
        At the size of ``image``. When nothing is found: alpha all zero, ``bbox`` None,
        ``confidence`` 0 and the flag ``"empty"`` (never an exception).

    Raises
    ------
    InputError
        ``image`` is not float32 H x W x 3, or the prompt lies outside it.
    ValueError
        Unknown backend name.
    """
    rgb, name = _as_rgb(image)
    h, w = rgb.shape[:2]
    prompt = check_prompt(prompt, (w, h))
    pred, backend_name = _run_backend(backend, rgb, prompt, config)
    alpha, flags, empty = _checked_alpha(pred, backend_name, (h, w), config)

    inputs = {"image": image.sha256 if isinstance(image, LoadedImage) else sha256_array(rgb)}
    params = {
        "config": _jsonable(asdict(config)),
        "prompt": None if prompt is None else {"box": None if prompt.box is None else list(prompt.box),
                                               "points": [list(p) for p in prompt.points]},
        "backend_params": _jsonable(pred.params),
    }
    # no timings in provenance: it is written into the cut-out file, and the same inputs must
    # give the same bytes
    prov = record("segment", backend_name, params=params, inputs=inputs)
    cut = cutout_from_mask(
        rgb,
        alpha,
        background=pred.background,
        confidence=0.0 if empty else float(pred.confidence),
        flags=tuple(flags),
        decontaminate=config.decontaminate,
        provenance=prov,
        foreground=None if empty or pred.foreground is None or pred.foreground.shape != rgb.shape else pred.foreground,
    )
    return Cutout(rgb=cut.rgb, alpha=cut.alpha, image=rgb, bbox=cut.bbox, confidence=cut.confidence,
                  background=cut.background, flags=cut.flags, provenance=prov)


def cutout_from_mask(
    image: LoadedImage | np.ndarray,
    alpha: np.ndarray,
    background: tuple[float, float, float] | None = None,
    confidence: float = 1.0,
    flags: tuple[str, ...] = (),
    decontaminate: bool = True,
    provenance: dict[str, Any] | None = None,
    foreground: np.ndarray | None = None,
) -> Cutout:
    """Build a :class:`Cutout` from a known alpha, estimating foreground colours.

    Parameters
    ----------
    image : LoadedImage or ndarray
        float32 H x W x 3 linear photo.
    alpha : ndarray
        H x W alpha in [0, 1] (float, or uint8 / bool which are scaled).
    background : tuple, optional
        Backdrop colour (linear RGB) to record.
    confidence : float
        Recorded as is (0 when alpha is empty).
    flags : tuple of str
        Recorded; "empty" is added when alpha is empty.
    decontaminate : bool
        Solve each edge pixel for the foreground colour that, mixed with the local
        background at its alpha, gives the observed colour (no halo of the old backdrop).
    provenance : dict, optional
        Recorded as is (default: a record of this call with the image and alpha hashes).
    foreground : ndarray, optional
        float32 H x W x 3 foreground already solved (by a backend): used instead of estimating.

    Returns
    -------
    Cutout
        ``rgb`` is the estimated foreground (the photo itself where alpha is 1).
    """
    rgb, name = _as_rgb(image)
    a = np.asarray(alpha)
    if a.dtype == np.bool_:
        a = a.astype(np.float32)
    elif a.dtype == np.uint8:
        a = a.astype(np.float32) / 255.0
    a = np.asarray(a, np.float32)
    if a.shape != rgb.shape[:2]:
        raise InputError("alpha", f"shape {a.shape} does not match the image {rgb.shape[:2]}")
    if not np.isfinite(a).all():
        raise InputError("alpha", "contains NaN or infinite values")
    a = np.clip(a, 0.0, 1.0)
    bbox = alpha_bbox(a)
    flags = tuple(flags)
    if bbox is None:
        if "empty" not in flags:
            flags = ("empty", *flags)
        return Cutout(rgb=np.zeros_like(rgb), alpha=np.zeros_like(a), image=rgb, bbox=None, confidence=0.0,
                      background=background, flags=flags, provenance=dict(provenance or {}))
    if foreground is not None:
        if foreground.shape != rgb.shape:
            raise InputError("foreground", f"shape {foreground.shape} does not match the image {rgb.shape}")
        fg = np.asarray(foreground, np.float32)
    elif decontaminate:
        from .matting import estimate_foreground

        fg = estimate_foreground(rgb, a)
    else:
        fg = rgb.copy()
    if provenance is None:
        provenance = record("segment", "mask", params={"decontaminate": decontaminate},
                            inputs={"image": sha256_array(rgb), "alpha": sha256_array(a)})
    return Cutout(rgb=fg, alpha=a, image=rgb, bbox=bbox, confidence=float(confidence),
                  background=None if background is None else tuple(float(c) for c in background),
                  flags=flags, provenance=dict(provenance))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


_register_builtin()

# the review before rendering: the cut-out gate and the upright turn (see .gate, .orientation, .review)
from .gate import GateConfig, GateReport, gate_cutout  # noqa: E402
from .orientation import Orientation, OrientationConfig, estimate_orientation, turn_cutout  # noqa: E402
from .review import NeedsPromptError, Review, require_passed, review_cutout, write_review  # noqa: E402
from .io import encode_cutout, load_cutout, save_cutout  # noqa: E402
from .fullres import save_cutout_full  # noqa: E402
from .hands import exclude_hands, prompted, segment_prompted  # noqa: E402

__all__ += ["GateConfig", "GateReport", "gate_cutout", "Orientation", "OrientationConfig", "estimate_orientation",
            "turn_cutout", "NeedsPromptError", "Review", "review_cutout", "require_passed", "write_review",
            "encode_cutout", "load_cutout", "save_cutout", "save_cutout_full", "exclude_hands", "prompted",
            "segment_prompted"]
