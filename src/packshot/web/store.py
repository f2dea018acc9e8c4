"""Review decisions and the frame index of a run folder, in one SQLite file.

Where: ``<run>/.packshot/review.sqlite`` (:func:`store_path`). Two tables:

``frames``    one row per frame sidecar (``<sku>/<scene>/<variant>.json``), indexed from the folder:
              ``frame`` (the sidecar path relative to the run, without ``.json``: ``sku/scene/v0``),
              ``sku``, ``scene``, ``variant``, ``verdict`` (``pass`` / ``review`` / ``fail`` from
              ``<variant>_qa.json``, ``unchecked`` when there is none), ``reasons`` (JSON list of words),
              and the current decision (``decision``, ``decided_by``, ``decided_at``), kept equal to the
              newest row of ``decisions`` in the same transaction.
``decisions`` every decision ever made (append only): ``frame``, ``decision`` (``approved`` /
              ``rejected`` / ``rerender``), ``comment``, and for a re-render request ``seed`` (new seed),
              ``box`` (JSON ``[x0, y0, x1, y1]`` in pixels of the EXIF-rotated source photo) and
              ``brief_change`` (words or YAML for the scene), with ``who`` and ``at`` (UTC ISO 8601).

A later ``packshot catalogue`` run reads :func:`rerender_requests` (the frames whose current decision is
``rerender``); ``packshot export --approved`` reads :func:`approved_frames`.

**The catalogue's job store.** When the run folder is a catalogue output (``DIR/packshot.db``, see
:mod:`packshot.catalogue.store`), that database is the system of record: every decision is written to its
``decisions`` table first (``approve`` / ``reject`` / ``rerender``, ``comment``, ``who``, ``at``, and for a
re-render ``note`` = JSON ``{"seed": int|null, "box": [x0, y0, x1, y1]|null, "brief_change": str}``), then
mirrored here; decisions found there that this file has not seen (made by another tool or another copy of
the app) are replayed here on every (re)index. This file stays the fast index the queue pages query.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

SCHEMA_VERSION = 1
DECISIONS = ("approved", "rejected", "rerender")
VERDICTS = ("pass", "review", "fail", "unchecked")
STORE_DIR = ".packshot"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS frames (
    frame TEXT PRIMARY KEY,
    sku TEXT NOT NULL, scene TEXT NOT NULL, variant TEXT NOT NULL,
    verdict TEXT NOT NULL, reasons TEXT NOT NULL DEFAULT '[]',
    stamp TEXT NOT NULL DEFAULT '',
    decision TEXT, decided_by TEXT, decided_at TEXT, seq INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS frames_order ON frames (sku, scene, variant);
CREATE INDEX IF NOT EXISTS frames_verdict ON frames (verdict, sku, scene, variant);
CREATE INDEX IF NOT EXISTS frames_decision ON frames (decision, sku, scene, variant);
CREATE INDEX IF NOT EXISTS frames_scene ON frames (scene, sku, variant);
CREATE TABLE IF NOT EXISTS decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    frame TEXT NOT NULL,
    decision TEXT NOT NULL CHECK (decision IN ('approved', 'rejected', 'rerender')),
    comment TEXT NOT NULL DEFAULT '',
    seed INTEGER, box TEXT, brief_change TEXT NOT NULL DEFAULT '',
    who TEXT NOT NULL, at TEXT NOT NULL,
    catalogue_id INTEGER UNIQUE
);
CREATE INDEX IF NOT EXISTS decisions_frame ON decisions (frame, id);
"""


def store_path(run_dir: str | Path) -> Path:
    """The review store of a run folder."""
    return Path(run_dir) / STORE_DIR / "review.sqlite"


def utc_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


@dataclass(frozen=True)
class Decision:
    """One decision as stored."""

    frame: str
    decision: str
    who: str
    at: str
    comment: str = ""
    seed: int | None = None
    box: tuple[int, int, int, int] | None = None
    brief_change: str = ""


