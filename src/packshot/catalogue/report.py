"""What a run leaves for people: ``DIR/report.html`` (a contact sheet of every frame grouped by
SKU, with QA verdict badges and the exported files), ``DIR/summary.csv`` (one row per frame),
``DIR/failures.csv`` (one row per failed or blocked unit and per skipped manifest row: row, stage,
reason, what to do), ``DIR/export/packshot-manifest.json`` and the ``--status`` text."""

from __future__ import annotations

import csv
import html
import io
import json
from pathlib import Path
from typing import Any

from ..imaging import atomic_write_text
from .store import JobStore

SUMMARY_COLUMNS = ("row", "sku", "title", "scene", "variant", "frame", "status", "qa_verdict", "qa_reasons",
                   "exports", "export_files", "error", "review")
FAILURE_COLUMNS = ("row", "sku", "unit", "stage", "reason", "what_to_do")


def _csv(rows: list[dict], columns: tuple[str, ...]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow(r)
    return buf.getvalue()


def collect(store: JobStore, run_id: int | None = None) -> dict[str, Any]:
    """Frames (with QA and exports), failures and SKUs of the SKUs of ``run_id`` (default: the last run)."""
    if run_id is None:
        last = store.last_run()
        run_id = last["id"] if last else None
    skus = store.skus(run_id)
    wanted = {s["sku"] for s in skus}
    row_of = {s["sku"]: s["row"] for s in skus}
    frames = [f for f in store.frames() if f["sku"] in wanted]
    units = [u for u in store.units("status IN ('failed', 'blocked')") if u["sku"] in wanted]
    failures = []
    for e in store.row_errors(run_id):
        failures.append({"row": e["row"], "sku": e["sku"] or "", "unit": "manifest",
                         "stage": f"manifest ({e['field']})",
                         "reason": e["problem"], "what_to_do": "fix the row in the manifest and run again"})
    for u in units:
        stage = (u["info"] or {}).get("stage") or u["kind"]
        if u["status"] == "blocked":
            stage = f"{u['kind']} (blocked)"
        failures.append({"row": row_of.get(u["sku"], ""), "sku": u["sku"], "unit": u["id"], "stage": stage,
                         "reason": u["error"] or "", "what_to_do": u["hint"] or ""})
    summary = []
    decisions = store.newest_decisions()
    for f in frames:
        qa = f.get("qa") or {}
        exports = [e for e in f["exports"] if e["status"] == "done"]
        sku = next(s for s in skus if s["sku"] == f["sku"])
        summary.append({
            "row": sku["row"], "sku": f["sku"], "title": sku.get("title") or "", "scene": f["scene"],
            "variant": f["variant"], "frame": f"{f['frame']}.png", "status": f["status"],
            "qa_verdict": ((qa.get("info") or {}).get("verdict", "") if qa.get("status") == "done"
                           else (qa.get("status") or "")),
            "qa_reasons": "; ".join((qa.get("info") or {}).get("reasons", []) or []),
            "exports": f"{len(exports)}/{len(f['exports'])}",
            "export_files": " ".join(e["info"].get("file", "") for e in exports),
            "error": f["error"] or "",
            "review": _review_state(f, decisions.get(f["frame"])),
        })
    return {"run_id": run_id, "skus": skus, "frames": frames, "failures": failures, "summary": summary}


def _review_state(frame: dict, decision: dict | None) -> str:
    """``awaiting review`` when exports of the frame are held back for review; else the newest decision
    (``approved``, ``rejected``, ``rerender requested``, ``rerendered``), or empty."""
    if any(e["status"] == "awaiting_review" for e in frame["exports"]):
        return "awaiting review"
    if decision is None:
        return ""
    if decision["decision"] == "rerender":
        return "rerendered" if decision.get("handled_run") else "rerender requested"
    return {"approve": "approved", "reject": "rejected"}.get(decision["decision"], decision["decision"])


def write_reports(store: JobStore, out_dir: Path, run_id: int | None = None) -> dict[str, Path]:
    data = collect(store, run_id)
    paths = {"summary": out_dir / "summary.csv", "failures": out_dir / "failures.csv",
             "report": out_dir / "report.html", "manifest": out_dir / "export" / "packshot-manifest.json"}
    atomic_write_text(paths["summary"], _csv(data["summary"], SUMMARY_COLUMNS))
    atomic_write_text(paths["failures"], _csv(data["failures"], FAILURE_COLUMNS))
    atomic_write_text(paths["report"], render_html(store, data))
    files = []
    for f in data["frames"]:
        for e in f["exports"]:
            if e["status"] == "done":
                files.append({"frame": f["frame"], "profile": e["profile"], **{k: e["info"].get(k) for k in
                              ("file", "width", "height", "format", "sha256", "upscaled", "provenance_digest", "url")}})
    if files or paths["manifest"].exists():
        from .. import __version__

        atomic_write_text(paths["manifest"], json.dumps({"packshot_version": __version__, "files": files},
                                                        indent=1, sort_keys=True) + "\n")
    return paths


_CSS = ("body{font-family:system-ui,sans-serif;margin:24px;background:#f4f4f4;color:#222}"
        "h2{margin:28px 0 4px}.meta{font-size:13px;color:#555;margin:0 0 8px}.row{display:flex;flex-wrap:wrap;gap:10px}"
        "figure{margin:0;background:#fff;padding:6px;border-radius:6px;box-shadow:0 1px 3px #0002;max-width:200px}"
        "img{width:200px;height:auto;display:block}figcaption{font-size:12px;margin-top:4px}"
        ".badge{display:inline-block;padding:1px 6px;border-radius:9px;color:#fff;font-size:11px;font-weight:600}"
        ".pass{background:#1a7f37}.review{background:#b26b00}.fail,.failed,.blocked{background:#c62828}"
        ".pending,.none{background:#777}.awaiting_review{background:#1565c0}"
        "table{border-collapse:collapse;background:#fff;font-size:13px}"
        "td,th{border:1px solid #ddd;padding:4px 8px;text-align:left}.exports a{margin-right:6px}")


def _failure_rows(failures: list[dict]) -> list[tuple[dict, int]]:
    """The failures table of the contact sheet: each failure that is not a blocked unit, with the
    number of its SKU's blocked units folded into it (a SKU whose cut-out stopped blocks every later
    unit of it: one row says why, not one row per frame and export). A SKU with only blocked units
    keeps its first one. ``failures.csv`` still lists every unit."""
    roots: list[dict] = []
    blocked: dict[str, list[dict]] = {}
    for f in failures:
        (blocked.setdefault(f["sku"], []) if f["stage"].endswith("(blocked)") else roots).append(f)
    rows: list[tuple[dict, int]] = []
    folded: set[str] = set()
    for f in roots:
        n = 0
        if f["sku"] and f["sku"] not in folded:
            n = len(blocked.get(f["sku"], ()))
            folded.add(f["sku"])
        rows.append((f, n))
    for sku, units in blocked.items():
        if sku not in folded:
            rows.append((units[0], len(units) - 1))
    return rows


def render_html(store: JobStore, data: dict[str, Any]) -> str:
    e = html.escape
    last = store.last_run() or {}
    frames_by_sku: dict[str, list[dict]] = {}
    for f in data["frames"]:
        frames_by_sku.setdefault(f["sku"], []).append(f)
    n_frames = len(data["frames"])
    awaiting = sum(1 for s in data["summary"] if s.get("review") == "awaiting review")
    verdicts: dict[str, int] = {}
    for s in data["summary"]:
        verdicts[s["qa_verdict"] or "none"] = verdicts.get(s["qa_verdict"] or "none", 0) + 1
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>packshot catalogue</title>",
        f"<style>{_CSS}</style></head><body><h1>packshot catalogue</h1>",
        f"<p class='meta'>{len(data['skus'])} SKUs, {n_frames} frames; QA: "
        + ", ".join(f"{e(k)} {v}" for k, v in sorted(verdicts.items()))
        + f"; {len(data['failures'])} failures"
        + (f"; {awaiting} frames awaiting review (exports held back until approved in packshot review)"
           if awaiting else "") + f". Run {e(str(last.get('id', '')))} ({e(str(last.get('engine', '')))}). "
        "Files: <a href='summary.csv'>summary.csv</a>, <a href='failures.csv'>failures.csv</a>, "
        "<a href='export/packshot-manifest.json'>export manifest</a>.</p>",
    ]
    if data["failures"]:
        parts.append("<h2>failures</h2><table><tr><th>row</th><th>sku</th><th>stage</th><th>reason</th>"
                     "<th>what to do</th></tr>")
        for f, blocked in _failure_rows(data["failures"]):
            more = (f" <span class='meta'>(and {blocked} later units blocked by it: see failures.csv)</span>"
                    if blocked else "")
            parts.append(f"<tr><td>{e(str(f['row']))}</td><td>{e(f['sku'])}</td><td>{e(f['stage'])}</td>"
                         f"<td>{e(f['reason'])}{more}</td><td>{e(f['what_to_do'])}</td></tr>")
        parts.append("</table>")
    for sku in data["skus"]:
        name = sku["sku"]
        parts.append(f"<h2 id='{e(name)}'>{e(name)}</h2>")
        meta = [x for x in (sku.get("title"), sku.get("category")) if x]
        parts.append(f"<p class='meta'>row {sku['row']}{' · ' + e(' · '.join(meta)) if meta else ''}</p>")
        parts.append("<div class='row'>")
        parts.append(f"<figure><a href='{e(sku['photo'])}'><img src='{e(sku['photo'])}' loading='lazy'></a>"
                     "<figcaption>source photo</figcaption></figure>")
        if sku.get("master"):
            parts.append(f"<figure><img src='{e(sku['master'])}' loading='lazy'><figcaption>master artwork"
                         "</figcaption></figure>")
        cut = store.unit(f"cutout:{name}")
        if cut and cut["status"] == "done":
            uncertain = "orientation-uncertain" in ((cut.get("info") or {}).get("flags") or ())
            badge = (" <span class='badge review' title='which way is up could not be told: rendered as shot'>"
                     "orientation uncertain</span>") if uncertain else ""
            parts.append(f"<figure><img src='{e(name)}/cutout.png' loading='lazy'><figcaption>cut-out{badge}"
                         "</figcaption></figure>")
        elif cut:
            parts.append(f"<figure><figcaption><span class='badge {e(cut['status'])}'>cut-out {e(cut['status'])}"
                         f"</span> {e(cut['error'] or '')}</figcaption></figure>")
        for f in sorted(frames_by_sku.get(name, []), key=lambda f: f["frame"]):
            qa = f.get("qa") or {}
            verdict = (qa.get("info") or {}).get("verdict") if qa.get("status") == "done" else qa.get("status")
            verdict = verdict or "none"
            label = f"{f['scene']} / {f['variant']}"
            if f["status"] == "done":
                img = f"<a href='{e(f['frame'])}.png'><img src='{e(f['frame'])}.png' loading='lazy'></a>"
            else:
                img = f"<p>{e(f['status'])}: {e(f['error'] or '')}</p>"
            links = " ".join(f"<a href='{e(x['info'].get('file', ''))}'>{e(x['profile'] or '')}</a>"
                             if x["status"] == "done" else f"<span class='badge {e(x['status'])}'>"
                             f"{e(x['profile'] or '')} {e(x['status'])}</span>" for x in f["exports"])
            parts.append(f"<figure>{img}<figcaption>{e(label)} <span class='badge {e(verdict)}'>QA {e(verdict)}"
                         f"</span><div class='exports'>{links}</div></figcaption></figure>")
        parts.append("</div>")
    parts.append("</body></html>")
    return "\n".join(parts)


