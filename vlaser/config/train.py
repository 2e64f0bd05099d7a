"""Training settings for stage 1 (VLM SFT) and stage 2 (VLA flow matching)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from vlaser.config.base import Section


class EngineSpec(Section):
    kind: Literal["deepspeed", "torch"] = "torch"  # DeepSpeed engine, or plain PyTorch (same numbers on tiny)
    zero_stage: int = Field(1, ge=0, le=3)
    precision: Literal["fp32", "bf16"] = "fp32"  # fp16 is not offered: it fails on CPU


class TrainCommon(Section):
    steps: int = Field(200, gt=0)
    micro_batch: int = Field(16, gt=0)
    global_batch: int = Field(16, gt=0)  # reached by gradient accumulation over micro batches x world size
    lr: float = Field(1e-3, gt=0)
    warmup_steps: int = Field(10, ge=0)
    weight_decay: float = Field(0.0, ge=0)
    grad_clip: float = Field(1.0, gt=0)
    checkpoint_every: int = Field(100, gt=0)
    seed: int = 0
    engine: EngineSpec = EngineSpec()

    @model_validator(mode="after")
    def _batches(self):
        if self.global_batch % self.micro_batch:
            raise ValueError(
                f"global_batch ({self.global_batch}) must be a multiple of micro_batch ({self.micro_batch})"
            )
        if self.warmup_steps > self.steps:
            raise ValueError(f"warmup_steps ({self.warmup_steps}) exceeds steps ({self.steps})")
        return self


class PretrainSection(TrainCommon):
    pass


class FinetuneSection(TrainCommon):
    expert_lr: float = Field(1e-3, gt=0)  # the action expert's own learning rate
    epochs: float | None = Field(None, gt=0)  # if set: steps = epochs x demo steps / global_batch (replaces steps)
    freeze_vlm: bool = False
    demos_per_task: int | None = Field(None, gt=0)  # use only the first N demos per task (None = all)
    noise_samples: int = Field(1, ge=1)  # flow-matching noise draws per sample
    image_shift: int = Field(4, ge=0)  # +-pixels of random-shift augmentation
