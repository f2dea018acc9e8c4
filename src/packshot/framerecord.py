"""The frame record: the ``<variant>.json`` sidecar written beside each frame PNG.

One module owns it: the schema (versioned), reading, writing (atomic) and detection. Render
(through :func:`packshot.render.io.save_frame`), the pipeline and the catalogue write it; QA,
export, the demo and any later tool read it through here.

Layout of a frame folder::

    <out>/<sku>/<scene>/<variant>.png          the frame (8-bit sRGB, ICC profile)
    <out>/<sku>/<scene>/<variant>_alpha.png    the product alpha (8-bit grey)
    <out>/<sku>/<scene>/<variant>.json         the frame record (this schema)
    <out>/<sku>/<scene>/<variant>_shadow.png   flat-lays only: the shadow it declares for QA (8-bit grey)

Versions
--------
``record_version`` 1 is the current schema (:class:`FrameRecord`). Records written before the
field existed (no ``record_version``; some carry ``sidecar_version: 1``) are version 1 and are
read as such. A record of a version newer than :data:`RECORD_VERSION` is refused with an error
naming the file: an older packshot must not guess at a schema it does not know.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping, TypedDict

from .errors import InputError
from .imaging import MAX_DOCUMENT_BYTES, atomic_write_text, read_bounded

RECORD_VERSION = 1
"""The version of the schema this packshot writes and the newest it reads."""

VERSION_KEY = "record_version"
LEGACY_VERSION_KEYS = ("sidecar_version",)
"""Version fields of earlier writers, read as :data:`VERSION_KEY` when it is absent."""

REQUIRED_KEYS = ("sku", "scene", "variant", "size", "product_box", "product_alpha")
"""Fields every frame record has: what makes a JSON file a frame record."""

NOT_FRAME_JSON = frozenset({"maps.json", "run.json", "packshot-manifest.json"})
"""JSON files packshot writes that are never frame records (besides ``*_qa.json``, ``*.clip.json``)."""

NOT_FRAME_SUFFIXES = ("_qa.json", "_review.json", ".clip.json")
"""Names ending so are QA reports, review decisions and clip records, never frame records."""


class _Placement(TypedDict, total=False):
    matrix: list[list[float]] | None
    """2 x 3 affine, cut-out px -> frame px (None when the renderer did not record one)."""
    center: list[float]
    scale: float
    rotation: float


class _RequiredFields(TypedDict):
    sku: str
    scene: str
    variant: str
    """File stem of the frame (``v0``, ``v0_1080x1350``): ``<variant>.png`` lies beside the record."""
    size: list[int]
    """[width, height] of the frame in pixels."""
    product_box: list[int]
    """[x0, y0, x1, y1] of the product in frame pixels."""
    product_alpha: str
    """The product alpha PNG, relative to the record's folder."""


class FrameRecord(_RequiredFields, total=False):
    """The fields of a frame record (``record_version`` 1)."""

    record_version: int
    variant_index: int
    cutout: str | None
    """The cut-out RGBA PNG the frame was built from: relative to the record's folder, or absolute."""
    placement: _Placement
    source_kind: str
    """"embedded", "diffusion" or "capture"."""
    spec: dict[str, Any]
    """The scene spec (light, floor, preset, prompts, seed; see :func:`packshot.render.io.spec_to_dict`)."""
    provenance: dict[str, Any]
    """Every stage's record and input hashes; ``run_key`` for resume."""
    outputs: dict[str, dict[str, Any]]
    """What was written, ``{"<variant>.png": {"sha256", "size"}, ...}`` (:mod:`packshot.integrity`)."""
    shadow: dict[str, Any]
    """Flat-lay frames: the shadow layer they declare, ``{"file": "<variant>_shadow.png", "box": [x0, y0,
    x1, y1]}`` (share of the backdrop's light taken away over ``box``; :func:`packshot.render.declared_shadow`)."""


class FrameRecordError(InputError):
    """A frame record that cannot be used: missing, not JSON, a field missing, or a newer version."""


def record_version(data: Mapping[str, Any]) -> int | None:
    """The schema version a record declares: ``record_version``, else a legacy version field,
    else 1 (records written before the field existed). None when the field is not an integer."""
    for key in (VERSION_KEY, *LEGACY_VERSION_KEYS):
        if key in data:
            value = data[key]
            if isinstance(value, bool) or not isinstance(value, int):
                return None
            return value
    return 1


def validate_record(data: Any, source: str | Path = "<frame record>") -> FrameRecord:
    """``data`` as a :class:`FrameRecord`, or :class:`FrameRecordError` naming ``source`` and the problem."""
    if not isinstance(data, dict):
        raise FrameRecordError(source, "frame sidecar is not a JSON object")
    version = record_version(data)
    if version is None:
        raise FrameRecordError(source, f"frame sidecar has a non-integer '{VERSION_KEY}' "
                                       f"({data.get(VERSION_KEY, data.get('sidecar_version'))!r})")
    if version > RECORD_VERSION:
        raise FrameRecordError(source, f"frame sidecar is record version {version}, newer than this packshot reads "
                                       f"(up to {RECORD_VERSION}): upgrade packshot to read it")
    if version < 1:
        raise FrameRecordError(source, f"frame sidecar has an invalid record version {version}")
    missing = [k for k in REQUIRED_KEYS if k not in data]
    if missing:
        raise FrameRecordError(source, f"frame sidecar has no {', '.join(repr(k) for k in missing)}")
    return data  # type: ignore[return-value]


