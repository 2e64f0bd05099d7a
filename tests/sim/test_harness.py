"""The harness with the built-in policies: expert >= 80 %, random <= 10 %, report schema, determinism."""

from __future__ import annotations

import csv
import json

import pytest

from vlaser.sim.harness import evaluate
from vlaser.sim.policies import ExpertPolicy, RandomPolicy

pytestmark = pytest.mark.sim

TASK_KEYS = {"n", "successes", "rate", "ci_low", "ci_high", "ever_successes", "ever_rate", "mean_steps"}
EPISODE_KEYS = {"task_id", "seed", "steps", "success", "ever_success", "wall_s"}


@pytest.fixture(scope="module")
def expert_report(cpu_suite, tmp_path_factory):
    out = tmp_path_factory.mktemp("cl") / "expert"
    # no videos: the expert never looks at the camera, so the harness runs without rendering
    return evaluate(ExpertPolicy(), "cpu-default", cpu_suite, 5, 1000, out, videos_per_task=0), out


def test_expert_solves_every_cpu_default_task(expert_report, cpu_suite):
    report, _ = expert_report
    assert set(report["tasks"]) == {t.id for t in cpu_suite.tasks}
    for task_id, r in report["tasks"].items():
        assert r["rate"] >= 0.8, f"{task_id}: expert {r['successes']}/{r['n']}"


def test_report_schema_and_csv(expert_report, cpu_suite):
    report, out = expert_report
    on_disk = json.loads((out / "closed_loop.json").read_text())
    assert on_disk == json.loads(json.dumps(report))
    assert set(on_disk) == {"suite", "policy", "episodes_per_task", "seed", "tasks", "average", "episodes"}
    assert on_disk["policy"] == "expert" and on_disk["episodes_per_task"] == 5 and on_disk["seed"] == 1000
    for r in on_disk["tasks"].values():
        assert set(r) == TASK_KEYS
        assert r["n"] == 5 and 0 <= r["ci_low"] <= r["rate"] <= r["ci_high"] <= 1
        assert r["ever_successes"] >= r["successes"]
    assert set(on_disk["average"]) == {"rate", "ci_low", "ci_high"}
    rows = on_disk["episodes"]
    assert len(rows) == 5 * len(cpu_suite.tasks) and all(set(e) == EPISODE_KEYS for e in rows)
    limits = {t.id: t.max_steps for t in cpu_suite.tasks}
    assert all(1 <= e["steps"] <= limits[e["task_id"]] for e in rows)
    assert sorted({e["seed"] for e in rows}) == [1000, 1001, 1002, 1003, 1004]
    with open(out / "episodes.csv") as f:
        assert len(list(csv.DictReader(f))) == len(rows)
    assert (out / "meta.json").is_file() and not (out / "videos").exists()


def test_videos_with_rendering(cpu_suite, tmp_path):
    """With videos the camera renders; the outcome is the same as without (rendering is not physics)."""
    import imageio.v2 as imageio

    suite = cpu_suite.model_copy(update={"tasks": [t for t in cpu_suite.tasks if t.id == "PushCube-v1"]})
    seen = []

    class Looking(ExpertPolicy):
        def act(self, obs):
            seen.append(obs.rgb)
            return super().act(obs)

    with_video = evaluate(Looking(), "cpu-default", suite, 1, 1000, tmp_path / "v", videos_per_task=1)
    without = evaluate(ExpertPolicy(), "cpu-default", suite, 1, 1000, tmp_path / "n", videos_per_task=0)
    assert [e["steps"] for e in with_video["episodes"]] == [e["steps"] for e in without["episodes"]]
    size = cpu_suite.image_size
    assert seen[0].shape == (size, size, 3) and seen[0].std() > 5  # a real picture, not the blank frame
    video = tmp_path / "v" / "videos" / "PushCube-v1_s1000.mp4"
    frames = imageio.mimread(video)
    assert len(frames) == with_video["episodes"][0]["steps"] + 1
    assert frames[0].shape == (cpu_suite.render_size, cpu_suite.render_size, 3)


def test_random_policy_rarely_succeeds(cpu_suite, tmp_path):
    report = evaluate(RandomPolicy(seed=0), "cpu-default", cpu_suite, 3, 2000, tmp_path / "rnd", videos_per_task=0)
    total = sum(r["successes"] for r in report["tasks"].values())
    n = sum(r["n"] for r in report["tasks"].values())
    assert total / n <= 0.10
    # a random policy runs to the step limit unless it happens to succeed
    limits = {t.id: t.max_steps for t in cpu_suite.tasks}
    assert all(e["steps"] == limits[e["task_id"]] or e["success"] for e in report["episodes"])


def test_same_seeds_same_outcomes(cpu_suite, tmp_path):
    suite = cpu_suite.model_copy(update={"tasks": [t for t in cpu_suite.tasks if t.id == "PickCube-v1"]})
    runs = [evaluate(ExpertPolicy(), "cpu-default", suite, 2, 7, tmp_path / f"r{i}", videos_per_task=0)
            for i in range(2)]
    strip = [[{k: v for k, v in e.items() if k != "wall_s"} for e in r["episodes"]] for r in runs]
    assert strip[0] == strip[1]


def test_chunked_execution_respects_exec_horizon(cpu_suite, tmp_path):
    """A policy returning chunks of 4 is asked again every H = 2 steps."""
    calls = []

    class Chunky(RandomPolicy):
        def act(self, obs):
            calls.append(obs.task_id)
            return super().act(obs)

    task = next(t for t in cpu_suite.tasks if t.id == "PushCube-v1")
    suite = cpu_suite.model_copy(update={"tasks": [task.model_copy(update={"max_steps": 10})]})
    policy = Chunky(seed=1, chunk=4)
    report = evaluate(policy, "cpu-default", suite, 1, 0, tmp_path / "c", videos_per_task=0, exec_horizon=2)
    assert report["episodes"][0]["steps"] == 10 and len(calls) == 5
