"""Which way up is the product? Label text direction first, shape cues second.

:func:`read_box_text` reads the photo inside a box four times, turned by 0, 90, 180 and 270
degrees clockwise, with PP-OCR's own line-flip classifier switched off: upright text reads with
high confidence, text read upside down or sideways reads as low-confidence garble. The turn whose
reading carries the most confident characters (confidence squared x length, lines of 3+ glyphs)
is the turn that makes the label upright. :func:`estimate_orientation` turns those scores into a
decision:

* the text evidence is **strong** when enough confident characters were read at the winning
  turn and the runner-up carries at most ``max_runner_up`` of its weight;
* the **shape cue** (a flat base: the side of the product's box along which the mask runs
  widest, against its opposite side) is read as well; it can veto modest text that it clearly
  contradicts, and without text it never turns the photo (a bulb or a lamp is wider at the top
  than at its foot): a silhouette that suggests a turn only raises the flag;
* weak or disagreeing evidence gives ``uncertain`` (the flag ``orientation-uncertain``) and the
  turn 0: the product is rendered as shot.

:func:`turn_cutout` turns a :class:`~packshot.types.Cutout` (foreground, alpha, photo, box) by a
right angle and records the turn in its provenance.

Turns are clockwise degrees applied to the photo to make it upright (a photo whose label reads
bottom-to-top needs 90).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..types import Box, Cutout, alpha_bbox

TURNS = (0, 90, 180, 270)
ORIENTATION_CHOICES = ("auto", "keep", "0", "90", "180", "270")


@dataclass(frozen=True)
class OrientationConfig:
    """Thresholds of :func:`estimate_orientation` (set on generated labelled products, see
    ``tests/test_orientation.py``; the real photos are the held-out check)."""

    min_weight: float = 6.0
    """Confident characters (sum of confidence^2 x length) the winning turn needs to count as evidence."""
    max_runner_up: float = 0.5
    """The runner-up turn may carry at most this share of the winner's weight."""
    min_line_confidence: float = 0.65
    """Lines read with less confidence do not vote."""
    min_evidence: float = 2.0
    """Below this weight nothing was read (a stray glyph in a texture): no text evidence at all."""
    shape_veto_below: float = 24.0
    """The shape cue can veto the text only while the text's weight is below this (many confident
    glyphs read one way up outweigh a silhouette)."""
    shape_margin: float = 0.25
    """How much flatter / wider one side must be than its opposite for the shape cue to speak."""
    max_side: int = 960
    """The box is read at most this large (long side), at least ``min_side``."""
    min_side: int = 480


@dataclass(frozen=True)
class TextRead:
    """One line read at one turn, mapped back to image pixels."""

    text: str
    confidence: float
    turn: int
    polygon: tuple[tuple[float, float], ...]

    @property
    def box(self) -> Box:
        xs = [p[0] for p in self.polygon]
        ys = [p[1] for p in self.polygon]
        return int(min(xs)), int(min(ys)), int(np.ceil(max(xs))), int(np.ceil(max(ys)))

    @property
    def weight(self) -> float:
        # steep in confidence: upright print reads at 0.95+, print read upside down or sideways
        # still comes out as words now and then, at 0.7-0.85
        glyphs = sum(1 for c in self.text if c.isalnum())
        return glyphs * float(np.clip((self.confidence - 0.6) / 0.4, 0.0, 1.0)) ** 3


@dataclass(frozen=True)
class BoxText:
    """What :func:`read_box_text` read: the lines of every turn and each turn's weight."""

    box: Box | None
    lines: tuple[TextRead, ...] = ()
    weights: dict[int, float] = field(default_factory=dict)

    def best_turn(self) -> int:
        return max(TURNS, key=lambda t: (self.weights.get(t, 0.0), -t))

    def upright_lines(self) -> tuple[TextRead, ...]:
        """The lines of the winning turn."""
        best = self.best_turn()
        return tuple(r for r in self.lines if r.turn == best)


@dataclass(frozen=True)
class Orientation:
    """The decision of :func:`estimate_orientation`.

    Attributes
    ----------
    turn : clockwise degrees to apply (0 when uncertain or kept).
    source : "text", "shape", "none" (no evidence), "override" or "keep".
    uncertain : the evidence was weak or disagreed (flag ``orientation-uncertain``).
    evidence : per-turn text weights, shape cue and the reason, for provenance.
    """

    turn: int
    source: str
    uncertain: bool
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def flags(self) -> tuple[str, ...]:
        return ("orientation-uncertain",) if self.uncertain else ()

    def as_record(self) -> dict[str, Any]:
        return {"turn": self.turn, "source": self.source, "uncertain": self.uncertain, **self.evidence}


