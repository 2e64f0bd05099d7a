"""Out-of-domain sources: procedural answers checked against the pixels; JSONL/meta sources imported."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from tests.data.test_records import PUBLISHED, internvl_style_load
from vlaser.config.data import OodSource
from vlaser.data.ood import build_ood
from vlaser.data.ood_procedural import COLOURS
from vlaser.data.records import parse_boxes, parse_points, read_jsonl
from vlaser.errors import UserError

SRC = OodSource(kind="procedural", n_train=120, n_heldout=40, image_size=64, seed=3)


@pytest.fixture(scope="module")
def procedural(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ood") / "procedural"
    build_ood("procedural", SRC, out)
    return out


def colour_components(img: np.ndarray, colour: str) -> list[np.ndarray]:
    """Connected regions drawn in a named colour (solid or its 0.7 texture shade), from the pixels alone."""
    rgb = np.array(COLOURS[colour], np.float64)
    sel = np.zeros(img.shape[:2], bool)
    for shade in (rgb, rgb * 0.7):
        sel |= (np.abs(img.astype(np.float64) - shade.astype(np.uint8)) <= 1).all(-1)
    labels, n = ndimage.label(sel, structure=np.ones((3, 3)))
    return [labels == i for i in range(1, n + 1)]


def test_procedural_answers_agree_with_pixels(procedural: Path):
    counts = {"train": 0, "heldout": 0}
    checked = set()
    for split in counts:
        for rec in read_jsonl(procedural / f"{split}.jsonl"):
            counts[split] += 1
            img = np.asarray(Image.open(procedural / rec["image"]).convert("RGB"))
            q, a = rec["conversations"][0]["value"], rec["conversations"][1]["value"]
            named = [c for c in COLOURS if f"{c} " in q]
            comps = {c: colour_components(img, c) for c in named}
            if rec["qtype"] == "point":
                (x, y), = parse_points(a)
                px = (int(y * 64 / 1000), int(x * 64 / 1000))
                assert any(m[px] for m in comps[named[0]]), rec["id"]
            elif rec["qtype"] == "box":
                (box,) = parse_boxes(a)
                best = 0.0
                for m in comps[named[0]]:
                    rows, cols = np.nonzero(m)
                    t = [cols.min() * 1000 / 64, rows.min() * 1000 / 64, (cols.max() + 1) * 1000 / 64, (rows.max() + 1) * 1000 / 64]
                    ix = max(0, min(box[2], t[2]) - max(box[0], t[0]))
                    iy = max(0, min(box[3], t[3]) - max(box[1], t[1]))
                    union = (box[2] - box[0]) * (box[3] - box[1]) + (t[2] - t[0]) * (t[3] - t[1]) - ix * iy
                    best = max(best, ix * iy / union)
                assert best >= 0.9, rec["id"]
            elif rec["qtype"] == "count" and "shapes" in q:
                n = sum(len(colour_components(img, c)) for c in COLOURS)
                assert a == str(n), rec["id"]
            elif rec["qtype"] == "left_right" and len(named) == 2 and all(len(comps[c]) == 1 for c in named):
                xa, xb = (np.nonzero(comps[c][0])[1].mean() for c in sorted(named, key=q.index))
                left_word = "left" in q and "right" not in q
                if a in ("left", "right"):
                    assert a == ("left" if xa < xb else "right"), rec["id"]
                elif a in ("yes", "no"):
                    assert (a == "yes") == ((xa < xb) == left_word), rec["id"]
            else:
                continue
            checked.add(rec["qtype"])
    assert counts == {"train": SRC.n_train, "heldout": SRC.n_heldout}
    assert {"point", "box"} <= checked


def test_procedural_split_by_seed(procedural: Path):
    train = {r["scene_seed"] for r in read_jsonl(procedural / "train.jsonl")}
    held = list(read_jsonl(procedural / "heldout.jsonl"))
    assert train.isdisjoint({r["scene_seed"] for r in held})
    assert all("eval" in r for r in held)
    masks = [r for r in held if r["eval"]["type"] == "point"]
    assert masks and all((procedural / r["eval"]["mask"]).is_file() for r in masks)
    assert json.loads((procedural / "meta.json").read_text())["kind"] == "ood"


def _published_source(tmp: Path) -> Path:
    data = tmp / "theirs"
    (data / "images").mkdir(parents=True)
    Image.new("RGB", (32, 24), (200, 10, 10)).save(data / "images/00000000.jpg")
    Image.new("RGB", (24, 24), (10, 10, 200)).save(data / "images/00000001.jpg")
    (data / "train.jsonl").write_text("\n".join(PUBLISHED) + "\n")
    (data / "bad.jsonl").write_text(PUBLISHED[0] + "\n{broken\n" + PUBLISHED[1] + "\n")
    return data


def test_jsonl_source_imported_and_loadable(tmp_path: Path):
    _published_source(tmp_path)
    src = OodSource(kind="jsonl", annotation="theirs/train.jsonl", heldout_annotation="theirs/train.jsonl",
                    n_train=5, n_heldout=2)
    out = tmp_path / "data/ood/theirs"
    summary = build_ood("theirs", src, out, base=tmp_path)
    assert summary["train"] == 5 and summary["heldout"] == 2
    recs = list(read_jsonl(out / "train.jsonl"))
    assert [r["id"] for r in recs] == [0, 1, 2, 3, 4]
    assert recs[3]["image"][0].startswith("images/") and len(recs[3]["image"]) == 2
    assert recs[1]["conversations"] == json.loads(PUBLISHED[1])["conversations"]  # text unchanged
    held = list(read_jsonl(out / "heldout.jsonl"))
    assert held[1]["eval"] == {"type": "box", "answer": held[1]["conversations"][1]["value"], "box": [12, 95, 340, 998]}
    meta = {"theirs": {"root": ".", "annotation": "train.jsonl", "data_augment": False, "repeat_time": 1, "length": 5}}
    (out / "internvl_meta.json").write_text(json.dumps(meta))
    assert internvl_style_load(out / "internvl_meta.json") == 5


def test_meta_source_and_malformed_lines(tmp_path: Path):
    data = _published_source(tmp_path)
    meta = {"a": {"root": ".", "annotation": "train.jsonl", "data_augment": False, "repeat_time": 1, "length": 6},
            "b": {"root": ".", "annotation": "bad.jsonl", "data_augment": False, "repeat_time": 1, "length": 3}}
    (data / "meta.json").write_text(json.dumps(meta))
    strict = OodSource(kind="meta", annotation=str(data / "meta.json"), n_train=10, n_heldout=0)
    with pytest.raises(UserError, match=r"bad.jsonl:2: not valid JSON"):
        build_ood("m", strict, tmp_path / "m")
    assert not (tmp_path / "m").exists()  # a failed stage leaves nothing that looks finished
    lenient = OodSource(kind="meta", annotation=str(data / "meta.json"), n_train=10, n_heldout=0, lenient=True)
    summary = build_ood("m", lenient, tmp_path / "m")
    assert summary["train"] == 5 + 2 and summary["skipped_lines"] == 1


def test_missing_image_names_its_path(tmp_path: Path):
    data = _published_source(tmp_path)
    (data / "images/00000001.jpg").unlink()
    src = OodSource(kind="jsonl", annotation=str(data / "train.jsonl"), n_train=10, n_heldout=0)
    with pytest.raises(UserError, match=str(data / "images/00000001.jpg")):
        build_ood("x", src, tmp_path / "x")
