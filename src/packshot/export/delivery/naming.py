"""File names for exported images: templates, safe slugs and collision handling.

A template such as ``{sku}_{scene}_{variant}_{profile}.{ext}`` is filled with slugged field
values. Slugs are ASCII (unicode is transliterated where it can be, hashed where it cannot),
contain only ``[A-Za-z0-9_-]`` (never a path separator, never ``..``), and are capped in length.
Literal ``/`` in the template itself is allowed and makes sub-folders (``{profile}/{sku}.{ext}``);
absolute paths, empty segments and ``..`` segments are refused.

Two outputs of one export that would get the same name (compared case-insensitively, because
macOS and Windows file systems are) either get deterministic ``-2``, ``-3`` suffixes before the
extension, in the order names are asked for, or raise :class:`NameCollisionError`.
"""

from __future__ import annotations

import hashlib
import re
import string
import unicodedata
from dataclasses import dataclass
from typing import Mapping

from ...errors import InputError

DEFAULT_TEMPLATE = "{sku}_{scene}_{variant}_{profile}.{ext}"
"""The default file name template."""

TEMPLATE_FIELDS = ("sku", "scene", "variant", "profile", "ext", "width", "height", "kind", "index")
"""Fields a template may use: ``kind`` is the frame's source kind, ``index`` its position in the batch."""

COLLISION_POLICIES = ("suffix", "error")

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
_RUNS = re.compile(r"([_-])[_-]+")

# letters that NFKD does not decompose to ASCII but have a conventional transliteration
_TRANSLITERATION = str.maketrans({
    "ß": "ss", "æ": "ae", "Æ": "AE", "ø": "o", "Ø": "O", "œ": "oe", "Œ": "OE", "ł": "l", "Ł": "L",
    "đ": "d", "Đ": "D", "ð": "d", "Ð": "D", "þ": "th", "Þ": "Th", "ı": "i", "&": "-and-",
})


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
SKU_PATTERN = re.compile(r"\w[\w.-]*")
"""What a SKU may be (matched in full): Unicode letters, digits, ``_``, then also ``.`` and ``-``;
no separator, no space, no control or format character, never ``.`` or ``..``."""
SKU_MAX_BYTES = 200
"""Longest SKU in UTF-8 bytes (it names a folder; file systems allow 255 bytes a name)."""


def has_control_chars(text: str) -> bool:
    """Whether ``text`` holds a control character (newline, tab, NUL, DEL, C1 controls...)."""
    return bool(_CONTROL.search(text))


def check_name(value: object, what: str, pattern: re.Pattern[str] = SKU_PATTERN, max_bytes: int = SKU_MAX_BYTES,
               rule: str = "letters, digits, '_', '.' and '-', starting with a letter, digit or '_'") -> str:
    """Return ``value`` when it is a safe name (it becomes a folder or file name), else raise.

    The whole value must match ``pattern`` (``re.fullmatch``: a trailing newline never slips
    through as it does with ``$``), hold no control character and fit in ``max_bytes`` UTF-8 bytes.

    Raises
    ------
    InputError
        Naming ``what`` (e.g. ``"--sku"``) and the rule.

    Examples
    --------
    >>> check_name("bottle-001", "--sku")
    'bottle-001'
    >>> check_name("bottle-001\\n", "--sku")
    Traceback (most recent call last):
    packshot.errors.InputError: --sku: 'bottle-001\\n' contains a control character (newline, tab...); names cannot
    """
    if not isinstance(value, str) or not value:
        raise InputError(what, f"must be a non-empty name, got {value!r}")
    if has_control_chars(value):
        raise InputError(what, f"{value!r} contains a control character (newline, tab...); names cannot")
    if not pattern.fullmatch(value):
        raise InputError(what, f"{value!r} is not a valid name: use {rule}")
    size = len(value.encode("utf-8"))
    if size > max_bytes:
        raise InputError(what, f"{value[:40]!r}... is {size} bytes long; names are at most {max_bytes} bytes")
    return value


