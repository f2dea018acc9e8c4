"""The imaging boundary: colour constants and Pillow file I/O live only in ``packshot.imaging``.

Every module under ``src/packshot`` outside ``src/packshot/imaging/`` is parsed (AST, so comments
and docstrings do not count) and fails the check when it

- holds an sRGB transfer-function constant: the numbers ``12.92``, ``0.04045`` or ``0.0031308``
  anywhere; ``2.4`` as a power's exponent (``x ** 2.4``, ``x ** (1 / 2.4)``, ``np.power(x, 2.4)``,
  ``cv2.pow(x, 1 / 2.4)``); ``1.055`` and ``0.055`` together in one expression;
- holds the luminance weights (a list or tuple with 0.2126, 0.7152 and 0.0722, or the Rec. 601
  0.299, 0.587 and 0.114) or the sRGB -> XYZ matrix (0.4124564);
- opens a file with Pillow (``Image.open(...)`` under any import alias of ``PIL.Image``, or
  ``from PIL.Image import open``);
- saves with Pillow: ``.save(...)`` in a module that imports PIL, or anywhere with an image
  format name (``"PNG"``, ``"JPEG"``, ...) or an image-encoder keyword (``quality=``,
  ``icc_profile=``, ``compress_level=``, ...) in the call;
- reads or writes image files with OpenCV (``cv2.imread``, ``imwrite``, ``imdecode``, ``imencode``).

Use :mod:`packshot.imaging` instead (``srgb_to_linear``, ``LUMINANCE_WEIGHTS``, ``luminance``,
``RGB_TO_XYZ``, ``dlinear_dsrgb``, ``encode_png``, ``encode_srgb8``, ``encode_image``,
``open_image``, ``decode_raw``, ``load_alpha8_reduced``...). Drawing in memory with Pillow
(``Image.new``, ``ImageDraw``, ``Image.fromarray``, ``resize``) is not file I/O and is allowed.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "packshot"
IMAGING = SRC / "imaging"

# Files that may still break the rule, and which rules: ONLY the export/ files another engineer is
# converting to the imaging API. Delete an entry as soon as its file is converted
# (test_allow_list_is_not_stale says when).
ALLOWED: dict[str, set[str]] = {  # empty: export converted (issue 9)
}

SRGB_NUMBERS = {12.92: "sRGB toe slope 12.92", 0.04045: "sRGB threshold 0.04045",
                0.0031308: "sRGB threshold 0.0031308"}
WEIGHT_SETS = ({0.2126, 0.7152, 0.0722}, {0.299, 0.587, 0.114})
XYZ_NUMBERS = {0.4124564, 0.4124}
FORMAT_NAMES = {"PNG", "JPEG", "JPG", "WEBP", "TIFF", "BMP", "GIF"}
ENCODER_KEYWORDS = {"quality", "compress_level", "icc_profile", "pnginfo", "subsampling", "exif", "xmp",
                    "optimize", "format"}
POWER_CALLS = {"power", "pow", "float_power"}
OPENCV_IO = {"imread", "imwrite", "imdecode", "imencode", "imreadmulti"}


def _number(node: ast.AST) -> float | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return float(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        return _number(node.operand)
    return None


def _gamma_exponent(node: ast.AST) -> bool:
    """2.4 or 1 / 2.4 (any numerator), the exponent of the sRGB curve."""
    if _number(node) == 2.4:
        return True
    return isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div) and _number(node.right) == 2.4


def _callee(node: ast.Call) -> str:
    f = node.func
    return f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""


def violations(source: str) -> list[tuple[int, str, str]]:
    """(line, rule, what) for every breach of the boundary in a module's source."""
    tree = ast.parse(source)
    _mark_parents(tree)
    found: list[tuple[int, str, str]] = []
    image_aliases: set[str] = set()  # names bound to the PIL.Image module
    pil_aliases: set[str] = set()  # names bound to the PIL package
    imports_pil = False
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name == "PIL" or a.name.startswith("PIL."):
                    imports_pil = True
                    if a.name == "PIL.Image" and a.asname:
                        image_aliases.add(a.asname)
                    else:
                        pil_aliases.add(a.asname or "PIL")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "PIL":
            imports_pil = True
            for a in node.names:
                if node.module == "PIL" and a.name == "Image":
                    image_aliases.add(a.asname or "Image")
                if node.module == "PIL.Image" and a.name == "open":
                    found.append((node.lineno, "pillow-open", "from PIL.Image import open"))
    for node in ast.walk(tree):
        value = _number(node) if isinstance(node, ast.Constant) else None
        if value in SRGB_NUMBERS:
            found.append((node.lineno, "srgb-constant", SRGB_NUMBERS[value]))
        if value in XYZ_NUMBERS:
            found.append((node.lineno, "xyz-matrix", f"sRGB -> XYZ coefficient {value}"))
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow) and _gamma_exponent(node.right):
            found.append((node.lineno, "srgb-constant", "2.4 as a power's exponent"))
        if isinstance(node, ast.AugAssign) and isinstance(node.op, ast.Pow) and _gamma_exponent(node.value):
            found.append((node.lineno, "srgb-constant", "2.4 as a power's exponent"))
        if isinstance(node, ast.Call) and _callee(node) in POWER_CALLS and len(node.args) >= 2 \
                and _gamma_exponent(node.args[1]):
            found.append((node.lineno, "srgb-constant", f"2.4 as the exponent of {_callee(node)}()"))
        # the outermost arithmetic expression holding both of the curve's offsets
        if isinstance(node, ast.BinOp) and not isinstance(getattr(node, "_parent", None), ast.BinOp):
            numbers = {_number(n) for n in ast.walk(node)}
            if {1.055, 0.055} <= numbers:
                found.append((node.lineno, "srgb-constant", "the sRGB curve's 1.055 / 0.055"))
        if isinstance(node, (ast.List, ast.Tuple)):
            numbers = {_number(e) for e in node.elts}
            if any(ws <= numbers for ws in WEIGHT_SETS):
                found.append((node.lineno, "luminance-weights", "luminance weights"))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            f = node.func
            if f.attr == "open":
                owner = f.value
                if isinstance(owner, ast.Name) and owner.id in image_aliases:
                    found.append((node.lineno, "pillow-open", f"{owner.id}.open(...)"))
                elif (isinstance(owner, ast.Attribute) and owner.attr == "Image" and isinstance(owner.value, ast.Name)
                      and owner.value.id in pil_aliases):
                    found.append((node.lineno, "pillow-open", "PIL.Image.open(...)"))
            if f.attr in OPENCV_IO and isinstance(f.value, ast.Name) and f.value.id == "cv2":
                found.append((node.lineno, "opencv-io", f"cv2.{f.attr}(...)"))
            if f.attr == "save":
                formats = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)
                           and a.value.upper() in FORMAT_NAMES]
                keywords = [k.arg for k in node.keywords if k.arg in ENCODER_KEYWORDS]
                if imports_pil or formats or keywords:
                    found.append((node.lineno, "pillow-save", ".save(...) of an image"))
    return sorted(set(found))


