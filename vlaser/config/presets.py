"""Named presets: overlays applied on top of ``params.yaml``.

``params.yaml`` holds the full default settings (the ``tiny`` preset: CPU, minutes). A preset is a
partial tree of the same schema; its values win over the file's. Derived values are computed in
Python, never in YAML. ``get_preset`` suggests the closest name on a typo.
"""

from __future__ import annotations

import difflib
from typing import Any

from vlaser.errors import UserError

# The paper's settings (Vlaser: stage 1 5000 steps, global batch 128, lr 2e-5 cosine; stage 2 10 epochs
# at global batch 1024, lr 5e-5, P = H = 4, 10 denoising steps), on an InternVL3-*-hf folder on disk.
_PAPER_TRAIN = {
    "pretrain": {
        "steps": 5000, "micro_batch": 4, "global_batch": 128, "lr": 2.0e-5, "warmup_steps": 150,
        "checkpoint_every": 500, "engine": {"kind": "deepspeed", "zero_stage": 2, "precision": "bf16"},
    },
    "finetune": {
        # 10 epochs over the demonstrations: steps = 10 x demo frames / 1024 (``epochs`` replaces ``steps``).
        "epochs": 10.0, "steps": 1000, "micro_batch": 32, "global_batch": 1024, "lr": 5.0e-5, "expert_lr": 5.0e-5,
        "warmup_steps": 50, "checkpoint_every": 200,
        "engine": {"kind": "deepspeed", "zero_stage": 2, "precision": "bf16"},
    },
}


def _internvl3(size: str, path: str) -> dict[str, Any]:
    return {
        "model": {
            "source": "local", "path": path, "dtype": "bfloat16", "dynamic_tiling": True, "max_tiles": 6,
            "vision": {"image_size": 448, "patch_size": 14},
            "expert_hidden_size": 1024 if size == "2b" else 2048,
            "expert_intermediate_size": 4096 if size == "2b" else 8192,
            "chunk_size": 4, "exec_horizon": 4, "denoise_steps": 10,
        },
        **_PAPER_TRAIN,
    }


# The toy-scale study (issue 14; docs/study.md): the six default variants x 3 training seeds on two tasks where
# the `base` variant is neither at floor nor at ceiling. Every number here comes from the calibration runs of
# benchmarks/calibrate_study.py recorded in benchmarks/calibration*.jsonl and tabulated in docs/study.md:
# PushCube + PullCube (PickCube/StackCube floor at CPU budgets), 20 demos per task, stage 2 600 steps at micro
# batch 16 (run E: base 6/20 on both tasks, final loss 0.21; 300 steps left PullCube at 0/20), episodes capped at
# 60 steps (the experts need 12-16; failures, which run to the cap, dominate the eval's cost), 20 closed-loop
# episodes per task on seeds 1000-1019. Stage 1 at 150 steps and 40 held-out items per reasoning benchmark keep
# the 18 (variant, seed) chains inside ~90 min on 2 cores with two chains at once (sweep.concurrency 2).
_STUDY_SUITE = "study"
_STUDY_MAX_STEPS = 60
STUDY: dict[str, Any] = {
    "sweep": {"variants": ["base", "ood", "qa", "spatial", "grounding", "all"], "seeds": [0, 1, 2],
              "concurrency": 2},
    "sim": {"suites": {_STUDY_SUITE: {
        "camera": "base_camera", "image_size": 64, "render_size": 128,
        "tasks": [
            {"id": "PushCube-v1", "instruction": "push the cube to the goal region", "max_steps": _STUDY_MAX_STEPS},
            {"id": "PullCube-v1", "instruction": "pull the cube to the goal region", "max_steps": _STUDY_MAX_STEPS},
        ],
    }}},
    "demos": {"suite": _STUDY_SUITE, "episodes_per_task": 20},
    "indomain": {"suite": _STUDY_SUITE},
    "pretrain": {"steps": 150, "micro_batch": 16, "global_batch": 16, "checkpoint_every": 150},
    "finetune": {"steps": 600, "micro_batch": 16, "global_batch": 16, "checkpoint_every": 300},
    "eval_reasoning": {"max_items": 40},
    "eval_closed_loop": {"suite": _STUDY_SUITE, "episodes": 20, "seed": 1000},
}

PRESETS: dict[str, dict[str, Any]] = {
    # params.yaml itself is the tiny preset
    "tiny": {},
    "internvl3-2b": _internvl3("2b", "checkpoints/InternVL3-2B-hf"),
    "internvl3-8b": _internvl3("8b", "checkpoints/InternVL3-8B-hf"),
    "study": STUDY,
}


def get_preset(name: str) -> dict[str, Any]:
    if name in PRESETS:
        return PRESETS[name]
    close = difflib.get_close_matches(name, PRESETS, n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    raise UserError(f"unknown preset '{name}'{hint} Known presets: {', '.join(PRESETS)}")


def deep_merge(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """A new dict: ``overlay`` wins; nested dicts merge; lists and scalars are replaced."""
    out = dict(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out
