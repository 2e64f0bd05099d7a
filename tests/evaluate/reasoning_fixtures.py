"""Writers of small benchmark files for the reasoning tests: held-out JSONL (the data contract),
the Where2Place layout and the ERQA layout. Random content from a seeded generator."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
from PIL import Image

from vlaser.data.records import format_box, format_point
from vlaser.evaluate.tfrecord import encode_example, write_tfrecord

COLORS = ["red", "green", "blue", "yellow"]
SIDES = ["left", "right", "front", "behind"]
STEPS = ["move to the cube", "open the gripper", "grasp the cube", "lift the cube", "move to the goal",
         "release the cube"]


def _image(rng: np.random.Generator, size: int = 32) -> Image.Image:
    return Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8))


def _rect(rng: np.random.Generator, size: int) -> tuple[int, int, int, int]:
    x0, y0 = rng.integers(0, size - 8, 2)
    w, h = rng.integers(4, 8, 2)
    return int(x0), int(y0), int(x0 + w), int(y0 + h)


def _record(i: int, kind: str, question: str, answer_text: str, ev: dict) -> dict:
    return {"id": f"{kind}-{i}", "image": f"images/{i:04d}.png", "width": 32, "height": 32, "kind": kind,
            "conversations": [{"from": "human", "value": f"<image>\n{question}"},
                              {"from": "gpt", "value": answer_text}], "eval": ev}


def _grounding(i: int, folder: Path, rng: np.random.Generator) -> dict:
    x0, y0, x1, y1 = _rect(rng, 32)
    if i % 2:
        box = [round(v * 1000 / 32) for v in (x0, y0, x1, y1)]
        return _record(i, "grounding", "Where is the cube? Answer with a box.", format_box(box),
                       {"type": "box", "answer": format_box(box), "box": box})
    mask = np.zeros((32, 32), np.uint8)
    mask[y0:y1, x0:x1] = 255
    Image.fromarray(mask).save(folder / "masks" / f"{i:04d}.png")
    ans = format_point((x0 + x1) / 2 * 1000 / 32, (y0 + y1) / 2 * 1000 / 32)
    return _record(i, "grounding", "Point to a free place.", ans,
                   {"type": "point", "answer": ans, "mask": f"masks/{i:04d}.png"})


def _spatial(i: int, rng: np.random.Generator) -> dict:
    if i % 2:
        ans = str(rng.choice(["yes", "no"]))
        return _record(i, "spatial", "Is the red cube left of the green cube? Answer yes or no.", ans,
                       {"type": "choice", "answer": ans, "choices": ["yes", "no"]})
    ans = str(rng.choice(SIDES))
    opts = " ".join(f"{chr(65 + k)}. {s}" for k, s in enumerate(SIDES))
    return _record(i, "spatial", f"Where is the red cube relative to the robot? {opts}", ans,
                   {"type": "choice", "answer": ans, "choices": SIDES})


def _qa(i: int, rng: np.random.Generator) -> dict:
    if i % 2:
        n = int(rng.integers(1, 5))
        return _record(i, "qa", "How many cubes are there?", str(n), {"type": "exact", "answer": str(n)})
    ans = str(rng.choice(COLORS))
    return _record(i, "qa", "What colour is the cube?", ans, {"type": "choice", "answer": ans, "choices": COLORS})


def _planning(i: int, rng: np.random.Generator) -> dict:
    k = int(rng.integers(2, len(STEPS) + 1))
    steps = STEPS[:k]
    text = "\n".join(f"{j}. {s}" for j, s in enumerate(steps, 1))
    return _record(i, "planning", "Plan the steps to pick up the cube.", text,
                   {"type": "plan", "answer": text, "steps": steps})


_MAKERS = {"spatial": _spatial, "qa": _qa, "planning": _planning}


def write_heldout(folder: Path, kind: str, n: int, seed: int = 0) -> Path:
    """folder/heldout.jsonl + images/ (+ masks/) with ``n`` items of one in-domain kind."""
    rng = np.random.default_rng(seed)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    (folder / "masks").mkdir(exist_ok=True)
    lines = []
    for i in range(n):
        _image(rng).save(folder / "images" / f"{i:04d}.png")
        rec = _grounding(i, folder, rng) if kind == "grounding" else _MAKERS[kind](i, rng)
        lines.append(json.dumps(rec))
    path = folder / "heldout.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def write_data_root(root: Path, n: int = 12, seed: int = 0) -> Path:
    """data/indomain/<kind>/ for all four kinds and data/ood/procedural/ (spatial-style items)."""
    for j, kind in enumerate(("grounding", "spatial", "qa", "planning")):
        write_heldout(root / "indomain" / kind, kind, n, seed + j)
    write_heldout(root / "ood" / "procedural", "qa", n, seed + 10)
    return root


def write_where2place(folder: Path, n: int, seed: int = 0) -> Path:
    """Where2Place layout: point_questions.jsonl, images/NN.jpg, masks/NN.jpg (JPEG, soft edges)."""
    rng = np.random.default_rng(seed)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    (folder / "masks").mkdir(exist_ok=True)
    lines = []
    for i in range(n):
        _image(rng, 64).save(folder / "images" / f"{i:02d}.jpg")
        mask = np.zeros((64, 64), np.uint8)
        x0, y0, x1, y1 = _rect(rng, 64)
        mask[y0:y1 + 8, x0:x1 + 8] = 255
        Image.fromarray(mask).save(folder / "masks" / f"{i:02d}.jpg", quality=95)
        lines.append(json.dumps({
            "question_id": i, "image": f"{i:02d}.jpg", "category": "seen",
            "text": "Please point out the free space on the table. Your answer should be formatted as a list of "
                    "tuples, i.e. [(x1, y1), (x2, y2), ...], where each tuple contains the x and y coordinates.",
        }))
    (folder / "point_questions.jsonl").write_text("\n".join(lines) + "\n")
    return folder


def write_erqa(folder: Path, n: int, seed: int = 0, n_choices: int = 4) -> Path:
    """ERQA layout: data/erqa.tfrecord of tf.train.Example with question, answer, images."""
    rng = np.random.default_rng(seed)
    payloads = []
    for i in range(n):
        k = int(rng.integers(0, n_choices))
        opts = " ".join(f"{chr(65 + j)}. {COLORS[j]} cube" for j in range(n_choices))
        n_img = 1 + i % 2
        imgs = []
        for _ in range(n_img):
            buf = io.BytesIO()
            _image(rng).save(buf, format="PNG")
            imgs.append(buf.getvalue())
        payloads.append(encode_example({
            "question": [f"Which cube will the robot pick up next? Choices: {opts}. Answer with the letter."],
            "answer": [chr(65 + k)], "image/encoded": imgs, "visual_indices": [0] * n_img,
            "question_type": ["Task Reasoning"],
        }))
    (folder / "data").mkdir(parents=True, exist_ok=True)
    write_tfrecord(folder / "data" / "erqa.tfrecord", payloads)
    return folder
