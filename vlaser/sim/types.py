"""The simulator's public data types: what a policy sees, what it returns, and a recorded episode.

Conventions (docs/sim.md has the per-robot details):

* ``Observation.rgb`` is uint8 ``[S, S, 3]``, S = ``SuiteSpec.image_size``, area-downsampled from the
  camera's ``render_size``.
* ``Observation.proprio`` is float32 ``[D]``: per arm, TCP position (3, world frame, metres), TCP
  quaternion (4, wxyz) and the two gripper finger joints (2) -> D = 9 per arm; two arms concatenate
  (D = 18, left/first agent first).
* Actions are float32 ``[A]`` in ManiSkill's normalised ``pd_ee_delta_pose`` units per arm: 3 position
  deltas (x 0.1 m), 3 rotation deltas (x 0.1 rad, XYZ Euler), gripper (1 open, -1 closed) -> A = 7 per
  arm, two arms concatenate (A = 14).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from vlaser.config.sim import TaskSpec


@dataclass(frozen=True)
class Observation:
    rgb: np.ndarray  # uint8 [S, S, 3]
    proprio: np.ndarray  # float32 [D]
    instruction: str
    task_id: str


@runtime_checkable
class Policy(Protocol):
    """Anything the harness can run: a scripted expert, a random policy, a VLA agent."""

    def reset(self, task: TaskSpec) -> None: ...

    def act(self, obs: Observation) -> np.ndarray:  # float32 [P, A]
        ...


@dataclass
class Episode:
    task_id: str
    seed: int
    instruction: str
    rgb: np.ndarray  # uint8 [T, S, S, 3]
    proprio: np.ndarray  # float32 [T, D]
    actions: np.ndarray  # float32 [T, A]: actions[t] was taken after seeing rgb[t], proprio[t]
    success: bool
    phases: list[str] = field(default_factory=list)  # expert phase per step ("" when unknown)

    @property
    def length(self) -> int:
        return int(self.actions.shape[0])
