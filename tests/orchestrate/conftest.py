"""Real sweeps (DVC + Prefect + MLflow + lineage) on smoke-sized settings in temporary workspaces."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from vlaser.orchestrate.workspace import make_workspace

REPO = Path(__file__).resolve().parents[2]

# Two variants, one short task, a handful of items and steps: every stage runs for real in seconds.
SMOKE: dict = {
    "sweep": {"variants": ["base", "grounding"], "seeds": [0], "retries": 0, "stage_timeout_s": 900, "concurrency": 2,
              "retry_delay_s": [1]},
    "sim": {"suites": {"smoke": {"camera": "base_camera", "image_size": 64, "render_size": 128,
                                 "tasks": [{"id": "PushCube-v1", "instruction": "push the cube to the goal region",
                                            "max_steps": 24}]}}},
    "demos": {"suite": "smoke", "episodes_per_task": 2},
    "indomain": {"suite": "smoke", "train_seeds": [0, 3], "heldout_seeds": [500, 502], "frames_per_episode": 2},
    "ood": {"sources": {"procedural": {"kind": "procedural", "n_train": 24, "n_heldout": 8, "image_size": 64}}},
    "mixture": {"size": 24},
    "pretrain": {"steps": 3, "micro_batch": 4, "global_batch": 4, "warmup_steps": 1, "checkpoint_every": 2},
    "finetune": {"steps": 3, "micro_batch": 4, "global_batch": 4, "warmup_steps": 1, "checkpoint_every": 2},
    "eval_reasoning": {"max_items": 4, "batch_size": 4, "max_new_tokens": 8},
    "eval_closed_loop": {"suite": "smoke", "episodes": 1, "videos_per_task": 0},
    "aggregate": {"bootstrap": 100},
}


def vlaser(ws: Path, *args: str, env: dict | None = None, timeout: float = 1500) -> subprocess.CompletedProcess:
    """Run the real CLI in a workspace, as a user would."""
    full_env = {**os.environ, "VLASER_WORKSPACE": str(ws), "VLASER_QUIET": "1", **(env or {})}
    full_env.pop("PREFECT_HOME", None)  # each workspace keeps its own Prefect home under .vlaser/
    return subprocess.run([sys.executable, "-m", "vlaser", *args], cwd=ws, env=full_env, capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def sweep_state(ws: Path, sweep_id: str | None = None) -> dict:
    d = ws / ".vlaser" / "sweeps"
    path = d / f"{sweep_id}.json" if sweep_id else sorted(d.glob("*.json"))[-1]
    return json.loads(path.read_text())


def swept_workspace(dest: Path, params: dict) -> Path:
    """A workspace at ``dest`` with ``params`` in which one complete sweep has run."""
    ws = make_workspace(REPO, dest, params)
    res = vlaser(ws, "sweep")
    assert res.returncode == 0, res.stdout + res.stderr
    return ws


@pytest.fixture(scope="session")
def done_workspace(tmp_path_factory) -> Path:
    """A workspace where one complete smoke sweep has run (copy it before changing anything)."""
    return swept_workspace(tmp_path_factory.mktemp("ws") / "done", SMOKE)


@pytest.fixture
def fresh_copy(done_workspace, tmp_path) -> Path:
    """A private copy of the finished workspace (DVC cache, MLflow, lineage and all)."""
    dst = tmp_path / "ws"
    shutil.copytree(done_workspace, dst, symlinks=True)
    return dst
