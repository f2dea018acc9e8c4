"""The review loop of a catalogue: review-gated export, and re-render requests from the review app.

**Review required.** ``review: required`` at the top level of a brief, or ``required`` in a
manifest row's ``review`` column (which wins over the brief; ``none`` turns it off for that row),
makes the catalogue's export step deliver only frames approved in review: a frame is approved when
the newest decision on it in the job store (``decisions``, written by ``packshot review``) is
``approve`` and was made on the render that is on disk now (its ``frame_key`` is the frame unit's
key, and the frame is not being rendered again in this run). Every other frame's export units are
held back with status ``awaiting_review`` (reported as "awaiting review", never as failures; the
exit code stays 0). A later ``packshot catalogue`` run after approvals exports the newly approved
frames and nothing else (everything else is up to date). Files a run delivered before review was
required are not taken back, but they leave the export manifest.

**Re-render requests.** A ``rerender`` decision (the review app's "re-render" with a note: JSON
``{"seed": int|null, "box": [x0, y0, x1, y1]|null, "brief_change": str}``) that is the newest
decision on its frame and not handled yet is applied by the next catalogue run that has the SKU:

- ``seed``: the frame is rendered again with this seed in place of its scene's seed (kept for every
  later run, until another request changes it);
- ``box`` (pixels of the EXIF-rotated source photo): the SKU is cut out again with this box as its
  prompt (in place of the manifest's ``prompt``, kept for later runs); its maps and every frame of
  the SKU are redone (a new cut-out changes every frame of it);
- neither seed nor box: the frame is rendered again with the next seed (current seed + 1);
- ``brief_change`` is words for a person: it is printed and listed in the run's outcome, never
  applied (change the brief file; that changes the scene's frames the usual way).

The decision is then marked handled (``handled_run`` = the run), so the re-rendered frame comes
back to the review queue undecided. A request on a frame whose SKU or scene is not in this run is
left for a run that has it.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from .store import JobStore

REVIEW_REQUIRED = "required"


@dataclass(frozen=True)
class AppliedRequest:
    """A re-render request a run applied."""

    frame: str
    decision: int
    seed: int | None
    box: tuple[int, int, int, int] | None
    brief_change: str
    who: str


def review_required(row: Any, brief: Any) -> bool:
    """The row's ``review`` when given, else the brief's."""
    mode = getattr(row, "review", None) or getattr(brief, "review", "none")
    return mode == REVIEW_REQUIRED


def _note(row: Mapping[str, Any]) -> dict:
    try:
        note = json.loads(row.get("note") or "{}")
    except ValueError:
        return {"brief_change": str(row.get("note") or "")}
    return note if isinstance(note, dict) else {}


def _box(value: Any) -> tuple[int, int, int, int] | None:
    if not value:
        return None
    try:
        box = tuple(int(round(float(v))) for v in value)
    except (TypeError, ValueError):
        return None
    if len(box) != 4 or box[2] <= box[0] or box[3] <= box[1] or min(box) < 0:
        return None
    return box  # type: ignore[return-value]


def apply_rerender_requests(store: JobStore, run_id: int, rows: Sequence[Any], briefs: Mapping[str, Any],
                            default_brief: str, stream: Any = None) -> list[AppliedRequest]:
    """Turn unhandled re-render requests into overrides (see the module text) and mark them handled."""
    stream = stream or sys.stderr
    by_sku = {r.sku: r for r in rows}
    overrides = store.overrides()
    applied: list[AppliedRequest] = []
    for frame, d in sorted(store.newest_decisions().items()):
        if d["decision"] != "rerender" or d.get("handled_run"):
            continue
        parts = frame.split("/")
        if len(parts) != 3 or parts[0] not in by_sku:
            continue
        sku, scene_name, _ = parts
        row = by_sku[sku]
        brief = briefs.get(str(row.brief) if row.brief else default_brief)
        scene = next((s for s in brief.scenes if s.name == scene_name), None) if brief is not None else None
        if scene is None:
            continue
        note = _note(d)
        box = _box(note.get("box"))
        if note.get("box") and box is None:
            print(f"re-render request on {frame}: box {note.get('box')!r} is not x0,y0,x1,y1 in pixels; ignored",
                  file=stream)
        seed = note.get("seed")
        try:
            seed = None if seed is None else int(seed)
        except (TypeError, ValueError):
            print(f"re-render request on {frame}: seed {seed!r} is not a whole number; the next seed is used",
                  file=stream)
            seed = None
        if seed is not None and not 0 <= seed < 2**32:
            print(f"re-render request on {frame}: seed {seed} is out of range 0..2^32-1; the next seed is used",
                  file=stream)
            seed = None
        if seed is None and box is None:
            seed = (int(overrides.get((frame, "seed"), scene.seed)) + 1) % 2**32
        if seed is not None:
            store.set_override(frame, "seed", seed, d["id"])
        if box is not None:
            store.set_override(sku, "prompt", {"box": list(box)}, d["id"])
        change = str(note.get("brief_change") or "").strip()
        if change:
            print(f"re-render request on {frame} asks for a brief change (not applied; edit the brief): {change}",
                  file=stream)
        store.mark_handled(run_id, [d["id"]])
        applied.append(AppliedRequest(frame, int(d["id"]), seed, box, change, str(d.get("who") or "")))
    return applied


def hold_reason(decision: Mapping[str, Any] | None, frame_key: str, rendering: bool) -> str | None:
    """None when the frame counts as approved for export; else why its exports wait."""
    if decision is None:
        return "awaiting review: not reviewed yet"
    if rendering:
        return "awaiting review: the frame is rendered again in this run"
    if decision.get("frame_key") not in (None, frame_key):
        return "awaiting review: the last decision was on an older render"
    kind = decision["decision"]
    if kind == "approve":
        return None
    who = decision.get("who") or "a reviewer"
    if kind == "reject":
        comment = f": {decision['comment']}" if decision.get("comment") else ""
        return f"awaiting review: rejected by {who}{comment}"
    return f"awaiting review: re-render requested by {who}"


__all__ = ["AppliedRequest", "REVIEW_REQUIRED", "apply_rerender_requests", "hold_reason", "review_required"]
