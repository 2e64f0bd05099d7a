"""Task objects by readable name: which environment attribute holds each, its colour and size.

The names are what questions and instructions use ("red cube", "goal region"); colours are the ones
the task's builder sets (ManiSkill source), ``None`` where the task defines none.
"""

from __future__ import annotations

from dataclasses import dataclass

CUBE = (0.04, 0.04, 0.04)


@dataclass(frozen=True)
class ObjectSpec:
    name: str  # readable name used in questions
    attr: str  # attribute of env.unwrapped holding the Actor
    color: str | None = None
    size: tuple[float, float, float] | None = None


TASK_OBJECTS: dict[str, tuple[ObjectSpec, ...]] = {
    "PushCube-v1": (ObjectSpec("blue cube", "obj", "blue", CUBE), ObjectSpec("goal region", "goal_region", "red")),
    "PullCube-v1": (ObjectSpec("blue cube", "obj", "blue", CUBE), ObjectSpec("goal region", "goal_region", "red")),
    "PickCube-v1": (ObjectSpec("red cube", "cube", "red", CUBE), ObjectSpec("goal", "goal_site", "green")),
    "StackCube-v1": (ObjectSpec("red cube", "cubeA", "red", CUBE), ObjectSpec("green cube", "cubeB", "green", CUBE)),
    "TwoRobotPickCube-v1": (ObjectSpec("red cube", "cube", "red", CUBE), ObjectSpec("goal", "goal_site", "green")),
    "TwoRobotStackCube-v1": (ObjectSpec("blue cube", "cubeA", "blue", CUBE),
                             ObjectSpec("green cube", "cubeB", "green", CUBE),
                             ObjectSpec("goal region", "goal_region", "red")),
}


def objects_of(task_id: str) -> tuple[ObjectSpec, ...]:
    from vlaser.errors import UserError

    if task_id not in TASK_OBJECTS:
        raise UserError(f"no object table for task {task_id!r} (ground truth exists for: "
                        f"{', '.join(sorted(TASK_OBJECTS))})")
    return TASK_OBJECTS[task_id]
