"""The two-arm suite: scripted expert through the harness, 18-d proprio and 14-d actions."""

from __future__ import annotations

import numpy as np
import pytest

from vlaser.sim.envs import SimEnv
from vlaser.sim.harness import evaluate
from vlaser.sim.policies import ExpertPolicy

pytestmark = pytest.mark.sim


def test_bimanual_expert_and_dims(sim_params, tmp_path):
    suite = sim_params.sim.suites["bimanual"]
    report = evaluate(ExpertPolicy(), "bimanual", suite, 1, 0, tmp_path / "bi", videos_per_task=0)
    for task_id, r in report["tasks"].items():
        assert r["successes"] >= 1, f"{task_id}: {r['successes']}/{r['n']}"
    sim = SimEnv("bimanual", suite, suite.tasks[0], render=False)
    try:
        obs = sim.reset(0)
        assert obs.proprio.shape == (18,) and sim.action_dim == 14
        res = sim.step(np.zeros(14, np.float32))
        assert res.obs.proprio.dtype == np.float32
    finally:
        sim.close()
