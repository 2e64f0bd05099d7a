"""Ground truth of one rendered frame: the contract between the simulator and the data engine.

The simulator fills a ``FrameGT`` from privileged state (segmentation, poses, camera); the data engine
turns it into question/answer records without guessing. Pixel coordinates are (u, v) = (column, row)
in the frame's own resolution; ``project`` uses the OpenCV convention (world -> camera extrinsic E,
intrinsic K): ``pc = E @ [p, 1]; (u, v) = (K @ pc)[:2] / pc[2]``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class ObjectGT:
    name: str  # task-level name used in questions, e.g. "cube", "red cube", "goal region"
    mask: np.ndarray  # bool [H, W]: visible pixels of this object in the frame
    position: np.ndarray  # float [3]: world position of the object's centre (metres)
    color: str | None = None  # a colour word when the task defines one ("red", "green", ...)
    size: np.ndarray | None = None  # float [3]: full extents (metres) when known

    @property
    def pixels(self) -> int:
        return int(self.mask.sum())


@dataclass(frozen=True)
class FrameGT:
    task_id: str
    seed: int  # episode (scene) seed: held-out splits are by this seed
    step: int
    instruction: str
    rgb: np.ndarray  # uint8 [H, W, 3]
    objects: dict[str, ObjectGT]  # visible (and hidden, with empty masks) task objects by name
    intrinsic: np.ndarray  # float [3, 3] (K, OpenCV)
    extrinsic: np.ndarray  # float [3, 4] world -> camera (OpenCV)
    tcp_position: np.ndarray  # float [3]: gripper (tool centre point) world position
    gripper_open: bool
    success: bool  # task success at this step
    phase: str | None = None  # the expert's current phase, e.g. "reach", "grasp", "lift", "place"
    phases: tuple[str, ...] = field(default=())  # the expert's ordered phases for the whole episode

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])

    def camera_coords(self, p_world: np.ndarray) -> np.ndarray:
        """World point(s) [..., 3] -> camera frame [..., 3] (x right, y down, z forward)."""
        p = np.asarray(p_world, dtype=np.float64)
        return p @ self.extrinsic[:, :3].T + self.extrinsic[:, 3]

    def project(self, p_world: np.ndarray) -> tuple[float, float, float]:
        """World point [3] -> (u, v, depth) in pixels of this frame."""
        pc = self.camera_coords(p_world)
        uvw = self.intrinsic @ pc
        return float(uvw[0] / uvw[2]), float(uvw[1] / uvw[2]), float(pc[2])