def status_text(out_dir: Path) -> str:
    """Where the run in ``out_dir`` stands (``packshot catalogue --status DIR``)."""
    import time

    with JobStore(out_dir, readonly=True) as store:
        last = store.last_run()
        lines = []
        if last:
            when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(last["started"]))
            took = f", {last['finished'] - last['started']:.0f} s" if last.get("finished") else ""
            lines.append(f"run {last['id']} ({last['engine']}): {last['status']}, started {when}{took}")
        counts = store.counts()
        lines.append(f"{'unit':<8} {'done':>7} {'pending':>8} {'running':>8} {'failed':>7} {'blocked':>8}")
        for kind in ("cutout", "maps", "frame", "qa", "export"):
            c = counts.get(kind, {})
            lines.append(f"{kind:<8} {c.get('done', 0):>7} {c.get('pending', 0):>8} {c.get('running', 0):>8} "
                         f"{c.get('failed', 0):>7} {c.get('blocked', 0):>8}")
        total = sum(sum(c.values()) for c in counts.values())
        done = sum(c.get("done", 0) for c in counts.values())
        lines.append(f"{done}/{total} units done" + (f" ({100 * done / total:.0f} %)" if total else ""))
        held = counts.get("export", {}).get("awaiting_review", 0)
        if held:
            lines.append(f"{held} exports awaiting review (approve the frames in packshot review, then run again)")
        errs = store.row_errors()
        if errs:
            lines.append(f"{len(errs)} manifest rows skipped (see failures.csv)")
        return "\n".join(lines)


__all__ = ["FAILURE_COLUMNS", "SUMMARY_COLUMNS", "collect", "render_html", "status_text", "write_reports"]
