"""Compliance: marketplace profiles, the rule check, and the fixer that makes a frame pass.

- :mod:`.profiles`: :class:`Profile` (built-in marketplaces and user YAML), :func:`get_profile`.
- :mod:`.check`: :func:`check_image` measures a delivered file against a profile's rules.
- :mod:`.fixer`: :func:`fix_for_profile` (white background, fill, size, upscaling).
- :mod:`.upscale`: the super-resolution backends the fixer uses.
- :mod:`.video_profiles`: the same for clips.
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
