"""export stage: marketplace compliance, then delivery.

- :mod:`packshot.export.compliance`: profiles, the rule check, the fixer (and its upscalers):
  :func:`get_profile`, :func:`check_image`, :func:`fix_for_profile`, :func:`encode_for_profile`,
  :func:`get_upscaler`.
- :mod:`packshot.export.delivery`: encode, metadata, naming, routing, feeds and the batch
  :func:`export_frames`; :func:`read_metadata`, :class:`Destination`, :class:`NameAllocator`,
  :func:`build_feed`.
"""

import sys as _sys

from . import compliance, delivery
from .compliance import (PROFILES, UPSCALERS, CheckConfig, ComplianceReport, FixedImage, FixerConfig, Profile,
                         RuleResult, SafeZone, Upscaler, check_image, encode_for_profile, fix_for_profile,
                         get_profile, get_upscaler, load_profile)
from .compliance import check, fixer, profiles, upscale, video_profiles
from .delivery import (DEFAULT_TEMPLATE, DIGITAL_SOURCE_TYPES, FEED_KINDS, Destination, DestinationError,
                       ExportedFile, ExportFailure, ExportFrame, ExportResult, ImageMetadata, NameAllocator,
                       RetryPolicy, build_feed, check_sku, export_frames, read_metadata, render_name, slugify)
from .delivery import deliver, encode, feeds, metadata, naming, routing
from .compliance.profiles import profile_names
from .delivery.deliver import export_frame_files, load_export_frame
from .delivery.metadata import provenance_digest

# The module paths from before the compliance / delivery split (packshot.export.check, ...) name
# the same module objects, for code written against them (scripts, other branches).
for _module in (check, fixer, profiles, upscale, video_profiles, deliver, encode, feeds, metadata, naming, routing):
    _sys.modules.setdefault(f"{__name__}.{_module.__name__.rsplit('.', 1)[1]}", _module)
del _module

__all__ = [
    "CheckConfig", "ComplianceReport", "FixedImage", "FixerConfig", "PROFILES", "Profile", "RuleResult", "SafeZone",
    "UPSCALERS", "Upscaler", "check_image", "encode_for_profile", "fix_for_profile", "get_profile", "get_upscaler",
    "load_profile",
    "DEFAULT_TEMPLATE", "DIGITAL_SOURCE_TYPES", "Destination", "DestinationError", "ExportFailure", "ExportFrame",
    "ExportResult", "ExportedFile", "FEED_KINDS", "ImageMetadata", "NameAllocator", "RetryPolicy", "build_feed",
    "check_sku", "export_frames", "read_metadata", "render_name", "slugify",
    "compliance", "delivery", "profile_names", "export_frame_files", "load_export_frame", "provenance_digest",
]
