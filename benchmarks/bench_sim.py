"""Simulator benchmarks: env steps/s raw vs through the harness (constant policy), demo episodes/minute.

Run: ``.venv/bin/python benchmarks/bench_sim.py [--steps 200] [--suite cpu-default] [--task PushCube-v1]``
(stdin closed is fine; ``--suite simpler-widowx --task PutCarrotOnPlateInScene-v1 --demo-episodes 0`` measures
a SimplerEnv twin when its assets are installed).
"raw" steps ``env.unwrapped`` with a fixed action and reads nothing back; "harness" runs the same env
through ``vlaser.sim.rollout.run_episode`` (observation building, resize, proprio, policy call). Both use
one fresh episode of ``--steps`` steps on the same environment, alternated over ``--repeats``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from vlaser.runtime import apply_env_defaults

apply_env_defaults()

from vlaser.config import load_params  # noqa: E402
from vlaser.config.sim import DemosSection  # noqa: E402
from vlaser.sim.demos import record_demos  # noqa: E402
from vlaser.sim.envs import SimEnv  # noqa: E402
from vlaser.sim.policies import ConstantPolicy  # noqa: E402
from vlaser.sim.rollout import run_episode  # noqa: E402

ACTION = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0], dtype=np.float32)  # hold still, gripper open


def raw_steps_per_s(sim: SimEnv, steps: int, seed: int) -> float:
    env_action = sim.robot.to_env(ACTION)  # the robot's own units, converted once
    t0 = time.perf_counter()  # the harness's wall time includes the reset, so this does too
    sim.u.reset(seed=seed)
    for _ in range(steps):
        sim.u.step(env_action)
    return steps / (time.perf_counter() - t0)


def harness_steps_per_s(sim: SimEnv, steps: int, seed: int) -> float:
    r = run_episode(sim, ConstantPolicy(ACTION), seed)
    return r.steps / r.wall_s


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--suite", default="cpu-default")
    ap.add_argument("--task", default="PushCube-v1")
    ap.add_argument("--demo-episodes", type=int, default=3, help="per task, PushCube + PickCube (0: skip)")
    args = ap.parse_args()
    params = load_params()
    suite = params.sim.suites[args.suite]
    task = next(t for t in suite.tasks if t.id == args.task).model_copy(update={"max_steps": args.steps})
    suite1 = suite.model_copy(update={"tasks": [task]})
    sim = SimEnv(args.suite, suite1, task)
    raw, har = [], []
    for i in range(args.repeats):
        raw.append(raw_steps_per_s(sim, args.steps, i))
        har.append(harness_steps_per_s(sim, args.steps, i))
    height, width = sim.raw_rgb().shape[:2]
    sim.close()
    r, h = float(np.median(raw)), float(np.median(har))
    print(f"{args.task}, {args.steps} steps x {args.repeats}, camera {width}x{height} -> {suite.image_size}px")
    print(f"raw env steps/s       : {r:7.2f}  (runs: {', '.join(f'{x:.1f}' for x in raw)})")
    print(f"through harness       : {h:7.2f}  (runs: {', '.join(f'{x:.1f}' for x in har)})")
    print(f"ratio raw / harness   : {r / h:7.3f}  (target <= 1.1)")
    if args.demo_episodes == 0:
        return

    demo_suite = suite.model_copy(update={"tasks": [t for t in suite.tasks if t.id in ("PushCube-v1", "PickCube-v1")]})
    cfg = DemosSection(episodes_per_task=args.demo_episodes, seed=0)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        counts = record_demos("cpu-default", demo_suite, cfg, Path(tmp) / "demos")
        dt = time.perf_counter() - t0
    print(f"demos: {counts['episodes']} kept, {counts['failed']} failed in {dt:.1f} s "
          f"(env creation included) -> {counts['episodes'] / dt * 60:.1f} episodes/minute")


if __name__ == "__main__":
    main()
