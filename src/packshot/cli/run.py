"""``packshot run``: every stage for each photo, each scene, variant and size of a brief.

A run is a catalogue of the given photos (one SKU per photo, named after the file) over the
catalogue's job store (``--out/packshot.db``, :mod:`packshot.catalogue`): one resume mechanism.
An unchanged rerun does no model work; a changed scene redoes that scene's frames only. The
photos (and master artwork) are copied into ``--out/sources`` by content hash.

The output folder is locked for the run (:mod:`packshot.locking`): a second run into the same
``--out`` refuses with a message naming the holder, or waits with ``--wait``. SIGTERM ends the run
cleanly (temporary files removed, lock released); temporary files left by a killed run are deleted
when a later run in the folder finishes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, List, Optional

import typer

from ._common import expand_inputs, max_pixels_option, print_error, print_info

if TYPE_CHECKING:
    from ..catalogue.manifest import SkuRow
    from ..pipeline import SkuRegistry
    from ..types import Prompt


_WAIT_FOREVER_S = 1e9
"""Lock wait of ``--wait`` (seconds): in effect, until the run holding ``--out`` ends."""

_EXIT_LOCKED = 3
"""Exit code when another run holds ``--out`` (and ``--wait`` was not given)."""


def register(app: typer.Typer) -> None:
    app.command("run")(run_command)


def run_command(
    photos: List[Path] = typer.Argument(..., help="Product photos (files or folders)."),
    brief: Path = typer.Option(..., "--brief", "-b", help="Creative brief (YAML)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder: <out>/<sku>/<scene>/<variant>.png "
                                                      "(and the job store <out>/packshot.db)."),
    segmenter: str = typer.Option("auto", "--segmenter", "-s", help="Segment backend."),
    backend_alias: Optional[str] = typer.Option(None, "--backend", hidden=True),
    renderer: str = typer.Option("studio", "--renderer", "-r", help="Renderer for scenes without a plate."),
    master: Optional[Path] = typer.Option(None, "--master", "-m",
                                          help="Master artwork for the fidelity checks (with --qa): one file "
                                               "for every photo, or a folder holding <sku>.<ext> per SKU."),
    profile: List[str] = typer.Option([], "--profile", "-p", help="Also export every frame to this "
                                                                  "marketplace profile (into <out>/export); "
                                                                  "repeat for several."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Seed for every scene in place of the brief's."),
    no_relight: bool = typer.Option(False, "--no-relight", help="Skip shadows, reflection and relight."),
    relight_model: str = typer.Option("", "--relight-model",
                                      help="Also relight the product with a model: iclight:FOLDER (extra: diffusion)."),
    force: bool = typer.Option(False, "--force", help="Render frames again even when up to date."),
    qa: bool = typer.Option(False, "--qa", help="Run the fidelity checks and write qa.json per frame."),
    max_pixels: int = max_pixels_option(),
    wait: bool = typer.Option(False, "--wait", help="When another run holds --out, wait for it instead of "
                                                    "refusing."),
    orientation: str = typer.Option("auto", "--orientation", help="Turn the product upright: auto (label text, then shape), keep, 0, 90, 180 or 270 (clockwise)."),
    no_gate: bool = typer.Option(False, "--no-gate", help="Render even a cut-out that fails the plausibility gate."),
    workers: Optional[int] = typer.Option(None, "--workers", "-w", help="Worker processes (default: the cores)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object per frame on stdout (messages "
                                                       "stay on stderr)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only failures."),
) -> None:
    """Cut out, inspect, condition, render and relight each photo (one SKU per photo).

    SKU = the photo's file stem (Unicode letters, digits, '_', '.', '-' kept; other runs of
    characters become '-'). Two photos with one SKU: the second is refused, naming both.
    Exit code 1 when a photo or frame failed (a cut-out that fails the gate "needs a prompt":
    put <photo stem>.prompt.json beside the photo), 2 for bad options or brief, 3 when another
    run holds --out (without --wait).
    """
    _check_options(brief, orientation, relight_model, master, profile)
    items = expand_inputs(photos)
    if not items:
        print_error("error", f"no input images in {', '.join(map(str, photos))}")
        raise typer.Exit(2)
    from ..catalogue.plan import RunSettings

    settings = RunSettings(segment_backend=backend_alias or segmenter, render_backend=renderer,
                           relight=not no_relight, qa=qa, max_pixels=max_pixels,
                           orientation=orientation.strip().lower(), gate=not no_gate,
                           relight_model=relight_model or None, seed=seed)
    code = run_photos_cli(items, brief, out, settings, master=master, profiles=profile, workers=workers,
                          force=force, wait=wait, as_json=as_json, quiet=quiet)
    raise typer.Exit(code)


def _check_options(brief: Path, orientation: str, relight_model: str, master: Optional[Path],
                   profiles: List[str]) -> None:
    """``--orientation``, the brief, ``--relight-model``, ``--master`` and every ``--profile`` are
    usable, else exit 2 naming the option (before any photo is looked at)."""
    from ..condition import load_brief
    from ..segment.orientation import ORIENTATION_CHOICES

    if orientation.strip().lower() not in ORIENTATION_CHOICES:
        print_error("error", f"--orientation must be one of {', '.join(ORIENTATION_CHOICES)}, got {orientation!r}")
        raise typer.Exit(2)
    try:
        load_brief(brief)
    except (ValueError, OSError) as exc:
        print_error("brief error", str(exc))
        raise typer.Exit(2)
    if relight_model:
        from ..relight import RELIGHTERS

        if relight_model not in RELIGHTERS or ":" not in relight_model:
            print_error("error", f"--relight-model '{relight_model}': use one of "
                                 f"{', '.join(n for n in RELIGHTERS.names() if n.endswith(':ARG'))}")
            raise typer.Exit(2)
    if master is not None and not master.exists():
        print_error("error", f"--master {master}: no such file or folder")
        raise typer.Exit(2)
    if profiles:
        from ..export.profiles import get_profile

        try:
            for p in profiles:
                get_profile(p)
        except (ValueError, OSError, KeyError) as exc:
            print_error("error", f"--profile: {exc}")
            raise typer.Exit(2)


def _master_for(master: Path | None, sku: str) -> Path | None:
    """The master artwork of a SKU: ``master`` itself (a file), or ``master/<sku>.<ext>`` (a folder)."""
    if master is None:
        return None
    if master.is_file():
        return master
    from ..imaging import SUPPORTED_SUFFIXES
    from ..pipeline import sku_from_path

    for p in sorted(master.iterdir()):
        if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES and sku_from_path(p).casefold() == sku.casefold():
            return p
    return None


def _readable(photo: Path, max_pixels: int) -> str | None:
    """None when the photo's header can be read, else why not."""
    from ..errors import PackshotError
    from ..imaging import image_size

    try:
        image_size(photo, max_pixels=max_pixels)
    except (PackshotError, ValueError, OSError) as exc:
        return str(exc)
    return None


