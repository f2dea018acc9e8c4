"""Marketplace video profiles: what a product clip must be where it is going, checked and fixed.

A :class:`VideoProfile` states the size the fixer produces and the rules :func:`check_clip`
measures on a file read back through PyAV: container, codec, pixel format, sides, aspect,
duration, frame rate, bitrate, file size, audio and faststart. Numbers come from the platforms'
published ad / product-video specs as collected 2026-11 (re-check before relying on one);
``recommended_*`` fields only warn.

:func:`fix_clip` makes what can be made: it pads to the aspect (bars in the clip's own border
colour, never cropping the product), scales to the profile's size, trims what is too long or
holds the last frame of what is too short, and re-encodes with the profile's codec (a silent
audio track where audio is required, a bitrate floor where one is set).

Needs the ``motion`` extra (PyAV).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import InputError
from .check import ComplianceReport, RuleResult

VIDEO_SUFFIXES = (".mp4", ".webm", ".mov", ".m4v")
"""Files ``packshot check`` treats as clips."""
AUDIO_RULES = ("required", "recommended", "optional")
_MB = 1_000_000

_CONTAINER_NAMES = {"mp4": ("mov,mp4,m4a,3gp,3g2,mj2", "mp4", "mov"), "mov": ("mov,mp4,m4a,3gp,3g2,mj2", "mov"),
                    "webm": ("matroska,webm", "webm")}


@dataclass(frozen=True)
class VideoProfile:
    """Where a clip is going and what it must be there. ``None`` = no rule."""

    name: str
    """Profile name."""
    description: str = ""
    """One line: the platform and slot."""
    size: tuple[int, int] = (1080, 1920)
    """(width, height) the fixer produces."""
    aspects: tuple[float, ...] | None = None
    """Allowed width / height ratios (within ``aspect_tolerance``)."""
    aspect_tolerance: float = 0.01
    """Relative tolerance on the aspect."""
    min_width: int | None = None
    """Least width (px)."""
    min_height: int | None = None
    """Least height (px)."""
    max_side: int | None = None
    """Largest side (px)."""
    recommended_size: tuple[int, int] | None = None
    """Size the platform recommends (warn when smaller)."""
    min_seconds: float | None = None
    """Shortest duration."""
    max_seconds: float | None = None
    """Longest duration."""
    containers: tuple[str, ...] = ("mp4", "mov")
    """Accepted containers (mp4, mov, webm)."""
    codecs: tuple[str, ...] = ("h264",)
    """Accepted video codecs as FFmpeg names them (h264, hevc, vp9, av1)."""
    pix_fmts: tuple[str, ...] = ("yuv420p",)
    """Accepted pixel formats (yuv420p plays everywhere)."""
    min_fps: float | None = None
    """Lowest frame rate."""
    max_fps: float | None = None
    """Highest frame rate."""
    min_bitrate: int | None = None
    """Lowest overall bitrate (bit/s)."""
    max_bytes: int | None = None
    """Largest file."""
    audio: str = "optional"
    """``required`` (fail without an audio track), ``recommended`` (warn), ``optional``."""
    faststart: bool = False
    """mp4/mov must have the index before the media (plays while downloading)."""
    codec: str = "h264"
    """Codec the fixer writes."""
    source: str = ""
    """Where the numbers come from."""


_META = "Meta Ads Guide, Reels placements (collected 2026-11)"
VIDEO_PROFILES: dict[str, VideoProfile] = {
    "meta-reels": VideoProfile(
        "meta-reels", "Facebook / Instagram Reels ad, 9:16", (1080, 1920), aspects=(9 / 16,), min_width=500,
        recommended_size=(1080, 1920), min_seconds=1.0, max_seconds=90.0, containers=("mp4", "mov"),
        codecs=("h264", "hevc", "vp9"), max_bytes=4_000 * _MB, audio="recommended", faststart=True, source=_META),
    "tiktok": VideoProfile(
        "tiktok", "TikTok in-feed ad, 9:16", (1080, 1920), aspects=(9 / 16,), min_width=540, min_height=960,
        recommended_size=(1080, 1920), min_seconds=5.0, max_seconds=60.0, containers=("mp4", "mov"),
        codecs=("h264", "hevc"), min_bitrate=516_000, max_bytes=500 * _MB, audio="recommended", faststart=True,
        source="TikTok Ads Manager video ad specifications (collected 2026-11)"),
    "youtube-shorts": VideoProfile(
        "youtube-shorts", "YouTube Shorts, vertical or square", (1080, 1920), aspects=(9 / 16, 1.0),
        recommended_size=(1080, 1920), max_seconds=180.0, containers=("mp4", "mov", "webm"),
        codecs=("h264", "hevc", "vp9", "av1"), audio="optional",
        source="YouTube Help: Shorts upload (up to 3 minutes, square or vertical; collected 2026-11)"),
    "amazon-video": VideoProfile(
        "amazon-video", "Amazon product detail page video, 16:9", (1920, 1080), aspects=(16 / 9,), min_width=1280,
        min_height=720, recommended_size=(1920, 1080), min_seconds=1.0, max_seconds=600.0,
        containers=("mp4", "mov"), codecs=("h264",), max_bytes=5_000 * _MB, audio="optional", faststart=True,
        source="Amazon Seller Central: upload and manage videos (collected 2026-11)"),
    "shopify-video": VideoProfile(
        "shopify-video", "Shopify product media video", (1080, 1080), min_width=200, min_height=200, max_side=4096,
        max_seconds=600.0, containers=("mp4", "mov"), codecs=("h264", "hevc"), max_bytes=1_000 * _MB,
        audio="optional", source="Shopify Help: product media, videos up to 10 min and 1 GB (collected 2026-11)"),
}


def video_profile_names() -> list[str]:
    return list(VIDEO_PROFILES)


def get_video_profile(name: str | VideoProfile) -> VideoProfile:
    """A built-in video profile by name; InputError listing the choices otherwise."""
    if isinstance(name, VideoProfile):
        return name
    if str(name) in VIDEO_PROFILES:
        return VIDEO_PROFILES[str(name)]
    raise InputError("--profile", f"unknown video profile '{name}'; choose one of: {', '.join(VIDEO_PROFILES)}")


def is_video(path: str | Path) -> bool:
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


def _container_ok(fmt: str, allowed: tuple[str, ...], path: Path) -> tuple[bool, str]:
    suffix = path.suffix.lower().lstrip(".")
    if "webm" in fmt or "matroska" in fmt:
        kind = "webm"
    elif suffix in ("mov",):
        kind = "mov"
    else:
        kind = "mp4"
    return kind in allowed, kind


def check_clip(path: str | Path, profile: str | VideoProfile) -> ComplianceReport:
    """Measure every rule of ``profile`` on the clip at ``path`` (read back through PyAV)."""
    from ...motion import read_clip_facts

    prof = get_video_profile(profile)
    p = Path(path)
    f = read_clip_facts(p)
    rules: list[RuleResult] = []

    def add(rule: str, ok: bool | None, measured: Any, limit: Any, message: str = "", warn: bool = False) -> None:
        status = "skip" if ok is None else "pass" if ok else ("warn" if warn else "fail")
        rules.append(RuleResult(rule, status, measured, limit, message if status in ("fail", "warn") else ""))

    ok, kind = _container_ok(f.container, prof.containers, p)
    add("container", ok, kind, list(prof.containers), f"{kind} is not accepted; re-encode to {prof.containers[0]}")
    add("codec", f.codec in prof.codecs, f.codec, list(prof.codecs), f"{f.codec} is not accepted; re-encode")
    add("pixel-format", f.pix_fmt in prof.pix_fmts, f.pix_fmt, list(prof.pix_fmts), "re-encode to yuv420p")
    aspect = f.width / f.height
    if prof.aspects:
        ok = any(abs(aspect - a) <= prof.aspect_tolerance * a for a in prof.aspects)
        add("aspect", ok, round(aspect, 4), [round(a, 4) for a in prof.aspects],
            f"{f.width}x{f.height} is not {' or '.join(_ratio_name(a) for a in prof.aspects)}; pad it")
    else:
        add("aspect", None, round(aspect, 4), None)
    small = [(prof.min_width, f.width, "width"), (prof.min_height, f.height, "height")]
    bad = [f"{n} {v} < {lim}" for lim, v, n in small if lim is not None and v < lim]
    add("min-size", (not bad) if (prof.min_width or prof.min_height) else None, [f.width, f.height],
        [prof.min_width, prof.min_height], "; ".join(bad) + ": scale it up")
    add("max-side", (max(f.width, f.height) <= prof.max_side) if prof.max_side else None, max(f.width, f.height),
        prof.max_side, "scale it down")
    if prof.recommended_size:
        rw, rh = prof.recommended_size
        add("recommended-size", f.width >= rw and f.height >= rh, [f.width, f.height], [rw, rh],
            f"smaller than the recommended {rw}x{rh}", warn=True)
    else:
        add("recommended-size", None, [f.width, f.height], None)
    dur = round(f.duration_s, 3)
    add("min-duration", (dur >= prof.min_seconds - 1e-3) if prof.min_seconds else None, dur, prof.min_seconds,
        f"{dur:g} s is shorter than {prof.min_seconds:g} s; hold the last frame" if prof.min_seconds else "")
    add("max-duration", (dur <= prof.max_seconds + 1e-3) if prof.max_seconds else None, dur, prof.max_seconds,
        f"{dur:g} s is longer than {prof.max_seconds:g} s; trim it" if prof.max_seconds else "")
    fps_ok = (prof.min_fps is None or f.fps >= prof.min_fps) and (prof.max_fps is None or f.fps <= prof.max_fps)
    add("frame-rate", fps_ok if (prof.min_fps or prof.max_fps) else None, round(f.fps, 3), [prof.min_fps, prof.max_fps],
        "re-encode at an accepted rate")
    add("min-bitrate", (f.bitrate_bps >= prof.min_bitrate) if prof.min_bitrate else None, f.bitrate_bps,
        prof.min_bitrate, f"{f.bitrate_bps} bit/s is under {prof.min_bitrate}; re-encode with a bitrate floor")
    add("file-size", (f.bytes <= prof.max_bytes) if prof.max_bytes else None, f.bytes, prof.max_bytes,
        "re-encode at a lower bitrate")
    if prof.audio == "optional":
        add("audio", None, f.has_audio, prof.audio)
    else:
        add("audio", f.has_audio, f.has_audio, prof.audio, "no audio track" + (": add one" if prof.audio == "required"
                                                                                   else " (recommended)"),
            warn=prof.audio == "recommended")
    if prof.faststart and f.faststart is not None:
        add("faststart", bool(f.faststart), f.faststart, True, "the index is after the media; re-mux with faststart")
    else:
        add("faststart", None, f.faststart, prof.faststart or None)
    return ComplianceReport(prof.name, p.name, (f.width, f.height), tuple(rules), "n/a",
                            {"facts": f.to_dict(), "kind": "video"})


def _ratio_name(a: float) -> str:
    for name, v in (("9:16", 9 / 16), ("16:9", 16 / 9), ("1:1", 1.0), ("4:5", 0.8)):
        if abs(a - v) < 1e-3:
            return name
    return f"{a:.3f}"


def _border_colour(frame: np.ndarray) -> np.ndarray:
    edge = np.concatenate([frame[0], frame[-1], frame[:, 0], frame[:, -1]])
    return np.median(edge, axis=0).astype(np.uint8)


def _fit_frame(frame: np.ndarray, size: tuple[int, int], aspects: tuple[float, ...] | None) -> np.ndarray:
    """Pad ``frame`` to the nearest allowed aspect (bars in its border colour), then scale to ``size``."""
    import cv2

    h, w = frame.shape[:2]
    tw, th = size
    target = tw / th
    if aspects:
        cur = w / h
        target = min(aspects, key=lambda a: abs(np.log(a / cur)))
    else:
        target = w / h
    if abs(w / h - target) > 1e-3:
        if w / h < target:  # too narrow: bars left and right
            nw, nh = int(round(h * target)), h
        else:
            nw, nh = w, int(round(w / target))
        canvas = np.empty((nh, nw, 3), np.uint8)
        canvas[:] = _border_colour(frame)
        y0, x0 = (nh - h) // 2, (nw - w) // 2
        canvas[y0:y0 + h, x0:x0 + w] = frame
        frame = canvas
    h, w = frame.shape[:2]
    if aspects:
        out_w, out_h = tw, th
        if abs(tw / th - w / h) > 1e-3:  # the profile's size has another of the allowed aspects
            out_h = th
            out_w = int(round(th * w / h))
    else:
        s = min(tw / w, th / h)
        out_w, out_h = int(round(w * s)), int(round(h * s))
    out_w -= out_w % 2
    out_h -= out_h % 2
    if (out_w, out_h) != (w, h):
        interp = cv2.INTER_AREA if out_w < w else cv2.INTER_CUBIC
        frame = cv2.resize(frame, (out_w, out_h), interpolation=interp)
    return frame


@dataclass(frozen=True)
class FixedClip:
    """What :func:`fix_clip` did."""

    path: Path
    actions: tuple[str, ...]
    report: ComplianceReport


def fix_clip(path: str | Path, profile: str | VideoProfile, out_path: str | Path) -> FixedClip:
    """Write a copy of the clip that meets ``profile`` (pad, scale, trim / hold, re-encode) and check it.

    Raises
    ------
    InputError
        The clip cannot be read.
    """
    import av

    from ...motion import ClipWriter, read_clip_facts

    prof = get_video_profile(profile)
    src = Path(path)
    out = Path(out_path)
    if out.suffix.lower() not in (".mp4", ".webm"):
        raise InputError(out, "the fixed clip must be written as .mp4 or .webm")
    facts = read_clip_facts(src)
    fps = int(round(facts.fps)) or 30
    if prof.max_fps and fps > prof.max_fps:
        fps = int(prof.max_fps)
    if prof.min_fps and fps < prof.min_fps:
        fps = int(np.ceil(prof.min_fps))
    n_src = facts.frames
    n_out = int(round(facts.duration_s * fps)) or n_src
    actions = []
    if prof.max_seconds and n_out > prof.max_seconds * fps:
        n_out = int(np.floor(prof.max_seconds * fps))
        actions.append(f"trimmed to {n_out / fps:g} s")
    if prof.min_seconds and n_out < prof.min_seconds * fps:
        n_out = int(np.ceil(prof.min_seconds * fps))
        actions.append(f"held the last frame to {n_out / fps:g} s")
    first = None
    with av.open(str(src)) as c:
        for fr in c.decode(video=0):
            first = fr.to_ndarray(format="rgb24")
            break
    if first is None:
        raise InputError(src, "has no decodable video frames")
    fitted = _fit_frame(first, prof.size, prof.aspects)
    if fitted.shape[:2] != first.shape[:2] or (prof.aspects and abs(first.shape[1] / first.shape[0] - fitted.shape[1] /
                                                                      fitted.shape[0]) > 1e-3):
        actions.append(f"padded / scaled {first.shape[1]}x{first.shape[0]} to {fitted.shape[1]}x{fitted.shape[0]}")
    audio = prof.audio in ("required", "recommended") and not facts.has_audio and out.suffix.lower() == ".mp4"
    if audio:
        actions.append("added a silent audio track")
    bitrate = int(prof.min_bitrate * 1.5) if prof.min_bitrate and facts.bitrate_bps < prof.min_bitrate else None
    if bitrate:
        actions.append(f"bitrate floor {bitrate} bit/s")
    codec_suffix = ".webm" if prof.codec == "vp9" else ".mp4"
    if out.suffix.lower() != codec_suffix:
        out = out.with_suffix(codec_suffix)
    actions.append(f"re-encoded as {prof.codec} yuv420p{' faststart' if codec_suffix == '.mp4' else ''} at {fps} fps")
    size = (fitted.shape[1], fitted.shape[0])
    with ClipWriter([out], size, fps, silent_audio=audio, video_bitrate=bitrate) as writer:
        written = 0
        last = None
        src_fps = facts.fps or fps
        with av.open(str(src)) as c:
            for i, fr in enumerate(c.decode(video=0)):
                # resample by time: source frame i covers [i / src_fps, (i + 1) / src_fps)
                end = (i + 1) / src_fps
                arr = None
                while written < n_out and (written + 0.5) / fps < end:
                    if arr is None:
                        arr = _fit_frame(fr.to_ndarray(format="rgb24"), prof.size, prof.aspects)
                    writer.write_srgb8(arr)
                    written += 1
                    last = arr
                if written >= n_out:
                    break
                if arr is not None:
                    last = arr
        while written < n_out and last is not None:
            writer.write_srgb8(last)
            written += 1
    return FixedClip(out, tuple(actions), check_clip(out, prof))


__all__ = ["VIDEO_PROFILES", "VideoProfile", "check_clip", "fix_clip", "get_video_profile", "video_profile_names",
           "is_video", "FixedClip", "VIDEO_SUFFIXES"]
