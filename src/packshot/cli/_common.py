"""What every CLI subcommand shares: the options of the one grammar, input expansion (files and
folders alike), ``--json`` / ``--quiet`` output, per-input failure reporting and progress."""

from __future__ import annotations

import importlib
import json
import os
import re
import warnings
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Annotated, Callable, Iterable, List, Mapping, Optional, Sequence

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from ..errors import PackshotError, PackshotWarning
from ..export.delivery.feeds import FEED_KINDS
from ..export.delivery.naming import COLLISION_POLICIES
from ..imaging import DEFAULT_MAX_PIXELS, MAX_PIXELS_CEILING, SUPPORTED_SUFFIXES, check_max_pixels
from ..segment.orientation import ORIENTATION_CHOICES

# soft_wrap: an error message naming a long path is never cut or elided.
# Messages hold file names, user text and brackets ("[width, height]") that Rich would read as
# markup and swallow: print them with print_error / print_warning (label styled, message
# verbatim), or escape() them; never interpolate a message into a markup string.
err_console = Console(stderr=True, soft_wrap=True)

__all__ = ["DEPTH", "PROFILE", "RELIGHTER", "RENDERER", "SEGMENTER", "UPSCALER", "BatchResult", "BriefFile",
           "choice_option", "Json", "Master", "MaxPixels", "Out", "Profiles", "Quiet", "Renderer",
           "RendererAlias", "Seed", "Segmenter", "SegmenterAlias", "deprecated_alias", "emit", "err_console", "escape",
           "expand_inputs", "json_mode", "max_pixels_option", "print_error", "print_info", "print_warning",
           "quiet_mode", "run_batch", "set_output", "with_seed"]


def print_error(label: str, message: str, style: str = "red") -> None:
    """Print ``label message`` to stderr, the label styled; the message is printed as it is (never
    read as Rich markup, so "[width, height]" or a file called "[red].png" shows verbatim)."""
    err_console.print(Text.assemble((label, style), " ", str(message)))


def print_info(message: str) -> None:
    """Print ``message`` to stderr verbatim (no markup); nothing with ``--quiet``."""
    if not _OUTPUT["quiet"]:
        err_console.print(Text(str(message)))


def print_warning(message: str) -> None:
    """Print ``warning message`` to stderr (the message verbatim)."""
    print_error("warning", message, style="yellow")


# ---------------------------------------------------------------------------------------------
# One grammar for every command. Each shared option is spelled once, here; commands take it as
# an Annotated type (``out: Out``) or, to word its help for the command, from its factory
# (``Annotated[Path, out_option("Folder for <stem>.png outputs.")]``). The same short flag
# means the same long option in every command (tests/test_cli_grammar.py checks it):
#
#   -o --out   -b --brief   -s --segmenter   -r --renderer   -m --master   -p --profile
#   -q --quiet    --json    --seed    --max-pixels    -d --dest    -t --template    -w --workers
#
# Enumerated options are checked when the command line is parsed (a typo exits 2 listing the
# choices) and complete in the shell (``packshot --install-completion``): backends come from
# their registries, profiles from the export profiles, the rest are Enums.
# ---------------------------------------------------------------------------------------------
class RegistryChoice:
    """A backend name from a stage's registry: ``name``, or ``name:ARG`` for a backend taking an
    argument (``onnx:model.onnx``); ``extra`` names are accepted besides the registry's (``none``).
    Used as an option's ``parser`` (checked when the command line is parsed) and ``shell_complete``."""

    def __init__(self, kind: str, module: str, attr: str, extra: tuple[str, ...] = ()):
        self.kind, self._module, self._attr, self.extra = kind, module, attr, tuple(extra)

    def registry(self):
        return getattr(importlib.import_module(self._module), self._attr)

    def choices(self) -> list[str]:
        """The names as ``packshot backends`` shows them (``onnx:ARG``), then the extras."""
        return [*self.registry().names(), *self.extra]

    def __call__(self, value) -> str:
        value = str(value)
        if value in self.extra:
            return value
        registry = self.registry()
        name, sep, arg = value.partition(":")
        if value not in registry:
            raise typer.BadParameter(f"unknown {self.kind} {value!r}; choose one of: {', '.join(self.choices())}")
        takes_argument = f"{name}:ARG" in registry.names()
        if takes_argument and not arg:
            raise typer.BadParameter(f"{self.kind} {name!r} needs an argument: use {name}:ARG")
        if sep and not takes_argument:
            raise typer.BadParameter(f"{self.kind} {name!r} takes no argument, got {value!r}")
        return value

    def complete(self, ctx, param, incomplete: str) -> list[str]:
        names = [c.removesuffix("ARG") for c in self.choices()]  # "onnx:ARG" completes to "onnx:"
        return [n for n in names if n.startswith(incomplete)]


