"""Stage 2 on two CPU processes (gloo, torchrun, DeepSpeed engine) against one process at the same global batch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.scale.conftest import REPO
from tests.train.fixtures import TINY_MODEL, make_demos
from vlaser.config.train import PretrainSection
from vlaser.io import read_meta
from vlaser.scale.procs import free_port
from vlaser.train import pretrain

pytestmark = pytest.mark.slow


def _run(cmd: list[str]) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for var in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(var, None)
    res = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return json.loads([ln for ln in res.stdout.splitlines() if ln.startswith("{")][-1])


def test_two_processes_match_one_process_loss_curve(tmp_path: Path) -> None:
    vlm = tmp_path / "vlm"
    pretrain(PretrainSection(steps=1, micro_batch=4, global_batch=4, warmup_steps=0), TINY_MODEL, None, vlm, seed=0,
             extra_texts=["do PushCube-v1", "do PullCube-v1"])
    demos = make_demos(tmp_path / "demos", episodes=4, steps=10)
    entry = ["-m", "tests.scale.run_finetune", str(vlm), str(demos)]
    one = _run([sys.executable, *entry, str(tmp_path / "vla1")])
    two = _run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr",
                "127.0.0.1", "--master_port", str(free_port()), *entry, str(tmp_path / "vla2")])

    assert one["summary"]["world_size"] == 1 and two["summary"]["world_size"] == 2
    l1, l2 = one["losses"], two["losses"]
    assert len(l1) == len(l2) == 6
    # same samples per step; only the flow-matching noise of the second half differs (a per-process stream)
    for a, b in zip(l1, l2, strict=True):
        assert abs(a - b) <= 0.15 * a, (l1, l2)
    assert abs(sum(l1) - sum(l2)) <= 0.05 * sum(l1), (l1, l2)
    assert read_meta(tmp_path / "vla2")["kind"] == "vla"  # written once, by process 0
    assert not (tmp_path / "vla2" / ".train_state").exists()
