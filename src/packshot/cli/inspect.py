"""``packshot inspect``: cut out each photo and measure it (depth, normals, edges, materials, text, flags)."""

from __future__ import annotations

from pathlib import Path
from typing import List

import typer

from ._common import expand_inputs, max_pixels_option, print_error, print_info, run_batch


def inspect_one(path: Path, out: Path, segment_backend: str = "auto", depth_backend: str = "inflate",
                ocr: bool = True, force: bool = False, max_pixels: int = 100_000_000) -> Path | None:
    """Inspect one photo (or RGBA cut-out PNG) into ``out/<stem>/``; returns the folder, None when up to date."""
    from dataclasses import replace

    import numpy as np

    from ..imaging import atomic_write_bytes, encode_png, load_image
    from ..errors import EmptyProductError
    from ..understand import UnderstandConfig, understand
    from ..understand.io import FILES, save_maps
    from ..understand.overview import overview_sheet

    folder = out / path.stem
    if not force and (folder / FILES["json"]).exists() and (folder / "overview.png").exists():
        return None
    image = load_image(path, max_pixels=max_pixels)
    if image.alpha is not None and float(image.alpha.min()) < 0.5:
        # an RGBA cut-out: its alpha channel is the product (its facts, if packshot wrote it,
        # come back from the PNG; the "photo" is the cut-out over its recorded backdrop)
        from ..segment.io import load_cutout

        cutout = load_cutout(path)
        cutout = replace(cutout, flags=tuple(cutout.flags) + ("input-alpha",),
                         provenance={**dict(cutout.provenance), "source": str(path), "source_sha256": image.sha256})
    else:
        from ..segment import segment

        cutout = segment(image, backend=segment_backend)
    if cutout.is_empty:
        raise EmptyProductError(path, "no product found in the photo (the cut-out is empty)")
    maps = understand(cutout, UnderstandConfig(depth_backend=depth_backend, ocr=ocr))
    sheet = overview_sheet(cutout, maps, title=f"{path.name}  ({cutout.size[0]} x {cutout.size[1]} px)")
    png = encode_png(np.ascontiguousarray(sheet), "RGB", compress_level=6)
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(folder / "overview.png", png)
    # maps.json is written last by save_maps: its presence marks a finished folder
    save_maps(folder, maps, cutout)
    flags = ", ".join(f.code for f in maps.flags) or "no flags"
    print_info(f"{path.name}: {len(maps.text)} text lines, {flags} -> {folder}")
    return folder


def register(app: typer.Typer) -> None:
    from ..segment import BACKENDS as SEGMENT_BACKENDS
    from ..understand import DEPTH_BACKENDS

    @app.command("inspect")
    def inspect_command(
        inputs: List[Path] = typer.Argument(..., help="Product photos or RGBA cut-out PNGs (files or folders)."),
        out: Path = typer.Option(..., "--out", "-o", help="Output folder: <out>/<stem>/{depth,normals,edges,"
                                 "materials,overview}.png + maps.json"),
        backend: str = typer.Option("auto", "--backend", help="Segment backend: " + ", ".join(SEGMENT_BACKENDS.names())),
        depth: str = typer.Option("inflate", "--depth", help="Depth backend: " + ", ".join(DEPTH_BACKENDS.names())),
        no_ocr: bool = typer.Option(False, "--no-ocr", help="Skip reading the label text."),
        force: bool = typer.Option(False, "--force", help="Inspect again even when the output folder is complete."),
        max_pixels: int = max_pixels_option(),
    ) -> None:
        """Measure each product: depth, normals, edges, materials, palette, label text and risk flags."""
        if depth not in DEPTH_BACKENDS:
            print_error("error", f"unknown depth backend '{depth}'; choose one of: "
                                 f"{', '.join(DEPTH_BACKENDS.names())}")
            raise typer.Exit(2)
        skipped: list[Path] = []

        def work(path: Path) -> None:
            if inspect_one(path, out, backend, depth, not no_ocr, force, max_pixels) is None:
                skipped.append(path)

        result = run_batch(expand_inputs(inputs), work, label="inspect")
        if skipped:
            print_info(f"{len(skipped)} up to date (use --force to redo)")
        raise typer.Exit(result.exit_code)
