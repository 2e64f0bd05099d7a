"""SIGKILL of the whole sweep process group (CLI, Prefect flow, DVC, the stage) at seeded random points;
`vlaser resume` (or `vlaser sweep` when the kill came before the sweep recorded itself) finishes it, the
workspace is consistent, and the output is byte-identical to an uninterrupted run.

Kill times come from the uninterrupted reference run's timeline: even seeds before the re-run stage
(CLI and flow start-up, the DVC checks of unchanged stages), odd seeds after the trial's own stage has
started, anywhere in its duration and a little beyond (imports, compute, atomic write, lineage and MLflow
records, DVC commit, the sweep's finish). Relative timing keeps the windows right on a loaded machine.
"""

from __future__ import annotations

import json
import random
import time

import pytest

from tests.faults.conftest import (
    TAIL,
    assert_consistent,
    copy_workspace,
    finished_artifacts_intact,
    kill_group,
    start,
    sweep_state,
    vlaser,
)
from vlaser.io import dir_digest
from vlaser.orchestrate.workspace import update_params

pytestmark = [pytest.mark.sim, pytest.mark.slow]
TRIALS = 10


def _timeline(ws, before: str) -> dict:
    """Run the tail uninterrupted, noting when the re-run stage started (from the sweep state file)."""
    t0 = time.monotonic()
    proc = start(ws, "sweep")
    stage_start = None
    while proc.poll() is None:
        if stage_start is None:
            state = sweep_state(ws)
            if state["sweep_id"] != before and state["stages"].get("aggregate", {}).get("state") == "running":
                stage_start = time.monotonic() - t0
        time.sleep(0.2)
    assert proc.returncode == 0
    return {"wall_s": time.monotonic() - t0, "stage_start_s": stage_start}


@pytest.fixture(scope="module")
def reference(base_workspace, tmp_path_factory) -> dict:
    """The tail run without interruption: its timeline (the kill windows) and its output's digest."""
    ws = copy_workspace(base_workspace, tmp_path_factory.mktemp("ref") / "ws")
    before = sweep_state(ws)["sweep_id"]
    update_params(ws, TAIL)
    timeline = _timeline(ws, before)
    assert sweep_state(ws)["stages"]["aggregate"]["state"] == "done"
    assert timeline["stage_start_s"] is not None
    timeline["stage_s"] = sweep_state(ws)["stages"]["aggregate"]["seconds"]
    print(f"reference tail: {json.dumps(timeline)}")
    return {**timeline, "summary": dir_digest(ws / "reports" / "summary"), "before": before}


def kill_plan(seed: int, ref: dict) -> tuple[bool, float]:
    """(wait for the stage to start first?, then seconds until the kill)."""
    rng = random.Random(seed)
    if seed % 2 == 0:
        return False, rng.uniform(0.02, 1.0) * ref["stage_start_s"]
    return True, rng.uniform(0.0, 1.25) * ref["stage_s"]


def _stage_started(ws, before: str, proc) -> None:
    while proc.poll() is None:
        st = sweep_state(ws)
        if st["sweep_id"] != before and st["stages"].get("aggregate", {}).get("state") == "running":
            return
        time.sleep(0.1)


@pytest.mark.parametrize("seed", range(TRIALS))
def test_sigkill_at_a_seeded_random_point_then_resume(seed, reference, base_workspace, tmp_path):
    ws = copy_workspace(base_workspace, tmp_path / "ws")
    update_params(ws, TAIL)
    in_stage, delay = kill_plan(seed, reference)
    proc = start(ws, "sweep")
    if in_stage:
        _stage_started(ws, reference["before"], proc)
    time.sleep(delay)
    kill_group(proc)

    finished_artifacts_intact(ws)  # a killed stage leaves nothing that looks finished
    state = sweep_state(ws)
    running = [k for k, v in state["stages"].items() if v["state"] == "running"]
    where = "after the stage started" if in_stage else "after the start"
    print(f"trial {seed}: SIGKILL {delay:.1f} s {where}; sweep {state['status']}, running {running}")
    fresh = state["sweep_id"] == reference["before"]  # killed before the new sweep wrote its state
    res = vlaser(ws, "sweep") if fresh else vlaser(ws, "resume", state["sweep_id"])
    assert res.returncode == 0, f"kill after {delay:.1f} s: {res.stdout}\n{res.stderr}"
    after = sweep_state(ws)
    assert after["status"] == "done" and after["stages"]["aggregate"]["state"] in ("done", "cached")
    assert dir_digest(ws / "reports" / "summary") == reference["summary"], "output differs from the uninterrupted run"
    assert_consistent(ws)
