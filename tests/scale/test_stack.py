"""The team setup end to end, on one sweep: a Prefect deployment run by a process worker sweeps two variants
in a private workspace, recording into an MLflow server and a lineage registry on PostgreSQL; then the
registry takes two concurrent writers, and DVC pushes the sweep to a remote and pulls it into a fresh
workspace."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.lineage.conftest import make_artifact
from tests.lineage.test_concurrency import WRITER
from tests.orchestrate.conftest import SMOKE
from tests.scale.conftest import REPO, cli
from vlaser.config.presets import deep_merge
from vlaser.config.sweep import TrackingSection
from vlaser.io import dir_digest
from vlaser.orchestrate.workspace import make_workspace
from vlaser.scale.deploy import DEPLOYMENT, trigger, wait_for

# One smoke sweep under a worker: 12.9 min measured for this module on 2 cores at load average ~8.
pytestmark = [pytest.mark.postgres, pytest.mark.sim, pytest.mark.slow, pytest.mark.timeout(3000)]

POOL = "vlaser-test-pool"


@pytest.fixture(scope="module")
def deployed(stack: dict, scratch: Path) -> dict:
    """Deploy prefect.yaml's `sweep`, trigger it on a smoke workspace, let one process worker run it."""
    api = stack["prefect"]["api_url"]
    tracking = {**stack["settings"]["tracking"], "when_unreachable": "fail"}  # no silent buffering
    template = make_workspace(REPO, scratch / "template", deep_merge(SMOKE, {"tracking": tracking}))
    env = {"PREFECT_API_URL": api, "PREFECT_HOME": str(scratch / "prefect-client"), "VLASER_WORKSPACE": str(REPO)}
    res = cli("deploy", "--pool", POOL, env=env, timeout=600)
    assert res.returncode == 0, res.stdout + res.stderr
    run_id = trigger(api, DEPLOYMENT, {"workspace": str(template), "runs_dir": str(scratch / "runs")})
    worker = subprocess.Popen(
        [sys.executable, "-m", "prefect", "worker", "start", "--pool", POOL, "--run-once", "--limit", "1"],
        env={**os.environ, **env}, cwd=scratch, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        out, _ = worker.communicate(timeout=2700)
    finally:
        if worker.poll() is None:  # never leave a worker (and its flow run) behind
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
    run = wait_for(api, run_id, timeout_s=120)
    runs = sorted(p for p in (scratch / "runs").iterdir() if p.is_dir()) if (scratch / "runs").is_dir() else []
    return {"run": run, "worker": out[-5000:], "runs": runs, "stack": stack,
            "tracking": tracking}


def test_deployment_sweeps_two_variants_into_mlflow_and_lineage_on_postgres(deployed: dict) -> None:
    from vlaser.lineage import open_registry
    from vlaser.orchestrate.state import latest_sweep, load_state
    from vlaser.tracking import open_tracking

    assert deployed["run"]["state_type"] == "COMPLETED", deployed["worker"]
    assert len(deployed["runs"]) == 1, "the run swept in one private workspace under runs_dir"
    ws = deployed["runs"][0]
    assert (ws / ".dvc").is_dir() and (ws / "models" / "grounding" / "s0" / "vla" / "meta.json").is_file()
    state = load_state(ws, latest_sweep(ws))
    assert state.status == "done" and state.variants == ["base", "grounding"]

    # MLflow server (PostgreSQL backend): the parent run and one child per variant, with metrics and inputs
    tr = open_tracking(TrackingSection(**deployed["tracking"]), root=ws)
    runs = tr.find_runs(state.sweep_id)
    assert runs.parent is not None and runs.parent.info.run_id == state.mlflow_parent_run
    for variant in ("base", "grounding"):
        child = runs.child(variant, 0)
        assert child is not None, variant
        assert "eval_closed_loop/success/avg" in child.data.metrics
        assert any(k.startswith("eval_reasoning/") for k in child.data.metrics)
        assert child.inputs.dataset_inputs
    # artifacts went through the server into the stack's artifact folder
    assert list(Path(deployed["stack"]["mlflow"]["artifacts"]).rglob("reasoning.json"))

    import psycopg

    port = deployed["stack"]["postgres"]["port"]
    with psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname="mlflow") as conn:
        n_runs = conn.execute("SELECT count(*) FROM runs").fetchone()[0]
    assert n_runs >= 3  # the rows live in PostgreSQL, not in a sqlite file

    with open_registry(deployed["tracking"]["lineage_url"], ws) as reg:
        rows = {r.path: r for r in reg.all()}
    for variant in ("base", "grounding"):
        vla = rows[f"models/{variant}/s0/vla"]
        assert vla.mlflow_run_id == runs.child(variant, 0).info.run_id
        assert vla.digest == dir_digest(ws / "models" / variant / "s0" / "vla")
    assert not (ws / ".vlaser" / "lineage.db").exists() and not (ws / ".vlaser" / "mlflow.db").exists()


def test_two_processes_write_lineage_at_once_on_the_stack(deployed: dict, scratch: Path) -> None:
    from vlaser.lineage import open_registry

    url = deployed["tracking"]["lineage_url"]
    root = scratch / "race"
    root.mkdir()
    (root / "params.yaml").write_text("# race\n")
    for w in range(2):
        for i in range(25):
            make_artifact(root, f"data/ood/w{w}-{i:03d}", "ood", params={"w": w, "i": i})
    code = WRITER.replace("open_registry(None, root)", "open_registry(__import__('os').environ['VLASER_TEST_URL'], root)")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(root), str(w), "25"], cwd=REPO,
                              env={**os.environ, "VLASER_TEST_URL": url}, stderr=subprocess.PIPE, text=True)
             for w in range(2)]
    (root / "go").touch()
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    with open_registry(url, root) as reg:
        race = [r for r in reg.all() if r.sweep == "race"]
    assert {r.path for r in race} == {f"data/ood/w{w}-{i:03d}" for w in range(2) for i in range(25)}
    assert {(r.variant, r.seed) for r in race} == {(f"v{w}", i) for w in range(2) for i in range(25)}


def test_dvc_push_then_pull_into_a_fresh_workspace_restores_data_and_models(deployed: dict, scratch: Path) -> None:
    from vlaser.orchestrate import dvc
    from vlaser.scale.workspaces import pull, push, set_remote

    ws = deployed["runs"][0]
    remote = scratch / "dvc-remote"
    set_remote(ws, "team", str(remote))
    push(ws)
    fresh = make_workspace(ws, scratch / "fresh")
    shutil.copy2(ws / "dvc.lock", fresh / "dvc.lock")  # what a git clone of the sweep's commit would bring
    set_remote(fresh, "team", str(remote))
    assert not (fresh / "models").exists()
    pull(fresh)
    folders = ["data/demos/smoke", "data/mixtures/grounding", "models/base/s0/vlm", "models/grounding/s0/vla",
               "reports/runs/grounding/s0/closed_loop"]
    for f in folders:
        assert dir_digest(fresh / f) == dir_digest(ws / f), f
    assert dvc.status(fresh) == {}, "the pulled workspace is up to date: a sweep there would run nothing"


def test_stack_status_reports_every_part_running(deployed: dict) -> None:
    res = cli("stack", "status", "--folder", deployed["stack"]["folder"], "--json")
    assert res.returncode == 0, res.stdout + res.stderr
    import json

    parts = json.loads(res.stdout)
    assert set(parts) == {"postgres", "mlflow", "prefect"} and all(p["running"] for p in parts.values())
