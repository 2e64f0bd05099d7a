"""In-domain stage on the real simulator (ManiSkill3, CPU rendering), tiny settings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vlaser.config import load_params
from vlaser.data.indomain import build_indomain
from vlaser.data.records import parse_boxes, parse_points, read_jsonl


@pytest.mark.sim
def test_indomain_from_simulator_frames(repo_root: Path, tmp_path: Path):
    from vlaser.sim.frames import iter_frames

    params = load_params(repo_root / "params.yaml")
    cfg = params.indomain.model_copy(update={"train_seeds": [0, 1], "heldout_seeds": [500, 501],
                                             "frames_per_episode": 2})
    suite = params.sim.suites[cfg.suite]
    suite = suite.model_copy(update={"tasks": [t for t in suite.tasks if t.id == "PushCube-v1"]})
    frames = {}

    def source(s, task, seeds, n):  # the real frames, kept for checking the answers
        for f in iter_frames(s, task, seeds, n, suite_name=cfg.suite):
            frames[(f.seed, f.step)] = f
            yield f

    summary = build_indomain(cfg, suite, tmp_path, frame_source=source)
    assert {f[0] for f in frames} == {0, 500}
    assert all(summary[k]["train"] > 0 and summary[k]["heldout"] > 0 for k in cfg.kinds)
    n_checked = 0
    for split in ("train", "heldout"):
        for rec in read_jsonl(tmp_path / "grounding" / f"{split}.jsonl"):
            frame = frames[(rec["scene_seed"], int(rec["id"].split("-t")[1].split("-")[0]))]
            q, a = rec["conversations"][0]["value"], rec["conversations"][1]["value"]
            mask = frame.objects[next(n for n in frame.objects if n in q)].mask
            h, w = mask.shape
            for x, y in parse_points(a) or []:
                assert mask[int(y * h / 1000), int(x * w / 1000)]
            for box in parse_boxes(a) or []:
                rows, cols = np.nonzero(mask)
                assert abs(box[0] - cols.min() * 1000 / w) <= 1 and abs(box[3] - (rows.max() + 1) * 1000 / h) <= 1
            n_checked += 1
    assert n_checked >= 4
    plan = [r for r in read_jsonl(tmp_path / "planning/train.jsonl") if r["qtype"] == "plan"][0]
    assert "push the blue cube to the goal region" in plan["conversations"][1]["value"]
