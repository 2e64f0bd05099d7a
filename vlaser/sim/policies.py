"""Built-in policies: the scripted ``expert`` (privileged state), ``random`` and ``constant``.

All follow the Policy protocol (``vlaser.sim.types``). The expert also needs the simulator itself:
the harness calls ``bind(sim_env)`` on any policy that has it, once per task, before the episodes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vlaser.config.sim import TaskSpec
from vlaser.errors import UserError
from vlaser.sim.types import Observation


class ExpertPolicy:
    """Scripted phase-machine expert; one action per call (P = 1), re-planned every step."""

    name = "expert"
    needs_images = False  # acts from privileged state

    def __init__(self) -> None:
        self.sim = None
        self.expert = None

    def check_tasks(self, task_ids: list[str]) -> None:
        """UserError before any environment is made if a task has no scripted expert."""
        from vlaser.sim.experts import expert_for

        for task_id in task_ids:
            expert_for(task_id)

    def bind(self, sim) -> None:
        from vlaser.sim.experts import expert_for

        self.sim = sim
        self.factory = expert_for(sim.task.id)

    def reset(self, task: TaskSpec) -> None:
        if self.sim is None:
            raise RuntimeError("ExpertPolicy needs bind(sim_env) before reset (the harness does this)")
        self.expert = self.factory(self.sim.u)

    def act(self, obs: Observation) -> np.ndarray:
        return self.expert.act()[None, :]

    @property
    def phase(self) -> str:
        return self.expert.phase if self.expert is not None else ""

    @property
    def phase_names(self) -> list[str]:
        return self.expert.phase_names if self.expert is not None else []


class RandomPolicy:
    """Uniform actions in [-1, 1]^A (the normalised action box), from one seeded generator."""

    name = "random"
    needs_images = False

    def __init__(self, action_dim: int = 7, seed: int = 0, chunk: int = 1) -> None:
        self.rng = np.random.default_rng(seed)
        self.action_dim, self.chunk = action_dim, chunk

    def bind(self, sim) -> None:
        self.action_dim = sim.action_dim

    def reset(self, task: TaskSpec) -> None:
        pass

    def act(self, obs: Observation) -> np.ndarray:
        return self.rng.uniform(-1.0, 1.0, size=(self.chunk, self.action_dim)).astype(np.float32)


class ConstantPolicy:
    """The same action chunk every call (benchmarks: measures the harness's own overhead)."""

    name = "constant"
    needs_images = True  # benchmarks measure the full observation path

    def __init__(self, action: np.ndarray, chunk: int = 1) -> None:
        self.chunk_actions = np.tile(np.asarray(action, dtype=np.float32)[None, :], (chunk, 1))

    def reset(self, task: TaskSpec) -> None:
        pass

    def act(self, obs: Observation) -> np.ndarray:
        return self.chunk_actions


def make_policy(spec: str, seed: int = 0):
    """``expert``, ``random`` or the path of a VLA checkpoint folder -> (policy, exec_horizon or None)."""
    if spec == "expert":
        return ExpertPolicy(), None
    if spec == "random":
        return RandomPolicy(seed=seed), None
    path = Path(spec)
    if not path.exists():
        raise UserError(f"--policy {spec!r}: expected 'expert', 'random' or an existing VLA checkpoint folder")
    try:
        from vlaser.model.agent import VLAAgent
    except ImportError as err:
        raise UserError(f"VLA checkpoints not supported yet (vlaser.model.agent is missing: {err})") from None
    if not hasattr(VLAAgent, "from_checkpoint"):
        raise UserError("VLA checkpoints not supported yet (VLAAgent.from_checkpoint is missing)")
    agent = VLAAgent.from_checkpoint(path, seed=seed)
    if not hasattr(agent, "name"):
        agent.name = str(path)  # closed_loop.json's "policy": the checkpoint it came from
    return agent, getattr(getattr(agent, "cfg", None), "exec_horizon", None)
