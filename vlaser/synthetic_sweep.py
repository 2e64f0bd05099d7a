"""Schema-true synthetic sweep folders with known values, for tests, benchmarks and demos.

``write_run`` writes one ``<variant>/s<seed>/`` folder (closed_loop.json with per-episode rows,
episodes.csv, reasoning.json, reasoning_items.jsonl, meta.json) from exact counts, so every rate in it
is known in advance. ``write_sweep`` writes many; ``linear_sweep`` makes N variants whose success
rises linearly with their reasoning score (for the open-time benchmark and the browser test).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vlaser.evaluate.stats import rate
from vlaser.io import write_json, write_meta


@dataclass(frozen=True)
class RunSpec:
    """Exact counts of one (variant, seed) run."""

    successes: Mapping[str, int]  # task_id -> successes out of `episodes`
    correct: Mapping[str, int]  # benchmark -> correct items out of `items`
    episodes: int = 10  # per task
    items: int = 20  # per benchmark


def _closed_loop(spec: RunSpec, seed: int) -> dict:
    tasks, episodes = {}, []
    for tid, k in spec.successes.items():
        tasks[tid] = {**rate(k, spec.episodes), "ever_successes": k, "ever_rate": k / spec.episodes,
                      "mean_steps": 50.0}
        for e in range(spec.episodes):
            episodes.append({"task_id": tid, "seed": 1000 + e, "steps": 50, "success": e < k,
                             "ever_success": e < k, "wall_s": 0.1})
    total_k, total_n = sum(spec.successes.values()), spec.episodes * len(spec.successes)
    avg = rate(total_k, total_n)
    return {"suite": "synthetic", "policy": f"models/synthetic/s{seed}/vla", "episodes_per_task": spec.episodes,
            "seed": 1000, "tasks": tasks, "episodes": episodes,
            "average": {"rate": float(np.mean([t["rate"] for t in tasks.values()])), "ci_low": avg["ci_low"],
                        "ci_high": avg["ci_high"]}}


def _reasoning(spec: RunSpec, seed: int) -> tuple[dict, list[dict]]:
    benches, items = {}, []
    for name, k in spec.correct.items():
        r = rate(k, spec.items)
        benches[name] = {"n": spec.items, "score": r["rate"], "ci_low": r["ci_low"], "ci_high": r["ci_high"],
                         "parse_failures": 0, "metric": "accuracy"}
        for i in range(spec.items):
            items.append({"benchmark": name, "id": f"{name}-{i}", "prompt": "q", "prediction": "a",
                          "answer": "a" if i < k else "b", "correct": i < k, "parsed": True})
    return ({"checkpoint": f"models/synthetic/s{seed}/vlm", "benchmarks": benches,
             "average": float(np.mean([b["score"] for b in benches.values()]))}, items)


def write_run(folder: Path, spec: RunSpec, seed: int = 0) -> None:
    """Write one run folder from exact counts."""
    folder.mkdir(parents=True, exist_ok=True)
    cl = _closed_loop(spec, seed)
    write_json(folder / "closed_loop.json", cl)
    with open(folder / "episodes.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(cl["episodes"][0]) if cl["episodes"] else ["task_id"])
        w.writeheader()
        w.writerows(cl["episodes"])
    if spec.correct:
        rs, items = _reasoning(spec, seed)
        write_json(folder / "reasoning.json", rs)
        (folder / "reasoning_items.jsonl").write_text("".join(json.dumps(i) + "\n" for i in items))
    write_meta(folder, "report", params={"synthetic": True}, extra={"seed": seed})


def write_sweep(root: Path, runs: Mapping[str, Mapping[int, RunSpec]]) -> Path:
    """``runs[variant][seed]`` -> ``root/<variant>/s<seed>/``; returns ``root``."""
    for variant, seeds in runs.items():
        for seed, spec in seeds.items():
            write_run(Path(root) / variant / f"s{seed}", spec, seed)
    return Path(root)


def linear_sweep(root: Path, n_variants: int, seeds: tuple[int, ...] = (0, 1, 2),
                 tasks: tuple[str, ...] = ("PushCube-v1", "PullCube-v1", "PickCube-v1", "StackCube-v1"),
                 benchmarks: tuple[str, ...] = ("grounding", "spatial", "qa", "planning", "ood"),
                 episodes: int = 10, items: int = 20, rng_seed: int = 0) -> Path:
    """N variants; variant i's true reasoning score and success both rise with i (plus binomial noise)."""
    rng = np.random.default_rng(rng_seed)
    runs: dict[str, dict[int, RunSpec]] = {}
    for i in range(n_variants):
        p = 0.1 + 0.8 * i / max(1, n_variants - 1)
        runs[f"v{i:03d}"] = {s: RunSpec({t: int(rng.binomial(episodes, p)) for t in tasks},
                                        {b: int(rng.binomial(items, p)) for b in benchmarks}, episodes, items)
                             for s in seeds}
    return write_sweep(root, runs)
