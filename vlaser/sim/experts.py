"""Scripted experts for the single-arm Panda tasks, acting in ``pd_ee_delta_pose`` from privileged state.

Each expert is a phase machine: a phase names a TCP target (position, yaw, gripper) computed from the
scene's true poses and a condition that ends it. The action is a clipped proportional step toward the
target in the controller's normalised units, so demonstrations live in the same action space as
policies. Pure functions of the simulator state: the same seed gives the same actions.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from vlaser.sim.geometry import matrix_to_euler_xyz, quat_to_matrix, rot_z, wrap_quarter, yaw_of

POS_SCALE = 0.1  # metres per unit of normalised position action (ManiSkill's Panda pd_ee_delta_pose)
ROT_SCALE = 0.1  # radians per unit of normalised rotation action
OPEN, CLOSED = 1.0, -1.0
DOWN = quat_to_matrix(np.array([0.0, 1.0, 0.0, 0.0]))  # TCP pointing down, fingers along world y
HALF = 0.02  # cube half size in every cpu-default task


@dataclass
class Target:
    pos: np.ndarray  # TCP position (world, metres)
    yaw: float  # TCP heading about world z (radians)
    gripper: float  # OPEN or CLOSED


@dataclass
class Phase:
    name: str
    target: Callable[[dict], Target]
    done: Callable[[dict, int], bool]  # (state, steps spent in this phase) -> finished?


def arm_state(agent) -> dict:
    """TCP position/rotation/yaw and gripper opening of one Panda agent, as numpy."""
    q = agent.tcp.pose.raw_pose[0].numpy().astype(np.float64)
    base = agent.robot.pose.raw_pose[0].numpy().astype(np.float64)
    return {"tcp": q[:3], "tcp_R": quat_to_matrix(q[3:]), "finger": float(agent.robot.get_qpos()[0, -2:].sum()),
            "base_R": quat_to_matrix(base[3:])}


def pose_of(actor) -> tuple[np.ndarray, float]:
    raw = actor.pose.raw_pose[0].numpy().astype(np.float64)
    return raw[:3], yaw_of(raw[3:])


def arm_action(state: dict, target: Target, max_step: float = 1.0) -> np.ndarray:
    """Clipped proportional step from the current TCP pose toward ``target`` (7 normalised numbers).

    Deltas are expressed in the arm's base frame (the controller's "root" frame): a rotated base (the
    two-arm tasks) rotates both the translation and the rotation error into it.
    """
    rb = state["base_R"]
    dpos = rb.T @ (target.pos - state["tcp"]) / POS_SCALE
    norm = float(np.linalg.norm(dpos))
    if norm > max_step:
        dpos *= max_step / norm
    r_target = rot_z(target.yaw) @ DOWN
    # measured on ManiSkill 3.0.1's Panda: a positive rotation action turns the TCP by the negative
    # world-frame angle, hence the minus sign (docs/sim.md)
    drot = -matrix_to_euler_xyz(rb.T @ r_target @ state["tcp_R"].T @ rb) / ROT_SCALE
    return np.concatenate([dpos, np.clip(drot, -1, 1), [target.gripper]]).astype(np.float32)


def near(state: dict, pos: np.ndarray, tol: float = 0.01) -> bool:
    return float(np.linalg.norm(state["tcp"] - pos)) < tol


def grasp_yaw(cube_yaw: float, tcp_yaw: float) -> float:
    """The gripper heading that lines the fingers up with the cube's faces with the least turn."""
    return tcp_yaw + wrap_quarter(cube_yaw - tcp_yaw)


