"""The frame record (packshot.framerecord): one schema, read, write and detection for every reader."""

from __future__ import annotations

import json

import pytest

from packshot.errors import InputError
from packshot.framerecord import (RECORD_VERSION, FrameRecordError, classify, find_records, is_frame_record,
                                  read_record, write_record)


def _record(**extra):
    data = {"sku": "mug", "scene": "studio", "variant": "v0", "variant_index": 0, "size": [64, 48],
            "product_box": [10, 8, 50, 40], "product_alpha": "v0_alpha.png", "cutout": "../cutout.png",
            "placement": {"matrix": [[0.5, 0.0, 4.0], [0.0, 0.5, 2.0]], "center": [32, 24], "scale": 0.5,
                          "rotation": 0.0},
            "source_kind": "embedded", "spec": {"seed": 7}, "provenance": {"run_key": "abc"}}
    data.update(extra)
    return data


def test_round_trip_is_stamped_sorted_and_byte_stable(tmp_path):
    path = tmp_path / "v0.json"
    write_record(path, _record())
    first = path.read_bytes()
    back = read_record(path)
    assert back["record_version"] == RECORD_VERSION == 1
    assert {k: v for k, v in back.items() if k != "record_version"} == _record()
    write_record(path, back)  # rewriting what was read gives the same bytes
    assert path.read_bytes() == first
    assert list(json.loads(first)) == sorted(json.loads(first))
    assert not list(tmp_path.glob("*.tmp*"))  # atomic: no temp file left


def test_a_legacy_record_without_a_version_reads_as_version_one(tmp_path):
    for name, data in (("a.json", _record()), ("b.json", _record(sidecar_version=1))):
        (tmp_path / name).write_text(json.dumps(data))
        assert read_record(tmp_path / name)["sku"] == "mug"
        assert classify(tmp_path / name) == ("sidecar", "")
    # rewriting a legacy record stamps the current version and drops the old field
    write_record(tmp_path / "b.json", read_record(tmp_path / "b.json"))
    data = json.loads((tmp_path / "b.json").read_text())
    assert data["record_version"] == 1 and "sidecar_version" not in data


def test_a_future_version_is_refused_naming_the_file(tmp_path):
    path = tmp_path / "v0.json"
    path.write_text(json.dumps(_record(record_version=RECORD_VERSION + 1)))
    with pytest.raises(FrameRecordError) as info:
        read_record(path)
    assert str(path) in str(info.value) and "version 2" in str(info.value) and "upgrade" in str(info.value)
    assert isinstance(info.value, InputError)
    # detected as a frame record, but listed as broken with the reason (never silently skipped)
    assert is_frame_record(path)
    good, bad = find_records(tmp_path)
    assert good == [] and bad == [(path, info.value.problem)]


@pytest.mark.parametrize("text, fragment", [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "not a JSON object"),
    (json.dumps({k: v for k, v in _record().items() if k != "product_alpha"}), "'product_alpha'"),
    (json.dumps(_record(record_version="one")), "non-integer"),
])
def test_malformed_records_name_the_file_and_the_problem(tmp_path, text, fragment):
    path = tmp_path / "v0.json"
    path.write_text(text)
    with pytest.raises(FrameRecordError) as info:
        read_record(path)
    assert str(path) in str(info.value) and fragment in str(info.value)
    (tmp_path / "v0.png").write_bytes(b"")  # beside a frame PNG: a broken record, not "some JSON"
    kind, why = classify(path)
    assert kind == "broken" and why


def test_missing_record_names_the_file(tmp_path):
    with pytest.raises(FrameRecordError, match="does not exist"):
        read_record(tmp_path / "nope.json")


def test_write_refuses_a_record_without_required_fields(tmp_path):
    with pytest.raises(FrameRecordError, match="'size'"):
        write_record(tmp_path / "v0.json", {k: v for k, v in _record().items() if k != "size"})
    assert not (tmp_path / "v0.json").exists()


def test_other_json_is_not_detected(tmp_path):
    others = {
        "v0_qa.json": {"schema_version": 1, "sku": "mug", "scene": "studio", "variant": "v0", "verdict": "pass"},
        "v0.clip.json": {"version": 1, "kind": "packshot-clip", "sku": "mug", "scene": "studio", "size": [8, 8]},
        "maps.json": {"text": []},
        "packshot-manifest.json": {"files": []},
        "brief.json": {"scenes": [{"name": "studio"}]},
        # a QA report copied with every frame field is still a QA report (by its name)
        "v1_qa.json": _record(),
    }
    for name, data in others.items():
        (tmp_path / name).write_text(json.dumps(data))
        assert not is_frame_record(tmp_path / name), name
        assert classify(tmp_path / name) == (None, ""), name
    assert not is_frame_record({"sku": "mug", "variant": "v0", "product_alpha": "a.png"})  # partial dict
    assert is_frame_record(_record())
    assert not is_frame_record(tmp_path / "missing.json")
    assert find_records(tmp_path) == ([], [])


def test_every_reader_uses_the_one_detection(tmp_path):
    """export, qa and render agree on what a frame record is (they used to check different keys)."""
    from packshot.export.delivery.deliver import is_sidecar as export_is
    from packshot.qa.frames import is_sidecar as qa_is
    from packshot.render.io import classify_json, read_sidecar

    write_record(tmp_path / "v0.json", _record())
    no_placement = _record()
    del no_placement["placement"]  # qa used to need 'placement', export did not: one rule now
    (tmp_path / "v1.json").write_text(json.dumps(no_placement))
    for name in ("v0.json", "v1.json"):
        p = tmp_path / name
        assert export_is(p) and qa_is(p) and classify_json(p) == ("sidecar", "")
        assert read_sidecar(p)["sku"] == "mug"
    no_scene = _record()
    del no_scene["scene"]  # export used to take this one, qa did not
    (tmp_path / "v2.json").write_text(json.dumps(no_scene))
    assert not export_is(tmp_path / "v2.json") and not qa_is(tmp_path / "v2.json")


def test_save_frame_writes_a_versioned_record(tmp_path):
    import numpy as np

    from packshot.render.io import load_frame, save_frame
    from packshot.types import Frame, Light, Placement, SceneSpec

    spec = SceneSpec(sku="mug", scene="studio", variant=0, canvas=(16, 12), placement=Placement((8.0, 6.0), 1.0, 0.0),
                     light=Light(), preset="studio", backdrop={}, floor_y=12.0, floor_gloss=0.0)
    alpha = np.zeros((12, 16), np.float32)
    alpha[3:9, 4:12] = 1.0
    frame = Frame(rgb=np.full((12, 16, 3), 0.5, np.float32), product_alpha=alpha, product_box=(4, 3, 12, 9),
                  spec=spec, source_kind="embedded", provenance={})
    path = save_frame(tmp_path, frame)
    data = read_record(path)
    assert data["record_version"] == RECORD_VERSION and data["variant"] == "v0"
    assert load_frame(path).product_box == (4, 3, 12, 9)
