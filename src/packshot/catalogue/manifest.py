"""The catalogue manifest: which SKUs, from which photos, with what artwork, brief and profiles.

A manifest is a CSV file (UTF-8, a header row), a JSON Lines file (one object per line), or a
folder of photos (one SKU per photo, the SKU from the file name). Columns / keys:

=========  ========  ===================================================================
name       needed    meaning
=========  ========  ===================================================================
sku        yes       the product id: letters, digits, ``. _ -`` (it names folders)
photo      yes       photo path; several separated by ``;`` (JSONL: a list). Frames are
                     made from the first; every photo is copied into the output folder
master     no        master artwork (the label as printed) for the fidelity checks
title      no        product title (report, feeds)
category   no        product category (report)
brief      no        a brief for this SKU (else the run's ``--brief``)
profiles   no        marketplace profiles to export, ``;``-separated (else the run's)
prompt     no        segmentation prompt: ``x0,y0,x1,y1`` (a box) or JSON
                     ``{"box": [...], "points": [[x, y, 1], ...]}``
segment    no        per-SKU override of the segment backend (``auto``, ``u2netp``...)
scenes     no        per-SKU subset of the brief's scenes, ``;``-separated
review     no        ``required``: export only frames approved in review; ``none``: export
                     every frame (empty: the brief's ``review``, default ``none``)
=========  ========  ===================================================================

Relative paths are relative to the manifest's folder. Unknown columns are kept (they appear in
the SKU's ``data``) and do not fail a row.

Each row is validated on its own: a row with a problem is reported with its row number (1-based,
the header not counted; in JSONL the line number) and the field, and is skipped; the others go
on. A manifest without a needed column, or that cannot be read at all, is an
:class:`~packshot.errors.InputError` (nothing can be run from it).
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from ..errors import InputError
from ..imaging import SUPPORTED_SUFFIXES
from ..types import Prompt

REQUIRED = ("sku", "photo")
KNOWN = REQUIRED + ("master", "title", "category", "brief", "profiles", "prompt", "segment", "scenes", "review")
SKU_RE = re.compile(r"^\w[\w.-]{0,127}$")  # \w: Unicode letters and digits, "_"
_LIST_SPLIT = re.compile(r"\s*[;|]\s*")


@dataclass(frozen=True)
class SkuRow:
    """One valid manifest row."""

    row: int
    sku: str
    photos: tuple[Path, ...]
    master: Path | None = None
    title: str = ""
    category: str = ""
    brief: Path | None = None
    profiles: tuple[str, ...] = ()
    prompt: Prompt | None = None
    segment: str | None = None
    scenes: tuple[str, ...] = ()
    data: Mapping[str, Any] = field(default_factory=dict)
    review: str | None = None
    """``required`` / ``none``, or None: the brief decides."""

    @property
    def photo(self) -> Path:
        return self.photos[0]


@dataclass(frozen=True)
class RowError:
    """A manifest row that was skipped, and why."""

    source: str
    row: int
    field: str
    problem: str
    sku: str | None = None

    def __str__(self) -> str:
        where = f"row {self.row}" + (f" (sku {self.sku})" if self.sku else "")
        return f"{self.source}: {where}, field '{self.field}': {self.problem}"


@dataclass(frozen=True)
class Manifest:
    source: str
    rows: tuple[SkuRow, ...]
    errors: tuple[RowError, ...]


def load_structured(text: str, source: str) -> Any:
    """Parse YAML / JSON text (the one place the catalogue does; swapped for the bounded loader)."""
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(source, f"not valid YAML/JSON ({exc})") from exc


def load_manifest(path: str | Path) -> Manifest:
    """Read and validate a manifest (CSV, JSONL, or a folder of photos).

    Raises
    ------
    InputError
        The manifest does not exist, is empty, or lacks a needed column.
    """
    p = Path(path)
    if p.is_dir():
        return manifest_from_photos(sorted(q for q in p.iterdir() if q.suffix.lower() in SUPPORTED_SUFFIXES),
                                    source=str(p))
    if not p.exists():
        raise InputError(p, "manifest does not exist")
    raw = p.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    # undecodable bytes become surrogates so that only the rows holding them fail
    text = raw.decode("utf-8", errors="surrogateescape")
    if not text.strip():
        raise InputError(p, "manifest is empty")
    if p.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        records = _jsonl_records(text, p)
    else:
        records = _csv_records(text, p)
    return _validate(records, p)


def manifest_from_photos(photos: list[Path], source: str = "<photos>") -> Manifest:
    """One SKU per photo, the SKU from its file name (the way ``packshot run`` takes photos)."""
    from ..pipeline import sku_from_path

    records = [(i, {"sku": sku_from_path(ph), "photo": str(Path(ph).resolve())}) for i, ph in enumerate(photos, 1)]
    return _validate(records, Path(source), base=Path("."))


def _csv_records(text: str, p: Path) -> list[tuple[int, dict]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise InputError(p, f"manifest has no column {', '.join(repr(m) for m in missing)} (header: "
                            f"{', '.join(header) or 'none'}); needed: {', '.join(REQUIRED)}")
    reader.fieldnames = header
    out = []
    for i, rec in enumerate(reader, 1):
        if rec is None or all(not (v or "").strip() for k, v in rec.items() if k is not None):
            continue
        extra = rec.pop(None, None)
        rec = {k: (v or "").strip() for k, v in rec.items()}
        if extra:
            rec["__extra__"] = extra
        out.append((i, rec))
    return out


def _jsonl_records(text: str, p: Path) -> list[tuple[int, dict]]:
    out = []
    seen_keys: set[str] = set()
    for i, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except ValueError as exc:
            if _has_surrogates(line):
                out.append((i, {"__encoding__": True}))
            else:
                out.append((i, {"__json__": str(exc)}))
            continue
        if not isinstance(rec, dict):
            out.append((i, {"__json__": "a line must be a JSON object"}))
            continue
        rec = {str(k).lower(): v for k, v in rec.items()}
        seen_keys.update(rec)
        out.append((i, rec))
    good = [r for _, r in out if "__json__" not in r and "__encoding__" not in r]
    if good:
        missing = [c for c in REQUIRED if not any(c in r for r in good)]
        if missing:
            raise InputError(p, f"no line has the key {', '.join(repr(m) for m in missing)}; needed: "
                                f"{', '.join(REQUIRED)}")
    return out


def _has_surrogates(value: Any) -> bool:
    if isinstance(value, str):
        return any("\udc80" <= ch <= "\udcff" for ch in value)
    if isinstance(value, (list, tuple)):
        return any(_has_surrogates(v) for v in value)
    return False


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v).strip() for v in value if str(v).strip()]
    return [v for v in _LIST_SPLIT.split(str(value).strip()) if v]


def parse_prompt(value: Any) -> Prompt | None:
    """A prompt from ``x0,y0,x1,y1`` or ``{"box": [...], "points": [[x, y, label], ...], "exclude_hands": true}``
    (each key optional)."""
    if value in (None, "", {}):
        return None
    data = value
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("{"):
            data = json.loads(text)
        else:
            parts = [float(v) for v in re.split(r"[,\s]+", text) if v]
            if len(parts) != 4:
                raise ValueError("a box prompt is four numbers x0,y0,x1,y1")
            data = {"box": parts}
    if not isinstance(data, dict):
        raise ValueError("give x0,y0,x1,y1 or a JSON object with 'box' and/or 'points'")
    box = data.get("box")
    if box is not None:
        box = tuple(int(round(float(v))) for v in box)
        if len(box) != 4 or box[2] <= box[0] or box[3] <= box[1]:
            raise ValueError("box must be x0,y0,x1,y1 with x1 > x0 and y1 > y0")
    points = tuple((float(x), float(y), int(lab)) for x, y, lab in data.get("points", ()))
    if any(lab not in (0, 1) for _, _, lab in points):
        raise ValueError("point labels are 1 (product) or 0 (not product)")
    hands = data.get("exclude_hands", False)
    if not isinstance(hands, bool):
        raise ValueError(f"exclude_hands must be true or false, not {hands!r}")
    prompt = Prompt(box=box, points=points, exclude_hands=hands)
    return None if prompt.nothing else prompt


def _validate(records: list[tuple[int, dict]], p: Path, base: Path | None = None) -> Manifest:
    base = p.parent if base is None else base
    source = str(p)
    rows: list[SkuRow] = []
    errors: list[RowError] = []
    seen: dict[str, int] = {}

    def resolve(value: str) -> Path:
        q = Path(value).expanduser()
        return q if q.is_absolute() else base / q

    for i, rec in records:
        try:
            _check_row_text(rec)
            sku = _row_sku(rec, seen)
            paths = _row_photos(rec, sku, resolve)
            master = _row_file(rec, "master", sku, resolve)
            brief = _row_file(rec, "brief", sku, resolve)
            profiles = _row_profiles(rec, sku, resolve)
            try:
                prompt = parse_prompt(rec.get("prompt"))
            except (ValueError, TypeError) as exc:
                raise _RowProblem("prompt", str(exc), sku) from exc
            segment = _row_segment(rec, sku)
            review = _row_review(rec, sku)
        except _RowProblem as bad:
            errors.append(RowError(source, i, bad.field, bad.problem, bad.sku))
            continue
        seen[sku] = i
        rows.append(SkuRow(
            row=i, sku=sku, photos=tuple(paths), master=master, title=str(rec.get("title") or ""),
            category=str(rec.get("category") or ""), brief=brief, profiles=profiles, prompt=prompt, segment=segment,
            scenes=tuple(_as_list(rec.get("scenes"))), review=review,
            data={k: v for k, v in rec.items() if not k.startswith("__")},
        ))
    return Manifest(source=source, rows=tuple(rows), errors=tuple(errors))


class _RowProblem(Exception):
    """One problem with a manifest row (the row is skipped and reported as a :class:`RowError`)."""

    def __init__(self, fld: str, problem: str, sku: str | None = None) -> None:
        super().__init__(problem)
        self.field, self.problem, self.sku = fld, problem, sku


def _check_row_text(rec: dict) -> None:
    """A row that is not UTF-8 text, not a JSON object, or has more values than the header."""
    if rec.get("__encoding__"):
        raise _RowProblem("*", "the row is not UTF-8 text (save the manifest as UTF-8)")
    if "__json__" in rec:
        raise _RowProblem("*", f"not a JSON object ({rec['__json__']})")
    bad = next((k for k, v in rec.items() if _has_surrogates(v)), None)
    if bad is not None:
        raise _RowProblem(bad, "not UTF-8 text (save the manifest as UTF-8)", rec.get("sku") if bad != "sku" else None)
    if "__extra__" in rec:
        raise _RowProblem("*", f"the row has {len(rec['__extra__'])} more value(s) than the header has columns "
                               "(quote values that contain commas)", str(rec.get("sku") or "") or None)


def _row_sku(rec: dict, seen: Mapping[str, int]) -> str:
    """The row's SKU: present, valid and not on an earlier row."""
    sku = str(rec.get("sku") or "").strip()
    if not sku:
        raise _RowProblem("sku", "is empty")
    if not SKU_RE.match(sku):
        raise _RowProblem("sku", f"'{sku}' is not a valid SKU (letters, digits, '.', '_', '-'; it names folders)")
    if sku in seen:
        raise _RowProblem("sku", f"duplicate: '{sku}' is already on row {seen[sku]} (this row is skipped)", sku)
    return sku


