"""Install hints name extras that exist: every ``require(module, extra)`` / ``MissingExtraError``
in the sources and every destination protocol's extra is declared in pyproject.toml."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from packshot.errors import MissingExtraError, require

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src" / "packshot"


def _extras() -> set[str]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        tomllib = pytest.importorskip("tomli")
    return set(tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"])


def _named_extras() -> list[tuple[str, int, object]]:
    """(file, line, extra) of every require()/MissingExtraError() call whose extra is a literal."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            if name not in ("require", "MissingExtraError") or len(node.args) < 2:
                continue
            arg = node.args[1]
            if isinstance(arg, ast.Constant):
                found.append((str(path.relative_to(REPO)), node.lineno, arg.value))
    return found


def test_every_install_hint_names_a_declared_extra():
    extras = _extras()
    named = _named_extras()
    assert len(named) >= 10  # the scan finds the calls (credentials, diffusion, web, sam, upscale, ...)
    wrong = [(f, line, extra) for f, line, extra in named if extra is not None and extra not in extras]
    assert not wrong, f"install hints naming extras pyproject.toml does not declare: {wrong}"


def test_destination_extras_are_declared():
    from packshot.export.delivery.routing import _EXTRAS

    assert {extra for _, extra in _EXTRAS.values()} <= _extras()


def test_hint_wording():
    assert "pip install 'packshot[web]'" in str(MissingExtraError("fastapi", "web", "the review app"))
    core = str(MissingExtraError("rapidocr", None, "label text (OCR)"))
    assert "default install" in core and "packshot[" not in core
    with pytest.raises(MissingExtraError, match=r"packshot\[ray\]"):
        require("packshot_no_such_module", "ray", "a test")
