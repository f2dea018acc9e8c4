"""``packshot render``: a cut-out + its maps + a brief -> finished frames.

    packshot render CUTOUT.png --maps MAPS_DIR --brief brief.yaml --out DIR

Writes ``DIR/<sku>/<scene>/<variant>.png`` with ``<variant>.json`` (sidecar: provenance,
product box, placement) and ``<variant>_alpha.png`` for every scene, variant and size.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import List, Optional

import typer

from ._common import print_error, print_info, run_batch

_SKU_SUFFIX = re.compile(r"[-_.]?(cutout|cut-out|rgba)$", re.IGNORECASE)
_SLUG = re.compile(r"[^A-Za-z0-9._-]+")


def sku_for_cutout(path: Path) -> str:
    """SKU of a cut-out file: its folder for ``<sku>/cutout.png`` (packshot's own layout), else its
    stem without a ``_cutout`` suffix."""
    stem = path.stem
    if _SKU_SUFFIX.fullmatch(stem) and path.parent.name:
        stem = path.parent.name
    stem = _SKU_SUFFIX.sub("", stem) or stem
    return _SLUG.sub("-", stem).strip("-.") or "sku"


def load_cutout_file(path: Path):
    """Read an RGBA cut-out PNG as a :class:`packshot.types.Cutout` (segment's reader when present)."""
    try:
        from ..segment.io import load_cutout  # type: ignore[import-not-found]
    except ImportError:
        load_cutout = None
    if load_cutout is not None:
        return load_cutout(path)
    from ..errors import InputError
    from ..imaging import load_image
    from ..types import Cutout, alpha_bbox

    img = load_image(path)
    if img.alpha is None:
        raise InputError(path, "cut-out has no alpha channel: pass the RGBA PNG written by 'packshot cut'")
    return Cutout(rgb=img.rgb, alpha=img.alpha, image=img.rgb, bbox=alpha_bbox(img.alpha), confidence=1.0,
                  provenance={"source": str(path), "sha256": img.sha256})


def _maps_for(cutout, cutout_path: Path, maps_dir: Optional[Path], sku: str, several: bool):
    from ..errors import InputError

    folder = None
    if maps_dir is not None:
        folder = maps_dir / sku if several and (maps_dir / sku).is_dir() else maps_dir
        if not folder.is_dir():
            raise InputError(folder, "maps folder does not exist (write it with 'packshot inspect')")
    elif (cutout_path.parent / "maps").is_dir():
        folder = cutout_path.parent / "maps"
    if folder is not None:
        from ..understand.io import load_maps

        maps = load_maps(folder)
        if maps.depth.shape != cutout.alpha.shape:
            raise InputError(folder, f"maps are {maps.depth.shape[1]}x{maps.depth.shape[0]} but the cut-out is "
                                     f"{cutout.alpha.shape[1]}x{cutout.alpha.shape[0]}: they belong to another cut-out")
        return maps
    from ..understand import understand

    return understand(cutout)


def register(app: typer.Typer) -> None:
    @app.command("render")
    def render_command(
        cutouts: List[Path] = typer.Argument(..., help="Cut-out RGBA PNG(s) written by 'packshot cut'."),
        brief: Path = typer.Option(..., "--brief", "-b", help="Creative brief (YAML)."),
        out: Path = typer.Option(..., "--out", "-o", help="Output folder: <out>/<sku>/<scene>/<variant>.png"),
        maps: Optional[Path] = typer.Option(None, "--maps", "-m",
                                            help="Maps folder from 'packshot inspect' (computed when omitted)."),
        sku: Optional[str] = typer.Option(None, "--sku", help="SKU id (one cut-out only); default from the file name."),
        backend: str = typer.Option("studio", "--backend",
                                    help="Renderer for scenes without a plate: studio or diffusion (a scene's "
                                         "'renderer:' in the brief wins)."),
        no_relight: bool = typer.Option(False, "--no-relight", help="Skip shadows, reflection and relight."),
        scene: Optional[List[str]] = typer.Option(None, "--scene", help="Only these scenes of the brief."),
    ) -> None:
        """Build the brief's scenes around each cut-out: one frame per scene, variant and size."""
        from ..condition import condition, load_brief
        from ..relight import relight
        from ..render import RENDERERS, render
        from ..render.io import save_frame

        if backend not in RENDERERS:
            print_error("error", f"unknown --backend '{backend}'; choose one of: {', '.join(RENDERERS.names())}")
            raise typer.Exit(2)
        if sku is not None and len(cutouts) > 1:
            print_error("error", "--sku names one product; give one cut-out with it")
            raise typer.Exit(2)
        if sku is not None:
            from ..export.delivery.naming import check_sku

            try:
                check_sku(sku, "--sku")
            except ValueError as exc:
                print_error("error", str(exc))
                raise typer.Exit(2)
        try:
            parsed = load_brief(brief)
        except (ValueError, OSError) as exc:
            print_error("brief error", str(exc))
            raise typer.Exit(2)
        if scene:
            known = {s.name for s in parsed.scenes}
            unknown = [s for s in scene if s not in known]
            if unknown:
                print_error("error", f"--scene {', '.join(unknown)}: not in the brief "
                                     f"(scenes: {', '.join(sorted(known))})")
                raise typer.Exit(2)
            import dataclasses

            parsed = dataclasses.replace(parsed, scenes=tuple(s for s in parsed.scenes if s.name in scene))

        def work(path: Path) -> None:
            cutout = load_cutout_file(path)
            this_sku = sku or sku_for_cutout(path)
            product_maps = _maps_for(cutout, path, maps, this_sku, len(cutouts) > 1)
            written = 0
            for spec in condition(parsed, cutout, product_maps, this_sku):
                frame = render(spec, cutout, product_maps, backend="plate" if spec.plate is not None
                               else (spec.provenance.get("renderer") or backend))
                if not no_relight:
                    frame = relight(frame, cutout, product_maps)
                save_frame(out, frame, path)
                written += 1
            print_info(f"{this_sku}: {written} frames written to {out / this_sku}")

        result = run_batch(cutouts, work, label="render")
        raise typer.Exit(result.exit_code)
