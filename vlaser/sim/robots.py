"""Per-robot conversion between the platform's conventions and each ManiSkill3 robot's controller.

The platform has one action convention for every arm (docs/sim.md): 7 numbers in [-1, 1], end-effector
translation (x 0.1 m) and XYZ-Euler rotation (x 0.1 rad) in the arm's base frame, then the gripper
(1 open, -1 closed). Each robot's ManiSkill controller wants something slightly different:

* Panda (``pd_ee_delta_pose``) normalises its actions itself with exactly those limits, so the platform
  action passes through unchanged. Measured on ManiSkill 3.0.1: a positive rotation action turns the
  TCP by the *negative* angle about that base axis. The platform keeps this as its convention (every
  demonstration and trained policy is in Panda actions).
* WidowX 250S in the SimplerEnv (Bridge) digital twins has a single controller,
  ``arm_pd_ee_target_delta_pose_align2_gripper_pd_joint_pos``, with ``normalize_action=False``: it takes
  metres and radians (rotation clipped by ManiSkill at +-pi/2) and adds them to its previous *target*
  pose. Measured: a positive rotation turns by the positive angle, so the conversion negates rotations
  to give the Panda's sense. The gripper dimension stays normalised (-1 closed, 1 open).
* Google Robot (SimplerEnv, ManiSkill2, run by ``vlaser.sim.remote_env``) takes metres and an
  *axis-angle* rotation (``arm_pd_ee_delta_pose_align_interpolate_by_planner``), and its gripper is a
  *delta* of closedness, +1 closing (``gripper_pd_joint_target_delta_pos_interpolate_by_planner``). The
  platform's Euler rotation becomes the same rotation as an axis-angle vector (negated: measured, it turns
  the positive way like the WidowX); the gripper is negated, so -1 keeps closing and 1 keeps opening (a
  platform value between is a partial step, not a position).

``digital_twin`` robots live in SimplerEnv scenes: ManiSkill only supports ``rgb+segmentation`` there
(the real background photo is green-screened in through the segmentation), and the camera keeps its
calibrated size and intrinsics (changing width/height would keep the intrinsic matrix and crop the view),
so the platform resizes the whole frame to ``image_size`` instead, as SimplerEnv's policies do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from vlaser.errors import UserError

TRANSLATION_SCALE_M = 0.1  # metres per unit of platform action (Panda's pd_ee_delta_pose limit)
ROTATION_SCALE_RAD = 0.1  # radians per unit of platform action


@dataclass(frozen=True)
class RobotSpec:
    uid: str  # TaskSpec.robot
    control_mode: str  # the ManiSkill controller the platform drives
    normalized: bool  # the controller takes [-1, 1] (True) or metres / radians (False)
    ee_link: str | None  # link whose pose is the proprio end-effector pose; None: the agent's ``tcp``
    digital_twin: bool = False  # SimplerEnv scene: rgb+segmentation only, camera at its calibrated size
    rotation_sign: float = 1.0  # -1: the controller turns the other way round than the Panda's
    rotation: Literal["euler_xyz", "axis_angle"] = "euler_xyz"  # what the controller's rotation dims mean
    gripper_sign: float = 1.0  # -1: the controller closes at +1
    remote: bool = False  # runs in a second interpreter (vlaser.sim.remote_env), not in ManiSkill 3
    # the two proprio finger values are the robot's own joints: Panda/WidowX prismatic (m, open is larger),
    # Google Robot revolute (rad, 0 open, ~0.86 closed)
    fingers_grow_when_closing: bool = False

    def to_env(self, action: np.ndarray) -> np.ndarray:
        """Platform action (7,) -> this robot's controller action (7,), float32."""
        out = np.clip(np.asarray(action, dtype=np.float32), -1.0, 1.0)  # a new array
        out[3:6] *= self.rotation_sign
        out[6] *= self.gripper_sign
        if not self.normalized:
            out[0:3] *= TRANSLATION_SCALE_M
            out[3:6] *= ROTATION_SCALE_RAD
        if self.rotation == "axis_angle":
            out[3:6] = euler_xyz_to_axis_angle(out[3:6])
        return out

    def from_env(self, env_action: np.ndarray) -> np.ndarray:
        """Inverse of ``to_env`` (for reading actions recorded in the robot's own units)."""
        a = np.asarray(env_action, dtype=np.float32).copy()
        if self.rotation == "axis_angle":
            a[3:6] = axis_angle_to_euler_xyz(a[3:6])
        a[6] *= self.gripper_sign
        if not self.normalized:
            a[0:3] /= TRANSLATION_SCALE_M
            a[3:6] /= ROTATION_SCALE_RAD
        a[3:6] *= self.rotation_sign
        return a


ROBOTS: dict[str, RobotSpec] = {
    "panda": RobotSpec("panda", "pd_ee_delta_pose", normalized=True, ee_link=None),
    "widowx": RobotSpec("widowx", "arm_pd_ee_target_delta_pose_align2_gripper_pd_joint_pos", normalized=False,
                        ee_link="ee_gripper_link", digital_twin=True, rotation_sign=-1.0),
    "google_robot": RobotSpec("google_robot", "arm_pd_ee_delta_pose_align_interpolate_by_planner_gripper_pd_joint_"
                              "target_delta_pos_interpolate_by_planner", normalized=False, ee_link=None,
                              digital_twin=True, rotation="axis_angle", rotation_sign=-1.0, gripper_sign=-1.0,
                              remote=True, fingers_grow_when_closing=True),
}


def euler_xyz_to_axis_angle(euler: np.ndarray) -> np.ndarray:
    """The rotation of ManiSkill's ``euler_angles_to_matrix(e, "XYZ")`` (intrinsic X, Y, Z) as an axis-angle vector."""
    from scipy.spatial.transform import Rotation

    return Rotation.from_euler("XYZ", np.asarray(euler, dtype=np.float64)).as_rotvec().astype(np.float32)


def axis_angle_to_euler_xyz(rotvec: np.ndarray) -> np.ndarray:
    from scipy.spatial.transform import Rotation

    return Rotation.from_rotvec(np.asarray(rotvec, dtype=np.float64)).as_euler("XYZ").astype(np.float32)


def robot_spec(uid: str) -> RobotSpec:
    """The RobotSpec of ``TaskSpec.robot``, or UserError listing the supported robots."""
    if uid not in ROBOTS:
        raise UserError(f"robot {uid!r} has no action/observation adapter in vlaser.sim.robots "
                        f"(supported: {', '.join(sorted(ROBOTS))})")
    return ROBOTS[uid]


def ee_pose(agent, spec: RobotSpec) -> np.ndarray:
    """End-effector pose [7] (position xyz, quaternion wxyz; world frame) of one ManiSkill agent."""
    link = agent.tcp if spec.ee_link is None else agent.robot.links_map[spec.ee_link]
    return link.pose.raw_pose[0].numpy()
