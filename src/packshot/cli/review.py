"""``packshot review DIR``: the review pages over a run folder (queue at ``/``), with the API beside them.
Decisions go to ``DIR/.packshot/review.sqlite`` (see :mod:`packshot.web.store`).

    packshot review runs/may                       # serve the review app on 127.0.0.1:8000
    packshot review runs/may --json --port 0       # ... and say where, as one JSON object on stdout
    packshot review runs/may --list --decision undecided --json   # the queue, one object per frame; no server

With ``--json`` the server prints one ``{"event": "ready", "url", "port", ...}`` object when it listens
(see :mod:`packshot.cli._web`). ``--list`` indexes the folder (as the app does on start) and prints the
queue in the app's order (sku, scene, variant) instead of serving it: a table, or with ``--json`` one
object per frame (``frame``, ``sku``, ``scene``, ``variant``, ``verdict``, ``reasons``, ``decision``,
``decided_by``, ``decided_at``, ``image``, ``sidecar``); ``--verdict`` and ``--decision`` filter it as
the queue page's filters do. ``--list`` needs no web extra.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from ._common import Json, Quiet, _enum, emit, max_pixels_option, print_error, print_info, set_output
from ._web import HOST_HELP, PORT_HELP

_PAGE = 1000
"""Frames read from the store at a time by ``--list``."""


def _queue_enums():
    from ..web.store import DECISIONS, VERDICTS

    return _enum("Verdict", VERDICTS), _enum("Decision", (*DECISIONS, "undecided"))


Verdict, Decision = _queue_enums()


def list_queue(run_dir: Path, verdict: str | None = None, decision: str | None = None):
    """The frames of ``run_dir``'s review queue (indexed first), in queue order, as dicts; and the counts
    of the whole folder per verdict and per decision."""
    from ..web.store import index_folder, open_store

    store = open_store(run_dir)
    try:
        index_folder(run_dir, store)
        rows, offset = [], 0
        while True:
            page, total = store.query(verdict=verdict, decision=decision, offset=offset, limit=_PAGE)
            rows.extend(page)
            offset += len(page)
            if not page or offset >= total:
                break
        counts = store.counts()
    finally:
        store.close()
    root = Path(run_dir)
    frames = [{"frame": r["frame"], "sku": r["sku"], "scene": r["scene"], "variant": r["variant"],
               "verdict": r["verdict"], "reasons": list(r["reasons"]), "decision": r["decision"] or "undecided",
               "decided_by": r["decided_by"], "decided_at": r["decided_at"],
               "image": str(root / f"{r['frame']}.png"), "sidecar": str(root / f"{r['frame']}.json")}
              for r in rows]
    return frames, counts


def register(app: typer.Typer) -> None:
    @app.command("review")
    def review_command(
        run_dir: Path = typer.Argument(..., help="Run folder (<sku>/<scene>/<variant>.png with sidecars)."),
        host: str = typer.Option("127.0.0.1", "--host", help=HOST_HELP),
        port: int = typer.Option(8000, "--port", min=0, max=65535, help=PORT_HELP),
        token_file: Optional[Path] = typer.Option(None, "--token-file", help="File whose first line is the bearer token."),
        reviewer: Optional[str] = typer.Option(None, "--reviewer", help="Default reviewer name (default: $USER)."),
        max_upload_mb: float = typer.Option(32.0, "--max-upload-mb", help="Largest request body (MiB): more is 413."),
        max_pixels: int = max_pixels_option("Largest image (pixels): more is 413", default=100_000_000),
        timeout: float = typer.Option(120.0, "--timeout", help="Longest processing of a request (s): more is 408."),
        list_only: bool = typer.Option(False, "--list", help="Print the review queue (one JSON object per frame "
                                                             "with --json) instead of serving the app."),
        verdict: Optional[Verdict] = typer.Option(None, "--verdict", help="With --list: only frames with this QA "
                                                                          "verdict."),
        decision: Optional[Decision] = typer.Option(None, "--decision", help="With --list: only frames with this "
                                                                             "current decision."),
        as_json: Json = False,
        quiet: Quiet = False,
    ) -> None:
        """Review the frames of a run: approve, reject with a comment, or ask for a re-render (--list: print the queue)."""
        set_output(as_json, quiet)
        if not run_dir.is_dir():
            print_error("error", f"{run_dir}: run folder does not exist")
            raise typer.Exit(2)
        if list_only:
            _print_queue(run_dir, verdict.value if verdict else None, decision.value if decision else None, as_json)
            return
        if verdict is not None or decision is not None:
            raise typer.BadParameter("filters the printed queue: use it with --list (the app has its own filters)",
                                     param_hint="--verdict/--decision")
        from ._web import run_server, settings_or_exit

        settings = settings_or_exit(host=host, token_file=token_file, max_upload_mb=max_upload_mb,
                                    max_pixels=max_pixels, timeout=timeout, review_dir=run_dir,
                                    reviewer=reviewer, preload_models=False)
        run_server(settings, port, f"packshot review of {run_dir}", token_file=token_file,
                   details={"run_dir": str(run_dir)})


def _print_queue(run_dir: Path, verdict: str | None, decision: str | None, as_json: bool) -> None:
    frames, counts = list_queue(run_dir, verdict, decision)
    if as_json:
        for frame in frames:
            emit(frame)
    elif frames:
        from rich.console import Console
        from rich.table import Table

        table = Table("frame", "verdict", "decision", "reasons", title_justify="left")
        for f in frames:
            table.add_row(f["frame"], f["verdict"], f["decision"], ", ".join(f["reasons"]))
        Console(file=sys.stdout, soft_wrap=True).print(table)
    total = sum(counts["verdict"].values())
    by_verdict = ", ".join(f"{k} {v}" for k, v in sorted(counts["verdict"].items()))
    by_decision = ", ".join(f"{k} {v}" for k, v in sorted(counts["decision"].items()))
    print_info(f"{len(frames)} of {total} frames listed ({by_verdict}; {by_decision})" if total
               else f"{run_dir}: no frames (no <sku>/<scene>/<variant>.png with a sidecar)")
