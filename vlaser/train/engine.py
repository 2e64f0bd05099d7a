"""One training-step interface over two engines: DeepSpeed and plain PyTorch.

Both engines take the same things (a model with ``compute_loss(batch) -> (loss, dict)``, named
parameter groups with their own learning rates, a ``TrainCommon`` section) and do the same arithmetic
per optimizer step, so that on tiny fp32 settings they give the same numbers:

    for each of the ``accum`` micro batches:  loss_i = compute_loss(batch_i); backward(loss_i / accum)
    mean loss finite?  (else ``NonFiniteLoss``, before any weight changes)
    clip the global gradient norm to ``grad_clip``; AdamW step; cosine-with-warm-up scheduler step

``accum = global_batch / (micro_batch x world_size)``. DeepSpeed gets a JSON config generated from the
section (``deepspeed_config``), a torch AdamW and a ``LambdaLR`` passed in; the plain engine wraps the
model in ``DistributedDataParallel`` when there is more than one process. Neither engine reads argv:
several processes come from the ``deepspeed`` launcher or ``torchrun`` through environment variables.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from vlaser.config.train import TrainCommon
from vlaser.errors import UserError
from vlaser.train import distributed as dist

Batch = dict[str, Any]


class NonFiniteLoss(RuntimeError):  # noqa: N818 - it is a condition of the run, named as such
    """The mean loss of a step was NaN or infinite (raised before the optimizer step)."""

    def __init__(self, loss: float):
        super().__init__(f"loss is {loss}")
        self.loss = loss


@dataclass(frozen=True)
class StepStats:
    loss: float  # mean over micro batches and processes, before clipping/stepping
    grad_norm: float | None  # global L2 norm before clipping (None where the engine does not report it)
    lrs: dict[str, float]  # learning rate per named parameter group, as used by this step
    extras: dict[str, float]  # mean of the numeric entries of compute_loss's dict


class LossModule(nn.Module):
    """Adapter: ``forward(batch)`` calls ``model.compute_loss(batch)`` (DeepSpeed drives ``forward``)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, batch: Batch):
        return self.model.compute_loss(batch)


def cosine_with_warmup(step: int, warmup: int, total: int) -> float:
    """LR multiplier for optimizer step ``step`` (0-based): linear warm-up to 1, then cosine to 0."""
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return 0.5 * (1.0 + math.cos(math.pi * progress))


def accumulation(cfg: TrainCommon, world_size: int) -> int:
    """Micro batches per optimizer step so that micro x accum x world = global batch."""
    per_step = cfg.micro_batch * world_size
    if cfg.global_batch % per_step:
        raise UserError(f"global_batch {cfg.global_batch} is not a multiple of micro_batch {cfg.micro_batch} x "
                        f"world size {world_size}; change global_batch or micro_batch")
    return cfg.global_batch // per_step


def deepspeed_config(cfg: TrainCommon, world_size: int) -> dict[str, Any]:
    """The DeepSpeed JSON config generated from the training section."""
    return {
        "train_batch_size": cfg.global_batch,
        "train_micro_batch_size_per_gpu": cfg.micro_batch,
        "gradient_accumulation_steps": accumulation(cfg, world_size),
        "gradient_clipping": cfg.grad_clip,
        "zero_optimization": {"stage": cfg.engine.zero_stage},
        "bf16": {"enabled": cfg.engine.precision == "bf16"},
        "fp16": {"enabled": False},
        # our optimizer is torch's AdamW; DeepSpeed only warrants its own optimizers under ZeRO
        "zero_allow_untested_optimizer": True,
        "steps_per_print": 1 << 30,
        "wall_clock_breakdown": False,
    }