class ProfileChoice:
    """A marketplace profile: a built-in image or video profile name, or a ``.yaml`` profile file."""

    kind = "profile"

    @staticmethod
    def choices() -> list[str]:
        from ..export.compliance.profiles import profile_names, video_profile_names

        return [*profile_names(), *video_profile_names()]

    def __call__(self, value) -> str:
        value = str(value)
        if value in self.choices() or Path(value).suffix.lower() in (".yaml", ".yml"):
            return value
        raise typer.BadParameter(f"unknown profile {value!r}; choose one of: {', '.join(self.choices())} (or a "
                                 f".yaml profile file; `packshot profiles` lists them)")

    def complete(self, ctx, param, incomplete: str) -> list[str]:
        return [n for n in self.choices() if n.startswith(incomplete)]


def choice_option(*decls: str, choice, help: str, **kwargs):
    """An option whose value is checked by ``choice`` (a :class:`RegistryChoice` or :class:`ProfileChoice`)
    when the command line is parsed, and completed by it in the shell."""
    return typer.Option(*decls, parser=choice, shell_complete=choice.complete, metavar="NAME", help=help, **kwargs)


SEGMENTER = RegistryChoice("segmenter", "packshot.segment", "BACKENDS")
RENDERER = RegistryChoice("renderer", "packshot.render", "RENDERERS")
DEPTH = RegistryChoice("depth backend", "packshot.understand.depth", "BACKENDS")
UPSCALER = RegistryChoice("upscaler", "packshot.export.compliance.upscale", "UPSCALERS", extra=("none",))
RELIGHTER = RegistryChoice("relight model", "packshot.relight", "RELIGHTERS")
PROFILE = ProfileChoice()


def _enum(name: str, values: Sequence[str]) -> type[Enum]:
    """A str Enum whose values are ``values`` (member names made valid identifiers: "90" -> r90)."""
    return Enum(name, [(v if v.isidentifier() else "r" + re.sub(r"\W", "_", v), v) for v in values], type=str)


Orientation = _enum("Orientation", ORIENTATION_CHOICES)
"""``--orientation``: auto (label text, then shape), keep, or a clockwise turn 0, 90, 180, 270."""
FeedKind = _enum("FeedKind", FEED_KINDS)
"""``--feed``: google (TSV) or meta (CSV)."""
OnCollision = _enum("OnCollision", COLLISION_POLICIES)
"""``--on-collision``: suffix (-2, -3) or error."""
FailOn = _enum("FailOn", ("fail", "review"))
"""``packshot qa --fail-on``: the lowest verdict that makes the exit code non-zero."""
KeyType = _enum("KeyType", ("es256", "ps256", "ed25519"))
"""``packshot credentials init --key-type``."""
Engine = _enum("Engine", ("local", "ray"))
"""``packshot catalogue --engine``."""


def out_option(help: str = "Output folder."):
    return typer.Option("--out", "-o", help=help)


def brief_option(help: str = "Creative brief (YAML)."):
    return typer.Option("--brief", "-b", help=help)


def segmenter_option(help: str = "Segment backend (see `packshot backends`)."):
    return choice_option("--segmenter", "-s", choice=SEGMENTER, help=help)


def renderer_option(help: str = "Renderer for scenes without a plate (a scene's 'renderer:' in the brief wins)."):
    return choice_option("--renderer", "-r", choice=RENDERER, help=help)


def backend_alias_option(target: RegistryChoice, instead: str):
    """The old ``--backend`` spelling, hidden from --help: it still works, with a deprecation warning
    naming ``instead`` (resolve it with :func:`deprecated_alias`)."""
    return choice_option("--backend", choice=target, hidden=True, help=f"Deprecated: use {instead}.")


def master_option(help: str = "Folder of approved master artwork, one image per SKU (<sku>.png, "
                              "<sku>_master.png, or any image whose stem is the SKU)."):
    return typer.Option("--master", "-m", help=help)


