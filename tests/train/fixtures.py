"""Tiny on-disk inputs for the stage tests: a chat mixture and a demos folder in the real formats."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from vlaser.config.model import ModelSection
from vlaser.io import json_digest, write_json, write_meta

TINY_MODEL = ModelSection(
    vision={"image_size": 32, "patch_size": 8, "hidden_size": 32, "num_layers": 1, "num_heads": 2,
            "intermediate_size": 64},
    text={"hidden_size": 32, "num_layers": 2, "num_heads": 2, "num_kv_heads": 1, "intermediate_size": 64,
          "vocab_size": 400, "max_length": 96},
    expert_hidden_size=16, expert_intermediate_size=32, state_dim=9, action_dim=7, chunk_size=4, exec_horizon=4,
    denoise_steps=4,
)
COLOURS = {"red": (220, 30, 30), "green": (30, 200, 30), "blue": (30, 30, 220)}


def make_mixture(folder: Path, n: int = 12) -> Path:
    """A mixture folder: images/, train.jsonl (image and text-only records) and meta.json."""
    (folder / "images").mkdir(parents=True)
    rng = np.random.default_rng(0)
    records = []
    for i in range(n):
        name = list(COLOURS)[i % 3]
        img = np.full((32, 32, 3), 255, np.uint8)
        x, y = rng.integers(2, 20, size=2)
        img[y:y + 10, x:x + 10] = COLOURS[name]
        Image.fromarray(img).save(folder / "images" / f"{i}.png")
        records.append({"id": f"r{i}", "image": f"images/{i}.png", "width": 32, "height": 32,
                        "conversations": [{"from": "human", "value": "<image>\nwhat colour is the square?"},
                                          {"from": "gpt", "value": f"the square is {name}"}]})
    records.append({"id": "text", "conversations": [{"from": "human", "value": "plan: pick up the cube"},
                                                    {"from": "gpt", "value": "1. reach 2. grasp 3. lift"}]})
    (folder / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    write_meta(folder, "mixture", {"test": True})
    return folder


def make_demos(folder: Path, episodes: int = 4, steps: int = 10, size: int = 32) -> Path:
    """A demos folder in vlaser.sim.demos' layout with synthetic episodes (action follows the image)."""
    from vlaser.sim.demos import MANIFEST, write_arrays

    rng = np.random.default_rng(1)
    entries = []
    for e in range(episodes):
        task = "PushCube-v1" if e % 2 == 0 else "PullCube-v1"
        rgb = rng.integers(0, 255, size=(steps, size, size, 3), dtype=np.uint8)
        proprio = rng.normal(size=(steps, 9)).astype(np.float32)
        actions = np.clip(rng.normal(size=(steps, 7)), -1, 1).astype(np.float32)
        actions[:, 6] = np.where(np.arange(steps) < steps // 2, 1.0, -1.0)
        rel = f"episodes/{task}/s{e}.safetensors"
        digest = write_arrays(folder / rel, {"rgb": rgb, "proprio": proprio, "actions": actions})
        entries.append({"file": rel, "task_id": task, "seed": e, "instruction": f"do {task}", "steps": steps,
                        "frames": steps, "success": True, "phases": ["move"] * steps, "digest": digest})
    write_json(folder / MANIFEST, {"format_version": 1, "suite": "test", "image_size": size, "episodes": entries,
                                   "digest": json_digest([x["digest"] for x in entries])})
    write_meta(folder, "demos", {"test": True})
    return folder
