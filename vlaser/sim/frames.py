"""Ground-truth frames for the data engine: the expert runs a seed, and chosen steps become ``FrameGT``s.

Each frame carries the camera image, per-object segmentation masks (from the per-scene ids of the
task's actors), world positions, colours, the camera's K and E (OpenCV), TCP position, gripper state,
success, and the expert's current phase plus the episode's ordered phase list. Resolution: the
camera's ``render_size`` by default; ``size`` rescales rgb (area), masks (nearest) and K together.
Frames are picked evenly over the episode, first and last step (after the final action) included.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace

import numpy as np

from vlaser.config.sim import SuiteSpec, TaskSpec
from vlaser.sim.envs import SimEnv
from vlaser.sim.geometry import area_resize, nearest_resize
from vlaser.sim.groundtruth import FrameGT, ObjectGT
from vlaser.sim.policies import ExpertPolicy
from vlaser.sim.scene_objects import objects_of

GRIPPER_OPEN_WIDTH = 0.06  # summed finger joints (m) above which the Panda gripper counts as open (0.08 fully open, 0.04 on a cube)


def iter_frames(suite: SuiteSpec, task: TaskSpec, seeds: Iterable[int], frames_per_episode: int,
                size: int | None = None, suite_name: str = "") -> Iterator[FrameGT]:
    """Run the expert on each seed and yield ``frames_per_episode`` evenly spaced FrameGTs per episode."""
    specs = objects_of(task.id)
    sim = SimEnv(suite_name or "suite", suite, task, segmentation=True)
    policy = ExpertPolicy()
    policy.bind(sim)
    try:
        for seed in seeds:
            snaps = _run(sim, policy, int(seed), specs)
            phases = tuple(dict.fromkeys(s["phase"] for s in snaps if s["phase"]))
            picks = np.unique(np.linspace(0, len(snaps) - 1, max(1, frames_per_episode)).round().astype(int))
            for i in picks:
                yield _frame(sim, task, int(seed), snaps[i], phases, size)
    finally:
        sim.close()


def _run(sim: SimEnv, policy: ExpertPolicy, seed: int, specs) -> list[dict]:
    """One expert episode; a snapshot of everything a FrameGT needs at every step (and after the last)."""
    sim.reset(seed)
    policy.reset(sim.task)
    snaps, success = [], False
    for step in range(sim.task.max_steps + 1):
        action = policy.act(None)[0] if step < sim.task.max_steps else None
        snaps.append(_snapshot(sim, specs, step, success, policy.phase))
        if action is None:
            break
        res = sim.step(action)
        success = res.success
        if res.terminated:
            snaps.append(_snapshot(sim, specs, step + 1, success, policy.phase))
            break
    return snaps


def _snapshot(sim: SimEnv, specs, step: int, success: bool, phase: str) -> dict:
    u = sim.u
    param = sim.last_raw["sensor_param"][sim.camera]
    objs = {}
    for spec in specs:
        actor = getattr(u, spec.attr)
        objs[spec.name] = (int(actor.per_scene_id[0]), actor.pose.p[0].numpy().astype(np.float64))
    agent = sim.agents[0]
    return {"step": step, "rgb": sim.raw_rgb().copy(), "seg": sim.raw_segmentation().copy(), "objects": objs,
            "K": param["intrinsic_cv"][0].numpy().astype(np.float64),
            "E": param["extrinsic_cv"][0].numpy().astype(np.float64),
            "tcp": agent.tcp.pose.p[0].numpy().astype(np.float64),
            "gripper": float(agent.robot.get_qpos()[0, -2:].sum()), "success": success, "phase": phase}


def _frame(sim: SimEnv, task: TaskSpec, seed: int, snap: dict, phases: tuple[str, ...],
           size: int | None) -> FrameGT:
    seg = snap["seg"]
    colors = {s.name: s for s in objects_of(task.id)}
    objects = {name: ObjectGT(name=name, mask=seg == sid, position=pos, color=colors[name].color,
                              size=None if colors[name].size is None else np.array(colors[name].size))
               for name, (sid, pos) in snap["objects"].items()}
    frame = FrameGT(task_id=task.id, seed=seed, step=snap["step"], instruction=task.instruction, rgb=snap["rgb"],
                    objects=objects, intrinsic=snap["K"], extrinsic=snap["E"], tcp_position=snap["tcp"],
                    gripper_open=snap["gripper"] > GRIPPER_OPEN_WIDTH, success=snap["success"],
                    phase=snap["phase"], phases=phases)
    return frame if size is None else rescale_frame(frame, size)


def rescale_frame(frame: FrameGT, size: int) -> FrameGT:
    """The same frame at ``size`` x ``size``: rgb area-averaged, masks nearest, K scaled with the pixels."""
    if size == frame.height:
        return frame
    scale = size / frame.height
    k = frame.intrinsic.copy()
    k[:2] *= scale  # pixel-corner convention (cx = W/2): pure scaling, no half-pixel shift
    objects = {n: replace(o, mask=nearest_resize(o.mask, size)) for n, o in frame.objects.items()}
    return replace(frame, rgb=area_resize(frame.rgb, size), objects=objects, intrinsic=k)
