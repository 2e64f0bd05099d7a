"""The closed-loop evaluation harness: any Policy, N episodes per task over fixed seeds, one report.

``evaluate`` writes, atomically into ``out_dir`` (a temp folder renamed on success, so an interrupted run
leaves nothing that looks finished):

* ``closed_loop.json``: the report (schema in docs/sim.md and ``report_schema``),
* ``episodes.csv``: one row per episode (task_id, seed, steps, success, ever_success, wall_s),
* ``videos/<task>_s<seed>.mp4``: the first ``videos_per_task`` episodes of each task at render size,
* ``meta.json`` (``vlaser.io.write_meta``), last.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from vlaser.config.sim import SuiteSpec
from vlaser.evaluate.stats import rate
from vlaser.io import atomic_dir, write_json, write_meta
from vlaser.log import get_logger, progress_bar
from vlaser.sim.envs import make_sim
from vlaser.sim.rollout import Rollout, run_episode

log = get_logger("sim.harness")
VIDEO_FPS = 20  # ManiSkill's control frequency for the Panda tasks
CSV_FIELDS = ("task_id", "seed", "steps", "success", "ever_success", "wall_s")


def evaluate(policy, suite_name: str, suite: SuiteSpec, episodes: int, seed: int, out_dir: Path,
             videos_per_task: int = 1, exec_horizon: int | None = None, tasks: list[str] | None = None) -> dict:
    """Run ``policy`` for ``episodes`` episodes per task (seeds seed, seed+1, ...) and write the report.

    Args:
        policy: a Policy (``reset(task)``, ``act(obs) -> [P, A]``); ``bind(sim_env)`` is called if present.
        suite_name, suite: the suite (``params.sim.suites[suite_name]``).
        episodes: episodes per task.
        seed: first episode seed.
        out_dir: report folder (replaced atomically).
        videos_per_task: how many of each task's first episodes get an mp4.
        exec_horizon: actions executed per chunk before re-planning (None: the whole chunk).
        tasks: optional subset of task ids (default: all of the suite's tasks).

    Returns:
        The report dict (as written to closed_loop.json).
    """
    from vlaser.sim.checks import check_rendering, check_suite, find_task

    specs = [find_task(suite_name, suite, t) for t in tasks] if tasks else list(suite.tasks)
    check_suite(suite_name, suite)
    if hasattr(policy, "check_tasks"):  # e.g. the expert: refuse tasks it cannot do before minutes of work
        policy.check_tasks([t.id for t in specs])
    check_rendering()
    rollouts: list[Rollout] = []
    with atomic_dir(out_dir) as tmp:
        bar = progress_bar(len(specs) * episodes, desc=f"closed-loop {suite_name}", unit="ep")
        for task in specs:
            # policies that never look at images (expert, random) run without the camera unless videos are wanted
            render = videos_per_task > 0 or getattr(policy, "needs_images", True)
            sim = make_sim(suite_name, suite, task, render=render)
            try:
                if hasattr(policy, "bind"):
                    policy.bind(sim)
                for i in range(episodes):
                    r = run_episode(sim, policy, seed + i, exec_horizon, video=i < videos_per_task)
                    if r.video:
                        write_video(tmp / "videos" / f"{task.id}_s{r.seed}.mp4", r.video)
                        r.video = []
                    rollouts.append(r)
                    bar.update(1)
                    bar.set_postfix(task=task.id, ok=sum(x.success for x in rollouts if x.task_id == task.id))
            finally:
                sim.close()
        bar.close()
        report = build_report(suite_name, getattr(policy, "name", type(policy).__name__), episodes, seed, rollouts)
        write_csv(tmp / "episodes.csv", rollouts)
        write_json(tmp / "closed_loop.json", report)
        write_meta(tmp, "closed_loop_report", {"suite": suite_name, "episodes": episodes, "seed": seed,
                                               "exec_horizon": exec_horizon, "policy": report["policy"]},
                   extra={"average_rate": report["average"]["rate"]})
    for task_id, r in report["tasks"].items():
        log.info("%s: %d/%d (final), %d ever", task_id, r["successes"], r["n"], r["ever_successes"])
    return report


def build_report(suite_name: str, policy_name: str, episodes: int, seed: int, rollouts: list[Rollout]) -> dict:
    """closed_loop.json from episode outcomes: per-task Wilson rates and the pooled average."""
    tasks: dict[str, dict] = {}
    for task_id in dict.fromkeys(r.task_id for r in rollouts):
        rs = [r for r in rollouts if r.task_id == task_id]
        entry = rate(sum(r.success for r in rs), len(rs))
        ever = sum(r.ever_success for r in rs)
        entry.update(ever_successes=ever, ever_rate=ever / len(rs), mean_steps=float(np.mean([r.steps for r in rs])))
        tasks[task_id] = entry
    pooled = rate(sum(r.success for r in rollouts), len(rollouts))
    average = {"rate": float(np.mean([t["rate"] for t in tasks.values()])) if tasks else 0.0,
               "ci_low": pooled["ci_low"], "ci_high": pooled["ci_high"]}
    return {"suite": suite_name, "policy": policy_name, "episodes_per_task": episodes, "seed": seed,
            "tasks": tasks, "average": average, "episodes": [r.row() for r in rollouts]}


def write_csv(path: Path, rollouts: list[Rollout]) -> None:
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=CSV_FIELDS)
        w.writeheader()
        for r in rollouts:
            w.writerow(r.row())


def write_video(path: Path, frames: list[np.ndarray], fps: int = VIDEO_FPS) -> None:
    """H.264 mp4 through imageio-ffmpeg (frames uint8 [H, W, 3])."""
    import imageio.v2 as imageio

    path.parent.mkdir(parents=True, exist_ok=True)
    imageio.mimwrite(path, frames, fps=fps, codec="libx264", quality=7, macro_block_size=8)
