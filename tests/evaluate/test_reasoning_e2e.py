"""A tiny random VLM checkpoint evaluates end to end through `vlaser eval reasoning` and writes the report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.evaluate.reasoning_fixtures import write_data_root, write_erqa, write_where2place
from vlaser.config import load_params
from vlaser.io import read_meta

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    from vlaser.model.checkpoint import save_vlm
    from vlaser.model.vlm import base_vlm

    cfg = load_params(REPO / "params.yaml").model
    corpus = ["Where is the red cube? <box>[[100, 200, 300, 400]]</box>", "1. move to the cube\n2. grasp it",
              "Is the red cube left of the green cube? yes no", "<point>[[500, 500]]</point>"] * 20
    model, tokenizer = base_vlm(cfg, corpus, seed=0)
    return save_vlm(tmp_path_factory.mktemp("ck") / "vlm", model, tokenizer, cfg)


def cli(*args: str) -> subprocess.CompletedProcess:
    r = subprocess.run([sys.executable, "-m", "vlaser", "-q", "eval", "reasoning", *args], capture_output=True,
                       text=True, cwd=REPO, stdin=subprocess.DEVNULL, timeout=300)
    r.stderr = " ".join(r.stderr.split())
    return r


def test_tiny_checkpoint_end_to_end(tmp_path, checkpoint):
    data = write_data_root(tmp_path / "data", n=2)
    w2p, erqa = write_where2place(tmp_path / "w2p", 2), write_erqa(tmp_path / "erqa", 2)
    out = tmp_path / "report"
    r = cli(str(checkpoint), "--data-root", str(data), "--where2place", str(w2p), "--erqa", str(erqa),
            "--max-items", "2", "--batch-size", "4", "--max-new-tokens", "8", "--out", str(out))
    assert r.returncode == 0, r.stderr
    report = json.loads((out / "reasoning.json").read_text())
    names = ["grounding", "spatial", "qa", "planning", "ood", "where2place", "erqa"]
    assert sorted(report["benchmarks"]) == sorted(names) and report["checkpoint"] == str(checkpoint)
    assert [report["benchmarks"][n]["n"] for n in names] == [2, 2, 2, 2, 2, 2, 2]
    for b in report["benchmarks"].values():
        assert 0 <= b["ci_low"] <= b["score"] <= b["ci_high"] <= 1 and 0 <= b["parse_failures"] <= b["n"]
    rows = [json.loads(x) for x in (out / "reasoning_items.jsonl").read_text().splitlines()]
    assert len(rows) == 14 and all(isinstance(row["prediction"], str) for row in rows)
    # what the report counts is what the items say
    assert report["benchmarks"]["qa"]["parse_failures"] == sum(not x["parsed"] for x in rows if x["benchmark"] == "qa")
    meta = read_meta(out)
    assert meta["kind"] == "reasoning_report" and str(checkpoint) in meta["parents"]
    assert json.loads(r.stdout)["average"] == pytest.approx(report["average"])


def test_folder_that_is_not_a_checkpoint_exits_2(tmp_path):
    write_data_root(tmp_path / "data", n=2)
    (tmp_path / "empty").mkdir()
    r = cli(str(tmp_path / "empty"), "--benchmarks", "qa", "--data-root", str(tmp_path / "data"),
            "--out", str(tmp_path / "o"))
    assert r.returncode == 2, r.stderr
    assert str(tmp_path / "empty") in r.stderr and not (tmp_path / "o").exists()
