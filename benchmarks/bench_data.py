"""Data-engine throughput: in-domain items per second from simulator frames, split between the
simulator (expert rollout + rendering + segmentation, inside ``iter_frames``) and generation
(questions, answers, PNG encoding, record validation and writing).

    .venv/bin/python benchmarks/bench_data.py [--task PushCube-v1] [--seeds 2] [--frames 4] </dev/null
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import Counter
from pathlib import Path

from vlaser.runtime import apply_env_defaults

apply_env_defaults()

from vlaser.config import load_params  # noqa: E402
from vlaser.data.indomain import frame_rng, to_record  # noqa: E402
from vlaser.data.questions import frame_items  # noqa: E402
from vlaser.data.store import SplitWriter  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--task", default="PushCube-v1")
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--frames", type=int, default=4)
    args = ap.parse_args()
    from vlaser.sim.frames import iter_frames

    params = load_params()
    cfg = params.indomain
    suite = params.sim.suites[cfg.suite]
    task = next(t for t in suite.tasks if t.id == args.task)
    sim_s = gen_s = 0.0
    n_frames, n_items = 0, Counter()
    with tempfile.TemporaryDirectory() as tmp, SplitWriter(Path(tmp)) as writer:
        t0 = time.perf_counter()
        frames = iter_frames(suite, task, range(args.seeds), args.frames, suite_name=cfg.suite)
        while True:
            t = time.perf_counter()
            frame = next(frames, None)
            sim_s += time.perf_counter() - t
            if frame is None:
                break
            t = time.perf_counter()
            items = frame_items(frame, list(cfg.kinds), frame_rng(cfg.seed, frame), cfg.min_pixels, Counter(),
                                n_frames % args.frames == 0)
            image = writer.image(frame.rgb)
            for i, item in enumerate(items):
                writer.add("heldout", to_record(item, frame, image, i, writer))  # held-out: masks too (worst case)
                n_items[item.kind] += 1
            gen_s += time.perf_counter() - t
            n_frames += 1
        total = time.perf_counter() - t0
    items = sum(n_items.values())
    print(f"task {args.task}: {args.seeds} episodes, {n_frames} frames, {items} items {dict(n_items)}")
    print(f"simulator (rollout + render): {sim_s:.2f} s  ({sim_s / total:.1%} of {total:.2f} s)")
    print(f"generation (QA + PNG + records): {gen_s:.3f} s  ({gen_s / total:.1%})")
    print(f"items/s end to end: {items / total:.2f}; items/s generation only: {items / max(gen_s, 1e-9):.0f}")
    print(f"generation is {sim_s / max(gen_s, 1e-9):.0f}x faster than the simulator per frame")


if __name__ == "__main__":
    main()
