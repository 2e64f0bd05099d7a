"""Small pure helpers: quaternions (wxyz), yaw, rotation errors and area image resizing."""

from __future__ import annotations

import math

import numpy as np


def quat_to_matrix(q: np.ndarray) -> np.ndarray:
    """Unit quaternion (w, x, y, z) -> rotation matrix [3, 3]."""
    w, x, y, z = np.asarray(q, dtype=np.float64) / np.linalg.norm(q)
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])


def yaw_of(q: np.ndarray) -> float:
    """Heading of a frame's x axis in the world xy plane (radians)."""
    r = quat_to_matrix(q)
    return math.atan2(r[1, 0], r[0, 0])


def rot_z(theta: float) -> np.ndarray:
    c, s = math.cos(theta), math.sin(theta)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def matrix_to_euler_xyz(r: np.ndarray) -> np.ndarray:
    """Intrinsic XYZ Euler angles of a rotation matrix (the convention of ManiSkill's delta action)."""
    # R = Rx(a) Ry(b) Rz(c): r[0, 2] = sin(b)
    b = math.asin(max(-1.0, min(1.0, r[0, 2])))
    a = math.atan2(-r[1, 2], r[2, 2])
    c = math.atan2(-r[0, 1], r[0, 0])
    return np.array([a, b, c])


def wrap_quarter(angle: float) -> float:
    """Angle modulo pi/2 into [-pi/4, pi/4): a cube looks the same every quarter turn."""
    q = math.pi / 2
    return (angle + q / 2) % q - q / 2


def area_resize(img: np.ndarray, size: int) -> np.ndarray:
    """Area (box) downsample uint8 [H, W, C] -> [size, size, C]; exact block mean when H is a multiple."""
    h, w = img.shape[:2]
    if h == size and w == size:
        return img
    if h % size == 0 and w % size == 0:
        fh, fw = h // size, w // size
        blocks = img.reshape(size, fh, size, fw, -1).astype(np.uint32).sum(axis=(1, 3))
        return ((blocks + (fh * fw) // 2) // (fh * fw)).astype(np.uint8)
    from PIL import Image

    return np.asarray(Image.fromarray(img).resize((size, size), Image.Resampling.BOX))


def nearest_resize(mask: np.ndarray, size: int) -> np.ndarray:
    """Nearest-neighbour resize of a 2-D label image (segmentation ids) to [size, size]."""
    h, w = mask.shape[:2]
    rows = (np.arange(size) * h // size) + (h // size) // 2
    cols = (np.arange(size) * w // size) + (w // size) // 2
    return mask[np.ix_(np.minimum(rows, h - 1), np.minimum(cols, w - 1))]
