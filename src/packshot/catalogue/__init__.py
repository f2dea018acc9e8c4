"""The catalogue runner: SKUs x scenes x variants x profiles, resumable and cached.

``run_catalogue(manifest, out_dir, brief=..., profiles=...)`` reads a manifest
(:mod:`.manifest`), copies each SKU's photo and master artwork into ``out_dir/sources`` (named
by content hash), plans the units of work with their input and config hashes (:mod:`.plan`),
runs what is not up to date on local processes or Ray (:mod:`.engines`, :mod:`.work`), records
everything in the SQLite job store (:mod:`.store`, schema in its docstring) and writes
``report.html``, ``summary.csv`` and ``failures.csv`` (:mod:`.report`).
"""

from __future__ import annotations

from ..locking import FolderLockedError as LockedError
from ..locking import OutputLock
from .manifest import Manifest, RowError, SkuRow, load_manifest, manifest_from_photos
from .plan import RunSettings
from .runner import RunOutcome, run_catalogue, run_photos
from .store import JobStore

__all__ = ["JobStore", "LockedError", "Manifest", "OutputLock", "RowError", "RunOutcome", "RunSettings", "SkuRow",
           "load_manifest", "manifest_from_photos", "run_catalogue", "run_photos"]
