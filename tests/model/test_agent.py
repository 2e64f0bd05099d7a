"""VLAAgent: a VLA checkpoint acting on simulator observations (unnormalised [P, A] chunks)."""

from __future__ import annotations

import numpy as np
import torch

from tests.model.conftest import make_policy
from vlaser.model.agent import VLAAgent
from vlaser.model.checkpoint import save_vla
from vlaser.model.normalize import NormStats
from vlaser.sim.types import Observation


def test_agent_from_checkpoint_returns_chunks_in_action_units(tmp_path, cfg, tokenizer):
    rng = np.random.default_rng(0)
    actions = np.concatenate([rng.uniform(-0.3, 0.7, (500, cfg.action_dim - 1)),
                              rng.choice([-1.0, 1.0], (500, 1))], axis=1)
    stats = {"state": NormStats.from_data(rng.normal(0.2, 0.05, (500, cfg.state_dim))),
             "action": NormStats.from_data(actions, binary=[cfg.action_dim - 1])}
    save_vla(tmp_path / "vla", make_policy(cfg, tokenizer), stats, cfg, tokenizer=tokenizer)
    agent = VLAAgent.from_checkpoint(tmp_path / "vla", seed=3)
    obs = Observation(rgb=rng.integers(0, 256, (48, 48, 3), dtype=np.uint8),
                      proprio=rng.normal(0.2, 0.05, cfg.state_dim).astype(np.float32),
                      instruction="push the cube to the goal", task_id="PushCube-v1")
    agent.reset(None)
    chunk = agent.act(obs)
    assert chunk.shape == (cfg.chunk_size, cfg.action_dim) and chunk.dtype == np.float32
    low, high = stats["action"].low, stats["action"].high
    assert np.all(chunk >= low - 1e-6) and np.all(chunk <= high + 1e-6)
    assert set(np.unique(chunk[:, -1])) <= {-1.0, 1.0}  # binarised gripper
    agent.reset(None)
    assert np.array_equal(agent.act(obs), chunk)  # same seed after reset -> same chunk
    batch = agent.batch(obs)
    assert batch["pixel_values"].shape == (1, 3, cfg.vision.image_size, cfg.vision.image_size)
    assert torch.all(batch["state"].abs() <= 1)