class ReviewStore:
    """The SQLite store of one run folder (thread-safe: one connection per thread, WAL journal)."""

    def __init__(self, path: str | Path, catalogue: "CatalogueLink | None" = None):
        self.path = Path(path)
        self.catalogue = catalogue
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._write_lock = threading.Lock()
        with self._conn() as db:
            db.executescript(_SCHEMA)
            db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return _Tx(conn)

    # ------------------------------------------------------------------------------ frame index
    def upsert_frames(self, rows: Iterable[dict[str, Any]]) -> int:
        """Insert or refresh frames (keeps their decisions). Returns how many rows were written."""
        rows = list(rows)
        with self._write_lock, self._conn() as db:
            db.executemany(
                "INSERT INTO frames (frame, sku, scene, variant, verdict, reasons, stamp) "
                "VALUES (:frame, :sku, :scene, :variant, :verdict, :reasons, :stamp) "
                "ON CONFLICT(frame) DO UPDATE SET sku=excluded.sku, scene=excluded.scene, variant=excluded.variant, "
                "verdict=excluded.verdict, reasons=excluded.reasons, stamp=excluded.stamp",
                [{**r, "reasons": json.dumps(list(r.get("reasons", [])))} for r in rows])
        return len(rows)

    def refresh_current(self, frames: list[str]) -> None:
        """Set the current decision of (re)indexed frames from the decision history."""
        with self._write_lock, self._conn() as db:
            db.execute("BEGIN IMMEDIATE")
            for frame in frames:
                row = db.execute("SELECT id, decision, who, at FROM decisions WHERE frame = ? ORDER BY id DESC LIMIT 1",
                                 (frame,)).fetchone()
                if row is not None:
                    db.execute("UPDATE frames SET decision = ?, decided_by = ?, decided_at = ?, seq = ? WHERE frame = ?",
                               (row[1], row[2], row[3], row[0], frame))
            db.execute("COMMIT")

    def remove_frames_except(self, keep: set[str]) -> int:
        """Drop index rows of frames no longer in the folder (their decisions stay in ``decisions``)."""
        with self._write_lock, self._conn() as db:
            stale = [r[0] for r in db.execute("SELECT frame FROM frames") if r[0] not in keep]
            db.executemany("DELETE FROM frames WHERE frame = ?", [(f,) for f in stale])
        return len(stale)

    def stamps(self) -> dict[str, str]:
        with self._conn() as db:
            return {r[0]: r[1] for r in db.execute("SELECT frame, stamp FROM frames")}

    def _where(self, verdict: str | None, sku: str | None, scene: str | None, decision: str | None):
        clauses, args = [], []
        if verdict:
            clauses.append("verdict = ?")
            args.append(verdict)
        if sku:
            clauses.append("sku = ?")
            args.append(sku)
        if scene:
            clauses.append("scene = ?")
            args.append(scene)
        if decision == "undecided":
            clauses.append("decision IS NULL")
        elif decision:
            clauses.append("decision = ?")
            args.append(decision)
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", args

    def query(self, verdict=None, sku=None, scene=None, decision=None, offset: int = 0, limit: int = 60
              ) -> tuple[list[dict[str, Any]], int]:
        """One page of frames (ordered by sku, scene, variant) and the total matching the filters."""
        where, args = self._where(verdict, sku, scene, decision)
        with self._conn() as db:
            total = db.execute(f"SELECT COUNT(*) FROM frames{where}", args).fetchone()[0]
            rows = db.execute(f"SELECT * FROM frames{where} ORDER BY sku, scene, variant LIMIT ? OFFSET ?",
                              [*args, int(limit), int(offset)]).fetchall()
        return [_row(r) for r in rows], total

    def neighbours(self, frame: str, verdict=None, sku=None, scene=None, decision=None
                   ) -> tuple[str | None, str | None]:
        """The previous and next frame in queue order (within the same filters)."""
        row = self.frame(frame)
        if row is None:
            return None, None
        where, args = self._where(verdict, sku, scene, decision)
        key = (row["sku"], row["scene"], row["variant"])
        glue = " AND " if where else " WHERE "
        with self._conn() as db:
            prev = db.execute(f"SELECT frame FROM frames{where}{glue}(sku, scene, variant) < (?, ?, ?) "
                              "ORDER BY sku DESC, scene DESC, variant DESC LIMIT 1", [*args, *key]).fetchone()
            nxt = db.execute(f"SELECT frame FROM frames{where}{glue}(sku, scene, variant) > (?, ?, ?) "
                             "ORDER BY sku, scene, variant LIMIT 1", [*args, *key]).fetchone()
        return (prev[0] if prev else None), (nxt[0] if nxt else None)

    def frame(self, frame: str) -> dict[str, Any] | None:
        with self._conn() as db:
            r = db.execute("SELECT * FROM frames WHERE frame = ?", (frame,)).fetchone()
        return _row(r) if r else None

    def counts(self) -> dict[str, dict[str, int]]:
        """Frames per verdict and per current decision (``undecided`` for none)."""
        with self._conn() as db:
            verdicts = {r[0]: r[1] for r in db.execute("SELECT verdict, COUNT(*) FROM frames GROUP BY verdict")}
            decisions = {(r[0] or "undecided"): r[1]
                         for r in db.execute("SELECT decision, COUNT(*) FROM frames GROUP BY decision")}
        return {"verdict": verdicts, "decision": decisions}

    def facets(self) -> dict[str, list[str]]:
        with self._conn() as db:
            skus = [r[0] for r in db.execute("SELECT DISTINCT sku FROM frames ORDER BY sku")]
            scenes = [r[0] for r in db.execute("SELECT DISTINCT scene FROM frames ORDER BY scene")]
        return {"sku": skus, "scene": scenes}

    # ------------------------------------------------------------------------------ decisions
    def decide(self, frame: str, decision: str, who: str, comment: str = "", seed: int | None = None,
               box: tuple[int, int, int, int] | None = None, brief_change: str = "", at: str | None = None
               ) -> Decision:
        """Record a decision (with who and when) and make it the frame's current one."""
        if decision not in DECISIONS:
            raise ValueError(f"decision must be one of {DECISIONS}, got {decision!r}")
        if not who or not who.strip():
            raise ValueError("who: a reviewer name is required")
        at = at or utc_now()
        made = Decision(frame, decision, who.strip(), at, comment, seed, tuple(box) if box else None, brief_change)
        catalogue_id = self.catalogue.record(made) if self.catalogue is not None else None
        with self._write_lock, self._conn() as db:
            db.execute("BEGIN IMMEDIATE")
            cur = db.execute(
                "INSERT INTO decisions (frame, decision, comment, seed, box, brief_change, who, at, catalogue_id) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (frame, decision, comment, seed, json.dumps(list(box)) if box else None, brief_change,
                 who.strip(), at, catalogue_id))
            db.execute("UPDATE frames SET decision = ?, decided_by = ?, decided_at = ?, seq = ? WHERE frame = ?",
                       (decision, who.strip(), at, cur.lastrowid, frame))
            db.execute("COMMIT")
        return made

    def decide_many(self, frames: list[str], decision: str, who: str, comment: str = "") -> int:
        at = utc_now()
        ids = (self.catalogue.record_many([Decision(f, decision, who, at, comment) for f in frames])
               if self.catalogue is not None else [None] * len(frames))
        with self._write_lock, self._conn() as db:
            db.execute("BEGIN IMMEDIATE")
            for frame, catalogue_id in zip(frames, ids):
                cur = db.execute("INSERT INTO decisions (frame, decision, comment, who, at, catalogue_id) "
                                 "VALUES (?, ?, ?, ?, ?, ?)", (frame, decision, comment, who, at, catalogue_id))
                db.execute("UPDATE frames SET decision = ?, decided_by = ?, decided_at = ?, seq = ? WHERE frame = ?",
                           (decision, who, at, cur.lastrowid, frame))
            db.execute("COMMIT")
        return len(frames)

    def frames_matching(self, verdict=None, sku=None, scene=None, decision=None) -> list[str]:
        where, args = self._where(verdict, sku, scene, decision)
        with self._conn() as db:
            return [r[0] for r in db.execute(f"SELECT frame FROM frames{where} ORDER BY sku, scene, variant", args)]

    def history(self, frame: str) -> list[Decision]:
        with self._conn() as db:
            rows = db.execute("SELECT * FROM decisions WHERE frame = ? ORDER BY id", (frame,)).fetchall()
        return [_decision(r) for r in rows]

    def current(self) -> dict[str, Decision]:
        """The newest decision of every frame ever decided (frames since removed included)."""
        with self._conn() as db:
            rows = db.execute("SELECT d.* FROM decisions d JOIN (SELECT frame, MAX(id) AS id FROM decisions "
                              "GROUP BY frame) m ON d.id = m.id").fetchall()
        return {r["frame"]: _decision(r) for r in rows}

    def sync_from_catalogue(self) -> int:
        """Replay decisions of the catalogue's job store that this store has not seen; returns how many."""
        if self.catalogue is None:
            return 0
        with self._conn() as db:
            last = db.execute("SELECT COALESCE(MAX(catalogue_id), 0) FROM decisions").fetchone()[0]
        new = self.catalogue.decisions_after(last)
        with self._write_lock, self._conn() as db:
            db.execute("BEGIN IMMEDIATE")
            for catalogue_id, d in new:
                cur = db.execute(
                    "INSERT OR IGNORE INTO decisions (frame, decision, comment, seed, box, brief_change, who, at, "
                    "catalogue_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (d.frame, d.decision, d.comment, d.seed, json.dumps(list(d.box)) if d.box else None,
                     d.brief_change, d.who, d.at, catalogue_id))
                if cur.rowcount:
                    db.execute("UPDATE frames SET decision = ?, decided_by = ?, decided_at = ?, seq = ? "
                               "WHERE frame = ?", (d.decision, d.who, d.at, cur.lastrowid, d.frame))
            db.execute("COMMIT")
        return len(new)

    def clear_handled(self) -> int:
        """Frames whose current decision is a ``rerender`` that a catalogue run has applied (the frame was
        rendered again) go back to undecided; the request stays in the history. Returns how many."""
        if self.catalogue is None:
            return 0
        with self._conn() as db:
            rows = db.execute("SELECT f.frame, d.catalogue_id FROM frames f JOIN decisions d ON d.id = f.seq "
                              "WHERE f.decision = 'rerender' AND d.catalogue_id IS NOT NULL").fetchall()
        if not rows:
            return 0
        handled = self.catalogue.handled_ids()
        stale = [r[0] for r in rows if r[1] in handled]
        if stale:
            with self._write_lock, self._conn() as db:
                db.execute("BEGIN IMMEDIATE")
                db.executemany("UPDATE frames SET decision = NULL, decided_by = NULL, decided_at = NULL "
                               "WHERE frame = ? AND decision = 'rerender'", [(f,) for f in stale])
                db.execute("COMMIT")
        return len(stale)

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


