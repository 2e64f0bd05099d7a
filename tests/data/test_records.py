"""Records: the InternVL chat-JSONL schema, both directions, and clear errors on bad lines."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vlaser.data.records import (
    format_box,
    format_boxes,
    format_point,
    format_points,
    parse_boxes,
    parse_points,
    parse_refs,
    read_jsonl,
    read_meta_file,
    write_jsonl,
)
from vlaser.errors import UserError

# Lines written by hand in the published InternVL format (internvl_chat docs: single image, grounding
# with <ref>, several boxes, multi-image with width_list, text only, single image without the token).
PUBLISHED = [
    '{"id": 0, "image": "images/00000000.jpg", "width": 32, "height": 24, "conversations": [{"from": "human", '
    '"value": "<image>\\nCan you extract any readable text from the image?"}, {"from": "gpt", "value": "No text."}]}',
    '{"id": 1, "image": "images/00000000.jpg", "width": 32, "height": 24, "conversations": [{"from": "human", '
    '"value": "<image>\\nPlease provide the bounding box coordinate of the region this sentence describes: '
    '<ref>the man on the left</ref>"}, {"from": "gpt", "value": "<ref>the man on the left</ref><box>[[12, 95, 340, 998]]</box>"}]}',
    '{"id": 2, "image": "images/00000001.jpg", "conversations": [{"from": "human", "value": "<image>\\nFind all cups."},'
    ' {"from": "gpt", "value": "<ref>cups</ref><box>[[1, 2, 30, 40], [500,500 ,600, 700 ]]</box>"}]}',
    '{"id": 3, "image": ["images/00000000.jpg", "images/00000001.jpg"], "width_list": [32, 24], "height_list": [24, 24], '
    '"conversations": [{"from": "human", "value": "Image-1: <image>\\nImage-2: <image>\\nWhat differs?"}, '
    '{"from": "gpt", "value": "The colour."}, {"from": "human", "value": "Anything else?"}, {"from": "gpt", "value": "No."}]}',
    '{"id": 4, "conversations": [{"from": "human", "value": "Plan: pick up the cube."}, {"from": "gpt", "value": "1. reach 2. grasp"}]}',
    '{"id": 5, "image": "images/00000001.jpg", "conversations": [{"from": "human", "value": "Point to the cup."}, '
    '{"from": "gpt", "value": "<point>[[ 250 , 750 ]]</point>"}]}',
]


@pytest.fixture
def published(tmp_path: Path) -> Path:
    (tmp_path / "images").mkdir()
    Image.new("RGB", (32, 24), (200, 10, 10)).save(tmp_path / "images/00000000.jpg")
    Image.new("RGB", (24, 24), (10, 10, 200)).save(tmp_path / "images/00000001.jpg")
    path = tmp_path / "published.jsonl"
    path.write_text("\n".join(PUBLISHED) + "\n")
    return path


def internvl_style_load(meta_path: Path) -> int:
    """Loads records as InternVL's LazySupervisedDataset does: root + image joined, token counts checked.

    Written from InternVL's conventions (internvl_chat_finetune.py), independently of vlaser.data.records.
    """
    n = 0
    for entry in json.loads(meta_path.read_text()).values():
        root, ann = Path(meta_path.parent, entry["root"]), Path(meta_path.parent, entry["annotation"])
        lines = ann.read_text().splitlines()
        assert entry["length"] == len(lines) and entry["repeat_time"] > 0
        assert isinstance(entry["data_augment"], bool)
        for line in lines:
            item = json.loads(line)
            images = item.get("image") or []
            images = [images] if isinstance(images, str) else images
            for rel in images:
                Image.open(os.path.join(root, rel)).convert("RGB")
            conv = item["conversations"]
            assert [c["from"] for c in conv] == ["human", "gpt"] * (len(conv) // 2)
            tokens = sum(c["value"].count("<image>") for c in conv)
            assert tokens == len(images) or (len(images) == 1 and tokens == 0)
            n += 1
    return n


def test_published_records_load_unchanged(published: Path):
    recs = list(read_jsonl(published))
    assert [r["id"] for r in recs] == [0, 1, 2, 3, 4, 5]
    assert recs == [json.loads(line) for line in PUBLISHED]  # nothing rewritten
    assert parse_boxes(recs[2]["conversations"][1]["value"]) == [(1, 2, 30, 40), (500, 500, 600, 700)]
    assert parse_refs(recs[1]["conversations"][1]["value"]) == ["the man on the left"]
    assert parse_points(recs[5]["conversations"][1]["value"]) == [(250, 750)]


def test_our_records_load_in_internvl_conventions(tmp_path: Path):
    (tmp_path / "images").mkdir()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "images/a.png")
    recs = [
        {"id": "g-0", "image": "images/a.png", "width": 8, "height": 8, "conversations": [
            {"from": "human", "value": "<image>\nWhere is the cube?"},
            {"from": "gpt", "value": format_box([10, 20, 300, 400], ref="cube")}]},
        {"id": "p-0", "conversations": [{"from": "human", "value": "Plan it."}, {"from": "gpt", "value": "reach"}]},
    ]
    write_jsonl(tmp_path / "train.jsonl", recs)
    meta = {"ours": {"root": ".", "annotation": "train.jsonl", "data_augment": False, "repeat_time": 1, "length": 2}}
    (tmp_path / "meta.json").write_text(json.dumps(meta))
    assert internvl_style_load(tmp_path / "meta.json") == 2
    assert list(read_jsonl(tmp_path / "train.jsonl")) == recs
    entry = read_meta_file(tmp_path / "meta.json")["ours"]
    assert Path(entry["annotation"]) == tmp_path / "train.jsonl" and entry["length"] == 2


def test_point_and_box_text_round_trip():
    assert format_point(12.4, 999.6) == "<point>[[12, 1000]]</point>"
    assert parse_points(format_points([(1, 2), (3, 4)])) == [(1, 2), (3, 4)]
    assert parse_boxes(format_boxes([[1, 2, 3, 4], [5, 6, 7, 8]], ref="a")) == [(1, 2, 3, 4), (5, 6, 7, 8)]
    assert parse_points("<point> [ [ 5 ,6 ] ] </point>") == [(5, 6)]
    assert parse_points("[[7, 8]]") == [(7, 8)]  # tags dropped by a model: still parsed
    for bad in ("", "left", "<point>[[1]]</point>", "<point>[[a, b]]</point>", "<box>[[1, 2, 3]]</box>"):
        assert parse_points(bad) is None
        assert parse_boxes(bad) is None


BAD_LINES = {
    "not valid JSON": '{"id": 1, "conversations": [',
    "'conversations' must be a non-empty list": '{"id": 1, "conversations": []}',
    "turns alternate human, gpt": '{"id": 1, "conversations": [{"from": "gpt", "value": "a"}, {"from": "human", "value": "b"}]}',
    "outside [0, 1000]": '{"id": 1, "conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "<box>[[1, 2, 3000, 4]]</box>"}]}',
    "x2 < x1": '{"id": 1, "conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "<box>[[50, 2, 10, 4]]</box>"}]}',
    "<point>": '{"id": 1, "conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "<point>[[-5, 2]]</point>"}]}',
    "token(s) for 2 image(s)": '{"id": 1, "image": ["images/00000000.jpg", "images/00000000.jpg"], "conversations": [{"from": "human", "value": "<image> q"}, {"from": "gpt", "value": "a"}]}',
    "image not found": '{"id": 1, "image": "images/missing.png", "conversations": [{"from": "human", "value": "<image> q"}, {"from": "gpt", "value": "a"}]}',
    "eval.choices": '{"id": 1, "conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}], "eval": {"type": "choice", "answer": "a", "choices": ["b"]}}',
}


@pytest.mark.parametrize("what", list(BAD_LINES))
def test_bad_line_stops_with_file_and_line(published: Path, what: str):
    path = published.parent / "bad.jsonl"
    path.write_text(PUBLISHED[0] + "\n" + BAD_LINES[what] + "\n" + PUBLISHED[4] + "\n")
    with pytest.raises(UserError) as err:
        list(read_jsonl(path))
    assert str(err.value).startswith(f"{path}:2: ") and what in str(err.value)
    if what == "image not found":
        assert str(published.parent / "images/missing.png") in str(err.value)
    reader = read_jsonl(path, lenient=True)
    assert [r["id"] for r in reader] == [0, 4] and reader.skipped == 1


def test_meta_file_errors_name_the_file(tmp_path: Path):
    with pytest.raises(UserError, match="no such InternVL meta file"):
        read_meta_file(tmp_path / "nope.json")
    (tmp_path / "m.json").write_text('{"a": {"root": "x"}}')
    with pytest.raises(UserError, match=r"m.json: source 'a' needs 'root' and 'annotation'"):
        read_meta_file(tmp_path / "m.json")
