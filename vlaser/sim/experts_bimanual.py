"""Scripted two-arm experts (TwoRobotPickCube, TwoRobotStackCube) in ``pd_ee_delta_pose``.

Both arms are Pandas facing each other across the table (left base at y = -0.75, right at y = +0.75),
so each can only reach its own half. The experts hand objects over by placing them on the table near
the middle line (y = 0) with one arm and picking them up with the other. Actions are the two arms'
7-vectors concatenated (left first): A = 14. Each step names its phase, e.g. "left grasp".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from vlaser.sim.experts import (
    CLOSED,
    HALF,
    OPEN,
    PhaseExpert,
    Target,
    arm_action,
    arm_state,
    grasp_yaw,
    near,
    pose_of,
    yaw_of_R,
)

CARRY_Z = 0.12  # TCP height while carrying an object across the table
HANDOVER_Y = 0.0  # the middle line where one arm sets an object down for the other


@dataclass
class BiPhase:
    name: str
    arm: int  # 0 left, 1 right: the arm this phase moves; the other holds its home pose
    target: Callable[[dict], Target]
    done: Callable[[dict, int], bool]


class TwoArmExpert(PhaseExpert):
    """Runs BiPhases in order; the idle arm holds its start pose with the gripper open."""

    def __init__(self, u) -> None:
        self.agents = list(u.agent.agents)
        self.home = [arm_state(a) for a in self.agents]
        super().__init__(u)

    def build(self) -> list[BiPhase]:
        raise NotImplementedError

    def objects(self) -> dict:
        raise NotImplementedError

    def observe(self) -> dict:
        s = {"arms": [arm_state(a) for a in self.agents]}
        s.update(self.objects())
        return s

    def act(self) -> np.ndarray:
        s = self.observe()
        ph = self.advance(s)
        out = []
        for i, arm in enumerate(s["arms"]):
            if i == ph.arm:
                target = ph.target(s)
            else:
                h = self.home[i]
                target = Target(h["tcp"], yaw_of_R(h["tcp_R"]), OPEN)
            out.append(arm_action(arm, target, self.max_step))
        return np.concatenate(out)

    def pick_place(self, arm: int, obj: str, dest: Callable[[dict], np.ndarray], label: str,
                   hold: bool = False) -> list[BiPhase]:
        """Phases for ``arm`` to pick cube ``obj`` and set it down with its centre at ``dest(state)``."""
        side = ("left", "right")[arm]
        memo: dict[str, float] = {}

        def yaw(s):
            if "v" not in memo:
                memo["v"] = grasp_yaw(s[obj + "_yaw"], yaw_of_R(s["arms"][arm]["tcp_R"]))
            return memo["v"]

        def tcp(s):
            return s["arms"][arm]["tcp"]

        def above(s):
            return Target(s[obj] + [0, 0, 0.08], yaw(s), OPEN)

        def down(s):
            return Target(s[obj], yaw(s), OPEN)

        def grasp(s):
            return Target(s[obj], yaw(s), CLOSED)

        def lift(s):
            return Target(np.array([*tcp(s)[:2], CARRY_Z]), yaw(s), CLOSED)

        def carry(s):
            return Target(np.array([*dest(s)[:2], CARRY_Z]), yaw(s), CLOSED)

        def lower(s):
            return Target(dest(s) + [0, 0, 0.004], yaw(s), CLOSED)

        def release(s):
            return Target(tcp(s), yaw(s), OPEN)

        def retreat(s):
            return Target(np.array([*tcp(s)[:2], CARRY_Z]), yaw(s), OPEN)

        a = arm
        phases = [
            BiPhase(f"{side} reach {label}", a, above, lambda s, n: near(s["arms"][a], above(s).pos, 0.015) or n > 40),
            BiPhase(f"{side} descend", a, down, lambda s, n: near(s["arms"][a], down(s).pos, 0.006) or n > 25),
            BiPhase(f"{side} grasp", a, grasp, lambda s, n: (s[obj + "_grasped"][a] and n >= 3) or n > 10),
            BiPhase(f"{side} lift", a, lift, lambda s, n: tcp(s)[2] > CARRY_Z - 0.02 or n > 20),
            BiPhase(f"{side} move", a, carry, lambda s, n: near(s["arms"][a], carry(s).pos, 0.01) or n > 40),
            BiPhase(f"{side} place", a, lower, lambda s, n: near(s["arms"][a], lower(s).pos, 0.006) or n > 20),
        ]
        if not hold:
            phases += [
                BiPhase(f"{side} release", a, release, lambda s, n: s["arms"][a]["finger"] > 0.06 or n > 8),
                BiPhase(f"{side} retreat", a, retreat, lambda s, n: tcp(s)[2] > CARRY_Z - 0.03 or n > 15),
            ]
        return phases


class TwoRobotPickCubeExpert(TwoArmExpert):
    """Left arm sets the cube down on the middle line; right arm picks it and holds it at the goal."""

    def objects(self) -> dict:
        p, yaw = pose_of(self.u.cube)
        return {"cube": p, "cube_yaw": yaw, "goal": pose_of(self.u.goal_site)[0],
                "cube_grasped": [bool(a.is_grasping(self.u.cube)[0]) for a in self.agents]}

    def build(self) -> list[BiPhase]:
        def handover(s):
            return np.array([s["cube"][0], HANDOVER_Y, HALF])

        phases = self.pick_place(0, "cube", handover, "cube")
        phases += self.pick_place(1, "cube", lambda s: s["goal"], "cube", hold=True)
        # the last phase: hold the cube at the goal (success needs the right arm static)
        return phases


class TwoRobotStackCubeExpert(TwoArmExpert):
    """Right arm brings the green cube to the middle; left arm puts it in the goal, then stacks blue on it."""

    def objects(self) -> dict:
        a, ya = pose_of(self.u.cubeA)
        b, yb = pose_of(self.u.cubeB)
        return {"a": a, "a_yaw": ya, "b": b, "b_yaw": yb, "goal": pose_of(self.u.goal_region)[0],
                "a_grasped": [bool(x.is_grasping(self.u.cubeA)[0]) for x in self.agents],
                "b_grasped": [bool(x.is_grasping(self.u.cubeB)[0]) for x in self.agents]}

    def build(self) -> list[BiPhase]:
        def handover(s):
            return np.array([s["b"][0], HANDOVER_Y + 0.02, HALF])

        def in_goal(s):
            return np.array([s["goal"][0], s["goal"][1], HALF])

        def on_b(s):
            return s["b"] + [0, 0, 2 * HALF]

        return (self.pick_place(1, "b", handover, "green cube")
                + self.pick_place(0, "b", in_goal, "green cube")
                + self.pick_place(0, "a", on_b, "blue cube"))
