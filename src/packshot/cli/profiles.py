"""``packshot profiles``: the marketplace profiles ``--profile`` accepts, with what each demands.

    packshot profiles            # a table: name, kind, size, format, rules
    packshot profiles --json     # one JSON object per profile (the profile's every field)

A user profile is a YAML file with the same fields (``extends: <built-in>`` starts from one);
``packshot profiles my-shop.yaml`` shows it as packshot reads it.
"""

from __future__ import annotations

from typing import List, Optional

import typer

from ._common import Json, Quiet, emit, print_error, set_output


def _mb(n: int) -> str:
    return f"{n / 1_000_000:g} MB"


def image_rules(p) -> str:
    """One line: the rules an image profile imposes (hard rules; recommendations marked)."""
    rules = []
    if p.min_longest_side:
        rules.append(f"longest side >= {p.min_longest_side}")
    if p.min_shortest_side:
        rules.append(f"shortest side >= {p.min_shortest_side}")
    if p.max_longest_side:
        rules.append(f"longest side <= {p.max_longest_side}")
    if p.aspect:
        rules.append(f"aspect {p.aspect:.4g}")
    if p.fill_min:
        rules.append(f"fill >= {p.fill_min:.0%}")
    if p.background == "white":
        rules.append("white background")
    if p.edge_clearance:
        rules.append("edge clearance")
    if not p.allow_alpha:
        rules.append("no transparency")
    if p.max_bytes:
        rules.append(f"<= {_mb(p.max_bytes)}")
    if not p.text_allowed:
        rules.append("no added text")
    if p.safe_zone is not None:
        rules.append("safe zone")
    if p.ai_label:
        rules.append(f"label '{p.ai_label}'")
    if p.recommended_longest_side:
        rules.append(f"(recommended longest side {p.recommended_longest_side})")
    return ", ".join(rules) or "none"


def video_rules(p) -> str:
    """One line: the rules a video profile imposes."""
    rules = [f"{'/'.join(p.containers)} {'/'.join(p.codecs)}"]
    if p.min_seconds is not None or p.max_seconds is not None:
        rules.append(f"{p.min_seconds or 0:g}-{p.max_seconds:g} s" if p.max_seconds else f">= {p.min_seconds:g} s")
    if p.min_width:
        rules.append(f"width >= {p.min_width}")
    if p.min_height:
        rules.append(f"height >= {p.min_height}")
    if p.max_bytes:
        rules.append(f"<= {_mb(p.max_bytes)}")
    if p.audio != "optional":
        rules.append(f"audio {p.audio}")
    if p.faststart:
        rules.append("faststart")
    return ", ".join(rules)


def describe(name_or_path: str) -> dict:
    """A profile as one JSON-friendly record: name, kind, size, format, rules (one line), description
    and every field (``fields``)."""
    import dataclasses

    from ..export.compliance.profiles import get_profile
    from ..export.compliance.video_profiles import VIDEO_PROFILES

    if name_or_path in VIDEO_PROFILES:
        p = VIDEO_PROFILES[name_or_path]
        fields = dataclasses.asdict(p)
        return {"name": p.name, "kind": "video", "size": list(p.size), "format": p.containers[0],
                "rules": video_rules(p), "description": p.description, "fields": fields}
    p = get_profile(name_or_path)
    return {"name": p.name, "kind": "image", "size": list(p.size), "format": p.output_format,
            "rules": image_rules(p), "description": p.description, "fields": p.to_dict()}


def register(app: typer.Typer) -> None:
    @app.command("profiles")
    def profiles_command(
        profiles: Optional[List[str]] = typer.Argument(None, help="Only these profiles (names or .yaml files); "
                                                                  "default: every built-in profile."),
        as_json: Json = False,
        quiet: Quiet = False,
    ) -> None:
        """List the marketplace profiles: name, size, format and the rules each imposes."""
        from ..errors import InputError
        from ..export.compliance.profiles import profile_names, video_profile_names

        set_output(as_json, quiet)
        names = list(profiles or [*profile_names(), *video_profile_names()])
        records = []
        for name in names:
            try:
                records.append(describe(name))
            except InputError as exc:
                print_error("error", str(exc))
                raise typer.Exit(2)
        if as_json:
            for record in records:
                emit(record)
            return
        from rich.console import Console
        from rich.table import Table

        table = Table("profile", "kind", "size", "format", "rules", "what it is for", show_lines=False)
        for r in records:
            table.add_row(r["name"], r["kind"], f"{r['size'][0]}x{r['size'][1]}", r["format"], r["rules"],
                          r["description"])
        Console(width=160, soft_wrap=False).print(table)
