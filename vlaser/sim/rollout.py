"""One closed-loop episode: observe, ask the policy for a chunk, execute H actions, repeat.

The episode ends at the task's step limit or when the environment terminates (ManiSkill terminates on
success); success is read at the last executed step (SimplerEnv's rule) and ``ever_success`` records
whether it held at any step. With ``record=True`` the frames, proprio, actions and expert phases are kept.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from vlaser.sim.envs import SimEnv


@dataclass
class Rollout:
    task_id: str
    seed: int
    steps: int = 0
    success: bool = False
    ever_success: bool = False
    wall_s: float = 0.0
    rgb: list[np.ndarray] = field(default_factory=list)  # policy-size frames, one per action
    proprio: list[np.ndarray] = field(default_factory=list)
    actions: list[np.ndarray] = field(default_factory=list)
    phases: list[str] = field(default_factory=list)
    video: list[np.ndarray] = field(default_factory=list)  # render-size frames, including the last

    def row(self) -> dict:
        return {"task_id": self.task_id, "seed": self.seed, "steps": self.steps, "success": self.success,
                "ever_success": self.ever_success, "wall_s": round(self.wall_s, 4)}


def run_episode(sim: SimEnv, policy, seed: int, exec_horizon: int | None = None, record: bool = False,
                video: bool = False) -> Rollout:
    """Run one episode of ``sim.task`` from ``seed``; ``exec_horizon`` None executes whole chunks."""
    t0 = time.perf_counter()
    out = Rollout(sim.task.id, int(seed))
    obs = sim.reset(seed)
    policy.reset(sim.task)
    limit = sim.task.max_steps
    phase_of = hasattr(policy, "phase")  # experts name their current phase
    done = False
    while not done and out.steps < limit:
        chunk = np.asarray(policy.act(obs), dtype=np.float32)
        if chunk.ndim == 1:
            chunk = chunk[None, :]
        h = chunk.shape[0] if exec_horizon is None else min(exec_horizon, chunk.shape[0])
        for action in chunk[:h]:
            if record:
                out.rgb.append(obs.rgb)
                out.proprio.append(obs.proprio)
                out.actions.append(action)
                out.phases.append(policy.phase if phase_of else "")
            if video:
                out.video.append(sim.raw_rgb())
            res = sim.step(action)
            obs = res.obs
            out.steps += 1
            out.success = res.success
            out.ever_success |= res.success
            if res.terminated or out.steps >= limit:
                done = True
                break
    if video:
        out.video.append(sim.raw_rgb())
    out.wall_s = time.perf_counter() - t0
    return out
