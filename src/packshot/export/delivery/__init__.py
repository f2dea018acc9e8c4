"""Delivery: a fixed frame -> encoded, tagged, named files at a destination, plus manifest and feeds.

- :mod:`.encode`: linear light -> 8-bit sRGB, the encode with metadata, the one byte-limit quality loop.
- :mod:`.metadata`: IPTC / XMP provenance written into (and read back from) each file.
- :mod:`.naming`: file-name templates.
- :mod:`.routing`: fsspec destinations with retries; the manifest.
- :mod:`.feeds`: Google / Meta product feeds.
- :mod:`.deliver`: :func:`export_frames`, the batch over frames x profiles.
"""

from .deliver import ExportedFile, ExportFailure, ExportFrame, ExportResult, export_frames
from .feeds import FEED_KINDS, build_feed
from .metadata import DIGITAL_SOURCE_TYPES, ImageMetadata, read_metadata
from .naming import DEFAULT_TEMPLATE, NameAllocator, check_sku, render_name, slugify
from .routing import Destination, DestinationError, RetryPolicy

__all__ = [
    "DEFAULT_TEMPLATE", "DIGITAL_SOURCE_TYPES", "Destination", "DestinationError", "ExportFailure", "ExportFrame",
    "ExportResult", "ExportedFile", "FEED_KINDS", "ImageMetadata", "NameAllocator", "RetryPolicy", "build_feed",
    "check_sku", "export_frames", "read_metadata", "render_name", "slugify",
]