def _mark_parents(tree: ast.AST) -> None:
    for parent in ast.walk(tree):
        for child in ast.iter_child_nodes(parent):
            child._parent = parent  # type: ignore[attr-defined]


check_source = violations


@functools.lru_cache(maxsize=None)
def _file_violations(path: Path) -> tuple[tuple[int, str, str], ...]:
    return tuple(check_source(path.read_text(encoding="utf-8")))


def _modules() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if IMAGING not in p.parents)


def test_no_colour_constants_or_pillow_io_outside_imaging():
    assert len(_modules()) > 50, "the walk found too few modules: is SRC right?"
    problems = []
    for path in _modules():
        rel = path.relative_to(SRC).as_posix()
        allowed = ALLOWED.get(rel, set())
        for line, rule, what in _file_violations(path):
            if rule not in allowed:
                problems.append(f"src/packshot/{rel}:{line}: {what} ({rule}); use packshot.imaging")
    assert not problems, "colour maths or Pillow file I/O outside packshot.imaging:\n" + "\n".join(problems)


def test_allow_list_is_not_stale():
    """An allow-list entry whose file no longer breaks that rule must be deleted."""
    stale = []
    for rel, rules in ALLOWED.items():
        path = SRC / rel
        found = {rule for _, rule, _ in _file_violations(path)} if path.exists() else set()
        stale += [f"{rel}: {rule}" for rule in sorted(rules - found)]
    assert not stale, "delete these entries from ALLOWED in tests/test_imaging_boundary.py:\n" + "\n".join(stale)


