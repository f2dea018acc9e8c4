"""Building blocks for the pydantic models of user documents (the brief, marketplace profiles).

A document model validates YAML data with pydantic and publishes a JSON Schema (``packshot
schema brief``), so an editor can complete and check a brief while it is written. The value
checks are plain functions (:func:`check_number`, :func:`check_choice`, ...) that raise
:class:`Bad` with a problem in the house form ("must be between 5 and 90, got 120"); :func:`typed`
wraps one into an annotated pydantic type with its JSON Schema, and :func:`first_problem` turns
pydantic's first error into a dotted field path (``scenes[1].lighting.azimuth``) and that
problem, so errors read the same whether pydantic or a hand-written step found them.

Examples
--------
>>> class Light(Document):
...     azimuth: typed(float, lambda v: check_number(v, -360, 360), number_schema(-360, 360)) = 0.0
>>> class Doc(Document):
...     lights: list[Light] = []
>>> try:
...     Doc.model_validate({"lights": [{"azimuth": 0}, {"azimuth": "left"}]})
... except ValidationError as exc:
...     first_problem(exc, Doc)
('lights[1].azimuth', "must be a number, got 'left'")
>>> try:
...     Doc.model_validate({"lights": [{"azimuht": 0}]})
... except ValidationError as exc:
...     first_problem(exc, Doc)
('lights[0].azimuht', 'unknown key; allowed keys are: azimuth')
"""

from __future__ import annotations

import math
import typing
from typing import Annotated, Any, Callable, Mapping, Sequence

from pydantic import BaseModel, ConfigDict, PlainValidator, ValidationError, WithJsonSchema
from pydantic_core import PydanticCustomError

__all__ = ["Bad", "Document", "ValidationError", "check_choice", "check_flag", "check_integer", "check_number",
           "check_text", "first_problem", "format_path", "number_schema", "typed"]

ERROR_TYPE = "packshot"
"""The pydantic error type that carries one of our own problems (see :func:`typed`)."""


class Bad(ValueError):
    """A value is wrong: ``problem`` says how; ``sub`` is a path inside the value (``"[2]"``)."""

    def __init__(self, problem: str, sub: str = ""):
        super().__init__(problem)
        self.problem = problem
        self.sub = sub


class Document(BaseModel):
    """Base of document models: unknown keys are errors, values are checked, not coerced."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# ------------------------------------------------------------------------------------- value checks
def check_number(value: Any, lo: float | None = None, hi: float | None = None) -> float:
    """A finite number (not a bool) within [lo, hi], as float.

    >>> check_number(3)
    3.0
    >>> check_number(120, 5, 90)
    Traceback (most recent call last):
    packshot.schemas.Bad: must be between 5 and 90, got 120
    """
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    try:
        ok = ok and math.isfinite(value)
    except OverflowError:  # an integer too large for a float
        ok = False
    if not ok:
        raise Bad(f"must be a number, got {value!r}")
    v = float(value)
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        rng = f"between {lo:g} and {hi:g}" if lo is not None and hi is not None else (
            f"at least {lo:g}" if lo is not None else f"at most {hi:g}")
        raise Bad(f"must be {rng}, got {v:g}")
    return v


def check_integer(value: Any, lo: int, hi: int) -> int:
    """A whole number (not a bool) within [lo, hi].

    >>> check_integer(2.0, 1, 64)
    Traceback (most recent call last):
    packshot.schemas.Bad: must be a whole number, got 2.0
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise Bad(f"must be a whole number, got {value!r}")
    if not lo <= value <= hi:
        raise Bad(f"must be between {lo} and {hi}, got {value}")
    return int(value)


def check_text(value: Any) -> str:
    """A string."""
    if not isinstance(value, str):
        raise Bad(f"must be text, got {type(value).__name__}")
    return value


def check_flag(value: Any) -> bool:
    """``true`` or ``false`` (not 0/1, not "yes")."""
    if not isinstance(value, bool):
        raise Bad(f"must be true or false, got {value!r}")
    return value


def check_choice(value: Any, noun: str, choices: Sequence[str]) -> str:
    """One of ``choices``.

    >>> check_choice("lava", "preset", ("marble", "wood"))
    Traceback (most recent call last):
    packshot.schemas.Bad: unknown preset 'lava'; choose one of: marble, wood
    """
    text = check_text(value)
    if text not in choices:
        raise Bad(f"unknown {noun} '{text}'; choose one of: {', '.join(choices)}")
    return text


# ------------------------------------------------------------------------------------- pydantic glue
def typed(python_type: Any, check: Callable[[Any], Any], schema: Mapping[str, Any]) -> Any:
    """``Annotated[python_type, ...]`` validated by ``check`` (which raises :class:`Bad`) and
    published as ``schema`` in the JSON Schema."""

    def validate(value: Any) -> Any:
        try:
            return check(value)
        except Bad as bad:
            raise PydanticCustomError(ERROR_TYPE, "{problem}", {"problem": bad.problem, "sub": bad.sub}) from None

    return Annotated[python_type, PlainValidator(validate), WithJsonSchema(dict(schema))]


def number_schema(lo: float | None = None, hi: float | None = None) -> dict[str, Any]:
    """JSON Schema of a number in [lo, hi]."""
    out: dict[str, Any] = {"type": "number"}
    if lo is not None:
        out["minimum"] = lo
    if hi is not None:
        out["maximum"] = hi
    return out


def format_path(loc: Sequence[str | int]) -> str:
    """``('scenes', 1, 'lighting', 'azimuth')`` -> ``'scenes[1].lighting.azimuth'``.

    >>> format_path(("scenes", 0, "sizes", 2))
    'scenes[0].sizes[2]'
    """
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _model_at(model: type[BaseModel], loc: Sequence[str | int]) -> type[BaseModel] | None:
    """The model class that validated the mapping at ``loc`` (for the list of its keys)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue  # an index into a list of models
        info = current.model_fields.get(part) if isinstance(current, type) and issubclass(current, BaseModel) else None
        if info is None:
            return None
        current = _inner_model(info.annotation)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _inner_model(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def first_problem(exc: ValidationError, model: type[BaseModel]) -> tuple[str, str]:
    """The field path and the problem of pydantic's first error, in the house form.

    An unknown key is reported before the other errors: a misspelt key is the usual cause of
    them (``scnes`` makes ``scenes`` missing).
    """
    errors = exc.errors(include_url=False)
    err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc, kind, ctx = tuple(err["loc"]), err["type"], err.get("ctx") or {}
    path = format_path(loc)
    if kind == ERROR_TYPE:
        return path + ctx.get("sub", ""), ctx["problem"]
    if kind == "extra_forbidden":
        owner = _model_at(model, loc[:-1])
        allowed = ", ".join(sorted(owner.model_fields)) if owner is not None else "see the schema"
        return path, f"unknown key; allowed keys are: {allowed}"
    if kind == "missing":
        owner = _model_at(model, loc[:-1])
        info = owner.model_fields.get(str(loc[-1])) if owner is not None else None
        hint = f": {info.description}" if info is not None and info.description else ""
        return path, f"is missing{hint}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return path, f"must be a mapping of keys to values, got {type(err['input']).__name__}"
    if kind in ("list_type", "too_short"):
        return path, f"must be a non-empty list, got {err['input']!r}"
    return path, str(err["msg"])
