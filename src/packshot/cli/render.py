"""``packshot render``: cut-outs + their maps + a brief -> finished frames.

    packshot render CUTOUT.png --brief brief.yaml --out DIR [--maps MAPS_DIR] [--renderer studio]
    packshot render run-out/ --brief brief.yaml --out DIR      # every <sku>/cutout.png under it

Writes ``DIR/<sku>/<scene>/<variant>.png`` with ``<variant>.json`` (sidecar: provenance, product
box, placement, run key) and ``<variant>_alpha.png`` for every scene, variant and size, through
:func:`packshot.pipeline.render_cutout`: a frame whose sidecar records the same inputs (cut-out,
maps, scene, backends) with intact files is skipped (``--force`` renders it again). With ``--qa``
each frame is checked (``<variant>_qa.json``), against ``--master`` artwork when given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, List, Optional

import typer

from ..imaging import DEFAULT_MAX_PIXELS
from ._common import (BriefFile, Json, Master, MaxPixels, Out, Quiet, Renderer, RendererAlias, Seed,
                      deprecated_alias, expand_inputs, print_error, print_info, run_batch, set_output, with_seed)

if TYPE_CHECKING:
    from ..pipeline import RunConfig, SkuRegistry
    from ..condition import Brief

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


def expand_cutouts(inputs: list[Path], exclude: list[Path]) -> list[Path]:
    """Cut-out files as given; a folder expands (recursively) to the ``cutout.png`` files in it
    (packshot's ``<sku>/cutout.png`` layout) when it holds any, else to every PNG in it but
    packshot's own frame alpha and QA overlay files."""
    out: list[Path] = []
    for p in inputs:
        if not Path(p).is_dir():
            out.extend(expand_inputs([p]))
            continue
        pngs = expand_inputs([p], suffixes=(".png",), exclude=exclude)
        own = [q for q in pngs if q.name == "cutout.png"]
        out.extend(own or [q for q in pngs if not q.stem.endswith(("_alpha", "_qa_overlay", "_shadow"))])
    return list(dict.fromkeys(out))


def _maps_dir_for(cutout_path: Path, maps: Optional[Path], sku: str, several: bool) -> Optional[Path]:
    """The maps folder of one cut-out: ``--maps`` (its ``<sku>/`` subfolder with several cut-outs
    when there is one), else ``maps/`` beside the cut-out (a run's layout); None: measure them."""
    from ..errors import InputError

    if maps is not None:
        folder = maps / sku if several and (maps / sku).is_dir() else maps
        if not folder.is_dir():
            raise InputError(folder, "maps folder does not exist (write it with 'packshot inspect')")
        return folder
    beside = cutout_path.parent / "maps"
    return beside if beside.is_dir() else None


def register(app: typer.Typer) -> None:
    app.command("render")(render_command)


def render_command(
    cutouts: Annotated[List[Path], typer.Argument(help="Cut-out RGBA PNGs written by 'packshot cutout' (or "
                                                       "folders: their <sku>/cutout.png files, else every PNG).")],
    brief: BriefFile,
    out: Out,
    maps: Optional[Path] = typer.Option(None, "--maps", help="Maps folder from 'packshot inspect' (with several "
                                        "cut-outs: its <sku>/ subfolders); default: maps/ beside the cut-out, "
                                        "else measured."),
    sku: Optional[str] = typer.Option(None, "--sku", help="SKU id (one cut-out only); default from the file name."),
    renderer: Renderer = "studio",
    backend: RendererAlias = None,
    no_relight: bool = typer.Option(False, "--no-relight", help="Skip shadows, reflection and relight."),
    scene: Optional[List[str]] = typer.Option(None, "--scene", help="Only these scenes of the brief."),
    seed: Seed = None,
    force: bool = typer.Option(False, "--force", help="Render frames again even when up to date."),
    qa: bool = typer.Option(False, "--qa", help="Run the fidelity checks and write <variant>_qa.json per frame."),
    master: Master = None,
    max_pixels: MaxPixels = DEFAULT_MAX_PIXELS,
    as_json: Json = False,
    quiet: Quiet = False,
) -> None:
    """Build the brief's scenes around each cut-out: one frame per scene, variant and size."""
    from ..pipeline import RunConfig, SkuRegistry

    set_output(as_json, quiet)
    renderer = deprecated_alias(renderer, backend, instead="--renderer/-r")
    _check_master_and_sku(master, sku)
    parsed = _load_brief(brief, seed, scene)
    files = expand_cutouts(cutouts, exclude=[out])
    if not files:
        print_error("error", f"no cut-out PNGs in {', '.join(map(str, cutouts))}")
        raise typer.Exit(2)
    if sku is not None and len(files) > 1:
        print_error("error", "--sku names one product; give one cut-out with it")
        raise typer.Exit(2)
    config = RunConfig(render_backend=renderer, relight=not no_relight, resume=not force, qa=qa,
                       max_pixels=max_pixels)
    job = _RenderJob(brief=parsed, out=out, config=config, sku=sku, maps=maps, master=master,
                     several=len(files) > 1, skus=SkuRegistry())
    result = run_batch(files, job, label="render")
    raise typer.Exit(result.exit_code)


def _check_master_and_sku(master: Optional[Path], sku: Optional[str]) -> None:
    """``--master`` is a folder and ``--sku`` a valid SKU id, else exit 2 naming the option."""
    if master is not None and not master.is_dir():
        print_error("error", f"{master}: master folder does not exist")
        raise typer.Exit(2)
    if sku is not None:
        from ..export.delivery.naming import check_sku

        try:
            check_sku(sku, "--sku")
        except ValueError as exc:
            print_error("error", str(exc))
            raise typer.Exit(2)


def _load_brief(brief: Path, seed: Optional[int], scenes: Optional[List[str]]) -> Brief:
    """The brief (with ``--seed`` applied), cut to the ``--scene`` names when given; a bad brief or
    an unknown scene exits 2."""
    from ..condition import load_brief

    try:
        parsed = with_seed(load_brief(brief), seed)
    except (ValueError, OSError) as exc:
        print_error("brief error", str(exc))
        raise typer.Exit(2)
    if not scenes:
        return parsed
    known = {s.name for s in parsed.scenes}
    unknown = [s for s in scenes if s not in known]
    if unknown:
        print_error("error", f"--scene {', '.join(unknown)}: not in the brief "
                             f"(scenes: {', '.join(sorted(known))})")
        raise typer.Exit(2)
    import dataclasses

    return dataclasses.replace(parsed, scenes=tuple(s for s in parsed.scenes if s.name in scenes))


@dataclass
class _RenderJob:
    """Render one cut-out's frames: the batch's work function (``run_batch`` calls it per cut-out).

    ``skus`` refuses a second cut-out with the SKU of one already rendered in this batch.
    """

    brief: Brief
    out: Path
    config: RunConfig
    sku: Optional[str]
    maps: Optional[Path]
    master: Optional[Path]
    several: bool
    skus: SkuRegistry

    def __call__(self, path: Path) -> dict:
        from ..pipeline import render_cutout

        this_sku = self.sku or sku_for_cutout(path)
        self.skus.check(this_sku, path)
        master_path = self._master_for(this_sku)
        result = render_cutout(path, self.brief, self.out, sku=this_sku, config=self.config,
                               maps_dir=_maps_dir_for(path, self.maps, this_sku, self.several), master=master_path)
        self.skus.claim(this_sku, path)
        print_info(f"{this_sku}: {len(result.frames)} frames written, {len(result.skipped)} up to date "
                   f"in {self.out / this_sku}")
        return {"sku": this_sku, "frames": [str(p) for p in result.frames],
                "skipped": [str(p) for p in result.skipped], "verdicts": result.verdicts, "flags": result.flags}

    def _master_for(self, sku: str) -> Optional[Path]:
        """The SKU's master artwork in ``--master`` (None, with a warning, when it has none)."""
        if self.master is None:
            return None
        from ..qa.frames import find_master

        master_path = find_master(self.master, sku)
        if master_path is None:
            print_error("warning", f"no master artwork for SKU {sku!r} in {self.master}: label text is "
                                   f"compared with the cut-out", style="yellow")
        return master_path
