"""A training stage on several processes: the entry that ``torchrun`` or the ``deepspeed`` launcher starts.

    torchrun --nproc_per_node 8 -m vlaser.scale.launch finetune --variant all --seed 0
    deepspeed --num_gpus 8 --no_local_rank --module vlaser.scale.launch pretrain --variant all --seed 0

Every process trains (the training area shards each global batch over processes and writes the
checkpoint from process 0); only process 0 records the stage (its MLflow child run, per-step metrics and
the lineage entry), so N processes leave one record, not N. Runs in the workspace of the current folder
(or ``VLASER_WORKSPACE``), with that workspace's params.yaml, exactly like ``vlaser stage``.
"""

from __future__ import annotations

import argparse
import sys
import time

from vlaser.runtime import apply_env_defaults


def parse(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m vlaser.scale.launch",
                                 description="Run a training stage under torchrun / the deepspeed launcher.")
    ap.add_argument("stage", choices=["pretrain", "finetune"])
    ap.add_argument("--variant", required=True)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--local_rank", "--local-rank", type=int, default=None, help=argparse.SUPPRESS)
    return ap.parse_args(argv)


def run(stage: str, variant: str, seed: int) -> dict:
    """Run ``stage`` for ``variant`` x ``seed`` on this process group; returns process 0's metrics ({} elsewhere)."""
    root = apply_env_defaults()
    from vlaser.config import load_params
    from vlaser.errors import UserError
    from vlaser.stages import STAGES, StageKey
    from vlaser.train import distributed as dist

    info = dist.ensure_env()
    params = load_params(root / "params.yaml")
    if variant not in params.mixture.variants:
        raise UserError(f"unknown variant '{variant}'; params.yaml mixture.variants has {sorted(params.mixture.variants)}")
    key = StageKey(stage, variant=variant, seed=seed)
    recorder = None
    if info.is_main:
        from vlaser.recording import StageRecorder

        recorder = StageRecorder(params, root, key)
    t0 = time.monotonic()
    result = STAGES[stage](params, root, key, tracker=recorder.tracker() if recorder else None)
    if recorder is None:
        return {}
    recorder.finish(result, time.monotonic() - t0)
    return result.metrics


def main(argv: list[str] | None = None) -> None:
    a = parse(sys.argv[1:] if argv is None else argv)
    from vlaser.errors import UserError
    from vlaser.log import setup_logging

    setup_logging(0)
    try:
        metrics = run(a.stage, a.variant, a.seed)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(err.exit_code)
    if metrics:
        print(f"{a.stage}@{a.variant}-{a.seed}: " + ", ".join(f"{k}={v:.4g}" for k, v in sorted(metrics.items())))


if __name__ == "__main__":
    main()