def _grow_box(box: Box, margin: float, size: tuple[int, int]) -> Box:
    x0, y0, x1, y1 = box
    w, h = size
    pad = int(round(margin * max(x1 - x0, y1 - y0))) + 2
    return max(0, x0 - pad), max(0, y0 - pad), min(w, x1 + pad), min(h, y1 + pad)


READ_MARGIN = 0.03
"""Margin (share of the box) added around the box that is read."""
MIN_READ_PX = 8
"""Least side (px) of a crop worth reading."""
MIN_LINE_ALNUM = 3
"""Least number of letters and digits in a line that counts."""
TALL_LINE_RATIO = 1.2
"""A line whose box is this many times taller than wide is read turned by PP-OCR (ignored)."""
MAX_LINE_SLANT = 45.0
"""A line whose reading direction, in the turned image, runs more than this many degrees off the
horizontal was warped level by PP-OCR's own crop: it was not read at this turn's way up, and it
says nothing about it (ignored, like a tall line). Print at a slant reads within 45 degrees of
level at exactly one of the four turns. Seen: the slanted tag of a toy net read at 0.95 from a
box 74 degrees off level, at the quarter turn, which turned an upright photo sideways."""
CLEAR_UPRIGHT_MARGIN = 2
CLEAR_RUNNER_UP = 0.1
"""The upright reading is clear when the best weight is at least CLEAR_UPRIGHT_MARGIN x
``min_weight`` and the second best at most CLEAR_RUNNER_UP x the best."""


def _ocr_unclassified(eng, turned: np.ndarray):
    """One OCR pass without the line classifier (restored afterwards)."""
    from ..ops import ocr

    with ocr._ENGINE_LOCK:
        # rapidocr keeps a per-call option as the engine's new default: restore the line
        # classifier afterwards, or every later reading in this process (understand, qa)
        # would run without it
        before = getattr(eng, "use_cls", True)
        try:
            return eng(turned, use_cls=False)
        finally:
            eng.update_params(use_cls=before) if hasattr(eng, "update_params") else None


def _turn_lines(result, turn: int, config: OrientationConfig, read_size: tuple[int, int],
                scale: tuple[float, float], origin: tuple[int, int]) -> tuple[list[TextRead], float, int]:
    """Lines of one OCR result in image pixels, their total weight and the number of tall lines."""
    from ..ops import ocr

    sw, sh = read_size
    sx, sy = scale
    x0, y0 = origin
    lines: list[TextRead] = []
    tall = 0
    boxes, txts, scores = (getattr(result, k, None) for k in ("boxes", "txts", "scores"))
    total = 0.0
    if boxes is not None and txts is not None and scores is not None:
        for poly, text, score in zip(boxes, txts, scores):
            text = str(text).strip()
            score = float(score)
            if score < config.min_line_confidence or sum(c.isalnum() for c in text) < MIN_LINE_ALNUM:
                continue
            p = np.asarray(poly, np.float64).reshape(-1, 2)[:4]
            side_w = np.linalg.norm(p[1] - p[0])
            side_h = np.linalg.norm(p[3] - p[0])
            slant = abs(float(np.degrees(np.arctan2(p[1, 1] - p[0, 1], p[1, 0] - p[0, 0]))))
            if side_h > TALL_LINE_RATIO * side_w or slant > MAX_LINE_SLANT:
                tall += turn in (0, 180)
                continue  # a tall or steep line is read by PP-OCR turned: it says nothing about this turn
            back = ocr._unrotate_points(p, turn, sw, sh)
            poly_img = tuple((round(float(px / sx + x0), 2), round(float(py / sy + y0), 2)) for px, py in back)
            read = TextRead(text=text, confidence=round(score, 4), turn=turn, polygon=poly_img)
            lines.append(read)
            total += read.weight
    return lines, total, tall


