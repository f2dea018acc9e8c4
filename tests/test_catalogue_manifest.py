"""Catalogue manifest: CSV / JSONL / folder, per-row errors that name the row and the field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from packshot.catalogue.manifest import load_manifest, parse_prompt
from packshot.errors import InputError

REPO = Path(__file__).resolve().parents[1]


def _photo(folder: Path, name: str) -> Path:
    p = folder / name
    p.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 16)  # existence is what the manifest checks
    return p


def test_csv_valid_rows_and_fields(tmp_path):
    _photo(tmp_path, "a.png")
    _photo(tmp_path, "a2.png")
    _photo(tmp_path, "m.png")
    (tmp_path / "m.csv").write_text(
        "sku,photo,master,title,category,profiles,prompt,extra\n"
        'A-1,a.png;a2.png,m.png,"Jar, 250 g",food,amazon-main;meta-square,"10,20,110,220",x\n'
    )
    m = load_manifest(tmp_path / "m.csv")
    assert not m.errors
    (row,) = m.rows
    assert row.sku == "A-1" and row.row == 1
    assert row.photos == (tmp_path / "a.png", tmp_path / "a2.png")
    assert row.master == tmp_path / "m.png"
    assert row.title == "Jar, 250 g" and row.category == "food"
    assert row.profiles == ("amazon-main", "meta-square")
    assert row.prompt.box == (10, 20, 110, 220)
    assert row.data["extra"] == "x"


def test_missing_column_is_fatal_and_named(tmp_path):
    (tmp_path / "m.csv").write_text("sku,image\nA,a.png\n")
    with pytest.raises(InputError) as err:
        load_manifest(tmp_path / "m.csv")
    assert "m.csv" in str(err.value) and "'photo'" in str(err.value)


def test_missing_file_duplicate_sku_bad_sku_are_row_errors(tmp_path):
    _photo(tmp_path, "a.png")
    _photo(tmp_path, "b.png")
    (tmp_path / "m.csv").write_text(
        "sku,photo\nA,a.png\nB,missing.png\nA,b.png\nbad/sku,b.png\nC,b.png\n"
    )
    m = load_manifest(tmp_path / "m.csv")
    assert [r.sku for r in m.rows] == ["A", "C"]
    errs = {(e.row, e.field): e for e in m.errors}
    assert set(errs) == {(2, "photo"), (3, "sku"), (4, "sku")}
    assert "missing.png" in errs[(2, "photo")].problem and "not found" in errs[(2, "photo")].problem
    assert "duplicate" in errs[(3, "sku")].problem and "row 1" in errs[(3, "sku")].problem
    text = str(errs[(2, "photo")])
    assert text.startswith(str(tmp_path / "m.csv")) and "row 2" in text and "'photo'" in text


def test_bad_encoding_fails_only_its_row(tmp_path):
    _photo(tmp_path, "a.png")
    _photo(tmp_path, "b.png")
    raw = "sku,photo,title\nA,a.png,Caf\u00e9\n".encode("utf-8") + "B,b.png,Caf\u00e9\n".encode("latin-1")
    (tmp_path / "m.csv").write_bytes(raw)
    m = load_manifest(tmp_path / "m.csv")
    assert [r.sku for r in m.rows] == ["A"] and m.rows[0].title == "Caf\u00e9"
    (err,) = m.errors
    assert err.row == 2 and err.field == "title" and "UTF-8" in err.problem


def test_jsonl_lists_and_bad_lines(tmp_path):
    _photo(tmp_path, "a.png")
    _photo(tmp_path, "b.png")
    lines = [json.dumps({"sku": "A", "photo": ["a.png", "b.png"], "prompt": {"box": [1, 2, 30, 40]}}),
             "{not json",
             json.dumps({"sku": "B", "photo": "b.png", "profiles": ["no-such-profile"]}),
             json.dumps({"sku": "C", "photo": "b.png", "prompt": "1,2,3"})]
    (tmp_path / "m.jsonl").write_text("\n".join(lines) + "\n")
    m = load_manifest(tmp_path / "m.jsonl")
    assert [r.sku for r in m.rows] == ["A"]
    assert len(m.rows[0].photos) == 2 and m.rows[0].prompt.box == (1, 2, 30, 40)
    assert {(e.row, e.field) for e in m.errors} == {(2, "*"), (3, "profiles"), (4, "prompt")}


def test_folder_of_photos(tmp_path):
    _photo(tmp_path, "Red Mug.png")
    _photo(tmp_path, "b.jpg")
    (tmp_path / "notes.txt").write_text("x")
    m = load_manifest(tmp_path)
    assert sorted(r.sku for r in m.rows) == ["Red-Mug", "b"]


def test_prompt_forms():
    assert parse_prompt("") is None
    p = parse_prompt('{"points": [[5, 6, 1], [1, 1, 0]]}')
    assert p.box is None and p.points == ((5.0, 6.0, 1), (1.0, 1.0, 0))
    with pytest.raises(ValueError):
        parse_prompt("10,10,5,5")


def test_documented_examples_load(tmp_path, photos_dir):
    # the examples name the test photos beside the repository (../shared/photos from the main
    # checkout); resolved here against wherever they are
    for name in ("manifest.csv", "manifest.jsonl"):
        text = (REPO / "examples" / name).read_text()
        text = text.replace("../../shared/photos", str(photos_dir)).replace("briefs/", f"{REPO}/examples/briefs/")
        (tmp_path / name).write_text(text)
        m = load_manifest(tmp_path / name)
        assert len(m.rows) == 3 and not m.errors, (name, [str(e) for e in m.errors])
