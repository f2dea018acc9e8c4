"""``onnx:PATH``: any salient-object ONNX model of the U2Net / ISNet / BiRefNet layout.

The layout these share: one input ``1 x 3 x S x S`` of sRGB values in [0, 1] normalised by a
per-channel mean and standard deviation, and a first output ``1 x 1 x S x S`` (or ``1 x S x S``)
saliency map, either already a probability (U2Net, ISNet) or a logit (BiRefNet). The map is
min-max normalised, as rembg does, and resized back to the photo.

Input size, mean, standard deviation and activation come from :class:`SegmentConfig`
(``onnx_input_size``, ``onnx_mean``, ``onnx_std``, ``onnx_activation``); the input size is read
from the model when it is static and not given.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ..errors import InputError
from ..imaging import float_to_uint8, linear_to_srgb8
from ..provenance import sha256_file
from ..types import Prompt
from . import BACKENDS, Prediction, SegmentConfig

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@functools.lru_cache(maxsize=8)
def _session(path: str, threads: int):
    """An onnxruntime session, cached per model file and thread count (loading costs ~0.1 s)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    if threads > 0:
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    # Busy-waiting worker threads only burn CPU on a shared machine (and slow the run down
    # when cores are oversubscribed); the model runs once per photo, so nothing is lost.
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        return ort.InferenceSession(path, sess_options=opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types
        raise InputError(path, f"cannot be loaded as an ONNX model ({exc})") from exc


@functools.lru_cache(maxsize=8)
def _file_hash(path: str, mtime: float) -> str:
    return sha256_file(path)


@dataclass
class SaliencyModel:
    """A salient-object ONNX model and how to feed it.

    Parameters
    ----------
    path : str
        The ``.onnx`` file.
    input_size : int or None
        Square input side; None reads it from the model (else 320).
    mean, std : tuple of float
        Normalisation of sRGB values in [0, 1].
    activation : str
        "auto" (sigmoid when the output leaves [0, 1]), "sigmoid" or "none".
    rescale_by_max : bool
        Divide the input by its maximum first (what rembg does for u2netp).
    threads : int
        onnxruntime intra-op threads (0: default).
    """

    path: str
    input_size: int | None = None
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    activation: str = "auto"
    rescale_by_max: bool = False
    threads: int = 0

    def __post_init__(self) -> None:
        p = Path(self.path)
        if not p.is_file():
            raise InputError(self.path, "ONNX model file does not exist")
        sess = _session(str(p), int(self.threads))
        shape = sess.get_inputs()[0].shape
        if self.input_size is None:
            static = [d for d in shape[2:] if isinstance(d, int) and d > 0]
            self.input_size = int(static[0]) if len(static) == 2 and static[0] == static[1] else 320
        if len(shape) != 4:
            raise InputError(self.path, f"expected one 4-D image input (1 x 3 x S x S), got {shape}")

    @property
    def sha256(self) -> str:
        p = Path(self.path)
        return _file_hash(str(p.resolve()), p.stat().st_mtime)

    def saliency(self, rgb: np.ndarray, out_size: tuple[int, int] | None = None) -> np.ndarray:
        """Saliency map of a linear photo, min-max normalised to [0, 1].

        Parameters
        ----------
        rgb : ndarray
            float32 H x W x 3 linear RGB.
        out_size : (width, height), optional
            Size of the returned map (default: the photo's size).

        Returns
        -------
        ndarray
            float32 map in [0, 1].
        """
        sess = _session(str(Path(self.path)), int(self.threads))
        x = self.prepare(rgb)
        # only the first (fused) output is read: the side outputs' sigmoids are not computed
        out = sess.run([sess.get_outputs()[0].name], {sess.get_inputs()[0].name: x})[0]
        pred = np.asarray(out, np.float32).reshape(out.shape[-2], out.shape[-1])
        act = self.activation
        if act == "sigmoid" or (act == "auto" and (pred.min() < -1e-3 or pred.max() > 1 + 1e-3)):
            pred = 1.0 / (1.0 + np.exp(-np.clip(pred, -40, 40)))
        lo, hi = float(pred.min()), float(pred.max())
        pred = (pred - lo) / (hi - lo) if hi - lo > 1e-8 else np.zeros_like(pred)
        w, h = out_size if out_size is not None else (rgb.shape[1], rgb.shape[0])
        # resize like rembg: the 8-bit map with Lanczos
        mask8 = Image.fromarray(float_to_uint8(pred), "L").resize((int(w), int(h)), Image.LANCZOS)
        return np.asarray(mask8, np.float32) / 255.0

    def prepare(self, rgb: np.ndarray) -> np.ndarray:
        """The model's input for a linear photo: float32 1 x 3 x S x S, resized and normalised."""
        s = int(self.input_size or 320)
        srgb8 = linear_to_srgb8(rgb, dither=False)
        small = np.asarray(Image.fromarray(srgb8, "RGB").resize((s, s), Image.LANCZOS), np.float32)
        x = small / max(float(small.max()), 1.0) if self.rescale_by_max else small / 255.0
        x = (x - np.asarray(self.mean, np.float32)) / np.asarray(self.std, np.float32)
        return np.ascontiguousarray(x.transpose(2, 0, 1)[None], np.float32)

    def describe(self) -> dict[str, Any]:
        return {"model": Path(self.path).name, "model_sha256": self.sha256, "input_size": self.input_size,
                "mean": list(self.mean), "std": list(self.std), "activation": self.activation}


class SaliencyBackend:
    """A saliency model used alone: alpha = its map (the rembg-style cut-out)."""

    handles_prompt = False

    def __init__(self, name: str, model_factory):
        self.name = name
        self._model_factory = model_factory

    def predict(self, rgb: np.ndarray, prompt: Prompt | None, config: SegmentConfig) -> Prediction:
        model: SaliencyModel = self._model_factory(config)
        alpha = model.saliency(rgb)
        fg = alpha > 0.5
        # confidence: how decided the map is (few pixels near 0.5)
        undecided = float(((alpha > 0.2) & (alpha < 0.8)).sum()) / max(float(fg.sum()), 1.0)
        confidence = float(np.clip(1.0 - undecided, 0.0, 1.0)) if fg.any() else 0.0
        return Prediction(alpha=alpha, confidence=confidence, flags=(), params=model.describe())


@BACKENDS.register("onnx", takes_argument=True,
                   doc="any salient-object ONNX model (U2Net / ISNet / BiRefNet layout) by path")
def make_onnx_backend(path: str) -> SaliencyBackend:
    """Any salient-object ONNX model by path (options in SegmentConfig.onnx_*)."""
    if not Path(path).is_file():
        raise InputError(path, "ONNX model file does not exist")

    def factory(config: SegmentConfig) -> SaliencyModel:
        return SaliencyModel(path, input_size=config.onnx_input_size, mean=tuple(config.onnx_mean),
                             std=tuple(config.onnx_std), activation=config.onnx_activation,
                             threads=config.threads)

    return SaliencyBackend(f"onnx:{path}", factory)
