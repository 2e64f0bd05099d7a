"""Ground-truth frames: masks, projection, camera, phases."""

from __future__ import annotations

import numpy as np
import pytest

from vlaser.sim.frames import iter_frames, rescale_frame

pytestmark = pytest.mark.sim


def _distance_to_mask(mask: np.ndarray, u: float, v: float) -> float:
    rows, cols = np.nonzero(mask)
    return float(np.min(np.hypot(cols + 0.5 - u, rows + 0.5 - v)))


@pytest.fixture(scope="module")
def stack_frames(cpu_suite):
    task = next(t for t in cpu_suite.tasks if t.id == "StackCube-v1")
    return list(iter_frames(cpu_suite, task, [1], 3))


def test_projected_centres_land_on_their_masks(cpu_suite, stack_frames):
    frames = stack_frames
    assert len(frames) == 3
    for f in frames:
        assert f.rgb.shape == (cpu_suite.render_size, cpu_suite.render_size, 3)
        assert f.phases[0] == "reach" and f.phase in f.phases
        assert f.intrinsic.shape == (3, 3) and f.extrinsic.shape == (3, 4)
    first = [f for f in frames if f.step == 0]
    assert len(first) == 1 and all(f.gripper_open and not f.success for f in first)
    for f in first:  # at the first step nothing occludes the cubes
        cubes = [o for o in f.objects.values() if o.name.endswith("cube")]
        assert cubes and all(o.color in ("red", "green", "blue") for o in cubes)
        for o in cubes:
            assert o.pixels > 0, o.name
            u, v, depth = f.project(o.position)
            assert depth > 0
            assert _distance_to_mask(o.mask, u, v) <= 1.5, (o.name, u, v)
    assert frames[-1].success  # the last frame is after the expert's final step


def test_resized_frames_keep_projection_consistent(stack_frames):
    full = stack_frames[0]
    small = rescale_frame(full, 64)
    assert small.rgb.shape == (64, 64, 3) and small.objects["red cube"].mask.shape == (64, 64)
    for name in ("red cube", "green cube"):
        p = full.objects[name].position
        (u1, v1, _), (u2, v2, _) = full.project(p), small.project(p)
        assert abs(u2 - u1 / 2) < 1e-6 and abs(v2 - v1 / 2) < 1e-6
        assert _distance_to_mask(small.objects[name].mask, u2, v2) <= 1.5
