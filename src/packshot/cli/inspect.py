"""``packshot inspect``: cut out each photo and measure it (depth, normals, edges, materials, text, flags).

    packshot inspect photos/ --out maps/       # maps/<stem>/{depth,normals,edges,materials,overview}.png + maps.json

Works through :func:`packshot.pipeline.inspect_photo`: ``<stem>/inspect.json`` records the key of
the photo's bytes and options and the sha256 of every output; a folder whose record matches, with
intact files, is left as it is (``--force`` measures again). An RGBA cut-out PNG is measured with its
own alpha as the product.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, List

import typer

from ..imaging import DEFAULT_MAX_PIXELS
from ._common import (DEPTH, Json, MaxPixels, Quiet, Segmenter, SegmenterAlias, choice_option, deprecated_alias,
                      expand_inputs, out_option, print_info, run_batch, set_output)


def register(app: typer.Typer) -> None:
    @app.command("inspect")
    def inspect_command(
        inputs: Annotated[List[Path], typer.Argument(help="Product photos or RGBA cut-out PNGs (files or folders, "
                                                          "searched recursively).")],
        out: Annotated[Path, out_option("Output folder: <out>/<stem>/{depth,normals,edges,materials,overview}.png "
                                        "+ maps.json")],
        segmenter: Segmenter = "auto",
        backend: SegmenterAlias = None,
        depth: Annotated[str, choice_option("--depth", choice=DEPTH, help="Depth backend (see `packshot "
                                                                            "backends`).")] = "inflate",
        no_ocr: bool = typer.Option(False, "--no-ocr", help="Skip reading the label text."),
        force: bool = typer.Option(False, "--force", help="Inspect again even when the output folder is up to date."),
        max_pixels: MaxPixels = DEFAULT_MAX_PIXELS,
        as_json: Json = False,
        quiet: Quiet = False,
    ) -> None:
        """Measure each product: depth, normals, edges, materials, palette, label text and risk flags."""
        from ..errors import InputError
        from ..pipeline import RunConfig, inspect_photo

        set_output(as_json, quiet)
        config = RunConfig(segment_backend=deprecated_alias(segmenter, backend), max_pixels=max_pixels,
                           resume=not force)
        skipped: list[Path] = []
        folders: dict[str, Path] = {}

        def work(path: Path) -> dict:
            folder = out / path.stem
            owner = folders.get(folder.name.casefold())
            if owner is not None and owner != path:
                raise InputError(path, f"its output folder {folder} is already written for {owner} in this run "
                                       f"(rename one of the two files)")
            result = inspect_photo(path, folder, config, depth_backend=depth, ocr=not no_ocr)
            folders[folder.name.casefold()] = path
            if result.skipped:
                skipped.append(path)
            else:
                flags = ", ".join(result.flags) or "no flags"
                print_info(f"{path.name}: {len(result.text)} text lines, {flags} -> {folder}")
            return {"folder": str(folder), "up_to_date": result.skipped, "size": result.size,
                    "flags": result.flags, "text": result.text}

        files = expand_inputs(inputs, exclude=[out])
        result = run_batch(files, work, label="inspect")
        if skipped:
            print_info(f"{len(skipped)} up to date (use --force to redo)")
        raise typer.Exit(result.exit_code)
