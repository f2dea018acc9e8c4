"""qa text check on written catalogue frames of real photos: false alarms with and without the second
reading (qa.text.with_reread), and whether a digit planted on the same frames is still caught.

Nothing is written next to the frames. Each frame's product and its placed cut-out are read once
by OCR; the text check's verdict is then taken twice from the same readings: as read once (the check
before the second reading) and with the disagreeing lines read again. With ``--plant``, every frame
whose cut-out reads a number gets one digit of it changed in its pixels (the digit painted over
with the colour around it and another drawn in the print's colour) and is checked again.

    PYTHONPATH=src .venv/bin/python benchmarks/qa_text_real.py /tmp/review/cat [--skus a,b] [--plant]

The frames are the ones ``packshot catalogue`` writes (a sidecar per frame, ``<sku>/<scene>/v0.json``);
CI has none, so ``tests/test_qa_text_real.py`` renders its own frames of real photos.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def text_status(approved_lines, frame_lines, crop, config, reread: bool):
    """The text check's verdict (the rule of ``packshot.qa.check_text``) from readings already made."""
    from packshot.qa import _small
    from packshot.qa.text import compare_text

    f, r, ra = crop
    if not approved_lines:
        return "pass", None
    txt = compare_text(approved_lines, frame_lines, "cutout", config.fuzzy_ratio, frame_rgb=f, reference_rgb=r,
                       reference_alpha=ra, unchanged_ncc=config.print_unchanged_ncc, reread=reread)
    bad = [d for d in txt.diffs if d.status in ("missing", "changed", "invented") and d.confirmed]
    if not frame_lines and bad:
        return "fail", txt
    if any(d.critical and not _small(d, config.small_print_px, True) for d in bad):
        return "fail", txt
    return ("review" if bad else "pass"), txt


def _describe(txt) -> str:
    if txt is None:
        return ""
    return "; ".join(f"{d.status} {d.approved!r}->{d.frame!r}" for d in txt.diffs
                     if d.status in ("missing", "changed", "invented") and d.confirmed)


def main() -> None:
    from packshot.qa import QAConfig, _crop_box
    from packshot.qa.frames import find_sidecars, load_frame_inputs, scaled_config
    from packshot.qa.text import read_lines, tokenize
    from test_qa_text_real import plant_digit

    ap = argparse.ArgumentParser()
    ap.add_argument("catalogue", type=Path, help="folder of written frames (searched recursively)")
    ap.add_argument("--skus", default="", help="comma-separated SKUs (default: all)")
    ap.add_argument("--plant", action="store_true", help="also plant a changed digit on frames with a number")
    args = ap.parse_args()
    skus = {s for s in args.skus.split(",") if s}
    sidecars = [p for p in find_sidecars(args.catalogue) if not skus or p.parent.parent.name in skus]
    counts = {"before": {"pass": 0, "review": 0, "fail": 0}, "after": {"pass": 0, "review": 0, "fail": 0}}
    planted = []
    t0 = time.process_time()
    for sidecar in sidecars:
        try:
            inputs = load_frame_inputs(sidecar)
        except Exception as exc:  # one bad frame never stops the run
            print(f"{sidecar}: cannot be checked: {exc}", flush=True)
            continue
        config = scaled_config(QAConfig(), inputs.scale)
        cx0, cy0, cx1, cy1 = _crop_box(inputs.reference_alpha, config.crop_margin)
        sl = (slice(cy0, cy1), slice(cx0, cx1))
        crop = (inputs.frame_rgb[sl], inputs.reference_rgb[sl], inputs.reference_alpha[sl])
        approved = read_lines(crop[1], crop[2], config.ocr_max_side, config.ocr_min_side)
        frame_lines = read_lines(crop[0], crop[2], config.ocr_max_side, config.ocr_min_side)
        before, tb = text_status(approved, frame_lines, crop, config, reread=False)
        after, ta = text_status(approved, frame_lines, crop, config, reread=True)
        counts["before"][before] += 1
        counts["after"][after] += 1
        name = str(sidecar.relative_to(args.catalogue))
        if before != "pass" or after != "pass":
            print(f"{name:55s} before {before:6s} after {after:6s} | before: {_describe(tb)} | after: {_describe(ta)}",
                  flush=True)
        if args.plant:
            numbers = [t for t in tokenize(approved) if t.text.isdigit()]
            if not numbers:
                continue
            tok = max(numbers, key=lambda t: t.box[3] - t.box[1])
            new = str((int(tok.text[0]) + 3) % 10) + tok.text[1:]
            f2 = plant_digit(crop[0], tok.box, tok.text, new)
            lines2 = read_lines(f2, crop[2], config.ocr_max_side, config.ocr_min_side)
            status, tp = text_status(approved, lines2, (f2, crop[1], crop[2]), config, reread=True)
            planted.append((name, tok.text, new, status, _describe(tp)))
            print(f"{name:55s} planted {tok.text!r}->{new!r}: {status} | {_describe(tp)}", flush=True)
    n = sum(counts["after"].values())
    print(f"\n{n} frames, text check only. read once: {counts['before']}; read again where OCR disagrees: "
          f"{counts['after']}")
    if planted:
        caught = sum(p[3] != "pass" for p in planted)
        print(f"planted digit changes caught: {caught}/{len(planted)} "
              f"(fail {sum(p[3] == 'fail' for p in planted)}, review {sum(p[3] == 'review' for p in planted)})")
    print(f"process CPU {time.process_time() - t0:.0f} s")


if __name__ == "__main__":
    main()
