"""``packshot verify``: read and validate the Content Credentials (C2PA) of files.

Folders are searched recursively. With ``--json``, one JSON object per file on stdout (the
verification: validity, trust, provenance chain, and ``ok``: whether it passes).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, List, Optional

import typer

from ._common import Json, Quiet, emit, expand_inputs, print_error, print_info, set_output


def register(app: typer.Typer) -> None:
    @app.command("verify")
    def verify_command(
        files: Annotated[List[Path], typer.Argument(help="Images (JPEG, PNG, WebP) or clips (MP4; WebM from its .webm.c2pa sidecar) to verify, or folders of "
                                                     "them; a file without an embedded manifest is read with its "
                                                     ".c2pa sidecar.")],
        require_trusted: bool = typer.Option(False, "--require-trusted", help="Fail (exit 1) when the signer is "
                                             "not trusted, e.g. a development CA."),
        trust_anchors: Optional[Path] = typer.Option(None, "--trust-anchors", help="PEM file of extra CA "
                                                     "certificates to trust."),
        as_json: Json = False,
        quiet: Quiet = False,
    ) -> None:
        """Validate signature and hard binding, and print the provenance chain. Exit 0 when every file is valid
        (an untrusted signer is a warning), 1 when a manifest is missing or invalid."""
        from ..credentials.verify import MEDIA_SUFFIXES, verify_file
        from ..errors import PackshotError

        set_output(as_json, quiet)
        if trust_anchors is not None and not trust_anchors.is_file():
            print_error("input error", f"{trust_anchors}: trust anchors file does not exist")
            raise typer.Exit(2)
        expanded: list[Path] = []
        for f in files:
            if f.is_dir():
                found = expand_inputs([f], suffixes=MEDIA_SUFFIXES)
                if not found:
                    print_error("input error", f"{f}: folder holds no image or clip to verify")
                    raise typer.Exit(2)
                expanded.extend(found)
            else:
                expanded.append(f)
        results = []
        try:
            for f in expanded:
                results.append(verify_file(f, trust_anchors=trust_anchors))
        except PackshotError as exc:
            print_error("error", f"{exc}")
            raise typer.Exit(2)
        codes = [r.exit_code(require_trusted) for r in results]
        if as_json:
            for f, r, c in zip(expanded, results, codes):
                emit({"input": str(f), **r.to_dict(), "ok": c == 0})
        else:
            for r, c in zip(results, codes):
                typer.echo(r.describe())
                if r.has_manifest and r.valid and not r.trusted and require_trusted:
                    typer.echo("  FAILED: --require-trusted and the signer is not trusted")
        bad = sum(1 for c in codes if c)
        if len(results) > 1 or bad:
            print_info(f"{len(results) - bad} of {len(results)} verified" + (f"; {bad} failed" if bad else ""))
        raise typer.Exit(1 if bad else 0)
