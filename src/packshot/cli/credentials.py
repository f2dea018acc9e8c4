"""``packshot credentials``: make and inspect the signing credentials for Content Credentials (C2PA).

With ``--json``, ``init`` and ``show`` print one JSON object describing the signer (``folder``, ``alg``,
``subject``, ``issuer``, ``not_after``, ``tsa_url``, ``development``; ``init`` adds ``files``, the files
it wrote); ``sign-clip`` one object per clip. The key itself is never printed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, List, Optional

import typer

from ._common import (Json, KeyType, Quiet, emit, expand_inputs, json_mode, print_error, print_info, print_warning, run_batch,
                      set_output)

_INIT_FILES = ("chain.pem", "key.pem", "dev-ca.pem", "credentials.json")
"""What ``credentials init`` writes into its folder."""

_DEV_CERT_DAYS = 365
"""Default validity of the development certificates ``credentials init`` makes, in days."""

_CLIP_SUFFIXES = (".mp4", ".webm")
"""The clips ``credentials sign-clip`` finds in folders."""


def _failed(folder: Path, exc: Exception):
    """Report credentials that cannot be made or used (with --json also as ``{"folder", "ok": false,
    "error"}`` on stdout) and exit 2."""
    print_error("credentials error", f"{exc}")
    if json_mode():
        emit({"folder": str(folder), "ok": False, "error": str(exc)})
    raise typer.Exit(2)


def _signer(creds) -> dict:
    """The JSON object of ``credentials show`` (no key material)."""
    return {"folder": str(creds.folder), "ok": True, "alg": creds.alg, "subject": creds.subject,
            "issuer": creds.issuer, "not_after": creds.not_after.isoformat(), "tsa_url": creds.tsa_url,
            "development": creds.development, "description": creds.describe()}


def init_command(
    folder: Path = typer.Argument(..., help="Folder to write chain.pem, key.pem, dev-ca.pem and "
                                            "credentials.json into."),
    days: int = typer.Option(_DEV_CERT_DAYS, "--days", help="Validity of the development certificates, in days."),
    name: str = typer.Option("packshot development signer", "--name", help="Common name of the signer."),
    force: bool = typer.Option(False, "--force", help="Replace credentials already in the folder."),
    key_type: KeyType = typer.Option(KeyType.es256, "--key-type", help="Signer algorithm: es256, ps256 or ed25519."),
    tsa_url: str = typer.Option(None, "--tsa-url", help="Timestamp authority (RFC 3161) URL to record in "
                                "credentials.json; signing then asks it for a trusted time."),
    as_json: Json = False,
    quiet: Quiet = False,
) -> None:
    """Make a self-signed development CA and a signer it issued (for trials: readers report it as untrusted)."""
    from ..errors import PackshotError
    from ..credentials import init_dev_credentials

    set_output(as_json, quiet)
    if days < 1:
        raise typer.BadParameter("must be at least 1", param_hint="--days")
    try:
        creds = init_dev_credentials(folder, days=days, common_name=name, overwrite=force, tsa_url=tsa_url,
                                     key_type=key_type.value)
    except PackshotError as exc:
        _failed(folder, exc)
    print_info(f"wrote {folder}/{', '.join(_INIT_FILES)}")
    if as_json:
        emit({**_signer(creds), "files": [str(Path(folder) / name) for name in _INIT_FILES]})
    else:
        typer.echo(f"signer: {creds.describe()}")
    print_warning("this is a DEVELOPMENT CA: every manifest signed with it is reported as untrusted by C2PA "
                  "readers; use a certificate from a C2PA-trusted CA for production")


def show_command(
    folder: Path = typer.Argument(..., help="Credentials folder."),
    as_json: Json = False,
    quiet: Quiet = False,
) -> None:
    """Check a credentials folder and describe its signer (exit 2 when it cannot sign)."""
    from ..errors import PackshotError
    from ..credentials import load_credentials

    set_output(as_json, quiet)
    try:
        creds = load_credentials(folder)
    except PackshotError as exc:
        _failed(folder, exc)
    if as_json:
        emit(_signer(creds))
        return
    typer.echo(f"signer: {creds.describe()}")
    if creds.tsa_url:
        typer.echo(f"timestamp authority: {creds.tsa_url}")


def sign_clip_command(
    clips: Annotated[List[Path], typer.Argument(help="Motion clips (.mp4, .webm) as `packshot run` wrote them, "
                                                     "beside their frame sidecar <variant>.json, or folders of "
                                                     "them (searched recursively).")],
    credentials: Optional[Path] = typer.Option(None, "--credentials", envvar="PACKSHOT_CREDENTIALS",
                                               help="Credentials folder (PEM chain and key)."),
    as_json: Json = False,
    quiet: Quiet = False,
) -> None:
    """Sign Content Credentials into clips: MP4 embedded (rewritten in place), WebM as a .c2pa sidecar."""
    from ..credentials.clip import sign_clip
    from ..credentials.export_hook import ExportCredentials
    from ..errors import PackshotError

    set_output(as_json, quiet)
    if credentials is None:
        print_error("credentials error", "name a credentials folder with --credentials or PACKSHOT_CREDENTIALS")
        raise typer.Exit(2)
    try:
        signing = ExportCredentials(credentials)
    except PackshotError as exc:
        print_error("credentials error", f"{exc}")
        raise typer.Exit(2)
    files = expand_inputs(clips, suffixes=_CLIP_SUFFIXES)
    if not files:
        print_error("error", f"no clips in {', '.join(map(str, clips))}")
        raise typer.Exit(2)

    def work(clip: Path) -> dict:
        holder = sign_clip(clip, signing)
        print_info(f"signed {clip}" + (f" (sidecar {holder})" if holder != clip else ""))
        return {"signed": str(holder)}

    raise typer.Exit(run_batch(files, work, label="sign-clip").exit_code)


def register(app: typer.Typer) -> None:
    sub = typer.Typer(name="credentials", help="Signing credentials for Content Credentials (C2PA).",
                      no_args_is_help=True)
    sub.command("init")(init_command)
    sub.command("show")(show_command)
    sub.command("sign-clip")(sign_clip_command)
    app.add_typer(sub, name="credentials")
