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
