"""``packshot catalogue``: every SKU x scene x variant x profile of a manifest, resumable and cached."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Optional

import typer

from ._common import err_console, max_pixels_option, print_error, print_info

_MANIFEST_SUFFIXES = (".csv", ".jsonl", ".ndjson", ".json")
"""A single input file with one of these suffixes is a manifest, not a photo."""


def print_outcome(outcome) -> None:
    """The final summary per stage, and where the report is."""
    print_info(f"{'stage':<8} {'planned':>8} {'up to date':>11} {'done':>6} {'failed':>7} {'blocked':>8} "
                      f"{'seconds':>8}")
    for kind in ("cutout", "maps", "frame", "qa", "export"):
        s = outcome.stages.get(kind)
        if not s:
            continue
        print_info(f"{kind:<8} {s['planned']:>8} {s['up_to_date']:>11} {s['done']:>6} {s['failed']:>7} "
                          f"{s['blocked']:>8} {s['seconds']:>8.1f}")
    rate = 60.0 * outcome.frames_done / outcome.seconds if outcome.seconds > 0 else 0.0
    print_info(f"{outcome.frames_done} frames made in {outcome.seconds:.1f} s ({rate:.1f} frames/min); "
                      f"{outcome.failed} units failed, {outcome.blocked} blocked, {len(outcome.row_errors)} manifest "
                      f"rows skipped")
    if outcome.awaiting_review:
        frames = outcome.frames_awaiting_review
        print_info(f"{len(frames)} frames awaiting review ({len(outcome.awaiting_review)} exports held back, not "
                   f"failures): approve them in `packshot review {outcome.out_dir}`, then run again")
    if outcome.rerenders:
        print_info(f"{len(outcome.rerenders)} re-render requests from review applied: "
                   + ", ".join(r.frame for r in outcome.rerenders))
    print_info(f"report: {outcome.out_dir / 'report.html'} (summary.csv, failures.csv beside it)")


def _manifest_or_photos(paths: list[Path]):
    """One CSV / JSONL file or folder: a manifest; otherwise photos (and folders of photos)."""
    from ..catalogue import manifest_from_photos
    from ._common import expand_inputs

    if len(paths) == 1 and (paths[0].is_dir() or paths[0].suffix.lower() in _MANIFEST_SUFFIXES):
        return paths[0]
    return manifest_from_photos(expand_inputs(paths), source="<photos>")


def _with_masters(source, master: Path):
    """The manifest (or photos) with ``--master`` as the master artwork of every SKU whose row names none."""
    import dataclasses

    from ..catalogue import load_manifest
    from .run import _master_for

    man = source if not isinstance(source, (str, Path)) else load_manifest(source)
    rows = tuple(r if r.master is not None else dataclasses.replace(r, master=(_master_for(master, r.sku) or None))
                 for r in man.rows)
    return dataclasses.replace(man, rows=rows)


def _print_status(folder: Path) -> None:
    """``--status DIR``: print where the run in ``folder`` stands and exit (2 when there is none)."""
    from ..catalogue.report import status_text

    try:
        typer.echo(status_text(folder))
    except FileNotFoundError as exc:
        print_error("error", f"{exc}")
        raise typer.Exit(2)
    raise typer.Exit(0)


def _check_arguments(manifest: list[Path] | None, out: Path | None, orientation: str, master: Path | None) -> None:
    """Exit 2 (naming the problem) when the run cannot start: no manifest or --out, an unknown
    --orientation, a --master that does not exist."""
    if not manifest or out is None:
        err_console.print("[red]error[/red] give a MANIFEST and --out (or --status DIR)")
        raise typer.Exit(2)
    from ..segment.orientation import ORIENTATION_CHOICES

    if orientation.strip().lower() not in ORIENTATION_CHOICES:
        print_error("error", f"--orientation must be one of {', '.join(ORIENTATION_CHOICES)}, got {orientation!r}")
        raise typer.Exit(2)
    if master is not None and not master.exists():
        print_error("error", f"--master {master}: no such file or folder")
        raise typer.Exit(2)


def _load_source(manifest: list[Path], master: Path | None):
    """The manifest (or photos) to run, with ``--master`` filled in; exit 2 when it cannot be read."""
    from ..errors import PackshotError

    try:
        source = _manifest_or_photos(manifest)
        if master is not None:
            source = _with_masters(source, master)
    except (PackshotError, ValueError, OSError) as exc:
        print_error("error", f"{exc}")
        raise typer.Exit(2)
    return source


def _check_credentials(credentials: Path | None) -> None:
    """Bad ``--credentials`` stop the run (exit 2) before anything is written."""
    if credentials is None:
        return
    from ..credentials.export_hook import ExportCredentials
    from ..errors import PackshotError

    try:  # bad credentials stop the run before anything is written
        ExportCredentials(credentials)
    except PackshotError as exc:
        print_error("credentials error", f"{exc}")
        raise typer.Exit(2)


def _run(source, out: Path, settings, **options):
    """Run the catalogue (SIGTERM ends it cleanly); a busy --out or a run that cannot start exits 2."""
    from ..catalogue import LockedError, run_catalogue
    from ..errors import PackshotError
    from ..locking import terminate_as_exit

    try:
        with terminate_as_exit():  # SIGTERM ends the run cleanly (lock released, workers stopped)
            return run_catalogue(source, out, settings=settings, argv=sys.argv[1:], **options)
    except LockedError as exc:
        print_error("busy", f"{exc}")
        raise typer.Exit(2)
    except (PackshotError, ValueError, OSError) as exc:
        print_error("error", f"{exc}")
        raise typer.Exit(2)


def _print_summary(outcome, quiet: bool) -> None:
    """The summary per stage; with --quiet only a line about failures, when there are any."""
    if not quiet:
        print_outcome(outcome)
    elif outcome.failed or outcome.blocked or outcome.row_errors:
        print_error("failed", f"{outcome.failed} units failed, {outcome.blocked} blocked, "
                              f"{len(outcome.row_errors)} manifest rows skipped: "
                              f"see {outcome.out_dir / 'failures.csv'}")


def _print_units_json(outcome) -> None:
    """``--json``: one JSON object per frame of this run's units, SKU by SKU."""
    from ..catalogue.store import JobStore
    from .run import _print_json

    planned = set(outcome.unit_ids)
    with JobStore(outcome.out_dir, readonly=True) as store:
        by_sku: dict = {}
        for u in store.units():
            if u["id"] in planned:
                by_sku.setdefault(u["sku"], []).append(u)
    for sku in sorted(by_sku):
        _print_json(sku, by_sku[sku], outcome.run_id)