def build_optimizer(groups: list[dict[str, Any]], cfg: TrainCommon):
    """AdamW over named groups ``{"name", "params", "lr"}`` (empty groups dropped) + cosine LambdaLR."""
    kept = [dict(g) for g in groups if any(p.requires_grad for p in g["params"])]
    if not kept:
        raise UserError("nothing to train: every parameter is frozen")
    for g in kept:
        g["params"] = [p for p in g["params"] if p.requires_grad]
        g.setdefault("lr", cfg.lr)
    opt = torch.optim.AdamW(kept, lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: cosine_with_warmup(s, cfg.warmup_steps, cfg.steps))
    return opt, sched


def _to_device(batch: Batch, device: torch.device, float_dtype: torch.dtype | None = None) -> Batch:
    out = {}
    for k, v in batch.items():
        if isinstance(v, torch.Tensor):
            v = v.to(device, non_blocking=True)
            if float_dtype is not None and v.is_floating_point():
                v = v.to(float_dtype)
        out[k] = v
    return out


def _extras(items: list[dict[str, Any]]) -> dict[str, float]:
    sums: dict[str, float] = {}
    for d in items:
        for k, v in (d or {}).items():
            if isinstance(v, int | float) or (isinstance(v, torch.Tensor) and v.numel() == 1):
                sums[k] = sums.get(k, 0.0) + float(v)
    return {k: v / len(items) for k, v in sums.items()}


class _Engine:
    """What both engines share: groups, optimizer, scheduler, the finite-loss check."""

    kind = "base"

    def __init__(self, model: nn.Module, groups: list[dict[str, Any]], cfg: TrainCommon):
        self.model, self.cfg = model, cfg
        self.dist = dist.ensure_env()
        self.device = dist.device()
        self.accum = accumulation(cfg, self.dist.world_size)
        self.optimizer, self.scheduler = build_optimizer(groups, cfg)
        self.group_names = [g.get("name", f"group{i}") for i, g in enumerate(self.optimizer.param_groups)]

    def lrs(self) -> dict[str, float]:
        return {n: float(g["lr"]) for n, g in zip(self.group_names, self.optimizer.param_groups, strict=True)}

    def _check(self, losses: list[torch.Tensor]) -> float:
        loss = float(dist.mean_across(torch.stack([x.float() for x in losses]).mean()))
        if not math.isfinite(loss):
            raise NonFiniteLoss(loss)
        return loss


class TorchEngine(_Engine):
    """Plain PyTorch: manual accumulation, ``clip_grad_norm_``, AdamW, LambdaLR; DDP for N processes."""

    kind = "torch"

    def __init__(self, model: nn.Module, groups: list[dict[str, Any]], cfg: TrainCommon):
        super().__init__(model, groups, cfg)
        model.to(self.device)
        self.module: nn.Module = LossModule(model)
        if self.dist.world_size > 1:
            dist.init_torch_group()
            ids = [self.device.index] if self.device.type == "cuda" else None
            # stage 2 never touches the VLM's LM head (actions come from the expert), so some parameters get
            # no gradient; DDP must be told, or it stops at the first step waiting for their reduction
            self.module = nn.parallel.DistributedDataParallel(self.module, device_ids=ids, find_unused_parameters=True)
        self.bf16 = cfg.engine.precision == "bf16"

    def train_step(self, micro_batches: list[Batch]) -> StepStats:
        self.module.train()
        losses, extras = [], []
        for i, mb in enumerate(micro_batches):
            last = i == len(micro_batches) - 1
            sync = self.module.no_sync() if hasattr(self.module, "no_sync") and not last else contextlib.nullcontext()
            with sync, torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16):
                loss, aux = self.module(_to_device(mb, self.device))
                (loss / len(micro_batches)).backward()
            losses.append(loss.detach())
            extras.append(aux)
        lrs = self.lrs()
        try:
            loss = self._check(losses)
        except NonFiniteLoss:
            self.optimizer.zero_grad(set_to_none=True)
            raise
        params = [p for g in self.optimizer.param_groups for p in g["params"]]
        norm = torch.nn.utils.clip_grad_norm_(params, self.cfg.grad_clip)
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        return StepStats(loss, float(norm), lrs, _extras(extras))

    def optimizer_state(self) -> dict[str, Any]:
        return {"optimizer": self.optimizer.state_dict()}

    def load_optimizer_state(self, states: list[dict[str, Any]]) -> None:
        self.optimizer.load_state_dict(states[self.dist.rank]["optimizer"])


