"""``packshot run``: every stage for each photo, each scene, variant and size of a brief.

The output folder is locked for the run (:mod:`packshot.locking`): a second run into the same
``--out`` refuses with a message naming the holder, or waits with ``--wait``. SIGTERM ends the run
cleanly (temporary files removed, lock released); temporary files left by a killed run are deleted
when a later run in the folder finishes.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import List

import typer

from ._common import expand_inputs, max_pixels_option, print_error, print_info, run_batch


def register(app: typer.Typer) -> None:
    @app.command("run")
    def run_command(
        photos: List[Path] = typer.Argument(..., help="Product photos (files or folders)."),
        brief: Path = typer.Option(..., "--brief", "-b", help="Creative brief (YAML)."),
        out: Path = typer.Option(..., "--out", "-o", help="Output folder: <out>/<sku>/<scene>/<variant>.png"),
        backend: str = typer.Option("auto", "--backend", help="Segment backend."),
        renderer: str = typer.Option("studio", "--renderer", help="Renderer for scenes without a plate."),
        no_relight: bool = typer.Option(False, "--no-relight", help="Skip shadows, reflection and relight."),
        relight_model: str = typer.Option("", "--relight-model",
                                          help="Also relight the product with a model: iclight:FOLDER (extra: diffusion)."),
        force: bool = typer.Option(False, "--force", help="Render frames again even when up to date."),
        qa: bool = typer.Option(False, "--qa", help="Run the fidelity checks and write qa.json per frame."),
        max_pixels: int = max_pixels_option(),
        wait: bool = typer.Option(False, "--wait", help="When another run holds --out, wait for it instead of "
                                                        "refusing."),
        orientation: str = typer.Option("auto", "--orientation", help="Turn the product upright: auto (label text, then shape), keep, 0, 90, 180 or 270 (clockwise)."),
        no_gate: bool = typer.Option(False, "--no-gate", help="Render even a cut-out that fails the plausibility gate."),
    ) -> None:
        """Cut out, inspect, condition, render and relight each photo (one SKU per photo).

        SKU = the photo's file stem (Unicode letters, digits, '_', '.', '-' kept; other runs of
        characters become '-'). Two photos with one SKU: the second is refused, naming both.
        Exit code 3 when another run holds --out (without --wait).
        """
        from ..condition import load_brief
        from ..errors import InputError
        from ..imaging import clean_temp_files
        from ..locking import FolderLockedError, OutputLock, terminate_as_exit
        from ..pipeline import RunConfig, SkuRegistry, check_sku, process_photo, sku_from_path

        from ..segment.orientation import ORIENTATION_CHOICES

        if orientation.strip().lower() not in ORIENTATION_CHOICES:
            print_error("error", f"--orientation must be one of {', '.join(ORIENTATION_CHOICES)}, got {orientation!r}")
            raise typer.Exit(2)
        try:
            parsed = load_brief(brief)
        except (ValueError, OSError) as exc:
            print_error("brief error", str(exc))
            raise typer.Exit(2)
        if relight_model:
            from ..relight import RELIGHTERS

            if relight_model not in RELIGHTERS or ":" not in relight_model:
                print_error("error", f"--relight-model '{relight_model}': use one of "
                                     f"{', '.join(n for n in RELIGHTERS.names() if n.endswith(':ARG'))}")
                raise typer.Exit(2)
        config = RunConfig(segment_backend=backend, render_backend=renderer, relight=not no_relight,
                           relight_model=relight_model or None,
                           resume=not force, qa=qa, max_pixels=max_pixels,
                           orientation=orientation.strip().lower(), gate=not no_gate)
        written: list[Path] = []
        items = expand_inputs(photos)
        if not items:
            print_error("error", f"no input images in {', '.join(map(str, photos))}")
            raise typer.Exit(2)
        skus = SkuRegistry()
        inputs = [*items, brief]

        def work(photo: Path) -> None:
            sku = sku_from_path(photo)
            check_sku(sku, photo)
            skus.check(sku, photo)
            sku_dir = out / sku
            inside = _inputs_inside(inputs, sku_dir)
            if inside:
                raise InputError(photo, f"its outputs would go to {sku_dir}, which holds the input {inside[0]} "
                                        f"(no command writes over its inputs); choose another --out")
            result = process_photo(photo, parsed, out, sku=sku, config=config)
            skus.claim(sku, photo)
            written.extend(result.frames)
            if result.replaced:
                print_error("warning", f"{result.sku}: replaced the outputs an earlier "
                                  f"run made from {result.replaced}", style="yellow")
            flags = f" flags: {', '.join(result.flags)}" if result.flags else ""
            print_info(f"{result.sku}: {len(result.frames)} frames written, "
                              f"{len(result.skipped)} up to date{flags}")

        try:
            with terminate_as_exit(), OutputLock(out, wait=wait) as lock:
                started = time.time()
                if lock.took_over:
                    print_info(f"took over the lock of an interrupted run (pid {lock.took_over.get('pid', '?')}"
                                      f" on {lock.took_over.get('host', '?')})")
                result = run_batch(items, work, label="run")
                for tmp in clean_temp_files(out, older_than=started):
                    print_info(f"removed {tmp} (left by an interrupted run)")
        except FolderLockedError as exc:
            print_error("error", str(exc))
            raise typer.Exit(3)
        raise typer.Exit(result.exit_code)


def _inputs_inside(inputs: list[Path], sku_dir: Path) -> list[Path]:
    """The inputs that lie inside ``sku_dir`` (where a run writes and may overwrite files)."""
    root = sku_dir.resolve()
    inside = []
    for p in inputs:
        try:
            Path(p).resolve().relative_to(root)
        except ValueError:
            continue
        inside.append(Path(p))
    return inside