def catalogue_command(
    manifest: Optional[List[Path]] = typer.Argument(None, help="Manifest (CSV or JSONL, see "
                                                               "examples/MANIFEST.md), or photos and folders of "
                                                               "photos (one SKU per photo, named after the file)."),
    brief: Optional[Path] = typer.Option(None, "--brief", "-b", help="Brief (YAML) for SKUs whose row names none."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Output folder (job store, frames, exports, "
                                                                 "report)."),
    profile: List[str] = typer.Option([], "--profile", "-p", help="Marketplace profile to export to, for SKUs "
                                                                  "whose row names none; repeat for several."),
    workers: Optional[int] = typer.Option(None, "--workers", "-w", help="Worker processes (default: the cores)."),
    engine: str = typer.Option("local", "--engine", help="local (process pool) or ray."),
    ray_address: Optional[str] = typer.Option(None, "--ray-address", help="An existing Ray cluster (default: "
                                                                          "start a local one on 127.0.0.1)."),
    ray_gpus: float = typer.Option(0.0, "--ray-gpus", help="GPUs each Ray actor asks for (diffusion renderer)."),
    dest: Optional[str] = typer.Option(None, "--dest", "-d", help="Also deliver exports to this fsspec "
                                                                  "destination (s3://, gs://, file://...)."),
    status: Optional[Path] = typer.Option(None, "--status", help="Print where the run in this folder stands "
                                                                  "and exit."),
    segmenter: str = typer.Option("auto", "--segmenter", "-s", help="Segment backend (a manifest row may "
                                                                    "override it)."),
    backend_alias: Optional[str] = typer.Option(None, "--backend", hidden=True),
    renderer: str = typer.Option("studio", "--renderer", "-r", help="Renderer for scenes without a plate."),
    master: Optional[Path] = typer.Option(None, "--master", "-m", help="Master artwork for SKUs whose row names "
                                                                      "none: one file, or a folder holding "
                                                                      "<sku>.<ext> per SKU."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Seed for every scene in place of the brief's."),
    orientation: str = typer.Option("auto", "--orientation", help="Turn the product upright: auto (label text, "
                                                                  "then shape), keep, 0, 90, 180 or 270."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object per frame on stdout (messages "
                                                       "stay on stderr)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress and no summary; failures only."),
    no_relight: bool = typer.Option(False, "--no-relight", help="Skip shadows, reflection and relight."),
    no_qa: bool = typer.Option(False, "--no-qa", help="Skip the fidelity checks."),
    upscaler: str = typer.Option("realesrgan", "--upscaler", help="Super-resolution for exports below a "
                                                                  "profile's minimum: realesrgan, bicubic, none."),
    force: bool = typer.Option(False, "--force", help="Redo every unit, up to date or not."),
    verify: bool = typer.Option(False, "--verify", help="Hash every recorded output before trusting it "
                                                        "(default: unchanged size and mtime are trusted)."),
    wait: float = typer.Option(0.0, "--wait", help="Seconds to wait for another run on --out to finish."),
    max_pixels: int = max_pixels_option(),
    credentials: Optional[Path] = typer.Option(None, "--credentials", envvar="PACKSHOT_CREDENTIALS",
                                               help="Sign Content Credentials (C2PA) into every exported file "
                                                    "with the PEM chain and key in this folder (see `packshot "
                                                    "credentials init`)."),
) -> None:
    """Run a catalogue: cut out, measure, render, relight, check and export every SKU of a manifest.

    A rerun redoes only what changed (a photo, a scene of the brief, a profile); a killed run
    resumes where it stopped. Exit code 1 when any unit failed or a manifest row was skipped,
    2 when the run could not start.
    """
    from ..catalogue import RunSettings

    if status is not None:
        _print_status(status)
    _check_arguments(manifest, out, orientation, master)
    source = _load_source(manifest, master)
    _check_credentials(credentials)
    settings = RunSettings(segment_backend=backend_alias or segmenter, render_backend=renderer, seed=seed,
                           orientation=orientation.strip().lower(), relight=not no_relight, qa=not no_qa,
                           max_pixels=max_pixels, upscaler=None if upscaler == "none" else upscaler, dest=dest,
                           credentials=str(credentials.resolve()) if credentials is not None else None)
    outcome = _run(source, out, settings, brief=brief, profiles=profile, engine=engine, workers=workers,
                   ray_address=ray_address, ray_gpus=ray_gpus, force=force, verify=verify, progress=not quiet,
                   wait_for_lock=wait)
    _print_summary(outcome, quiet)
    if as_json:
        _print_units_json(outcome)
    raise typer.Exit(outcome.exit_code)


def register(app: typer.Typer) -> None:
    app.command("catalogue")(catalogue_command)