def json_option(help: str = "One JSON object per item on stdout (JSON Lines); prose goes to stderr."):
    return typer.Option("--json", help=help)


def quiet_option(help: str = "No progress or prose on stderr (errors and warnings are still printed)."):
    return typer.Option("--quiet", "-q", help=help)


def seed_option(help: str = "Seed for every scene, instead of the brief's (same inputs and seed give the same bytes)."):
    return typer.Option("--seed", min=0, max=2**32 - 1, help=help)


def profile_option(help: str = "Marketplace profile name or YAML file; repeat for several (`packshot profiles` "
                               "lists them)."):
    return choice_option("--profile", "-p", choice=PROFILE, help=help)


def orientation_option(help: str = "Turn the product upright: auto (label text, then shape), keep, or 0, 90, 180, "
                                   "270 (clockwise)."):
    return typer.Option("--orientation", help=help, case_sensitive=False)


def _max_pixels_callback(value: int) -> int:
    try:
        return check_max_pixels(value, "--max-pixels")
    except ValueError as exc:
        raise typer.BadParameter(str(exc).removeprefix("--max-pixels: "), param_hint="--max-pixels") from None


def max_pixels_option(help_text: str = "Pixel limit for input photos (decompression-bomb guard)",
                      default: int | None = DEFAULT_MAX_PIXELS):
    """The ``--max-pixels`` option shared by every command that reads photos: 1 .. the ceiling.
    With ``default=None`` it is for Annotated use (the default then goes in the signature)."""
    help = f"{help_text}; at most {MAX_PIXELS_CEILING} ({MAX_PIXELS_CEILING // 1_000_000} MP)."
    if default is None:
        return typer.Option("--max-pixels", callback=_max_pixels_callback, help=help)
    return typer.Option(default, "--max-pixels", callback=_max_pixels_callback, help=help)


Out = Annotated[Path, out_option()]
BriefFile = Annotated[Path, brief_option()]
Segmenter = Annotated[str, segmenter_option()]
SegmenterAlias = Annotated[Optional[str], backend_alias_option(SEGMENTER, "--segmenter/-s")]
Renderer = Annotated[str, renderer_option()]
RendererAlias = Annotated[Optional[str], backend_alias_option(RENDERER, "--renderer/-r")]
Master = Annotated[Optional[Path], master_option()]
Json = Annotated[bool, json_option()]
Quiet = Annotated[bool, quiet_option()]
Seed = Annotated[Optional[int], seed_option()]
MaxPixels = Annotated[int, max_pixels_option(default=None)]
Profiles = Annotated[List[str], profile_option()]
OrientationOption = Annotated[Orientation, orientation_option()]


def deprecated_alias(value, alias_value, alias: str = "--backend", instead: str = "--segmenter"):
    """``alias_value`` (given with the deprecated spelling ``alias``) when it was given, with a
    warning on stderr; else ``value``."""
    if alias_value is None:
        return value
    print_warning(f"{alias} is deprecated: use {instead}")
    return alias_value


def with_seed(brief, seed: int | None):
    """``brief`` with every scene's seed replaced by ``seed`` (None: the brief unchanged). Its
    sha256 changes with the seed, so run keys tell the two apart."""
    if seed is None:
        return brief
    import dataclasses

    from ..provenance import sha256_bytes

    scenes = tuple(dataclasses.replace(s, seed=int(seed)) for s in brief.scenes)
    return dataclasses.replace(brief, scenes=scenes,
                               sha256=sha256_bytes(f"{brief.sha256}|seed={int(seed)}".encode()))


# ---------------------------------------------------------------------------------------------
# output: --json (one object per item on stdout) and --quiet (no prose)
# ---------------------------------------------------------------------------------------------
_OUTPUT = {"json": False, "quiet": False}


def set_output(json_lines: bool = False, quiet: bool = False) -> None:
    """Set this invocation's output mode (every command calls it first; the root resets it)."""
    _OUTPUT["json"], _OUTPUT["quiet"] = bool(json_lines), bool(quiet)


def json_mode() -> bool:
    return _OUTPUT["json"]


def quiet_mode() -> bool:
    return _OUTPUT["quiet"]


def _json_default(obj):
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, Enum):
        return obj.value
    if hasattr(obj, "tolist"):
        return obj.tolist()
    return str(obj)


