"""Sweeps with the real tools: DVC decides what runs, Prefect runs it, MLflow and lineage record it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import mlflow
import pytest

from tests.orchestrate.conftest import sweep_state, vlaser
from vlaser.io import dir_digest
from vlaser.orchestrate.dvc import stage_lock_hash
from vlaser.orchestrate.workspace import update_params

pytestmark = [pytest.mark.sim]

CHAIN = ("pretrain", "finetune", "eval_reasoning", "eval_closed_loop")


def stage_states(state: dict) -> dict[str, str]:
    return {k: v["state"] for k, v in state["stages"].items()}


def test_sweep_completes_and_is_recorded(done_workspace):
    state = sweep_state(done_workspace)
    assert state["status"] == "done"
    states = stage_states(state)
    for v in ("base", "grounding"):
        for st in CHAIN:
            assert states[f"{st}@{v}-0"] == "done"
        assert (done_workspace / "reports" / "runs" / v / "s0" / "closed_loop" / "closed_loop.json").is_file()
        assert (done_workspace / "models" / v / "s0" / "vla" / "meta.json").is_file()
    assert (done_workspace / "reports" / "summary" / "meta.json").is_file()

    mlflow.set_tracking_uri(f"sqlite:///{done_workspace / '.vlaser' / 'mlflow.db'}")
    runs = mlflow.search_runs(experiment_names=["vlaser"], output_format="list")
    sweep_id = state["sweep_id"]
    parents = [r for r in runs if r.data.tags.get("vlaser.sweep_id") == sweep_id and "vlaser.variant" not in r.data.tags]
    children = [r for r in runs if r.data.tags.get("vlaser.sweep_id") == sweep_id and "vlaser.variant" in r.data.tags]
    assert len(parents) == 1
    assert sorted(r.data.tags["vlaser.variant"] for r in children) == ["base", "grounding"]
    for child in children:
        assert child.data.tags["mlflow.parentRunId"] == parents[0].info.run_id
        assert "eval_closed_loop/success/avg" in child.data.metrics
        assert any(k.startswith("pretrain.") for k in child.data.params)
        assert child.inputs.dataset_inputs, "datasets are logged as inputs with digests"
        variant = child.data.tags["vlaser.variant"]
        for st in CHAIN:  # the DVC record of what ran, as the tag of the run it belongs to
            assert child.data.tags[f"dvc.{st}.hash"] == stage_lock_hash(done_workspace, f"{st}@{variant}-0")
    assert parents[0].data.tags["dvc.mixture.base.hash"] == stage_lock_hash(done_workspace, "mixture@base")


def test_variant_chains_run_concurrently_in_one_workspace(done_workspace):
    """sweep.concurrency 2: DVC releases its lock while a stage runs, so the two chains overlap in time."""
    lines = [json.loads(x) for x in (done_workspace / ".vlaser" / "timings.jsonl").read_text().splitlines()]
    spans = {v: [(x["start"], x["end"]) for x in lines if x["stage"].endswith(f"@{v}-0")] for v in ("base", "grounding")}
    assert len(spans["base"]) == len(spans["grounding"]) == len(CHAIN)
    overlap = max(min(a1, b1) - max(a0, b0) for a0, a1 in spans["base"] for b0, b1 in spans["grounding"])
    assert overlap > 0, f"no stage of one chain ran while a stage of the other did: {spans}"


def test_no_change_sweep_runs_nothing(fresh_copy):
    res = vlaser(fresh_copy, "sweep")
    assert res.returncode == 0, res.stderr
    state = sweep_state(fresh_copy)
    assert set(stage_states(state).values()) == {"cached"}
    assert not (fresh_copy / ".vlaser" / "logs" / state["sweep_id"]).exists(), "no stage process was started"


def test_changing_one_variant_reruns_only_its_stages(fresh_copy):
    update_params(fresh_copy, {"mixture": {"variants": {"grounding": {"sources": {"indomain/grounding": 0.5,
                                                                                  "ood/procedural": 0.5}}}}})
    res = vlaser(fresh_copy, "sweep")
    assert res.returncode == 0, res.stdout + res.stderr
    states = stage_states(sweep_state(fresh_copy))
    assert states["mixture@grounding"] == "done"
    assert all(states[f"{st}@grounding-0"] == "done" for st in CHAIN)
    assert states["mixture@base"] == "cached"
    assert all(states[f"{st}@base-0"] == "cached" for st in CHAIN)
    assert states["demos"] == "cached" and states["indomain"] == "cached"


def test_failed_stage_is_named_and_resume_finishes(fresh_copy):
    update_params(fresh_copy, {"eval_closed_loop": {"episodes": 2}})  # makes both closed-loop evals stale
    res = vlaser(fresh_copy, "sweep", env={"VLASER_FAULTS": "eval_closed_loop@grounding-0:raise"})
    assert res.returncode == 1
    assert "eval_closed_loop@grounding-0" in res.stderr and "injected failure" in res.stderr
    state = sweep_state(fresh_copy)
    assert state["status"] == "failed"
    assert stage_states(state)["eval_closed_loop@base-0"] == "done"
    res = vlaser(fresh_copy, "resume", state["sweep_id"])
    assert res.returncode == 0, res.stdout + res.stderr
    after = stage_states(sweep_state(fresh_copy, state["sweep_id"]))
    assert after["eval_closed_loop@grounding-0"] == "done"
    assert after["eval_closed_loop@base-0"] == "cached", "finished stages are not re-run"
    status = vlaser(fresh_copy, "status", state["sweep_id"])
    assert status.returncode == 0 and "grounding" in status.stdout


def test_stage_timeout_names_the_stage(fresh_copy):
    update_params(fresh_copy, {"sweep": {"stage_timeout_s": 20}, "eval_closed_loop": {"episodes": 2}})
    res = vlaser(fresh_copy, "sweep", env={"VLASER_FAULTS": "eval_closed_loop@base-0:hang"})
    assert res.returncode == 1
    assert "eval_closed_loop@base-0" in res.stderr and "timed out" in res.stderr
    assert not (fresh_copy / "reports" / "runs" / "base" / "s0" / "closed_loop" / "meta.json").exists() or \
        stage_states(sweep_state(fresh_copy))["eval_closed_loop@base-0"] == "failed"


def test_second_concurrent_sweep_is_refused(fresh_copy):
    update_params(fresh_copy, {"eval_closed_loop": {"episodes": 2}})
    env = {**os.environ, "VLASER_WORKSPACE": str(fresh_copy), "VLASER_QUIET": "1",
           "VLASER_FAULTS": "eval_closed_loop@base-0:hang"}
    env.pop("PREFECT_HOME", None)
    first = subprocess.Popen([sys.executable, "-m", "vlaser", "sweep"], cwd=fresh_copy, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        sweeps = fresh_copy / ".vlaser" / "sweeps"
        before = set(sweeps.glob("*.json"))
        for _ in range(600):  # until the first sweep has written its own state (it holds the lock by then)
            if set(sweeps.glob("*.json")) - before:
                break
            time.sleep(0.2)
        else:
            pytest.fail("the first sweep never started")
        second = vlaser(fresh_copy, "sweep")
        assert second.returncode == 2
        assert "another sweep is running" in second.stderr
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()


@pytest.mark.slow
def test_sigkill_mid_stage_resumes_to_identical_outputs(done_workspace, fresh_copy):
    """Kill the whole sweep while a stage runs; nothing partial is recorded; resume matches the original."""
    for d in ("data", "models", "reports", ".dvc/cache"):  # no outputs and no run-cache: stages must run
        shutil.rmtree(fresh_copy / d)
    env = {**os.environ, "VLASER_WORKSPACE": str(fresh_copy), "VLASER_QUIET": "1"}
    env.pop("PREFECT_HOME", None)
    proc = subprocess.Popen([sys.executable, "-m", "vlaser", "sweep"], cwd=fresh_copy, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    target = fresh_copy / "data" / "indomain"
    deadline = time.monotonic() + 600
    # in-domain data is written kind by kind, each into data/indomain/.<kind>.*.partial until it is complete
    def writing() -> bool:
        return (target.is_dir() and any(target.glob(".*.partial"))) or any((fresh_copy / "data").glob(".indomain.*"))

    while time.monotonic() < deadline and not writing() and proc.poll() is None:
        time.sleep(0.1)
    caught = writing()
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert caught, "the sweep was never caught while the in-domain stage was writing"
    assert not (target / "meta.json").exists(), "a killed stage must not look finished"
    state = sweep_state(fresh_copy)
    res = vlaser(fresh_copy, "resume", state["sweep_id"])
    assert res.returncode == 0, res.stdout + res.stderr
    for rel in ("data/demos/smoke", "data/indomain", "data/ood/procedural", "data/mixtures/grounding"):
        assert content_digest(fresh_copy / rel) == content_digest(done_workspace / rel), rel


def content_digest(folder):
    """dir_digest without any meta.json, at any depth: those hold provenance (creation time), not output
    (data/indomain has one per kind folder)."""
    metas = tuple(p.relative_to(folder).as_posix() for p in folder.rglob("meta.json"))
    return dir_digest(folder, exclude=metas)
