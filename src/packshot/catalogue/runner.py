"""The catalogue run: manifest -> sources -> plan -> engine -> job store -> report.

This module is an edge (like the CLI): it reads the manifest and briefs, copies sources into the
output folder and writes the report; the engines run the stages in worker processes.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from ..errors import InputError
from ..imaging import atomic_write_bytes, clean_temp_files
from ..locking import OutputLock
from .manifest import Manifest, RowError, load_manifest, manifest_from_photos
from .plan import Plan, PrepTask, RunSettings, SceneTask, build_plan
from .store import JobStore, UnitResult


@dataclass
class RunOutcome:
    """What a catalogue run did."""

    out_dir: Path
    run_id: int
    planned: int
    todo: int
    done: int = 0
    failed: int = 0
    blocked: int = 0
    row_errors: list[RowError] = field(default_factory=list)
    seconds: float = 0.0
    stages: dict[str, dict[str, float]] = field(default_factory=dict)
    """Per kind: units done, failed, blocked, up to date, and seconds of work."""
    awaiting_review: dict[str, str] = field(default_factory=dict)
    """Export units held back for review (SKUs whose review is required): unit id -> why. Not failures."""
    rerenders: list[Any] = field(default_factory=list)
    """Re-render requests from the review app applied by this run
    (:class:`packshot.catalogue.review.AppliedRequest`)."""
    unit_ids: list[str] = field(default_factory=list)
    """Every unit this run planned (up to date or not)."""

    @property
    def frames_awaiting_review(self) -> list[str]:
        return sorted({uid.split(":", 1)[1].rsplit("/", 1)[0] for uid in self.awaiting_review})

    @property
    def exit_code(self) -> int:
        return 1 if (self.failed or self.blocked or self.row_errors) else 0

    @property
    def frames_done(self) -> int:
        return int(self.stages.get("frame", {}).get("done", 0))


def _copy_source(store: JobStore, src: Path, out_dir: Path) -> tuple[str, str]:
    """Copy a source file into ``DIR/sources/<sha256><ext>`` (once); returns (relative path, sha256)."""
    sha = store.cached_sha256(src)
    rel = f"sources/{sha}{src.suffix.lower()}"
    dst = out_dir / rel
    if not dst.exists() or dst.stat().st_size != src.stat().st_size:
        atomic_write_bytes(dst, src.read_bytes())
    return rel, sha


def _load_briefs(manifest: Manifest, brief: str | Path | None) -> tuple[dict[str, Any], list[RowError], list]:
    from ..condition import load_brief

    briefs: dict[str, Any] = {}
    errors: list[RowError] = []
    rows = []
    if brief is not None:
        briefs[str(brief)] = load_brief(brief)  # the run's brief: an error here stops the run
    for row in manifest.rows:
        if row.brief is None:
            if brief is None:
                errors.append(RowError(manifest.source, row.row, "brief", "no brief for this SKU: give --brief or a "
                                                                         "'brief' column", row.sku))
                continue
        elif str(row.brief) not in briefs:
            try:
                briefs[str(row.brief)] = load_brief(row.brief)
            except (InputError, OSError, ValueError) as exc:
                errors.append(RowError(manifest.source, row.row, "brief", str(exc), row.sku))
                briefs[str(row.brief)] = None
                continue
        elif briefs[str(row.brief)] is None:
            errors.append(RowError(manifest.source, row.row, "brief", f"{row.brief}: the brief is invalid", row.sku))
            continue
        rows.append(row)
    return briefs, errors, rows


class Progress:
    """Live progress: units done of all, units per minute and ETA (a bar on a terminal, a line
    every few seconds in logs)."""

    def __init__(self, total: int, enabled: bool = True, stream: Any = None, every: float = 5.0):
        self.total = total
        self.done = 0
        self.failed = 0
        self.t0 = time.perf_counter()
        self.stream = stream or sys.stderr
        self.enabled = enabled and total > 0
        self.every = every
        self._last = 0.0
        self._bar = None
        if self.enabled and getattr(self.stream, "isatty", lambda: False)():
            from rich.console import Console
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress as RichProgress, TextColumn,
                                       TimeElapsedColumn, TimeRemainingColumn)

            self._bar = RichProgress(TextColumn("[bold]catalogue"), BarColumn(), MofNCompleteColumn(),
                                     TextColumn("{task.fields[rate]} units/min"), TimeElapsedColumn(),
                                     TextColumn("ETA"), TimeRemainingColumn(), TextColumn("{task.fields[failed]}"),
                                     console=Console(file=self.stream), transient=False)
            self._bar.start()
            self._task = self._bar.add_task("catalogue", total=total, rate="-", failed="")

    def rate(self) -> float:
        dt = time.perf_counter() - self.t0
        return 60.0 * self.done / dt if dt > 0 else 0.0

    def eta(self) -> float | None:
        r = self.rate()
        return 60.0 * (self.total - self.done) / r if r > 0 else None

    def advance(self, n: int, failed: int = 0) -> None:
        self.done += n
        self.failed += failed
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.update(self._task, advance=n, rate=f"{self.rate():.0f}",
                             failed=f"[red]{self.failed} failed" if self.failed else "")
            return
        now = time.perf_counter()
        if now - self._last >= self.every or self.done >= self.total:
            self._last = now
            eta = self.eta()
            print(f"catalogue: {self.done}/{self.total} units, {self.rate():.0f} units/min, "
                  f"ETA {'-' if eta is None else f'{eta:.0f} s'}" + (f", {self.failed} failed" if self.failed else ""),
                  file=self.stream, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()


def run_catalogue(
    manifest: str | Path | Manifest,
    out_dir: str | Path,
    brief: str | Path | None = None,
    profiles: Sequence[str] = (),
    settings: RunSettings = RunSettings(),
    engine: str = "local",
    workers: int | None = None,
    ray_address: str | None = None,
    ray_cpus: int | None = None,
    ray_gpus: float = 0.0,
    force: bool = False,
    verify: bool = False,
    wait_for_lock: float = 0.0,
    progress: bool = True,
    argv: Sequence[str] = (),
    on_results: Callable[[Any, list[UnitResult]], None] | None = None,
) -> RunOutcome:
    """Run (or resume) a catalogue into ``out_dir``.

    Parameters
    ----------
    manifest : manifest path (CSV, JSONL or a folder of photos) or a loaded :class:`Manifest`.
    out_dir : the output folder (job store, sources, frames, exports, report).
    brief : the brief for SKUs whose row names none.
    profiles : marketplace profiles for SKUs whose row names none (none: no export).
    settings : :class:`RunSettings`.
    engine : ``local`` or ``ray``.
    workers : worker processes / actors (default: the cores).
    ray_address : an existing Ray cluster; None starts a local one (with ``ray_cpus`` CPUs).
    ray_gpus : GPUs each Ray actor asks for (the diffusion renderer); 0 for the embedded one.
    force : redo every unit, up to date or not.
    verify : hash every recorded output before trusting it (default: files whose size and mtime
        are unchanged are trusted without reading them).
    wait_for_lock : seconds to wait for another run on ``out_dir`` to finish (0: refuse at once).
    on_results : called in the parent with each task and its results (tests, the web app).

    Raises
    ------
    InputError
        The manifest or the run's brief cannot be used at all.
    packshot.locking.FolderLockedError
        Another run holds ``out_dir`` (a killed run's lock is taken over).
    """
    t_start = time.perf_counter()
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    with OutputLock(out, wait=wait_for_lock > 0, timeout=wait_for_lock, command=" ".join(argv) or None) as lock:
        started = time.time()
        if lock.took_over:
            print(f"took over the lock of an interrupted run (pid {lock.took_over.get('pid', '?')})", file=sys.stderr)
        man = manifest if isinstance(manifest, Manifest) else load_manifest(manifest)
        briefs, brief_errors, rows = _load_briefs(man, brief)
        store = JobStore(out)
        try:
            outcome = _run(store, man, briefs, brief_errors, rows, brief, profiles, settings, engine, workers,
                           (ray_address, ray_cpus, ray_gpus), force, verify, progress, argv, on_results, out,
                           t_start)
        finally:
            store.close()
        # temporary files of atomic writes that a killed run (or worker) left behind
        clean_temp_files(out, older_than=started)
        return outcome


def _run(store: JobStore, man: Manifest, briefs, brief_errors, rows, brief, profiles, settings, engine, workers,
         ray, force, verify, show_progress, argv, on_results, out: Path,
         t_start: float) -> RunOutcome:
    run_id = store.start_run(engine, argv, man.source, str(brief or ""))
    sources: dict[str, dict] = {}
    sku_rows = []
    errors = list(man.errors) + list(brief_errors)
    kept = []
    for row in rows:
        try:
            photo, photo_sha = _copy_source(store, row.photo, out)
            extra = [_copy_source(store, p, out)[0] for p in row.photos[1:]]
            master, master_sha = _copy_source(store, row.master, out) if row.master else (None, None)
        except OSError as exc:
            errors.append(RowError(man.source, row.row, "photo", f"cannot be copied: {exc}", row.sku))
            continue
        sources[row.sku] = {"photo": photo, "photo_sha256": photo_sha, "master": master, "master_sha256": master_sha}
        sku_rows.append({"sku": row.sku, "row": row.row, "photo": photo, "photo_sha256": photo_sha, "master": master,
                         "master_sha256": master_sha, "title": row.title, "category": row.category,
                         "profiles": list(row.profiles or profiles),
                         "data": dict(row.data, extra_photos=extra, source_photo=str(row.photo))})
        kept.append(row)
    default_brief = str(brief) if brief is not None else ""
    from .review import apply_rerender_requests

    applied = apply_rerender_requests(store, run_id, kept, briefs, default_brief)
    plan = build_plan(kept, briefs, default_brief, list(profiles), settings, out, store.current(), sources, force,
                      verify, decisions=store.newest_decisions(), overrides=store.overrides())
    errors += plan.row_errors
    bad_rows = {e.sku for e in plan.row_errors}
    store.upsert_skus(run_id, [r for r in sku_rows if r["sku"] not in bad_rows])
    store.record_row_errors(run_id, errors)
    store.plan(run_id, plan.units, plan.todo)
    store.hold(run_id, plan.units, plan.held)
    for e in errors:
        print(f"skipped {e}", file=sys.stderr)

    outcome = RunOutcome(out_dir=out, run_id=run_id, planned=len(plan.units), todo=len(plan.todo), row_errors=errors,
                         awaiting_review=dict(plan.held), rerenders=applied, unit_ids=[u.id for u in plan.units])
    bar = Progress(len(plan.todo), enabled=show_progress)
    status = "done"
    try:
        if plan.todo:
            _execute(store, run_id, plan, engine, workers, ray, bar, outcome, on_results)
    except BaseException:
        status = "interrupted"
        raise
    finally:
        bar.close()
        outcome.seconds = time.perf_counter() - t_start
        outcome.stages = stage_summary(store, plan)
        counts = {k: v for k, v in outcome.stages.items()}
        if status == "done":
            status = "failed" if outcome.exit_code else "done"
        from .report import write_reports

        write_reports(store, out, run_id)
        store.finish_run(run_id, status, counts)
    return outcome


def _execute(store: JobStore, run_id: int, plan: Plan, engine_name: str, workers, ray: tuple,
             bar: Progress, outcome: RunOutcome, on_results) -> None:
    from .engines import make_engine

    ray_address, ray_cpus, ray_gpus = ray
    kwargs = {"num_cpus": ray_cpus, "num_gpus": ray_gpus} if engine_name == "ray" else {}
    n_tasks = len(plan.prep) + len(plan.scenes)
    if engine_name == "local" or workers:  # never more workers than tasks (a Ray cluster sizes itself)
        from .engines import default_workers

        workers = min(workers or default_workers(), max(n_tasks, 1))
    engine = make_engine(engine_name, workers, ray_address, **kwargs)
    try:
        ready: list[Any] = list(plan.prep.values())
        waiting: dict[str, list[SceneTask]] = {}
        for t in plan.scenes:
            if t.after is None:
                ready.append(t)
            else:
                waiting.setdefault(t.after, []).append(t)
        # scene tasks whose cut-out is up to date go after the prep tasks: each scene task needs
        # only its own SKU's cut-out, so this order keeps every worker busy from the start
        while ready or engine.inflight:
            while ready and engine.inflight < engine.capacity:
                task = ready.pop(0)
                store.mark_running(list(task.unit_ids))
                engine.submit(task)
            for task, results in engine.wait(timeout=0.5):
                store.record(run_id, results)
                got = {r.id for r in results}
                missing = [u for u in task.unit_ids if u not in got]
                failed = [r for r in results if not r.ok]
                if missing:
                    reason = "; ".join(f"{r.id}: {r.error}" for r in failed)[:500] or "an upstream unit failed"
                    store.block(run_id, missing, f"not run: upstream failed ({reason})")
                outcome.done += len(results) - len(failed)
                outcome.failed += len(failed)
                outcome.blocked += len(missing)
                bar.advance(len(results) + len(missing), len(failed) + len(missing))
                if isinstance(task, PrepTask):
                    followers = waiting.pop(task.sku, [])
                    if failed:
                        for t in followers:
                            store.block(run_id, list(t.unit_ids), f"not run: the cut-out of {task.sku} failed "
                                                                  f"({failed[0].error})")
                            outcome.blocked += len(t.unit_ids)
                            bar.advance(len(t.unit_ids), len(t.unit_ids))
                    else:
                        ready[:0] = followers  # this SKU's scenes next: its cut-out is still in a worker's cache
                if on_results is not None:
                    on_results(task, results)
    except BaseException:  # interrupted (SIGTERM, Ctrl-C): stop the workers now, not after their tasks
        engine.close(kill=True)
        raise
    engine.close()


def stage_summary(store: JobStore, plan: Plan) -> dict[str, dict[str, float]]:
    """Per kind: planned units by status now, how many were up to date, and the seconds of work
    this run (sum over units)."""
    out: dict[str, dict[str, float]] = {}
    ids_by_kind: dict[str, list[str]] = {}
    for u in plan.units:
        ids_by_kind.setdefault(u.kind, []).append(u.id)
    for kind, ids in ids_by_kind.items():
        counts = store.counts(ids).get(kind, {})
        todo = [i for i in ids if i in plan.todo]
        held = sum(1 for i in ids if i in plan.held)
        seconds = 0.0
        for i in range(0, len(todo), 500):
            chunk = todo[i:i + 500]
            row = store.conn.execute(f"SELECT SUM(seconds) FROM units WHERE id IN ({','.join('?' * len(chunk))})"
                                     " AND status='done'", chunk).fetchone()
            seconds += float(row[0] or 0.0)
        out[kind] = {"planned": len(ids), "up_to_date": len(ids) - len(todo) - held,
                     "done": counts.get("done", 0) - (len(ids) - len(todo) - held), "failed": counts.get("failed", 0),
                     "blocked": counts.get("blocked", 0),
                     "pending": counts.get("pending", 0) + counts.get("running", 0),
                     "seconds": round(seconds, 2)}
        if held:
            out[kind]["awaiting_review"] = held
    return out


def run_photos(photos: Sequence[Path], out_dir: str | Path, brief: str | Path, **kwargs: Any) -> RunOutcome:
    """``packshot run PHOTO...``: a catalogue of the given photos (SKU from each file name)."""
    return run_catalogue(manifest_from_photos(list(photos)), out_dir, brief=brief, **kwargs)


__all__ = ["Progress", "RunOutcome", "run_catalogue", "run_photos", "stage_summary"]