def read_box_text(image: np.ndarray, box: Box | None, config: OrientationConfig = OrientationConfig(),
                  turns: tuple[int, ...] = (0, 180, 90, 270), early_stop: bool = True) -> BoxText:
    """Read the photo inside ``box`` (unmasked, as photographed) at each turn in ``turns``.

    Parameters
    ----------
    image : float32 H x W x 3 linear photo.
    box : (x0, y0, x1, y1) to read (a 3 % margin is added), or None for the whole photo.

    Returns
    -------
    BoxText
        Lines in image pixels, tagged with the turn they were read at; per-turn weights.
    """
    from ..ops import ocr

    h, w = image.shape[:2]
    x0, y0, x1, y1 = (0, 0, w, h) if box is None else _grow_box(box, READ_MARGIN, (w, h))
    crop = image[y0:y1, x0:x1]
    ch, cw = crop.shape[:2]
    if min(ch, cw) < MIN_READ_PX:
        return BoxText(box=(x0, y0, x1, y1), weights={t: 0.0 for t in turns})
    # the crop as the engine reads it (the same scaling as ops.ocr.read_text)
    bgr, _, _, sx, sy = ocr.ocr_images(crop, config)
    sh, sw = bgr.shape[:2]
    eng = ocr.engine()
    lines: list[TextRead] = []
    weights: dict[int, float] = {}
    tall = 0
    for turn in turns:
        if turn in (90, 270) and early_stop and tall == 0 and len(weights) >= 2:
            ranked = sorted(weights.values(), reverse=True)
            if ranked[0] >= CLEAR_UPRIGHT_MARGIN * config.min_weight and ranked[1] <= CLEAR_RUNNER_UP * ranked[0]:
                # the upright reading is clear and nothing was printed sideways: the quarter
                # turns cannot win (saves two OCR passes)
                weights[turn] = 0.0
                continue
        result = _ocr_unclassified(eng, ocr._rotate(bgr, turn))
        turn_lines, total, turn_tall = _turn_lines(result, turn, config, (sw, sh), (sx, sy), (x0, y0))
        lines.extend(turn_lines)
        tall += turn_tall
        weights[turn] = round(total, 3)
    return BoxText(box=(x0, y0, x1, y1), lines=tuple(lines), weights=weights)