def emit(record: Mapping) -> None:
    """Write one JSON object as one line on stdout."""
    typer.echo(json.dumps(dict(record), ensure_ascii=False, default=_json_default))


def expand_inputs(inputs: Sequence[Path], suffixes: Iterable[str] = SUPPORTED_SUFFIXES,
                  exclude: Sequence[Path] = ()) -> list[Path]:
    """The files a command works on, for files and folders alike.

    A file named on the command line is taken as it is (a wrong one fails later, by name). A
    folder expands, recursively, to the files inside it whose suffix is in ``suffixes`` (case
    ignored), sorted by path; hidden entries (``.name``) and the folders in ``exclude`` (the
    command's own output folder) are skipped, and symlinked folders are not followed. A path
    given twice (or inside a folder also given) is taken once.
    """
    wanted = {s.lower() for s in suffixes}
    skip = set()
    for p in exclude:
        try:
            skip.add(Path(p).resolve())
        except OSError:
            pass
    out: list[Path] = []
    seen: set[Path] = set()

    def add(path: Path) -> None:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            out.append(path)

    for p in inputs:
        p = Path(p)
        if not p.is_dir():
            add(p)
            continue
        found: list[Path] = []
        for root, dirs, files in os.walk(p):
            dirs[:] = [d for d in dirs if not d.startswith(".") and (Path(root) / d).resolve() not in skip]
            found.extend(Path(root) / f for f in files if not f.startswith(".") and Path(f).suffix.lower() in wanted)
        for q in sorted(found, key=lambda q: q.as_posix()):
            add(q)
    return out


@dataclass
class BatchResult:
    done: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0


def run_batch(items: Iterable[Path], work: Callable[[Path], Mapping | None], label: str = "working",
              show_progress: bool | None = None) -> BatchResult:
    """Run ``work`` on each item; a failure is reported with its reason and the rest go on.

    Errors packshot raises on purpose are reported by their message; anything else by its
    type and message (never swallowed silently): the exit code is non-zero when any failed.
    With ``--json`` each item gives one line on stdout: ``{"input": ..., "ok": true, **record}``
    where ``record`` is what ``work`` returned, or ``{"input": ..., "ok": false, "error": ...}``.
    """
    items = list(items)
    result = BatchResult()
    # a live progress bar only on a terminal: in logs it would crop the failure lines
    show = (len(items) > 1 and err_console.is_terminal) if show_progress is None else show_progress
    progress = Progress(TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        TextColumn("{task.fields[name]}"), console=err_console,
                        disable=not show or _OUTPUT["quiet"], transient=False)
    with progress:
        task = progress.add_task(label, total=len(items), name="")
        for item in items:
            progress.update(task, name=Path(item).name)
            try:
                with _warnings_shown():
                    record = work(item)
                result.done.append(item)
                if _OUTPUT["json"]:
                    emit({"input": str(item), "ok": True, **(record or {})})
            except (PackshotError, ValueError, OSError) as exc:
                result.failed.append((item, str(exc)))
                # packshot's input errors already start with the file they name
                message = str(exc) if str(exc).startswith(str(item)) else f"{item}: {exc}"
                print_error("failed", message)
                if _OUTPUT["json"]:
                    emit({"input": str(item), "ok": False, "error": message})
            except Exception as exc:  # an unexpected bug: report it with its type, keep going
                result.failed.append((item, f"{type(exc).__name__}: {exc}"))
                print_error("failed", f"{item}: {type(exc).__name__}: {exc}")
                if _OUTPUT["json"]:
                    emit({"input": str(item), "ok": False, "error": f"{item}: {type(exc).__name__}: {exc}"})
            progress.advance(task)
    if result.failed:
        err_console.print(Text(f"{len(result.failed)} of {len(items)} failed"))  # not prose: kept with --quiet
    return result


class _warnings_shown:
    """Print every :class:`PackshotWarning` raised while working on one input as ``warning ...``;
    other warnings are passed on to Python's usual handling."""

    def __enter__(self):
        self._ctx = warnings.catch_warnings(record=True)
        self._caught = self._ctx.__enter__()
        warnings.simplefilter("always", PackshotWarning)
        return self

    def __exit__(self, *exc_info):
        self._ctx.__exit__(*exc_info)
        for w in self._caught:
            if issubclass(w.category, PackshotWarning):
                print_warning(str(w.message))
            else:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)
        return False
