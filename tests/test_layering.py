"""Layering: a stage reaches another stage only through that stage's package face.

A module of stage package A (``packshot.<A>``) may import ``packshot.<B>`` (B another stage) and
its public names, never a submodule of B (``packshot.<B>.<module>``) nor a private name
(``_name``) of B. Neutral code every stage may use lives outside the stages: :mod:`packshot.ops`,
:mod:`packshot.types`, :mod:`packshot.imaging`, :mod:`packshot.framerecord`, ... The imports are
read from the source (AST), lazy imports inside functions included.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "packshot"

STAGES = ("segment", "understand", "condition", "render", "relight", "qa", "export", "motion")
"""The stage packages (DESIGN.md's table; motion makes the clips)."""
CONSUMERS = ("catalogue", "web", "credentials")
"""Packages above the stages (the catalogue runner, the review app and server, content credentials):
they too reach a stage only through its package face."""

ALLOWED: dict[tuple[str, str], str] = {
    # (importing module, imported module) -> why it is allowed; empty: every stage, the catalogue,
    # the web app and credentials reach a stage only through its package face
}


def _module_name(path: Path) -> tuple[str, bool]:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = list(rel.parts)
    is_pkg = parts[-1] == "__init__"
    if is_pkg:
        parts = parts[:-1]
    return ".".join(parts), is_pkg


def _imports(path: Path):
    """(line, imported module, names) of every import in ``path``, relative ones resolved."""
    name, is_pkg = _module_name(path)
    package = name.split(".") if is_pkg else name.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            yield node.lineno, target, [a.name for a in node.names]
        elif isinstance(node, ast.Import):
            for a in node.names:
                yield node.lineno, a.name, []


def _stage_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "packshot" and parts[1] in STAGES else None


def _package_of(module: str) -> str | None:
    """The stage or consumer package ``module`` belongs to (None for neutral code and the CLI)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "packshot" and parts[1] in STAGES + CONSUMERS else None


def violations() -> list[str]:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        module, _ = _module_name(path)
        own = _package_of(module)
        if own is None:
            continue
        for line, target, names in _imports(path):
            other = _stage_of(target)
            if other is None or other == own:
                continue
            parts = target.split(".")
            bad = []
            if len(parts) > 2:
                bad.append(f"imports the submodule {target}")
            elif names:
                # `from packshot.<B> import x`: x must be a public name (not a private helper);
                # a submodule reached as a name (`from ..render import io`) is a submodule too
                for n in names:
                    if n.startswith("_"):
                        bad.append(f"imports the private name {target}.{n}")
                    elif (SRC / other / f"{n}.py").exists() or (SRC / other / n / "__init__.py").exists():
                        bad.append(f"imports the submodule {target}.{n}")
            if bad and (module, target) not in ALLOWED:
                rel = path.relative_to(SRC.parent.parent)
                found += [f"{rel}:{line}: {module} {b}" for b in bad]
    return found


def test_a_stage_reaches_another_only_through_its_package_face():
    found = violations()
    assert not found, "stage modules reaching into other stages:\n" + "\n".join(found)


def test_the_allow_list_has_no_stale_entries():
    """Every allowed import still exists: an entry is removed once its import is fixed."""
    seen = set()
    for path in sorted(SRC.rglob("*.py")):
        module, _ = _module_name(path)
        for _, target, _names in _imports(path):
            seen.add((module, target))
    stale = [pair for pair in ALLOWED if pair not in seen]
    assert not stale, f"allow-list entries whose import is gone: {stale}"


def test_the_check_catches_a_submodule_and_a_private_name(tmp_path, monkeypatch):
    """The checker itself: a planted import into another stage's module and one of its private
    names are both reported (so the test above cannot pass by checking nothing)."""
    fake = tmp_path / "packshot"
    for stage in ("relight", "render"):
        (fake / stage).mkdir(parents=True)
        (fake / stage / "__init__.py").write_text("")
    (fake / "render" / "compose.py").write_text("")
    (fake / "relight" / "bad.py").write_text(
        "from ..render.compose import place_product\nfrom ..render import _placed\nfrom ..render import render\n")
    monkeypatch.setattr(__import__(__name__), "SRC", fake, raising=False)
    globals_ = globals()
    monkeypatch.setitem(globals_, "SRC", fake)
    found = violations()
    assert any("submodule packshot.render.compose" in f for f in found), found
    assert any("private name packshot.render._placed" in f for f in found), found
    assert not any("packshot.render.render" in f for f in found), found


def test_neutral_ops_import_no_stage():
    """packshot.ops is below every stage: it imports none of them."""
    bad = []
    for path in sorted((SRC / "ops").rglob("*.py")):
        for line, target, names in _imports(path):
            if _stage_of(target) is not None or (target == "packshot" and set(names) & set(STAGES)):
                bad.append(f"{path.name}:{line}: {target}")
    assert not bad, bad


if __name__ == "__main__":  # pragma: no cover
    print("\n".join(violations()))
    pytest.main([__file__, "-q"])