class _Tx:
    """``with store._conn() as db``: the thread's connection (autocommit; explicit BEGIN where needed)."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        return self.conn

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None and self.conn.in_transaction:
            self.conn.execute("ROLLBACK")


def _row(r: sqlite3.Row) -> dict[str, Any]:
    d = dict(r)
    d["reasons"] = json.loads(d.get("reasons") or "[]")
    return d


def _decision(r: sqlite3.Row) -> Decision:
    box = json.loads(r["box"]) if r["box"] else None
    return Decision(r["frame"], r["decision"], r["who"], r["at"], r["comment"] or "", r["seed"],
                    tuple(box) if box else None, r["brief_change"] or "")


# ------------------------------------------------------------------------------ the catalogue's job store
_TO_CATALOGUE = {"approved": "approve", "rejected": "reject", "rerender": "rerender"}
_FROM_CATALOGUE = {v: k for k, v in _TO_CATALOGUE.items()}


class CatalogueLink:
    """The job store of a catalogue output folder (``DIR/packshot.db``): decisions and SKU sources."""

    def __init__(self, run_dir: str | Path):
        self.run_dir = Path(run_dir)

    @staticmethod
    def present(run_dir: str | Path) -> bool:
        from ..catalogue.store import db_path

        return db_path(run_dir).is_file()

    def _open(self, readonly: bool):
        from ..catalogue.store import JobStore

        return JobStore(self.run_dir, readonly=readonly)

    @staticmethod
    def _note(d: Decision) -> str:
        if d.decision != "rerender":
            return ""
        return json.dumps({"seed": d.seed, "box": list(d.box) if d.box else None, "brief_change": d.brief_change},
                          sort_keys=True)

    def record(self, d: Decision) -> int:
        with self._open(readonly=False) as js:
            return js.add_decision(d.frame, _TO_CATALOGUE[d.decision], comment=d.comment, note=self._note(d),
                                   who=d.who, at=d.at)

    def record_many(self, decisions: list[Decision]) -> list[int]:
        with self._open(readonly=False) as js:
            return [js.add_decision(d.frame, _TO_CATALOGUE[d.decision], comment=d.comment, note=self._note(d),
                                    who=d.who, at=d.at) for d in decisions]

    def decisions_after(self, last_id: int) -> list[tuple[int, Decision]]:
        out = []
        with self._open(readonly=True) as js:
            for row in js.decisions():
                if row["id"] <= last_id or row["decision"] not in _FROM_CATALOGUE:
                    continue
                try:
                    extra = json.loads(row.get("note") or "{}") if row["decision"] == "rerender" else {}
                except ValueError:
                    extra = {"brief_change": row.get("note") or ""}
                if not isinstance(extra, dict):
                    extra = {}
                box = extra.get("box")
                out.append((row["id"], Decision(
                    row["frame"], _FROM_CATALOGUE[row["decision"]], row.get("who") or "unknown", row["at"],
                    row.get("comment") or "", extra.get("seed"), tuple(box) if box else None,
                    str(extra.get("brief_change") or ""))))
        return out

    def handled_ids(self) -> set[int]:
        """Ids of ``rerender`` decisions a catalogue run has applied (``handled_run`` set)."""
        with self._open(readonly=True) as js:
            cols = {r[1] for r in js.conn.execute("PRAGMA table_info(decisions)")}
            if "handled_run" not in cols:
                return set()
            return {r[0] for r in js.conn.execute("SELECT id FROM decisions WHERE handled_run IS NOT NULL")}

    def sku_sources(self, sku: str) -> tuple[Path | None, Path | None]:
        """The SKU's source photo and master artwork as the catalogue stored them (under ``DIR``)."""
        with self._open(readonly=True) as js:
            row = js.conn.execute("SELECT photo, master FROM skus WHERE sku = ?", (sku,)).fetchone()
        if row is None:
            return None, None
        return tuple((self.run_dir / p) if p else None for p in (row[0], row[1]))  # type: ignore[return-value]


