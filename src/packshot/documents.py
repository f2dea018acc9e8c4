"""Loading YAML and JSON documents (briefs, manifests, profiles) safely.

One loader for every structured text file packshot reads, so that none of them can be used to
exhaust memory or the stack:

- the file is read with :func:`packshot.imaging.read_bounded` (regular files only, at most
  :data:`packshot.imaging.MAX_DOCUMENT_BYTES` bytes);
- YAML goes through PyYAML's *safe* loader (no Python objects) with two limits added:
  nesting deeper than :data:`MAX_DEPTH` is refused, and aliases (``*name``) may add at most
  :data:`MAX_ALIAS_NODES` nodes when expanded (a "billion laughs" document is refused at once,
  not after minutes) while an alias that points into its own anchor (``&a [*a]``, a structure
  containing itself) is refused outright;
- JSON nesting is limited the same way (no RecursionError).

Errors are :class:`DocumentError` (an :class:`~packshot.errors.InputError`) naming the file, the
line where the YAML parser stopped and the problem.

Examples
--------
>>> parse_yaml("scenes: [{name: hero}]", "brief.yaml")
{'scenes': [{'name': 'hero'}]}
>>> parse_yaml("a: &x [*x]", "loop.yaml")
Traceback (most recent call last):
...
packshot.documents.DocumentError: loop.yaml: line 1: alias *x refers to the node that contains it (a structure that contains itself)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from .errors import InputError
from .imaging import MAX_DOCUMENT_BYTES, read_bounded

MAX_DEPTH = 64
"""Deepest nesting of lists and mappings accepted in a YAML or JSON document."""

MAX_ALIAS_NODES = 100_000
"""Most nodes that YAML aliases may add to a document when expanded."""


class DocumentError(InputError):
    """A YAML or JSON document cannot be read or is over a safety limit; names the file."""


class _Limit(yaml.YAMLError):
    def __init__(self, message: str, mark: Any = None):
        super().__init__(message)
        self.message = message
        self.mark = mark


class _BoundedSafeLoader(yaml.SafeLoader):
    """PyYAML's safe loader with a nesting limit and a budget on alias expansion."""

    def __init__(self, stream: str, max_depth: int = MAX_DEPTH, max_alias_nodes: int = MAX_ALIAS_NODES):
        super().__init__(stream)
        self._max_depth = max_depth
        self._max_alias_nodes = max_alias_nodes
        self._depth = 0
        self._nodes = 0  # nodes composed so far, aliases counted at their expanded size
        self._alias_nodes = 0  # of which added by aliases
        self._sizes: dict[int, int] = {}  # id(node) -> expanded size of its subtree
        self._open: list[str] = []  # anchors of the nodes being composed (an alias to one is a loop)

    def compose_node(self, parent, index):  # noqa: D102 - PyYAML hook
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            if event.anchor in self._open:
                raise _Limit(f"alias *{event.anchor} refers to the node that contains it (a structure that contains "
                             f"itself)", event.start_mark)
            node = self.anchors.get(event.anchor)
            if node is not None:
                size = self._sizes.get(id(node), 1)
                self._alias_nodes += size
                self._nodes += size
                if self._alias_nodes > self._max_alias_nodes:
                    raise _Limit(f"aliases expand to more than {self._max_alias_nodes} nodes (an alias bomb?)",
                                 event.start_mark)
            return super().compose_node(parent, index)
        event = self.peek_event()
        self._depth += 1
        if self._depth > self._max_depth:
            raise _Limit(f"nesting is deeper than {self._max_depth} levels", event.start_mark)
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            self._open.append(anchor)
        start = self._nodes
        self._nodes += 1
        node = super().compose_node(parent, index)
        if anchor is not None:
            self._open.pop()
        self._depth -= 1
        self._sizes[id(node)] = self._nodes - start
        return node


def _where(exc: BaseException) -> str:
    mark = getattr(exc, "mark", None) or getattr(exc, "problem_mark", None)
    return f"line {mark.line + 1}: " if mark is not None else ""


