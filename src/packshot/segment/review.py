"""Review a cut-out before it is rendered: the gate (:mod:`.gate`), then the upright turn
(:mod:`.orientation`). One call for the pipeline: :func:`review_cutout`.

A cut-out that fails the gate raises :class:`NeedsPromptError` from :func:`require_passed`
after :func:`write_review` has written ``<sku>/cutout_gate.json`` (verdict ``needs-prompt``,
the reasons, the measures) and the rejected cut-out as ``<sku>/cutout_rejected.png`` for a look.
The fix is a prompt: ``packshot cutout PHOTO --box x0,y0,x1,y1`` / ``--point x,y[,0]`` to check
it, and the same prompt in a file beside the photo, ``<photo stem>.prompt.json``
(``{"box": [x0, y0, x1, y1], "points": [[x, y, 1], ...], "exclude_hands": true}``, each key
optional), which ``packshot run`` reads; ``exclude_hands`` cuts away a hand holding the product
(:func:`packshot.segment.hands.segment_prompted`).
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


FILL_FRAME_INSET = 0.012
"""Share of the photo's sides taken as the backdrop band when the product fills the frame (a
wider band reaches into the product: the Cheez-It box comes within 1.7 % of the photo's top)."""
FILL_FRAME_MIN_AREA = 0.35
FILL_FRAME_MIN_SOLIDITY = 0.85
"""Least share of the photo the fill-the-frame candidate must cover to replace a failed cut-out."""


def fill_frame_candidate(cutout: Cutout) -> Cutout | None:
    """The cut-out of a product that fills the frame, the photo's border (a thin band of desk
    or backdrop) as the sure background: the box-prompt path with the box inset
    :data:`FILL_FRAME_INSET` from every side (GrabCut from the whole box, enclosed regions kept,
    edges matted). None when the photo is too small or nothing is found."""
    from . import segment
    from ..types import Prompt

    h, w = cutout.image.shape[:2]
    dx, dy = max(2, int(round(FILL_FRAME_INSET * w))), max(2, int(round(FILL_FRAME_INSET * h)))
    if w - 2 * dx < 16 or h - 2 * dy < 16:
        return None
    cand = segment(cutout.image, prompt=Prompt(box=(dx, dy, w - dx, h - dy)))
    if cand.is_empty or float((cand.alpha > 0.5).mean()) < FILL_FRAME_MIN_AREA:
        return None
    return cand


def review_cutout(cutout: Cutout, orientation: str = "auto", gate: bool = True, prompted: bool = False,
                  gate_config: GateConfig = GateConfig(),
                  orientation_config: OrientationConfig = OrientationConfig(),
                  fill_frame: bool = True) -> Review:
    """Gate ``cutout`` and, when it passes, turn it upright.

    Parameters
    ----------
    orientation : "auto", "keep", "0", "90", "180" or "270" (clockwise turn to apply).
    gate : run the gate (off: the report passes with the note "gate off").
    prompted : the cut-out came from a user's prompt: the second estimate (GrabCut from the
        photo's border, blind to the prompt) does not vote.
    fill_frame : when an unprompted cut-out of a photo without a studio backdrop fails the gate
        (for another reason than the product being cut by the photo's edge, or separate objects
        spread over the photo),
        try :func:`fill_frame_candidate` (the product fills the frame, the border is a band of
        desk): it replaces the cut-out only when it passes the gate's checks (fragments, sides,
        label text; not the second estimate, which is the same method from a wider border), is
        one solid piece (solidity >= :data:`FILL_FRAME_MIN_SOLIDITY`) and covers at least
        :data:`FILL_FRAME_MIN_AREA` of the photo; the gate's warnings and the flag
        ``fill-frame`` say so.
    """
    box_text = None
    if gate:
        report, box_text = gate_cutout(cutout, gate_config, prompted=prompted)
        # not when the gate found the product cut by the photo's edge: it runs on out of the
        # frame (a reshoot), and a candidate inset from the edge could not show it
        cut_by_edge = any("cut by the" in r for r in report.reasons)
        # nor when it found separate objects spread over the photo: they are not one product
        # filling the frame, and GrabCut from the whole photo takes in the desk they lie on
        apart = any("separate objects" in r for r in report.reasons)
        if (not report.passed and fill_frame and not prompted and not cutout.is_empty
                and "studio-backdrop" not in cutout.flags and not cut_by_edge and not apart):
            cand = fill_frame_candidate(cutout)
            if cand is not None:
                # The gate's second estimate is GrabCut from a wider (4 %) border: the same method,
                # blinder, so it does not vote here; the candidate must instead be one solid piece.
                cand_report, cand_text = gate_cutout(cand, gate_config, prompted=True)
                solid = (cand_report.metrics.get("solidity", 0.0) >= FILL_FRAME_MIN_SOLIDITY
                         and cand_report.metrics.get("largest_share", 0.0) >= 0.95)
                if cand_report.passed and solid:
                    note = ("the product fills the frame: cut out from the photo's border band (GrabCut from "
                            "the whole photo); the first cut-out failed the gate: " + "; ".join(report.reasons))
                    metrics = {**cand_report.metrics, "fill_frame": True,
                               "first_attempt": {"reasons": list(report.reasons)}}
                    cutout = Cutout(rgb=cand.rgb, alpha=cand.alpha, image=cand.image, bbox=cand.bbox,
                                    confidence=cand.confidence, background=cand.background,
                                    flags=(*cand.flags, "fill-frame"), provenance=cand.provenance)
                    report = GateReport(True, (), (*cand_report.warnings, note), metrics)
                    box_text = cand_text
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
        hands = data.get("exclude_hands", False)
        if not isinstance(hands, bool):
            raise ValueError(f"exclude_hands must be true or false, not {hands!r}")
        prompt = Prompt(box=None if box is None else tuple(int(round(float(v))) for v in box), points=points,
                        exclude_hands=hands)
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        raise InputError(path, f"not a prompt file ({{\"box\": [x0, y0, x1, y1], \"points\": [[x, y, 1]], "
                               f"\"exclude_hands\": true}}): {exc}")
    return None if prompt.nothing else prompt
