"""Mask geometry in the [0, 1000] coordinate convention of InternVL grounding.

Convention: pixel (row r, column c) covers [c, c+1) x [r, r+1) in image units; a normalised
coordinate is ``1000 * u / W``. A box spans the outer pixel edges of its mask; a point is a pixel
centre. ``pixel_of`` maps a normalised point back to the pixel it lies in.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image
from scipy import ndimage

COORD_MAX = 1000


def to_norm(u: float, size: int) -> int:
    """Image coordinate (pixels) -> integer in [0, 1000]."""
    return int(min(COORD_MAX, max(0, round(COORD_MAX * u / size))))


def mask_box(mask: np.ndarray) -> list[int] | None:
    """[x1, y1, x2, y2] in [0, 1000] around a boolean mask's pixels (None for an empty mask)."""
    rows, cols = np.nonzero(mask)
    if rows.size == 0:
        return None
    h, w = mask.shape
    return [to_norm(cols.min(), w), to_norm(rows.min(), h), to_norm(cols.max() + 1, w), to_norm(rows.max() + 1, h)]


def mask_points(mask: np.ndarray, k: int = 1, rng: np.random.Generator | None = None) -> list[list[int]]:
    """``k`` points inside a mask, in [0, 1000]: first its most interior pixel, then random inner ones.

    The most interior pixel (largest distance to the background) is unambiguous even for concave
    shapes, where the centroid may fall outside the object.
    """
    h, w = mask.shape
    dist = ndimage.distance_transform_edt(np.pad(mask, 1))[1:-1, 1:-1]
    if dist.max() <= 0:
        return []
    r, c = np.unravel_index(int(np.argmax(dist)), dist.shape)
    picks = [(r, c)]
    if k > 1:
        rng = rng or np.random.default_rng(0)
        inner = np.argwhere(dist >= max(1.0, dist.max() / 2))
        idx = rng.choice(len(inner), size=min(k - 1, len(inner)), replace=False)
        picks += [tuple(inner[i]) for i in sorted(idx)]
    return [[to_norm(c + 0.5, w), to_norm(r + 0.5, h)] for r, c in picks]


def pixel_of(point: tuple[float, float], width: int, height: int) -> tuple[int, int]:
    """Normalised (x, y) -> the (row, col) of the pixel it lies in."""
    x, y = point
    col = min(width - 1, max(0, int(x * width / COORD_MAX)))
    row = min(height - 1, max(0, int(y * height / COORD_MAX)))
    return row, col


def box_iou(a: list[float], b: list[float]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def png_bytes(array: np.ndarray) -> bytes:
    """Deterministic PNG encoding of a uint8 image or a boolean mask (255 = inside)."""
    if array.dtype == bool:
        array = array.astype(np.uint8) * 255
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(array)).save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def load_mask(path) -> np.ndarray:
    """A mask PNG -> bool array (nonzero = inside)."""
    with Image.open(path) as im:
        return np.asarray(im.convert("L")) > 0
