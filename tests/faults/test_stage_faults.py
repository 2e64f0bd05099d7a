"""A stage that raises and a stage that hangs past its timeout: the sweep fails naming the stage, the
doctor says what to do, and after the documented action `vlaser resume` finishes with nothing lost."""

from __future__ import annotations

import pytest

from tests.faults.conftest import (
    assert_consistent,
    doctor,
    finished_artifacts_intact,
    kinds,
    processes_in,
    run_tail,
    sweep_state,
    vlaser,
)
from vlaser.orchestrate.workspace import update_params

pytestmark = [pytest.mark.sim, pytest.mark.slow]


def test_stage_that_raises_then_resume(fresh_copy):
    res = run_tail(fresh_copy, env={"VLASER_FAULTS": "aggregate:raise"})
    assert res.returncode == 1
    assert "aggregate" in res.stderr and "injected failure" in res.stderr
    state = sweep_state(fresh_copy)
    assert state["status"] == "failed" and state["stages"]["aggregate"]["state"] == "failed"
    finished_artifacts_intact(fresh_copy)

    rc, report = doctor(fresh_copy)
    assert rc == 1 and {("sweeps", "failed"), ("dvc", "stale-stage")} <= kinds(report)
    fixes = {p["fix"] for p in report["problems"] if p["check"] == "sweeps"}
    assert f"`vlaser resume {state['sweep_id']}`" in fixes

    res = vlaser(fresh_copy, "resume", state["sweep_id"])
    assert res.returncode == 0, res.stdout + res.stderr
    after = sweep_state(fresh_copy, state["sweep_id"])
    assert after["status"] == "done" and after["stages"]["aggregate"]["state"] == "done"
    assert after["stages"]["eval_closed_loop@base-0"]["state"] == "cached", "finished stages are not re-run"
    assert_consistent(fresh_copy)


def test_stage_that_hangs_past_its_timeout(fresh_copy):
    update_params(fresh_copy, {"sweep": {"stage_timeout_s": 20}})
    res = run_tail(fresh_copy, env={"VLASER_FAULTS": "aggregate:hang"})
    assert res.returncode == 1
    assert "aggregate" in res.stderr and "timed out after" in res.stderr
    assert processes_in(fresh_copy) == [], "the hung stage's whole process group is killed"
    finished_artifacts_intact(fresh_copy)
    state = sweep_state(fresh_copy)
    assert state["stages"]["aggregate"]["state"] == "failed"

    # the documented action: fix the hang (here: no fault) or raise sweep.stage_timeout_s, then resume
    update_params(fresh_copy, {"sweep": {"stage_timeout_s": 900}})
    res = vlaser(fresh_copy, "resume", state["sweep_id"])
    assert res.returncode == 0, res.stdout + res.stderr
    assert sweep_state(fresh_copy, state["sweep_id"])["status"] == "done"
    assert_consistent(fresh_copy)