def check_sku(value: object, what: str = "sku") -> str:
    """A SKU as a folder name: see :data:`SKU_PATTERN` and :data:`SKU_MAX_BYTES`."""
    return check_name(value, what)


class NameCollisionError(InputError):
    """Two outputs of one export would get the same name and the policy is ``"error"``."""


def slugify(text: object, max_length: int = 64) -> str:
    """A safe, ASCII file-name fragment for ``text``.

    Unicode is decomposed and transliterated to ASCII (``"Crème brûlée"`` -> ``"Creme-brulee"``);
    anything outside ``[A-Za-z0-9_-]`` becomes ``-`` (dots included, so no ``..`` and no
    extension can be smuggled in); runs of separators collapse; separators are stripped from
    both ends. Text with nothing transliterable (``"牛奶"``) becomes ``"u"`` plus a short hash
    of the original, so distinct inputs stay distinct. Text longer than ``max_length`` is cut
    and ends with a short hash of the whole, for the same reason.

    Parameters
    ----------
    text : object
        The value (converted with ``str``).
    max_length : int
        Longest slug returned, at least 12.

    Examples
    --------
    >>> slugify("Vitamin C 500 mg / 60 caps")
    'Vitamin-C-500-mg-60-caps'
    >>> slugify("../../etc/passwd")
    'etc-passwd'
    """
    if max_length < 12:
        raise ValueError(f"max_length must be at least 12, got {max_length}")
    original = str(text)
    ascii_text = (
        unicodedata.normalize("NFKD", original.translate(_TRANSLITERATION)).encode("ascii", "ignore").decode("ascii")
    )
    slug = _RUNS.sub(r"\1", _UNSAFE.sub("-", ascii_text)).strip("-_")
    digest = hashlib.sha256(original.encode("utf-8")).hexdigest()[:8]
    if not slug:
        return f"u{digest}" if original.strip() else "unnamed"
    if len(slug) > max_length:
        slug = slug[: max_length - 9].rstrip("-_") + "-" + digest
    return slug


def _parse_template(template: str) -> list[str]:
    """Field names in ``template``; raises InputError for bad fields or unsafe literal text."""
    if not template or not template.strip():
        raise InputError("--template", "the file name template is empty")
    if has_control_chars(template):
        raise InputError("--template", f"{template!r} contains a control character (newline, tab...)")
    if "\\" in template:
        raise InputError("--template", f"'{template}': use '/' for folders, not '\\'")
    if template.startswith("/"):
        raise InputError("--template", f"'{template}' is an absolute path; templates are relative to the destination")
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise InputError("--template", f"'{template}' is not a valid template ({exc})") from exc
    fields: list[str] = []
    literal = ""
    for text, name, spec, conversion in parsed:
        literal += text
        if name is None:
            continue
        if name not in TEMPLATE_FIELDS:
            raise InputError(
                "--template", f"'{template}' uses unknown field '{{{name}}}'; known fields: {', '.join(TEMPLATE_FIELDS)}"
            )
        if conversion:
            raise InputError("--template", f"'{template}': conversions such as '!{conversion}' are not allowed")
        fields.append(name)
        literal += "x"  # a placeholder: a field is never empty after slugging
    segments = literal.split("/")
    if any(seg in ("", ".", "..") for seg in segments):
        raise InputError("--template", f"'{template}' has an empty, '.' or '..' folder segment")
    if "ext" not in fields:
        raise InputError("--template", f"'{template}' must contain '{{ext}}' so each file keeps its format's extension")
    return fields


def validate_template(template: str) -> str:
    """Return ``template`` unchanged when it is usable, else raise :class:`InputError` naming it."""
    _parse_template(template)
    return template


