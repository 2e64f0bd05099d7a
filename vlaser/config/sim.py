"""Simulation settings: suites of closed-loop tasks and the demonstration stage."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from vlaser.config.base import Section


class TaskSpec(Section):
    id: str  # ManiSkill env id, e.g. "PickCube-v1"; checked against the registry of known tasks
    instruction: str  # language instruction given to the policy
    max_steps: int = Field(150, gt=0)  # episode step limit for experts and policies
    robot: Literal["panda", "widowx", "google_robot"] = "panda"  # decides the action conversion (vlaser/sim/robots.py)


class SuiteSpec(Section):
    tasks: list[TaskSpec] = Field(min_length=1)
    camera: str = "base_camera"  # sensor camera the policy sees
    image_size: int = Field(64, ge=16, le=1024)  # square RGB size given to models
    render_size: int = Field(128, ge=16, le=1024)  # camera resolution in the simulator
    requires_assets: list[str] = []  # ManiSkill asset ids needed (e.g. bridge_v2_real2sim)
    requires_package: str | None = None  # python package needed (e.g. simpler_env)
    # interpreter that has requires_package, for suites run in a second Python (SimplerEnv's ManiSkill2
    # tasks: scripts/simpler-env.sh makes it); relative paths are from the workspace root
    python: str | None = None
    bimanual: bool = False


class SimSection(Section):
    suites: dict[str, SuiteSpec]
    backend: Literal["physx_cpu"] = "physx_cpu"


class DemosSection(Section):
    suite: str = "cpu-default"  # which suite to record demonstrations for
    episodes_per_task: int = Field(20, gt=0)  # successful episodes kept per task
    seed: int = Field(0, ge=0)  # first episode seed; episode i uses seed + i
    max_attempts_factor: float = Field(2.0, ge=1.0)  # give up after factor*episodes attempts
    frame_stride: int = Field(1, ge=1)  # keep every k-th frame
