"""Relight and QA backends are chosen by name through their registries, like segment, depth and
render, and ``packshot backends`` lists them; choosing by name changes no output."""

from __future__ import annotations

import json

import numpy as np
import pytest

from packshot.condition import condition, parse_brief
from packshot.qa import CHECKS, DEFAULT_CHECKS, QAConfig, qa_frame, qa_with_details, reference_of
from packshot.qa.overlay import make_overlay
from packshot.relight import BACKENDS, RELIGHTERS, RelightConfig, relight, relight_with
from packshot.render import render

from test_render_fixtures import sample_cutout


@pytest.fixture(scope="module")
def bottle():
    return sample_cutout("bottle", seed=3, size=192)


@pytest.fixture(scope="module")
def rendered(bottle):
    brief = parse_brief({"scenes": [{"name": "s", "preset": "marble", "sizes": ["240x220"], "floor": 0.6}]})
    (spec,) = condition(brief, bottle, None, "sku")
    return render(spec, bottle)


def test_relight_backends_are_registered_by_name():
    assert RELIGHTERS.names() == ["bounded", "iclight:ARG"]
    assert BACKENDS is RELIGHTERS
    from packshot.relight.model import RELIGHTERS as model_registry

    assert model_registry is RELIGHTERS  # one registry, the model module registers nothing of its own
    with pytest.raises(ValueError, match="unknown relight backend 'nope'; choose one of: bounded, iclight:ARG"):
        relight_with("nope", None, None)
    with pytest.raises(ValueError, match="needs an argument"):
        RELIGHTERS.create("iclight")
    with pytest.raises(ValueError, match="takes no argument"):
        RELIGHTERS.create("bounded:x")


def test_bounded_by_name_is_the_relight_function(rendered, bottle):
    expected = relight(rendered, bottle, None)
    by_name = relight_with("bounded", rendered, bottle, None)
    assert np.array_equal(by_name.rgb, expected.rgb)
    assert by_name.provenance["relight"]["params"] == expected.provenance["relight"]["params"]
    # a backend's own config travels through the registry
    flat = RelightConfig(shadows=False, reflection=False)
    assert np.array_equal(relight_with("bounded", rendered, bottle, None, flat).rgb,
                          relight(rendered, bottle, None, flat).rgb)
    assert not np.array_equal(relight_with("bounded", rendered, bottle, None, flat).rgb, expected.rgb)
    # the input frame is left alone unless the caller gives it up
    assert not np.array_equal(rendered.rgb, expected.rgb)


def test_model_relight_by_name_loads_its_folder_lazily():
    relighter = RELIGHTERS.create("iclight:/no/such/iclight")  # building it loads nothing yet
    assert relighter.name == "iclight" and relighter.backend == "iclight:/no/such/iclight"


def test_qa_checks_are_registered_and_chosen_by_name(rendered, bottle):
    assert CHECKS.names() == ["silhouette", "colour", "geometry", "text"] == list(DEFAULT_CHECKS)
    frame = relight(rendered, bottle, None)
    full = qa_frame(frame)
    assert [c.name.split(".")[0] for c in full.checks][:1] == ["silhouette"]
    assert {c.name.split(".")[0] for c in full.checks} == {"silhouette", "colour", "geometry", "text"}
    ref_rgb, ref_alpha = reference_of(frame)
    only, details = qa_with_details(frame.rgb, frame.product_alpha, ref_rgb, ref_alpha,
                                     config=QAConfig(checks=("colour",)))
    assert [c.name for c in only.checks] == ["colour.mean_de", "colour.p95_de", "colour.ssim"]
    assert only.checks == tuple(c for c in full.checks if c.name.startswith("colour."))
    assert only.metrics["silhouette"] is None and only.metrics["geometry"] is None and only.metrics["text"] is None
    assert only.metrics["colour"] == full.metrics["colour"]
    assert details.silhouette is None and details.colour is not None
    overlay = make_overlay(frame.rgb, only, details)  # draws what ran
    assert overlay.shape == frame.rgb.shape and overlay.dtype == np.uint8
    # geometry alone uses the same interior as the colour check would
    geo, _ = qa_with_details(frame.rgb, frame.product_alpha, ref_rgb, ref_alpha, config=QAConfig(checks=("geometry",)))
    assert geo.metrics["geometry"] == full.metrics["geometry"]
    assert only.provenance["params"]["checks"] == ["colour"]


@pytest.mark.parametrize("checks", [("colour", "nope"), (), ("text", "text"), ("colour:x",)])
def test_qa_config_refuses_unknown_empty_or_repeated_checks(checks):
    with pytest.raises(ValueError, match="QAConfig.checks must name distinct checks among silhouette, colour"):
        QAConfig(checks=checks)


def test_backends_command_lists_relight_and_qa():
    from typer.testing import CliRunner

    from packshot.cli import app

    result = CliRunner().invoke(app, ["backends", "--json"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    listed = {(r["stage"], r["name"]) for r in rows}
    assert {("relight", "bounded"), ("relight", "iclight:ARG")} <= listed
    assert {("qa", n) for n in DEFAULT_CHECKS} <= listed
    assert all(r["description"] for r in rows if r["stage"] in ("relight", "qa"))
    table = CliRunner().invoke(app, ["backends"])
    assert table.exit_code == 0 and "bounded" in table.stdout and "geometry" in table.stdout
