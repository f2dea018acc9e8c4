"""``packshot export``: frames -> marketplace-ready files at a destination, a manifest and feeds.

Inputs are frame sidecars, folders (searched recursively for frame sidecars, else for product
images) or plain images. Prints one line per written file (URL, size, bytes); with ``--json`` one
JSON object per written file (and per failure, ``"ok": false``) instead.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, List, Optional

import typer

from ._common import (UPSCALER, FeedKind, Json, OnCollision, Profiles, Quiet, choice_option, emit, print_error,
                      print_info, set_output)

_IN_PLACE_SCHEMES = ("", "file", "local", "memory")
"""Destinations that need no local copy of the manifest: a local folder already holds it, and
memory:// is in-process."""

_LOCAL_MANIFEST = "packshot-manifest.json"
"""The local copy of the manifest of a remote destination when ``--manifest`` names none."""


def _storage_options(values: list[str], as_json: str | None) -> dict:
    """``--storage-option key=value`` (dotted keys nest, values parsed as JSON when they can be)."""
    options: dict = {}
    if as_json:
        try:
            loaded = json.loads(as_json)
        except ValueError as exc:
            raise typer.BadParameter(f"not JSON ({exc})", param_hint="--storage-options") from exc
        if not isinstance(loaded, dict):
            raise typer.BadParameter("must be a JSON object", param_hint="--storage-options")
        options.update(loaded)
    for item in values:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"'{item}' is not KEY=VALUE", param_hint="--storage-option")
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw
        node = options
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return options


def _read_inputs(frames: list[Path], product_text: Path | None):
    """The frames to deliver and the product text (or None); bad input exits 2 naming the file."""
    from ..errors import PackshotError
    from ..export.delivery.deliver import collect_frames

    try:
        inputs = collect_frames(frames)
        from ..credentials.export_hook import load_product_text

        texts = load_product_text(product_text) if product_text is not None else None
    except PackshotError as exc:
        print_error("input error", str(exc))
        raise typer.Exit(2)
    return inputs, texts


def _keep_approved(inputs):
    """``--approved``: only the frames approved in review (the others are named); exit 1 when none is."""
    from ..web.store import keep_approved

    inputs, held = keep_approved(inputs)
    for path, why in held:
        print_info(f"held back {path}: {why}")
    if not inputs:
        print_error("nothing to deliver", "no frame is approved (packshot review RUN)")
        raise typer.Exit(1)
    return inputs


def _local_manifest(manifest: Path | None, dest: str) -> Path | None:
    """Where to write a local copy of the manifest: ``--manifest``, else a default for remote stores only."""
    scheme = dest.split("://", 1)[0].lower() if "://" in dest else ""
    # a local copy of the manifest for remote stores only: memory:// is in-process, and a
    # local folder already holds the manifest
    if manifest is None and scheme not in _IN_PLACE_SCHEMES:
        return Path(_LOCAL_MANIFEST)
    return manifest


class _FailurePrinter:
    """The export's progress callback: prints each failure as it happens and counts them."""

    def __init__(self) -> None:
        self.reported = 0

    def __call__(self, source: str, failures) -> None:
        self.reported += len(failures)
        for failure in failures:
            what = f" [{failure.profile}]" if failure.profile else ""
            print_error("failed", f"{source}{what}: {failure.error}")


def _print_result(result, *, as_json: bool, credentials: Path | None, reported: int) -> None:
    """One line (or JSON object) per written file, the signing and totals lines, the feeds, and the
    failures the progress callback did not already print (feeds and manifest)."""
    for f in result.files:
        if as_json:
            emit({"input": f.source, "ok": True, **{k: v for k, v in asdict(f).items() if k != "provenance"}})
        else:
            typer.echo(f"{f.url}\t{f.width}x{f.height}\t{f.bytes}")
    if as_json:
        for failure in result.failures:
            emit({"input": failure.source, "ok": False, **asdict(failure)})
    if credentials is not None:
        from ..credentials import load_credentials

        creds = load_credentials(credentials)
        signed = sum(1 for f in result.files if f.signed)
        print_info(f"signed {signed} files with Content Credentials: {creds.describe()}")
    frames_total = len({f.source for f in result.files} | {f.source for f in result.failures})
    print_info(
        f"{len(result.files)} files to {result.destination} from {frames_total} inputs in {result.seconds:.2f} s; "
        f"{len(result.failures)} failed" + (f"; manifest {result.manifest_url}" if result.manifest_url else "")
    )
    for url in result.feed_urls:
        print_info(f"feed {url}")
    for failure in result.failures[reported:]:  # feeds and manifest
        print_error("failed", f"{failure.source}: {failure.error}")


