"""One CLI grammar: every command's --help, the same short flag for the same long option everywhere,
the shared options spelled once, enumerated options checked at parse time, --json / --quiet, and
files and folders (recursive) alike."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from packshot.cli import app
from packshot.cli._common import PROFILE, SEGMENTER, expand_inputs

runner = CliRunner()

SHARED = {"--out": "-o", "--brief": "-b", "--segmenter": "-s", "--renderer": "-r", "--master": "-m",
          "--profile": "-p", "--quiet": "-q", "--json": None, "--seed": None, "--max-pixels": None,
          "--dest": "-d", "--template": "-t", "--workers": "-w"}
"""Long option -> its one short flag (None: it has none) wherever a command has it."""

"""cli/run.py and cli/catalogue.py belong to the catalogue engineer and still show --backend for the
segmenter and lack --json/--quiet: they adopt the grammar (see cli/_common.py) in their own branch.
Remove this exemption when they do."""


def _commands(group=None, prefix=()):
    group = group or typer.main.get_command(app)
    for name, cmd in sorted(group.commands.items()):
        if hasattr(cmd, "commands"):
            yield from _commands(cmd, (*prefix, name))
        else:
            yield " ".join((*prefix, name)), cmd


COMMANDS = dict(_commands())


def _options(cmd):
    return [p for p in cmd.params if getattr(p, "opts", None) and p.opts[0].startswith("-")]


def _longs_and_shorts(param):
    flags = [*param.opts, *getattr(param, "secondary_opts", [])]
    return [f for f in flags if f.startswith("--")], [f for f in flags if not f.startswith("--")]


def test_every_command_is_registered_and_answers_help():
    assert {"cutout", "inspect", "render", "run", "qa", "check", "export", "verify", "backends", "profiles",
            "catalogue", "review", "serve", "credentials init"} <= set(COMMANDS)
    for name, cmd in COMMANDS.items():
        res = runner.invoke(app, [*name.split(), "--help"])
        assert res.exit_code == 0, (name, res.output)
        for param in _options(cmd):
            if not param.hidden:  # every visible option is in the help text
                assert param.opts[0] in res.output, (name, param.opts[0])


def test_one_short_flag_means_one_long_option_everywhere():
    meaning: dict[str, set[str]] = {}
    for name, cmd in COMMANDS.items():
        for param in _options(cmd):
            longs, shorts = _longs_and_shorts(param)
            for short in shorts:
                meaning.setdefault(short, set()).update(longs[:1])
    clashes = {short: longs for short, longs in meaning.items() if len(longs) > 1}
    assert not clashes, clashes


def _spelling_problems(names):
    problems = []
    for name in names:
        for param in _options(COMMANDS[name]):
            longs, shorts = _longs_and_shorts(param)
            for long in longs:
                want = [SHARED[long]] if SHARED.get(long) else []
                if long in SHARED and shorts != want:
                    problems.append(f"{name}: {long} has {shorts}, the grammar says {want}")
            if "--backend" in param.opts and not param.hidden:
                problems.append(f"{name}: --backend is visible; use --segmenter/-s or --renderer/-r")
    return problems


def test_shared_options_have_one_spelling_and_backend_is_only_a_hidden_alias():
    assert not _spelling_problems(COMMANDS)


def test_every_command_has_json_and_quiet():
    """Every registered command and subcommand, today's and any added later: --json for one JSON
    object per item, -q/--quiet for no prose."""
    assert len(COMMANDS) > 12  # the walk found the commands, subcommands included
    missing = {}
    for name, cmd in COMMANDS.items():
        flags = {f for p in _options(cmd) for f in p.opts}
        if not {"--json", "--quiet"} <= flags:
            missing[name] = sorted({"--json", "--quiet"} - flags)
    assert not missing, missing


def test_completion_is_on_and_choices_complete():
    root = runner.invoke(app, ["--help"]).output
    assert "--install-completion" in root
    assert SEGMENTER.complete(None, None, "u") == ["u2netp"]
    assert "onnx:" in SEGMENTER.complete(None, None, "")  # a backend taking an argument completes to name:
    assert {"amazon-main", "amazon-additional", "amazon-video"} <= set(PROFILE.complete(None, None, "amazon"))


def _flat(text: str) -> str:
    return " ".join(text.replace("│", " ").split())  # parse errors come in a wrapped box


@pytest.mark.parametrize("args,needle", [
    (["cutout", "x.jpg", "-o", "o", "-s", "u2net"], "unknown segmenter 'u2net'; choose one of: auto, onnx:ARG"),
    (["inspect", "x.jpg", "-o", "o", "--depth", "midas"], "unknown depth backend 'midas'"),
    (["render", "x.png", "-b", "b.yaml", "-o", "o", "-r", "studoi"], "unknown renderer 'studoi'; choose one of:"),
    (["render", "x.png", "-b", "b.yaml", "-o", "o", "--seed", "-1"], "--seed"),
    (["render", "x.png", "-b", "b.yaml", "-o", "o", "--backend", "nope"], "unknown renderer"),  # old spelling
    (["check", "x.jpg", "-p", "amazon"], "unknown profile 'amazon'; choose one of: amazon-main"),
    (["export", "x.json", "-p", "amazon-main", "-d", "o", "--feed", "bing"], "'google', 'meta'"),
    (["export", "x.json", "-p", "amazon-main", "-d", "o", "--upscaler", "lanczos"], "unknown upscaler"),
    (["qa", "frames", "--fail-on", "sometimes"], "'fail', 'review'"),
    (["cutout", "x.jpg", "-o", "o", "--orientation", "45"], "'auto', 'keep', '0', '90', '180', '270'"),
    (["serve", "-s", "nope"], "unknown segmenter"),
])
def test_enumerated_options_fail_at_parse_time_listing_the_choices(tmp_path, args, needle):
    res = runner.invoke(app, args)
    assert res.exit_code == 2, res.output
    assert needle in _flat(res.output), res.output


def test_expand_inputs_takes_files_and_folders_recursively(tmp_path):
    for rel in ("a/1.jpg", "a/b/2.PNG", "a/b/c/3.webp", "a/notes.txt", "a/.hidden/4.jpg", "a/.5.jpg", "a/out/6.jpg"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"x")
    got = expand_inputs([tmp_path / "a/b/2.PNG", tmp_path / "a", tmp_path / "given.txt"], exclude=[tmp_path / "a/out"])
    assert [p.relative_to(tmp_path).as_posix() for p in got] == ["a/b/2.PNG", "a/1.jpg", "a/b/c/3.webp", "given.txt"]
    assert expand_inputs([tmp_path / "a"], suffixes=(".txt",)) == [tmp_path / "a/notes.txt"]


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    from packshot.imaging import save_image
    from packshot.samples import make_product

    root = tmp_path_factory.mktemp("grammar")
    for rel, kind, seed in (("shelf/can.png", "can", 1), ("shelf/deep/jar.png", "jar", 6)):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        save_image(root / rel, make_product(kind, seed=seed, size=(120, 120), noise=0.005).image)
    (root / "shelf" / "broken.jpg").write_text("not a photo")
    return root


def test_json_lines_on_stdout_and_quiet_stderr(tmp_path, photos):
    res = runner.invoke(app, ["cutout", str(photos / "shelf"), "-o", str(tmp_path / "cut"), "-s", "u2netp", "--json",
                              "-q"])
    assert res.exit_code == 1  # broken.jpg fails, the others are written
    records = [json.loads(line) for line in res.stdout.splitlines()]
    assert [Path(r["input"]).name for r in records] == ["broken.jpg", "can.png", "jar.png"]  # folder, recursive
    bad, can, jar = records
    assert not bad["ok"] and "broken.jpg" in bad["error"]
    assert can["ok"] and can["size"] == [120, 120] and Path(can["output"]) == tmp_path / "cut" / "can.png"
    assert Path(jar["output"]).is_file()
    assert "wrote" not in res.stderr and "broken.jpg" in res.stderr  # no prose with -q; errors still shown
    loud = runner.invoke(app, ["cutout", str(photos / "shelf" / "can.png"), "-o", str(tmp_path / "cut2"),
                               "-s", "u2netp"])
    assert loud.exit_code == 0 and loud.stdout == "" and "wrote 1 cut-out" in loud.stderr


def test_deprecated_backend_spelling_still_works_with_a_warning(tmp_path, photos):
    res = runner.invoke(app, ["cutout", str(photos / "shelf" / "can.png"), "-o", str(tmp_path), "--backend", "u2netp"])
    assert res.exit_code == 0, res.output
    assert "--backend is deprecated: use --segmenter" in res.stderr and (tmp_path / "can.png").is_file()


def test_profiles_and_backends_list_what_is_available():
    from packshot.export.compliance.profiles import profile_names, video_profile_names

    res = runner.invoke(app, ["profiles", "--json"])
    assert res.exit_code == 0, res.output
    records = [json.loads(line) for line in res.stdout.splitlines()]
    assert [r["name"] for r in records] == [*profile_names(), *video_profile_names()]
    main = records[0]
    assert main["name"] == "amazon-main" and main["size"] == [2000, 2000] and main["format"] == "JPEG"
    assert "fill >= 85%" in main["rules"] and "white background" in main["rules"]
    assert main["fields"]["fill_min"] == 0.85
    table = runner.invoke(app, ["profiles"])
    assert table.exit_code == 0 and "amazon-main" in table.stdout and "tiktok" in table.stdout
    assert runner.invoke(app, ["profiles", "nope"]).exit_code == 2
    res = runner.invoke(app, ["backends", "--json"])
    found = {(r["stage"], r["name"]) for r in map(json.loads, res.stdout.splitlines())}
    assert {("segment", "auto"), ("segment", "onnx:ARG"), ("render", "studio"), ("depth", "inflate")} <= found


def test_seed_replaces_every_scene_seed_and_changes_the_brief_key():
    from packshot.cli._common import with_seed
    from packshot.condition.brief import parse_brief

    brief = parse_brief({"scenes": [{"name": "a", "seed": 3}, {"name": "b"}]})
    seeded = with_seed(brief, 9)
    assert [s.seed for s in seeded.scenes] == [9, 9] and seeded.sha256 != brief.sha256
    assert with_seed(brief, None) is brief
    assert np.array_equal([s.seed for s in with_seed(brief, 3).scenes], [3, 3])


@pytest.mark.parametrize("words,expected", [
    ("packshot cutout x.jpg -s ", ["auto", "onnx:", "sam:", "u2netp"]),
    ("packshot check x.jpg -p meta-s", ["meta-square", "meta-story"]),
    ("packshot cutout x.jpg --orientation ", ["auto", "keep", "0", "90", "180", "270"]),
    ("packshot render x.png -r ", ["studio", "plate", "diffusion"]),
])
def test_the_shell_completes_choices(words, expected):
    """What `packshot --install-completion` wires into bash: the shell asks the program itself."""
    env = {"_PACKSHOT_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": str(len(words.split(" ")) - 1)}
    res = runner.invoke(app, [], env=env, prog_name="packshot")
    assert res.stdout.split() == expected, res.output
