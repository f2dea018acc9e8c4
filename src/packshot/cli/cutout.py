"""``packshot cutout``: cut products out of photos.

Writes ``OUT/<input stem>.png``: an RGBA PNG at the pixel size of the (EXIF-rotated) input, or
with ``--mask-only`` the alpha as an 8-bit grey PNG. A failure on one input (unreadable file,
no product found) is reported with its reason; the others still finish and the exit code is 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, List, Optional

import typer

from ..errors import EmptyProductError, InputError
from ..imaging import DEFAULT_MAX_PIXELS
from ._common import (Json, MaxPixels, Orientation, OrientationOption, Quiet, Segmenter, SegmenterAlias,
                      deprecated_alias, out_option, set_output)

if TYPE_CHECKING:
    from ..integrity import InputGuard
    from ..segment import SegmentConfig
    from ..types import Cutout, Prompt


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


_CONFIDENCE_DECIMALS = 4
"""Decimal places of the segmenter's confidence in the per-input JSON record."""


def register(app: typer.Typer) -> None:
    app.command("cutout")(cutout_command)


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
    exclude_hands: bool = typer.Option(False, "--exclude-hands", help="Remove a hand holding the product (a skin-coloured region reaching the photo's edge) and re-decide the product around it; on a cluttered photo, give --box too."),
) -> None:
    """Cut the product out of each photo: OUT/<stem>.png (RGBA, or grey alpha with --mask-only).

    --orientation keep (the default) keeps the input's geometry and size; auto turns the product upright (label text, then shape); 0, 90, 180, 270 turn it clockwise.
    """
    from ..integrity import InputGuard
    from ..segment import SegmentConfig
    from ._common import expand_inputs, print_error, print_info, run_batch

    set_output(as_json, quiet)
    segmenter = deprecated_alias(segmenter, backend)
    prompt, backend_obj = _prompt_and_backend(box, point, segmenter)
    files = expand_inputs(inputs, exclude=[out])
    if not files:
        print_error("error", "no input images given")
        raise typer.Exit(2)
    job = _CutoutJob(out=out, prompt=prompt, backend=backend_obj, config=SegmentConfig(),
                     guard=InputGuard(files),  # no cut-out is written over one of the photos
                     max_pixels=max_pixels, orientation=orientation.value, gate=gate, mask_only=mask_only,
                     exclude_hands=exclude_hands)
    result = run_batch(files, job, label="cutout")
    if result.done:
        print_info(f"wrote {len(result.done)} cut-out(s) to {out}")
    raise typer.Exit(result.exit_code)


def _prompt_and_backend(box: Optional[str], point: Optional[List[str]], segmenter: str) -> tuple[Prompt, object]:
    """The prompt of ``--box``/``--point`` and the segment backend, built once (a bad onnx/sam path
    fails here, not once per input); a bad one exits 2 with its reason."""
    from ..segment import BACKENDS
    from ..types import Prompt
    from ._common import print_error

    try:
        prompt = Prompt(box=parse_box(box) if box else None, points=tuple(parse_point(p) for p in point or ()))
        return prompt, BACKENDS.create(segmenter)
    except (InputError, ValueError) as exc:
        print_error("error", str(exc))
        raise typer.Exit(2)


@dataclass
class _CutoutJob:
    """Cut one photo out into ``out``: the batch's work function (``run_batch`` calls it per input).

    ``stems`` remembers which input wrote each output name (case-folded), so a second photo with
    the same stem is refused instead of overwriting the first one's cut-out.
    """

    out: Path
    prompt: Prompt
    backend: object
    config: SegmentConfig
    guard: InputGuard
    max_pixels: int
    orientation: str
    gate: bool
    mask_only: bool
    exclude_hands: bool
    stems: dict[str, Path] = field(default_factory=dict)

    def __call__(self, path: Path) -> dict:
        from ..imaging import load_image
        from ..segment import segment

        target = self.out / f"{Path(path).stem}.png"
        self._check_target(path, target)  # every check before the (slow) segmentation
        image = load_image(path, max_pixels=self.max_pixels)
        prompt = None if self.prompt.empty else self.prompt
        cut = segment(image, self.config, backend=self.backend, prompt=prompt)
        if cut.is_empty:
            raise EmptyProductError(path, "no product found (empty cut-out: the photo looks like plain backdrop)")
        cut, flags = self._refine(path, cut, image.rgb)
        self._write(target, cut)
        self.stems[target.name.casefold()] = Path(path)  # a failed input does not reserve its name
        return {"output": str(target), "size": list(cut.size), "bbox": list(cut.bbox) if cut.bbox else None,
                "confidence": round(float(cut.confidence), _CONFIDENCE_DECIMALS),
                "flags": list(dict.fromkeys([*cut.flags, *flags]))}

    def _check_target(self, path: Path, target: Path) -> None:
        """The output name is valid, is not an input, and no earlier input of this batch wrote it."""
        from ..imaging import check_output_name

        check_output_name(target)
        self.guard.check(target)
        owner = self.stems.get(target.name.casefold())
        if owner is not None:
            raise InputError(path, f"output {target} would overwrite the cut-out of {owner}")

    def _refine(self, path: Path, cut: Cutout, photo) -> tuple[Cutout, list[str]]:
        """``--exclude-hands``, then ``--gate``/``--orientation`` review: (cut-out, review flags)."""
        from ._common import print_info

        flags: list[str] = []
        if self.exclude_hands:
            from ..segment.hands import exclude_hands as _exclude_hands

            cut = _exclude_hands(cut, photo, box=self.prompt.box)[0]
        if self.gate or self.orientation != "keep":
            from ..segment.review import require_passed, review_cutout

            review = review_cutout(cut, orientation=self.orientation, gate=self.gate,
                                   prompted=not self.prompt.empty)
            require_passed(review, path)
            cut = review.cutout
            flags = list(review.flags)
            if "orientation-uncertain" in review.flags:
                print_info(f"{path}: orientation uncertain ({review.orientation.evidence.get('reason')}): kept as shot")
        return cut, flags

    def _write(self, target: Path, cut: Cutout) -> None:
        """The RGBA cut-out, or with ``--mask-only`` its alpha as a grey PNG."""
        from ..imaging import save_gray
        from ..segment.io import save_cutout

        self.out.mkdir(parents=True, exist_ok=True)
        if self.mask_only:
            save_gray(target, cut.alpha)
        else:
            save_cutout(target, cut)
