"""Store down: clear failure naming the URI, or records buffered on disk and replayed into the store."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from tests.tracking.conftest import dead_url, make_artifact
from vlaser.errors import UserError
from vlaser.tracking import DatasetRef, Tracking


def test_fail_mode_names_the_unreachable_uri(tmp_path: Path) -> None:
    url = dead_url()
    tr = Tracking(uri=url, root=tmp_path, mode="fail", timeout_s=2)
    with pytest.raises(UserError) as err:
        tr.start_sweep_run("sw-x", preset="tiny")
    assert url in str(err.value) and "unreachable" in str(err.value) and "when_unreachable" in str(err.value)
    with pytest.raises(UserError, match=url):
        tr.find_runs("sw-x")
    assert not (tmp_path / ".vlaser" / "tracking-buffer").exists() or not list(
        (tmp_path / ".vlaser" / "tracking-buffer").glob("*.json"))


def test_records_buffered_while_down_replay_into_the_store(store: Tracking, tmp_path: Path, repo_root) -> None:
    mix = make_artifact(tmp_path, "data/mixtures/ood", "mixture")
    down = Tracking(uri=dead_url(), root=tmp_path, mode="buffer", timeout_s=2)
    sweep = down.start_sweep_run("sw-buf", preset="tiny", params={"seeds": [0]})
    run = down.variant_run("sw-buf", "ood", 0)
    assert sweep.run_id is None and run.run_id is None  # exists only in the buffer so far
    down.record_stage(run, "mixture", params={"weights": {"ood": 1.0}}, metrics={"records": 40},
                      inputs=[DatasetRef.from_artifact(mix, root=tmp_path)], dvc_hash="feed")
    for step in range(3):
        down.tracker(run, "pretrain").log_metrics({"loss": 1.0 / (step + 1)}, step=step)
    down.finish(run)
    pending = sorted((tmp_path / ".vlaser" / "tracking-buffer").glob("*.json"))
    assert len(pending) == 7

    # replay with the CLI, in a workspace whose params.yaml points at the (now reachable) store
    settings = yaml.safe_load((repo_root / "params.yaml").read_text())
    settings["tracking"]["mlflow_uri"] = store.uri
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(settings))
    from vlaser.cli import app

    runner = CliRunner()
    res = runner.invoke(app, ["--params", str(tmp_path / "params.yaml"), "tracking", "flush"],
                        env={"VLASER_WORKSPACE": str(tmp_path)})
    assert res.exit_code == 0, res.output
    assert "replayed 7" in res.output and not list((tmp_path / ".vlaser" / "tracking-buffer").glob("*.json"))

    found = store.find_runs("sw-buf")
    child = found.child("ood", 0)
    assert found.parent.data.tags["vlaser.preset"] == "tiny" and found.parent.data.params == {"sweep.seeds": "[0]"}
    assert child.data.tags["mlflow.parentRunId"] == found.parent.info.run_id
    assert child.data.params == {"mixture.weights.ood": "1.0"} and child.data.tags["dvc.mixture.hash"] == "feed"
    assert child.data.metrics["mixture/records"] == 40.0 and child.info.status == "FINISHED"
    hist = store.client.get_metric_history(child.info.run_id, "pretrain/loss")
    assert [m.step for m in hist] == [0, 1, 2]
    assert [d.dataset.name for d in child.inputs.dataset_inputs] == ["data/mixtures/ood"]
    res = runner.invoke(app, ["--params", str(tmp_path / "params.yaml"), "tracking", "runs", "sw-buf", "--json"],
                        env={"VLASER_WORKSPACE": str(tmp_path)})
    assert res.exit_code == 0 and '"vlaser.variant": "ood"' in res.output


def test_store_going_down_mid_sweep_loses_nothing(store: Tracking, tmp_path: Path) -> None:
    db = Path(store.uri.removeprefix("sqlite:///"))
    tr = Tracking(uri=store.uri, root=tmp_path, mode="buffer", timeout_s=2)
    run = tr.variant_run("sw-mid", "base", 0)
    tr.record_stage(run, "pretrain", metrics={"loss": 0.5})
    assert run.run_id is not None
    holder = sqlite3.connect(db, isolation_level=None, timeout=1)
    holder.execute("BEGIN EXCLUSIVE")  # the store stops answering (as a locked or dead database does)
    try:
        tr.record_stage(run, "finetune", metrics={"loss": 0.25})
        tr.finish(run)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert len(list((tmp_path / ".vlaser" / "tracking-buffer").glob("*.json"))) == 2
    assert tr.flush_buffer() == 2 and tr.flush_buffer() == 0
    got = store.client.get_run(run.run_id)
    assert got.data.metrics == {"pretrain/loss": 0.5, "finetune/loss": 0.25} and got.info.status == "FINISHED"
    shutil.rmtree(tmp_path / ".vlaser")
