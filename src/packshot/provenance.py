"""Provenance helpers: hashes of inputs and a uniform record for every stage output."""

from __future__ import annotations

import hashlib
import platform
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from . import __version__


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def sha256_array(array: np.ndarray) -> str:
    """Hash of an array's dtype, shape and bytes (stable across runs and machines).

    A contiguous array is hashed in place, without copying its bytes first (a 12 MP photo is
    144 MB of float32)."""
    a = np.ascontiguousarray(array)
    h = hashlib.sha256()
    h.update(str(a.dtype).encode())
    h.update(str(a.shape).encode())
    try:
        h.update(memoryview(a).cast("B"))
    except (TypeError, ValueError):  # dtypes without a buffer format (datetime, ...): a copy
        h.update(a.tobytes())
    return h.hexdigest()


def json_default(value: Any) -> Any:
    """``json.dumps(..., default=json_default)``: numpy scalars and arrays as plain numbers and
    lists, sets and tuples as lists, anything else (paths, enums) as its ``str``."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (set, tuple)):
        return list(value)
    return str(value)


def record(
    stage: str,
    backend: str,
    params: Mapping[str, Any] | None = None,
    inputs: Mapping[str, str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A provenance record for one stage output.

    Parameters
    ----------
    stage : str
        Stage name ("segment", "understand", ...).
    backend : str
        Backend name as registered.
    params : mapping
        Parameters that change the output (JSON-serialisable).
    inputs : mapping
        Input name -> sha256 hex digest.
    """
    rec: dict[str, Any] = {
        "stage": stage,
        "backend": backend,
        "packshot_version": __version__,
        "params": dict(params or {}),
        "inputs": dict(inputs or {}),
    }
    rec.update(extra)
    return rec


def environment() -> dict[str, str]:
    """Versions that can change pixels (kept out of per-frame hashes, recorded beside them)."""
    import cv2
    import PIL

    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "opencv": cv2.__version__,
        "pillow": PIL.__version__,
    }
