"""``packshot cutout``: cut products out of photos.

Writes ``OUT/<input stem>.png``: an RGBA PNG at the pixel size of the (EXIF-rotated) input, or
with ``--mask-only`` the alpha as an 8-bit grey PNG. A failure on one input (unreadable file,
no product found) is reported with its reason; the others still finish and the exit code is 1.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, List, Optional

import typer

from ..errors import EmptyProductError, InputError
from ..imaging import DEFAULT_MAX_PIXELS
from ._common import (Json, MaxPixels, Orientation, OrientationOption, Quiet, Segmenter, SegmenterAlias,
                      deprecated_alias, out_option, set_output)


def parse_box(text: str) -> tuple[int, int, int, int]:
    """``"x0,y0,x1,y1"`` -> a box; errors name the option."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 4:
        raise InputError("--box", f"needs four numbers x0,y0,x1,y1, got {text!r}")
    try:
        values = [float(p) for p in parts]
    except ValueError as exc:
        raise InputError("--box", f"needs numbers, got {text!r}") from exc
    if not all(math.isfinite(v) for v in values):
        raise InputError("--box", f"needs finite numbers (no inf or nan), got {text!r}")
    x0, y0, x1, y1 = (int(round(v)) for v in values)
    if x1 <= x0 or y1 <= y0:
        raise InputError("--box", f"needs x1 > x0 and y1 > y0, got {text!r}")
    return x0, y0, x1, y1


def parse_point(text: str) -> tuple[float, float, int]:
    """``"x,y"`` or ``"x,y,label"`` (label 1 = product, 0 = not product) -> a point."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) not in (2, 3):
        raise InputError("--point", f"needs x,y or x,y,label, got {text!r}")
    try:
        x, y = float(parts[0]), float(parts[1])
        label = int(parts[2]) if len(parts) == 3 else 1
    except ValueError as exc:
        raise InputError("--point", f"needs numbers, got {text!r}") from exc
    if not (math.isfinite(x) and math.isfinite(y)):
        raise InputError("--point", f"needs finite numbers (no inf or nan), got {text!r}")
    if label not in (0, 1):
        raise InputError("--point", f"label must be 0 or 1, got {parts[2]!r}")
    return x, y, label


def register(app: typer.Typer) -> None:
    @app.command("cutout")
    def cutout_command(
        inputs: Annotated[List[Path], typer.Argument(help="Photos, or folders of photos (searched recursively).")],
        out: Annotated[Path, out_option("Folder for <stem>.png outputs.")],
        segmenter: Segmenter = "auto",
        backend: SegmenterAlias = None,
        box: Optional[str] = typer.Option(None, "--box", help="Box prompt x0,y0,x1,y1 (pixels of the rotated input)."),
        point: Optional[List[str]] = typer.Option(None, "--point", help="Point prompt x,y[,1|0] (repeatable; 0 = not product)."),
        mask_only: bool = typer.Option(False, "--mask-only", help="Write the alpha as an 8-bit grey PNG."),
        max_pixels: MaxPixels = DEFAULT_MAX_PIXELS,
        orientation: OrientationOption = Orientation.keep,
        gate: bool = typer.Option(False, "--gate", help="Check the cut-out's plausibility; a failing one is not written (needs a prompt)."),
        as_json: Json = False,
        quiet: Quiet = False,
        exclude_hands: bool = typer.Option(False, "--exclude-hands", help="Remove skin-coloured regions reaching the photo's edge (a hand holding the product)."),
    ) -> None:
        """Cut the product out of each photo: OUT/<stem>.png (RGBA, or grey alpha with --mask-only).

        --orientation keep (the default) keeps the input's geometry and size; auto turns the product upright (label text, then shape); 0, 90, 180, 270 turn it clockwise.
        """
        from ..imaging import check_output_name, load_image, save_gray
        from ..integrity import InputGuard
        from ..segment import BACKENDS, SegmentConfig, segment
        from ..segment.io import save_cutout
        from ..types import Prompt
        from ._common import expand_inputs, print_error, print_info, run_batch

        set_output(as_json, quiet)
        segmenter = deprecated_alias(segmenter, backend)
        orientation_choice = orientation.value
        try:
            prompt = Prompt(box=parse_box(box) if box else None, points=tuple(parse_point(p) for p in point or ()))
            # build the backend once: a bad onnx/sam path fails here, not once per input
            backend_obj = BACKENDS.create(segmenter)
        except (InputError, ValueError) as exc:
            print_error("error", str(exc))
            raise typer.Exit(2)
        files = expand_inputs(inputs, exclude=[out])
        if not files:
            print_error("error", "no input images given")
            raise typer.Exit(2)
        config = SegmentConfig()
        stems: dict[str, Path] = {}
        guard = InputGuard(files)  # no cut-out is written over one of the photos

        def work(path: Path) -> dict:
            target = out / f"{Path(path).stem}.png"
            # every check before the (slow) segmentation
            check_output_name(target)
            guard.check(target)
            owner = stems.get(target.name.casefold())
            if owner is not None:
                raise InputError(path, f"output {target} would overwrite the cut-out of {owner}")
            image = load_image(path, max_pixels=max_pixels)
            cut = segment(image, config, backend=backend_obj, prompt=None if prompt.empty else prompt)
            if cut.is_empty:
                raise EmptyProductError(path, "no product found (empty cut-out: the photo looks like plain backdrop)")
            flags: list[str] = []
            if exclude_hands:
                from ..segment.hands import exclude_hands as _exclude_hands

                cut = _exclude_hands(cut)[0]
            if gate or orientation_choice != "keep":
                from ..segment.review import require_passed, review_cutout

                review = review_cutout(cut, orientation=orientation_choice, gate=gate, prompted=not prompt.empty)
                require_passed(review, path)
                cut = review.cutout
                flags = list(review.flags)
                if "orientation-uncertain" in review.flags:
                    print_info(f"{path}: orientation uncertain ({review.orientation.evidence.get('reason')}): kept as shot")
            out.mkdir(parents=True, exist_ok=True)
            if mask_only:
                save_gray(target, cut.alpha)
            else:
                save_cutout(target, cut)
            stems[target.name.casefold()] = Path(path)  # a failed input does not reserve its name
            return {"output": str(target), "size": list(cut.size), "bbox": list(cut.bbox) if cut.bbox else None,
                    "confidence": round(float(cut.confidence), 4), "flags": list(dict.fromkeys([*cut.flags, *flags]))}

        result = run_batch(files, work, label="cutout")
        if result.done:
            print_info(f"wrote {len(result.done)} cut-out(s) to {out}")
        raise typer.Exit(result.exit_code)
