"""The generic loop on a toy model: exact resume after SIGKILL, NaN stop, accumulation, guard, MLflow."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tests.train.toy import ListTracker, ToyData, ToyModel, collate
from vlaser.config.train import PretrainSection
from vlaser.errors import UserError
from vlaser.train import checkpoints
from vlaser.train.distributed import free_port
from vlaser.train.loop import train_loop

REPO = Path(__file__).resolve().parents[2]


def _child(out: Path, *args: int) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "VLASER_QUIET": "1", "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-m", "tests.train.run_toy", str(out), *map(str, args)],
                            cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _finish(proc: subprocess.Popen) -> dict:
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr[-3000:]
    return json.loads(stdout.strip().splitlines()[-1])


def test_resume_after_sigkill_matches_uninterrupted_run(tmp_path):
    full = _finish(_child(tmp_path / "full", 12, 4))
    out = tmp_path / "killed"
    proc = _child(out, 12, 4, 6)  # hangs after step 6, i.e. two steps past the checkpoint at 4
    marker = out.with_suffix(".hang")
    deadline = time.monotonic() + 240
    while not marker.exists():
        assert proc.poll() is None, proc.stderr.read()[-3000:]
        assert time.monotonic() < deadline, "child never reached the hang step"
        time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert checkpoints.latest(out).name == "step_4"
    assert not (out / ".train_state" / "step_6").exists()

    resumed = _finish(_child(out, 12, 4))
    assert resumed["resumed_from"] == 4
    assert abs(resumed["final_loss"] - full["final_loss"]) <= 1e-6
    assert resumed["losses"] == pytest.approx(full["losses"][4:], abs=1e-6)
    a = load_file(str(tmp_path / "full" / ".train_state" / "step_12" / "model.safetensors"))
    b = load_file(str(out / ".train_state" / "step_12" / "model.safetensors"))
    assert all(torch.allclose(a[k], b[k], atol=1e-7, rtol=0) for k in a)


def _cfg(**kw) -> PretrainSection:
    base = {"steps": 8, "micro_batch": 4, "global_batch": 8, "lr": 1e-2, "warmup_steps": 2,
            "checkpoint_every": 4, "seed": 0}
    return PretrainSection(**{**base, **kw})


def _run(cfg: PretrainSection, out: Path, model: ToyModel | None = None, tracker=None, n: int = 24):
    model = model or ToyModel()
    tracker = tracker if tracker is not None else ListTracker()
    summary = train_loop(model, model.groups(cfg.lr, 3e-2), ToyData(n=n), collate, cfg, out,
                         {"pretrain": cfg.model_dump(mode="json")}, tracker, prefix="toy")
    return summary, tracker


def test_nonfinite_loss_names_step_and_last_checkpoint(tmp_path):
    model = ToyModel()
    model.nan_from_call = 2 * 6 + 1  # 2 micro batches per step: the first micro batch of step 7
    with pytest.raises(UserError) as err:
        _run(_cfg(), tmp_path / "run", model)
    msg = str(err.value)
    assert "step 7" in msg
    assert str(tmp_path / "run" / ".train_state" / "step_4") in msg
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_nan_before_any_checkpoint_says_none(tmp_path):
    model = ToyModel()
    model.nan_from_call = 1
    with pytest.raises(UserError, match=r"step 1;.*none"):
        _run(_cfg(), tmp_path / "run", model)


def test_gradient_accumulation_equals_one_big_batch(tmp_path):
    # noise off: torch draws a [4,6] and an [8,6] normal tensor in different orders
    small, _ = _run(_cfg(micro_batch=4, global_batch=8), tmp_path / "a", ToyModel(noise=0.0))
    big, _ = _run(_cfg(micro_batch=8, global_batch=8), tmp_path / "b", ToyModel(noise=0.0))
    assert small["final_loss"] == pytest.approx(big["final_loss"], abs=1e-6)
    wa = load_file(str(tmp_path / "a" / ".train_state" / "step_8" / "model.safetensors"))
    wb = load_file(str(tmp_path / "b" / ".train_state" / "step_8" / "model.safetensors"))
    assert all(torch.allclose(wa[k], wb[k], atol=1e-6) for k in wa)


def test_schedule_groups_and_metrics(tmp_path):
    _, tracker = _run(_cfg(steps=10, checkpoint_every=5, warmup_steps=4), tmp_path / "run")
    body, head = tracker.series("toy/lr/body"), tracker.series("toy/lr/head")
    assert body[:4] == pytest.approx([0.0025, 0.005, 0.0075, 0.01])  # linear warm-up
    assert head[3] == pytest.approx(3e-2) and body[-1] < body[5] < body[4]  # own lr, then cosine decay
    assert all(set(m) >= {"toy/loss", "toy/grad_norm", "toy/samples_per_s"} for _, m in tracker.metrics)
    assert [s for s, _ in tracker.metrics] == list(range(1, 11))
    assert tracker.params["toy.pretrain.lr"] == 0.01


def test_resume_guard_names_the_changed_keys(tmp_path):
    _run(_cfg(), tmp_path / "run")
    with pytest.raises(UserError, match=r"pretrain\.lr: 0\.01 -> 0\.02.*pretrain\.warmup_steps"):
        _run(_cfg(lr=2e-2, warmup_steps=3), tmp_path / "run")
    # checkpoint_every may change: the run is complete, so the resume does no step
    summary, _ = _run(_cfg(checkpoint_every=2), tmp_path / "run")
    assert summary["resumed_from"] == 8


def test_mlflow_store_receives_params_and_step_metrics(tmp_path):
    import mlflow
    from mlflow.tracking import MlflowClient

    from vlaser.train.tracking import MlflowTracker

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    try:
        exp = mlflow.create_experiment("train-test", artifact_location=str(tmp_path / "art"))
        with mlflow.start_run(experiment_id=exp) as run:
            _run(_cfg(steps=6, checkpoint_every=3), tmp_path / "run", tracker=MlflowTracker(run, flush_every=4))
    finally:
        mlflow.set_tracking_uri(None)
    client = MlflowClient(tracking_uri=uri)
    data = client.get_run(run.info.run_id).data
    assert data.params["toy.pretrain.global_batch"] == "8"
    for key in ("toy/loss", "toy/lr/body", "toy/grad_norm", "toy/samples_per_s"):
        history = client.get_metric_history(run.info.run_id, key)
        assert sorted(m.step for m in history) == list(range(1, 7)), key
    losses = sorted(client.get_metric_history(run.info.run_id, "toy/loss"), key=lambda m: m.step)
    assert all(m.value > 0 for m in losses)


@pytest.mark.slow  # two launcher runs: ~100-150 s each on a loaded 2-core machine
@pytest.mark.parametrize("engine", ["torch", "deepspeed"])
def test_two_processes_under_torchrun_equal_one_process_with_accumulation(tmp_path, engine):
    # world 2 x micro 4 (accum 1) and world 1 x micro 4 x accum 2 see the same global batches;
    # input noise off because each process draws its own noise
    env = {**os.environ, "OMP_NUM_THREADS": "1", "VLASER_QUIET": "1", "PYTHONPATH": str(REPO), "TOY_NOISE": "0",
           "TOY_ENGINE": engine}
    for key in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(key, None)
    runs = {}
    for world in (1, 2):
        launcher = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(world),
                    "--master_port", str(free_port())]
        proc = subprocess.run([*launcher, "-m", "tests.train.run_toy", str(tmp_path / f"w{world}"), "6", "3"],
                              cwd=REPO, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=400)
        assert proc.returncode == 0, proc.stderr[-3000:]
        lines = [json.loads(x) for x in proc.stdout.splitlines() if x.startswith("{")]
        assert len(lines) == world and all(x["world_size"] == world for x in lines)
        runs[world] = next(x for x in lines if x["losses"])  # process 0 is the one with a tracker
    assert runs[2]["losses"] == pytest.approx(runs[1]["losses"], abs=1e-5)
    assert (tmp_path / "w2" / ".train_state" / "step_6" / "optimizer_rank1.safetensors").is_file()
