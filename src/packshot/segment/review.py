"""Review a cut-out before it is rendered: the gate (:mod:`.gate`), then the upright turn
(:mod:`.orientation`). One call for the pipeline: :func:`review_cutout`.

A cut-out that fails the gate raises :class:`NeedsPromptError` from :func:`require_passed`
after :func:`write_review` has written ``<sku>/cutout_gate.json`` (verdict ``needs-prompt``,
the reasons, the measures) and the rejected cut-out as ``<sku>/cutout_rejected.png`` for a look.
The fix is a prompt: ``packshot cutout PHOTO --box x0,y0,x1,y1`` / ``--point x,y[,0]`` to check
it, and the same prompt in a file beside the photo, ``<photo stem>.prompt.json``
(``{"box": [x0, y0, x1, y1], "points": [[x, y, 1], ...]}``), which ``packshot run`` reads.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..types import Cutout, Prompt
from .gate import NEEDS_PROMPT, GateConfig, GateReport, gate_cutout
from .orientation import Orientation, OrientationConfig, resolve_orientation, turn_cutout

__all__ = ["NeedsPromptError", "Review", "review_cutout", "write_review", "require_passed", "load_prompt_file"]


class NeedsPromptError(InputError):
    """The cut-out failed the gate: the SKU needs a prompt (a box or points)."""


@dataclass(frozen=True)
class Review:
    """The gate's report, the orientation decision and the cut-out to render from (turned upright)."""

    cutout: Cutout
    gate: GateReport
    orientation: Orientation

    @property
    def flags(self) -> tuple[str, ...]:
        return (*self.gate.flags, *self.orientation.flags)

    def as_record(self) -> dict[str, Any]:
        return {"gate": self.gate.as_record(), "orientation": self.orientation.as_record()}


def review_cutout(cutout: Cutout, orientation: str = "auto", gate: bool = True, prompted: bool = False,
                  gate_config: GateConfig = GateConfig(),
                  orientation_config: OrientationConfig = OrientationConfig()) -> Review:
    """Gate ``cutout`` and, when it passes, turn it upright.

    Parameters
    ----------
    orientation : "auto", "keep", "0", "90", "180" or "270" (clockwise turn to apply).
    gate : run the gate (off: the report passes with the note "gate off").
    prompted : the cut-out came from a user's prompt: the second estimate (GrabCut from the
        photo's border, blind to the prompt) does not vote.
    """
    box_text = None
    if gate:
        report, box_text = gate_cutout(cutout, gate_config, prompted=prompted)
    else:
        report = GateReport(True, (), ("gate off",), {})
    if not report.passed:
        return Review(cutout, report, Orientation(0, "keep", False, {"reason": "cut-out failed the gate"}))
    decision = resolve_orientation(orientation, cutout, box_text, orientation_config)
    return Review(turn_cutout(cutout, decision), report, decision)


def write_review(sku_dir: str | Path, review: Review, photo: str | Path | None = None) -> Path:
    """Write ``cutout_gate.json`` (and ``cutout_rejected.png`` when the gate failed) under ``sku_dir``."""
    from ..imaging import atomic_write_bytes
    from .io import save_cutout

    d = Path(sku_dir)
    d.mkdir(parents=True, exist_ok=True)
    record = {"photo": None if photo is None else str(photo), "flags": list(review.flags), **review.as_record()}
    if not review.gate.passed:
        record["fix"] = ("give a prompt: packshot cutout PHOTO --box x0,y0,x1,y1 (or --point x,y / x,y,0 for "
                         "not-product), then put it in <photo stem>.prompt.json beside the photo")
        if not review.cutout.is_empty:
            save_cutout(d / "cutout_rejected.png", review.cutout)
    path = d / "cutout_gate.json"
    atomic_write_bytes(path, (json.dumps(record, indent=2, sort_keys=True, default=str) + "\n").encode())
    return path


def require_passed(review: Review, photo: str | Path) -> None:
    """Raise :class:`NeedsPromptError` naming the photo and the reasons when the gate failed."""
    if not review.gate.passed:
        raise NeedsPromptError(photo, f"{NEEDS_PROMPT}: " + "; ".join(review.gate.reasons))


def load_prompt_file(photo: str | Path) -> Prompt | None:
    """The prompt in ``<photo stem>.prompt.json`` beside the photo, or None when there is none."""
    photo = Path(photo)
    path = photo.with_name(photo.stem + ".prompt.json")
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        box = data.get("box")
        points = tuple(tuple(p) if len(p) == 3 else (p[0], p[1], 1) for p in data.get("points", []))
        prompt = Prompt(box=None if box is None else tuple(int(round(float(v))) for v in box), points=points)
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        raise InputError(path, f"not a prompt file ({{\"box\": [x0, y0, x1, y1], \"points\": [[x, y, 1]]}}): {exc}")
    return None if prompt.empty else prompt
