"""``qa.json``: a QAReport as deterministic JSON, and back."""

from __future__ import annotations

import json
from typing import Any, Mapping

import numpy as np

from ..types import CheckResult, QAReport

SCHEMA_VERSION = 1


def _plain(value: Any) -> Any:
    """Numpy scalars/arrays and tuples -> JSON types; floats rounded to 6 significant digits (stable bytes)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        v = float(value)
        return float(f"{v:.6g}") if np.isfinite(v) else None
    return value


FLAG_NOTES = {
    "orientation-uncertain": "which way is up could not be told (weak or disagreeing evidence): rendered as "
                             "shot; check the product is upright, or run again with --orientation 0|90|180|270",
}
"""Flags of a frame's product that qa reports beside its verdict (they do not change the verdict)."""


def frame_flags(provenance: Mapping[str, Any]) -> list[str]:
    """Flags a frame's sidecar provenance carries that the qa report shows (``orientation-uncertain``)."""
    orientation = provenance.get("orientation") if isinstance(provenance, Mapping) else None
    flags = []
    if isinstance(orientation, Mapping) and orientation.get("uncertain"):
        flags.append("orientation-uncertain")
    return flags


def report_to_dict(report: QAReport, **extra: Any) -> dict[str, Any]:
    """The report as plain data; ``extra`` (frame path, sku, ...) is added at the top level."""
    data = {
        "schema_version": SCHEMA_VERSION,
        "verdict": report.verdict,
        "reasons": list(report.reasons),
        "checks": [{"name": c.name, "status": c.status, "value": c.value, "threshold": c.threshold,
                    "message": c.message} for c in report.checks],
        "metrics": dict(report.metrics),
        "provenance": dict(report.provenance),
    }
    data.update(extra)
    return _plain(data)


def report_to_json(report: QAReport, **extra: Any) -> str:
    """Deterministic JSON text (sorted keys, 2-space indent, trailing newline)."""
    return json.dumps(report_to_dict(report, **extra), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def report_from_dict(data: Mapping[str, Any]) -> QAReport:
    """Rebuild a QAReport from :func:`report_to_dict` output."""
    checks = tuple(CheckResult(c["name"], c["status"], c.get("value"), c.get("threshold"), c.get("message", ""))
                   for c in data.get("checks", ()))
    return QAReport(verdict=data["verdict"], checks=checks, reasons=tuple(data.get("reasons", ())),
                    metrics=data.get("metrics", {}), provenance=data.get("provenance", {}))
