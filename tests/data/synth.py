"""Synthetic ``FrameGT`` with known geometry: a pinhole camera looking at cubes on a table.

Masks are ray-cast (slab test per cube, z-buffer across cubes), so they agree with the poses and the
camera exactly; the data engine's answers can then be checked against the poses independently.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from vlaser.sim.groundtruth import FrameGT, ObjectGT

COLORS = {"red": (200, 30, 30), "green": (30, 180, 30), "blue": (30, 30, 200), "yellow": (220, 200, 20)}
NAMES = {"red": "red cube", "green": "green block", "blue": "blue box", "yellow": "yellow brick"}


def look_at(eye: np.ndarray, target: np.ndarray) -> np.ndarray:
    """World -> camera extrinsic [3, 4] (OpenCV: x right, y down, z forward), world z up."""
    z = target - eye
    z = z / np.linalg.norm(z)
    x = np.cross(z, np.array([0.0, 0.0, 1.0]))
    x = x / np.linalg.norm(x)
    y = np.cross(z, x)
    rot = np.stack([x, y, z])
    return np.concatenate([rot, (-rot @ eye)[:, None]], axis=1)


def render_cubes(size: int, K: np.ndarray, E: np.ndarray, centres: list[np.ndarray], sides: list[float]):
    """Per-cube visible masks [H, W] by ray casting with a z-buffer."""
    rot, t = E[:, :3], E[:, 3]
    eye = -rot.T @ t
    v, u = np.mgrid[0:size, 0:size] + 0.5
    rays = np.stack([u, v, np.ones_like(u)], -1) @ np.linalg.inv(K).T @ rot  # world directions
    depth = np.full((size, size), np.inf)
    owner = np.full((size, size), -1)
    for i, (c, s) in enumerate(zip(centres, sides, strict=True)):
        lo, hi = c - s / 2, c + s / 2
        with np.errstate(divide="ignore", invalid="ignore"):
            t1, t2 = (lo - eye) / rays, (hi - eye) / rays
        tmin = np.nanmax(np.minimum(t1, t2), -1)
        tmax = np.nanmin(np.maximum(t1, t2), -1)
        hit = (tmax >= tmin) & (tmin > 0) & (tmin < depth)
        depth[hit], owner[hit] = tmin[hit], i
    return [owner == i for i in range(len(centres))]


def make_frame(seed: int, size: int = 64, n: int = 3, task_id: str = "Synth-v1", step: int = 0,
               phases: tuple[str, ...] = ("reach", "grasp", "lift", "move"), tiny: bool = False) -> FrameGT:
    """A random scene of ``n`` cubes (the last one tiny when ``tiny``), camera looking down at the table."""
    rng = np.random.default_rng(seed)
    f = size * 1.2  # about 45 degree field of view
    K = np.array([[f, 0, size / 2], [0, f, size / 2], [0, 0, 1.0]])
    E = look_at(np.array([0.4, rng.uniform(-0.1, 0.1), 0.3]), np.array([0.0, 0.0, 0.0]))
    colours = list(COLORS)[:n]
    centres, sides = [], []
    for i in range(n):
        s = 0.004 if (tiny and i == n - 1) else float(rng.uniform(0.03, 0.06))
        z = s / 2 + (0.05 if rng.random() < 0.3 else 0.0)  # some float above the table (held)
        centres.append(np.array([rng.uniform(-0.15, 0.15), rng.uniform(-0.15, 0.15), z]))
        sides.append(s)
    masks = render_cubes(size, K, E, centres, sides)
    rgb = np.full((size, size, 3), 120, np.uint8)
    objects = {}
    for colour, c, s, m in zip(colours, centres, sides, masks, strict=True):
        rgb[m] = COLORS[colour]
        objects[NAMES[colour]] = ObjectGT(NAMES[colour], m, c, colour, np.full(3, s))
    phase_i = int(rng.integers(len(phases)))
    return FrameGT(task_id=task_id, seed=seed, step=step, instruction="pick up the red cube", rgb=rgb,
                   objects=objects, intrinsic=K, extrinsic=E,
                   tcp_position=np.array([rng.uniform(-0.2, 0.2), rng.uniform(-0.2, 0.2), rng.uniform(0.05, 0.3)]),
                   gripper_open=bool(rng.random() < 0.5), success=bool(rng.random() < 0.3),
                   phase=phases[phase_i], phases=phases)


def frame_source(suite, task, seeds, frames_per_episode):
    """An ``iter_frames``-compatible source of synthetic frames (for stage tests without the simulator)."""
    for seed in seeds:
        for k in range(frames_per_episode):
            frame = make_frame(seed * 100 + k, task_id=task.id, step=k * 10, tiny=(seed % 3 == 0))
            yield dataclasses.replace(frame, seed=seed)
