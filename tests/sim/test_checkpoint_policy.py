"""A VLA checkpoint folder as --policy: loaded lazily through the model area, run by the harness."""

from __future__ import annotations

import numpy as np
import pytest

from vlaser.sim.harness import evaluate
from vlaser.sim.policies import make_policy

pytestmark = pytest.mark.sim


def test_vla_checkpoint_runs_in_the_harness(cpu_suite, tmp_path):
    from tests.model.conftest import CORPUS, small_cfg
    from tests.model.conftest import make_policy as make_vla
    from vlaser.model.checkpoint import save_vla
    from vlaser.model.normalize import NormStats
    from vlaser.model.tokenizer import build_tokenizer

    cfg = small_cfg()
    tok = build_tokenizer(CORPUS, cfg.text.vocab_size)
    rng = np.random.default_rng(0)
    actions = np.concatenate([rng.uniform(-0.3, 0.7, (200, cfg.action_dim - 1)),
                              rng.choice([-1.0, 1.0], (200, 1))], axis=1)
    stats = {"state": NormStats.from_data(rng.normal(0.2, 0.05, (200, cfg.state_dim))),
             "action": NormStats.from_data(actions, binary=[cfg.action_dim - 1])}
    save_vla(tmp_path / "vla", make_vla(cfg, tok), stats, cfg, tokenizer=tok)

    agent, horizon = make_policy(str(tmp_path / "vla"), seed=0)
    assert horizon == cfg.exec_horizon
    task = next(t for t in cpu_suite.tasks if t.id == "PushCube-v1").model_copy(update={"max_steps": 6})
    suite = cpu_suite.model_copy(update={"tasks": [task]})
    report = evaluate(agent, "cpu-default", suite, 1, 0, tmp_path / "cl", videos_per_task=0, exec_horizon=horizon)
    assert report["episodes"][0]["steps"] == 6
    assert report["policy"] == str(tmp_path / "vla")