def open_store(run_dir: str | Path, path: str | Path | None = None) -> ReviewStore:
    """The review store of a run folder, linked to the catalogue's job store when the folder has one."""
    link = CatalogueLink(run_dir) if CatalogueLink.present(run_dir) else None
    return ReviewStore(path or store_path(run_dir), catalogue=link)


# ------------------------------------------------------------------------------ folder index
def frame_id(run_dir: Path, sidecar: Path) -> str:
    """``sku/scene/v0`` for ``<run>/sku/scene/v0.json``."""
    return sidecar.relative_to(run_dir).with_suffix("").as_posix()


def index_folder(run_dir: str | Path, store: ReviewStore) -> dict[str, int]:
    """Bring the store's frame index up to date with the folder: new or changed sidecars / qa reports are
    (re)read, vanished ones dropped. Unchanged frames (same mtimes and sizes) are not read again."""
    run_dir = Path(run_dir)
    known = store.stamps()
    seen: set[str] = set()
    changed = []
    for dirpath, dirnames, filenames in os.walk(run_dir):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        names = set(filenames)
        for name in sorted(filenames):
            if not name.endswith(".json") or name.endswith("_qa.json"):
                continue
            stem = name[:-5]
            if f"{stem}.png" not in names:
                continue
            sidecar = Path(dirpath) / name
            fid = frame_id(run_dir, sidecar)
            qa = Path(dirpath) / f"{stem}_qa.json"
            stamp = _stamp(sidecar) + "|" + (_stamp(qa) if f"{stem}_qa.json" in names else "-")
            seen.add(fid)
            if known.get(fid) == stamp:
                continue
            row = _read_frame(run_dir, sidecar, qa if f"{stem}_qa.json" in names else None)
            if row is not None:
                row["stamp"] = stamp
                changed.append(row)
            else:
                seen.discard(fid)
    store.upsert_frames(changed)
    removed = store.remove_frames_except(seen)
    store.refresh_current([r["frame"] for r in changed])
    synced = store.sync_from_catalogue()
    store.clear_handled()  # a re-render the catalogue made comes back undecided
    return {"frames": len(seen), "read": len(changed), "removed": removed, "synced": synced}


