"""export stage: marketplace profiles, compliance check, fixer, and delivery.

Compliance (profiles, check, fixer, upscale): :func:`get_profile`, :func:`check_image`,
:func:`fix_for_profile`, :func:`encode_for_profile`, :func:`get_upscaler`.
"""

from .check import CheckConfig, ComplianceReport, RuleResult, check_image
from .fixer import FixedImage, FixerConfig, encode_for_profile, fix_for_profile
from .profiles import PROFILES, Profile, SafeZone, get_profile, load_profile
from .upscale import UPSCALERS, Upscaler, get_upscaler

__all__ = [
    "CheckConfig", "ComplianceReport", "FixedImage", "FixerConfig", "PROFILES", "Profile", "RuleResult", "SafeZone",
    "UPSCALERS", "Upscaler", "check_image", "encode_for_profile", "fix_for_profile", "get_profile", "get_upscaler",
    "load_profile",
]

# Delivery (naming, metadata, routing, feeds, export_frames): :func:`export_frames`,
# :func:`read_metadata`, :class:`Destination`, :class:`NameAllocator`, :func:`build_feed`.
from .deliver import ExportedFile, ExportFailure, ExportFrame, ExportResult, export_frames  # noqa: E402
from .feeds import FEED_KINDS, build_feed  # noqa: E402
from .metadata import DIGITAL_SOURCE_TYPES, ImageMetadata, read_metadata  # noqa: E402
from .naming import DEFAULT_TEMPLATE, NameAllocator, render_name, slugify  # noqa: E402
from .routing import Destination, DestinationError, RetryPolicy  # noqa: E402

__all__ += [
    "DEFAULT_TEMPLATE", "DIGITAL_SOURCE_TYPES", "Destination", "DestinationError", "ExportFailure", "ExportFrame",
    "ExportResult", "ExportedFile", "FEED_KINDS", "ImageMetadata", "NameAllocator", "RetryPolicy", "build_feed",
    "export_frames", "read_metadata", "render_name", "slugify",
]
