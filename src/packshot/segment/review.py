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

import numpy as np

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


EDGE_STRIP_DEPTH = 0.02
"""Deepest strip (share of the photo's height or width) at a side of the photo that
:func:`trim_edge_strip` takes for desk or backdrop the first cut-out took in."""
EDGE_STRIP_MATCH = 0.8
"""Share of a row (column) of the cut-out's run along the side that must match the uncovered
border's colours for that row to count as desk, not product."""
EDGE_STRIP_EDGE_END = 0.05
"""The strip ends where a line of the run is at most this share desk (the product's own edge)."""
EDGE_STRIP_MIN_OUTSIDE = 0.1
"""Least share of the side the cut-out leaves uncovered: the colours of the desk are read there."""


def _side_band(a: np.ndarray, side: str, depth: int) -> np.ndarray:
    """The ``depth`` rows (columns) of ``a`` at ``side``, the side's own line first, as rows."""
    if side == "top":
        return a[:depth]
    if side == "bottom":
        return a[::-1][:depth]
    if side == "left":
        return np.swapaxes(a[:, :depth], 0, 1)
    return np.swapaxes(a[:, ::-1][:, :depth], 0, 1)


def trim_edge_strip(cutout: Cutout, sides: tuple[str, ...]) -> Cutout | None:
    """The cut-out with a thin strip of desk (or backdrop) at ``sides`` of the photo taken out, or
    None when there is none to take out.

    A product "cut by the bottom edge" may end a few pixels above it, the first cut-out having
    taken in the strip of desk below. The desk's colours are read on the side's own line where the
    cut-out leaves it uncovered (at least :data:`EDGE_STRIP_MIN_OUTSIDE` of it); going in from the
    side, each line of the cut-out's run whose pixels (at least :data:`EDGE_STRIP_MATCH` of them)
    match those colours is desk. The strip is taken out only when it ends (a line that is not
    desk) within :data:`EDGE_STRIP_DEPTH` of the photo: a product really cut by the frame has its
    own colours on the side's line, and nothing is taken out."""
    from ..imaging import linear_to_srgb

    srgb = linear_to_srgb(np.clip(np.asarray(cutout.image, np.float32), 0, 1))
    alpha = np.array(cutout.alpha, np.float32, copy=True)
    hard = alpha > 0.5
    h, w = hard.shape
    changed = False
    for side in sides:
        length = w if side in ("top", "bottom") else h
        depth = max(2, int(round(EDGE_STRIP_DEPTH * (h if side in ("top", "bottom") else w))))
        band_px = _side_band(srgb, side, depth + 1)
        band_in = _side_band(hard, side, depth + 1)
        outside = band_px[0][~band_in[0]]
        if outside.shape[0] < EDGE_STRIP_MIN_OUTSIDE * length:
            continue
        # the desk's colours: a small palette of the uncovered border line (a wood grain has
        # several); the product's: the cut-out's run just inside the strip the desk may reach.
        # A pixel is desk when it is nearer the desk's colours than the product's (the desk under
        # a product is often lit differently from the desk beside it: no fixed tolerance holds)
        run = band_in[0]
        inner = band_px[depth][band_in[depth] & run]
        if inner.shape[0] == 0:
            continue
        desk_pal = outside[:: max(1, outside.shape[0] // 300)]
        prod_pal = inner[:: max(1, inner.shape[0] // 300)]
        masks = []
        for k in range(depth + 1):
            px = band_px[k][run]
            d_desk = np.min(np.linalg.norm(px[:, None, :] - desk_pal[None], axis=2), axis=1)
            d_prod = np.min(np.linalg.norm(px[:, None, :] - prod_pal[None], axis=2), axis=1)
            masks.append(d_desk < d_prod)
        shares = [float(m.mean()) for m in masks]
        strip = 0
        while strip <= depth and shares[strip] >= EDGE_STRIP_MATCH:
            strip += 1
        # the strip must end within the depth (a line of product after it)
        if strip == 0 or strip > depth or min(shares[strip:], default=1.0) > EDGE_STRIP_EDGE_END:
            continue
        cols = np.flatnonzero(run)
        view = _side_band(alpha, side, depth + 1)  # a view: writes reach ``alpha``
        view[:strip] = 0.0
        # past the full lines, the desk pixels still under a slanted or rounded product edge
        for k in range(strip, depth + 1):
            if shares[k] < 1.0 - EDGE_STRIP_MATCH:
                break
            view[k, cols[masks[k]]] = 0.0
        changed = True
    if not changed:
        return None
    from ..types import alpha_bbox

    bbox = alpha_bbox(alpha)
    if bbox is None:
        return None
    return Cutout(rgb=cutout.rgb, alpha=alpha, image=cutout.image, bbox=bbox, confidence=cutout.confidence,
                  background=cutout.background, flags=(*cutout.flags, "edge-strip-trimmed"),
                  provenance=cutout.provenance)


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
        if cut_by_edge and not cutout.is_empty:
            # a product that ends a few pixels from the side, the first cut-out having taken in the
            # strip of desk beyond it: the cut-out without that strip is gated again, in full
            sides = tuple(s for s in ("top", "bottom", "left", "right")
                          if any(f"cut by the {s} edge" in r for r in report.reasons))
            trimmed = trim_edge_strip(cutout, sides)
            if trimmed is not None:
                t_report, t_text = gate_cutout(trimmed, gate_config, prompted=prompted)
                if t_report.passed:
                    note = ("a strip of desk at the " + ", ".join(sides) + " edge of the photo was taken out of the "
                            "cut-out; the first cut-out failed the gate: " + "; ".join(report.reasons))
                    report = GateReport(True, (), (*t_report.warnings, note),
                                        {**t_report.metrics, "edge_strip": list(sides),
                                         "first_attempt": {"reasons": list(report.reasons)}})
                    cutout, box_text, cut_by_edge = trimmed, t_text, False
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
