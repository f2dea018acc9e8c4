"""``packshot schema``: the JSON Schema of a user document, for editors and validators.

    packshot schema brief   > brief.schema.json     # then, first line of a brief:
                                                    # yaml-language-server: $schema=brief.schema.json
    packshot schema profile > profile.schema.json   # a marketplace profile file (--profile my-shop.yaml)

The schemas come from the pydantic models that validate these files
(:class:`packshot.condition.brief_model.BriefModel`, :class:`packshot.export.compliance.profiles.ProfileModel`),
so an editor flags what ``packshot run`` would refuse: unknown keys, wrong types, values out of range.
"""

from __future__ import annotations

import enum
import json

import typer

from ._common import Json, Quiet, emit, set_output


class Document(str, enum.Enum):
    """The documents with a schema."""

    brief = "brief"
    profile = "profile"


def schema_for(document: Document | str) -> dict:
    """The JSON Schema of ``document`` as a dict."""
    kind = Document(document)
    if kind is Document.brief:
        from ..condition.brief_model import brief_json_schema

        return brief_json_schema()
    from ..export.compliance.profiles import profile_json_schema

    return profile_json_schema()


def register(app: typer.Typer) -> None:
    @app.command("schema")
    def schema_command(
        document: Document = typer.Argument(..., help="brief (a scenes brief, YAML) or profile (a marketplace "
                                                      "profile file, YAML)."),
        as_json: Json = False,
        quiet: Quiet = False,
    ) -> None:
        """Print the JSON Schema of a brief or a marketplace profile (editors complete and check with it).

        The schema is the output: indented by default, one line with --json (--quiet changes nothing,
        as the command prints no prose)."""
        set_output(as_json, quiet)
        schema = schema_for(document)
        if as_json:
            emit(schema)
        else:
            typer.echo(json.dumps(schema, indent=2))
