"""DeepSpeed engine (one CPU process, gloo) against the plain engine, and its checkpoint round trip.

The first DeepSpeed init on a machine JIT-builds a comm op (~80 s, cached in TORCH_EXTENSIONS_DIR).
"""

from __future__ import annotations

import shutil

import pytest

from tests.train.toy import ListTracker, ToyData, ToyModel, collate
from vlaser.config.train import PretrainSection
from vlaser.train import checkpoints
from vlaser.train.engine import deepspeed_config
from vlaser.train.loop import train_loop

pytest.importorskip("deepspeed")


def _cfg(kind: str, zero: int = 1) -> PretrainSection:
    return PretrainSection(steps=6, micro_batch=4, global_batch=8, lr=1e-2, warmup_steps=2, checkpoint_every=3,
                           seed=0, engine={"kind": kind, "zero_stage": zero, "precision": "fp32"})


def _run(cfg: PretrainSection, out):
    model, tracker = ToyModel(), ListTracker()
    summary = train_loop(model, model.groups(cfg.lr, 3e-2), ToyData(n=20), collate, cfg, out,
                         {"pretrain": cfg.model_dump(mode="json")}, tracker, prefix="toy")
    return summary, tracker


def test_generated_config_reaches_global_batch():
    cfg = PretrainSection(steps=10, micro_batch=4, global_batch=32, engine={"kind": "deepspeed", "zero_stage": 2,
                                                                           "precision": "bf16"})
    ds = deepspeed_config(cfg, world_size=2)
    assert ds["train_micro_batch_size_per_gpu"] * ds["gradient_accumulation_steps"] * 2 == ds["train_batch_size"]
    assert ds["zero_optimization"]["stage"] == 2 and ds["bf16"]["enabled"] and ds["gradient_clipping"] == 1.0


@pytest.mark.parametrize("zero", [1, 0])
def test_deepspeed_matches_plain_engine_and_resumes_exactly(tmp_path, zero):
    plain, plain_t = _run(_cfg("torch"), tmp_path / "plain")
    ds, ds_t = _run(_cfg("deepspeed", zero), tmp_path / "ds")
    assert ds["engine"] == "deepspeed"
    assert ds_t.series("toy/loss") == pytest.approx(plain_t.series("toy/loss"), abs=1e-5)
    assert ds_t.series("toy/grad_norm") == pytest.approx(plain_t.series("toy/grad_norm"), rel=1e-4)
    assert ds_t.series("toy/lr/head") == pytest.approx(plain_t.series("toy/lr/head"))

    # resume from step 3 (as if killed there): the same final loss as the uninterrupted DeepSpeed run
    root = tmp_path / "ds" / ".train_state"
    shutil.rmtree(root / "step_6")
    (root / "last").write_text("step_3\n")
    resumed, resumed_t = _run(_cfg("deepspeed", zero), tmp_path / "ds")
    assert resumed["resumed_from"] == 3
    assert abs(resumed["final_loss"] - ds["final_loss"]) <= 1e-6
    assert resumed_t.series("toy/loss") == pytest.approx(ds_t.series("toy/loss")[3:], abs=1e-6)
    assert checkpoints.latest(tmp_path / "ds").name == "step_6"
