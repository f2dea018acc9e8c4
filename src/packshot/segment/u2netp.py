"""``u2netp``: the u2netp salient-object model alone, the rembg-style baseline.

Weights: ``u2netp.onnx`` (4.6 MB, U^2-Net small, Apache-2.0), shipped inside packshot's own package
data (``packshot/models/``, source and licence in ``packshot/models/NOTICE.md``), found with
``importlib.resources``; nothing is downloaded. Pre- and post-processing follow
rembg: 320 x 320 Lanczos resize, input divided by its maximum, ImageNet mean and standard
deviation, first output min-max normalised and resized back with Lanczos.
"""

from __future__ import annotations

import functools

from ..errors import PackshotError
from . import BACKENDS, SegmentConfig
from .onnx_model import IMAGENET_MEAN, IMAGENET_STD, SaliencyBackend, SaliencyModel


U2NETP_SHA256 = "309c8469258dda742793dce0ebea8e6dd393174f89934733ecc8b14c76f4ddd8"
"""sha256 of the shipped ``packshot/models/u2netp.onnx`` (checked by the tests, recorded in provenance)."""


@functools.lru_cache(maxsize=1)
def u2netp_path() -> str:
    """Path of the u2netp weights shipped inside packshot (``packshot/models/u2netp.onnx``)."""
    import importlib.resources as resources

    path = resources.files("packshot") / "models" / "u2netp.onnx"
    if not path.is_file():  # a broken install: the wheel always carries the file
        raise PackshotError(f"the u2netp weights are missing from this install ({path}): reinstall packshot")
    return str(path)


def u2netp_model(config: SegmentConfig = SegmentConfig()) -> SaliencyModel:
    """The u2netp saliency model with rembg's normalisation."""
    return SaliencyModel(u2netp_path(), input_size=config.saliency_size, mean=IMAGENET_MEAN, std=IMAGENET_STD,
                         activation="none", rescale_by_max=True, threads=config.threads)


@BACKENDS.register("u2netp", doc="u2netp saliency alone (rembg-style baseline)")
def make_u2netp_backend() -> SaliencyBackend:
    """u2netp saliency alone (the rembg-style baseline)."""
    return SaliencyBackend("u2netp", u2netp_model)