def shape_cue(alpha: np.ndarray) -> tuple[int | None, dict[str, float]]:
    """The turn a flat base suggests, or None when no side stands out.

    For each side of the product's box, the base score is how much of that side the mask covers
    in a thin strip along it (a flat base runs the full width; a cap, a nozzle or a rounded top
    covers little of it). The side clearly wider than its opposite is the base; the turn brings
    it to the bottom.
    """
    bbox = alpha_bbox(alpha)
    if bbox is None:
        return None, {}
    x0, y0, x1, y1 = bbox
    m = np.asarray(alpha[y0:y1, x0:x1]) > 0.5
    h, w = m.shape
    if h < 8 or w < 8:
        return None, {}
    sy, sx = max(1, h // 20), max(1, w // 20)
    scores = {
        "bottom": float(m[h - sy:].any(axis=0).mean()),
        "top": float(m[:sy].any(axis=0).mean()),
        "left": float(m[:, :sx].any(axis=1).mean()),
        "right": float(m[:, w - sx:].any(axis=1).mean()),
    }
    return _shape_turn(scores), {k: round(v, 3) for k, v in scores.items()}


def _shape_turn(scores: dict[str, float], margin: float = OrientationConfig.shape_margin) -> int | None:
    # which side is the base, and the turn (clockwise) that brings it to the bottom
    turn_for = {"bottom": 0, "top": 180, "left": 270, "right": 90}
    best = max(scores, key=scores.get)
    opposite = {"bottom": "top", "top": "bottom", "left": "right", "right": "left"}[best]
    if scores[best] - scores[opposite] < margin:
        return None
    # the base must also be wider than the two other sides' difference says otherwise
    others = [s for s in scores if s not in (best, opposite)]
    if abs(scores[others[0]] - scores[others[1]]) >= scores[best] - scores[opposite]:
        return None
    return turn_for[best]


def estimate_orientation(cutout: Cutout, text: BoxText | None = None,
                         config: OrientationConfig = OrientationConfig()) -> Orientation:
    """Estimate the turn that makes the product upright (see the module docstring).

    Parameters
    ----------
    cutout : the product (its photo and alpha).
    text : a reading of the product's box (:func:`read_box_text`); read here when None.
    """
    if cutout.is_empty:
        return Orientation(0, "none", True, {"reason": "no product"})
    if text is None:
        text = read_box_text(cutout.image, cutout.bbox, config)
    weights = {t: float(text.weights.get(t, 0.0)) for t in TURNS}
    ranked = sorted(TURNS, key=lambda t: (-weights[t], t))
    best, runner = ranked[0], ranked[1]
    shape_turn, shape_scores = shape_cue(cutout.alpha)
    evidence: dict[str, Any] = {"text_weights": {str(t): round(weights[t], 3) for t in TURNS},
                                "shape_turn": shape_turn, "shape_sides": shape_scores}
    if weights[best] >= config.min_weight:
        if weights[runner] > config.max_runner_up * weights[best]:
            evidence["reason"] = f"label text disagrees: {best} and {runner} degrees read alike"
            return Orientation(0, "text", True, evidence)
        if shape_turn is not None and shape_turn != best and (
                weights[best] < config.shape_veto_below or (shape_turn == 0 and best in (90, 270))):
            # The silhouette says otherwise: modest text loses to it, and sideways text on a
            # product standing on its flat base (a strap, a spine, a side panel) never turns it.
            evidence["reason"] = f"label text says {best} degrees, the flat base says {shape_turn}"
            return Orientation(0, "text", True, evidence)
        evidence["reason"] = "label text"
        return Orientation(best, "text", False, evidence)
    if weights[best] >= config.min_evidence:
        evidence["reason"] = "too little label text read to tell which way is up"
        return Orientation(0, "text", True, evidence)
    if shape_turn is not None and shape_turn != 0:
        # A silhouette alone never turns a photo: a lamp, a bulb or a glass is wider at the top
        # than at its foot, and an upright photo must never be turned. It is flagged instead.
        evidence["reason"] = f"no label text; the silhouette suggests {shape_turn} degrees (not applied)"
        return Orientation(0, "shape", True, evidence)
    if shape_turn == 0:
        evidence["reason"] = "no label text; flat base at the bottom"
        return Orientation(0, "shape", False, evidence)
    evidence["reason"] = "no label text and no clear flat base: nothing says it is turned"
    return Orientation(0, "none", False, evidence)


def resolve_orientation(choice: str, cutout: Cutout, text: BoxText | None = None,
                        config: OrientationConfig = OrientationConfig()) -> Orientation:
    """The orientation to apply for an ``--orientation`` choice: auto, keep, 0, 90, 180 or 270."""
    choice = str(choice).strip().lower()
    if choice not in ORIENTATION_CHOICES:
        raise ValueError(f"orientation must be one of {', '.join(ORIENTATION_CHOICES)}, got {choice!r}")
    if choice == "keep":
        return Orientation(0, "keep", False, {"reason": "kept as shot (--orientation keep)"})
    if choice != "auto":
        return Orientation(int(choice), "override", False, {"reason": f"--orientation {choice}"})
    return estimate_orientation(cutout, text, config)


def _turn_array(a: np.ndarray, turn: int) -> np.ndarray:
    return np.ascontiguousarray(np.rot90(a, k=-(turn // 90) % 4))


def turn_cutout(cutout: Cutout, orientation: Orientation | int) -> Cutout:
    """The cut-out turned clockwise by the orientation's turn, with the turn in its provenance
    (``provenance["params"]["orientation"]``). Turn 0 records the decision and keeps the pixels."""
    if isinstance(orientation, int):
        orientation = Orientation(int(orientation) % 360, "override", False, {})
    turn = orientation.turn % 360
    if turn not in TURNS:
        raise ValueError(f"turn must be 0, 90, 180 or 270, got {orientation.turn}")
    prov = dict(cutout.provenance)
    params = dict(prov.get("params", {}))
    params["orientation"] = orientation.as_record()
    prov["params"] = params
    flags = tuple(dict.fromkeys((*cutout.flags, *orientation.flags)))
    if turn == 0:
        return dataclasses.replace(cutout, provenance=prov, flags=flags)
    alpha = _turn_array(cutout.alpha, turn)
    return dataclasses.replace(cutout, rgb=_turn_array(cutout.rgb, turn), alpha=alpha,
                               image=_turn_array(cutout.image, turn), bbox=alpha_bbox(alpha),
                               provenance=prov, flags=flags)
