"""The MLflow convention against a real sqlite store: parent + child runs, params, metrics, inputs, tags."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mlflow import MlflowClient

from tests.tracking.conftest import make_artifact
from vlaser.errors import UserError
from vlaser.io import read_meta
from vlaser.tracking import CheckpointRef, DatasetRef, Tracking, stage_params
from vlaser.tracking.convention import MAX_PARAM, resolve_uri


def _sweep(tr: Tracking, sweep_id: str) -> dict[str, Path]:
    root = tr.root
    arts = {
        "mixture": make_artifact(root, f"{sweep_id}/data/mixtures/ood", "mixture"),
        "demos": make_artifact(root, f"{sweep_id}/data/demos/cpu", "demos"),
        "vlm": make_artifact(root, f"{sweep_id}/models/ood/s0/vlm", "vlm"),
        "report": make_artifact(root, f"{sweep_id}/reports/ood/s0", "report",
                                {"closed_loop.json": json.dumps({"average": {"rate": 0.5}})}),
    }
    tr.start_sweep_run(sweep_id, preset="tiny", params={"variants": ["ood", "base"], "seeds": [0]})
    for variant in ("ood", "base"):
        run = tr.variant_run(sweep_id, variant, 0)
        tr.record_stage(run, "pretrain", params={"lr": 2e-5, "optim": {"betas": [0.9, 0.95]}},
                        metrics={"loss": 1.25, "tokens": 1000},
                        inputs=[DatasetRef.from_artifact(arts["mixture"], root=root)],
                        checkpoints=[CheckpointRef.from_artifact(arts["vlm"])], dvc_hash="a1b2c3")
        tr.record_stage(run, "eval_closed_loop", metrics={"success": {"avg": 0.5, "PickCube-v1": 0.75}},
                        inputs=[DatasetRef.from_artifact(arts["demos"], "evaluation", root=root)],
                        artifacts=[arts["report"] / "closed_loop.json"])
        tr.finish(run)
    return arts


def test_parent_and_child_runs_hold_params_metrics_inputs_and_tags(store: Tracking) -> None:
    arts = _sweep(store, "sw-a")
    client = MlflowClient(tracking_uri=store.uri)  # read back with a plain client, not our adapter
    runs = client.search_runs([store.experiment_id()], "tags.`vlaser.sweep_id` = 'sw-a'")
    parent = next(r for r in runs if r.data.tags["vlaser.role"] == "sweep")
    children = {r.data.tags["vlaser.variant"]: r for r in runs if r.data.tags["vlaser.role"] == "variant"}
    assert len(runs) == 3 and set(children) == {"ood", "base"}
    assert parent.data.tags["vlaser.preset"] == "tiny" and parent.data.params["sweep.seeds"] == "[0]"
    assert len(parent.data.tags["vlaser.git_commit"]) == 40 and parent.data.tags["vlaser.git_dirty"] in ("true", "false")
    ood = children["ood"]
    assert ood.data.tags["mlflow.parentRunId"] == parent.info.run_id and ood.data.tags["vlaser.seed"] == "0"
    assert ood.data.params["pretrain.lr"] == "2e-05" and ood.data.params["pretrain.optim.betas"] == "[0.9, 0.95]"
    assert ood.data.metrics == {"pretrain/loss": 1.25, "pretrain/tokens": 1000.0,
                                "eval_closed_loop/success/avg": 0.5, "eval_closed_loop/success/PickCube-v1": 0.75}
    assert ood.data.tags["dvc.pretrain.hash"] == "a1b2c3"
    assert ood.data.tags["vlaser.checkpoint.vlm.digest"] == read_meta(arts["vlm"])["digest"]
    assert ood.data.tags["vlaser.checkpoint.vlm.path"] == str(arts["vlm"])
    inputs = {d.dataset.name: d for d in ood.inputs.dataset_inputs}
    mix = inputs["sw-a/data/mixtures/ood"]
    tags = {t.key: t.value for t in mix.tags}
    assert tags == {"mlflow.data.context": "training", "vlaser.digest": read_meta(arts["mixture"])["digest"]}
    assert mix.dataset.digest == tags["vlaser.digest"][:36]
    assert {t.key: t.value for t in inputs["sw-a/data/demos/cpu"].tags}["mlflow.data.context"] == "evaluation"
    assert [f.path for f in client.list_artifacts(ood.info.run_id, "eval_closed_loop")] == [
        "eval_closed_loop/closed_loop.json"]
    assert ood.info.status == "FINISHED"
    assert Path(store.uri.removeprefix("sqlite:///")) == store.root / ".vlaser" / "mlflow.db"


def test_runs_are_found_again_not_duplicated(store: Tracking) -> None:
    _sweep(store, "sw-b")
    again = Tracking(root=store.root, mode="fail")  # another process of the same sweep
    run = again.variant_run("sw-b", "ood", 0)
    found = again.find_runs("sw-b")
    assert len(found.children) == 2 and found.child("ood", 0).info.run_id == run.run_id
    assert found.parent.info.run_id == again.start_sweep_run("sw-b").run_id
    with pytest.raises(UserError, match="no MLflow runs of sweep 'nope'"):
        again.find_runs("nope")


def test_tracker_logs_training_curves_by_step(store: Tracking) -> None:
    run = store.variant_run("sw-c", "all", 1)
    tracker = store.tracker(run, "finetune")
    tracker.log_params({"steps": 3, "lr": 5e-5})
    for step, loss in enumerate([0.9, 0.6, 0.4]):
        tracker.log_metrics({"loss": loss}, step=step)
    hist = store.client.get_metric_history(run.run_id, "finetune/loss")
    assert [(m.step, m.value) for m in hist] == [(0, 0.9), (1, 0.6), (2, 0.4)]
    assert store.client.get_run(run.run_id).data.params == {"finetune.steps": "3", "finetune.lr": "5e-05"}


def test_bad_records_are_refused_clearly(store: Tracking) -> None:
    run = store.variant_run("sw-d", "qa", 0)
    store.record_stage(run, "pretrain", params={"lr": 1e-4})
    with pytest.raises(UserError, match="start a new sweep"):
        store.record_stage(run, "pretrain", params={"lr": 3e-4})
    with pytest.raises(ValueError, match="metric 'pretrain/loss' of stage 'pretrain' is 'nan-ish'"):
        store.record_stage(run, "pretrain", metrics={"loss": "nan-ish"})
    with pytest.raises(UserError, match="sweep id"):
        store.start_sweep_run("bad' OR 1=1")


def test_param_values_and_uris_follow_the_convention(tmp_path: Path) -> None:
    p = stage_params("mixture", {"weights": {"ood": 1.0}, "long": "x" * (MAX_PARAM + 10), "none": None})
    assert p["mixture.weights.ood"] == "1.0" and p["mixture.none"] == "None"
    assert len(p["mixture.long"]) == MAX_PARAM and p["mixture.long"].endswith("[truncated]")
    assert resolve_uri("sqlite:///.vlaser/mlflow.db", tmp_path) == f"sqlite:///{tmp_path}/.vlaser/mlflow.db"
    assert resolve_uri("http://127.0.0.1:5000", tmp_path) == "http://127.0.0.1:5000"