def export_command(
    frames: Annotated[List[Path], typer.Argument(help="Frame sidecars (<variant>.json), folders of frames "
                                                      "(searched recursively), or plain images (cut-outs on "
                                                      "white).")],
    profile: Profiles,
    dest: str = typer.Option(..., "--dest", "-d", help="Destination: folder, file://, s3://, gs://, memory://"),
    feed: List[FeedKind] = typer.Option([], "--feed", help="Write a product image feed: google (TSV) or meta "
                                                           "(CSV); repeat for both."),
    template: str = typer.Option("{sku}_{scene}_{variant}_{profile}.{ext}", "--template", "-t",
                                 help="File name template; fields: sku scene variant profile ext width "
                                      "height kind index; '/' makes folders."),
    public_url: Optional[str] = typer.Option(None, "--public-url", help="Base URL the destination is served "
                                                                        "from (needed for feeds)."),
    on_collision: OnCollision = typer.Option(OnCollision.suffix, "--on-collision",
                                             help="Two outputs with one name: suffix (-2, -3) or error."),
    retries: int = typer.Option(4, "--retries", help="Tries per upload, the first included."),
    manifest: Optional[Path] = typer.Option(None, "--manifest", help="Also write the manifest here (default for "
                                                                     "remote destinations other than memory://: "
                                                                     "./packshot-manifest.json)."),
    storage_option: List[str] = typer.Option([], "--storage-option", help="fsspec option KEY=VALUE for the "
                                             "destination (dotted keys nest: client_kwargs.endpoint_url=...)."),
    storage_options: Optional[str] = typer.Option(None, "--storage-options", help="fsspec options as JSON."),
    workers: int = typer.Option(2, "--workers", "-w", min=1, help="Threads for fixing, encoding and uploading."),
    upscaler: Annotated[str, choice_option("--upscaler", choice=UPSCALER, help="Super-resolution for inputs "
                                            "below a profile's minimum (see `packshot backends`), or none.")
                        ] = "realesrgan",
    credentials: Optional[Path] = typer.Option(None, "--credentials", envvar="PACKSHOT_CREDENTIALS",
                                               help="Sign Content Credentials (C2PA) into every file with the "
                                                    "PEM chain and key in this folder (see `packshot credentials "
                                                    "init`)."),
    product_text: Optional[Path] = typer.Option(None, "--product-text", help="CSV (sku,title,alt_text) or JSON "
                                                "with each SKU's title for the alt text, or its own alt text."),
    approved: bool = typer.Option(False, "--approved", help="Deliver only frames approved in `packshot "
                                  "review` (decisions in <run>/.packshot/review.sqlite)."),
    as_json: Json = False,
    quiet: Quiet = False,
) -> None:
    """Fix, encode, tag and deliver frames for each profile; write a manifest (and feeds)."""
    from ..errors import PackshotError
    from ..export.delivery.deliver import default_fixer, export_frames
    from ..export.delivery.routing import RetryPolicy

    set_output(as_json, quiet)
    options = _storage_options(storage_option, storage_options)
    inputs, texts = _read_inputs(frames, product_text)
    if approved:
        inputs = _keep_approved(inputs)
    progress = _FailurePrinter()
    try:
        result = export_frames(
            inputs, profile, dest, template=template, feed=[f.value for f in feed] or None,
            public_url=public_url, on_collision=on_collision.value, retry=RetryPolicy(attempts=retries),
            storage_options=options, local_manifest=_local_manifest(manifest, dest), workers=workers,
            on_progress=progress, fixer=default_fixer(None if upscaler == "none" else upscaler),
            credentials=credentials, product_text=texts,
        )
    except PackshotError as exc:
        print_error("export error", str(exc))
        raise typer.Exit(2)
    _print_result(result, as_json=as_json, credentials=credentials, reported=progress.reported)
    raise typer.Exit(result.exit_code)


def register(app: typer.Typer) -> None:
    app.command("export")(export_command)
