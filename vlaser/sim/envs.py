"""One ManiSkill3 environment for one suite task, with the platform's observation and action conventions.

``SimEnv`` wraps ``env.unwrapped`` (no gym wrappers: the harness owns the step limit) and renders only
the suite's camera. ``reset(seed)`` and ``step(action)`` return ``Observation``s; ``rgb`` is the camera
image area-downsampled to ``suite.image_size``. The first construction in a process checks rendering,
assets and packages (``vlaser.sim.checks``) so failures are ``UserError``s.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass

import numpy as np

from vlaser.config.sim import SuiteSpec, TaskSpec
from vlaser.errors import UserError
from vlaser.sim.checks import check_registered, check_rendering, check_suite
from vlaser.sim.geometry import area_resize
from vlaser.sim.robots import RobotSpec, ee_pose, robot_spec
from vlaser.sim.types import Observation


@dataclass
class StepResult:
    obs: Observation
    success: bool
    terminated: bool


class SimEnv:
    """A single-env ManiSkill3 task on physx_cpu, driven through its robot's adapter (``vlaser.sim.robots``)."""

    def __init__(self, suite_name: str, suite: SuiteSpec, task: TaskSpec, segmentation: bool = False,
                 render: bool = True) -> None:
        check_suite(suite_name, suite)
        self.robot = robot_spec(task.robot)
        if self.robot.remote:
            raise UserError(f"task {task.id} runs in a second interpreter: make it with vlaser.sim.envs.make_sim")
        check_rendering()
        check_registered(task.id)
        # a digital twin renders its camera whatever the policy needs (ManiSkill supports no other obs mode)
        render = render or self.robot.digital_twin
        self.suite, self.task, self.segmentation, self.render = suite, task, segmentation, render
        self.camera = suite.camera
        self.env = _make(task.id, suite, segmentation, render, self.robot)
        self.u = self.env.unwrapped
        # without rendering (policies that never look, e.g. the expert) rgb is a black frame of the same shape
        self._blank = np.zeros((suite.image_size, suite.image_size, 3), np.uint8)
        if render and self.camera not in self.u._sensors:
            cams = ", ".join(self.u._sensors)
            self.close()
            raise UserError(f"task {task.id}: camera {self.camera!r} not found (cameras: {cams}); "
                            "fix `camera:` of the suite in params.yaml")
        for name in [n for n in self.u._sensors if n != self.camera]:
            del self.u._sensors[name]  # render only the camera the policy sees
        self.agents = list(getattr(self.u.agent, "agents", [self.u.agent]))
        self.last_raw: dict = {}

    # ------------------------------------------------------------------ stepping
    def reset(self, seed: int) -> Observation:
        obs, _ = self.u.reset(seed=int(seed))
        return self._observation(obs)

    def step(self, action: np.ndarray) -> StepResult:
        obs, _, terminated, _, info = self.u.step(self._to_env_action(action))
        return StepResult(self._observation(obs), bool(info["success"][0]), bool(terminated[0]))

    @property
    def action_dim(self) -> int:
        return 7 * len(self.agents)

    def _to_env_action(self, action: np.ndarray):
        a = np.asarray(action, dtype=np.float32).reshape(-1)
        if a.shape[0] != self.action_dim:
            raise ValueError(f"{self.task.id}: action has {a.shape[0]} dims, expected {self.action_dim}")
        if len(self.agents) == 1:
            return self.robot.to_env(a)
        return {uid: self.robot.to_env(a[7 * i: 7 * (i + 1)]) for i, uid in enumerate(self.u.agent.agents_dict)}

    # ------------------------------------------------------------------ observation
    def _observation(self, raw: dict) -> Observation:
        self.last_raw = raw
        if self.render:
            rgb = area_resize(raw["sensor_data"][self.camera]["rgb"][0].numpy(), self.suite.image_size)
        else:
            rgb = self._blank
        return Observation(rgb=rgb, proprio=self.proprio(),
                           instruction=self.task.instruction, task_id=self.task.id)

    def base_pose(self) -> np.ndarray:
        """Pose [7] (xyz, wxyz quaternion; world) of the first arm's base, the frame actions are given in."""
        return self.agents[0].robot.pose.raw_pose[0].numpy()

    def proprio(self) -> np.ndarray:
        parts = []
        for agent in self.agents:
            parts.append(ee_pose(agent, self.robot))
            parts.append(agent.robot.get_qpos()[0, -2:].numpy())
        return np.concatenate(parts).astype(np.float32)

    def raw_rgb(self) -> np.ndarray:
        """The last camera image at render_size (uint8 [R, R, 3]; a digital twin's calibrated size, e.g. 480x640)."""
        return self.last_raw["sensor_data"][self.camera]["rgb"][0].numpy()

    def raw_segmentation(self) -> np.ndarray:
        """The last per-scene segmentation ids at render_size (int [R, R]); needs segmentation=True."""
        return self.last_raw["sensor_data"][self.camera]["segmentation"][0, ..., 0].numpy()

    def close(self) -> None:
        self.env.close()


def make_sim(suite_name: str, suite: SuiteSpec, task: TaskSpec, segmentation: bool = False, render: bool = True):
    """The environment of one suite task: in this process (ManiSkill 3) or in the suite's second Python."""
    if robot_spec(task.robot).remote:
        from vlaser.sim.remote_env import RemoteSimEnv

        return RemoteSimEnv(suite_name, suite, task, segmentation=segmentation, render=render)
    return SimEnv(suite_name, suite, task, segmentation=segmentation, render=render)


def _make(task_id: str, suite: SuiteSpec, segmentation: bool, render: bool, robot: RobotSpec):
    import gymnasium as gym
    import mani_skill.envs  # noqa: F401  (registers tasks)

    kwargs = dict(control_mode=robot.control_mode, sim_backend="physx_cpu", render_backend="cpu",
                  reward_mode="none", num_envs=1)
    if robot.digital_twin:
        # green-screening needs the segmentation; the calibrated camera keeps its own size (docs/sim.md)
        kwargs["obs_mode"] = "rgb+segmentation"
    else:
        kwargs["obs_mode"] = ("rgb+segmentation" if segmentation else "rgb") if render else "none"
        kwargs["sensor_configs"] = dict(width=suite.render_size, height=suite.render_size)
    # ManiSkill prints device warnings to stdout; keep our stdout clean (the CLI may print JSON)
    with contextlib.redirect_stdout(io.StringIO()), _no_stdin():
        try:
            return gym.make(task_id, **kwargs)
        except RuntimeError as err:
            if "render" in str(err).lower() or "vk::" in str(err):
                raise UserError(f"Vulkan rendering failed while making {task_id} ({err}); run `bash scripts/setup.sh`"
                                ) from None
            raise


@contextlib.contextmanager
def _no_stdin():
    """ManiSkill asks on stdin before downloading; make any such prompt fail at once instead of waiting."""
    import builtins

    real_input = builtins.input

    def refuse(prompt: str = "") -> str:
        raise UserError(f"ManiSkill wanted to ask: {prompt.strip() or 'a download prompt'}; install the asset with "
                        "`python -m mani_skill.utils.download_asset <id> -y` first")

    builtins.input = refuse
    try:
        yield
    finally:
        builtins.input = real_input
