"""Published-results CSV: the shipped paper numbers load; every malformed file names its line."""

from __future__ import annotations

import csv

import pytest

from vlaser.errors import UserError
from vlaser.evaluate.published import DEFAULT_CSV, external_points, load_published, parse_published


def test_shipped_paper_csv_loads_as_external_fractions():
    df = load_published()
    with open(DEFAULT_CSV) as f:
        raw = list(csv.DictReader(f))
    assert len(df) == len(raw) and df["external"].all()
    row = df[(df.model == "InternVL3-2B") & (df.metric == "reasoning/avg")].iloc[0]
    assert row["value"] == pytest.approx(0.152) and row["value_pct"] == pytest.approx(15.2)
    pts = external_points(df, "reasoning/avg", "closed_loop/simpler_widowx/avg")
    assert list(pts["model"]) == ["InternVL3-2B"] and pts["y"].item() == pytest.approx(0.418)


@pytest.mark.parametrize(("text", "match"), [
    ("", r"x.csv:1: header '\(empty file\)'"),
    ("model,metric,score,source\n", r"x.csv:1: header 'model,metric,score,source', expected"),
    ("model,metric,value,source\nA,reasoning/qa,40,p\nB,reasoning/qa,forty,p\n", r"x.csv:3: value 'forty'"),
    ("model,metric,value,source\nA,reasoning/qa,140,p\n", r"x.csv:2: value 140.0 outside 0-100"),
    ("model,metric,value,source\nA,success,40,p\n", r"x.csv:2: metric 'success' should be"),
    ("model,metric,value,source\nA,reasoning/qa,40\n", r"x.csv:2: missing field 'source'"),
    ("model,metric,value,source\nA,reasoning/qa,40,p,extra\n", r"x.csv:2: 5 fields, expected 4"),
    ("model,metric,value,source\n,reasoning/qa,40,p\n", r"x.csv:2: empty 'model'"),
    ("model,metric,value,source\nA,reasoning/qa,4,p\nA,reasoning/qa,5,p\n", r"x.csv:3: duplicate of line 2"),
    ("model,metric,value,source\n", r"x.csv: no results after the header"),
])
def test_bad_csv_names_line_and_expectation(text, match):
    with pytest.raises(UserError, match=match):
        parse_published(text, "x.csv")


def test_missing_file_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="no such published-results CSV"):
        load_published(tmp_path / "none.csv")
