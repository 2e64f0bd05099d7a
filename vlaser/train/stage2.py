"""Stage 2: flow-matching finetuning of the VLA (VLM + action expert) on demonstrations.

    finetune(params.finetune, params.model, Path("models/all/s0/vlm"), Path("data/demos/cpu-default"),
             Path("models/all/s0/vla"), seed=0)

Samples are (frame, instruction, state) -> the next P actions (``demo_data.py``), normalised with
stats from these training demos, which are saved with the checkpoint. Two parameter groups: ``vlm``
(``lr``; dropped and frozen when ``freeze_vlm``) and ``expert`` (``expert_lr``). ``noise_samples`` flow
draws per sample; random-shift augmentation of ``image_shift`` px. With ``epochs`` set, the step count
is ``epochs x samples / global_batch`` (the paper trains 10 epochs).

Resumable state: ``out/.train_state/`` (see checkpoints.py); the finished ``out/`` holds the policy and
its stats (``save_vla``), ``train_summary.json`` and ``meta.json``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vlaser.config.model import ModelSection
from vlaser.config.train import FinetuneSection
from vlaser.errors import UserError
from vlaser.log import get_logger
from vlaser.train.artifact import finalize, parent_digest
from vlaser.train.loop import Tracker, log_checkpoint, train_loop
from vlaser.train.stage1 import run_seed

log = get_logger("train.stage2")


def resolve_steps(cfg: FinetuneSection, samples: int) -> FinetuneSection:
    """``cfg`` with ``steps`` from ``epochs`` when set (warm-up must still fit)."""
    if cfg.epochs is None:
        return cfg
    steps = max(1, round(cfg.epochs * samples / cfg.global_batch))
    if cfg.warmup_steps > steps:
        raise UserError(f"finetune: {cfg.epochs} epochs of {samples} samples at global_batch {cfg.global_batch} "
                        f"is {steps} steps, fewer than warmup_steps ({cfg.warmup_steps}); lower warmup_steps")
    return cfg.model_copy(update={"steps": steps})


def param_groups(policy, cfg: FinetuneSection) -> list[dict[str, Any]]:
    """``vlm`` (lr) and ``expert`` (expert_lr) groups; everything else (an untied LM head) frozen."""
    expert = policy.action_expert_parameters()
    vlm = [] if cfg.freeze_vlm else policy.vlm_parameters()
    trained = {id(p) for p in expert + vlm}
    for p in policy.parameters():
        p.requires_grad_(id(p) in trained)
    groups = [{"name": "expert", "params": expert, "lr": cfg.expert_lr}]
    if vlm:
        groups.insert(0, {"name": "vlm", "params": vlm, "lr": cfg.lr})
    return groups


def finetune(cfg: FinetuneSection, model_cfg: ModelSection, vlm_dir: Path, demos_dir: Path, out: Path, seed: int,
             tracker: Tracker | None = None) -> dict[str, Any]:
    """Train the VLA from the VLM in ``vlm_dir`` on the demos in ``demos_dir``; write it to ``out``.

    Args:
        cfg: the ``finetune`` section.
        model_cfg: the ``model`` section (expert width, P, K, state/action dims).
        vlm_dir: a stage-1 VLM folder.
        demos_dir: a demos folder (``vlaser.sim.demos``).
        out: the VLA folder to write (``models/<variant>/s<seed>/vla``).
        seed: the run's seed (expert init, data order, noise, augmentation).
        tracker: receives params, per-step metrics and the checkpoint path + digest (None = no tracking).
    """
    import torch

    from vlaser.model.checkpoint import load_vlm, save_vla
    from vlaser.model.image import ImageProcessor
    from vlaser.model.policy import VLAPolicy
    from vlaser.sim.demos import load_demos
    from vlaser.train import distributed as dist
    from vlaser.train.demo_data import DemoChunks, DemoCollate, FlowLoss, demo_stats, select_demos

    out, vlm_dir, demos_dir = Path(out), Path(vlm_dir), Path(demos_dir)
    episodes = select_demos(load_demos(demos_dir), cfg.demos_per_task)
    stats = demo_stats(episodes)
    vlm, tokenizer, _ = load_vlm(vlm_dir)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(run_seed(cfg.seed, seed))  # the expert's initial weights
        policy = VLAPolicy(vlm, model_cfg)
    data = DemoChunks(episodes, stats, model_cfg.chunk_size, model_cfg.state_dim, model_cfg.action_dim)
    loop_cfg = resolve_steps(cfg, len(data)).model_copy(update={"seed": run_seed(cfg.seed, seed)})
    vlm_parent, demos_parent = parent_digest(vlm_dir), parent_digest(demos_dir)
    parents = {**vlm_parent, **demos_parent}
    inputs = {"vlm": next(iter(vlm_parent.values())), "demos": next(iter(demos_parent.values()))}
    settings = {"finetune": cfg.model_dump(mode="json"), "model": model_cfg.model_dump(mode="json"),
                "seed": seed, "inputs": inputs, "episodes": len(episodes), "samples": len(data)}
    policy.train()
    collate = DemoCollate(tokenizer, ImageProcessor(model_cfg), model_cfg, cfg.image_shift)
    summary = train_loop(FlowLoss(policy, cfg.noise_samples), param_groups(policy, cfg), data, collate, loop_cfg,
                         out, settings, tracker, prefix="finetune", desc="finetune")
    summary.update(samples=len(data), episodes=len(episodes))
    policy.eval()
    if dist.info().is_main:
        finalize(out, lambda tmp: save_vla(tmp, policy, stats, model_cfg, tokenizer), "vla", settings, parents,
                 summary)
        summary["digest"] = log_checkpoint(tracker, "finetune", out)
    dist.barrier()
    summary["checkpoint"] = str(out)
    return summary
