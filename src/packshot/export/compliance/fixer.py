"""Make a frame compliant with a marketplace profile.

Two modes, chosen by the profile's background rule:

``white`` (Amazon main image): the product is recomposed on pure white.
    1. The product's edge colours are decontaminated (the old backdrop removed from
       semi-transparent pixels), so no grey halo survives.
    2. Specks of alpha far smaller than the product are dropped (segmentation residue).
    3. The product, premultiplied, is resampled once and composited over RGB 1.0; alpha below
       one 8-bit step becomes 0 and near-white pixels of the outer edge are snapped to 1.0, so the
       background is exactly 255 after encoding. Cast shadows of the source are not carried over,
       so no shadow can be cut by the frame edge.
    4. The scale puts the product's bounding box at the profile's fill target
       (``max(box_w / W, box_h / H)``, as the check measures it), centred in the frame (or in its
       safe area).

    A frame that already passes (white studio frames with a known alpha: the renderer made them
    compliant) is not recomposed: it is only resized, after the profile's layout rules are
    measured on exactly the 8-bit pixels export will encode (:attr:`FixerConfig.keep_compliant`;
    provenance ``params.mode`` is ``kept``).

``any`` (lifestyle slots): the scene is kept. A window of the profile's aspect is cut around the
    product so that the product sits inside the safe area with a margin; where the window runs
    past the frame it is padded with the backdrop's colour (clean backdrops) or a blurred
    cover of the frame (busy scenes). Then the window is resized to the profile size.

In both modes an input that would have to be enlarged more than
:attr:`FixerConfig.max_enlargement` times, or whose source canvas is below the profile's
minimum side, is first enlarged by the super-resolution backend (Real-ESRGAN x4 by default);
provenance records whether and with which backend.

When ``alpha`` is None the product is segmented with :func:`packshot.segment.segment`; on a
clean light backdrop that alpha is united with the non-backdrop region (see :func:`_segment`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from ...errors import EmptyProductError, InputError
from ...imaging import encode_image, linear_to_srgb8, srgb8_to_linear
from ...provenance import record, sha256_array
from ...types import alpha_bbox
from .profiles import Profile, get_profile
from .upscale import Upscaler, get_upscaler

_ONE_STEP = 1.0 / 255.0


@dataclass(frozen=True)
class FixerConfig:
    """How the fixer recomposes a frame."""

    default_fill: float = 0.85
    """Fill used for white-background profiles that set no ``fill_target``."""
    max_enlargement: float = 4.0
    """Super-resolution also runs when the product (or scene) must be enlarged more than this
    (beyond 4x plain interpolation is visibly soft), even where the profile sets no minimum."""
    near_white_level: int = 250
    """Outer-edge pixels (alpha < 0.5) at or above this 8-bit level in every channel become 255
    (an invisible fringe that would only count as residue). Lower levels carve white gaps into
    white products and cut faint print off them."""
    residue_share: float = 0.002
    """Alpha islands smaller than this share of the largest product part are dropped as residue."""
    decontaminate_sigma: float = 4.0
    """Gaussian sigma (px) of the local backdrop and interior colour estimates used on edges."""
    scene_margin: float = 0.04
    """Margin kept around the product inside the safe area when a scene is cropped (share of side)."""
    uniform_border_levels: int = 3
    """When most of the border is within this many 8-bit levels of its median colour, the frame
    has a clean backdrop and scene padding uses that colour (else a blurred cover of the frame)."""
    keep_compliant: bool = True
    """White mode: a frame with a given alpha that already has the profile's aspect and, shrunk
    to the profile's size, passes every rule the fixer makes pass (:data:`LAYOUT_RULES
    <packshot.export.compliance.check.LAYOUT_RULES>`: white background, fill, edge clearance,
    safe zone, sides) is kept as it is (only resized) instead of being recomposed: a white studio
    frame the renderer already made compliant keeps its composition. False: always recompose."""


@dataclass(frozen=True)
class FixedImage:
    """A frame made compliant with one profile.

    Attributes
    ----------
    rgb : ndarray
        float32 H x W x 3 linear light in [0, 1] at the profile's size, opaque (write it without
        an alpha channel). Read-only: profiles of one frame that come to the same placement share
        it (copy it to change it).
    alpha : ndarray
        float32 H x W in [0, 1]: the product's alpha in this frame (for checks and QA; not a
        transparency channel).
    provenance : dict
        Backend, parameters and input hashes; ``params.upscaled`` and ``params.upscaler`` say
        whether and how the input was enlarged.
    upscaled : bool
        True when super-resolution enlarged the input.
    profile : str
        Profile name.
    """

    rgb: np.ndarray
    alpha: np.ndarray
    provenance: Mapping[str, Any] = field(default_factory=dict)
    upscaled: bool = False
    profile: str = ""

    @property
    def size(self) -> tuple[int, int]:
        """(width, height)."""
        return self.rgb.shape[1], self.rgb.shape[0]


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------
def _check_inputs(rgb: np.ndarray, alpha: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.shape[0] < 2 or rgb.shape[1] < 2:
        raise InputError("rgb_linear", f"must be H x W x 3 linear RGB, got shape {rgb.shape}")
    if not np.issubdtype(rgb.dtype, np.floating):
        raise InputError("rgb_linear", f"must be float linear light in [0, 1], got {rgb.dtype} "
                         "(convert with packshot.imaging)")
    rgb = _finite_unit(rgb)
    if alpha is not None:
        alpha = np.asarray(alpha)
        if alpha.shape != rgb.shape[:2]:
            raise InputError("alpha", f"is {alpha.shape}, expected {rgb.shape[:2]} to match rgb_linear")
        if alpha.dtype == np.uint8:
            alpha = alpha.astype(np.float32) / 255.0
        alpha = _finite_unit(alpha)
    return rgb, alpha


def _finite_unit(a: np.ndarray) -> np.ndarray:
    """``a`` as float32 with NaN -> 0 and everything clipped to [0, 1]. An array that already is
    (a decoded frame always is: two reductions tell, a NaN fails both) comes back as a read-only
    view, not a copy; otherwise a copy, clipped in place."""
    a32 = a.astype(np.float32, copy=False)
    if a32.size and a32.min() >= 0.0 and a32.max() <= 1.0:
        view = a32.view()
        view.setflags(write=False)  # the caller's pixels: the fixer never writes into its input
        return view
    out = np.nan_to_num(a32, copy=True)
    return np.clip(out, 0.0, 1.0, out=out)


def _blur_normalised(values: np.ndarray, weight: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Weighted Gaussian average of ``values`` (H x W x C) with ``weight`` (H x W); also the blurred weight."""
    import cv2

    k = int(2 * round(3 * sigma) + 1)
    wb = cv2.GaussianBlur(weight.astype(np.float32), (k, k), sigma)
    vb = cv2.GaussianBlur((values * weight[..., None]).astype(np.float32), (k, k), sigma)
    return vb / np.maximum(wb, 1e-6)[..., None], wb


def decontaminate(rgb: np.ndarray, alpha: np.ndarray, sigma: float = 4.0) -> np.ndarray:
    """Estimate the product's own colour on soft edges, removing the old backdrop.

    Solves ``I = alpha F + (1 - alpha) B`` for ``F`` with ``B`` the local backdrop (a weighted blur
    of the pixels with alpha ~ 0) where alpha is large enough for that to be stable, and blends
    towards the nearby interior colour where alpha is small.

    Parameters
    ----------
    rgb : ndarray
        float32 H x W x 3 linear composite.
    alpha : ndarray
        float32 H x W in [0, 1].

    Returns
    -------
    ndarray
        float32 H x W x 3 linear foreground colour (meaningful where alpha > 0).
    """

    out = np.array(rgb, dtype=np.float32)  # solid pixels (alpha >= 0.999) keep their colour
    soft = alpha < 0.999
    if not soft.any():
        return out
    # the blurs need the whole image; every per-pixel step after them only the soft pixels
    a = alpha[soft]
    bg_w = (alpha < 0.02).astype(np.float32)
    if bg_w.sum() > 0:
        wb, vb = _blurs(rgb, bg_w, sigma * 2)
        bw = wb[soft]
        backdrop = vb[soft] / np.maximum(bw, 1e-6)[:, None]
        fallback = np.median(rgb[bg_w > 0], axis=0)
        backdrop = np.where((bw > 1e-3)[:, None], backdrop, fallback).astype(np.float32)
    else:
        backdrop = np.ones((a.size, 3), np.float32)
    solved = (out[soft] - (1.0 - a[:, None]) * backdrop) / np.maximum(a, 1e-3)[:, None]
    solved = np.clip(solved, 0.0, 1.0)
    iw_full, ivb = _blurs(rgb, (alpha > 0.95).astype(np.float32), sigma)
    iw = iw_full[soft]
    interior = ivb[soft] / np.maximum(iw, 1e-6)[:, None]
    has_interior = (iw > 1e-3)[:, None]
    trust = np.clip((a - 0.15) / 0.5, 0.0, 1.0)[:, None]
    out[soft] = np.where(has_interior, trust * solved + (1 - trust) * interior, solved)
    return out


def _blurs(values: np.ndarray, weight: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """The Gaussian blurs of ``weight`` and of ``values * weight`` (those of :func:`_blur_normalised`)."""
    import cv2

    k = int(2 * round(3 * sigma) + 1)
    return (cv2.GaussianBlur(weight.astype(np.float32), (k, k), sigma),
            cv2.GaussianBlur((values * weight[..., None]).astype(np.float32), (k, k), sigma))


def clean_backdrop_colour(rgb: np.ndarray, min_level: int = 230, max_spread: int = 12) -> np.ndarray | None:
    """The backdrop's 8-bit sRGB colour when the frame's border is a clean, even backdrop, else None.

    Clean: at least half of the border pixels lie within ``max_spread`` levels of the border's
    median colour (the product may touch the border), and every channel of that colour is at
    least ``min_level`` (230: a light studio backdrop; 0: any colour).
    """
    border = linear_to_srgb8(np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]]), dither=False)
    colour = np.median(border, axis=0).round().astype(np.uint8)
    near = np.abs(border.astype(np.int16) - colour.astype(np.int16)).max(axis=1) <= max_spread
    if int(colour.min()) < min_level or near.mean() < 0.5:
        return None
    return colour


def backdrop_alpha(rgb: np.ndarray, similarity: int = 6, soft_levels: int = 24) -> np.ndarray:
    """Product alpha of a photo on a clean, light backdrop, without a model.

    The backdrop is every pixel connected to the frame border within ``similarity`` 8-bit levels
    of the border's colour; the product is the rest (parts enclosed by the product, such as the
    white body of a white bulb inside its outline, included), its edge softened by the
    distance from the backdrop colour over ``soft_levels`` levels. Shadows on the backdrop are
    darker than ``similarity`` and stay with the product.
    """
    import cv2

    from .check import CheckConfig, border_colour, colour_distance, estimate_product_region

    srgb8 = linear_to_srgb8(rgb, dither=False)
    region = estimate_product_region(srgb8, CheckConfig(background_similarity=similarity, min_component_share=0.02))
    dist = colour_distance(srgb8, border_colour(srgb8)).astype(np.float32)
    soft = np.clip(dist / float(soft_levels), 0.0, 1.0)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    core = cv2.erode(region.astype(np.uint8), kernel).astype(bool)
    near = cv2.dilate(region.astype(np.uint8), kernel).astype(bool)
    return np.where(core, 1.0, np.where(near, soft, 0.0)).astype(np.float32)


def _segment(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, dict]:
    """(alpha, decontaminated foreground colour or None, provenance) for a frame without alpha.

    :func:`packshot.segment.segment` gives the alpha. On a clean light backdrop it is united
    with :func:`backdrop_alpha`, so that a segmenter that loses white-on-white parts (white
    bulbs on white) cannot remove product from the frame: there, every pixel that is not
    backdrop stays.
    """
    from ...segment import segment

    cut = segment(rgb)
    info: dict = {"method": "packshot.segment", "provenance": dict(cut.provenance)}
    if clean_backdrop_colour(rgb) is not None:
        kept = backdrop_alpha(rgb)
        alpha = np.maximum(cut.alpha.astype(np.float32), kept)
        info["united_with"] = "backdrop_alpha (clean light backdrop)"
        info["pixels_added_to_segment"] = int(((kept > 0.5) & (cut.alpha <= 0.5)).sum())
        if not (alpha > 0.5).any():
            raise EmptyProductError("rgb_linear", "no product found in the frame")
        return alpha, None, info  # edge colours are re-estimated against the union
    if cut.is_empty:
        raise EmptyProductError("rgb_linear", "the segmenter found no product in the frame")
    return cut.alpha.astype(np.float32), cut.rgb.astype(np.float32), info


def _drop_residue(alpha: np.ndarray, share: float) -> np.ndarray:
    """Zero alpha islands that are not product: any connected patch of visible alpha whose solid
    part (alpha > 0.5) is smaller than ``share`` of the largest one, faint patches without a solid
    part included (they would print as off-white residue)."""
    import cv2

    visible = (alpha > _ONE_STEP).astype(np.uint8)
    n, labels = cv2.connectedComponents(visible, connectivity=8)
    if n <= 2:
        return alpha
    solid = np.bincount(labels[alpha > 0.5], minlength=n)
    solid[0] = 0
    keep = solid >= share * max(int(solid.max()), 1)
    keep[0] = True
    if keep.all():
        return alpha
    out = alpha.copy()
    out[~keep[labels]] = 0.0
    return out


def _resize(a: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    import cv2

    w, h = max(1, int(size[0])), max(1, int(size[1]))
    shrink = w <= a.shape[1] and h <= a.shape[0]
    return cv2.resize(_rows_of_pixels(a), (w, h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)


def _rows_of_pixels(a: np.ndarray) -> np.ndarray:
    """``a`` as float32 OpenCV reads without a copy: a window cut from a frame (rows apart in
    memory, each row's pixels packed) is passed as it is, with its row stride (the same result
    as a contiguous copy); anything else is made contiguous first."""
    item = a.itemsize
    packed = (a.dtype == np.float32 and a.strides[1] == item * (a.shape[2] if a.ndim == 3 else 1)
              and (a.ndim == 2 or a.strides[2] == item) and a.strides[0] >= a.strides[1] * a.shape[1])
    return a if packed else np.ascontiguousarray(a, np.float32)


def _paste(canvas: np.ndarray, tile: np.ndarray, x0: int, y0: int) -> None:
    """Paste ``tile`` into ``canvas`` at (x0, y0), clipped to the canvas."""
    H, W = canvas.shape[:2]
    h, w = tile.shape[:2]
    cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x0 + w, W), min(y0 + h, H)
    if cx1 <= cx0 or cy1 <= cy0:
        return
    canvas[cy0:cy1, cx0:cx1] = tile[cy0 - y0:cy1 - y0, cx0 - x0:cx1 - x0]


def _safe_area(profile: Profile) -> tuple[float, float, float, float]:
    """Safe area as shares (x0, y0, x1, y1) of the frame."""
    z = profile.safe_zone
    if z is None:
        return 0.0, 0.0, 1.0, 1.0
    return z.left, z.top, 1.0 - z.right, 1.0 - z.bottom


def _unify_backdrop(rgb: np.ndarray, colour: np.ndarray, similar: int = 3, blend: int = 9) -> np.ndarray:
    """Set a clean backdrop to exactly ``colour`` (8-bit sRGB) before padding with that colour.

    Backdrop pixels within ``similar`` levels of the colour become it; up to ``blend`` levels
    they fade into it; only pixels connected to the border count (the product keeps its own
    near-backdrop colours). Without this the padding would show as a faint rectangle around
    the photo's own, slightly noisy backdrop.
    """
    import cv2

    from .check import colour_distance

    srgb8 = linear_to_srgb8(rgb, dither=False)
    d = colour_distance(srgb8, colour).astype(np.float32)
    close = (d <= blend).astype(np.uint8)
    n, labels = cv2.connectedComponents(close, connectivity=4)
    edge = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    on_border = np.zeros(n, bool)
    on_border[edge[edge != 0]] = True
    backdrop = on_border[labels]
    keep = np.clip((d - similar) / float(blend - similar), 0.0, 1.0)
    keep[~backdrop] = 1.0
    target = srgb8_to_linear(np.asarray(colour, np.uint8))
    return (rgb * keep[..., None] + target * (1.0 - keep[..., None])).astype(np.float32)


def _needs_upscale(enlargement: float, source_canvas_side: float, profile: Profile, config: FixerConfig) -> str:
    """Why super-resolution should run ('; '-joined), or '' when it should not."""
    reasons = []
    if profile.min_longest_side and source_canvas_side < profile.min_longest_side:
        reasons.append(f"source canvas {source_canvas_side:.0f} px < profile minimum {profile.min_longest_side} px")
    if enlargement > config.max_enlargement:
        reasons.append(f"enlargement {enlargement:.2f}x > {config.max_enlargement}x")
    return "; ".join(reasons)


# ---------------------------------------------------------------------------------------------
# per-frame preparation, shared by every profile of one frame
# ---------------------------------------------------------------------------------------------
class _Prepared:
    """What the fixer derives from a frame before it looks at a profile: the checked arrays,
    their hashes, and (on first use) the white-mode product layout (residue-free alpha, boxes,
    decontaminated crop) and the scene-mode backdrop colour. Export fixes one frame for several
    profiles (often in several threads): this is computed once per frame, not once per profile."""

    def __init__(self, rgb_in: Any, alpha_in: Any, foreground_in: Any, config: "FixerConfig"):
        self.sources = (rgb_in, alpha_in, foreground_in)  # kept alive: identity is the cache key
        self.sample = _sample(rgb_in, alpha_in)
        self.config = config
        self.lock = threading.Lock()
        rgb, alpha = _check_inputs(rgb_in, alpha_in)
        self.rgb = rgb
        self.inputs = {"rgb": sha256_array(rgb)}
        self.seg_info: dict = {"method": "given"}
        foreground = foreground_in
        if alpha is None:
            alpha, seg_fg, self.seg_info = _segment(rgb)
            if foreground is None:
                foreground = seg_fg
        else:
            self.inputs["alpha"] = sha256_array(alpha)
        if foreground is not None:
            foreground, _ = _check_inputs(foreground, None)
            if foreground.shape != rgb.shape:
                raise InputError("foreground", f"is {foreground.shape}, expected {rgb.shape}")
        self.alpha = alpha
        self.foreground = foreground
        self._white: Any = None
        self._backdrop: Any = "unset"
        self._results: dict[tuple, list] = {}

    def shared(self, key: tuple, compute: Callable[[], tuple]) -> tuple:
        """``compute()``'s result for ``key``, computed once per frame (other threads asking for
        the same key wait for it). Profiles whose fix comes to the same placement (the same size,
        crop, scale and upscaling: e.g. two square profiles that differ only in a minimum side
        the frame already meets) share the pixels. Shared arrays are read-only: a caller that
        wants to change a fixed image copies it first."""
        with self.lock:
            entry = self._results.setdefault(key, [threading.Lock(), None])
        with entry[0]:
            if entry[1] is None:
                result = compute()
                for v in result:
                    if isinstance(v, np.ndarray):
                        v.setflags(write=False)
                entry[1] = result
        return entry[1]

    def matches(self, rgb: Any, alpha: Any, foreground: Any, config: "FixerConfig") -> bool:
        a, b, c = self.sources
        # identity, plus a sparse sample of the pixels: an array changed in place is not reused
        return (a is rgb and b is alpha and c is foreground and self.config == config
                and _sample(rgb, alpha) == self.sample)

    def white_layout(self) -> tuple:
        """(alpha without residue, product box, soft extent, crop box, decontaminated crop)."""
        with self.lock:
            if self._white is None:
                self._white = _white_layout(self.rgb, self.alpha, self.foreground, self.config)
            return self._white

    def backdrop_colour(self) -> Any:
        with self.lock:
            if isinstance(self._backdrop, str):
                self._backdrop = clean_backdrop_colour(self.rgb, min_level=0,
                                                       max_spread=self.config.uniform_border_levels)
            return self._backdrop


def _sample(rgb: Any, alpha: Any) -> bytes:
    out = np.asarray(rgb)[::61, ::59].tobytes()
    return out + (np.asarray(alpha)[::61, ::59].tobytes() if alpha is not None else b"")


_PREPARED: list[_Prepared] = []
_PREPARED_LOCK = threading.Lock()


def _prepare(rgb: Any, alpha: Any, foreground: Any, config: "FixerConfig") -> _Prepared:
    """The preparation of this frame: reused while the same arrays are fixed for several profiles
    (one frame at a time is kept; the arrays are compared by identity, held while cached)."""
    with _PREPARED_LOCK:
        for p in _PREPARED:
            if p.matches(rgb, alpha, foreground, config):
                return p
        prep = _Prepared(rgb, alpha, foreground, config)
        _PREPARED[:] = [prep]
        return prep


def release_prepared() -> None:
    """Forget the cached frame preparation (the export of a frame is over)."""
    with _PREPARED_LOCK:
        _PREPARED.clear()


# ---------------------------------------------------------------------------------------------
# the fixer
# ---------------------------------------------------------------------------------------------
def fix_for_profile(
    rgb_linear: np.ndarray,
    alpha: np.ndarray | None,
    profile: Profile | str,
    *,
    upscaler: str | Upscaler | None = "realesrgan",
    foreground: np.ndarray | None = None,
    config: FixerConfig = FixerConfig(),
) -> FixedImage:
    """Recompose a frame so that it passes ``profile``'s check.

    Parameters
    ----------
    rgb_linear : ndarray
        float32 H x W x 3 linear light in [0, 1]: a frame or a photo.
    alpha : ndarray or None
        float32 H x W in [0, 1]: the product's straight alpha in the frame. None: segmented
        (see the module docstring).
    profile : Profile or str
        Target profile or its name / YAML path.
    upscaler : str, Upscaler or None
        Super-resolution backend (``realesrgan``, ``bicubic`` or an object); None never
        super-resolves (plain interpolation only).
    foreground : ndarray, optional
        Decontaminated product colour (``Cutout.rgb``); estimated from the frame when None.
    config : FixerConfig
        Recomposition settings.

    Returns
    -------
    FixedImage
        At ``profile.size``; provenance records the mode, scale, placement and upscaling.

    Raises
    ------
    InputError
        Wrong shapes or dtypes (named).
    EmptyProductError
        The alpha has no product pixels in a white-background profile.
    """
    prof = get_profile(profile)
    prep = _prepare(rgb_linear, alpha, foreground, config)
    kept = _keep_if_compliant(prep, prof, config) if prof.background == "white" else None
    if kept is not None:
        out_rgb, out_alpha, params = kept
        params.update(profile=prof.name, size=list(prof.size), segmentation=prep.seg_info)
        prov = record("export.fix", backend="none", params=params, inputs=dict(prep.inputs))
        return FixedImage(out_rgb, out_alpha, prov, False, prof.name)
    up = get_upscaler(upscaler) if upscaler is not None else None
    if prof.background == "white":
        out_rgb, out_alpha, params, used = _fix_white(prep.white_layout(), prof, up, config, share=prep.shared)
    else:
        out_rgb, out_alpha, params, used = _fix_scene(prep.rgb, prep.alpha, prof, up, config, prep.backdrop_colour,
                                                      share=prep.shared)
    params.update(profile=prof.name, size=list(prof.size), segmentation=prep.seg_info)
    prov = record("export.fix", backend=(up.name if used else "none"), params=params, inputs=dict(prep.inputs))
    return FixedImage(out_rgb, out_alpha, prov, used, prof.name)


def _keep_if_compliant(prep: _Prepared, prof: Profile, config: FixerConfig) -> tuple | None:
    """(rgb, alpha, params) of the frame only resized to ``prof``'s size when it already passes the
    profile's layout rules there, else None (the frame is recomposed).

    Kept only with a given alpha (a segmented one is a guess), the profile's exact aspect, no
    enlargement and no super-resolution wanted; the rules are measured on the 8-bit pixels that
    export encodes (:func:`packshot.imaging.linear_to_srgb8_fast` of the resized frame) with the
    resized alpha, so a kept frame passes them by measurement, not by assumption."""
    if not config.keep_compliant or prep.seg_info.get("method") != "given":
        return None
    from ...imaging import linear_to_srgb8_fast
    from .check import LAYOUT_RULES, check_image

    h0, w0 = prep.rgb.shape[:2]
    W, H = prof.size
    if w0 * H != h0 * W or W > w0 or _needs_upscale(W / w0, max(w0, h0), prof, config):
        return None
    if not _may_be_compliant(prep.rgb, prep.alpha, prof):
        return None
    # the whole frame at the profile's size: the same key and pixels as a scene-mode profile of
    # this size whose window is the whole frame (computed once for both)
    whole = (0.0, 0.0, float(w0), float(h0))
    rgb, alpha, _ = prep.shared(("scene", W, H, *whole, None),
                                lambda: _crop_scene(prep.rgb, prep.alpha, (W, H), whole, None, config))
    report = check_image(linear_to_srgb8_fast(rgb), prof, alpha, rules=LAYOUT_RULES)
    if not report.passed:
        return None
    return rgb, alpha, {"mode": "kept", "reason": f"already passes {prof.name}'s layout rules "
                                                  f"({', '.join(LAYOUT_RULES)}) at its size",
                        "scale": round(W / w0, 6), **_upscale_params(None, "", False)}


_VISIBLY_OFF_WHITE = 0.995
"""Linear level below which a backdrop pixel is visibly not white (sRGB ~254: 1.0 is 255)."""


def _may_be_compliant(rgb: np.ndarray, alpha: np.ndarray, prof: Profile) -> bool:
    """A quick look before the rules are measured: False when the frame plainly cannot pass, so
    that a frame with a shadow or a tinted backdrop (most renders) is fixed at once. Only ever
    sends a frame to the fixer (never keeps one): on a sample of ~65k pixels, more than 1 % of the
    pixels outside the product (alpha 0) visibly off white (ten times the background rule's
    0.1 %), or the product's box well below the profile's minimum fill."""
    h0, w0 = alpha.shape
    step = max(1, int(np.sqrt(h0 * w0 / 65536.0)))
    outside = alpha[::step, ::step] <= 0.0
    if outside.any():
        px = rgb[::step, ::step][outside]
        darkest = np.minimum(np.minimum(px[:, 0], px[:, 1]), px[:, 2])
        if float((darkest < _VISIBLY_OFF_WHITE).mean()) > 0.01:
            return False
    box = alpha_bbox(alpha, 0.5)
    if box is None:
        return False
    fill = max((box[2] - box[0]) / w0, (box[3] - box[1]) / h0)
    return not (prof.fill_min and fill < prof.fill_min - 0.01)


def _upscale_params(up: Upscaler | None, reason: str, used: bool) -> dict:
    return {"upscaled": used, "upscale_reason": reason or None,
            "upscaler": up.describe() if (up is not None and used) else None,
            "upscale_skipped": ("no upscaler given" if (reason and up is None) else None)}


def _white_layout(rgb, alpha, foreground, config: FixerConfig) -> tuple:
    """The product as the white mode places it, independent of the profile: alpha without residue,
    its box (alpha > 0.5) and soft extent, the crop around it and the decontaminated crop colour."""
    alpha = _drop_residue(alpha, config.residue_share)
    box = alpha_bbox(alpha, 0.5)
    extent = alpha_bbox(alpha, _ONE_STEP)
    if box is None or extent is None:
        raise EmptyProductError("alpha", "has no product pixels (alpha > 0.5): nothing to place on white")
    # work on the product's crop only: everything else becomes white
    pad = 3
    h0, w0 = alpha.shape
    cx0, cy0 = max(extent[0] - pad, 0), max(extent[1] - pad, 0)
    cx1, cy1 = min(extent[2] + pad, w0), min(extent[3] + pad, h0)
    a = alpha[cy0:cy1, cx0:cx1]
    if foreground is not None:
        fg = foreground[cy0:cy1, cx0:cx1]
    else:
        # decontaminate with the backdrop around the crop in view
        m = int(4 * config.decontaminate_sigma)
        ex0, ey0, ex1, ey1 = max(cx0 - m, 0), max(cy0 - m, 0), min(cx1 + m, w0), min(cy1 + m, h0)
        fg_full = decontaminate(rgb[ey0:ey1, ex0:ex1], alpha[ey0:ey1, ex0:ex1], config.decontaminate_sigma)
        fg = fg_full[cy0 - ey0:cy1 - ey0, cx0 - ex0:cx1 - ex0]
    return box, extent, (cx0, cy0, cx1, cy1), a, fg * a[..., None]


def _no_sharing(key: tuple, compute: Callable[[], tuple]) -> tuple:
    return compute()


def _fix_white(layout: tuple, prof: Profile, up: Upscaler | None, config: FixerConfig,
               share: Callable[[tuple, Callable[[], tuple]], tuple] = _no_sharing):
    """White mode: scale the product to the profile's fill, centre it in the safe area, on pure white.
    The placement is decided here (per profile); the pixels come from :func:`_place_on_white`,
    shared through ``share`` by profiles that come to the same placement."""
    W, H = prof.size
    box, extent = layout[0], layout[1]
    bw, bh = box[2] - box[0], box[3] - box[1]
    ew, eh = extent[2] - extent[0], extent[3] - extent[1]
    safe = _safe_area(prof)
    sx0, sy0, sx1, sy1 = safe
    avail_w, avail_h = (sx1 - sx0) * W, (sy1 - sy0) * H
    fill = prof.fill_target or config.default_fill
    scale = fill / max(bw / W, bh / H)
    if prof.safe_zone is not None:
        scale = min(scale, fill * avail_w / bw, fill * avail_h / bh)
    # the soft edge (alpha > one step) must fit inside the frame with a pixel to spare
    scale = min(scale, (avail_w - 4) / ew, (avail_h - 4) / eh)
    reason = _needs_upscale(scale, max(W, H) / scale, prof, config)
    used = bool(reason) and up is not None
    key = ("white", W, H, scale, safe, repr(up.describe()) if used else None)
    out, alpha_c, x0, y0, snapped = share(key, lambda: _place_on_white(layout, (W, H), safe, scale,
                                                                       up if used else None, config))
    params = {"mode": "white", "fill_target": fill, "scale": round(float(scale), 6),
              "offset": [x0, y0], "source_box": list(box), "snapped_residue_px": snapped,
              **_upscale_params(up, reason, used)}
    return out, alpha_c, params, used


def _place_on_white(layout: tuple, size: tuple[int, int], safe: tuple[float, float, float, float], scale: float,
                    up: Upscaler | None, config: FixerConfig) -> tuple:
    """The product of ``layout`` scaled by ``scale`` (super-resolved first with ``up``), its box
    centred in the ``safe`` area of a white ``size`` canvas: (rgb, alpha, x0, y0, snapped residue px)."""
    W, H = size
    box, extent, (cx0, cy0, cx1, cy1), a, premult = layout
    sx0, sy0, sx1, sy1 = safe
    if up is not None:
        over_white = premult + (1.0 - a[..., None])
        big = up.upscale(over_white)
        a = np.clip(_resize(a, (big.shape[1], big.shape[0])), 0.0, 1.0)
        premult = np.clip(big - (1.0 - a[..., None]), 0.0, None)
        premult = np.minimum(premult, a[..., None])
    new_w, new_h = max(1, round((cx1 - cx0) * scale)), max(1, round((cy1 - cy0) * scale))
    a_s = np.clip(_resize(a, (new_w, new_h)), 0.0, 1.0)
    p_s = np.clip(_resize(premult, (new_w, new_h)), 0.0, None)
    a_s[a_s < _ONE_STEP] = 0.0  # cubic ringing leaves faint alpha far out: that would be grey residue
    p_s = np.minimum(p_s, a_s[..., None])
    # source crop px -> output px (exact per axis after rounding the new size)
    fx, fy = new_w / (cx1 - cx0), new_h / (cy1 - cy0)
    # centre the product box (not the soft extent) in the safe area
    pcx, pcy = ((box[0] + box[2]) / 2 - cx0) * fx, ((box[1] + box[3]) / 2 - cy0) * fy
    tx, ty = (sx0 + sx1) / 2 * W, (sy0 + sy1) / 2 * H
    x0, y0 = int(round(tx - pcx)), int(round(ty - pcy))
    ex0, ey0 = (extent[0] - cx0) * fx, (extent[1] - cy0) * fy
    ex1, ey1 = (extent[2] - cx0) * fx, (extent[3] - cy0) * fy
    # keep the soft extent inside the frame (a shadow or edge cut by the frame fails the check)
    x0 = int(np.clip(x0, 2 - ex0, W - 2 - ex1))
    y0 = int(np.clip(y0, 2 - ey0, H - 2 - ey1))
    # composite on the tile only: everything outside it is exactly white
    tile = p_s + (1.0 - a_s[..., None])
    level = float(srgb8_to_linear(np.array([config.near_white_level], np.uint8))[0])
    darkest = np.minimum(np.minimum(tile[..., 0], tile[..., 1]), tile[..., 2])
    residue = (a_s < 0.5) & (darkest >= level)  # near-white residue on the outer edge -> exactly white
    tile[residue | (a_s <= 0.0)] = 1.0
    alpha_c = np.zeros((H, W), np.float32)
    out = np.ones((H, W, 3), np.float32)
    _paste(alpha_c, a_s, x0, y0)
    _paste(out, np.clip(tile, 0.0, 1.0), x0, y0)
    return out, alpha_c, x0, y0, int(residue.sum())


def _fix_scene(rgb, alpha, prof: Profile, up: Upscaler | None, config: FixerConfig, backdrop_colour=None,
               share: Callable[[tuple, Callable[[], tuple]], tuple] = _no_sharing):
    """Scene mode: a window of the profile's aspect around the product, scaled to the profile's
    size (padded where the frame is too small). The window is decided here (per profile); the
    pixels come from :func:`_crop_scene`, shared through ``share`` by profiles with the same window."""
    W, H = prof.size
    h0, w0 = rgb.shape[:2]
    box = alpha_bbox(alpha, 0.5) if alpha is not None else None
    if box is None:
        box = (0, 0, w0, h0)
    x0, y0, win_w, win_h = _scene_window(box, (w0, h0), prof, config)
    scale = W / win_w
    reason = _needs_upscale(scale, max(win_w, win_h), prof, config)
    used = bool(reason) and up is not None
    key = ("scene", W, H, x0, y0, win_w, win_h, repr(up.describe()) if used else None)
    out, alpha_c, pad_mode = share(key, lambda: _crop_scene(rgb, alpha, (W, H), (x0, y0, win_w, win_h),
                                                            up if used else None, config, backdrop_colour))
    params = {"mode": "scene", "window": [round(x0, 2), round(y0, 2), round(win_w, 2), round(win_h, 2)],
              "scale": round(float(scale), 6), "padding": pad_mode, **_upscale_params(up, reason, used)}
    return out, alpha_c, params, used


def _scene_window(box: tuple, frame_size: tuple[int, int], prof: Profile, config: FixerConfig
                  ) -> tuple[float, float, float, float]:
    """(x0, y0, width, height) in frame px: the largest window of the profile's aspect inside the
    frame, grown if the product does not fit inside its safe area with a margin, the product
    centred in the safe area, then slid back into the frame where the product stays inside."""
    W, H = prof.size
    aspect = W / H
    w0, h0 = frame_size
    bx0, by0, bx1, by1 = box
    bw, bh = bx1 - bx0, by1 - by0
    sx0, sy0, sx1, sy1 = _safe_area(prof)
    m = config.scene_margin
    need_w = max(bw / max((sx1 - sx0) - 2 * m, 0.1), aspect * bh / max((sy1 - sy0) - 2 * m, 0.1))
    win_w = max(min(float(w0), h0 * aspect), need_w)
    win_h = win_w / aspect
    pcx, pcy = (bx0 + bx1) / 2, (by0 + by1) / 2
    x0 = pcx - (sx0 + sx1) / 2 * win_w
    y0 = pcy - (sy0 + sy1) / 2 * win_h
    if win_w <= w0:
        x0 = float(np.clip(x0, 0, w0 - win_w))
    if win_h <= h0:
        y0 = float(np.clip(y0, 0, h0 - win_h))
    x0 = float(np.clip(x0, bx1 - (sx1 - m) * win_w, bx0 - (sx0 + m) * win_w)) if (sx1 - sx0 - 2 * m) * win_w >= bw else x0
    y0 = float(np.clip(y0, by1 - (sy1 - m) * win_h, by0 - (sy0 + m) * win_h)) if (sy1 - sy0 - 2 * m) * win_h >= bh else y0
    return x0, y0, win_w, win_h


COVER_BLUR_SIDE = 96.0
"""Longest side (px) the frame is shrunk to before the blurred-cover padding is blurred."""
COVER_BLUR_SIGMA = 3.0
COVER_BLUR_DIM = 0.9
"""The blurred cover is darkened to this share so that the product stands out from it."""


def _crop_scene(rgb, alpha, size: tuple[int, int], window: tuple[float, float, float, float],
                up: Upscaler | None, config: FixerConfig, backdrop_colour=None) -> tuple:
    """The frame's part inside ``window`` scaled to ``size`` (super-resolved first with ``up``),
    padded where the window leaves the frame: (rgb, alpha, padding mode)."""
    W, H = size
    x0, y0, win_w, win_h = window
    h0, w0 = rgb.shape[:2]
    scale = W / win_w
    ix0, iy0 = int(np.floor(max(x0, 0))), int(np.floor(max(y0, 0)))
    ix1, iy1 = int(np.ceil(min(x0 + win_w, w0))), int(np.ceil(min(y0 + win_h, h0)))
    part = rgb[iy0:iy1, ix0:ix1]
    part_a = alpha[iy0:iy1, ix0:ix1] if alpha is not None else np.zeros(part.shape[:2], np.float32)
    if up is not None:
        part = up.upscale(part)
    out_w, out_h = round((ix1 - ix0) * scale), round((iy1 - iy0) * scale)
    part_s = _resize(part, (out_w, out_h))
    np.clip(part_s, 0.0, 1.0, out=part_s)
    part_as = _resize(part_a, (out_w, out_h))
    np.clip(part_as, 0.0, 1.0, out=part_as)
    ox, oy = int(round((ix0 - x0) * scale)), int(round((iy0 - y0) * scale))
    covers = ox <= 0 and oy <= 0 and ox + out_w >= W and oy + out_h >= H
    if covers and (ox, oy, out_w, out_h) == (0, 0, W, H):
        # the window is the scaled part exactly (the frame already has the profile's aspect):
        # nothing to pad or clip again
        return part_s, part_as, "none"
    if covers:
        backdrop = None
    elif backdrop_colour is not None:
        backdrop = backdrop_colour()
    else:
        backdrop = clean_backdrop_colour(rgb, min_level=0, max_spread=config.uniform_border_levels)
    if backdrop is not None:
        part_s = _unify_backdrop(part_s, backdrop)
    if covers:
        pad_mode = "none"
        canvas = np.zeros((H, W, 3), np.float32)
    elif backdrop is not None:
        pad_mode = "backdrop-colour"
        canvas = np.empty((H, W, 3), np.float32)
        canvas[:] = srgb8_to_linear(backdrop)
    else:
        pad_mode = "blurred-cover"
        canvas = _blurred_cover(rgb, (W, H))
    alpha_c = np.zeros((H, W), np.float32)
    _paste(canvas, part_s, ox, oy)
    _paste(alpha_c, part_as, ox, oy)
    canvas = canvas.astype(np.float32, copy=False)  # (it is: zeros, a filled colour or a fresh blurred cover)
    return np.clip(canvas, 0.0, 1.0, out=canvas), alpha_c, pad_mode  # a new canvas: clipped in place


def _blurred_cover(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The frame scaled to cover ``size``, blurred and dimmed: padding for a frame of no clean
    backdrop colour. Blurred at a small size: the look of a wide Gaussian at full size, for a
    fraction of the cost."""
    import cv2

    W, H = size
    h0, w0 = rgb.shape[:2]
    small = COVER_BLUR_SIDE / max(W, H)
    sw, sh = max(2, round(W * small)), max(2, round(H * small))
    cover = max(sw / w0, sh / h0)
    shrunk = _resize(rgb, (max(sw, round(w0 * cover)), max(sh, round(h0 * cover))))
    cy, cxx = (shrunk.shape[0] - sh) // 2, (shrunk.shape[1] - sw) // 2
    blurred = cv2.GaussianBlur(shrunk[cy:cy + sh, cxx:cxx + sw], (0, 0), COVER_BLUR_SIGMA) * COVER_BLUR_DIM
    return _resize(blurred, (W, H))


# ---------------------------------------------------------------------------------------------
# encoding within the profile's limits
# ---------------------------------------------------------------------------------------------
def encode_for_profile(fixed: FixedImage | np.ndarray, profile: Profile | str, fmt: str | None = None,
                       min_quality: int | None = None, **encode_kwargs: Any) -> bytes:
    """Encode a fixed frame in the profile's format and quality, lowering the quality
    (:func:`packshot.export.delivery.encode.fit_byte_limit`, not below ``min_quality``) until it
    fits the profile's byte limit: the same rule as export's delivery (steps of
    :data:`~packshot.export.delivery.encode.QUALITY_STEP` down to
    :data:`~packshot.export.delivery.encode.MIN_QUALITY_FOR_BYTE_LIMIT` unless ``min_quality`` is given).

    Raises
    ------
    InputError
        The format is not accepted by the profile, or no quality fits the byte limit.
    """
    prof = get_profile(profile)
    rgb = fixed.rgb if isinstance(fixed, FixedImage) else fixed
    fmt = (fmt or prof.output_format).upper().replace("JPG", "JPEG")
    if fmt not in prof.formats:
        raise InputError("fmt", f"{fmt} is not accepted by {prof.name}; choose one of {', '.join(prof.formats)}")
    from ..delivery.encode import LOSSY_FORMATS, MIN_QUALITY_FOR_BYTE_LIMIT, fit_byte_limit

    quality = prof.jpeg_quality if fmt == "JPEG" else prof.webp_quality
    lossy = fmt in LOSSY_FORMATS
    data, _, _ = fit_byte_limit(lambda q: (encode_image(rgb, fmt, quality=q or quality, **encode_kwargs), None),
                                quality if lossy else None, prof.max_bytes, fmt=fmt, source=prof.name,
                                min_quality=MIN_QUALITY_FOR_BYTE_LIMIT if min_quality is None else min_quality)
    return data


__all__ = ["FixedImage", "FixerConfig", "backdrop_alpha", "clean_backdrop_colour", "decontaminate",
           "encode_for_profile", "fix_for_profile"]