def _stamp(path: Path) -> str:
    st = path.stat()
    return f"{st.st_mtime_ns}:{st.st_size}"


def _read_frame(run_dir: Path, sidecar: Path, qa: Path | None) -> dict[str, Any] | None:
    try:
        data = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if not isinstance(data, dict) or not all(k in data for k in ("sku", "variant", "product_alpha")):
        return None
    verdict, reasons = "unchecked", []
    if qa is not None:
        try:
            report = json.loads(qa.read_text(encoding="utf-8"))
            verdict = str(report.get("verdict", "unchecked"))
            reasons = [str(r) for r in report.get("reasons", [])]
        except (OSError, UnicodeDecodeError, ValueError):
            verdict, reasons = "unchecked", [f"{qa.name} cannot be read"]
    if verdict not in VERDICTS:
        verdict = "unchecked"
    return {"frame": frame_id(run_dir, sidecar), "sku": str(data["sku"]), "scene": str(data.get("scene", "")),
            "variant": sidecar.stem, "verdict": verdict, "reasons": reasons}


# ------------------------------------------------------------------------------ readers for other commands
def find_run_dir(path: str | Path) -> Path | None:
    """The run folder holding ``path``: the nearest folder at or above it with a review store or a catalogue
    job store."""
    p = Path(path).resolve()
    for candidate in [p, *p.parents]:
        if store_path(candidate).is_file() or CatalogueLink.present(candidate):
            return candidate
    return None