def _row_photos(rec: dict, sku: str, resolve: Callable[[str], Path]) -> list[Path]:
    """The row's photo paths, each an existing, non-empty file."""
    photos = _as_list(rec.get("photo"))
    if not photos:
        raise _RowProblem("photo", "is empty", sku)
    paths = []
    for ph in photos:
        q = resolve(ph)
        if not q.is_file():
            raise _RowProblem("photo", f"file not found: {q}" if not q.exists() else f"not a file: {q}", sku)
        if q.stat().st_size == 0:
            raise _RowProblem("photo", f"file is empty: {q}", sku)
        paths.append(q)
    return paths


def _row_file(rec: dict, fld: str, sku: str, resolve: Callable[[str], Path]) -> Path | None:
    """An optional file column (``master``, ``brief``): None when empty, else an existing file."""
    if not rec.get(fld):
        return None
    path = resolve(str(rec[fld]))
    if not path.is_file():
        raise _RowProblem(fld, f"file not found: {path}", sku)
    return path


def _row_profiles(rec: dict, sku: str, resolve: Callable[[str], Path]) -> tuple[str, ...]:
    """The row's export profiles, each a known name or a readable profile file (paths resolved)."""
    profiles = tuple(_as_list(rec.get("profiles")))
    if not profiles:
        return profiles
    from ..export import get_profile

    try:
        for name in profiles:
            get_profile(name if not name.endswith((".yaml", ".yml")) else str(resolve(name)))
    except Exception as exc:  # unknown profile name or a bad profile file
        raise _RowProblem("profiles", str(exc), sku) from exc
    return tuple(n if not n.endswith((".yaml", ".yml")) else str(resolve(n)) for n in profiles)


def _row_segment(rec: dict, sku: str) -> str | None:
    """The row's segment backend, None when empty; a registered name or an ``onnx:``/``sam:`` model."""
    segment = str(rec.get("segment") or "").strip() or None
    if segment is not None:
        from ..segment import BACKENDS

        names = BACKENDS.names() if hasattr(BACKENDS, "names") else list(BACKENDS)
        if segment not in names and not segment.startswith(("onnx:", "sam:")):
            raise _RowProblem("segment", f"'{segment}' is not a segment backend ({', '.join(names)})", sku)
    return segment


def _row_review(rec: dict, sku: str) -> str | None:
    """The row's review setting: ``required``, ``none`` or None (the brief decides)."""
    review = str(rec.get("review") or "").strip().lower() or None
    if review is not None and review not in ("required", "none"):
        raise _RowProblem("review", f"must be 'required' or 'none' (or empty: the brief decides), got {review!r}", sku)
    return review


__all__ = ["KNOWN", "Manifest", "REQUIRED", "RowError", "SkuRow", "load_manifest", "load_structured",
           "manifest_from_photos", "parse_prompt"]
