"""Per-robot action conversion and asset checks (no simulator): units, rotation sense, clear errors."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from vlaser.config.sim import SuiteSpec, TaskSpec
from vlaser.errors import UserError
from vlaser.sim import checks
from vlaser.sim.robots import ROBOTS, robot_spec


def test_panda_actions_pass_through_clipped():
    a = np.array([0.5, -0.2, 1.7, 0.1, -3.0, 0.0, -1.0], np.float32)
    out = ROBOTS["panda"].to_env(a)
    assert np.allclose(out, np.clip(a, -1, 1))


def test_widowx_actions_are_metres_and_radians_in_the_pandas_rotation_sense():
    a = np.array([0.5, -0.2, 1.0, 0.1, -0.3, 1.0, -1.0], np.float32)
    out = ROBOTS["widowx"].to_env(a)
    assert np.allclose(out[:3], [0.05, -0.02, 0.1])  # 0.1 m per unit
    assert np.allclose(out[3:6], [-0.01, 0.03, -0.1])  # 0.1 rad per unit, sense flipped to match the Panda
    assert out[6] == -1.0  # gripper stays normalised
    assert np.allclose(ROBOTS["widowx"].from_env(out), a)


def test_unknown_robot_is_refused_at_the_edge_and_in_the_adapter():
    with pytest.raises(ValidationError, match="robot"):
        TaskSpec(id="PushCube-v1", instruction="push", robot="ur5")
    with pytest.raises(UserError, match="supported: google_robot, panda, widowx"):
        robot_spec("ur5")


def test_google_robot_gets_axis_angle_and_a_closing_delta():
    from scipy.spatial.transform import Rotation

    a = np.array([0.2, 0.0, -0.5, 0.3, -0.2, 0.5, -1.0], np.float32)
    out = ROBOTS["google_robot"].to_env(a)
    assert np.allclose(out[:3], [0.02, 0.0, -0.05])
    expected = Rotation.from_euler("XYZ", -0.1 * a[3:6].astype(np.float64)).as_rotvec()
    assert np.allclose(out[3:6], expected, atol=1e-6)  # the same rotation, as axis-angle, Panda's sense
    assert out[6] == 1.0  # platform -1 (close) is +1 closedness delta for this gripper
    assert np.allclose(ROBOTS["google_robot"].from_env(out), a, atol=1e-6)


def test_asset_dir_follows_maniskill(monkeypatch, tmp_path):
    monkeypatch.setenv("MS_ASSET_DIR", str(tmp_path))
    assert checks.asset_dir() == tmp_path / "data"  # ManiSkill 3 keeps its assets in MS_ASSET_DIR/data


def test_incomplete_asset_names_the_missing_file(monkeypatch, tmp_path):
    monkeypatch.setenv("MS_ASSET_DIR", str(tmp_path))
    bridge = tmp_path / "data" / "tasks" / "bridge_v2_real2sim_dataset"
    (bridge / "custom").mkdir(parents=True)
    (bridge / "custom" / "info_bridge_custom_v0.json").write_text("{}")  # a hand copy that stopped half-way
    robot = tmp_path / "data" / "robots" / "widowx"
    robot.mkdir(parents=True)
    for name in ("wx250s.urdf", "wx250s.srdf"):
        (robot / name).write_text("")
    suite = SuiteSpec(camera="3rd_view_camera", requires_assets=["bridge_v2_real2sim"],
                      tasks=[TaskSpec(id="PutCarrotOnPlateInScene-v1", instruction="put carrot on plate",
                                      robot="widowx")])
    with pytest.raises(UserError) as err:
        checks.check_suite("simpler-widowx", suite)
    msg = str(err.value)
    assert "bridge_v2_real2sim" in msg and "info_bridge_custom_baked_tex_v0.json" in msg and "more" in msg
    assert "widowx250s" not in msg.split("Install with")[0]  # the robot is complete
    assert "download_asset bridge_v2_real2sim -y" in msg
