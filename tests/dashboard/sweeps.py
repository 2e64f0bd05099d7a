"""Known sweep contents for tests: exact counts, so every expected number is computed independently."""

from __future__ import annotations

from pathlib import Path

from vlaser.synthetic_sweep import RunSpec, write_sweep

TASKS = ("PushCube-v1", "PickCube-v1")
BENCHES = ("grounding", "spatial")
# variant -> (successes per task out of 10, correct per benchmark out of 20); identical across seeds 0 and 1
KNOWN = {
    "base": ((2, 1), (4, 6)),
    "ood": ((3, 2), (10, 12)),
    "qa": ((6, 4), (8, 9)),
    "spatial": ((7, 5), (12, 15)),
    "all": ((9, 6), (16, 18)),
}


def known_runs(variants: dict = KNOWN, seeds: tuple[int, ...] = (0, 1)) -> dict:
    return {v: {s: RunSpec(dict(zip(TASKS, succ, strict=True)), dict(zip(BENCHES, corr, strict=True)), 10, 20)
                for s in seeds} for v, (succ, corr) in variants.items()}


def write_known_sweep(root: Path, variants: dict = KNOWN) -> Path:
    """Five variants x two seeds under ``root`` with the counts in ``variants``."""
    return write_sweep(root, known_runs(variants))
