"""Export file names: templates, safe slugs, collisions."""

from __future__ import annotations

import pytest

from packshot.errors import InputError
from packshot.export.delivery.naming import (
    DEFAULT_TEMPLATE,
    NameAllocator,
    NameCollisionError,
    render_name,
    slugify,
    validate_template,
)

FIELDS = {"sku": "SKU-001", "scene": "studio", "variant": 1, "profile": "amazon-main", "ext": "jpg"}


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Vitamin C 500 mg / 60 caps", "Vitamin-C-500-mg-60-caps"),
        ("Crème brûlée", "Creme-brulee"),
        ("Straße", "Strasse"),
        ("Ølpakke Æble", "Olpakke-AEble"),
        ("a__b--c", "a_b-c"),
        ("  spaced  out  ", "spaced-out"),
        ("SKU-001", "SKU-001"),
    ],
)
def test_slugify_transliterates_and_keeps_safe_characters(text, expected):
    assert slugify(text) == expected


@pytest.mark.parametrize("text", ["../../etc/passwd", "..", "a/../b", "C:\\Windows\\x", "name.jpg", "x\x00y", "/abs"])
def test_slug_never_contains_separators_or_dot_dot(text):
    slug = slugify(text)
    assert slug
    assert "/" not in slug and "\\" not in slug and "." not in slug and "\x00" not in slug


def test_untransliterable_text_gets_a_distinct_stable_hash():
    a, b = slugify("牛奶"), slugify("豆奶")
    assert a.startswith("u") and b.startswith("u") and a != b
    assert slugify("牛奶") == a
    assert slugify("") == "unnamed"


def test_long_text_is_capped_and_stays_distinct():
    a = slugify("x" * 200, max_length=40)
    b = slugify("x" * 199 + "y", max_length=40)
    assert len(a) <= 40 and len(b) <= 40
    assert a != b


def test_render_default_template():
    assert render_name(DEFAULT_TEMPLATE, FIELDS) == "SKU-001_studio_1_amazon-main.jpg"


def test_template_folders_and_extension_case():
    name = render_name("{profile}/{sku}/{scene}-{variant}.{ext}", {**FIELDS, "ext": "JPG", "sku": "a/b"})
    assert name == "amazon-main/a-b/studio-1.jpg"


def test_long_segment_is_capped_below_file_system_limits():
    name = render_name("{sku}_{scene}_{profile}.{ext}", {**FIELDS, "sku": "s" * 64, "scene": "c" * 64,
                                                          "profile": "p" * 64}, max_segment_length=100)
    assert len(name) <= 100 and name.endswith(".jpg")


@pytest.mark.parametrize(
    "template, problem",
    [
        ("{sku}_{colour}.{ext}", "unknown field '{colour}'"),
        ("/abs/{sku}.{ext}", "absolute path"),
        ("../{sku}.{ext}", "'..'"),
        ("a//{sku}.{ext}", "empty"),
        ("{sku}.jpg", "{ext}"),
        ("{sku!r}.{ext}", "conversions"),
        ("{sku", "not a valid template"),
        ("", "empty"),
    ],
)
def test_bad_templates_name_the_problem(template, problem):
    with pytest.raises(InputError) as err:
        validate_template(template)
    assert "--template" in str(err.value)
    assert problem in str(err.value)


def test_missing_field_value_is_an_error():
    with pytest.raises(InputError, match="needs a value for '{scene}'"):
        render_name(DEFAULT_TEMPLATE, {"sku": "a", "variant": 1, "profile": "p", "ext": "jpg"})


def test_collisions_get_deterministic_suffixes():
    allocator = NameAllocator("{sku}.{ext}")
    names = [allocator.allocate({"sku": s, "ext": "jpg"}) for s in ["A", "a", "A", "b"]]
    # compared case-insensitively (macOS / Windows), suffix before the extension, in call order
    assert names == ["A.jpg", "a-2.jpg", "A-3.jpg", "b.jpg"]
    again = NameAllocator("{sku}.{ext}")
    assert [again.allocate({"sku": s, "ext": "jpg"}) for s in ["A", "a", "A", "b"]] == names


def test_suffix_does_not_steal_a_later_natural_name():
    allocator = NameAllocator("{sku}.{ext}")
    assert allocator.allocate({"sku": "x", "ext": "png"}) == "x.png"
    assert allocator.allocate({"sku": "x", "ext": "png"}) == "x-2.png"
    assert allocator.allocate({"sku": "x-2", "ext": "png"}) == "x-2-2.png"


def test_collision_error_policy_names_both_outputs():
    allocator = NameAllocator("{sku}.{ext}", on_collision="error")
    allocator.allocate({"sku": "x", "ext": "jpg"}, owner="x/studio/1 amazon-main")
    with pytest.raises(NameCollisionError) as err:
        allocator.allocate({"sku": "x", "ext": "jpg"}, owner="x/studio/2 amazon-main")
    assert "x/studio/1 amazon-main" in str(err.value) and "x/studio/2 amazon-main" in str(err.value)


def test_unknown_collision_policy():
    with pytest.raises(InputError, match="--on-collision"):
        NameAllocator(on_collision="overwrite")