class DeepSpeedEngine(_Engine):
    """``deepspeed.initialize`` with the generated config, our AdamW and LambdaLR, gloo on the CPU."""

    kind = "deepspeed"
    # entries of ZeRO's state_dict that are objects, not data: rebuilt by the engine on load
    _DROP = ("loss_scaler", "param_slice_mappings")

    def __init__(self, model: nn.Module, groups: list[dict[str, Any]], cfg: TrainCommon):
        super().__init__(model, groups, cfg)
        import os

        from vlaser.runtime import env_defaults, workspace_root

        # the JIT-built comm op is cached here: one persistent folder, or every stage pays ~80 s again
        os.environ.setdefault("TORCH_EXTENSIONS_DIR", env_defaults(workspace_root())["TORCH_EXTENSIONS_DIR"])
        import deepspeed

        if cfg.engine.zero_stage == 3:
            raise UserError("engine.zero_stage 3 is not supported by the training checkpoints (use 0, 1 or 2)")
        if not dist.initialized():
            deepspeed.init_distributed(dist_backend=dist.backend(), verbose=False)
        self.ds, _, _, _ = deepspeed.initialize(
            model=LossModule(model.to(self.device)), optimizer=self.optimizer, lr_scheduler=self.scheduler,
            config=deepspeed_config(cfg, self.dist.world_size))
        self.float_dtype = torch.bfloat16 if cfg.engine.precision == "bf16" else None

    def _grad_norm_stage0(self) -> float | None:
        # without ZeRO, DeepSpeed clips with its own helper and does not keep the norm
        if self.cfg.engine.zero_stage != 0:
            return None
        grads = [p.grad.detach().float() for p in self.ds.module.parameters() if p.grad is not None]
        return float(torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads])))

    def train_step(self, micro_batches: list[Batch]) -> StepStats:
        if len(micro_batches) != self.accum:
            raise ValueError(f"DeepSpeed step needs {self.accum} micro batches, got {len(micro_batches)}")
        self.ds.train()
        losses, extras = [], []
        for i, mb in enumerate(micro_batches):
            loss, aux = self.ds(_to_device(mb, self.device, self.float_dtype))
            self.ds.backward(loss)
            losses.append(loss.detach())
            extras.append(aux)
            if i < len(micro_batches) - 1:
                self.ds.step()  # not a boundary: only counts the micro step
        lrs = self.lrs()
        loss = self._check(losses)
        norm = self._grad_norm_stage0()
        self.ds.step()
        if norm is None:
            got = self.ds.get_global_grad_norm()
            norm = None if got is None else float(got)
        return StepStats(loss, norm, lrs, _extras(extras))

    def optimizer_state(self) -> dict[str, Any]:
        sd = self.ds.optimizer.state_dict()
        return {"optimizer": {k: v for k, v in sd.items() if k not in self._DROP}}

    def load_optimizer_state(self, states: list[dict[str, Any]]) -> None:
        opt = self.ds.optimizer
        if self.cfg.engine.zero_stage == 0:
            opt.load_state_dict(states[self.dist.rank]["optimizer"])
            return
        # ZeRO 1/2: every rank's partition list, fp32 master copies restored from the saved partitions
        opt.load_state_dict([s["optimizer"] for s in states], load_optimizer_states=True,
                            load_from_fp32_weights=True)


def make_engine(model: nn.Module, groups: list[dict[str, Any]], cfg: TrainCommon) -> TorchEngine | DeepSpeedEngine:
    """The engine named by ``cfg.engine.kind``."""
    return (DeepSpeedEngine if cfg.engine.kind == "deepspeed" else TorchEngine)(model, groups, cfg)
