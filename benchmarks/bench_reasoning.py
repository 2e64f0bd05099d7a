"""Items per second of generation-based reasoning scoring: batched versus one prompt at a time.

A tiny random-init VLM (the ``tiny`` preset's shapes) answers N multiple-choice items through
``vlaser.evaluate.reasoning`` (greedy decoding with the KV cache, the same path as
``vlaser eval reasoning``), once with batch size B and once with batch size 1. Prints both rates and
their ratio, measured in this run.

    .venv/bin/python benchmarks/bench_reasoning.py [--items 64] [--batch 16] [--tokens 32]
"""

from __future__ import annotations

import argparse
import io
import os
import time

os.environ.setdefault("VLASER_QUIET", "1")

from vlaser.runtime import apply_env_defaults  # noqa: E402

apply_env_defaults()

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from vlaser.config import load_params  # noqa: E402
from vlaser.evaluate.benchmarks import Item  # noqa: E402
from vlaser.evaluate.reasoning import answer_items, model_answerer  # noqa: E402

SIDES = ["left", "right", "front", "behind"]


def make_items(n: int, size: int, seed: int = 0) -> list[Item]:
    rng = np.random.default_rng(seed)
    items = []
    for i in range(n):
        buf = io.BytesIO()
        Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)).save(buf, format="PNG")
        items.append(Item(id=str(i), prompt="<image>\nWhere is the red cube relative to the green cube?",
                          images=(buf.getvalue(),), metric="choice", answer=str(rng.choice(SIDES)),
                          choices=tuple(SIDES)))
    return items


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=64)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--tokens", type=int, default=32, help="max_new_tokens")
    args = ap.parse_args()

    import torch

    from vlaser.model.vlm import ImageProcessor, base_vlm

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    cfg = load_params().model
    corpus = ["Where is the red cube relative to the green cube? " + s for s in SIDES] * 50
    model, tokenizer = base_vlm(cfg, corpus, seed=0)
    answerer = model_answerer(model, tokenizer, ImageProcessor(cfg), args.tokens)
    items = {"bench": make_items(args.items, cfg.vision.image_size)}
    answer_items(answerer, {"warmup": items["bench"][:2]}, batch_size=2, desc="warmup")
    rates = {}
    with torch.inference_mode():
        for bs in (args.batch, 1):
            t0 = time.perf_counter()
            rows = answer_items(answerer, items, batch_size=bs, desc=f"batch {bs}")
            dt = time.perf_counter() - t0
            rates[bs] = len(rows) / dt
            print(f"batch {bs:3d}: {len(rows)} items in {dt:6.2f} s = {rates[bs]:7.2f} items/s")
    print(f"batched / one-at-a-time: {rates[args.batch] / rates[1]:.2f}x "
          f"(torch threads {torch.get_num_threads()}, max_new_tokens {args.tokens})")


if __name__ == "__main__":
    main()