class _Failures:
    """The photos (and frames) that failed, each printed as ``failed PHOTO: why`` when it is added."""

    def __init__(self) -> None:
        self.failed: list[tuple[Path, str]] = []

    def __call__(self, photo: Path, message: str) -> None:
        self.failed.append((photo, message))
        print_error("failed", message if message.startswith(str(photo)) else f"{photo}: {message}")


def run_photos_cli(items: list[Path], brief: Path, out: Path, settings: Any, master: Path | None = None,
                   profiles: list[str] | tuple[str, ...] = (), workers: int | None = None, force: bool = False,
                   wait: bool = False, as_json: bool = False, quiet: bool = False) -> int:
    """Run the photos as a catalogue into ``out``, print per-SKU lines (and JSON lines); the exit code."""
    from ..catalogue import LockedError, run_catalogue
    from ..catalogue.manifest import Manifest
    from ..catalogue.store import DB_NAME
    from ..errors import PackshotError
    from ..locking import FolderLockedError, terminate_as_exit

    fail = _Failures()
    by_sku = _photos_by_sku(items, fail)
    rows = _manifest_rows(items, by_sku, [*items, brief, *([master] if master is not None else [])], out,
                          master, settings.max_pixels, fail)
    previous = _previous_photos(out / DB_NAME)
    manifest = Manifest(source="<photos>", rows=tuple(rows), errors=())
    try:
        with terminate_as_exit():  # SIGTERM ends the run cleanly (lock released, workers stopped)
            outcome = run_catalogue(manifest, out, brief=brief, profiles=list(profiles), settings=settings,
                                    workers=workers, force=force, wait_for_lock=_WAIT_FOREVER_S if wait else 0.0,
                                    progress=not quiet and sys.stderr.isatty(),
                                    argv=["run", *sys.argv[2:]])
    except (FolderLockedError, LockedError) as exc:
        print_error("error", str(exc))
        return _EXIT_LOCKED
    except (PackshotError, ValueError, OSError) as exc:
        print_error("error", str(exc))
        return 2
    by_row, sources = _units_by_sku(out, outcome.unit_ids, bool(rows))
    info = (lambda m: None) if quiet else print_info
    for row in rows:
        _report_row(row, by_row.get(row.sku, []), sources.get(row.sku) or {}, previous.get(row.sku),
                    outcome.run_id, fail, info, as_json)
    for e in outcome.row_errors:
        fail(Path(e.source), str(e))
    if fail.failed:
        print_error("", f"{len({p for p, _ in fail.failed})} of {len(items)} failed", style="")
    return 1 if fail.failed else 0


