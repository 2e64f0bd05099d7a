"""Stage 1: supervised finetuning of the InternVL VLM on a variant's data mixture.

    pretrain(params.pretrain, params.model, Path("data/mixtures/all"), Path("models/all/s0/vlm"), seed=0)

Full SFT (vision tower, projector, LLM) with the LM loss on answer tokens only. The starting point is
``vlaser.model.vlm.base_vlm``: a local InternVL3-*-hf folder, or (tiny) a random-init model whose BPE
tokenizer is trained on the mixture's text plus ``extra_texts`` (pass the robot task instructions so the
stage-2 prompts tokenize well). The ``base`` variant has no mixture: it writes the initial VLM after 0
steps, so stage 2 always starts from a VLM folder.

Resumable state lives in ``out/.train_state/`` while the run is in progress (see checkpoints.py); the
finished ``out/`` holds the model (``save_vlm``), ``train_summary.json`` and ``meta.json``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vlaser.config.model import ModelSection
from vlaser.config.train import PretrainSection
from vlaser.log import get_logger
from vlaser.train.artifact import finalize, parent_digest
from vlaser.train.loop import Tracker, log_checkpoint, train_loop

log = get_logger("train.stage1")

# Tokenizer corpus of last resort (tiny model, no mixture, no extra texts): a few robot phrases, so the
# base variant's tokenizer is deterministic and documented rather than empty.
BASE_CORPUS = ("pick up the cube", "push the cube to the goal region", "stack the cube", "move the gripper",
               "what is in the image?", "the red cube is left of the green cube")


def run_seed(cfg_seed: int, seed: int) -> int:
    """The loop's seed from the section's seed and the run's seed (distinct runs per sweep seed)."""
    return cfg_seed * 10_007 + seed


def pretrain(cfg: PretrainSection, model_cfg: ModelSection, mixture_dir: Path | None, out: Path, seed: int,
             tracker: Tracker | None = None, extra_texts: Sequence[str] = ()) -> dict[str, Any]:
    """Train the VLM on ``mixture_dir/train.jsonl`` and write it to ``out``; returns the metrics.

    Args:
        cfg: the ``pretrain`` section (steps, batches, lr, schedule, engine, checkpoints).
        model_cfg: the ``model`` section.
        mixture_dir: a mixture folder (train.jsonl + meta.json), or None / an empty mixture for ``base``.
        out: the VLM folder to write (``models/<variant>/s<seed>/vlm``).
        seed: the run's seed (model init, data order, noise).
        tracker: receives params, per-step metrics and the checkpoint path + digest (None = no tracking).
        extra_texts: extra tokenizer corpus for the tiny model (e.g. task instructions).
    """
    import torch

    from vlaser.model.checkpoint import save_vlm
    from vlaser.model.image import ImageProcessor
    from vlaser.model.tokenizer import special_ids
    from vlaser.model.vlm import base_vlm
    from vlaser.train import distributed as dist
    from vlaser.train.sft_data import SftCollate, SftDataset, VLMLoss, read_records, record_texts

    out, mixture_dir = Path(out), Path(mixture_dir) if mixture_dir is not None else None
    records = read_records(mixture_dir)
    corpus = record_texts(records) + list(extra_texts)
    model, tokenizer = base_vlm(model_cfg, corpus or list(BASE_CORPUS), seed)
    loop_cfg = cfg.model_copy(update={"seed": run_seed(cfg.seed, seed)})
    parents = parent_digest(mixture_dir) if mixture_dir is not None and (mixture_dir / "meta.json").is_file() else {}
    settings = {"pretrain": cfg.model_dump(mode="json"), "model": model_cfg.model_dump(mode="json"),
                "seed": seed, "inputs": {"mixture": next(iter(parents.values()), None)}, "records": len(records)}
    if records:
        model.train()
        data = SftDataset(records, mixture_dir, tokenizer, ImageProcessor(model_cfg), model_cfg)
        groups = [{"name": "vlm", "params": list(model.parameters()), "lr": cfg.lr}]
        summary = train_loop(VLMLoss(model), groups, data, SftCollate(special_ids(tokenizer)["pad"]), loop_cfg,
                             out, settings, tracker, prefix="pretrain", desc="pretrain")
        summary["samples"] = len(data)
    else:
        log.info("pretrain: no mixture records (base variant): writing the initial VLM after 0 steps")
        summary = {"steps": 0, "final_loss": None, "samples": 0}
    model.eval()
    if dist.info().is_main:
        with torch.no_grad():
            finalize(out, lambda tmp: save_vlm(tmp, model, tokenizer, model_cfg), "vlm", settings, parents,
                     summary)
        summary["digest"] = log_checkpoint(tracker, "pretrain", out)
    dist.barrier()
    summary["checkpoint"] = str(out)
    return summary