def read_record(path: str | Path) -> FrameRecord:
    """Read and check a frame record (bounded read: at most ``MAX_DOCUMENT_BYTES``).

    Raises
    ------
    FrameRecordError
        Missing file, not valid JSON, not an object, a required field missing, or a version newer
        than :data:`RECORD_VERSION`; the message names the file.
    """
    p = Path(path)
    if not p.exists():
        raise FrameRecordError(p, "frame sidecar does not exist")
    try:
        data = json.loads(read_bounded(p, "frame sidecar", MAX_DOCUMENT_BYTES).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise FrameRecordError(p, f"frame sidecar is not valid JSON ({exc})") from exc
    return validate_record(data, p)


def dump_record(record: Mapping[str, Any]) -> str:
    """The record's text as :func:`write_record` writes it (sorted keys, stable bytes)."""
    data = dict(record)
    for key in LEGACY_VERSION_KEYS:
        data.pop(key, None)
    data[VERSION_KEY] = RECORD_VERSION
    validate_record(data)
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def write_record(path: str | Path, record: Mapping[str, Any]) -> Path:
    """Write ``record`` (stamped with the current ``record_version``) to ``path`` atomically.

    Raises
    ------
    FrameRecordError
        A required field is missing (a programming error: nothing is written).
    """
    p = Path(path)
    atomic_write_text(p, dump_record(record))
    return p


def _looks_named_like_record(p: Path) -> bool:
    name = p.name.lower()
    return (p.suffix.lower() == ".json" and name not in NOT_FRAME_JSON
            and not any(name.endswith(s) for s in NOT_FRAME_SUFFIXES))


def is_frame_record(item: str | Path | Mapping[str, Any]) -> bool:
    """Whether ``item`` (a path or an already parsed dict) is a frame record: a JSON object with
    every field of :data:`REQUIRED_KEYS`. Detection only: a record of a newer version is detected
    (reading it then fails with the reason); QA reports, clip records, maps and manifests are not."""
    if isinstance(item, Mapping):
        return all(k in item for k in REQUIRED_KEYS)
    p = Path(item)
    if not _looks_named_like_record(p):
        return False
    try:
        data = json.loads(read_bounded(p, "frame sidecar", MAX_DOCUMENT_BYTES).decode("utf-8"))
    except (OSError, ValueError, RecursionError, InputError):
        return False
    return isinstance(data, dict) and is_frame_record(data)


def classify(path: str | Path) -> tuple[str | None, str]:
    """What a ``.json`` file in a frame folder is: ``("sidecar", "")`` for a readable frame record,
    ``("broken", reason)`` for a frame record that cannot be read (it lies beside a
    ``<stem>.png`` or declares a record version, but is not valid JSON, lacks a field or is of a
    newer version), or ``(None, "")`` for any other file."""
    p = Path(path)
    if not _looks_named_like_record(p):
        return None, ""
    looks_like_frame = p.with_suffix(".png").exists()
    try:
        data = json.loads(read_bounded(p, "frame sidecar", MAX_DOCUMENT_BYTES).decode("utf-8"))
    except (OSError, ValueError, RecursionError, InputError) as exc:
        return ("broken", f"frame sidecar cannot be read ({exc})") if looks_like_frame else (None, "")
    if not isinstance(data, dict):
        return ("broken", "frame sidecar is not a JSON object") if looks_like_frame else (None, "")
    declares = any(k in data for k in (VERSION_KEY, *LEGACY_VERSION_KEYS))
    if not (is_frame_record(data) or looks_like_frame or declares):
        return None, ""
    try:
        validate_record(data, p)
    except FrameRecordError as exc:
        return "broken", exc.problem
    return "sidecar", ""


def find_records(root: str | Path) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Frame records under ``root`` (recursive, sorted) and the unreadable ones with their reasons.

    Every caller must treat an unreadable record as an error (never skip it, never fall back to
    reading the folder's images as products)."""
    good: list[Path] = []
    bad: list[tuple[Path, str]] = []
    for q in sorted(Path(root).rglob("*.json")):
        kind, why = classify(q)
        if kind == "sidecar":
            good.append(q)
        elif kind == "broken":
            bad.append((q, why))
    return good, bad


def frame_png(record_path: str | Path, record: Mapping[str, Any]) -> Path:
    """The frame PNG a record describes (``<variant>.png`` beside it)."""
    return Path(record_path).with_name(f"{record['variant']}.png")


def resolve(record_path: str | Path, name: str) -> Path:
    """A path named in a record (alpha, cut-out): absolute as is, else relative to the record's folder."""
    p = Path(name)
    return p if p.is_absolute() else Path(record_path).parent / p


__all__ = ["FrameRecord", "FrameRecordError", "LEGACY_VERSION_KEYS", "NOT_FRAME_JSON", "RECORD_VERSION",
           "REQUIRED_KEYS", "VERSION_KEY", "classify", "dump_record", "find_records", "frame_png",
           "is_frame_record", "read_record", "record_version", "resolve", "validate_record", "write_record"]