def _photos_by_sku(items: list[Path], fail: _Failures) -> dict[str, list[Path]]:
    """Case-folded SKU -> its photos, in order; a photo whose SKU is not a valid name fails here.

    SKU names and clashes come first: two photos never write into one SKU folder.
    """
    from ..errors import InputError
    from ..pipeline import check_sku, sku_from_path

    by_sku: dict[str, list[Path]] = {}
    for photo in items:
        sku = sku_from_path(photo)
        try:
            check_sku(sku, photo)
        except InputError as exc:
            fail(photo, str(exc))
            continue
        by_sku.setdefault(sku.casefold(), []).append(photo)
    return by_sku


def _manifest_rows(items: list[Path], by_sku: dict[str, list[Path]], inputs: list[Path], out: Path,
                   master: Path | None, max_pixels: int, fail: _Failures) -> list[SkuRow]:
    """One catalogue row per admitted photo (its SKU, prompt file and master artwork); a photo that
    cannot be run fails here. Of photos with one SKU, an unreadable one never claims it (the
    readable one is run, the unreadable one fails)."""
    from ..catalogue.manifest import SkuRow
    from ..errors import PackshotError
    from ..pipeline import SkuRegistry, sku_from_path

    skus = SkuRegistry()
    rows: list[SkuRow] = []
    for photo in items:
        sku = sku_from_path(photo)
        if photo not in by_sku.get(sku.casefold(), ()):
            continue
        try:
            prompt, art = _admit_photo(photo, sku, len(by_sku[sku.casefold()]) > 1, skus, inputs, out, master,
                                       max_pixels)
        except (PackshotError, ValueError, OSError) as exc:
            fail(photo, str(exc))
            continue
        skus.claim(sku, photo)
        rows.append(SkuRow(row=len(rows) + 1, sku=sku, photos=(photo.resolve(),), master=art and art.resolve(),
                           prompt=prompt, data={"run_photo": str(photo)}))
    return rows


def _admit_photo(photo: Path, sku: str, shared: bool, skus: SkuRegistry, inputs: list[Path], out: Path,
                 master: Path | None, max_pixels: int) -> tuple[Prompt | None, Path | None]:
    """Check one photo can be run as ``sku`` ((prompt, master artwork)); raise why not.

    ``shared``: another photo has the same SKU, so this one must at least be readable to claim it.
    """
    from ..errors import InputError
    from ..segment.review import load_prompt_file

    if not photo.is_file() or photo.stat().st_size == 0:  # a device, pipe or empty file: never copied
        why = _readable(photo, max_pixels) or f"{photo}: not a regular, non-empty file"
        raise InputError(photo, why) if not why.startswith(str(photo)) else ValueError(why)
    if shared:
        why = _readable(photo, max_pixels)
        if why is not None:
            raise InputError(photo, why) if not why.startswith(str(photo)) else ValueError(why)
    skus.check(sku, photo)
    sku_dir = out / sku
    inside = _inputs_inside(inputs, sku_dir)
    if inside:
        raise InputError(photo, f"its outputs would go to {sku_dir}, which holds the input {inside[0]} "
                                f"(no command writes over its inputs); choose another --out")
    prompt = load_prompt_file(photo)  # <photo stem>.prompt.json beside the photo, if any
    return prompt, _master_for(master, sku)


