"""Output integrity: record what a step wrote (sha256 + size per file) and check it later.

One mechanism for "is this output still what we wrote?", used by the pipeline's resume (frame
sidecars and the per-SKU run record) and meant to be taken over as is by a job store: every
function here is pure over plain dicts (JSON-ready), with no storage policy inside. Where a
record lives (a sidecar, a JSON file, a database row) is the caller's choice.

A *record* is::

    {"key": "<sha256 of the inputs that produced the outputs>",
     "outputs": {"<relative path>": {"sha256": "<hex>", "size": <bytes>}, ...}}

Paths in ``outputs`` are relative to a root the caller passes back to :func:`verify_record`
(POSIX separators), so a record stays valid when the output folder moves.

A step is *up to date* when its record's key equals the key of today's inputs **and** every
recorded output exists with the recorded size and sha256 (:func:`is_up_to_date`). A truncated,
emptied, replaced or deleted output makes the step stale: it is redone, never trusted.

API
---
``file_digest(path) -> {"sha256", "size"}``
``record_outputs(paths, root) -> {relpath: digest}``
``make_record(key, paths, root, **extra) -> record``
``verify_outputs(outputs, root) -> [problem, ...]``  (empty = intact)
``verify_record(record, root, key=None) -> [problem, ...]``
``is_up_to_date(record, key, root) -> bool``
``input_key(fields) -> sha256 hex of a JSON-able dict``
``InputGuard(inputs).check(target)``: refuses to write over one of a command's inputs.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Iterable, Mapping

from .errors import InputError

RECORD_SCHEMA = "packshot.integrity/1"
_CHUNK = 1 << 20


def file_digest(path: str | Path) -> dict[str, Any]:
    """``{"sha256": hex, "size": bytes}`` of a file's bytes (read in chunks)."""
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while True:
            chunk = f.read(_CHUNK)
            if not chunk:
                break
            h.update(chunk)
            size += len(chunk)
    return {"sha256": h.hexdigest(), "size": size}


def bytes_digest(data: bytes) -> dict[str, Any]:
    """:func:`file_digest` of bytes in memory (the same dict the file would give)."""
    return {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}


def input_key(fields: Mapping[str, Any]) -> str:
    """A stable sha256 of the inputs of a step (a JSON-able dict; key order does not matter)."""
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str, ensure_ascii=True).encode()).hexdigest()


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return os.path.relpath(path, root).replace(os.sep, "/")


def record_outputs(paths: Iterable[str | Path], root: str | Path) -> dict[str, dict[str, Any]]:
    """Digest of each path, keyed by its path relative to ``root`` (sorted).

    Raises ``OSError`` when a path cannot be read (an output that was never written)."""
    root = Path(root)
    out = {_rel(Path(p), root): file_digest(p) for p in paths}
    return dict(sorted(out.items()))


def make_record(key: str, paths: Iterable[str | Path], root: str | Path, **extra: Any) -> dict[str, Any]:
    """A record of the outputs ``paths`` (under ``root``) made from inputs with key ``key``.

    ``extra`` fields (JSON-able) are stored beside ``key`` and ``outputs`` and ignored by the checks."""
    return {"schema": RECORD_SCHEMA, "key": key, "outputs": record_outputs(paths, root), **extra}


def verify_outputs(outputs: Mapping[str, Mapping[str, Any]], root: str | Path) -> list[str]:
    """Problems with recorded outputs under ``root``: each missing, resized or changed file.

    An empty list means every output is intact. The size is compared first (cheap: a truncated
    or emptied file is found without reading it), then the sha256."""
    root = Path(root)
    problems: list[str] = []
    if not isinstance(outputs, Mapping) or not outputs:
        return ["the record lists no outputs"]
    for rel, want in outputs.items():
        p = root / rel
        try:
            if not isinstance(want, Mapping) or "sha256" not in want or "size" not in want:
                problems.append(f"{p}: record entry is malformed")
                continue
            st = p.stat()
            if not p.is_file():
                problems.append(f"{p}: not a regular file")
            elif st.st_size != int(want["size"]):
                problems.append(f"{p}: {st.st_size} bytes, recorded {want['size']}")
            elif file_digest(p)["sha256"] != want["sha256"]:
                problems.append(f"{p}: content changed since it was written (sha256 differs)")
        except FileNotFoundError:
            problems.append(f"{p}: missing")
        except (OSError, ValueError, TypeError) as exc:
            problems.append(f"{p}: cannot be checked ({exc})")
    return problems


def verify_record(record: Any, root: str | Path, key: str | None = None) -> list[str]:
    """Problems with a record: malformed, another key than ``key`` (when given), or damaged outputs."""
    if not isinstance(record, Mapping) or "outputs" not in record or "key" not in record:
        return ["no valid record"]
    if key is not None and record.get("key") != key:
        return ["the inputs changed since the outputs were written (key differs)"]
    return verify_outputs(record["outputs"], root)


def is_up_to_date(record: Any, key: str, root: str | Path) -> bool:
    """True when ``record`` was made from inputs with ``key`` and every recorded output is intact."""
    return not verify_record(record, root, key)


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_dev, st.st_ino


class InputGuard:
    """Refuses writes over a command's own inputs (by resolved path and by inode, so a hard link
    or a differently spelled path to an input is caught too).

    >>> guard = InputGuard(["photos/prod.png"])          # doctest: +SKIP
    >>> guard.check("photos/prod.png")                   # doctest: +SKIP
    InputError: photos/prod.png: would overwrite the input photos/prod.png ...
    """

    def __init__(self, inputs: Iterable[str | Path]):
        self._paths: dict[Path, Path] = {}
        self._ids: dict[tuple[int, int], Path] = {}
        for p in inputs:
            p = Path(p)
            self._paths[p.resolve()] = p
            ident = _identity(p)
            if ident is not None:
                self._ids[ident] = p

    def clash(self, target: str | Path) -> Path | None:
        """The input ``target`` would overwrite, or None."""
        t = Path(target)
        hit = self._paths.get(t.resolve())
        if hit is None:
            ident = _identity(t)
            hit = self._ids.get(ident) if ident is not None else None
        return hit

    def check(self, target: str | Path) -> None:
        """Raise :class:`InputError` when writing ``target`` would replace one of the inputs."""
        hit = self.clash(target)
        if hit is not None:
            raise InputError(target, f"would overwrite the input {hit}; choose another output folder or name")