class PhaseExpert:
    """Runs ``phases`` in order; subclasses read the scene in ``observe`` and define the phase list."""

    phases: list[Phase]
    max_step: float = 1.0

    def __init__(self, u) -> None:
        self.u = u
        self.index = 0
        self.steps_in_phase = 0
        self.phases = self.build()

    def build(self) -> list[Phase]:
        raise NotImplementedError

    def observe(self) -> dict:
        raise NotImplementedError

    @property
    def phase_names(self) -> list[str]:
        return [p.name for p in self.phases]

    @property
    def phase(self) -> str:
        return self.phases[self.index].name

    def advance(self, state: dict):
        """Move past every phase whose condition holds in ``state``; count this step; the current phase."""
        while self.index < len(self.phases) - 1 and self.phases[self.index].done(state, self.steps_in_phase):
            self.index += 1
            self.steps_in_phase = 0
        self.steps_in_phase += 1
        return self.phases[self.index]

    def act(self) -> np.ndarray:
        """One action for the current state; advances the phase first when its condition holds."""
        state = self.observe()
        return arm_action(state, self.advance(state).target(state), self.max_step)


def _above(p: np.ndarray, dz: float) -> np.ndarray:
    return p + np.array([0.0, 0.0, dz])


class PushCubeExpert(PhaseExpert):
    """Closed gripper behind the cube (-x side), lowered, then pushed along +x onto the goal."""

    sign = 1.0  # +1: push toward +x; PullCube uses -1 (pull toward -x from the far side)

    def observe(self) -> dict:
        s = arm_state(self.u.agent)
        s["cube"], _ = pose_of(self.u.obj)
        s["goal"], _ = pose_of(self.u.goal_region)
        s["yaw0"] = 0.0
        return s

    def _contact(self, s: dict) -> np.ndarray:
        return s["cube"] - self.sign * np.array([HALF + 0.015, 0.0, 0.0]) + np.array([0.0, 0.0, 0.0])

    def build(self) -> list[Phase]:
        sign = self.sign

        def behind_high(s):
            return Target(_above(self._contact(s), 0.06), 0.0, CLOSED)

        def behind_low(s):
            return Target(_above(self._contact(s), -0.005), 0.0, CLOSED)

        def push(s):
            end = s["goal"].copy()
            end[0] -= sign * (HALF + 0.01)
            end[1] = s["cube"][1]
            end[2] = s["cube"][2] - 0.005
            return Target(end, 0.0, CLOSED)

        return [
            Phase("reach", behind_high, lambda s, n: near(s, behind_high(s).pos, 0.015)),
            Phase("lower", behind_low, lambda s, n: near(s, behind_low(s).pos, 0.01)),
            Phase("push" if sign > 0 else "pull", push, lambda s, n: False),
        ]


class PullCubeExpert(PushCubeExpert):
    sign = -1.0


class PickCubeExpert(PhaseExpert):
    """Reach above the cube, descend, grasp, carry the cube's centre to the goal and hold still."""

    def observe(self) -> dict:
        s = arm_state(self.u.agent)
        s["cube"], s["cube_yaw"] = pose_of(self.u.cube)
        s["goal"], _ = pose_of(self.u.goal_site)
        s["grasped"] = bool(self.u.agent.is_grasping(self.u.cube)[0])
        return s

    def build(self) -> list[Phase]:
        yaw = {}

        def align(s):  # the heading is fixed once, at the first look, so the gripper does not chase it
            if "v" not in yaw:
                yaw["v"] = grasp_yaw(s["cube_yaw"], yaw_of_R(s["tcp_R"]))
            return yaw["v"]

        def above(s):
            return Target(_above(s["cube"], 0.08), align(s), OPEN)

        def down(s):
            return Target(s["cube"], align(s), OPEN)

        def grasp(s):
            return Target(s["cube"], align(s), CLOSED)

        def carry(s):
            return Target(s["goal"], align(s), CLOSED)

        return [
            Phase("reach", above, lambda s, n: near(s, above(s).pos, 0.015)),
            Phase("descend", down, lambda s, n: near(s, down(s).pos, 0.006) or n > 25),
            Phase("grasp", grasp, lambda s, n: (s["grasped"] and n >= 3) or n > 10),
            Phase("move", carry, lambda s, n: False),
        ]