def render_name(template: str, fields: Mapping[str, object], max_length: int = 64,
                max_segment_length: int = 200) -> str:
    """Fill ``template`` with slugged ``fields``; returns a relative '/'-separated path.

    Parameters
    ----------
    template : str
        See the module docstring; must contain ``{ext}``.
    fields : mapping
        Values for the fields the template uses (missing ones raise InputError).
    max_length : int
        Longest slug per field.
    max_segment_length : int
        Longest path segment (file or folder name), below common file-system limits of 255 bytes;
        a longer one is cut before its extension and given a short hash of the whole.

    Examples
    --------
    >>> render_name("{sku}/{scene}_{variant}.{ext}", {"sku": "Crème brûlée", "scene": "hero", "variant": "v0",
    ...                                               "ext": "JPG"})
    'Creme-brulee/hero_v0.jpg'
    """
    names = _parse_template(template)
    values: dict[str, str] = {}
    for name in names:
        if name not in fields or fields[name] is None:
            raise InputError("--template", f"'{template}' needs a value for '{{{name}}}' and none was given")
        value = fields[name]
        if name == "ext":
            ext = str(value).lower().lstrip(".")
            if not re.fullmatch(r"[a-z0-9]{1,8}", ext):
                raise InputError("ext", f"'{value}' is not a file extension")
            values[name] = ext
        else:
            values[name] = slugify(value, max_length=max_length)
    path = template.format(**values)
    return "/".join(_cap_segment(seg, max_segment_length) for seg in path.split("/"))


def _cap_segment(segment: str, limit: int) -> str:
    if len(segment) <= limit:
        return segment
    stem, dot, ext = segment.rpartition(".")
    if not dot or len(ext) > 8:
        stem, ext = segment, ""
    digest = hashlib.sha256(segment.encode("utf-8")).hexdigest()[:8]
    keep = limit - len(digest) - 1 - (len(ext) + 1 if ext else 0)
    return f"{stem[:keep]}-{digest}" + (f".{ext}" if ext else "")


def _with_suffix(path: str, n: int) -> str:
    folder, slash, name = path.rpartition("/")
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    return f"{folder}{slash}{stem}-{n}" + (f".{ext}" if ext else "")


@dataclass
class NameAllocator:
    """Hands out unique names for one export, in the order they are asked for.

    Parameters
    ----------
    template : str
        File name template (see :func:`render_name`).
    on_collision : str
        ``"suffix"``: the second output with a name gets ``-2`` before its extension, the third
        ``-3``, and so on (deterministic for a deterministic order of calls); ``"error"``: raise
        :class:`NameCollisionError` naming both outputs.
    max_length : int
        Longest slug per field.

    Notes
    -----
    Collisions are within one export only: a file left at the destination by an earlier run
    with the same name is overwritten, so re-running an export is idempotent.
    """

    template: str = DEFAULT_TEMPLATE
    on_collision: str = "suffix"
    max_length: int = 64

    def __post_init__(self) -> None:
        if self.on_collision not in COLLISION_POLICIES:
            raise InputError("--on-collision", f"'{self.on_collision}' is not one of {', '.join(COLLISION_POLICIES)}")
        validate_template(self.template)
        self._taken: dict[str, str] = {}  # casefolded name -> who took it

    def allocate(self, fields: Mapping[str, object], owner: str = "") -> str:
        """A unique relative path for one output; ``owner`` (e.g. "sku/scene/1 amazon-main") names it in errors."""
        name = render_name(self.template, fields, max_length=self.max_length)
        key = name.casefold()
        if key in self._taken:
            if self.on_collision == "error":
                raise NameCollisionError(
                    "--template",
                    f"'{owner or name}' and '{self._taken[key]}' would both be written to '{name}'; add fields to "
                    f"the template (e.g. {{scene}}, {{variant}}, {{profile}}) or use --on-collision suffix",
                )
            n = 2
            while _with_suffix(name, n).casefold() in self._taken:
                n += 1
            name = _with_suffix(name, n)
            key = name.casefold()
        self._taken[key] = owner or name
        return name
