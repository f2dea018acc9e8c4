"""packshot: AI product photography that keeps the product the product.

The pipeline is five stages plus delivery (ARCHITECTURE.md follows one photo through them)::

    photo -> segment -> understand -> condition -> render -> relight -> qa -> export

Each stage is a plain function over frozen dataclasses defined in :mod:`packshot.types`;
images inside the pipeline are float32 linear-light RGB in [0, 1] (see :mod:`packshot.imaging`).
"""

__version__ = "0.1.0"
