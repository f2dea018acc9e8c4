"""The brief and the marketplace profile as pydantic models: their JSON Schema (``packshot schema``)
accepts what packshot accepts and names a misspelt key with its path."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from packshot.cli import app
from packshot.condition import BriefError, load_brief, parse_brief
from packshot.errors import InputError
from packshot.export.compliance.profiles import PROFILES, profile_from_dict

EXAMPLES = sorted((Path(__file__).parent.parent / "examples" / "briefs").glob("*.yaml"))


def _schema(document: str) -> dict:
    res = CliRunner().invoke(app, ["schema", document])
    assert res.exit_code == 0, res.output
    schema = json.loads(res.output)
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema


@pytest.fixture(scope="module")
def brief_validator():
    return jsonschema.Draft202012Validator(_schema("brief"))


@pytest.fixture(scope="module")
def profile_validator():
    return jsonschema.Draft202012Validator(_schema("profile"))


def test_there_are_example_briefs():
    assert len(EXAMPLES) >= 3


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_briefs_validate_against_the_schema(brief_validator, path):
    data = yaml.safe_load(path.read_text())
    errors = [e.message for e in brief_validator.iter_errors(data)]
    assert not errors, errors
    assert load_brief(path).scenes  # and packshot reads them


def test_a_misspelt_key_is_named_with_its_path(brief_validator):
    data = {"scenes": [{"name": "ok"}, {"name": "hero", "lighting": {"azimuht": 135}}]}
    with pytest.raises(BriefError) as info:
        parse_brief(data, source="brief.yaml")
    message = str(info.value)
    assert message.startswith("brief.yaml: scenes[1].lighting.azimuht: unknown key"), message
    assert "azimuth" in message  # the allowed keys are listed
    # an editor using the schema flags the same key at the same place
    (error,) = brief_validator.iter_errors(data)
    assert list(error.absolute_path) == ["scenes", 1, "lighting"] and "azimuht" in error.message


def test_a_misspelt_top_level_key_comes_before_what_it_hides():
    with pytest.raises(BriefError) as info:
        parse_brief({"scnes": [{"name": "a"}]}, source="b.yaml")
    assert "b.yaml: scnes: unknown key" in str(info.value)


@pytest.mark.parametrize("scene, path, words", [
    ({"lighting": {"elevation": 120}}, "scenes[0].lighting.elevation", "between 5 and 90"),
    ({"floor": "glossy"}, "scenes[0].floor", "must be a number"),
    ({"preset": "lava"}, "scenes[0].preset", "unknown preset 'lava'"),
    ({"backdrop": {"wall": "#12345"}}, "scenes[0].backdrop.wall", "colour"),
    ({"sizes": ["1024 by 768"]}, "scenes[0].sizes[0]", "WIDTHxHEIGHT"),
    ({"variants": 2.5}, "scenes[0].variants", "whole number"),
    ({"motion": {"kind": "spin"}}, "scenes[0].motion.kind", "unknown motion 'spin'"),
    ({"diffusion": {"steps": 0}}, "scenes[0].diffusion.steps", "between 1 and 500"),
])
def test_schema_and_parser_refuse_the_same_values(brief_validator, scene, path, words):
    data = {"scenes": [{"name": "a", **scene}]}
    assert not brief_validator.is_valid(data)
    with pytest.raises(BriefError) as info:
        parse_brief(data, source="brief.yaml")
    assert f"brief.yaml: {path}: " in str(info.value) and words in str(info.value), str(info.value)


def test_built_in_profiles_validate_against_the_profile_schema(profile_validator):
    for profile in PROFILES.values():
        errors = [e.message for e in profile_validator.iter_errors(profile.to_dict())]
        assert not errors, (profile.name, errors)


def test_a_user_profile_and_its_typo(profile_validator, tmp_path):
    good = {"name": "my-shop", "extends": "shopify", "size": [1600, 1600], "formats": ["jpg", "webp"],
            "aspect": "1:1", "safe_zone": {"top": 0.1}}
    assert profile_validator.is_valid(good)
    assert profile_from_dict(good).formats == ("JPEG", "WEBP")
    bad = {**good, "safe_zone": {"top": 0.1, "botom": 0.2}}
    assert not profile_validator.is_valid(bad)
    with pytest.raises(InputError) as info:
        profile_from_dict(bad, where="shop.yaml")
    assert "shop.yaml: field 'safe_zone.botom': unknown key" in str(info.value)


def test_schema_command_refuses_an_unknown_document():
    res = CliRunner().invoke(app, ["schema", "manifest"])
    assert res.exit_code != 0