def parse_yaml(text: str, source: str | Path = "<yaml>", *, max_depth: int = MAX_DEPTH,
               max_alias_nodes: int = MAX_ALIAS_NODES) -> Any:
    """Parse one YAML document with the bounded safe loader.

    Parameters
    ----------
    text : str
        The document.
    source : str or Path
        Named in errors (the file).
    max_depth, max_alias_nodes : int
        The limits (see the module docstring).

    Raises
    ------
    DocumentError
        Not valid YAML, nested too deep, an alias loop or an alias bomb.
    """
    loader = _BoundedSafeLoader(text, max_depth, max_alias_nodes)
    try:
        return loader.get_single_data()
    except _Limit as exc:
        raise DocumentError(source, f"{_where(exc)}{exc.message}") from None
    except yaml.YAMLError as exc:
        raise DocumentError(source, f"not valid YAML ({exc})") from exc
    except RecursionError:  # pragma: no cover - the depth limit comes first
        raise DocumentError(source, f"nesting is deeper than {max_depth} levels") from None
    finally:
        loader.dispose()


def _check_depth(value: Any, source: str | Path, max_depth: int) -> None:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > max_depth:
                raise DocumentError(source, f"nesting is deeper than {max_depth} levels")
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)


def parse_json(text: str, source: str | Path = "<json>", *, max_depth: int = MAX_DEPTH) -> Any:
    """Parse JSON with the same nesting limit as YAML; errors are :class:`DocumentError`.

    >>> parse_json('{"scenes": [{"name": "hero"}]}', "brief.json")
    {'scenes': [{'name': 'hero'}]}
    >>> parse_json("[" * 100 + "]" * 100, "deep.json", max_depth=64)
    Traceback (most recent call last):
    packshot.documents.DocumentError: deep.json: nesting is deeper than 64 levels
    """
    try:
        value = json.loads(text)
    except RecursionError:
        raise DocumentError(source, f"nesting is deeper than {max_depth} levels") from None
    except ValueError as exc:
        raise DocumentError(source, f"not valid JSON ({exc})") from exc
    _check_depth(value, source, max_depth)
    return value


def read_document(path: str | Path, what: str = "document", max_bytes: int = MAX_DOCUMENT_BYTES) -> tuple[str, bytes]:
    """The UTF-8 text of a document file (bounded read) and its raw bytes."""
    raw = read_bounded(path, what, max_bytes)
    try:
        return raw.decode("utf-8-sig"), raw
    except UnicodeDecodeError as exc:
        raise DocumentError(path, f"{what} is not UTF-8 text") from exc


def load_document(path: str | Path, what: str = "document", *, fmt: str | None = None,
                  max_bytes: int = MAX_DOCUMENT_BYTES, max_depth: int = MAX_DEPTH,
                  max_alias_nodes: int = MAX_ALIAS_NODES) -> tuple[Any, bytes]:
    """Read and parse a YAML or JSON file safely: the one loader for briefs, manifests and profiles.

    Parameters
    ----------
    path : str or Path
        The file.
    what : str
        What it is ("brief", "manifest"), for messages.
    fmt : "yaml", "json" or None
        None: JSON for a ``.json`` suffix, else YAML.
    max_bytes, max_depth, max_alias_nodes : int
        Limits (see the module docstring).

    Returns
    -------
    (data, raw)
        The parsed value and the file's bytes (for hashing).

    Raises
    ------
    InputError
        Missing, not a regular file, too large, not UTF-8, not valid, or over a limit; the
        message names the file.
    """
    text, raw = read_document(path, what, max_bytes)
    kind = fmt or ("json" if Path(path).suffix.lower() == ".json" else "yaml")
    if kind == "json":
        return parse_json(text, path, max_depth=max_depth), raw
    if kind != "yaml":
        raise ValueError(f"fmt must be 'yaml', 'json' or None, got {fmt!r}")
    return parse_yaml(text, path, max_depth=max_depth, max_alias_nodes=max_alias_nodes), raw


__all__ = ["DocumentError", "MAX_ALIAS_NODES", "MAX_DEPTH", "load_document", "parse_json", "parse_yaml",
           "read_document"]
