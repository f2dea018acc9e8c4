"""The catalogue job store: one SQLite database (WAL) in the output folder, ``DIR/packshot.db``.

It records every unit of work of a catalogue run, so a rerun redoes only what changed, a killed
run resumes where it stopped, ``packshot catalogue --status DIR`` can say where a run stands, and
the review app (``packshot.web``) can read frames and record decisions on them.

Layout of ``DIR`` (every path in the database is relative to ``DIR``, POSIX separators)::

    DIR/packshot.db                         this database (+ -wal / -shm while open)
    DIR/sources/<sha256>.<ext>              every source photo and master artwork, named by content hash
    DIR/<sku>/cutout.png                    cut-out (RGBA) of the SKU's photo
    DIR/<sku>/maps/                         depth, normals, edges, materials, maps.json
    DIR/<sku>/<scene>/<variant>.png         frame (sRGB PNG)
    DIR/<sku>/<scene>/<variant>.json        frame record (sidecar: see packshot.render.io)
    DIR/<sku>/<scene>/<variant>_alpha.png   product alpha of the frame
    DIR/<sku>/<scene>/<variant>_qa.json     QA report (+ <variant>_qa_overlay.png)
    DIR/export/<file>                       exported files (name from the export template)
    DIR/export/packshot-manifest.json       what was exported where
    DIR/report.html, summary.csv, failures.csv

A **frame id** is ``"<sku>/<scene>/<variant>"`` (``variant`` is the file stem: ``v0``,
``v0_1080x1350``); its record is ``DIR/<frame id>.json`` and its image ``DIR/<frame id>.png``.

Schema (``PRAGMA user_version`` = :data:`SCHEMA_VERSION`)
-----------------------------------------------------------
``units``: one row per unit of work; units form a graph through ``deps``.

=============  ==========================================================================
column         meaning
=============  ==========================================================================
id             ``kind:sku[/scene/variant[/profile]]``, e.g. ``frame:SKU-1/studio/v0``
kind           ``cutout`` | ``maps`` | ``frame`` | ``qa`` | ``export``
sku, scene,    what the unit is about (NULL where not relevant); ``frame`` is the frame id
variant,       (set for frame, qa and export units)
profile, frame
deps           JSON list of unit ids this unit reads
key            hash of everything that determines the outputs (input hashes + config hash):
               a unit whose stored key equals its planned key and whose status is ``done``
               (and whose outputs are on disk) is not redone
input_hash     hash of the inputs alone (photo, upstream unit keys)
config_hash    hash of the settings alone (backend, scene of the brief, profile...)
status         ``pending`` | ``running`` | ``done`` | ``failed`` | ``blocked`` (an upstream
               unit failed)
attempts       how many times the unit was started (over all runs)
completions    how many times the unit finished with its current key (1 in a healthy store)
error, hint    why it failed and what to do (failed / blocked units)
seconds        wall time of the last attempt
updated        unix time of the last change
outputs        JSON ``{name: {"path": relative path, "sha256": hex, "bytes": n, "mtime_ns": t}}``
               (sha256 and size as :mod:`packshot.integrity` computes and verifies them; a
               rerun trusts a file whose size and mtime are unchanged, and hashes any other)
info           JSON: unit-specific facts (qa: ``verdict``, ``reasons``; frame: ``source_kind``;
               export: ``url``, ``width``, ``height``, ``format``)
run_id         the run that last changed the unit
=============  ==========================================================================

``skus``: one row per manifest row that became an SKU (``row`` is the 1-based manifest row,
the header not counted; ``photo`` / ``master`` are paths under ``sources/``; ``data`` the row as
read, JSON).

``runs``: one row per run (``started``, ``finished``, ``status`` running | done | failed |
interrupted, ``engine``, ``argv``, ``counts`` JSON).

``row_errors``: manifest rows that were skipped (``run_id``, ``row``, ``field``, ``problem``).

``decisions``: review decisions, written by the review app, never by the runner::

    id INTEGER PRIMARY KEY, frame TEXT (frame id), decision TEXT ('approve' | 'reject' |
    'rerender'), comment TEXT, note TEXT, who TEXT, at TEXT (ISO 8601 UTC),
    frame_key TEXT (the frame unit's key when the decision was made: a decision whose
    frame_key differs from the frame unit's current key is about an older render),
    handled_run INTEGER (a ``rerender`` decision: the catalogue run that applied it; NULL until then)

``overrides``: what applied re-render requests changed, kept for every later run (``target`` is a
frame id for ``kind`` = ``seed``, an SKU for ``kind`` = ``prompt``; ``value`` JSON; ``decision``
the decision id it came from). See :mod:`packshot.catalogue.review`.

An export unit held back because its SKU needs review and its frame is not approved has status
``awaiting_review`` (not a failure; the next run exports it once approved).

``files``: cache of file hashes (``path``, ``size``, ``mtime_ns``, ``sha256``) so that a rerun
does not re-read unchanged photos.

Concurrency: the runner's parent process is the only writer of ``units`` during a run (workers
return results to it); the review app writes ``decisions``. WAL lets readers (``--status``, the
web app) read while a run writes. Two runs on one ``DIR`` are kept apart by the output-folder
lock, not by the database.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

DB_NAME = "packshot.db"
SCHEMA_VERSION = 1
UNIT_KINDS = ("cutout", "maps", "frame", "qa", "export")
STATUSES = ("pending", "running", "done", "failed", "blocked", "awaiting_review")
DECISIONS = ("approve", "reject", "rerender")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS units (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    sku TEXT NOT NULL,
    scene TEXT,
    variant TEXT,
    profile TEXT,
    frame TEXT,
    deps TEXT NOT NULL DEFAULT '[]',
    key TEXT NOT NULL,
    input_hash TEXT,
    config_hash TEXT,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    completions INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    hint TEXT,
    seconds REAL,
    updated REAL,
    outputs TEXT NOT NULL DEFAULT '{}',
    info TEXT NOT NULL DEFAULT '{}',
    run_id INTEGER
);
CREATE INDEX IF NOT EXISTS units_sku ON units (sku);
CREATE INDEX IF NOT EXISTS units_frame ON units (frame);
CREATE INDEX IF NOT EXISTS units_status ON units (status);
CREATE TABLE IF NOT EXISTS skus (
    sku TEXT PRIMARY KEY,
    row INTEGER,
    photo TEXT,
    photo_sha256 TEXT,
    master TEXT,
    master_sha256 TEXT,
    title TEXT,
    category TEXT,
    profiles TEXT NOT NULL DEFAULT '[]',
    data TEXT NOT NULL DEFAULT '{}',
    run_id INTEGER
);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started REAL NOT NULL,
    finished REAL,
    status TEXT NOT NULL,
    engine TEXT,
    pid INTEGER,
    argv TEXT,
    manifest TEXT,
    brief TEXT,
    counts TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS row_errors (
    run_id INTEGER NOT NULL,
    row INTEGER,
    sku TEXT,
    field TEXT,
    problem TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    frame TEXT NOT NULL,
    decision TEXT NOT NULL CHECK (decision IN ('approve', 'reject', 'rerender')),
    comment TEXT,
    note TEXT,
    who TEXT,
    at TEXT NOT NULL,
    frame_key TEXT
);
CREATE INDEX IF NOT EXISTS decisions_frame ON decisions (frame);
CREATE TABLE IF NOT EXISTS overrides (
    target TEXT NOT NULL,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    decision INTEGER,
    PRIMARY KEY (target, kind)
);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    sha256 TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class Unit:
    """One planned unit of work (what the planner hands to the store and the engines)."""

    id: str
    kind: str
    sku: str
    key: str
    deps: tuple[str, ...] = ()
    scene: str | None = None
    variant: str | None = None
    profile: str | None = None
    frame: str | None = None
    input_hash: str = ""
    config_hash: str = ""


@dataclass(frozen=True)
class UnitResult:
    """What an engine reports for one unit."""

    id: str
    ok: bool
    seconds: float = 0.0
    outputs: Mapping[str, Any] | None = None
    info: Mapping[str, Any] | None = None
    error: str | None = None
    hint: str | None = None


def db_path(out_dir: str | Path) -> Path:
    return Path(out_dir) / DB_NAME


class JobStore:
    """The job store of one output folder.

    Parameters
    ----------
    out_dir : path
        The catalogue's output folder; the database is ``out_dir/packshot.db``.
    readonly : bool
        Open without creating or migrating (``--status``, the web app's reads).
    """

    def __init__(self, out_dir: str | Path, readonly: bool = False):
        self.out_dir = Path(out_dir)
        self.path = db_path(out_dir)
        if readonly:
            if not self.path.exists():
                raise FileNotFoundError(f"{self.path}: no catalogue job store here")
            self.conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30.0)
        else:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(self.path, timeout=30.0)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self._migrate()
        self.conn.row_factory = sqlite3.Row

    # ------------------------------------------------------------------------------ schema
    def _migrate(self) -> None:
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise RuntimeError(f"{self.path}: job store schema {version} is newer than this packshot "
                               f"({SCHEMA_VERSION}); upgrade packshot")
        with self.conn:
            self.conn.executescript(_SCHEMA)
            columns = {r[1] for r in self.conn.execute("PRAGMA table_info(decisions)")}
            if "handled_run" not in columns:  # stores made before re-render requests were applied
                self.conn.execute("ALTER TABLE decisions ADD COLUMN handled_run INTEGER")
            self.conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "JobStore":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ------------------------------------------------------------------------------ runs
    def start_run(self, engine: str, argv: Sequence[str] = (), manifest: str = "", brief: str = "") -> int:
        with self.conn:
            # a run that never finished was killed: say so
            self.conn.execute("UPDATE runs SET status='interrupted' WHERE status='running'")
            self.conn.execute("UPDATE units SET status='pending' WHERE status='running'")
            cur = self.conn.execute(
                "INSERT INTO runs (started, status, engine, pid, argv, manifest, brief) VALUES (?,?,?,?,?,?,?)",
                (time.time(), "running", engine, os.getpid(), json.dumps(list(argv)), manifest, brief))
        return int(cur.lastrowid)

    def finish_run(self, run_id: int, status: str, counts: Mapping[str, Any]) -> None:
        with self.conn:
            self.conn.execute("UPDATE runs SET finished=?, status=?, counts=? WHERE id=?",
                              (time.time(), status, json.dumps(dict(counts), sort_keys=True), run_id))

    def last_run(self) -> dict | None:
        row = self.conn.execute("SELECT * FROM runs ORDER BY id DESC LIMIT 1").fetchone()
        return dict(row) if row else None

    def record_row_errors(self, run_id: int, errors: Iterable[Any]) -> None:
        with self.conn:
            self.conn.execute("DELETE FROM row_errors WHERE run_id=?", (run_id,))
            self.conn.executemany(
                "INSERT INTO row_errors (run_id, row, sku, field, problem) VALUES (?,?,?,?,?)",
                [(run_id, e.row, e.sku, e.field, e.problem) for e in errors])

    def row_errors(self, run_id: int | None = None) -> list[dict]:
        if run_id is None:
            last = self.last_run()
            run_id = last["id"] if last else -1
        return [dict(r) for r in self.conn.execute("SELECT * FROM row_errors WHERE run_id=? ORDER BY row", (run_id,))]

    # ------------------------------------------------------------------------------ skus
    def upsert_skus(self, run_id: int, rows: Iterable[Mapping[str, Any]]) -> None:
        with self.conn:
            self.conn.executemany(
                "INSERT INTO skus (sku, row, photo, photo_sha256, master, master_sha256, title, category, profiles,"
                " data, run_id) VALUES (:sku, :row, :photo, :photo_sha256, :master, :master_sha256, :title,"
                " :category, :profiles, :data, :run_id) ON CONFLICT(sku) DO UPDATE SET row=excluded.row,"
                " photo=excluded.photo, photo_sha256=excluded.photo_sha256, master=excluded.master,"
                " master_sha256=excluded.master_sha256, title=excluded.title, category=excluded.category,"
                " profiles=excluded.profiles, data=excluded.data, run_id=excluded.run_id",
                [dict(r, run_id=run_id, profiles=json.dumps(list(r.get("profiles", ()))),
                      data=json.dumps(r.get("data", {}), sort_keys=True, default=str)) for r in rows])

    def skus(self, run_id: int | None = None) -> list[dict]:
        sql = "SELECT * FROM skus" + (" WHERE run_id=?" if run_id is not None else "") + " ORDER BY row, sku"
        out = []
        for r in self.conn.execute(sql, (run_id,) if run_id is not None else ()):
            d = dict(r)
            d["profiles"] = json.loads(d["profiles"])
            d["data"] = json.loads(d["data"])
            out.append(d)
        return out

    # ------------------------------------------------------------------------------ units
    def units(self, where: str = "", params: Sequence[Any] = ()) -> list[dict]:
        """Unit rows as dicts (``deps``, ``outputs`` and ``info`` decoded)."""
        sql = "SELECT * FROM units" + (f" WHERE {where}" if where else "") + " ORDER BY id"
        return [_decode_unit(r) for r in self.conn.execute(sql, tuple(params))]

    def unit(self, unit_id: str) -> dict | None:
        r = self.conn.execute("SELECT * FROM units WHERE id=?", (unit_id,)).fetchone()
        return _decode_unit(r) if r else None

    def current(self) -> dict[str, tuple[str, str, str]]:
        """``{unit id: (key, status, outputs JSON)}`` of every unit: what the planner compares against."""
        return {r[0]: (r[1], r[2], r[3]) for r in self.conn.execute("SELECT id, key, status, outputs FROM units")}

    def plan(self, run_id: int, units: Sequence[Unit], todo: set[str]) -> None:
        """Write the planned units: those in ``todo`` become pending with their new key; the others
        (up to date) keep their row. Units no longer planned are left as they are (an SKU dropped
        from the manifest keeps its history)."""
        now = time.time()
        with self.conn:
            self.conn.executemany(
                "INSERT INTO units (id, kind, sku, scene, variant, profile, frame, deps, key, input_hash, config_hash,"
                " status, updated, run_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,'pending',?,?) ON CONFLICT(id) DO UPDATE SET"
                " deps=excluded.deps, key=excluded.key, input_hash=excluded.input_hash,"
                " config_hash=excluded.config_hash, status='pending', error=NULL, hint=NULL,"
                " completions=CASE WHEN units.key=excluded.key THEN units.completions ELSE 0 END,"
                " updated=excluded.updated, run_id=excluded.run_id",
                [(u.id, u.kind, u.sku, u.scene, u.variant, u.profile, u.frame, json.dumps(list(u.deps)), u.key,
                  u.input_hash, u.config_hash, now, run_id) for u in units if u.id in todo])

    def mark_running(self, unit_ids: Sequence[str]) -> None:
        with self.conn:
            self.conn.executemany("UPDATE units SET status='running', attempts=attempts+1, updated=? WHERE id=?",
                                  [(time.time(), i) for i in unit_ids])

    def record(self, run_id: int, results: Sequence[UnitResult]) -> None:
        """Record finished units (one transaction)."""
        now = time.time()
        with self.conn:
            for r in results:
                if r.ok:
                    self.conn.execute(
                        "UPDATE units SET status='done', completions=completions+1, error=NULL, hint=NULL, seconds=?,"
                        " outputs=?, info=?, updated=?, run_id=? WHERE id=?",
                        (r.seconds, json.dumps(dict(r.outputs or {}), sort_keys=True),
                         json.dumps(dict(r.info or {}), sort_keys=True, default=str), now, run_id, r.id))
                else:
                    self.conn.execute(
                        "UPDATE units SET status='failed', error=?, hint=?, seconds=?, info=?, updated=?, run_id=?"
                        " WHERE id=?", (r.error, r.hint, r.seconds, json.dumps(dict(r.info or {}), default=str), now,
                                        run_id, r.id))

    def block(self, run_id: int, unit_ids: Sequence[str], reason: str) -> None:
        with self.conn:
            self.conn.executemany("UPDATE units SET status='blocked', error=?, hint=?, updated=?, run_id=? WHERE id=?",
                                  [(reason, "fix the upstream failure and run again", time.time(), run_id, i)
                                   for i in unit_ids])

    def hold(self, run_id: int, units: Sequence[Unit], reasons: Mapping[str, str]) -> None:
        """Write export units held back for review: status ``awaiting_review`` with their planned key
        (a later run whose plan has the same key and an approved frame exports them)."""
        now = time.time()
        with self.conn:
            self.conn.executemany(
                "INSERT INTO units (id, kind, sku, scene, variant, profile, frame, deps, key, input_hash, config_hash,"
                " status, error, hint, updated, run_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,'awaiting_review',?,?,?,?)"
                " ON CONFLICT(id) DO UPDATE SET deps=excluded.deps, key=excluded.key,"
                " input_hash=excluded.input_hash, config_hash=excluded.config_hash, status='awaiting_review',"
                " error=excluded.error, hint=excluded.hint, updated=excluded.updated, run_id=excluded.run_id",
                [(u.id, u.kind, u.sku, u.scene, u.variant, u.profile, u.frame, json.dumps(list(u.deps)), u.key,
                  u.input_hash, u.config_hash, reasons[u.id], "approve the frame in packshot review, then run the "
                  "catalogue again", now, run_id) for u in units if u.id in reasons])

    def counts(self, unit_ids: Iterable[str] | None = None) -> dict[str, dict[str, int]]:
        """``{kind: {status: n}}`` over all units (or the given ones)."""
        out: dict[str, dict[str, int]] = {}
        if unit_ids is None:
            rows = self.conn.execute("SELECT kind, status, COUNT(*) FROM units GROUP BY kind, status").fetchall()
        else:
            ids = list(unit_ids)
            rows = []
            for i in range(0, len(ids), 500):
                chunk = ids[i:i + 500]
                rows += self.conn.execute(
                    f"SELECT kind, status, COUNT(*) FROM units WHERE id IN ({','.join('?' * len(chunk))})"
                    " GROUP BY kind, status", chunk).fetchall()
        for kind, status, n in rows:
            out.setdefault(kind, {}).setdefault(status, 0)
            out[kind][status] += n
        return out

    # ------------------------------------------------------------------------------ file hashes
    def cached_sha256(self, path: Path) -> str:
        """sha256 of a file, from the cache when its size and mtime are unchanged."""
        from ..provenance import sha256_file

        st = path.stat()
        key = str(path.resolve())
        row = self.conn.execute("SELECT size, mtime_ns, sha256 FROM files WHERE path=?", (key,)).fetchone()
        if row and row[0] == st.st_size and row[1] == st.st_mtime_ns:
            return row[2]
        digest = sha256_file(path)
        with self.conn:
            self.conn.execute("INSERT OR REPLACE INTO files (path, size, mtime_ns, sha256) VALUES (?,?,?,?)",
                              (key, st.st_size, st.st_mtime_ns, digest))
        return digest

    # ------------------------------------------------------------------------------ decisions
    def add_decision(self, frame: str, decision: str, comment: str = "", note: str = "", who: str = "",
                     at: str | None = None) -> int:
        """Record a review decision on a frame (``frame`` is a frame id ``sku/scene/variant``)."""
        if decision not in DECISIONS:
            raise ValueError(f"decision must be one of {', '.join(DECISIONS)}, got {decision!r}")
        import datetime

        at = at or datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        row = self.conn.execute("SELECT key FROM units WHERE id=?", (f"frame:{frame}",)).fetchone()
        with self.conn:
            cur = self.conn.execute(
                "INSERT INTO decisions (frame, decision, comment, note, who, at, frame_key) VALUES (?,?,?,?,?,?,?)",
                (frame, decision, comment, note, who, at, row[0] if row else None))
        return int(cur.lastrowid)

    def decisions(self, frame: str | None = None) -> list[dict]:
        if frame is None:
            rows = self.conn.execute("SELECT * FROM decisions ORDER BY id")
        else:
            rows = self.conn.execute("SELECT * FROM decisions WHERE frame=? ORDER BY id", (frame,))
        return [dict(r) for r in rows]

    def newest_decisions(self) -> dict[str, dict]:
        """The newest decision of every frame (``{frame id: decisions row}``)."""
        rows = self.conn.execute("SELECT d.* FROM decisions d JOIN (SELECT frame, MAX(id) AS id FROM decisions "
                                 "GROUP BY frame) m ON d.id = m.id")
        return {r["frame"]: dict(r) for r in rows}

    def mark_handled(self, run_id: int, decision_ids: Sequence[int]) -> None:
        with self.conn:
            self.conn.executemany("UPDATE decisions SET handled_run=? WHERE id=?", [(run_id, i) for i in decision_ids])

    def overrides(self) -> dict[tuple[str, str], Any]:
        """``{(target, kind): value}`` of applied re-render requests."""
        return {(r[0], r[1]): json.loads(r[2]) for r in self.conn.execute("SELECT target, kind, value FROM overrides")}

    def set_override(self, target: str, kind: str, value: Any, decision: int | None) -> None:
        with self.conn:
            self.conn.execute("INSERT OR REPLACE INTO overrides (target, kind, value, decision) VALUES (?,?,?,?)",
                              (target, kind, json.dumps(value, sort_keys=True), decision))

    def frames(self) -> Iterator[dict]:
        """Frame units with their QA verdict and export files (what a reviewer looks at)."""
        qa = {u["frame"]: u for u in self.units("kind='qa'")}
        exports: dict[str, list[dict]] = {}
        for u in self.units("kind='export'"):
            exports.setdefault(u["frame"], []).append(u)
        for f in self.units("kind='frame'"):
            q = qa.get(f["frame"])
            yield dict(f, qa=q, exports=exports.get(f["frame"], []))


def _decode_unit(row: sqlite3.Row) -> dict:
    d = dict(row)
    for k in ("deps", "outputs", "info"):
        d[k] = json.loads(d[k]) if d.get(k) else ({} if k != "deps" else [])
    return d


__all__ = ["DB_NAME", "DECISIONS", "JobStore", "SCHEMA_VERSION", "UNIT_KINDS", "Unit", "UnitResult", "db_path"]
