"""The paper preset's training entries and the tiny preset's engine arithmetic."""

from __future__ import annotations

from pathlib import Path

from vlaser.config import load_params
from vlaser.train.engine import accumulation, deepspeed_config

REPO = Path(__file__).resolve().parents[2]


def test_internvl3_2b_preset_has_the_paper_settings():
    p = load_params(REPO / "params.yaml", preset="internvl3-2b")
    pre, fine, model = p.pretrain, p.finetune, p.model
    assert (pre.steps, pre.global_batch, pre.lr) == (5000, 128, 2e-5)
    assert (fine.epochs, fine.global_batch, fine.lr) == (10, 1024, 5e-5)
    assert (model.chunk_size, model.exec_horizon, model.denoise_steps) == (4, 4, 10)
    for section in (pre, fine):
        assert section.engine.kind == "deepspeed" and section.engine.precision == "bf16"
        # 8 GPUs: micro x accum x 8 = global batch
        ds = deepspeed_config(section, world_size=8)
        assert ds["train_micro_batch_size_per_gpu"] * ds["gradient_accumulation_steps"] * 8 == section.global_batch


def test_tiny_preset_is_one_process_plain_engine():
    p = load_params(REPO / "params.yaml")
    assert p.pretrain.engine.kind == "torch" and accumulation(p.pretrain, 1) >= 1
    assert accumulation(p.finetune, 1) * p.finetune.micro_batch == p.finetune.global_batch
