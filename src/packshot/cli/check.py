"""``packshot check``: is this image allowed where it is going? Every rule of a profile, measured.

Exit code: 0 when every image passes every profile (warnings allowed), 1 when a rule fails or an
image cannot be read, 2 for bad arguments (an unknown profile lists the choices). Folders are
searched recursively. With ``--json``, one JSON object per image and profile on stdout (the
report: ``passed``, every rule with its measured value and limit) instead of the tables.

The product region comes from ``--alpha`` (one image), else from a render sidecar beside the
image (``<stem>_alpha.png``), else it is estimated (see :mod:`packshot.export.compliance.check`). In a
folder, such a sidecar mask is used for its image, not checked as an image itself.

Clips (``.mp4``, ``.webm``, ``.mov``) are checked against the video profiles (``meta-reels``,
``tiktok``, ``youtube-shorts``, ``amazon-video``, ``shopify-video``; see
:mod:`packshot.export.compliance.video_profiles`); ``--fix-to DIR`` writes a fixed copy of each failing clip.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, List, Optional

import typer
from rich.text import Text

from ..imaging import DEFAULT_MAX_PIXELS
from ._common import Json, MaxPixels, Profiles, Quiet, emit, escape, expand_inputs, print_error, print_info, set_output

_STYLE = {"pass": "green", "fail": "bold red", "warn": "yellow", "skip": "dim"}

_COLUMNS = ("rule", "measured", "limit", "result", "note")
"""The columns of a report table, one row per rule."""

_ALPHA_SIDECAR = "_alpha.png"
"""A render's product mask beside its image: ``<stem>_alpha.png``."""


def _fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items()) or "0"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)


def _named(path: Path, exc: Exception) -> str:
    """The error message, naming ``path`` once (packshot's input errors already start with it); an
    unexpected exception (a bug, not bad input) also names its type."""
    from ..errors import PackshotError

    message = str(exc) if isinstance(exc, (PackshotError, OSError, ValueError)) else f"{type(exc).__name__}: {exc}"
    return message if message.startswith(str(path)) else f"{path}: {message}"


def _sidecar_alpha(image: Path) -> Path | None:
    candidate = image.with_name(f"{image.stem}{_ALPHA_SIDECAR}")
    return candidate if candidate.is_file() else None


def _split_profiles(profile: list[str]) -> tuple[list, list[str]]:
    """The image profiles (loaded) and the video profile names of ``--profile``; an unknown one is a
    bad parameter that lists the video profiles too."""
    from ..errors import InputError
    from ..export.compliance.profiles import get_profile
    from ..export.compliance.video_profiles import VIDEO_PROFILES

    try:
        profiles = [get_profile(p) for p in profile if p not in VIDEO_PROFILES]
    except InputError as exc:
        raise typer.BadParameter(exc.problem + f" (video profiles: {', '.join(VIDEO_PROFILES)})",
                                 param_hint="--profile") from exc
    return profiles, [p for p in profile if p in VIDEO_PROFILES]


def _collect_inputs(images: list[Path], profiles: list, video_profiles: list[str],
                    alpha: Path | None) -> tuple[list[Path], list[Path]]:
    """The images and the clips to check: files named on the command line (each must have a profile
    of its kind), and in folders images when an image profile is named, clips when a video one is."""
    from ..export.compliance.video_profiles import VIDEO_PROFILES, VIDEO_SUFFIXES, is_video

    given = [Path(p) for p in images if not Path(p).is_dir()]
    for p in given:  # a file named on the command line must have a profile of its kind
        if is_video(p) and not video_profiles:
            raise typer.BadParameter(f"{p} is a clip: name a video profile ({', '.join(VIDEO_PROFILES)})",
                                     param_hint="--profile")
        if not is_video(p) and not profiles:
            raise typer.BadParameter(f"{p} is an image: name an image profile, not only video profiles",
                                     param_hint="--profile")
    # in folders, images are checked when an image profile is named, clips when a video profile is
    folders = [Path(p) for p in images if Path(p).is_dir()]
    found = expand_inputs(folders) if profiles else []
    masks = {q.with_name(f"{q.stem}{_ALPHA_SIDECAR}") for q in found} & set(found)  # <stem>_alpha.png of an image
    paths = [p for p in given if not is_video(p)] + [p for p in found if p not in masks]  # a mask is no photo
    clips = [p for p in given if is_video(p)] + (expand_inputs(folders, suffixes=VIDEO_SUFFIXES)
                                                 if video_profiles else [])
    if not paths and not clips:
        raise typer.BadParameter("no image files found", param_hint="IMAGES")
    if alpha is not None and len(paths) != 1:
        raise typer.BadParameter("--alpha needs exactly one image", param_hint="--alpha")
    return paths, clips


