"""``packshot backends``: every registered backend of every stage, with a one-line description.

    packshot backends            # a table per stage
    packshot backends --json     # one JSON object per backend: {"stage": "render", "name": "studio", ...}

Backends needing an optional extra say so in their description; the listing itself imports no
heavy dependency.
"""

from __future__ import annotations

import importlib

import typer

from ._common import Json, Quiet, emit, set_output

REGISTRIES = (
    ("segment", "packshot.segment", "BACKENDS"),
    ("depth", "packshot.understand.depth", "BACKENDS"),
    ("render", "packshot.render", "RENDERERS"),
    ("relight", "packshot.relight", "RELIGHTERS"),
    ("qa", "packshot.qa", "CHECKS"),
    ("upscale", "packshot.export.compliance.upscale", "UPSCALERS"),
)
"""(stage, module, attribute) of each registry listed."""


def collect() -> dict[str, dict[str, str]]:
    """Stage -> {name (``name:ARG`` when it takes an argument): description}."""
    out: dict[str, dict[str, str]] = {}
    for stage, module, attr in REGISTRIES:
        try:
            registry = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError):
            continue
        docs = registry.describe()
        out[stage] = {shown: docs[shown.partition(":")[0]] for shown in registry.names()}
    return out


def register(app: typer.Typer) -> None:
    @app.command("backends")
    def backends_command(
        as_json: Json = False,
        quiet: Quiet = False,
    ) -> None:
        """List the backends of every stage (segment, depth, render, relight, qa checks, upscale)."""
        set_output(as_json, quiet)
        found = collect()
        if as_json:
            for stage, names in found.items():
                for name, doc in names.items():
                    emit({"stage": stage, "name": name, "description": doc})
            return
        from rich.console import Console
        from rich.table import Table

        table = Table("stage", "backend", "what it does", show_lines=False)
        for stage, names in found.items():
            for name, doc in names.items():
                table.add_row(stage, name, doc)
        Console(width=140).print(table)