def current_decisions(run_dir: str | Path) -> dict[str, Decision]:
    """The newest decision of every frame of a run: from the catalogue's job store when the run has one (the
    system of record), else from the review store; empty when neither exists."""
    run_dir = Path(run_dir)
    if CatalogueLink.present(run_dir):
        link = CatalogueLink(run_dir)
        newest: dict[str, tuple[int, Decision]] = {}
        for ident, d in link.decisions_after(0):
            newest[d.frame] = (ident, d)
        handled = link.handled_ids()  # an applied re-render request: the frame is undecided again
        return {f: d for f, (ident, d) in newest.items() if ident not in handled}
    path = store_path(run_dir)
    if not path.is_file():
        return {}
    store = ReviewStore(path)
    try:
        return store.current()
    finally:
        store.close()


def approved_frames(run_dir: str | Path) -> set[str]:
    """Frame ids (``sku/scene/v0``) whose current decision is ``approved``."""
    return {f for f, d in current_decisions(run_dir).items() if d.decision == "approved"}


def rerender_requests(run_dir: str | Path) -> list[Decision]:
    """Frames whose current decision asks for a re-render (note, new seed, box prompt, brief change)."""
    return sorted((d for d in current_decisions(run_dir).values() if d.decision == "rerender"), key=lambda d: d.frame)


def keep_approved(paths: Iterable[str | Path]) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Split frame sidecars into the approved ones and the rest (with the reason each is held back).

    A frame counts as approved when the review store of its run folder (the nearest folder above it
    with ``.packshot/review.sqlite``) says so now; plain images and frames of runs never reviewed are
    held back.
    """
    kept: list[Path] = []
    held: list[tuple[Path, str]] = []
    decided_by_run: dict[Path, dict[str, Decision]] = {}
    for item in paths:
        p = Path(item)
        if p.suffix.lower() != ".json":
            held.append((p, "not a reviewed frame (no sidecar)"))
            continue
        run = find_run_dir(p.parent)
        if run is None:
            held.append((p, "its run has no review decisions (run packshot review on it)"))
            continue
        if run not in decided_by_run:
            decided_by_run[run] = current_decisions(run)
        fid = p.resolve().relative_to(run).with_suffix("").as_posix()
        decision = decided_by_run[run].get(fid)
        if decision is None:
            held.append((p, "not reviewed yet"))
        elif decision.decision != "approved":
            held.append((p, f"{decision.decision} by {decision.who} at {decision.at}"))
        else:
            kept.append(p)
    return kept, held