def _rules_table(title: str, rules, show_skipped: bool, note, **table_options):
    """A table of one report: rule, measured value, limit, result and ``note(message)`` per rule
    (rules a profile does not impose only with ``show_skipped``)."""
    from rich.table import Table

    table = Table(title=title, title_justify="left", **table_options)
    for col in _COLUMNS:
        table.add_column(col, overflow="fold")
    for r in rules:
        if r.status == "skip" and not show_skipped:
            continue
        style = _STYLE[r.status]
        table.add_row(r.rule, _fmt(r.measured), _fmt(r.limit), f"[{style}]{r.status}[/{style}]", note(r.message))
    return table


def _as_is(message):
    return message


def _verdict(passed: bool) -> str:
    return "[green]PASS[/green]" if passed else "[bold red]FAIL[/bold red]"


def _check_image(console, path: Path, profiles: list, *, alpha: Path | None, max_pixels: int,
                 show_skipped: bool, as_json: bool) -> bool:
    """Check one image against every image profile and print its reports; True when it failed (a
    rule, or the image or its mask could not be read: one bad image never stops the others)."""
    from ..export.compliance.check import check_image
    from ..imaging import image_size, load_mask

    try:
        mask_path = alpha or _sidecar_alpha(path)
        mask = None
        if mask_path is not None:
            size = image_size(path, max_pixels=max_pixels)  # from the header: no decode
            mask = load_mask(mask_path, size=size, max_pixels=max_pixels)
        reports = [check_image(path, prof, product_alpha=mask, max_pixels=max_pixels) for prof in profiles]
    except Exception as exc:  # noqa: BLE001 - one bad image never stops the others
        print_error("failed", _named(path, exc))
        if as_json:
            emit({"input": str(path), "ok": False, "error": _named(path, exc)})
        return True
    failed = False
    for report in reports:
        failed |= not report.passed
        if as_json:
            emit({"input": str(path), "ok": True, **report.to_dict(),
                  "alpha": str(mask_path) if mask_path else None})
            continue
        region = f"product from {escape(mask_path.name)}" if mask_path else "product region estimated"
        title = f"{escape(path.name)}  {report.size[0]}x{report.size[1]}  {report.profile}  {_verdict(report.passed)}"
        console.print(_rules_table(title, report.rules, show_skipped, escape, caption=region,
                                   caption_justify="left"))
    return failed


def _clip_signing(credentials: Path | None, fix_to: Path | None, clips: list[Path]):
    """The signer for fixed clips (``--credentials`` with ``--fix-to``), or None; bad credentials exit 2
    here, before any clip is written."""
    from ..errors import PackshotError

    if credentials is None or fix_to is None or not clips:
        return None
    from ..credentials.export_hook import ExportCredentials

    try:  # bad credentials stop here, before any clip is written
        return ExportCredentials(credentials)
    except PackshotError as exc:
        print_error("credentials error", f"{exc}")
        raise typer.Exit(2)


def _fix_clip(path: Path, name: str, fix_to: Path, signing):
    """Write the fixed copy of a failing clip into ``fix_to`` (signed when ``signing`` is given)."""
    from ..export.compliance.video_profiles import fix_clip

    fixed = fix_clip(path, name, Path(fix_to) / f"{path.stem}.{name}{path.suffix}")
    if signing is not None:
        from ..credentials.clip import clip_frame_sidecar, sign_clip

        holder = sign_clip(fixed.path, signing, frame_sidecar=clip_frame_sidecar(path), profile=name)
        print_info(f"signed {fixed.path} with Content Credentials"
                   + (f" (sidecar {holder})" if holder != fixed.path else ""))
    return fixed


