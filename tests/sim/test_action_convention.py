"""One action convention on every robot: measured in the simulator, not assumed.

Each robot gets the same platform actions and must move its end effector the same way (in its base
frame): +x and +z translate along those axes, +z rotation turns by the *negative* angle (the Panda's
sense, which the platform adopted; vlaser/sim/robots.py), -1 on the gripper closes it. The WidowX runs
in its SimplerEnv scene (ManiSkill 3) and needs that download; the Google Robot runs in SimplerEnv's own
ManiSkill2 in a second interpreter (scripts/simpler-env.sh); the Panda needs nothing.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from vlaser.sim.envs import make_sim

pytestmark = pytest.mark.sim

CASES = [
    pytest.param("cpu-default", "PickCube-v1", id="panda"),
    pytest.param("simpler-widowx", "PutCarrotOnPlateInScene-v1", id="widowx", marks=pytest.mark.bridge_assets),
    pytest.param("simpler-google", "google_robot_pick_coke_can", id="google", marks=pytest.mark.simpler_env),
]


def _quat_to_matrix(q: np.ndarray) -> np.ndarray:
    w, x, y, z = q / np.linalg.norm(q)
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                     [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                     [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])


def _ee_in_base(sim, proprio: np.ndarray):
    base = sim.base_pose()
    rb = _quat_to_matrix(base[3:])
    return rb.T @ (proprio[:3] - base[:3]), rb.T @ _quat_to_matrix(proprio[3:7]) @ rb, proprio[7:9]


def _after(sim, action: list[float], steps: int = 3):
    obs = sim.reset(0)
    p0, r0, g0 = _ee_in_base(sim, obs.proprio)
    for _ in range(steps):
        obs = sim.step(np.array(action, np.float32)).obs
    p1, r1, g1 = _ee_in_base(sim, obs.proprio)
    d_r = r1 @ r0.T
    yaw = np.arctan2(d_r[1, 0], d_r[0, 0])
    return obs, p1 - p0, yaw, g1 - g0


@pytest.mark.parametrize(("suite_name", "task_id"), CASES)
def test_same_action_same_motion(sim_params, suite_name, task_id):
    suite = sim_params.sim.suites[suite_name]
    task = next(t for t in suite.tasks if t.id == task_id)
    sim = make_sim(suite_name, suite, task)
    try:
        obs, dp, _, _ = _after(sim, [1, 0, 0, 0, 0, 0, 1])
        assert obs.rgb.shape == (suite.image_size, suite.image_size, 3) and obs.rgb.std() > 0
        assert obs.proprio.shape == (9,)
        assert dp[0] > 0.03 and dp[0] > 2 * max(abs(dp[1]), abs(dp[2])), dp
        _, dp, _, _ = _after(sim, [0, 0, 1, 0, 0, 0, 1])
        assert dp[2] > 0.05 and dp[2] > 2 * max(abs(dp[0]), abs(dp[1])), dp
        _, dp, yaw, _ = _after(sim, [0, 0, 0, 0, 0, 1, 1])
        assert yaw < -0.05 and np.abs(dp).max() < 0.01, (yaw, dp)
        _, _, _, dg = _after(sim, [0, 0, 0, 0, 0, 0, -1])
        closing = -dg if sim.robot.fingers_grow_when_closing else dg  # the robot's own finger joints
        assert (closing < -0.01).all(), dg
    finally:
        sim.close()


@pytest.mark.parametrize(("suite_name", "task_id", "limit"), [
    pytest.param("simpler-widowx", "StackGreenCubeOnYellowCubeBakedTexInScene-v1", 60, id="widowx",
                 marks=pytest.mark.bridge_assets),
    pytest.param("simpler-google", "google_robot_move_near", 80, id="google", marks=pytest.mark.simpler_env),
])
def test_simpler_suites_through_the_harness(sim_params, tmp_path, suite_name, task_id, limit):
    from vlaser.sim.harness import evaluate
    from vlaser.sim.policies import RandomPolicy

    out = tmp_path / "report"
    report = evaluate(RandomPolicy(seed=0), suite_name, sim_params.sim.suites[suite_name], 1, 0, out,
                      videos_per_task=1, tasks=[task_id])
    task = report["tasks"][task_id]
    assert task["n"] == 1 and task["successes"] == 0 and task["mean_steps"] == limit  # random: to the limit
    assert json.loads((out / "closed_loop.json").read_text())["suite"] == suite_name
    assert (out / "videos" / f"{task_id}_s0.mp4").stat().st_size > 10_000