def _units_by_sku(out: Path, unit_ids: Any, any_rows: bool) -> tuple[dict[str, list[dict]], dict[str, dict]]:
    """(SKU -> this run's planned units, SKU -> its job-store record), read from the job store."""
    from ..catalogue.store import JobStore

    with JobStore(out, readonly=True) as store:
        planned = set(unit_ids)
        units = [u for u in store.units() if u["id"] in planned] if any_rows else []
        by_row: dict[str, list[dict]] = {}
        for u in units:
            by_row.setdefault(u["sku"], []).append(u)
        sources = {r["sku"]: r for r in store.skus()}
    return by_row, sources


def _report_row(row: SkuRow, mine: list[dict], source: dict, old: tuple[str, str] | None, run_id: int,
                fail: _Failures, info: Callable[[str], None], as_json: bool) -> None:
    """Report one SKU: its failed cut-out or maps, else a line of frames written and up to date (with
    flags), a failure per broken unit and, with ``--json``, one JSON line per frame."""
    photo = Path(row.data["run_photo"])
    src = source.get("photo") or ""

    def named(text: str) -> str:  # errors name the photo, not its copy under sources/
        return text.replace(src, str(photo)) if src else text

    bad = [u for u in mine if u["status"] in ("failed", "blocked") and u["kind"] in ("cutout", "maps")]
    frames = [u for u in mine if u["kind"] == "frame"]
    if bad:
        fail(photo, named(bad[0]["error"] or "failed"))
        return
    if old and old[0] != str(photo) and old[1] != source.get("photo_sha256"):
        print_error("warning", f"{row.sku}: replaced the outputs an earlier run made from {old[0]}",
                    style="yellow")
    written = sum(1 for u in frames if u["status"] == "done" and u["run_id"] == run_id)
    up_to_date = sum(1 for u in frames if u["status"] == "done" and u["run_id"] != run_id)
    broken = [u for u in mine if u["status"] in ("failed", "blocked")]
    flags = [f for u in mine if u["kind"] in ("cutout", "maps") for f in (u["info"] or {}).get("flags", [])]
    flags = list(dict.fromkeys(flags))
    info(f"{row.sku}: {written} frames written, {up_to_date} up to date"
         + (f" flags: {', '.join(flags)}" if flags else ""))
    for u in broken:
        fail(photo, f"{u['id']}: {named(u['error'] or u['status'])}")
    if as_json:
        _print_json(row.sku, mine, run_id)


def _print_json(sku: str, units: list[dict], run_id: int) -> None:
    """One JSON object per frame on stdout: files, status, QA verdict and exports."""
    qa = {u["frame"]: u for u in units if u["kind"] == "qa"}
    exports: dict[str, list[dict]] = {}
    for u in units:
        if u["kind"] == "export" and u["status"] == "done":
            exports.setdefault(u["frame"], []).append({"profile": u["profile"], "file": (u["info"] or {}).get("file")})
    for u in units:
        if u["kind"] != "frame":
            continue
        q = qa.get(u["frame"])
        status = u["status"] if u["status"] != "done" else ("written" if u["run_id"] == run_id else "up to date")
        obj = {"sku": sku, "scene": u["scene"], "variant": u["variant"], "frame": u["frame"], "status": status,
               "png": f"{u['frame']}.png", "record": f"{u['frame']}.json",
               "qa": (q["info"] or {}).get("verdict") if q and q["status"] == "done" else None,
               "exports": exports.get(u["frame"], [])}
        if u["status"] in ("failed", "blocked"):
            obj["error"] = u["error"]
        sys.stdout.write(json.dumps(obj, sort_keys=True) + "\n")
    sys.stdout.flush()


def _previous_photos(db: Path) -> dict[str, tuple[str, str]]:
    """SKU -> (photo path, photo sha256) an earlier ``packshot run`` in the folder made it from."""
    if not db.is_file():
        return {}
    from ..catalogue.store import JobStore

    try:
        with JobStore(db.parent, readonly=True) as store:
            return {r["sku"]: (str((r["data"] or {}).get("run_photo") or (r["data"] or {}).get("source_photo")),
                               r["photo_sha256"]) for r in store.skus()}
    except Exception:  # an unreadable store is the run's business (it reports it), not this note's
        return {}


def _inputs_inside(inputs: list[Path], sku_dir: Path) -> list[Path]:
    """The inputs that lie inside ``sku_dir`` (where a run writes and may overwrite files)."""
    root = sku_dir.resolve()
    inside = []
    for p in inputs:
        try:
            Path(p).resolve().relative_to(root)
        except ValueError:
            continue
        inside.append(Path(p))
    return inside