def test_imaging_itself_holds_the_constants():
    """The check is about where the constants live: imaging must still have them (else it
    would pass vacuously after a rename)."""
    colour = check_source((IMAGING / "colour.py").read_text(encoding="utf-8"))
    rules = {rule for _, rule, _ in colour}
    assert {"srgb-constant", "luminance-weights", "xyz-matrix"} <= rules
    decode = check_source((IMAGING / "decode.py").read_text(encoding="utf-8"))
    assert "pillow-open" in {rule for _, rule, _ in decode}
    encode = check_source((IMAGING / "encode.py").read_text(encoding="utf-8"))
    assert "pillow-save" in {rule for _, rule, _ in encode}


BAD = {
    "srgb formula": "s = np.where(s <= 0.04045, s / 12.92, ((s + 0.055) / 1.055) ** 2.4)",
    "inverse formula": "y = np.where(x <= 0.0031308, x * 12.92, 1.055 * np.power(x, 1 / 2.4) - 0.055)",
    "gamma power only": "y = x ** 2.4",
    "gamma inverse power": "y = x ** (1 / 2.4)",
    "np.power": "y = np.power(x, 2.4)",
    "cv2.pow": "y = cv2.pow(x, 1.0 / 2.4)",
    "toe slope alone": "floor = 1.0 / 12.92",
    "curve offsets": "y = ((s + 0.055) / 1.055) * s",
    "luminance weights": "lum = rgb @ np.array([0.2126, 0.7152, 0.0722])",
    "rec601 weights": "lum = rgb @ (0.299, 0.587, 0.114)",
    "xyz matrix": "m = [[0.4124564, 0.3575761, 0.1804375]]",
    "Image.open": "from PIL import Image\nwith Image.open(p) as im:\n    pass",
    "aliased Image.open": "from PIL import Image as PILImage\nim = PILImage.open(p)",
    "PIL.Image.open": "import PIL.Image\nim = PIL.Image.open(p)",
    "module alias open": "import PIL.Image as pim\nim = pim.open(p)",
    "from PIL.Image import open": "from PIL.Image import open as pil_open\nim = pil_open(p)",
    "save in a PIL module": "from PIL import Image\nImage.fromarray(a).save(buf)",
    "save with a format": "img.save(buf, 'PNG')",
    "save with a keyword": "img.save(path, quality=90)",
    "opencv decode": "import cv2\na = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)",
    "opencv write": "import cv2\ncv2.imwrite('x.png', a)",
}

GOOD = {
    "records": "records.save(out, sku, record)",
    "model save": "torch.save(model.state_dict(), path)",
    "plain 2.4": "width = 2.4 * height\nratio = a / 2.4",
    "other open": "with open(path) as f:\n    pass\nimport tarfile\ntarfile.open(p)",
    "drawing": "from PIL import Image, ImageDraw\nimg = Image.new('RGB', (8, 8))\nImageDraw.Draw(img).line((0, 0, 4, 4))\n"
               "img = img.resize((4, 4))",
    "one weight": "k = 0.2126",
    "docstring": '"""the sRGB curve: 12.92 below 0.04045, Image.open(path), img.save(buf, "PNG")"""',
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_the_check_catches(name):
    assert check_source(BAD[name]), f"{name!r} passed the boundary check: {BAD[name]!r}"


@pytest.mark.parametrize("name", sorted(GOOD))
def test_the_check_lets_through(name):
    assert check_source(GOOD[name]) == [], name
