"""The training loop shared by both stages: steps, resume, checkpoints, tracking, progress.

    run = train_loop(model, groups, dataset, collate, cfg, out, settings, tracker)

``dataset`` is anything with ``len`` and ``[i] -> sample``; ``collate(list of samples) -> batch`` (it may
draw from the global RNGs, e.g. for augmentation: they are checkpointed). The loop resumes from
``<out>/.train_state`` when a step folder is there (after checking the settings match), and restores
the model, optimizer, scheduler, every RNG and the position in the data, so a killed and resumed run
ends with the same numbers as an uninterrupted one.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Protocol

from torch import nn

from vlaser.config.train import TrainCommon
from vlaser.errors import UserError
from vlaser.log import get_logger, progress_bar
from vlaser.train import checkpoints
from vlaser.train.engine import NonFiniteLoss, StepStats, make_engine
from vlaser.train.sampler import StepSampler

log = get_logger("train")


class Tracker(Protocol):
    def log_params(self, params: dict[str, Any]) -> None: ...

    def log_metrics(self, metrics: dict[str, float], step: int) -> None: ...


def step_metrics(stats: StepStats, samples_per_s: float) -> dict[str, float]:
    """The per-step record: loss, learning rate per group, gradient norm, throughput, model extras."""
    out = {"loss": stats.loss, "samples_per_s": samples_per_s}
    out.update({f"lr/{name}": lr for name, lr in stats.lrs.items()})
    if stats.grad_norm is not None:
        out["grad_norm"] = stats.grad_norm
    out.update({f"extra/{k}": v for k, v in stats.extras.items()})
    return out


def flush(tracker: Tracker | None) -> None:
    """Send buffered metrics now (trackers that buffer have ``flush``)."""
    if tracker is not None and hasattr(tracker, "flush"):
        tracker.flush()


def log_checkpoint(tracker: Tracker | None, prefix: str, folder: Path) -> str:
    """Record a finished checkpoint by path and content digest (not copied); returns the digest."""
    from vlaser.io import dir_digest

    digest = dir_digest(folder)
    if tracker is not None:
        tracker.log_params({f"{prefix}.checkpoint.path": str(folder), f"{prefix}.checkpoint.digest": digest})
        flush(tracker)
    return digest


def _nonfinite(err: NonFiniteLoss, step: int, last_good: Path | None, desc: str) -> UserError:
    where = str(last_good) if last_good else "none (no checkpoint was written yet)"
    return UserError(
        f"{desc}: the loss became {err.loss} at step {step}; training stopped. Last good checkpoint: {where}. "
        "Lower the learning rate or check the data, then run again (it resumes from that checkpoint).")


def _start(engine, out: Path, settings: dict[str, Any], cfg: TrainCommon, desc: str) -> tuple[int, Path | None]:
    """Resume from the newest step folder (-> its step), or seed every RNG for a fresh run (-> 0)."""
    last_good = checkpoints.latest(out)
    if last_good is None:
        checkpoints.seed_everything(cfg.seed * 1000 + engine.dist.rank)  # distinct noise per process
        return 0, None
    start = checkpoints.load(last_good, engine, settings)["step"]
    log.info("%s: resumed from %s (step %d of %d)", desc, last_good, start, cfg.steps)
    return start, last_good


def train_loop(model: nn.Module, groups: list[dict[str, Any]], dataset, collate, cfg: TrainCommon, out: Path,
               settings: dict[str, Any], tracker: Tracker | None = None, prefix: str = "train",
               desc: str = "train") -> dict[str, Any]:
    """Train ``model`` for ``cfg.steps`` optimizer steps; returns a summary (final loss, timing, checkpoint).

    Args:
        model: has ``compute_loss(batch) -> (loss, dict)``.
        groups: ``[{"name", "params", "lr"}]`` parameter groups (frozen parameters are skipped).
        dataset, collate: the samples and how to batch them.
        cfg: steps, batches, learning rate, schedule, clipping, engine, checkpoint cadence, seed.
        out: the stage's output folder; checkpoints go to ``out/.train_state``.
        settings: everything that determines the numbers (sections, inputs' digests); checked on resume.
        tracker: ``log_params``/``log_metrics`` receiver (only process 0 logs); None = no tracking.
        prefix: metric-name prefix (``<prefix>/loss``).
        desc: progress-bar label and error-message name.
    """
    engine = make_engine(model, groups, cfg)
    rank, world = engine.dist.rank, engine.dist.world_size
    sampler = StepSampler(len(dataset), cfg.seed, cfg.micro_batch, engine.accum, world, rank)
    tracker = tracker if engine.dist.is_main else None
    start, last_good = _start(engine, out, settings, cfg, desc)
    if tracker is not None:
        tracker.log_params({f"{prefix}.{k}": v for k, v in checkpoints.flatten(settings).items()})
    info = {"settings": settings, "world_size": world, "engine": engine.kind}
    bar = progress_bar(cfg.steps, desc, unit="step") if engine.dist.is_main else None
    if bar is not None:
        bar.update(start)
    stats, history, t_run = None, [], time.perf_counter()
    for step in range(start, cfg.steps):
        t0 = time.perf_counter()
        micro = [collate([dataset[i] for i in idx]) for idx in sampler.step_indices(step)]
        try:
            stats = engine.train_step(micro)
        except NonFiniteLoss as err:
            if bar is not None:
                bar.close()
            flush(tracker)
            raise _nonfinite(err, step + 1, last_good, desc) from None
        sps = sampler.global_batch / (time.perf_counter() - t0)
        history.append(sps)
        if tracker is not None:
            tracker.log_metrics({f"{prefix}/{k}": v for k, v in step_metrics(stats, sps).items()}, step + 1)
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{stats.loss:.4f}", samples_s=f"{sps:.1f}")
        if (step + 1) % cfg.checkpoint_every == 0 or step + 1 == cfg.steps:
            last_good = checkpoints.save(out, step + 1, engine, {
                **info, "position": sampler.position(step + 1), "loss": stats.loss})
            flush(tracker)
    if bar is not None:
        bar.close()
    flush(tracker)
    if stats is None and start < cfg.steps:
        raise RuntimeError("no training step ran")
    return {
        "steps": cfg.steps, "resumed_from": start, "engine": engine.kind, "world_size": world,
        "final_loss": stats.loss if stats else checkpoints_loss(last_good),
        "samples_per_s": sum(history) / len(history) if history else None,
        "train_time_s": time.perf_counter() - t_run, "checkpoint": str(last_good) if last_good else None,
    }


def checkpoints_loss(folder: Path | None) -> float | None:
    """The loss recorded in a step folder (for a run that resumed at its very end)."""
    import json

    if folder is None:
        return None
    return json.loads((folder / "state.json").read_text()).get("loss")