def _print_clip(console, path: Path, report, fixed, *, show_skipped: bool, as_json: bool) -> None:
    """One clip's report (and its fixed copy's) as a JSON object or a table."""
    if as_json:
        doc = {"input": str(path), "ok": True, **report.to_dict()}
        if fixed is not None:
            doc["fixed"] = {"path": str(fixed.path), "actions": list(fixed.actions),
                            "passed": fixed.report.passed, "rules": fixed.report.to_dict()["rules"]}
        emit(doc)
        return
    title = f"{path.name}  {report.size[0]}x{report.size[1]}  {report.profile}  {_verdict(report.passed)}"
    console.print(_rules_table(title, report.rules, show_skipped, _as_is))
    if fixed is not None:
        ok = ("PASS", "green") if fixed.report.passed else ("FAIL", "bold red")
        console.print(Text.assemble(f"fixed -> {fixed.path} ({'; '.join(fixed.actions)}): ", ok))


def _check_clip(console, path: Path, name: str, *, fix_to: Path | None, signing, show_skipped: bool,
                as_json: bool) -> bool:
    """Check one clip against one video profile (fixing it with ``fix_to``) and print the report;
    True when it failed (the fixed copy counts when there is one)."""
    from ..export.compliance.video_profiles import check_clip

    try:
        report = check_clip(path, name)
        fixed = None
        if fix_to is not None and not report.passed:
            fixed = _fix_clip(path, name, fix_to, signing)
    except Exception as exc:  # noqa: BLE001 - one bad clip never stops the others
        print_error("failed", _named(path, exc))
        if as_json:
            emit({"input": str(path), "ok": False, "profile": name, "error": _named(path, exc)})
        return True
    _print_clip(console, path, report, fixed, show_skipped=show_skipped, as_json=as_json)
    return not report.passed if fixed is None else not fixed.report.passed


def check_command(
    images: Annotated[List[Path], typer.Argument(help="Images or clips, or folders of them (searched "
                                                      "recursively).")],
    profile: Profiles,
    alpha: Optional[Path] = typer.Option(None, "--alpha", help="Product alpha mask (grey PNG) for a single "
                                                               "image; default: <stem>_alpha.png beside the "
                                                               "image when present, else estimated."),
    show_skipped: bool = typer.Option(False, "--show-skipped", help="Also list the rules a profile does "
                                                                    "not impose."),
    fix_to: Optional[Path] = typer.Option(None, "--fix-to", help="Clips only: write a fixed copy (pad, trim, "
                                                                  "re-encode) of each failing clip here."),
    credentials: Optional[Path] = typer.Option(None, "--credentials", envvar="PACKSHOT_CREDENTIALS",
                                               help="With --fix-to: sign Content Credentials (C2PA) into each "
                                                    "fixed clip (MP4 embedded, WebM as a .c2pa sidecar) with the "
                                                    "PEM chain and key in this folder; the clip's frame sidecar "
                                                    "(<variant>.json beside it) describes its history."),
    max_pixels: MaxPixels = DEFAULT_MAX_PIXELS,
    as_json: Json = False,
    quiet: Quiet = False,
) -> None:
    """Check images against marketplace profiles: rule, measured value, limit, pass/fail."""
    from rich.console import Console

    set_output(as_json, quiet)
    profiles, video_profiles = _split_profiles(profile)
    paths, clips = _collect_inputs(images, profiles, video_profiles, alpha)
    console = Console(file=sys.stdout, soft_wrap=True)
    any_failed = False
    for path in paths:
        any_failed |= _check_image(console, path, profiles, alpha=alpha, max_pixels=max_pixels,
                                   show_skipped=show_skipped, as_json=as_json)
    signing = _clip_signing(credentials, fix_to, clips)
    for path in clips:
        for name in video_profiles:
            any_failed |= _check_clip(console, path, name, fix_to=fix_to, signing=signing,
                                      show_skipped=show_skipped, as_json=as_json)
    if any_failed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("check")(check_command)
