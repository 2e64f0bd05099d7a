"""Benchmarks through the one scorer: oracle = 100 %, constant answers = chance, public layouts load,
malformed files give clear errors, the report folder follows the contract."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from tests.evaluate.reasoning_fixtures import write_data_root, write_erqa, write_heldout, write_where2place
from vlaser.config.evaluate import EvalReasoningSection, PublicBenchmark
from vlaser.errors import UserError
from vlaser.evaluate import benchmarks as B
from vlaser.evaluate import reasoning as R
from vlaser.evaluate.scorers import answer_index, chance_level
from vlaser.io import read_meta

NAMES = ["grounding", "spatial", "qa", "planning", "ood"]


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    return write_data_root(tmp_path_factory.mktemp("reasoning") / "data", n=16)


def test_oracle_scores_100_percent_on_every_heldout_benchmark(data_root):
    benches = B.build_benchmarks(NAMES, data_root)
    assert {it.metric for its in benches.values() for it in its} == {"point", "box", "choice", "exact", "plan"}
    report, rows = R.score_answerer(R.oracle_answerer(benches), benches, batch_size=5)
    for name, b in report["benchmarks"].items():
        assert (b["n"], b["score"], b["parse_failures"]) == (len(benches[name]), 1.0, 0), name
    assert report["average"] == 1.0
    assert all(r["parsed"] and r["score"] == 1.0 for r in rows)


def _within_chance(score: float, chance: float, n: int) -> bool:
    return abs(score - chance) <= 3.5 * math.sqrt(chance * (1 - chance) / n)


@pytest.mark.parametrize("kind, constant", [("spatial", "yes"), ("spatial", "A"), ("qa", "red")])
def test_constant_answer_scores_about_chance_on_choice_items(tmp_path, kind, constant):
    items = [it for it in B.load_heldout(write_heldout(tmp_path / kind, kind, 600, seed=3)) if it.metric == "choice"]
    # a constant can only be right on the items whose choices contain it
    items = [it for it in items if constant in ("A", *it.choices)]
    chance = chance_level([len(it.choices) for it in items])
    report, rows = R.score_answerer(R.constant_answerer(constant), {kind: items}, batch_size=64)
    score = report["benchmarks"][kind]["score"]
    assert _within_chance(score, chance, len(items)), (score, chance, len(items))
    assert report["benchmarks"][kind]["parse_failures"] == 0
    # and exactly the items whose reference is that choice are right
    expected = sum(answer_index(constant, it.choices) == answer_index(it.answer, it.choices) for it in items)
    assert sum(r["correct"] for r in rows) == expected


def test_garbage_answers_are_wrong_and_counted_as_parse_failures(data_root):
    benches = B.build_benchmarks(["grounding", "planning"], data_root)
    report, _ = R.score_answerer(R.constant_answerer(""), benches)
    for name, b in report["benchmarks"].items():
        assert b["score"] == 0.0 and b["parse_failures"] == b["n"], name


def test_where2place_layout_loads_and_scores(tmp_path):
    root = write_where2place(tmp_path / "where2place", 6)
    items = B.load_where2place(root)
    assert len(items) == 6 and all(it.metric == "point" and it.soft_mask for it in items)
    assert "<point>" in items[0].prompt and "Your answer should" not in items[0].prompt
    report, _ = R.score_answerer(R.oracle_answerer({"w2p": items}), {"w2p": items})
    assert report["benchmarks"]["w2p"]["score"] > 0.97  # JPEG masks: interior values are ~255/255
    # a point far off the free space scores 0; Where2Place's own tuple format is read too
    off, _ = R.score_answerer(R.constant_answerer("[(0.99, 0.99), (-0.5, 0.2)]"), {"w2p": items})
    assert off["benchmarks"]["w2p"]["score"] < 0.2 and off["benchmarks"]["w2p"]["parse_failures"] == 0


def test_erqa_layout_loads_and_scores(tmp_path):
    root = write_erqa(tmp_path / "erqa", 400, seed=1)
    items = B.load_erqa(root)
    assert len(items) == 400 and items[0].choices == ("red cube", "green cube", "blue cube", "yellow cube")
    assert items[1].prompt.count("<image>") == len(items[1].images) == 2
    report, _ = R.score_answerer(R.oracle_answerer({"erqa": items}), {"erqa": items}, batch_size=32)
    assert report["benchmarks"]["erqa"]["score"] == 1.0
    const, _ = R.score_answerer(R.constant_answerer("B"), {"erqa": items}, batch_size=32)
    assert _within_chance(const["benchmarks"]["erqa"]["score"], 0.25, 400)


def test_public_benchmarks_by_name_through_settings(tmp_path):
    public = {"w2p": PublicBenchmark(layout="where2place", path=str(write_where2place(tmp_path / "w", 3))),
              "erqa": PublicBenchmark(layout="erqa", path=str(write_erqa(tmp_path / "e", 5)))}
    benches = B.build_benchmarks(["w2p", "erqa"], tmp_path / "data", max_items=2, public=public)
    assert [len(v) for v in benches.values()] == [2, 2]


def test_unknown_benchmark_names_the_known_ones(data_root):
    with pytest.raises(UserError, match="unknown benchmark.*grounding.*ood/procedural"):
        B.build_benchmarks(["grounding", "groundng"], data_root)


@pytest.mark.parametrize("damage, message", [
    (lambda r: (r / "indomain/qa/heldout.jsonl").unlink(), r"indomain/qa/heldout.jsonl: no held-out file"),
    (lambda r: (r / "indomain/qa/heldout.jsonl").write_text('{"id": 1,\n'), r"heldout.jsonl:1: not valid JSON"),
    (lambda r: (r / "indomain/qa/heldout.jsonl").write_text(json.dumps({
        "id": "x", "conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}]}) + "\n"),
     r"heldout.jsonl: record 1 .* no 'eval' field"),
])
def test_malformed_heldout_files_name_the_file(tmp_path, damage, message):
    root = write_data_root(tmp_path / "data", n=2)
    damage(root)
    with pytest.raises(UserError, match=message):
        B.build_benchmarks(["qa"], root)


def test_malformed_public_files_name_the_file(tmp_path):
    with pytest.raises(UserError, match="point_questions.jsonl: not found"):
        B.load_where2place(tmp_path)
    w = write_where2place(tmp_path / "w", 2)
    (w / "masks" / "01.jpg").unlink()
    with pytest.raises(UserError, match=r"masks: no mask for question 1"):
        B.load_where2place(w)
    (w / "point_questions.jsonl").write_text('{"image": "00.jpg"}\n')
    with pytest.raises(UserError, match=r"point_questions.jsonl:1: expected an object with string 'image' and 'text'"):
        B.load_where2place(w)
    with pytest.raises(UserError, match="no erqa.tfrecord"):
        B.load_erqa(tmp_path)
    e = write_erqa(tmp_path / "e", 3) / "data" / "erqa.tfrecord"
    e.write_bytes(e.read_bytes()[:-10])
    with pytest.raises(UserError, match=r"erqa.tfrecord: record 2: truncated"):
        B.load_erqa(e)
    e.write_bytes(b"this is not a tfrecord file at all")
    with pytest.raises(UserError, match=r"erqa.tfrecord: record 0: bad length checksum"):
        B.load_erqa(e)


def test_report_folder_follows_the_contract(tmp_path, data_root):
    benches = B.build_benchmarks(["spatial", "planning"], data_root, max_items=7)
    cfg = EvalReasoningSection(batch_size=4)
    report = R.evaluate_answerer(R.constant_answerer("yes"), benches, cfg, tmp_path / "out", checkpoint="ck")
    saved = json.loads((tmp_path / "out" / "reasoning.json").read_text())
    assert saved == report and saved["checkpoint"] == "ck"
    for b in saved["benchmarks"].values():
        assert set(b) == {"n", "score", "ci_low", "ci_high", "parse_failures", "metric"}
        assert b["n"] == 7 and 0 <= b["ci_low"] <= b["score"] <= b["ci_high"] <= 1
    assert saved["average"] == pytest.approx(sum(b["score"] for b in saved["benchmarks"].values()) / 2)
    lines = [json.loads(x) for x in (tmp_path / "out" / "reasoning_items.jsonl").read_text().splitlines()]
    assert len(lines) == 14
    assert {"benchmark", "id", "prompt", "prediction", "answer", "correct", "parsed"} <= set(lines[0])
    assert read_meta(tmp_path / "out")["kind"] == "reasoning_report"


def test_tfrecord_reader_round_trips_examples(tmp_path):
    from vlaser.evaluate.tfrecord import crc32c, encode_example, parse_example, read_tfrecord, write_tfrecord

    assert crc32c(b"123456789") == 0xE3069283  # the CRC-32C check value
    ex = {"question": ["q?"], "image/encoded": [b"\x00\xff" * 200, b"x"], "visual_indices": [0, 7, -1],
          "score": [0.5, -2.0]}
    write_tfrecord(tmp_path / "f.tfrecord", [encode_example(ex)] * 3)
    back = [parse_example(p) for p in read_tfrecord(tmp_path / "f.tfrecord")]
    assert len(back) == 3
    assert back[0] == {"question": [b"q?"], "image/encoded": [b"\x00\xff" * 200, b"x"],
                       "visual_indices": [0, 7, -1], "score": [0.5, -2.0]}
