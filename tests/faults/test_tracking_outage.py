"""A tracking server that is down when the sweep starts, and one that goes down mid-sweep: the sweep
finishes anyway (records are buffered on disk, no stage work is lost), `vlaser doctor` names the pending
records, and once the server is back `vlaser tracking flush` replays them into the right runs."""

from __future__ import annotations

import pytest

from tests.faults.conftest import (
    TAIL,
    assert_consistent,
    doctor,
    finished_artifacts_intact,
    kinds,
    start,
    sweep_state,
    vlaser,
    wait_for,
)
from vlaser.orchestrate.workspace import update_params

pytestmark = [pytest.mark.sim, pytest.mark.slow]


def _use_server(ws, url: str) -> None:
    update_params(ws, {"tracking": {"mlflow_uri": url, "timeout_s": 3}})


def _sweep_runs(ws, sweep_id: str) -> dict:
    """`vlaser tracking runs SWEEP --json`: the parent run and its children, read back from the server."""
    import json

    res = vlaser(ws, "tracking", "runs", sweep_id, "--json")
    assert res.returncode == 0, res.stdout + res.stderr
    return json.loads(res.stdout)


def _buffered(ws) -> list:
    folder = ws / ".vlaser" / "tracking-buffer"
    return sorted(folder.glob("*.json")) if folder.is_dir() else []


def test_tracking_server_down_at_start(fresh_copy, mlflow_server):
    _use_server(fresh_copy, mlflow_server.url)  # nothing listens there yet
    update_params(fresh_copy, TAIL)
    res = vlaser(fresh_copy, "sweep")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "unreachable" in res.stderr and "vlaser tracking flush" in res.stderr
    sweep_id = sweep_state(fresh_copy)["sweep_id"]
    assert sweep_state(fresh_copy)["stages"]["aggregate"]["state"] == "done", "the stage work is kept"
    finished_artifacts_intact(fresh_copy)
    assert _buffered(fresh_copy)

    rc, report = doctor(fresh_copy)
    assert rc == 1 and {("tracking", "buffered"), ("tracking", "unreachable")} <= kinds(report)

    mlflow_server.start()  # the documented action: bring the server back, then flush
    res = vlaser(fresh_copy, "tracking", "flush")
    assert res.returncode == 0, res.stdout + res.stderr
    assert not _buffered(fresh_copy)
    parent = _sweep_runs(fresh_copy, sweep_id)["parent"]
    assert parent["status"] == "FINISHED" and "aggregate/seconds" in parent["metrics"]
    assert parent["params"]["sweep.variants"]
    assert_consistent(fresh_copy)


def test_tracking_server_goes_down_mid_sweep(fresh_copy, mlflow_server):
    mlflow_server.start()
    _use_server(fresh_copy, mlflow_server.url)
    before = sweep_state(fresh_copy)["sweep_id"]
    update_params(fresh_copy, TAIL)
    proc = start(fresh_copy, "sweep")

    def stage_running() -> bool:
        st = sweep_state(fresh_copy)
        return st["sweep_id"] != before and st["stages"].get("aggregate", {}).get("state") == "running"

    wait_for(stage_running, 900, "the aggregate stage to start")
    mlflow_server.stop()  # the parent run exists on the server; the stage's records cannot reach it
    assert proc.wait(timeout=900) == 0, "the sweep finishes without its tracking server"
    sweep_id = sweep_state(fresh_copy)["sweep_id"]
    assert sweep_state(fresh_copy)["status"] == "done"
    finished_artifacts_intact(fresh_copy)
    assert _buffered(fresh_copy)

    rc, report = doctor(fresh_copy)
    assert rc == 1 and ("tracking", "buffered") in kinds(report)

    mlflow_server.start()
    res = vlaser(fresh_copy, "tracking", "flush")
    assert res.returncode == 0, res.stdout + res.stderr
    runs = _sweep_runs(fresh_copy, sweep_id)
    assert runs["parent"]["status"] == "FINISHED" and "aggregate/seconds" in runs["parent"]["metrics"]
    assert runs["parent"]["params"]["sweep.variants"], "what was logged before the outage is kept"
    assert_consistent(fresh_copy)
