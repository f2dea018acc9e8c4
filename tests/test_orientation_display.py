"""The ``orientation-uncertain`` flag is shown where people look: the frame's qa.json (with what to
do) and the contact sheets (demo and catalogue report)."""

from __future__ import annotations

import dataclasses
import json
from types import SimpleNamespace

from packshot.condition import condition, parse_brief
from packshot.qa.frames import check_frame_file
from packshot.qa.report import FLAG_NOTES, frame_flags
from packshot.render import render
from packshot.render.io import save_frame
from packshot.segment.io import save_cutout

from test_render_fixtures import solid_cutout


def test_frame_flags_reads_the_orientation_record():
    assert frame_flags({"orientation": {"turn": 0, "uncertain": True}}) == ["orientation-uncertain"]
    assert frame_flags({"orientation": {"turn": 90, "uncertain": False}}) == []
    assert frame_flags({}) == [] and frame_flags({"orientation": "garbage"}) == []


def _frame(tmp_path, uncertain: bool):
    cut = solid_cutout()  # no label text: the qa run stays quick
    cut_path = tmp_path / "sku" / "cutout.png"
    save_cutout(cut_path, cut)
    brief = parse_brief({"scenes": [{"name": "s", "preset": "studio-white", "sizes": ["256x256"]}]})
    frame = render(condition(brief, cut, None, "sku")[0], cut)
    prov = {**frame.provenance, "orientation": {"turn": 0, "source": "text", "uncertain": uncertain}}
    return save_frame(tmp_path, dataclasses.replace(frame, provenance=prov), cut_path)


def test_qa_json_shows_orientation_uncertain(tmp_path):
    sidecar = _frame(tmp_path, True)
    report, _ = check_frame_file(sidecar, overlay=False)
    data = json.loads(sidecar.with_name("v0_qa.json").read_text())
    assert data["flags"] == ["orientation-uncertain"]
    assert data["flag_notes"] == [FLAG_NOTES["orientation-uncertain"]] and "--orientation" in data["flag_notes"][0]
    # a flag, not a verdict: the checks decide the verdict
    assert data["verdict"] == report.verdict


def test_qa_json_without_the_flag(tmp_path):
    sidecar = _frame(tmp_path, False)
    check_frame_file(sidecar, overlay=False)
    data = json.loads(sidecar.with_name("v0_qa.json").read_text())
    assert "flags" not in data


def test_demo_contact_sheet_badge(tmp_path):
    from packshot.demo import build_contact_sheet

    rows = [{"sku": "a", "flags": ["orientation-uncertain"], "assets": [], "frames": []},
            {"sku": "b", "flags": ["transparent"], "assets": [], "frames": []}]
    page = build_contact_sheet(tmp_path, rows).read_text()
    assert page.count("orientation uncertain</span>") == 1
    assert page.index("orientation uncertain</span>") < page.index("<h2>b</h2>")


class _Store:
    """The few JobStore calls render_html makes."""

    def __init__(self, flags):
        self.flags = flags

    def last_run(self):
        return {"id": 1, "engine": "local"}

    def unit(self, unit_id):
        return {"status": "done", "info": {"flags": self.flags}, "error": None}


def test_catalogue_report_badge():
    from packshot.catalogue.report import render_html

    data = {"skus": [{"sku": "glue", "row": 2, "photo": "photos/glue.jpg"}], "frames": [], "summary": [],
            "failures": []}
    page = render_html(_Store(["orientation-uncertain"]), data)
    assert "orientation uncertain</span>" in page
    assert "orientation uncertain</span>" not in render_html(_Store(["transparent"]), data)