class StackCubeExpert(PhaseExpert):
    """Pick cube A, carry it above cube B, lower it onto B, open, and back away upwards."""

    def observe(self) -> dict:
        s = arm_state(self.u.agent)
        s["a"], s["a_yaw"] = pose_of(self.u.cubeA)
        s["b"], s["b_yaw"] = pose_of(self.u.cubeB)
        s["grasped"] = bool(self.u.agent.is_grasping(self.u.cubeA)[0])
        return s

    def build(self) -> list[Phase]:
        memo = {}

        def yaw_a(s):
            if "a" not in memo:
                memo["a"] = grasp_yaw(s["a_yaw"], yaw_of_R(s["tcp_R"]))
            return memo["a"]

        def yaw_b(s):
            if "b" not in memo:
                memo["b"] = grasp_yaw(s["b_yaw"], yaw_a(s))
            return memo["b"]

        def place_pos(s):
            return s["b"] + np.array([0.0, 0.0, 2 * HALF + 0.004])

        def above_a(s):
            return Target(_above(s["a"], 0.08), yaw_a(s), OPEN)

        def down_a(s):
            return Target(s["a"], yaw_a(s), OPEN)

        def grasp(s):
            return Target(s["a"], yaw_a(s), CLOSED)

        def lift(s):
            return Target(_above(place_pos(s), 0.06) * [0, 0, 1] + s["tcp"] * [1, 1, 0], yaw_a(s), CLOSED)

        def over_b(s):
            return Target(_above(place_pos(s), 0.04), yaw_b(s), CLOSED)

        def lower(s):
            return Target(place_pos(s), yaw_b(s), CLOSED)

        def release(s):
            return Target(s["tcp"], yaw_b(s), OPEN)

        def retreat(s):
            return Target(_above(place_pos(s), 0.08), yaw_b(s), OPEN)

        return [
            Phase("reach", above_a, lambda s, n: near(s, above_a(s).pos, 0.015)),
            Phase("descend", down_a, lambda s, n: near(s, down_a(s).pos, 0.006) or n > 25),
            Phase("grasp", grasp, lambda s, n: (s["grasped"] and n >= 3) or n > 10),
            Phase("lift", lift, lambda s, n: s["tcp"][2] > lift(s).pos[2] - 0.01 or n > 20),
            Phase("move", over_b, lambda s, n: near(s, over_b(s).pos, 0.008) or n > 40),
            Phase("place", lower, lambda s, n: near(s, lower(s).pos, 0.005) or n > 20),
            Phase("release", release, lambda s, n: s["finger"] > 0.06 or n > 8),
            Phase("retreat", retreat, lambda s, n: False),
        ]


def yaw_of_R(r: np.ndarray) -> float:
    """Heading of the TCP relative to the DOWN orientation (0 when fingers are along world y)."""
    rel = r @ DOWN.T
    return math.atan2(rel[1, 0], rel[0, 0])


EXPERTS: dict[str, type] = {
    "PushCube-v1": PushCubeExpert,
    "PullCube-v1": PullCubeExpert,
    "PickCube-v1": PickCubeExpert,
    "StackCube-v1": StackCubeExpert,
}


def expert_for(task_id: str):
    """The scripted expert class of a task, or UserError naming the tasks that have one."""
    from vlaser.errors import UserError
    from vlaser.sim.experts_bimanual import TwoRobotPickCubeExpert, TwoRobotStackCubeExpert

    EXPERTS.setdefault("TwoRobotPickCube-v1", TwoRobotPickCubeExpert)
    EXPERTS.setdefault("TwoRobotStackCube-v1", TwoRobotStackCubeExpert)
    if task_id not in EXPERTS:
        raise UserError(f"no scripted expert for task {task_id!r} (experts exist for: {', '.join(sorted(EXPERTS))})")
    return EXPERTS[task_id]
